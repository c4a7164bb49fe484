"""Issuing assessment conclusions: numbering, content from the instrument, masking, audit; the
check code that /verify requires with the number."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import statistics
import time

import pytest
from pypdf import PdfReader
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from assessments.grading import get_instrument
from careapp.core.check_codes import normalise_check_code
from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ThrottledError
from careapp.core.identity import make_resident_id
from careapp.models import ApplicationStatus, AuditEvent, Certificate, CertificateKind, Sex, User
from careapp.reports.pdf import render_assessment_conclusion, zh_date
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.certificates import (
    Verification,
    VerificationResult,
    certificate_number,
    issue_assessment_conclusion,
    verify_certificate,
)
from careapp.services.procedure import ProcedureRules
from careapp.services.reassessments import get_appeal_context
from tests.factories import (
    NOW,
    AssessmentFactory,
    EligibilityDecisionFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)

FULL_ID = make_resident_id("320602", dt.date(1941, 5, 17), 42)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address="10.0.0.7")


def _certificates(db_session: Session) -> list[Certificate]:
    return list(db_session.scalars(select(Certificate).order_by(Certificate.id)))


def test_issue_assessment_conclusion_records_a_numbered_certificate(
    db_session: Session, admin_user: User
) -> None:
    assessment = AssessmentFactory()
    certificate, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), assessment.id, NOW
    )
    db_session.expire_all()
    stored = db_session.get(Certificate, certificate.id)
    assert stored is not None
    assert stored.number == f"PG-2026-{certificate.id:06d}" == data.certificate_number
    assert re.fullmatch(r"PG-2026-\d{6,}", stored.number)
    assert stored.kind is CertificateKind.ASSESSMENT_CONCLUSION
    assert stored.assessment_id == assessment.id
    assert stored.issued_by_id == admin_user.id
    assert stored.issued_at == NOW
    assert data.issued_on == dt.date(2026, 11, 23)


def test_issue_assessment_conclusion_numbers_are_unique(
    db_session: Session, admin_user: User
) -> None:
    first, second = AssessmentFactory(), AssessmentFactory()
    numbers = [
        issue_assessment_conclusion(db_session, _actor(admin_user), a.id, NOW)[0].number
        for a in (first, second, first)
    ]
    assert numbers[0] != numbers[1]
    assert numbers[2] == numbers[0]  # the same document opened again: the same number
    assert [c.number for c in _certificates(db_session)] == numbers[:2]


def test_issue_assessment_conclusion_year_is_the_city_year(
    db_session: Session, admin_user: User
) -> None:
    new_year_in_city = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 January
    certificate, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), AssessmentFactory().id, new_year_in_city
    )
    assert certificate.number.startswith("PG-2027-")
    assert data.issued_on == dt.date(2027, 1, 1)


def test_issue_assessment_conclusion_content_comes_from_the_instrument(
    db_session: Session, admin_user: User
) -> None:
    person = PersonFactory(name="王秀兰", sex=Sex.FEMALE, born_on=dt.date(1941, 5, 17))
    assessment = AssessmentFactory(application__person=person)
    _, data = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)

    barthel = get_instrument("barthel")
    assert data.instrument_zh == barthel.name_zh
    assert [row.label_zh for row in data.items] == [item.label_zh for item in barthel.items]
    assert [row.points for row in data.items] == [assessment.answers[i.code] for i in barthel.items]
    feeding = next(row for row in data.items if row.label_zh == "进食")
    assert feeding.answer_zh == "需部分帮助（如切碎食物、涂抹）"
    assert data.total == 30
    assert data.grade_zh == "重度依赖"
    assert data.person_name == "王秀兰"
    assert data.sex_zh == "女"
    assert data.birth_year == 1941  # the year only: never the date beside the masked ID
    assert data.district_zh == "崇川区"
    assert data.assessed_on == dt.date(2026, 11, 20)
    assert data.assessor_1_name == assessment.assessor_1.display_name
    assert data.assessor_2_name == assessment.assessor_2.display_name
    assert data.assessor_1_name != data.assessor_2_name
    assert data.family_member_present == "张家属（女儿）"


def test_issue_assessment_conclusion_shows_only_the_masked_id(
    db_session: Session, admin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> str:
        raise AssertionError("the conclusion must never decrypt an ID number")

    monkeypatch.setattr(DataProtector, "decrypt", refuse)
    person = PersonFactory(id_number=FULL_ID, name="赵大爷")
    assessment = AssessmentFactory(application__person=person)
    _, data = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)

    assert data.id_number_masked == person.id_number_masked
    assert data.id_number_masked == FULL_ID[:6] + "*" * 11 + FULL_ID[-1]
    assert FULL_ID not in repr(data)
    pdf = render_assessment_conclusion(data)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert person.id_number_masked in text
    assert "赵大爷" in text
    assert "重度依赖" in text
    assert "评估结论书" in text
    assert FULL_ID not in text
    assert FULL_ID.encode() not in pdf


def test_issue_assessment_conclusion_writes_audit_events(
    db_session: Session, admin_user: User
) -> None:
    assessment = AssessmentFactory()
    certificate, _ = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == admin_user.id).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("create", "certificate", certificate.id),
        ("read", "assessment", assessment.id),
    ]
    assert events[0].detail["number"] == certificate.number
    assert events[0].detail["kind"] == "assessment_conclusion"
    assert all(e.at == NOW and e.address == "10.0.0.7" for e in events)


def test_issue_assessment_conclusion_before_the_decision_prints_no_deadline(
    db_session: Session, admin_user: User
) -> None:
    _, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), AssessmentFactory().id, NOW
    )
    assert data.appeal_days == 30
    assert data.appeal_deadline is None  # the appeal period runs from the decision
    assert "自资格认定决定之日起30日内" in data.appeal_note
    assert "截至" not in data.appeal_note


@pytest.mark.parametrize("appeal_days", [30, 15])
def test_issue_assessment_conclusion_deadline_is_the_procedures(
    db_session: Session, admin_user: User, appeal_days: int
) -> None:
    """The printed deadline is the date the appeal procedure enforces (same function, same
    window, same decision date)."""
    policy = PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), appeal_days=appeal_days)
    decision = EligibilityDecisionFactory(decided_on=dt.date(2026, 11, 21), policy_version=policy)
    decision.application.status = ApplicationStatus.DECIDED
    db_session.flush()
    rules = ProcedureRules()
    _, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), decision.assessment_id, NOW, rules=rules
    )
    context = get_appeal_context(
        db_session, _actor(admin_user), decision.application_id, rules, dt.date(2026, 11, 23)
    )
    assert data.appeal_deadline == context.appeal_deadline
    assert data.appeal_deadline == dt.date(2026, 11, 21) + dt.timedelta(days=appeal_days)
    assert f"{appeal_days}日内" in data.appeal_note
    assert zh_date(context.appeal_deadline) in data.appeal_note


def test_issue_assessment_conclusion_reprint_keeps_the_deadline(
    db_session: Session, admin_user: User
) -> None:
    decision = EligibilityDecisionFactory(decided_on=dt.date(2026, 11, 21))
    _, first = issue_assessment_conclusion(
        db_session, _actor(admin_user), decision.assessment_id, NOW
    )
    later = NOW + dt.timedelta(days=10)
    _, reprint = issue_assessment_conclusion(
        db_session, _actor(admin_user), decision.assessment_id, later
    )
    assert reprint == first  # same number, same issue date, same deadline
    assert reprint.issued_on == dt.date(2026, 11, 23)
    assert reprint.appeal_deadline == first.appeal_deadline == dt.date(2026, 12, 21)


def test_issue_assessment_conclusion_prints_the_verification_address(
    db_session: Session, admin_user: User
) -> None:
    certificate, data = issue_assessment_conclusion(
        db_session,
        _actor(admin_user),
        AssessmentFactory().id,
        NOW,
        base_url="https://ltc.example.cn/",
    )
    assert data.verify_url == (
        f"https://ltc.example.cn/verify/{certificate.number}?code={data.check_code}"
    )
    assert normalise_check_code(data.check_code) == certificate.check_code


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_issue_assessment_conclusion_is_for_admins_only(db_session: Session, trait: str) -> None:
    user = UserFactory(**{trait: True})
    assessment = AssessmentFactory()
    with pytest.raises(PermissionDeniedError):
        issue_assessment_conclusion(db_session, _actor(user), assessment.id, NOW)
    assert _certificates(db_session) == []
    assert db_session.scalars(select(AuditEvent)).all() == []


def test_issue_assessment_conclusion_refuses_an_anonymous_actor(db_session: Session) -> None:
    assessment = AssessmentFactory()
    with pytest.raises(PermissionDeniedError):
        issue_assessment_conclusion(db_session, Actor(user_id=None, role=None), assessment.id, NOW)


def test_issue_assessment_conclusion_missing_assessment(
    db_session: Session, admin_user: User
) -> None:
    with pytest.raises(NotFoundError):
        issue_assessment_conclusion(db_session, _actor(admin_user), 987654, NOW)
    assert _certificates(db_session) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"instrument": "no_such_instrument"},
        {"grade": "no_such_grade"},
        {"answers": {"feeding": 5}},  # the other items have no answer
        {"answers": {"feeding": 7, "bathing": 0}},  # 7 is no option of feeding
    ],
    ids=["instrument", "grade", "missing_answers", "invalid_points"],
)
def test_issue_assessment_conclusion_refuses_a_mismatched_assessment(
    db_session: Session, admin_user: User, changes: dict[str, object]
) -> None:
    assessment = AssessmentFactory(**changes)
    with pytest.raises(ConflictError):
        issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)
    assert _certificates(db_session) == []


def test_certificate_number_pads_the_sequence() -> None:
    assert certificate_number("PG", 2026, 123) == "PG-2026-000123"
    assert certificate_number("PG", 2026, 1234567) == "PG-2026-1234567"


def test_assessment_conclusion_data_is_frozen(db_session: Session, admin_user: User) -> None:
    _, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), AssessmentFactory().id, NOW
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.total = 100  # type: ignore[misc]  # proving that it is refused


def test_issue_assessment_conclusion_of_a_national_standard_assessment(
    db_session: Session, admin_user: User
) -> None:
    assessment = AssessmentFactory(national=True)
    _, data = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)
    national = get_instrument("national_2021")
    assert data.instrument_zh == national.name_zh
    assert [row.label_zh for row in data.items] == [item.label_zh for item in national.items]
    assert data.total == 54
    assert data.grade_zh == "重度失能Ⅰ级"


# --- the check code: /verify answers only to the number with its code --------------------------

VISITOR = Actor(user_id=None, role=None, address="192.0.2.44")


def _look_up(
    db_session: Session, number: str, code: str | None, actor: Actor = VISITOR
) -> Verification:
    return verify_certificate(db_session, actor, number, NOW, 10_000, raw_code=code)


def _conclusions(db_session: Session, admin_user: User, count: int) -> list[Certificate]:
    return [
        issue_assessment_conclusion(
            db_session, _actor(admin_user), AssessmentFactory().id, NOW, base_url="https://x"
        )[0]
        for _ in range(count)
    ]


def test_every_certificate_gets_its_own_random_check_code(
    db_session: Session, admin_user: User
) -> None:
    certificates = _conclusions(db_session, admin_user, 5)
    codes = [certificate.check_code for certificate in certificates]
    assert len(set(codes)) == 5
    assert all(normalise_check_code(code) == code for code in codes)


def test_the_right_number_and_code_verify_however_the_code_is_typed(
    db_session: Session, admin_user: User
) -> None:
    (certificate,) = _conclusions(db_session, admin_user, 1)
    code = certificate.check_code
    for typed in (code, f"{code[:5]}-{code[5:]}", f" {code.lower()[:5]} {code.lower()[5:]} "):
        verification = _look_up(db_session, certificate.number, typed)
        assert verification.result is VerificationResult.VALID, typed
        assert verification.number == certificate.number


def test_a_number_without_its_code_is_answered_as_an_unknown_number(
    db_session: Session, admin_user: User
) -> None:
    first, second = _conclusions(db_session, admin_user, 2)
    unknown = f"PG-2026-{second.id + 1000:06d}"
    wrong = "0000000000" if first.check_code != "0000000000" else "1111111111"
    for typed in (None, "", wrong, second.check_code, "not a code", first.check_code[:-1]):
        answer = _look_up(db_session, first.number, typed)
        assert answer == dataclasses.replace(
            _look_up(db_session, unknown, typed), number=answer.number
        )
        assert answer == Verification(VerificationResult.UNKNOWN, first.number)


def test_enumerating_every_number_finds_nothing(db_session: Session, admin_user: User) -> None:
    """The probe of issue 13 (34 of 34 found with 160 guesses), run again: every number from 1
    to past the last one, with no code and with a guessed one."""
    certificates = _conclusions(db_session, admin_user, 6)
    last = max(certificate.id for certificate in certificates)
    found = [
        number
        for n in range(1, last + 10)
        for number in (f"PG-2026-{n:06d}",)
        for guess in (None, "K7QF3M9DXA", "0000000000")
        if _look_up(db_session, number, guess).result is not VerificationResult.UNKNOWN
    ]
    assert found == []
    assert all(
        _look_up(db_session, c.number, c.check_code).result is VerificationResult.VALID
        for c in certificates
    )


def test_a_wrong_code_runs_the_same_statements_as_an_unknown_number(
    db_session: Session, admin_user: User
) -> None:
    """No timing oracle: a known number with a wrong code and an unknown number take the same
    path (the same SQL, in the same order; the unknown one is compared against a code that never
    matches), so neither the answer nor the work done says whether the number exists."""
    (certificate,) = _conclusions(db_session, admin_user, 1)
    unknown = f"PG-2026-{certificate.id + 1000:06d}"
    engine = db_session.get_bind()

    def statements(number: str) -> list[str]:
        seen: list[str] = []

        def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            _look_up(db_session, number, "K7QF3M9DXA")
            db_session.flush()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return seen

    db_session.flush()  # what issuing left pending is not part of a look-up
    known_path, unknown_path = statements(certificate.number), statements(unknown)
    assert known_path == unknown_path
    assert len(known_path) >= 3  # the throttle's count, the look-up, the audit event


def test_failed_look_ups_are_audited_without_naming_a_certificate(
    db_session: Session, admin_user: User
) -> None:
    (certificate,) = _conclusions(db_session, admin_user, 1)
    _look_up(db_session, certificate.number, "0000000000")
    _look_up(db_session, "PG-2026-999999", "0000000000")
    _look_up(db_session, certificate.number, certificate.check_code)
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.verify").order_by(AuditEvent.id)
    ).all()
    assert [(e.object_id, e.detail) for e in events] == [
        (None, {"result": "unknown"}),
        (None, {"result": "unknown"}),
        (certificate.id, {"result": "valid"}),
    ]
    assert all(certificate.check_code not in str(e.detail) for e in events)


def test_failed_look_ups_count_towards_the_throttle(db_session: Session, admin_user: User) -> None:
    (certificate,) = _conclusions(db_session, admin_user, 1)
    guesser = Actor(user_id=None, role=None, address="192.0.2.99")
    for guess in ("0000000000", "1111111111", "2222222222"):
        verify_certificate(db_session, guesser, certificate.number, NOW, 3, raw_code=guess)
    with pytest.raises(ThrottledError):  # even the right code, for the rest of the minute
        verify_certificate(
            db_session, guesser, certificate.number, NOW, 3, raw_code=certificate.check_code
        )


def test_the_pdf_prints_the_code_beside_the_number(db_session: Session, admin_user: User) -> None:
    certificate, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), AssessmentFactory().id, NOW, base_url="https://x"
    )
    pages = PdfReader(io.BytesIO(render_assessment_conclusion(data))).pages
    text = "".join("".join(page.extract_text() for page in pages).split())
    code = certificate.check_code
    printed = f"{code[:5]}-{code[5:]}"
    assert data.check_code == printed
    assert f"编号：{certificate.number}核验码：{printed}" in text  # under the title
    assert f"/verify/{certificate.number}核验码：{printed}" in text  # beside the QR code


def test_a_wrong_code_takes_as_long_as_an_unknown_number(
    db_session: Session, admin_user: User
) -> None:
    """The same work measured: look-ups of a known number with a wrong code and of an unknown
    number, interleaved (a busy machine slows both alike), have medians within a factor 1.5; a
    found certificate's extra work (its batch, its subject, its standing) would show."""
    (certificate,) = _conclusions(db_session, admin_user, 1)
    unknown = f"PG-2026-{certificate.id + 1000:06d}"
    times: dict[str, list[float]] = {certificate.number: [], unknown: []}
    for _ in range(40):
        for number, spent in times.items():
            start = time.perf_counter()
            _look_up(db_session, number, "K7QF3M9DXA")
            db_session.flush()
            spent.append(time.perf_counter() - start)
    known, other = (statistics.median(spent) for spent in times.values())
    assert max(known, other) < 1.5 * min(known, other), (known, other)
