"""Monthly provider quality (service): the new figures, thresholds, and every status change."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.config import Config
from careapp.core.clock import city_datetime
from careapp.models import (
    AlertKind,
    AuditEvent,
    ComplaintStatus,
    Provider,
    ProviderAlert,
    ProviderQualityEvaluation,
    Role,
    VerificationMethod,
)
from careapp.services.actor import Actor
from careapp.services.providers import lift_suspension
from careapp.services.quality import (
    evaluate_provider_quality,
    month_figures,
    thresholds_from_config,
)
from scheduling.quality import ProviderStatus, QualityThresholds
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    ComplaintFactory,
    ProviderFactory,
    UserFactory,
    provider_visit,
    rate_visit,
)

AUG, SEP, OCT = dt.date(2026, 8, 1), dt.date(2026, 9, 1), dt.date(2026, 10, 1)
JOB = Actor(user_id=None, role=None)
DEFAULT = QualityThresholds()


def failing_month(provider: Provider, month: dt.date) -> None:
    """One planned visit, missed: 100 % missed."""
    provider_visit(provider, month + dt.timedelta(days=3), status=VisitStatus.MISSED)


def passing_month(provider: Provider, month: dt.date) -> None:
    day = month + dt.timedelta(days=3)
    provider_visit(
        provider, day, status=VisitStatus.COMPLETED, checked_in_at=city_datetime(day, dt.time(7))
    )


def evaluate(session: Session, month: dt.date, thresholds: QualityThresholds = DEFAULT) -> None:
    evaluate_provider_quality(session, JOB, month, NOW, thresholds)


def evaluation(session: Session, provider: Provider, month: dt.date) -> ProviderQualityEvaluation:
    return session.scalars(
        select(ProviderQualityEvaluation).where(
            ProviderQualityEvaluation.provider_id == provider.id,
            ProviderQualityEvaluation.month == month,
        )
    ).one()


def status_of(session: Session, provider: Provider) -> ProviderStatus:
    session.refresh(provider)
    return provider.status


def test_month_figures_count_complaints_and_verification(db_session: Session) -> None:
    provider, other = ProviderFactory(), ProviderFactory()
    day = dt.date(2026, 10, 5)
    checked_in = city_datetime(day, dt.time(7, 10))
    for verification, checked in (
        (VerificationMethod.PHONE, checked_in),
        (VerificationMethod.PHONE, checked_in),
        (None, checked_in),  # before `verification` existed: phone
        (VerificationMethod.MANUAL, checked_in),
        (None, None),  # neither
    ):
        provider_visit(
            provider, day, status=VisitStatus.COMPLETED, verification=verification,
            checked_in_at=checked,
        )  # fmt: skip
    provider_visit(provider, day, status=VisitStatus.MISSED, verification=None)
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 1))
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 31), upheld=True)
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 15), dismissed=True)
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 11, 1))  # next month
    ComplaintFactory(provider=other, received_on=dt.date(2026, 10, 15))  # only complaints

    figures = month_figures(db_session, OCT)

    mine = figures[provider.id]
    assert (mine.planned, mine.completed, mine.missed) == (6, 5, 1)
    assert (mine.complaints, mine.phone_verified, mine.manual_entered) == (2, 3, 1)
    assert mine.phone_verified_share == Fraction(3, 5)
    assert figures[other.id].complaints == 1
    assert figures[other.id].planned == 0
    assert month_figures(db_session, OCT, [provider.id]).keys() == {provider.id}


def test_evaluation_stores_the_new_figures_and_the_thresholds_in_force(
    db_session: Session,
) -> None:
    provider = ProviderFactory()
    day = dt.date(2026, 10, 5)
    for verification in (VerificationMethod.PHONE, VerificationMethod.MANUAL):
        provider_visit(
            provider, day, status=VisitStatus.COMPLETED, verification=verification,
            checked_in_at=city_datetime(day, dt.time(7)),
        )  # fmt: skip
    ComplaintFactory(provider=provider, received_on=day)
    thresholds = QualityThresholds.from_percent(95, 2, 10, 80)

    evaluate(db_session, OCT, thresholds)

    row = evaluation(db_session, provider, OCT)
    assert (row.complaints, row.phone_verified, row.manual_entered) == (1, 1, 1)
    assert row.problems == ["too_many_complaints", "too_few_phone_verified"]
    assert row.thresholds == {
        "min_satisfaction": "19/20",
        "max_missed_share": "1/50",
        "max_complaints_per_100": "10",
        "min_phone_verified": "4/5",
    }
    assert (row.status_before, row.status_after) == (ProviderStatus.ACTIVE, ProviderStatus.WARNED)
    audit = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "provider.quality_evaluated", AuditEvent.object_id == provider.id
        )
    ).one()
    assert audit.detail["complaints"] == 1
    assert audit.detail["manual_entered"] == 1


def test_by_default_complaints_and_hand_entries_alone_do_not_fail(db_session: Session) -> None:
    provider = ProviderFactory()
    day = dt.date(2026, 10, 5)
    provider_visit(
        provider, day, status=VisitStatus.COMPLETED, verification=VerificationMethod.MANUAL,
        checked_in_at=city_datetime(day, dt.time(7)),
    )  # fmt: skip
    ComplaintFactory.create_batch(5, provider=provider, received_on=day)

    evaluate(db_session, OCT, thresholds_from_config(Config.__dict__))

    row = evaluation(db_session, provider, OCT)
    assert row.problems == []
    assert row.thresholds == {"min_satisfaction": "19/20", "max_missed_share": "1/50"}
    assert status_of(db_session, provider) is ProviderStatus.ACTIVE


def test_thresholds_from_config_reads_the_optional_keys() -> None:
    config = {
        "QUALITY_MIN_SATISFACTION_PERCENT": 90,
        "QUALITY_MAX_MISSED_PERCENT": 5,
        "QUALITY_MAX_COMPLAINTS_PER_100_VISITS": 2.5,
        "QUALITY_MIN_PHONE_VERIFIED_PERCENT": 85,
    }
    thresholds = thresholds_from_config(config)
    assert thresholds == QualityThresholds(
        Fraction(9, 10), Fraction(1, 20), Fraction(5, 2), Fraction(17, 20)
    )
    assert Config.QUALITY_MAX_COMPLAINTS_PER_100_VISITS is None
    assert Config.QUALITY_MIN_PHONE_VERIFIED_PERCENT is None


def test_dismissing_a_complaint_takes_it_out_of_the_count(db_session: Session) -> None:
    provider = ProviderFactory()
    complaint = ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 5))
    assert month_figures(db_session, OCT)[provider.id].complaints == 1
    complaint.status = ComplaintStatus.DISMISSED
    complaint.resolved_at = NOW
    db_session.flush()
    assert provider.id not in month_figures(db_session, OCT)


# -- every status change, through the service -------------------------------------------------


def test_active_to_warned_on_a_failing_month(db_session: Session) -> None:
    provider = ProviderFactory()
    manager = UserFactory(role=Role.PROVIDER_MANAGER, provider=provider)
    failing_month(provider, OCT)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.WARNED
    alert = db_session.scalars(select(ProviderAlert)).one()
    assert (alert.provider_id, alert.kind) == (manager.provider_id, AlertKind.QUALITY_WARNING)


def test_warned_to_active_on_a_passing_month(db_session: Session) -> None:
    provider = ProviderFactory()
    failing_month(provider, SEP)
    passing_month(provider, OCT)
    evaluate(db_session, SEP)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.ACTIVE
    row = evaluation(db_session, provider, OCT)
    assert (row.status_before, row.status_after) == (ProviderStatus.WARNED, ProviderStatus.ACTIVE)


def test_warned_to_suspended_on_a_second_failing_month_in_a_row(db_session: Session) -> None:
    provider = ProviderFactory()
    failing_month(provider, SEP)
    failing_month(provider, OCT)
    evaluate(db_session, SEP)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.SUSPENDED


def test_warned_is_warned_again_when_the_month_before_passed(db_session: Session) -> None:
    provider = ProviderFactory(status=ProviderStatus.WARNED)  # e.g. warned long ago
    failing_month(provider, OCT)
    evaluate(db_session, OCT)  # no failing September on record
    assert status_of(db_session, provider) is ProviderStatus.WARNED


def test_suspended_to_exited_on_a_further_failing_month(db_session: Session) -> None:
    provider = ProviderFactory()
    for month in (AUG, SEP, OCT):
        failing_month(provider, month)
    evaluate(db_session, AUG)
    evaluate(db_session, SEP)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.EXITED
    kinds = db_session.scalars(select(ProviderAlert.kind).order_by(ProviderAlert.id)).all()
    assert kinds == [
        AlertKind.QUALITY_WARNING,
        AlertKind.QUALITY_SUSPENSION,
        AlertKind.QUALITY_EXIT,
    ]


def test_suspended_stays_suspended_on_a_passing_month(db_session: Session) -> None:
    provider = ProviderFactory(status=ProviderStatus.SUSPENDED)
    passing_month(provider, OCT)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.SUSPENDED
    assert evaluation(db_session, provider, OCT).is_failing is False


def test_exited_is_final(db_session: Session) -> None:
    provider = ProviderFactory(status=ProviderStatus.EXITED)
    passing_month(provider, OCT)
    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.EXITED
    assert db_session.scalar(select(func.count()).select_from(ProviderQualityEvaluation)) == 0


def test_admin_lifting_a_suspension_makes_it_active_and_the_next_failing_month_warns(
    db_session: Session,
) -> None:
    provider = ProviderFactory()
    admin = UserFactory(admin=True)
    failing_month(provider, AUG)
    failing_month(provider, SEP)
    failing_month(provider, OCT)
    evaluate(db_session, AUG)
    evaluate(db_session, SEP)
    assert status_of(db_session, provider) is ProviderStatus.SUSPENDED

    lift_suspension(db_session, Actor(admin.id, Role.ADMIN), provider.id, "整改到位", NOW)
    assert status_of(db_session, provider) is ProviderStatus.ACTIVE

    evaluate(db_session, OCT)
    assert status_of(db_session, provider) is ProviderStatus.WARNED  # back on the first rung


def test_evaluating_a_month_twice_changes_nothing(db_session: Session) -> None:
    provider = ProviderFactory()
    failing_month(provider, OCT)
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 9))
    thresholds = QualityThresholds.from_percent(95, 2, 1, 90)
    evaluate(db_session, OCT, thresholds)
    first = evaluation(db_session, provider, OCT)
    before = (first.id, first.complaints, list(first.problems), dict(first.thresholds))
    ComplaintFactory(provider=provider, received_on=dt.date(2026, 10, 10))  # arrives late

    outcome = evaluate_provider_quality(db_session, JOB, OCT, NOW, thresholds)

    assert (outcome.evaluated, outcome.already_evaluated) == (0, 1)
    again = evaluation(db_session, provider, OCT)
    assert (again.id, again.complaints, list(again.problems), dict(again.thresholds)) == before
    assert status_of(db_session, provider) is ProviderStatus.WARNED
    assert db_session.scalar(select(func.count()).select_from(ProviderAlert)) == 1


@pytest.mark.parametrize("status", [ProviderStatus.ACTIVE, ProviderStatus.WARNED])
def test_rated_month_with_low_satisfaction_fails(
    db_session: Session, status: ProviderStatus
) -> None:
    provider = ProviderFactory(status=status)
    day = dt.date(2026, 10, 6)
    visit = provider_visit(
        provider, day, status=VisitStatus.COMPLETED, checked_in_at=city_datetime(day, dt.time(7))
    )
    rate_visit(visit, 3)
    evaluate(db_session, OCT)
    assert evaluation(db_session, provider, OCT).problems == ["low_satisfaction"]
