"""Three months played on the demo city: the statements, flags and quality report agree with
figures worked out again here, from the visits themselves, by simpler code."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.config import TestConfig
from careapp.demo.seed import DemoSize, seed_demo
from careapp.demo.simulation import simulate
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    CarePlan,
    ClaimFlag,
    ClaimFlagStatus,
    Entitlement,
    Provider,
    ProviderKind,
    ProviderQualityEvaluation,
    Role,
    SatisfactionRating,
    ServiceItem,
    User,
    Visit,
)
from careapp.models.settlement import SettlementStatement
from careapp.models.work_orders import WorkOrder, WorkOrderStatus
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.settlement import reconcile_month
from scheduling.claims import ClaimFlagKind
from scheduling.dispatch import GreedyDispatcher
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus, distance_m

SEEDED_AT = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
MONTHS = (dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1))
SIZE = DemoSize(
    people=150, beneficiaries=30, pending_applications=2, providers=3, caregivers_per_provider=5
)


def test_a_simulated_quarter_on_the_demo_city(app: Flask, db_session: Session) -> None:
    """One run (it takes a while), four checks."""
    played = play(app, db_session)
    check_one_provider_driven_out_and_no_visit_lost(db_session, played)
    check_the_quality_report_counts_what_happened(db_session)
    check_every_far_check_in_is_flagged(db_session)
    check_statements_pay_what_the_visits_are_worth(db_session, played)


def play(app: Flask, db_session: Session) -> dict[str, object]:
    seed_demo(db_session, DataProtector(TestConfig.DATA_KEY), now=SEEDED_AT, size=SIZE)
    # The poor company: the busiest one that does not serve every district (the first does, so
    # each of its clients can be taken over).
    home = select(Provider.id).where(Provider.kind == ProviderKind.HOME_CARE).order_by(Provider.id)
    others = db_session.scalars(home).all()[1:]
    plans = select(CarePlan.provider_id, func.count()).group_by(CarePlan.provider_id)
    counts = dict(db_session.execute(plans).all())
    poor = max(others, key=lambda provider: (counts.get(provider, 0), provider))
    plans_before = {
        plan.id: plan.person_id
        for plan in db_session.scalars(select(CarePlan).where(CarePlan.provider_id == poor))
    }
    report = simulate(
        db_session,
        app.config,
        MONTHS[0],
        len(MONTHS),
        seed=7,
        poor_provider_id=poor,
        dispatcher=GreedyDispatcher(),
    )
    db_session.flush()
    return {"poor": poor, "report": report, "plans_before": plans_before}


def month_of(visit: Visit) -> dt.date:
    return visit.visit_on.replace(day=1)


def check_one_provider_driven_out_and_no_visit_lost(
    db_session: Session, played: dict[str, object]
) -> None:
    poor = played["poor"]
    steps = {
        (e.provider_id, e.month): e.status_after
        for e in db_session.scalars(select(ProviderQualityEvaluation))
    }
    assert [steps[(poor, month)] for month in MONTHS] == [
        ProviderStatus.WARNED,
        ProviderStatus.SUSPENDED,
        ProviderStatus.EXITED,
    ]
    others = {p for p, _ in steps} - {poor}
    home = set(
        db_session.scalars(select(Provider.id).where(Provider.kind == ProviderKind.HOME_CARE))
    )
    for provider in others & home:
        assert steps[(provider, MONTHS[-1])] is ProviderStatus.ACTIVE
    # Every client of the provider that exited was taken over by a provider serving them.
    orders = list(db_session.scalars(select(WorkOrder).where(WorkOrder.from_provider_id == poor)))
    assert sorted(o.person_id for o in orders) == sorted(played["plans_before"].values())  # type: ignore[union-attr]
    assert {o.status for o in orders} == {WorkOrderStatus.ACCEPTED}
    for order in orders:
        assert order.accepted_provider_id != poor
        assert order.new_care_plan_id is not None
    # No visit of the exited provider from the handover on was lost or left behind: each visit
    # of its old plans on or after the handover day now belongs to the new provider's plan.
    handover = {o.care_plan_id: o for o in orders}
    for visit in db_session.scalars(select(Visit).where(Visit.care_plan_id.in_(list(handover)))):
        order = handover[visit.care_plan_id]
        assert order.handover_on is not None
        assert visit.visit_on < order.handover_on
    moved = db_session.scalars(
        select(Visit).where(
            Visit.care_plan_id.in_([o.new_care_plan_id for o in orders]),
        )
    ).all()
    assert moved, "the days played after the handover have visits with the new providers"
    assert all(v.provider_id != poor and v.status is not VisitStatus.CANCELLED for v in moved)


def check_the_quality_report_counts_what_happened(db_session: Session) -> None:
    """Each evaluation's figures, counted again visit by visit."""
    visits = db_session.scalars(select(Visit)).all()
    rated = select(SatisfactionRating.visit_id, SatisfactionRating.stars)
    stars = dict(db_session.execute(rated).all())
    expected: dict[tuple[int, dt.date], Counter[str]] = defaultdict(Counter)
    for visit in visits:
        if visit.status is VisitStatus.CANCELLED:
            continue
        figures = expected[(visit.provider_id, month_of(visit))]
        figures["planned"] += 1
        figures["completed"] += visit.status is VisitStatus.COMPLETED
        figures["missed"] += visit.status is VisitStatus.MISSED
        if visit.checked_in_at is not None:
            figures["late"] += visit.checked_in_at > visit.window_end
            figures["flagged"] += bool(visit.check_in_flags)
        if visit.id in stars:
            figures["rated"] += 1
            figures["satisfied"] += stars[visit.id] >= 4
    evaluations = db_session.scalars(
        select(ProviderQualityEvaluation).where(ProviderQualityEvaluation.month.in_(MONTHS))
    ).all()
    home = db_session.scalars(select(Provider.id).where(Provider.kind == ProviderKind.HOME_CARE))
    evaluated = {(e.provider_id, e.month) for e in evaluations}
    assert {(p, m) for p in home for m in MONTHS} <= evaluated
    for e in evaluations:
        figures = expected[(e.provider_id, e.month)]
        assert (e.planned, e.completed, e.missed, e.late) == (
            figures["planned"],
            figures["completed"],
            figures["missed"],
            figures["late"],
        ), (e.provider_id, e.month)
        assert (e.rated, e.satisfied, e.flagged_check_ins) == (
            figures["rated"],
            figures["satisfied"],
            figures["flagged"],
        )
        fails = (e.rated and e.satisfied * 100 < 95 * e.rated) or (
            e.planned and e.missed * 100 > 2 * e.planned
        )
        assert e.is_failing == bool(fails)


def check_every_far_check_in_is_flagged(db_session: Session) -> None:
    far = {
        visit.id
        for visit in db_session.scalars(select(Visit).where(Visit.check_in_lat.is_not(None)))
        if distance_m(
            (visit.person.home_lat, visit.person.home_lon),  # type: ignore[arg-type]
            (visit.check_in_lat, visit.check_in_lon),  # type: ignore[arg-type]
        )
        > 500
    }
    flagged = set(
        db_session.scalars(
            select(ClaimFlag.visit_id).where(ClaimFlag.kind == ClaimFlagKind.FAR_FROM_HOME)
        )
    )
    assert far
    assert flagged == far


def check_statements_pay_what_the_visits_are_worth(
    db_session: Session, played: dict[str, object]
) -> None:
    """Per provider and month: the statements pay every completed, unflagged visit of a severely
    disabled client its items' prices (no demo plan exceeds its budget), hold the flagged ones,
    and match the ledger."""
    admin = db_session.scalar(select(User).where(User.role == Role.ADMIN))
    assert admin is not None
    actor = Actor(admin.id, Role.ADMIN)
    prices = dict(db_session.execute(select(ServiceItem.code, ServiceItem.unit_price_fen)).all())
    held = set(
        db_session.scalars(
            select(ClaimFlag.visit_id).where(ClaimFlag.status == ClaimFlagStatus.OPEN)
        )
    )
    worth: Counter[tuple[int, dt.date]] = Counter()
    # Only severe disability at home is paid per visit (moderate: 10 yuan a day, to the family).
    severe_visits = (
        select(Visit)
        .join(CarePlan, CarePlan.id == Visit.care_plan_id)
        .join(Entitlement, Entitlement.id == CarePlan.entitlement_id)
        .where(
            Visit.status == VisitStatus.COMPLETED,
            Entitlement.category == BenefitCategory.SEVERE,
        )
    )
    for visit in db_session.scalars(severe_visits):
        if visit.id not in held and month_of(visit) in MONTHS:
            worth[(visit.provider_id, month_of(visit))] += sum(
                prices[code] for code in visit.done_item_codes or []
            )
    paid: Counter[tuple[int, dt.date]] = Counter()
    for statement in db_session.scalars(select(SettlementStatement)):
        paid[(statement.provider_id, statement.month)] += statement.visits_paid_fen
    assert +paid == +worth
    now = dt.datetime(2027, 3, 5, tzinfo=dt.UTC)
    for month in MONTHS:
        reconciliation = reconcile_month(db_session, actor, month, now)
        assert reconciliation.rows
        for row in reconciliation.rows:
            assert row.difference_fen == 0, (row.name, month)
    assert (
        db_session.scalar(select(func.count()).select_from(SettlementStatement))
        == played["report"].statements  # type: ignore[attr-defined]
    )
