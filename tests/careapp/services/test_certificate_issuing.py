"""Benefit certificates, decision notices and the public verification of certificate numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ThrottledError
from careapp.core.identity import make_resident_id
from careapp.models import (
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    CareSetting,
    Certificate,
    CertificateKind,
    EntitlementStatus,
    PrintBatchStatus,
    User,
)
from careapp.services.actor import Actor
from careapp.services.certificates import (
    VerificationResult,
    issue_assessment_conclusion,
    issue_benefit_certificate,
    issue_decision_notice,
    normalise_number,
    verify_certificate,
)
from careapp.services.procedure import ProcedureRules
from careapp.web.wording import WORDING
from tests.factories import (
    NOW,
    ApplicationFactory,
    AssessmentFactory,
    EligibilityDecisionFactory,
    EntitlementFactory,
    PersonFactory,
    PrintBatchFactory,
    UserFactory,
)

FULL_ID = make_resident_id("320602", dt.date(1941, 5, 17), 77)
RULES = ProcedureRules()
BASE = "https://ltc.example.cn"
PUBLIC = Actor(user_id=None, role=None, address="203.0.113.9")

REASONS = [
    {
        "rule": "insured",
        "passed": True,
        "reason_code": "insured",
        "params": {"on": "2026-11-21", "scheme": "resident"},
    },
    {
        "rule": "disability_duration",
        "passed": True,
        "reason_code": "disability_long_enough",
        "params": {"months": 22, "required": 6},
    },
    {
        "rule": "no_open_entitlement",
        "passed": True,
        "reason_code": "no_open_entitlement",
        "params": {},
    },
]


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, address="10.0.0.7")


def _entitlement(full_id: str = FULL_ID, **overrides: object):  # type: ignore[no-untyped-def]  # an Entitlement
    person = PersonFactory(name="赵秀英", id_number=full_id)
    assessment = AssessmentFactory(application=ApplicationFactory(person=person, assigned=True))
    decision = EligibilityDecisionFactory(
        assessment=assessment,
        reasons=REASONS,
        care_setting=CareSetting.MEDICAL_CARE_INSTITUTION,
        daily_rate_fen=5000,
    )
    values: dict[str, object] = {
        "decision": decision,
        "care_setting": CareSetting.MEDICAL_CARE_INSTITUTION,
        "daily_rate_fen": 5000,
        "monthly_budget_fen": None,
    }
    values.update(overrides)
    return EntitlementFactory(**values)


def _issue_benefit(db_session: Session, admin_user: User, decision_id: int, now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    return issue_benefit_certificate(
        db_session,
        _actor(admin_user),
        decision_id,
        now,
        rules=RULES,
        base_url=BASE,
        wording=WORDING,
    )


def _issue_notice(db_session: Session, admin_user: User, decision_id: int):  # type: ignore[no-untyped-def]
    return issue_decision_notice(
        db_session,
        _actor(admin_user),
        decision_id,
        NOW,
        rules=RULES,
        base_url=BASE,
        wording=WORDING,
    )


def test_issue_benefit_certificate_content(db_session: Session, admin_user: User) -> None:
    entitlement = _entitlement()
    certificate, data = _issue_benefit(db_session, admin_user, entitlement.decision_id)
    assert certificate.number == f"DY-2026-{certificate.id:06d}" == data.certificate_number
    assert certificate.kind is CertificateKind.BENEFIT
    assert certificate.entitlement_id == entitlement.id
    assert data.person_name == "赵秀英"
    assert data.id_number_masked == FULL_ID[:6] + "*" * 11 + FULL_ID[-1]
    assert data.birth_year == entitlement.person.born_on.year  # the year, never the date
    assert FULL_ID not in repr(data)
    assert data.category_zh == "重度失能"
    assert data.care_setting_zh == "医疗照护机构"
    assert data.rate.zh == "50.00元/日"
    # From the start until the next scheduled re-assessment (24 months after the assessment).
    assert data.valid_from == dt.date(2026, 11, 21)
    assert data.valid_until == dt.date(2028, 11, 20)
    assert data.valid_until_reason_zh == "下次定期复评"
    assert (certificate.valid_from, certificate.valid_until) == (data.valid_from, data.valid_until)
    assert entitlement.policy_version.name == "Default (spec figures)"
    assert data.policy_name == "默认政策（规范数值）"  # a document is in Chinese
    code = certificate.check_code
    assert data.check_code == f"{code[:5]}-{code[5:]}"  # printed in two groups
    assert data.verify_url == f"{BASE}/verify/{certificate.number}?code={data.check_code}"


def test_issue_benefit_certificate_home_service_prints_the_monthly_budget(
    db_session: Session, admin_user: User
) -> None:
    entitlement = _entitlement(
        care_setting=CareSetting.HOME_SERVICE, daily_rate_fen=None, monthly_budget_fen=120_000
    )
    _, data = _issue_benefit(db_session, admin_user, entitlement.decision_id)
    assert data.rate.zh == "上门服务按次结算，每月服务限额1,200.00元"


def test_issue_benefit_certificate_is_audited(db_session: Session, admin_user: User) -> None:
    entitlement = _entitlement()
    certificate, _ = _issue_benefit(db_session, admin_user, entitlement.decision_id)
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == admin_user.id).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("create", "certificate", certificate.id),
        ("read", "entitlement", entitlement.id),
    ]
    assert events[0].detail["kind"] == "benefit"
    assert FULL_ID not in str(events[0].detail)


def test_issue_benefit_certificate_refusals(db_session: Session, admin_user: User) -> None:
    refused = EligibilityDecisionFactory(is_eligible=False, category=None)
    with pytest.raises(ConflictError):
        _issue_benefit(db_session, admin_user, refused.id)
    ended = _entitlement(
        make_resident_id("320602", dt.date(1941, 5, 17), 79),
        status=EntitlementStatus.ENDED,
        ends_on=dt.date(2026, 11, 22),
    )
    with pytest.raises(ConflictError):
        _issue_benefit(db_session, admin_user, ended.decision_id)
    with pytest.raises(NotFoundError):
        _issue_benefit(db_session, admin_user, 987_654)
    with pytest.raises(PermissionDeniedError):
        issue_benefit_certificate(
            db_session,
            _actor(UserFactory(assessor=True)),
            _entitlement(make_resident_id("320602", dt.date(1941, 5, 17), 81)).decision_id,
            NOW,
            rules=RULES,
            base_url=BASE,
            wording=WORDING,
        )
    assert db_session.scalars(select(Certificate)).all() == []


def test_issue_decision_notice_words_every_rule_in_chinese(
    db_session: Session, admin_user: User
) -> None:
    entitlement = _entitlement()
    certificate, data = _issue_notice(db_session, admin_user, entitlement.decision_id)
    assert certificate.number.startswith("JD-2026-")
    assert certificate.kind is CertificateKind.DECISION_NOTICE
    assert certificate.decision_id == entitlement.decision_id
    assert [(line.label_zh, line.passed) for line in data.rules] == [
        ("认定日参加基本医疗保险", True),
        ("失能持续时间", True),
        ("无在享待遇", True),
    ]
    assert data.rules[1].reason_zh == "失能已持续 22 个月（至少需 6 个月）"
    assert data.rules[2].reason_zh == "本人没有正在享受的待遇"
    assert data.appeal_deadline == dt.date(2026, 12, 21)  # 30 days after the decision
    assert data.starts_on == dt.date(2026, 11, 21)
    assert data.rate.zh == "50.00元/日"


def test_issue_decision_notice_of_a_refusal(db_session: Session, admin_user: User) -> None:
    decision = EligibilityDecisionFactory(
        is_eligible=False,
        category=None,
        reasons=[
            {
                "rule": "disability_duration",
                "passed": False,
                "reason_code": "disability_too_short",
                "params": {"months": 3, "required": 6},
            }
        ],
    )
    _, data = _issue_notice(db_session, admin_user, decision.id)
    assert not data.is_eligible
    assert data.rules[0].passed is False
    assert "3" in data.rules[0].reason_zh
    assert data.starts_on is None


def test_issue_decision_notice_unknown_decision(db_session: Session, admin_user: User) -> None:
    with pytest.raises(NotFoundError):
        _issue_notice(db_session, admin_user, 987_654)


# --- verification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("DY-2026-000123", "DY-2026-000123"),
        (" dy-2026-000123 ", "DY-2026-000123"),
        ("XX-2026-000123", None),
        ("DY-2026-1", None),
        ("' OR 1=1 --", None),
        ("", None),
    ],
)
def test_normalise_number(raw: str, number: str | None) -> None:
    assert normalise_number(raw) == number


def _verify(  # type: ignore[no-untyped-def]
    db_session: Session,
    certificate: Certificate | str,
    now: dt.datetime = NOW,
    code: str | None = None,
):
    """Verify a certificate by its number and its own check code (or a number and `code`)."""
    if isinstance(certificate, Certificate):
        number, code = certificate.number, code or certificate.check_code
    else:
        number = certificate
    return verify_certificate(db_session, PUBLIC, number, now, max_per_minute=30, raw_code=code)


def test_verify_a_live_benefit_certificate(db_session: Session, admin_user: User) -> None:
    entitlement = _entitlement()
    certificate, _ = _issue_benefit(db_session, admin_user, entitlement.decision_id)
    # As typed: lower case, the code in its printed groups with a space for the dash.
    typed = certificate.check_code.lower()
    verification = _verify(db_session, certificate.number.lower(), code=f"{typed[:5]} {typed[5:]}")
    assert verification.result is VerificationResult.VALID
    assert verification.kind is CertificateKind.BENEFIT
    assert verification.masked_name == "赵**"
    assert verification.masked_id == entitlement.person.id_number_masked
    assert verification.valid_until == dt.date(2028, 11, 20)
    assert FULL_ID not in repr(verification)
    assert "赵秀英" not in repr(verification)


def test_verify_a_certificate_of_an_ended_entitlement(
    db_session: Session, admin_user: User
) -> None:
    entitlement = _entitlement()
    certificate, _ = _issue_benefit(db_session, admin_user, entitlement.decision_id)
    entitlement.status = EntitlementStatus.ENDED
    entitlement.ends_on = dt.date(2026, 12, 1)
    db_session.flush()
    verification = _verify(db_session, certificate)
    assert verification.result is VerificationResult.NOT_VALID
    assert verification.reason == "entitlement_ended"
    assert verification.ended_on == dt.date(2026, 12, 1)


def test_verify_a_certificate_past_its_validity(db_session: Session, admin_user: User) -> None:
    certificate, _ = _issue_benefit(db_session, admin_user, _entitlement().decision_id)
    later = dt.datetime(2028, 11, 21, 2, 0, tzinfo=dt.UTC)
    verification = _verify(db_session, certificate, later)
    assert verification.result is VerificationResult.NOT_VALID
    assert verification.reason == "expired"


def test_verify_an_unknown_number_reveals_nothing(db_session: Session) -> None:
    for number in ("DY-2026-999999", "not-a-number"):
        verification = _verify(db_session, number)
        assert verification.result is VerificationResult.UNKNOWN
        assert verification.kind is None
        assert verification.masked_name is None
        assert verification.masked_id is None


def test_verify_a_superseded_assessment_conclusion(db_session: Session, admin_user: User) -> None:
    assessment = AssessmentFactory()
    certificate, _ = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)
    assert _verify(db_session, certificate).result is VerificationResult.VALID
    AssessmentFactory(application=assessment.application, version=2)
    verification = _verify(db_session, certificate)
    assert verification.result is VerificationResult.NOT_VALID
    assert verification.reason == "superseded"


def test_verify_a_decision_notice_superseded_by_a_later_round(
    db_session: Session, admin_user: User
) -> None:
    entitlement = _entitlement()
    certificate, _ = _issue_notice(db_session, admin_user, entitlement.decision_id)
    assert _verify(db_session, certificate).result is VerificationResult.VALID
    first_round = entitlement.decision.application
    first_round.status = ApplicationStatus.DECIDED
    db_session.flush()
    appeal = ApplicationFactory(
        person=first_round.person,
        previous_id=first_round.id,
        kind=ApplicationKind.APPEAL,
        assigned=True,
    )
    EligibilityDecisionFactory(assessment=AssessmentFactory(application=appeal))
    assert _verify(db_session, certificate).reason == "superseded"


def test_verify_a_certificate_of_an_unfinished_batch_is_unknown(
    db_session: Session, admin_user: User
) -> None:
    batch = PrintBatchFactory(status=PrintBatchStatus.FAILED)
    certificate, _ = issue_decision_notice(
        db_session,
        _actor(admin_user),
        _entitlement().decision_id,
        NOW,
        rules=RULES,
        base_url=BASE,
        wording=WORDING,
        print_batch_id=batch.id,
    )
    assert _verify(db_session, certificate).result is VerificationResult.UNKNOWN
    batch.status = PrintBatchStatus.DONE
    db_session.flush()
    assert _verify(db_session, certificate).result is VerificationResult.VALID


def test_verify_is_audited_without_personal_data(db_session: Session, admin_user: User) -> None:
    certificate, _ = _issue_benefit(db_session, admin_user, _entitlement().decision_id)
    _verify(db_session, certificate)
    _verify(db_session, "DY-2026-999999")
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.verify").order_by(AuditEvent.id)
    ).all()
    assert [(e.object_id, e.detail) for e in events] == [
        (certificate.id, {"result": "valid"}),
        (None, {"result": "unknown"}),
    ]
    assert all(e.actor_id is None and e.address == "203.0.113.9" for e in events)


def test_verify_is_rate_limited_per_address(db_session: Session, app: Flask) -> None:
    for _ in range(3):
        verify_certificate(db_session, PUBLIC, "DY-2026-999999", NOW, 3, raw_code="K7QF3M9DXA")
    with pytest.raises(ThrottledError):
        verify_certificate(db_session, PUBLIC, "DY-2026-999999", NOW, 3, raw_code="K7QF3M9DXA")
    other = Actor(user_id=None, role=None, address="198.51.100.1")
    verify_certificate(db_session, other, "DY-2026-999999", NOW, 3, raw_code="K7QF3M9DXA")
    a_minute_later = NOW + dt.timedelta(seconds=61)
    verify_certificate(db_session, PUBLIC, "DY-2026-999999", a_minute_later, 3, raw_code=None)
