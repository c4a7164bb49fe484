"""A simulated stretch of months on the demo city: what the scheduler and the people would do.

`careapp simulate --from 2026-12 --months 3` (after `careapp seed-demo`) plays each day as the
scheduler process and the users would: the nightly dispatch, caregivers checking in and out on
their phones, some visits missed, families rating visits (one provider's clients badly), the
missed-visit and claim-audit jobs, work-order deadlines; on the first of each month the quality
evaluation of the month that ended (warnings, suspensions, an exit and the transfer of its
clients) and the month's settlement statements. Every step goes through the services the pages
and jobs use, so the result obeys every rule and leaves an audit trail; runs repeat for a seed.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.models import Caregiver, Provider, ProviderKind, Role, User, Visit
from careapp.models.work_orders import OfferStatus, WorkOrderOffer
from careapp.services.actor import Actor
from careapp.services.claims import audit_days, claim_audit_settings
from careapp.services.dispatch import dispatch_visits
from careapp.services.missed_visits import mark_missed_visits
from careapp.services.ratings import submit_rating
from careapp.services.settlement import issue_month_statements
from careapp.services.visits import check_in, check_out
from careapp.services.work_orders import (
    WorkOrderRules,
    answer_offer,
    evaluate_quality_and_hand_over,
    expire_overdue_offers,
)
from scheduling.dispatch import Dispatcher
from scheduling.months import next_month, previous_month
from scheduling.visits import VisitStatus

SCHEDULER = Actor(user_id=None, role=None, address="simulation")
# The routing solver's budget per provider and day (a demo day is small: it stops sooner).
SOLVER_SECONDS = 1.0


@dataclass(frozen=True)
class Behaviour:
    """How one provider's caregivers and clients behave, as chances between 0 and 1."""

    miss: float = 0.005  # a visit is not made at all
    far_check_in: float = 0.01  # checked in about 2 km from the home
    late: float = 0.02  # checked in 40-90 minutes after the window closed
    rated: float = 0.7  # the family uses the rating link
    unhappy: float = 0.01  # a rating of 1-3 stars


POOR = Behaviour(miss=0.06, far_check_in=0.03, late=0.05, rated=0.8, unhappy=0.2)


@dataclass
class SimulationReport:
    first_day: dt.date
    last_day: dt.date  # the last day played (handover days after the last month included)
    visits: int = 0
    completed: int = 0
    not_made: int = 0  # visits the caregivers skipped (the missed-visit job marks them)
    stars: Counter[int] = field(default_factory=Counter)
    evaluations: list[str] = field(default_factory=list)
    exited: list[int] = field(default_factory=list)
    offers_accepted: int = 0
    statements: int = 0

    @property
    def summary(self) -> str:
        rated = sum(self.stars.values())
        happy = self.stars[4] + self.stars[5]
        lines = [
            f"simulated {self.first_day}..{self.last_day}: {self.visits} visits, "
            f"{self.completed} completed, {self.not_made} not made, {rated} rated "
            f"({happy} with 4-5 stars)",
            *self.evaluations,
            f"providers exited: {len(self.exited)}; work-order offers accepted: "
            f"{self.offers_accepted}; settlement statements issued: {self.statements}",
        ]
        return "\n".join(lines)


def simulate(
    session: Session,
    config: Mapping[str, object],
    first_month: dt.date,
    months: int,
    *,
    seed: int = 2017,
    poor_provider_id: int | None = None,
    handover_days: int = 3,
    dispatcher: Dispatcher | None = None,
    commit: Callable[[], None] | None = None,
) -> SimulationReport:
    """Play every day of `months` months from `first_month`, then `handover_days` days of the
    next month (an exited provider's clients are taken over); `commit` is called after each day.

    On the first of each month the quality of the month that ended is evaluated (an exit opens
    work orders for the provider's clients) and its settlement statements are issued.
    """
    if months < 1:
        raise ValueError("simulate at least one month")
    rng = random.Random(seed)  # noqa: S311 - demo data, not security  # nosec B311
    first_day = first_month.replace(day=1)
    end = first_day
    for _ in range(months):
        end = next_month(end)
    last_day = end + dt.timedelta(days=handover_days - 1)
    report = SimulationReport(first_day, last_day)
    admin = _admin(session)
    behaviours = _behaviours(session, poor_provider_id)
    day = first_day
    while day <= last_day:
        if day.day == 1 and day != first_day and day <= end:
            _first_of_month(session, config, admin, day, report)
        _answer_offers(session, config, day, report)
        play_day(session, config, day, rng, behaviours, dispatcher, report)
        if commit is not None:
            commit()
        day += dt.timedelta(days=1)
    return report


def _admin(session: Session) -> Actor:
    user = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    if user is None:
        raise LookupError("the simulation needs the demo data (an administrator)")
    return Actor(user_id=user.id, role=Role.ADMIN, address="simulation")


def _behaviours(session: Session, poor_provider_id: int | None) -> dict[int, Behaviour]:
    providers = list(
        session.scalars(
            select(Provider).where(Provider.kind == ProviderKind.HOME_CARE).order_by(Provider.id)
        )
    )
    if not providers:
        raise LookupError("the simulation needs the demo data (home-care providers)")
    poor = poor_provider_id if poor_provider_id is not None else providers[-1].id
    return {p.id: POOR if p.id == poor else Behaviour() for p in providers}


def play_day(
    session: Session,
    config: Mapping[str, object],
    day: dt.date,
    rng: random.Random,
    behaviours: Mapping[int, Behaviour],
    dispatcher: Dispatcher | None,
    report: SimulationReport,
    *,
    night: dt.datetime | None = None,
) -> None:
    """The night before: dispatch; the day: visits made or not, ratings; the night (by default
    02:00 the next day): the missed-visit and claim-audit jobs. The demo plays its past days
    with it too (careapp/demo/seed.py)."""
    dispatch_visits(
        session,
        SCHEDULER,
        day,
        day,
        city_datetime(day - dt.timedelta(days=1), dt.time(22, 0)),
        config["TRAVEL_SPEED_KMH"],  # type: ignore[arg-type]
        dispatcher=dispatcher,
        time_limit_seconds=SOLVER_SECONDS,
    )
    visits = list(
        session.scalars(
            select(Visit)
            .where(Visit.visit_on == day, Visit.status != VisitStatus.CANCELLED)
            .order_by(Visit.planned_start, Visit.id)
        )
    )
    caregivers = {c.id: c for c in session.scalars(select(Caregiver))}
    claims = claim_audit_settings(config)
    valid_for = dt.timedelta(days=int(config["RATING_LINK_VALID_DAYS"]))  # type: ignore[call-overload]
    for visit in visits:
        report.visits += 1
        behaviour = behaviours.get(visit.provider_id, Behaviour())
        if visit.caregiver_id is None or rng.random() < behaviour.miss:
            report.not_made += 1
            continue
        caregiver = caregivers[visit.caregiver_id]
        actor = Actor(caregiver.user_id, Role.CAREGIVER, caregiver.provider_id, "simulation")
        start = visit.planned_start or visit.window_start
        if rng.random() < behaviour.late:
            start = visit.window_end + dt.timedelta(minutes=rng.randint(40, 90))
        else:
            start += dt.timedelta(minutes=rng.randint(-5, 0))
        lat, lon = _position(visit, rng, far=rng.random() < behaviour.far_check_in)
        check_in(
            session,
            actor,
            visit.id,
            lat,
            lon,
            None,
            start,
            max_distance_m=float(config["CHECK_IN_MAX_DISTANCE_M"]),  # type: ignore[arg-type]
            max_outside_minutes=float(config["CHECK_IN_MAX_OUTSIDE_MINUTES"]),  # type: ignore[arg-type]
        )
        end = start + dt.timedelta(minutes=visit.duration_minutes)
        token = check_out(
            session,
            actor,
            visit.id,
            visit.service_item_codes,
            None,
            lat,
            lon,
            end,
            valid_for=valid_for,
            claim_settings=claims,
        )
        report.completed += 1
        if rng.random() < behaviour.rated:
            stars = rng.randint(1, 3) if rng.random() < behaviour.unhappy else rng.choice((4, 5, 5))
            submit_rating(session, token, stars, None, end + dt.timedelta(hours=2))
            report.stars[stars] += 1
    if night is None:
        night = city_datetime(day + dt.timedelta(days=1), dt.time(2, 0))
    grace = int(config["MISSED_VISIT_GRACE_MINUTES"])  # type: ignore[call-overload]
    mark_missed_visits(session, SCHEDULER, day, day, night, grace)
    audit_days(session, SCHEDULER, day, day, night, claims)


def _position(visit: Visit, rng: random.Random, *, far: bool) -> tuple[float, float]:
    """Where the phone says the caregiver is: at the home (within ~60 m) or ~2 km away."""
    person = visit.person
    lat, lon = person.home_lat or 32.0, person.home_lon or 120.9
    metres = 2000.0 if far else rng.uniform(0, 60)
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(bearing) / 111_320
    dlon = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _first_of_month(
    session: Session,
    config: Mapping[str, object],
    admin: Actor,
    first_of_next: dt.date,
    report: SimulationReport,
) -> None:
    """The first of a month: the quality job evaluates the month that ended (an exit opens work
    orders for the provider's clients); the administrator issues the month's statements."""
    month = previous_month(first_of_next)
    morning = city_datetime(first_of_next, dt.time(3, 0))
    outcome, _ = evaluate_quality_and_hand_over(session, SCHEDULER, month, morning, config)
    report.evaluations.append(outcome.summary)
    report.exited.extend(outcome.exited)
    issued = issue_month_statements(
        session, admin, month, city_datetime(first_of_next, dt.time(9, 0))
    )
    report.statements += len(issued)


def _answer_offers(
    session: Session, config: Mapping[str, object], day: dt.date, report: SimulationReport
) -> None:
    """Each morning: offers past their deadline move on; the managers accept the offers made to
    their company (the family took the proposed default)."""
    rules = WorkOrderRules.from_config(config)
    morning = city_datetime(day, dt.time(8, 0))
    expire_overdue_offers(session, SCHEDULER, rules, morning)
    pending = list(
        session.execute(
            select(WorkOrderOffer.id, User.id, User.provider_id)
            .join(User, User.provider_id == WorkOrderOffer.provider_id)
            .where(
                WorkOrderOffer.status == OfferStatus.PENDING,
                WorkOrderOffer.offered_at < morning,
                User.role == Role.PROVIDER_MANAGER,
            )
            .order_by(WorkOrderOffer.id, User.id)
        )
    )
    answered: set[int] = set()
    for offer_id, user_id, provider_id in pending:
        if offer_id in answered:
            continue
        manager = Actor(user_id, Role.PROVIDER_MANAGER, provider_id, "simulation")
        answer_offer(
            session, manager, offer_id, accept=True, refusal_reason=None, rules=rules, now=morning
        )
        answered.add(offer_id)
        report.offers_accepted += 1
