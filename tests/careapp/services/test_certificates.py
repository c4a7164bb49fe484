"""Issuing assessment conclusions: numbering, content from the instrument, masking, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.grading import get_instrument
from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.core.identity import make_resident_id
from careapp.models import ApplicationStatus, AuditEvent, Certificate, CertificateKind, Sex, User
from careapp.reports.pdf import render_assessment_conclusion, zh_date
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.certificates import certificate_number, issue_assessment_conclusion
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
    assert data.verify_url == f"https://ltc.example.cn/verify/{certificate.number}"


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
