"""A document is numbered once: reprints keep the number; new content or an explicit re-issue
gives a new one and the earlier number verifies as superseded by it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, PermissionDeniedError
from careapp.models import AuditEvent, Certificate, CertificateKind, PrintBatchStatus, User
from careapp.services.actor import Actor
from careapp.services.certificates import (
    VerificationResult,
    content_digest,
    current_certificate_of,
    issue_assessment_conclusion,
    issue_benefit_certificate,
    issue_decision_notice,
    verify_certificate,
)
from careapp.services.procedure import ProcedureRules
from careapp.web.wording import WORDING
from tests.factories import (
    NOW,
    AssessmentFactory,
    EligibilityDecisionFactory,
    EntitlementFactory,
    PrintBatchFactory,
    UserFactory,
)

RULES = ProcedureRules()
BASE = "https://ltc.example.cn"
LATER = NOW + dt.timedelta(days=3)
PUBLIC = Actor(user_id=None, role=None, address="203.0.113.9")


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, address="10.0.0.7")


def _notice(db_session: Session, admin: User, decision_id: int, now: dt.datetime = NOW, **kw):  # type: ignore[no-untyped-def]
    return issue_decision_notice(
        db_session, _actor(admin), decision_id, now, rules=RULES, base_url=BASE, wording=WORDING,
        **kw,
    )  # fmt: skip


def _benefit(db_session: Session, admin: User, decision_id: int, now: dt.datetime = NOW, **kw):  # type: ignore[no-untyped-def]
    return issue_benefit_certificate(
        db_session, _actor(admin), decision_id, now, rules=RULES, base_url=BASE, wording=WORDING,
        **kw,
    )  # fmt: skip


def _rows(db_session: Session, kind: CertificateKind) -> list[Certificate]:
    query = select(Certificate).where(Certificate.kind == kind).order_by(Certificate.id)
    return list(db_session.scalars(query))


def _verify(db_session: Session, certificate: Certificate):  # type: ignore[no-untyped-def]
    """Verify with the number and the check code the certificate's paper carries."""
    return verify_certificate(
        db_session, PUBLIC, certificate.number, LATER, 30, raw_code=certificate.check_code
    )


def test_reopening_a_conclusion_gives_the_same_number(
    db_session: Session, admin_user: User
) -> None:
    assessment = AssessmentFactory()
    first, printed = issue_assessment_conclusion(
        db_session, _actor(admin_user), assessment.id, NOW, base_url=BASE
    )
    again, reprinted = issue_assessment_conclusion(
        db_session, _actor(admin_user), assessment.id, LATER, base_url=BASE
    )
    assert again.id == first.id
    assert reprinted == printed  # number, check code, issue date, address and content
    assert reprinted.check_code == printed.check_code != ""  # the holder's copies still verify
    assert len(_rows(db_session, CertificateKind.ASSESSMENT_CONCLUSION)) == 1
    reprint = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.reprint")
    ).one()
    assert reprint.detail == {"number": first.number}
    assert _verify(db_session, first).result is VerificationResult.VALID


def test_reprinting_notice_and_benefit_certificate_keeps_their_numbers(
    db_session: Session, admin_user: User
) -> None:
    decision_id = EntitlementFactory().decision_id
    notice, _ = _notice(db_session, admin_user, decision_id)
    benefit, _ = _benefit(db_session, admin_user, decision_id)
    assert _notice(db_session, admin_user, decision_id, LATER)[0].number == notice.number
    assert _benefit(db_session, admin_user, decision_id, LATER)[0].number == benefit.number
    assert len(_rows(db_session, CertificateKind.DECISION_NOTICE)) == 1
    assert len(_rows(db_session, CertificateKind.BENEFIT)) == 1


def test_new_content_gets_a_new_number_and_supersedes_the_earlier(
    db_session: Session, admin_user: User
) -> None:
    """A conclusion printed before the decision has no appeal deadline; once decided, the
    content changes: a new number, and the earlier one is superseded by it."""
    assessment = AssessmentFactory()
    before, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), assessment.id, NOW, base_url=BASE
    )
    assert data.appeal_deadline is None
    EligibilityDecisionFactory(assessment=assessment, decided_on=dt.date(2026, 11, 24))
    after, decided = issue_assessment_conclusion(
        db_session, _actor(admin_user), assessment.id, LATER, base_url=BASE
    )
    assert after.number != before.number
    assert decided.appeal_deadline is not None
    assert decided.issued_on == dt.date(2026, 11, 26)
    assert before.superseded_at == LATER
    assert before.superseded_by_id == after.id
    assert before.supersede_reason is None
    verification = _verify(db_session, before)
    assert verification.result is VerificationResult.NOT_VALID
    assert verification.reason == "replaced"
    assert verification.replaced_by == after.number
    assert verification.ended_on == dt.date(2026, 11, 26)
    assert _verify(db_session, after).result is VerificationResult.VALID


def test_an_explicit_reissue_supersedes_the_current_number(
    db_session: Session, admin_user: User
) -> None:
    decision_id = EntitlementFactory().decision_id
    first, _ = _benefit(db_session, admin_user, decision_id)
    second, data = _benefit(db_session, admin_user, decision_id, LATER, reissue_reason="原件遗失")
    assert second.number != first.number == _rows(db_session, CertificateKind.BENEFIT)[0].number
    assert data.certificate_number == second.number
    assert data.issued_on == dt.date(2026, 11, 26)
    assert first.supersede_reason == "原件遗失"
    assert first.superseded_by_id == second.id
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.supersede")
    ).one()
    assert event.object_id == first.id
    assert event.detail == {
        "number": first.number,
        "superseded_by": second.number,
        "cause": "reissue",
        "reason": "原件遗失",
    }
    assert _verify(db_session, first).replaced_by == second.number
    assert second.check_code != first.check_code  # a new document, a new code
    # Printing again afterwards reprints the re-issued number.
    assert _benefit(db_session, admin_user, decision_id, LATER)[0].number == second.number
    assert (
        current_certificate_of(db_session, _actor(admin_user), CertificateKind.BENEFIT, decision_id)
        == second
    )


def test_a_reissue_needs_an_issued_document(db_session: Session, admin_user: User) -> None:
    decision_id = EntitlementFactory().decision_id
    with pytest.raises(ConflictError):
        _notice(db_session, admin_user, decision_id, reissue_reason="补发")
    assert _rows(db_session, CertificateKind.DECISION_NOTICE) == []


def test_only_an_administrator_sees_what_to_reissue(db_session: Session) -> None:
    assessor = UserFactory(assessor=True)
    with pytest.raises(PermissionDeniedError):
        current_certificate_of(
            db_session, _actor(assessor), CertificateKind.ASSESSMENT_CONCLUSION, 1
        )


def test_a_batch_reprints_under_the_number_already_handed_out(
    db_session: Session, admin_user: User
) -> None:
    decision_id = EntitlementFactory().decision_id
    single, _ = _notice(db_session, admin_user, decision_id)
    batch = PrintBatchFactory(status=PrintBatchStatus.FAILED)
    in_batch, _ = _notice(db_session, admin_user, decision_id, print_batch_id=batch.id)
    assert in_batch.id == single.id
    assert in_batch.print_batch_id is None  # handed out alone: genuine whatever the batch does
    assert _verify(db_session, single).result is VerificationResult.VALID


def test_a_reprint_makes_the_number_of_a_failed_batch_genuine(
    db_session: Session, admin_user: User
) -> None:
    decision_id = EntitlementFactory().decision_id
    failed = PrintBatchFactory(status=PrintBatchStatus.FAILED)
    numbered, _ = _notice(db_session, admin_user, decision_id, print_batch_id=failed.id)
    assert _verify(db_session, numbered).result is VerificationResult.UNKNOWN
    reprinted, _ = _notice(db_session, admin_user, decision_id, LATER)
    assert reprinted.id == numbered.id
    assert reprinted.print_batch_id is None
    assert _verify(db_session, numbered).result is VerificationResult.VALID


def test_a_number_from_before_digests_is_superseded_at_its_next_print(
    db_session: Session, admin_user: User
) -> None:
    assessment = AssessmentFactory()
    legacy, _ = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)
    legacy.content_digest = None  # as the migration leaves an earlier row
    db_session.flush()
    current, _ = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, LATER)
    assert current.id != legacy.id
    assert legacy.superseded_by_id == current.id


def test_the_database_keeps_one_current_certificate_per_document(
    db_session: Session, admin_user: User
) -> None:
    """What makes two simultaneous openings safe: a second current row cannot be stored."""
    assessment = AssessmentFactory()
    first, _ = issue_assessment_conclusion(db_session, _actor(admin_user), assessment.id, NOW)

    def another() -> Certificate:
        return Certificate(
            number="PG-2026-999999",
            kind=CertificateKind.ASSESSMENT_CONCLUSION,
            assessment_id=assessment.id,
            issued_at=NOW,
            issued_by_id=admin_user.id,
        )

    with db_session.begin_nested():
        db_session.add(another())
        with pytest.raises(IntegrityError):
            db_session.flush()
    first.superseded_at = NOW  # a superseded row does not count
    db_session.flush()
    db_session.add(another())
    db_session.flush()


def test_content_digest_ignores_number_code_date_and_address(
    db_session: Session, admin_user: User
) -> None:
    _, data = issue_assessment_conclusion(
        db_session, _actor(admin_user), AssessmentFactory().id, NOW, base_url=BASE
    )
    moved = dataclasses.replace(
        data,
        certificate_number="PG-2026-000999",
        check_code="K7QF3-M9DXA",
        issued_on=LATER.date(),
        verify_url="x",
    )
    assert content_digest(moved) == content_digest(data)
    assert content_digest(dataclasses.replace(data, total=data.total + 1)) != content_digest(data)
