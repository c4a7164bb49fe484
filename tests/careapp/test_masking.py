"""The masking rule, document by document: what a reader of one page, CSV or PDF learns about a
person's ID number leaves at least 1,000 candidate numbers (registry spec, Personal-data
protection; docs/security/masking.md).

Every document that shows a masked ID number is listed in DOCUMENTS and rendered for real,
through the test client, from factory data; its text (PDFs through poppler's pdftotext) is
searched for what it shows: the masked number, the birth date in any format, the birth year, an
age. Sex is taken as known on every document (a name or a photo often tells it). The counter
(careapp.core.id_candidates) then says how many valid numbers fit; the true number must be one of
them (the parsing is right), and there must be at least MIN_CANDIDATES.

A template or report that starts showing a masked ID without being listed here fails
`test_every_document_with_a_masked_id_is_listed`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from babel.dates import format_date
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp import models as m
from careapp.core.clock import city_today
from careapp.core.id_candidates import (
    MIN_CANDIDATES,
    ShownFacts,
    count_candidates,
    is_consistent,
)
from careapp.core.identity import make_resident_id, mask_id_number
from careapp.reports.seal import load_signer
from careapp.services.print_batches import build_print_batch, request_print_batch
from careapp.services.procedure import ProcedureRules
from careapp.web.wording import WORDING
from scheduling.claims import ClaimFlagKind
from tests import factories as f
from tests.careapp.reports.pdf_checks import pdftotext
from tests.factories import NOW

ROOT = Path(__file__).resolve().parents[2]
TODAY = city_today(NOW)
MASK_TOKEN = re.compile(r"(?<![0-9X*])[0-9X*]{18}(?![0-9X*])")
NEW_MASK = re.compile(r"\d{6}\*{11}[\dX]")


@dataclass(frozen=True)
class Subject:
    """The person (or caregiver) a document is about, as the registry knows them."""

    number: str
    born_on: dt.date

    @property
    def is_male(self) -> bool:
        return int(self.number[16]) % 2 == 1


def _subject(region: str, born_on: dt.date, sequence: int) -> Subject:
    return Subject(make_resident_id(region, born_on, sequence), born_on)


# Four people at four stages of a case, and a caregiver; birth dates that no other date of the
# test data shares (so that finding one in a document means it is shown).
APPLICANT = _subject("320602", dt.date(1941, 5, 17), 26)  # an application being assessed
ASSESSED = _subject("320611", dt.date(1938, 8, 9), 13)  # assessed, not decided
BENEFICIARY = _subject("320612", dt.date(1944, 2, 29), 48)  # decided, with an entitlement
OBJECTED = _subject("320623", dt.date(1950, 12, 31), 7)  # in publicity, with an objection
CAREGIVER = _subject("320681", dt.date(1968, 9, 3), 41)
ADDRESS = "崇川区桃园路17号"  # every subject's home: never on a public document


@dataclass
class World:
    ids: dict[str, int]
    users: dict[str, m.User]
    tmp_path: Path
    config: dict[str, object]


def _person(subject: Subject, name: str) -> m.Person:
    person: m.Person = f.PersonFactory(
        id_number=subject.number,
        born_on=subject.born_on,
        sex=m.Sex.MALE if subject.is_male else m.Sex.FEMALE,
        name=name,
        address=ADDRESS,
    )
    return person


@pytest.fixture
def world(app: Flask, db_session: Session, tmp_path: Path) -> World:
    admin = f.UserFactory(admin=True)
    assessor = f.UserFactory(assessor=True)
    provider = f.ProviderFactory()
    manager = f.UserFactory(manager=True, provider=provider)

    applicant = _person(APPLICANT, "王秀兰")
    assessing = f.ApplicationFactory(person=applicant, assigned=True, assessor_1=assessor)
    assessment = f.AssessmentFactory(
        application__person=_person(ASSESSED, "李建国"),
        application__status=m.ApplicationStatus.ASSESSED,
    )
    beneficiary = _person(BENEFICIARY, "赵桂英")
    entitlement = f.EntitlementFactory(decision__assessment__application__person=beneficiary)
    decision = entitlement.decision
    decision.application.status = m.ApplicationStatus.DECIDED
    reminder = f.ReassessmentReminderFactory(entitlement=entitlement)
    objection = f.ObjectionFactory(application__person=_person(OBJECTED, "孙志强"))
    care_plan = f.CarePlanFactory(entitlement=entitlement, provider=provider)
    loan = f.DeviceLoanFactory(entitlement=entitlement)
    caregiver = f.CaregiverFactory(provider=provider, id_number=CAREGIVER.number)
    visit = f.VisitFactory(care_plan=care_plan, assigned=True, caregiver=caregiver)
    flag = m.ClaimFlag(visit=visit, kind=ClaimFlagKind.MANUAL_ENTRY, detail={}, raised_at=NOW)
    work_order = m.WorkOrder(
        entitlement=entitlement,
        person_id=beneficiary.id,
        reason=m.WorkOrderReason.NEW_CLIENT,
        created_at=NOW,
        status=m.WorkOrderStatus.CANCELLED,  # closed: the new-order page opens too
    )
    statement = f.SettlementStatementFactory(provider=provider, issued_by=admin)
    db_session.add_all([flag, work_order])
    db_session.flush()
    db_session.add(
        m.SettlementLine(
            statement_id=statement.id,
            position=1,
            kind=m.StatementLineKind.VISIT,
            visit_id=visit.id,
            entitlement_id=entitlement.id,
            person_id=beneficiary.id,
            person_name_masked="赵**",
            id_number_masked=beneficiary.id_number_masked,
            visit_on=visit.visit_on,
            item_codes="bathing",
            item_names_zh="助浴",
            value_fen=8000,
            amount_fen=8000,
            outcome="paid",
        )
    )
    db_session.flush()
    return World(
        ids={
            "applicant": applicant.id,
            "assessing": assessing.id,
            "assessment": assessment.id,
            "assessed_application": assessment.application_id,
            "beneficiary": beneficiary.id,
            "decision": decision.id,
            "decided_application": decision.application_id,
            "entitlement": entitlement.id,
            "reminder": reminder.id,
            "objection": objection.id,
            "publicized": objection.application_id,
            "care_plan": care_plan.id,
            "loan": loan.id,
            "flag": flag.id,
            "work_order": work_order.id,
            "statement": statement.id,
        },
        users={"admin": admin, "assessor": assessor, "manager": manager},
        tmp_path=tmp_path,
        config=dict(app.config),
    )


# --- the documents --------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One page, CSV or PDF that shows a masked ID: how to fetch it, as whom, about whom."""

    name: str
    endpoint: str
    args: Callable[[World], dict[str, object]]
    subject: Subject
    role: str | None  # None: the public
    method: str = "GET"
    data: Callable[[World], dict[str, str]] = lambda _world: {}
    # The templates and report modules whose masked IDs this document shows.
    sources: tuple[str, ...] = field(default=())
    # Handed to the family or open to anyone (certificates, /verify): no address on it.
    public: bool = False

    @property
    def kind(self) -> str:
        return "pdf" if self.name.endswith(".pdf") else "csv" if ".csv" in self.name else "html"


def _batch(world: World) -> dict[str, object]:
    """Print the week of the beneficiary's decision as a batch (for real), then download it."""
    app_config = world.config
    session = f.current_session()
    actor = f.actor_of(world.users["admin"])
    batch = request_print_batch(session, actor, dt.date(2026, 11, 16), NOW)
    build_print_batch(
        session,
        actor,
        batch.id,
        directory=world.tmp_path,
        rules=ProcedureRules(),
        base_url=str(app_config["PUBLIC_BASE_URL"]),
        wording=WORDING,
        signer=load_signer(app_config["SIGNING_KEY_PATH"], app_config["SIGNING_CERT_PATH"]),
        office_name="长期护理保险经办机构",
        checkpoint=lambda: None,
        on_progress=lambda _done: None,
        clock=lambda: NOW,
    )
    return {"batch_id": batch.id}


def _verified(world: World) -> dict[str, object]:
    """The benefit certificate is printed first (for real); then its number and check code are
    looked up, as its QR code does."""
    certificate = (
        f.current_session()
        .execute(
            select(m.Certificate.number, m.Certificate.check_code).where(
                m.Certificate.kind == m.CertificateKind.BENEFIT,
                m.Certificate.decision_id == world.ids["decision"],
            )
        )
        .one_or_none()
    )
    assert certificate is not None, "the benefit certificate is printed before it is verified"
    return {"number": certificate.number, "code": certificate.check_code}


DOCUMENTS = (
    Document(
        "people list",
        "registry.person_list",
        lambda w: {"q": "王秀兰"},
        APPLICANT,
        "admin",
        sources=("registry/person_list.html",),
    ),
    Document(
        "people search by full ID",
        "registry.person_search",
        lambda w: {},
        APPLICANT,
        "admin",
        method="POST",
        data=lambda w: {"q": APPLICANT.number},
    ),
    Document(
        "person page",
        "registry.person_detail",
        lambda w: {"person_id": w.ids["applicant"]},
        APPLICANT,
        "admin",
        sources=("registry/person_detail.html",),
    ),
    Document(
        "application list",
        "applications.application_list",
        lambda w: {},
        APPLICANT,
        "admin",
        sources=("applications/application_list.html",),
    ),
    Document(
        "new application",
        "applications.application_new",
        lambda w: {"person_id": w.ids["beneficiary"]},
        BENEFICIARY,
        "admin",
        sources=("applications/application_new.html",),
    ),
    Document(
        "application page",
        "applications.application_detail",
        lambda w: {"application_id": w.ids["assessing"]},
        APPLICANT,
        "admin",
        sources=("applications/application_detail.html",),
    ),
    Document(
        "assign assessors",
        "applications.application_assign",
        lambda w: {"application_id": w.ids["assessing"]},
        APPLICANT,
        "admin",
        sources=("applications/application_assign.html",),
    ),
    Document(
        "review an assessment",
        "applications.application_review",
        lambda w: {"application_id": w.ids["assessed_application"]},
        ASSESSED,
        "admin",
        sources=("applications/_application_head.html",),  # objection_new.html includes it too
    ),
    Document(
        "new objection",
        "applications.objection_new",
        lambda w: {"application_id": w.ids["publicized"]},
        OBJECTED,
        "admin",
    ),
    Document(
        "resolve an objection",
        "applications.objection_resolve",
        lambda w: {"objection_id": w.ids["objection"]},
        OBJECTED,
        "admin",
        sources=("applications/objection_resolve.html",),
    ),
    Document(
        "request a re-assessment",
        "applications.reassessment_request",
        lambda w: {"application_id": w.ids["decided_application"]},
        BENEFICIARY,
        "admin",
        sources=("applications/reassessment_request.html",),
    ),
    Document(
        "re-assessment reminders",
        "applications.reminder_list",
        lambda w: {},
        BENEFICIARY,
        "admin",
        sources=("applications/reminder_list.html",),
    ),
    Document(
        "assessment queue",
        "assessments.assessment_queue",
        lambda w: {},
        APPLICANT,
        "assessor",
        sources=("assessments/assessment_queue.html",),
    ),
    Document(
        "assessment form",
        "assessments.assessment_form",
        lambda w: {"application_id": w.ids["assessing"]},
        APPLICANT,
        "assessor",
        sources=("assessments/assessment_form.html",),
    ),
    Document(
        "assessment page",
        "assessments.assessment_detail",
        lambda w: {"assessment_id": w.ids["assessment"]},
        ASSESSED,
        "admin",
        sources=("assessments/assessment_detail.html",),
    ),
    Document(
        "new decision",
        "eligibility.decision_new",
        lambda w: {"application_id": w.ids["assessed_application"]},
        ASSESSED,
        "admin",
        sources=("eligibility/decision_new.html",),
    ),
    Document(
        "decision page",
        "eligibility.decision_detail",
        lambda w: {"decision_id": w.ids["decision"]},
        BENEFICIARY,
        "admin",
        sources=("eligibility/decision_detail.html",),
    ),
    Document(
        "new care plan",
        "careplans.careplan_new",
        # A volunteer plan: the entitlement already has its paid plan (the page is the same).
        lambda w: {"entitlement_id": w.ids["entitlement"], "volunteer": "1"},
        BENEFICIARY,
        "admin",
        sources=("careplans/careplan_new.html",),
    ),
    Document(
        "care plan page",
        "careplans.careplan_detail",
        lambda w: {"care_plan_id": w.ids["care_plan"]},
        BENEFICIARY,
        "admin",
        sources=("careplans/careplan_detail.html",),
    ),
    Document(
        "new work order",
        "work_orders.work_order_new",
        lambda w: {"entitlement_id": w.ids["entitlement"]},
        BENEFICIARY,
        "admin",
        sources=("work_orders/work_order_new.html",),
    ),
    Document(
        "work order page",
        "work_orders.work_order_detail",
        lambda w: {"order_id": w.ids["work_order"]},
        BENEFICIARY,
        "admin",
        sources=("work_orders/work_order_detail.html",),
    ),
    Document(
        "person's devices",
        "devices.person_devices",
        lambda w: {"person_id": w.ids["beneficiary"]},
        BENEFICIARY,
        "admin",
        sources=("devices/person_devices.html",),
    ),
    Document(
        "new device loan",
        "devices.loan_new",
        lambda w: {"person_id": w.ids["beneficiary"]},
        BENEFICIARY,
        "admin",
        sources=("devices/loan_new.html",),
    ),
    Document(
        "device return",
        "devices.loan_return",
        lambda w: {"loan_id": w.ids["loan"]},
        BENEFICIARY,
        "admin",
        sources=("devices/loan_return.html",),
    ),
    Document(
        "claim flag page (the caregiver's ID)",
        "claims.flag_detail",
        lambda w: {"flag_id": w.ids["flag"]},
        CAREGIVER,
        "admin",
        sources=("claims/flag_detail.html",),
    ),
    Document(
        "settlement statement page",
        "settlement.statement_detail",
        lambda w: {"statement_id": w.ids["statement"]},
        BENEFICIARY,
        "manager",
        sources=("settlement/statement_detail.html",),
    ),
    Document(
        "settlement statement.csv",
        "settlement.statement_csv_download",
        lambda w: {"statement_id": w.ids["statement"]},
        BENEFICIARY,
        "manager",
        sources=("careapp/reports/statement.py",),
    ),
    Document(
        "settlement statement.pdf",
        "settlement.statement_pdf",
        lambda w: {"statement_id": w.ids["statement"]},
        BENEFICIARY,
        "manager",
    ),
    Document(
        "assessment conclusion.pdf",
        "certificates.assessment_conclusion_pdf",
        lambda w: {"assessment_id": w.ids["assessment"]},
        ASSESSED,
        "admin",
        sources=("careapp/reports/pdf.py",),
        public=True,
    ),
    Document(
        "decision notice.pdf",
        "certificates.decision_notice_pdf",
        lambda w: {"decision_id": w.ids["decision"]},
        BENEFICIARY,
        "admin",
        method="POST",
        sources=("careapp/reports/notices.py",),
        public=True,
    ),
    Document(
        "benefit certificate.pdf",
        "certificates.benefit_certificate_pdf",
        lambda w: {"decision_id": w.ids["decision"]},
        BENEFICIARY,
        "admin",
        method="POST",
        public=True,
    ),
    Document(
        "public verification page",
        "certificates.verify_number",
        _verified,
        BENEFICIARY,
        None,
        sources=("certificates/verify.html",),
        public=True,
    ),
    Document(
        "batch of the week's decisions.pdf",
        "certificates.batch_download",
        _batch,
        BENEFICIARY,
        "admin",
        public=True,
    ),
)


# --- reading a document ---------------------------------------------------------------------


def _date_renderings(day: dt.date) -> set[str]:
    """The ways a page, CSV or PDF may print `day` (whitespace removed)."""
    found = {
        day.isoformat(),
        f"{day:%Y/%m/%d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day:%Y.%m.%d}",
        f"{day:%Y%m%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y}年{day:%m}月{day:%d}日",
    }
    for locale in ("zh_CN", "en"):
        for style in ("short", "medium", "long", "full"):
            found.add(format_date(day, style, locale=locale))
    return {"".join(text.split()) for text in found}


def _month_day_renderings(day: dt.date) -> set[str]:
    """A month and day printed apart from the year (the year may stand elsewhere)."""
    return {
        f"{day.month}月{day.day}日",
        f"{day:%m}-{day:%d}",
        format_date(day, "MMMMd", locale="en").replace(" ", ""),
        format_date(day, "dMMMM", locale="en").replace(" ", ""),
    }


_AGE = (
    re.compile(r"(\d{1,3})岁"),
    re.compile(r"(?i)\bage[ds]?\b\W{0,3}(\d{1,3})\b"),
    re.compile(r"(?i)\b(\d{1,3})\s*(?:years?\s*old|y/o)\b"),
)
_DATES = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
)


def _dates_in(text: str) -> set[dt.date]:
    found = set()
    for pattern in _DATES:
        for year, month, day in pattern.findall(text):
            try:
                found.add(dt.date(int(year), int(month), int(day)))
            except ValueError:
                continue
    return found


def document_facts(text: str, subject: Subject, today: dt.date) -> list[ShownFacts]:
    """Every reading of what `text` shows about `subject` that agrees with the truth (a reader
    who knows which label goes with which value would pick the right one; the test takes the
    reading that leaves the fewest numbers)."""
    flat = "".join(text.split())
    masks = [
        token
        for token in set(MASK_TOKEN.findall(text)) | set(MASK_TOKEN.findall(flat))
        if "*" in token and token != "*" * 18
    ]
    born = subject.born_on
    full_date = any(shown in flat for shown in _date_renderings(born)) or (
        str(born.year) in flat and any(shown in flat for shown in _month_day_renderings(born))
    )
    year = born.year if str(born.year) in flat else None
    ages = {int(age) for pattern in _AGE for age in pattern.findall(text)}
    on_days = _dates_in(flat) | {today}
    readings: list[ShownFacts] = []
    for mask in masks:
        base = ShownFacts(
            mask,
            latest=today,
            is_male=subject.is_male,  # taken as known everywhere
            born_on=born if full_date else None,
            birth_year=year,
        )
        options = [base] + [
            ShownFacts(
                base.masked, base.latest, base.is_male, base.born_on, year, age_on=(age, day)
            )
            for age in ages
            for day in on_days
        ]
        readings.extend(facts for facts in options if is_consistent(subject.number, facts))
    return readings


def candidates_left(text: str, subject: Subject, today: dt.date = TODAY) -> int:
    """The fewest candidate numbers any reading of the document leaves about `subject`."""
    readings = document_facts(text, subject, today)
    assert readings, "the document does not show the subject's masked ID number"
    return min(count_candidates(facts) for facts in readings)


def _html_text(page: str) -> str:
    """A page's visible text and its attribute values (a hidden field shows a date too)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page)) + "\n" + html.unescape(page)


# --- the tests ------------------------------------------------------------------------------


def test_the_old_mask_beside_a_birth_date_is_found_and_fails() -> None:
    """What the person page showed before issue 13: the reading finds one number left."""
    number, born = APPLICANT.number, APPLICANT.born_on
    old_page = (
        f"<dt>身份证号</dt><dd>{number[:6]}********{number[-4:]}</dd>"
        f"<dt>出生日期</dt><dd>{born.year}年{born.month}月{born.day}日</dd>"
    )
    assert candidates_left(_html_text(old_page), APPLICANT) == 1
    old_pdf = f"身份证号 {number[:6]}********{number[-4:]} 出生日期 {born:%Y年%m月%d日}（85岁）"
    assert candidates_left(old_pdf, APPLICANT) == 1


def test_the_new_mask_beside_a_birth_date_or_a_year_and_an_age_fails() -> None:
    """The rule needs both halves: the new mask with the date beside it leaves about 45."""
    masked = mask_id_number(APPLICANT.number)
    assert candidates_left(f"{masked} 出生日期 1941-05-17", APPLICANT) < MIN_CANDIDATES
    on_birthday_eve = dt.date(2027, 5, 16)  # 1941 and 85 on 16 May 2027: 17 May to 31 Dec 1941
    assert candidates_left(f"{masked} 1941年 85岁", APPLICANT, on_birthday_eve) > MIN_CANDIDATES
    on_new_year = dt.date(2027, 1, 3)  # 1941 and 86 on 3 January 2027: 1 to 3 January 1941
    new_year_baby = _subject("320602", dt.date(1941, 1, 2), 26)
    page = f"{mask_id_number(new_year_baby.number)} 1941年 86岁"
    assert candidates_left(page, new_year_baby, on_new_year) < MIN_CANDIDATES


def test_every_document_leaves_at_least_1000_candidates(
    app: Flask, client: FlaskClient, login_as: object, world: World, tmp_path: Path
) -> None:
    problems = []
    role = "nobody"
    for document in DOCUMENTS:
        if document.role != role:
            if document.role is None:
                client.post("/logout")
            else:
                login_as(world.users[document.role])  # type: ignore[operator]
            role = document.role or "public"
        with app.test_request_context():
            url = url_for(document.endpoint, **document.args(world))
        response = client.open(url, method=document.method, data=document.data(world))
        assert response.status_code == 200, (document.name, url, response.status_code)
        body = response.get_data()
        response.close()  # a sent file (the batch) is closed with its response
        if document.kind == "pdf":
            assert body.startswith(b"%PDF"), document.name
            text = pdftotext(body, tmp_path)
        elif document.kind == "csv":
            text = body.decode("utf-8-sig")
        else:
            text = _html_text(body.decode("utf-8"))
        subject = document.subject
        assert subject.number not in text, document.name
        if document.public:
            assert ADDRESS not in "".join(text.split()), document.name
        shown = {t for t in MASK_TOKEN.findall(text) if "*" in t}
        assert mask_id_number(subject.number) in shown, document.name
        assert all(NEW_MASK.fullmatch(token) for token in shown), (document.name, shown)
        left = candidates_left(text, subject)
        if left < MIN_CANDIDATES:
            problems.append(f"{document.name} ({url}): {left} candidate numbers left")
    assert problems == []


def _sources_showing_a_masked_id() -> set[str]:
    shown = re.compile(r"id_number_masked|masked_id|caregiver_id_masked")
    templates = {
        str(path.relative_to(ROOT / "templates"))
        for path in (ROOT / "templates").rglob("*.html")
        if shown.search(path.read_text(encoding="utf-8"))
    }
    reports = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "careapp" / "reports").glob("*.py")
        if shown.search(path.read_text(encoding="utf-8"))
    }
    return templates | reports


def test_every_document_with_a_masked_id_is_listed() -> None:
    """A template or report module that prints a masked ID is covered by DOCUMENTS."""
    listed = {source for document in DOCUMENTS for source in document.sources}
    assert _sources_showing_a_masked_id() == listed
