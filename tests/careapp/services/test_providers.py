"""Providers' quality records, lifting a suspension, and the satisfaction report (services)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import AuditEvent, ProviderQualityEvaluation, SuspensionLift
from careapp.services.actor import Actor
from careapp.services.providers import lift_suspension, list_providers, provider_quality
from careapp.services.ratings import satisfaction_report
from scheduling.quality import ProviderStatus
from scheduling.ratings import Tally
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    NOW,
    ComplaintFactory,
    ProviderFactory,
    UserFactory,
    actor_of,
    provider_visit,
    rate_visit,
)

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)


def evaluation_of(
    provider_id: int, month: dt.date, before: str, after: str, **figures: int
) -> ProviderQualityEvaluation:
    values = {"planned": 10, "completed": 10, "missed": 0, "late": 0, "rated": 4, "satisfied": 4}
    values.update(figures)
    return ProviderQualityEvaluation(
        provider_id=provider_id, month=month, flagged_check_ins=0, problems=[],
        is_failing=before != after, status_before=ProviderStatus(before),
        status_after=ProviderStatus(after), thresholds={"min_satisfaction": "19/20"},
        evaluated_at=city_datetime(month + dt.timedelta(days=35), dt.time(3)), **values,
    )  # fmt: skip


def test_lift_suspension(db_session: Session, admin_actor: Actor) -> None:
    provider = ProviderFactory(status=ProviderStatus.SUSPENDED)
    lift = lift_suspension(db_session, admin_actor, provider.id, "  已完成整改  ", NOW)
    assert provider.status is ProviderStatus.ACTIVE
    assert (lift.reason, lift.lifted_by_id, lift.lifted_at) == (
        "已完成整改",
        admin_actor.user_id,
        NOW,
    )
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == provider.id)
    ).all()
    assert sorted(actions) == ["provider.status_changed", "provider.suspension_lifted"]


@pytest.mark.parametrize(
    "status", [ProviderStatus.ACTIVE, ProviderStatus.WARNED, ProviderStatus.EXITED]
)
def test_only_a_suspension_can_be_lifted(
    db_session: Session, admin_actor: Actor, status: ProviderStatus
) -> None:
    provider = ProviderFactory(status=status)
    with pytest.raises(ConflictError):
        lift_suspension(db_session, admin_actor, provider.id, "理由", NOW)
    assert provider.status is status
    assert db_session.scalar(select(func.count()).select_from(SuspensionLift)) == 0


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_lifting_needs_a_reason(db_session: Session, admin_actor: Actor, reason: str) -> None:
    provider = ProviderFactory(status=ProviderStatus.SUSPENDED)
    with pytest.raises(InvalidInputError) as raised:
        lift_suspension(db_session, admin_actor, provider.id, reason, NOW)
    assert raised.value.field == "reason"
    assert provider.status is ProviderStatus.SUSPENDED


def test_lifting_is_for_admins_only(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    manager.provider.status = ProviderStatus.SUSPENDED
    with pytest.raises(PermissionDeniedError):
        lift_suspension(db_session, actor_of(manager), manager.provider_id, "理由", NOW)
    assert manager.provider.status is ProviderStatus.SUSPENDED


def test_lifting_an_unknown_provider(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        lift_suspension(db_session, admin_actor, 10**9, "理由", NOW)


def test_provider_quality_history_from_evaluations_and_lifts(
    db_session: Session, admin_actor: Actor
) -> None:
    provider = ProviderFactory()
    db_session.add_all(
        [
            evaluation_of(provider.id, dt.date(2026, 8, 1), "active", "warned"),
            evaluation_of(provider.id, dt.date(2026, 9, 1), "warned", "suspended"),
            evaluation_of(provider.id, OCT, "suspended", "suspended"),
        ]
    )
    provider.status = ProviderStatus.SUSPENDED
    db_session.flush()
    lift_suspension(db_session, admin_actor, provider.id, "整改完成", NOW)
    ComplaintFactory(provider=provider)

    page = provider_quality(db_session, admin_actor, provider.id)

    assert [e.month for e in page.evaluations] == [OCT, dt.date(2026, 9, 1), dt.date(2026, 8, 1)]
    steps = [(s.before.value, s.after.value, s.reason) for s in page.history]
    assert steps == [
        ("suspended", "active", "整改完成"),
        ("warned", "suspended", None),
        ("active", "warned", None),
    ]
    assert len(page.complaints) == 1
    assert len(page.lifts) == 1


def test_a_manager_reads_only_their_own_provider(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    other = ProviderFactory()
    page = provider_quality(db_session, actor_of(manager), manager.provider_id)
    assert page.provider.id == manager.provider_id
    with pytest.raises(NotFoundError):
        provider_quality(db_session, actor_of(manager), other.id)
    with pytest.raises(NotFoundError):
        provider_quality(db_session, actor_of(UserFactory(caregiver=True)), other.id)


def test_list_providers_with_the_latest_evaluation_in_bounded_queries(
    db_session: Session, admin_actor: Actor, count_queries: Statements
) -> None:
    providers = ProviderFactory.create_batch(6)
    for provider in providers[:4]:
        db_session.add(evaluation_of(provider.id, dt.date(2026, 9, 1), "active", "active"))
        db_session.add(evaluation_of(provider.id, OCT, "active", "warned", missed=3))
    db_session.flush()
    db_session.expire_all()

    with count_queries.counted() as sent:
        rows = list_providers(db_session, admin_actor)
        for row in rows:
            _ = [d.name_zh for d in row.provider.districts]

    assert len(sent) <= 4
    latest = {row.provider.id: row.last for row in rows}
    assert all(latest[p.id].month == OCT and latest[p.id].missed == 3 for p in providers[:4])
    assert latest[providers[5].id] is None
    with pytest.raises(PermissionDeniedError):
        list_providers(db_session, actor_of(UserFactory(manager=True)))


def test_satisfaction_report_by_provider_and_month(
    db_session: Session, admin_actor: Actor, count_queries: Statements
) -> None:
    first, second = ProviderFactory(name="A 康养"), ProviderFactory(name="B 护理")
    for provider, day, stars in (
        (first, dt.date(2026, 10, 3), 5),
        (first, dt.date(2026, 10, 4), 4),
        (first, dt.date(2026, 10, 5), 2),
        (first, dt.date(2026, 11, 2), 5),
        (second, dt.date(2026, 10, 9), 3),
        (second, dt.date(2026, 9, 30), 5),  # before the range
    ):
        visit = provider_visit(provider, day, status=VisitStatus.COMPLETED)
        rate_visit(visit, stars)
    cancelled = provider_visit(first, dt.date(2026, 10, 6), status=VisitStatus.CANCELLED)
    rate_visit(cancelled, 1)

    with count_queries.counted() as sent:
        report = satisfaction_report(db_session, admin_actor, OCT, dt.date(2026, 11, 30))

    assert len(sent) <= 2
    table = report.table
    assert table.months == (OCT, NOV)
    assert table.providers == (first.id, second.id)  # by name
    assert report.provider_names[first.id] == "A 康养"
    assert table.cell(first.id, OCT) == Tally(3, 2)
    assert table.cell(second.id, OCT).share == Fraction(0)
    assert table.city(OCT) == Tally(4, 2)
    assert table.city(NOV) == Tally(1, 1)


@pytest.mark.parametrize(
    ("first", "last"),
    [(NOV, OCT), (dt.date(2024, 1, 1), dt.date(2026, 1, 1))],
)
def test_satisfaction_report_refuses_a_bad_range(
    db_session: Session, admin_actor: Actor, first: dt.date, last: dt.date
) -> None:
    with pytest.raises(InvalidInputError):
        satisfaction_report(db_session, admin_actor, first, last)


def test_satisfaction_report_is_for_admins(db_session: Session) -> None:
    with pytest.raises(PermissionDeniedError):
        satisfaction_report(db_session, actor_of(UserFactory(manager=True)), OCT, NOV)
