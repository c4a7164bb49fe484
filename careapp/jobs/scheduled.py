"""Background jobs: ONE table of job specs, and the scheduler that runs them.

The scheduler never starts inside `create_app` or a web worker (each worker would run every
job again); it runs as its own process, `careapp scheduler run`. Several may run (a city runs
two for availability): only the one holding the lease in the database runs the jobs, the
others stand by (`careapp.jobs.leader`), and each job checks the lease as it starts
(`fenced_job`). Job functions are module-level, take plain values, push an app context, call
one service, commit once and log. They are idempotent: the dispatch lock and the unique
(care_plan_id, visit_on) constraint make a second run harmless.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask, current_app, has_app_context

from careapp import metrics
from careapp.core.clock import city_datetime, city_today, utcnow
from careapp.services.actor import Actor
from scheduling.months import previous_month

if TYPE_CHECKING:
    from careapp.services.claims import ClaimAuditOutcome
    from careapp.services.missed_visits import MissedVisitsOutcome
    from careapp.services.quality import QualityOutcome
    from careapp.services.work_orders import DeadlineOutcome

logger = logging.getLogger(__name__)

# Who acts when a job or a command (not a person) changes data; recorded in the audit log.
SCHEDULER_ACTOR = Actor(user_id=None, role=None, address="scheduler")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def measured(job_id: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Count and time each run of a scheduled job as `job_id` (its id in JOBS) in
    `careapp_jobs_total`: completed, or failed when it raises."""

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)  # the same module and name: APScheduler's reference still holds
        def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with metrics.track_job(job_id):
                return func(*args, **kwargs)

        run.job_id = job_id  # type: ignore[attr-defined]  # checked against JOBS by the tests
        return run

    return decorate


@dataclass(frozen=True)
class DispatchOutcome:
    run_id: int
    first_day: dt.date
    last_day: dt.date
    visits_created: int
    visits_assigned: int
    visits_unassigned: int

    @property
    def summary(self) -> str:
        return (
            f"dispatch {self.first_day}..{self.last_day} (run {self.run_id}): "
            f"{self.visits_created} visits created, {self.visits_assigned} assigned, "
            f"{self.visits_unassigned} unassigned"
        )


def run_dispatch(app: Flask, first_day: dt.date, days: int, actor: Actor) -> DispatchOutcome:
    """Dispatch `days` days from `first_day` inside the app's context and commit once."""
    from careapp import db
    from careapp.services.dispatch import dispatch_visits

    config = app.config
    session = db.session()
    last_day = first_day + dt.timedelta(days=days - 1)
    try:
        run = dispatch_visits(
            session,
            actor,
            first_day,
            last_day,
            utcnow(),
            config["TRAVEL_SPEED_KMH"],
            lock_timeout=dt.timedelta(seconds=config["DISPATCH_LOCK_TIMEOUT"]),
            time_limit_seconds=config["DISPATCH_TIME_LIMIT_SECONDS"],
            workers=config["DISPATCH_WORKERS"],
        )
        outcome = DispatchOutcome(
            run.id,
            first_day,
            last_day,
            run.visits_created,
            run.visits_assigned,
            run.visits_unassigned,
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return outcome


@measured("nightly-dispatch")
def nightly_dispatch(horizon_days: int | None = None) -> DispatchOutcome:
    """Plan the visits of the next days (city tomorrow .. tomorrow + horizon - 1)."""
    app = _job_app()
    with app.app_context():
        days = horizon_days or app.config["DISPATCH_HORIZON_DAYS"]
        first_day = city_today(utcnow()) + dt.timedelta(days=1)
        outcome = run_dispatch(app, first_day, days, SCHEDULER_ACTOR)
        logger.info(
            "nightly dispatch %s..%s (run %d): %d visits created, %d assigned, %d unassigned",
            outcome.first_day,
            outcome.last_day,
            outcome.run_id,
            outcome.visits_created,
            outcome.visits_assigned,
            outcome.visits_unassigned,
        )
        return outcome


def run_reassessment_reminders(app: Flask, day: dt.date, actor: Actor) -> int:
    """Record the reminders of re-assessments due by `day` (plus the reminder period); commit."""
    from careapp import db
    from careapp.services.procedure import ProcedureRules
    from careapp.services.reassessments import record_reassessment_reminders

    session = db.session()
    try:
        created = record_reassessment_reminders(
            session, actor, day, ProcedureRules.from_config(app.config), utcnow()
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return created


@measured("reassessment-reminders")
def reassessment_reminders() -> int:
    """Remind administrators of beneficiaries whose scheduled re-assessment is due."""
    app = _job_app()
    with app.app_context():
        day = city_today(utcnow())
        created = run_reassessment_reminders(app, day, SCHEDULER_ACTOR)
        logger.info("re-assessment reminders for %s: %d recorded", day, created)
        return created


def run_missed_visits(
    app: Flask, first_day: dt.date, last_day: dt.date, actor: Actor
) -> MissedVisitsOutcome:
    """Mark the overdue visits of these days missed and alert their managers; commit once."""
    from careapp import db
    from careapp.services.missed_visits import mark_missed_visits

    session = db.session()
    try:
        outcome = mark_missed_visits(
            session,
            actor,
            first_day,
            last_day,
            utcnow(),
            app.config["MISSED_VISIT_GRACE_MINUTES"],
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return outcome


@measured("missed-visits")
def missed_visits() -> MissedVisitsOutcome:
    """Visits of yesterday and today (city) not checked in by window end + grace: missed."""
    app = _job_app()
    with app.app_context():
        today = city_today(utcnow())
        outcome = run_missed_visits(app, today - dt.timedelta(days=1), today, SCHEDULER_ACTOR)
        logger.info("%s", outcome.summary)
        return outcome


def run_provider_quality(app: Flask, month: dt.date, actor: Actor) -> QualityOutcome:
    """Evaluate every provider's quality for the month of `month`; commit once."""
    from careapp import db
    from careapp.services.work_orders import evaluate_quality_and_hand_over

    session = db.session()
    try:
        # The clients of providers that exited: one work order each, first offer made now.
        outcome, orders = evaluate_quality_and_hand_over(
            session, actor, month, utcnow(), app.config
        )
        session.commit()
        if orders:
            logger.info("provider exit: %d work orders opened", len(orders))
    except Exception:
        session.rollback()
        raise
    return outcome


@measured("provider-quality")
def provider_quality() -> QualityOutcome:
    """On the first of a month: evaluate the month that has just ended."""
    app = _job_app()
    with app.app_context():
        last_month = previous_month(city_today(utcnow()))
        outcome = run_provider_quality(app, last_month, SCHEDULER_ACTOR)
        logger.info("%s", outcome.summary)
        return outcome


def run_work_order_deadlines(app: Flask, now: dt.datetime, actor: Actor) -> DeadlineOutcome:
    """Expire the offers past their deadline at `now` and re-offer or escalate; commit once."""
    from careapp import db
    from careapp.services.work_orders import WorkOrderRules, expire_overdue_offers

    session = db.session()
    try:
        outcome = expire_overdue_offers(session, actor, WorkOrderRules.from_config(app.config), now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return outcome


@measured("work-order-deadlines")
def work_order_deadlines() -> DeadlineOutcome:
    """Hourly: offers nobody answered in time go to the next provider (or are escalated)."""
    app = _job_app()
    with app.app_context():
        outcome = run_work_order_deadlines(app, utcnow(), SCHEDULER_ACTOR)
        logger.info("%s", outcome.summary)
        return outcome


def run_claim_audit(
    app: Flask, first_day: dt.date, last_day: dt.date, actor: Actor
) -> ClaimAuditOutcome:
    """Audit the claims (visits) of these days and raise the missing flags; commit once."""
    from careapp import db
    from careapp.services.claims import audit_days, claim_audit_settings

    session = db.session()
    try:
        outcome = audit_days(
            session, actor, first_day, last_day, utcnow(), claim_audit_settings(app.config)
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return outcome


@measured("claim-audit")
def claim_audit() -> ClaimAuditOutcome:
    """Nightly: audit the visits of yesterday and today (city dates)."""
    app = _job_app()
    with app.app_context():
        today = city_today(utcnow())
        outcome = run_claim_audit(app, today - dt.timedelta(days=1), today, SCHEDULER_ACTOR)
        logger.info("%s", outcome.summary)
        return outcome


# By hand (`careapp jobs run <job-id> --date YYYY-MM-DD`): each runs its job for one date and
# returns the summary it logs.


def _dispatch_on(app: Flask, day: dt.date, actor: Actor) -> str:
    return run_dispatch(app, day, app.config["DISPATCH_HORIZON_DAYS"], actor).summary


def _reminders_on(app: Flask, day: dt.date, actor: Actor) -> str:
    created = run_reassessment_reminders(app, day, actor)
    return f"re-assessment reminders for {day}: {created} recorded"


def _missed_visits_on(app: Flask, day: dt.date, actor: Actor) -> str:
    return run_missed_visits(app, day, day, actor).summary


def _provider_quality_on(app: Flask, day: dt.date, actor: Actor) -> str:
    return run_provider_quality(app, day, actor).summary


def _work_order_deadlines_on(app: Flask, day: dt.date, actor: Actor) -> str:
    # As of the end of `day` (city), but never later than now: no offer expires early.
    end_of_day = city_datetime(day + dt.timedelta(days=1), dt.time(0, 0))
    return run_work_order_deadlines(app, min(utcnow(), end_of_day), actor).summary


def _claim_audit_on(app: Flask, day: dt.date, actor: Actor) -> str:
    return run_claim_audit(app, day, day, actor).summary


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: a stable id, a cron schedule in the scheduler's time zone, a function."""

    id: str
    func: Callable[..., Any]
    cron: Mapping[str, str | int]  # CronTrigger fields: hour, minute, day_of_week, ...
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    # Runs the job by hand for one date (`careapp jobs run`); returns the summary it logged.
    run_on: Callable[[Flask, dt.date, Actor], str] | None = None
    date_help: str = ""  # what the date means for this job

    @property
    def func_ref(self) -> str:
        """The textual reference APScheduler stores ("module:function")."""
        return f"{self.func.__module__}:{self.func.__qualname__}"

    def trigger(self, timezone: str) -> CronTrigger:
        return CronTrigger(timezone=timezone, **self.cron)


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        id="nightly-dispatch",
        func=nightly_dispatch,
        cron={"hour": 1, "minute": 0},
        kwargs={},
        description="Generate and dispatch the visits of the next days",
        run_on=_dispatch_on,
        date_help="the first day dispatched (DISPATCH_HORIZON_DAYS days)",
    ),
    JobSpec(
        id="reassessment-reminders",
        func=reassessment_reminders,
        cron={"hour": 6, "minute": 30},
        kwargs={},
        description="Record reminders of scheduled re-assessments that are due",
        run_on=_reminders_on,
        date_help="the day reminders are due by",
    ),
    JobSpec(
        id="missed-visits",
        func=missed_visits,
        cron={"minute": "5,35"},
        kwargs={},
        description="Mark visits not checked in by window end + grace missed; alert managers",
        run_on=_missed_visits_on,
        date_help="the day whose overdue visits are marked (as of now)",
    ),
    JobSpec(
        id="provider-quality",
        func=provider_quality,
        cron={"day": 1, "hour": 3, "minute": 0},
        kwargs={},
        description="Evaluate each provider's last month; warn, suspend or exit",
        run_on=_provider_quality_on,
        date_help="any day of the month evaluated (the month must have ended)",
    ),
    JobSpec(
        id="work-order-deadlines",
        func=work_order_deadlines,
        cron={"minute": 15},
        kwargs={},
        description="Expire unanswered work-order offers; re-offer or escalate",
        run_on=_work_order_deadlines_on,
        date_help="offers due by the end of this day (never later than now)",
    ),
    JobSpec(
        id="claim-audit",
        func=claim_audit,
        cron={"hour": 23, "minute": 45},
        kwargs={},
        description="Audit the claims of yesterday and today; flag visits that look wrong",
        run_on=_claim_audit_on,
        date_help="the day whose visits are audited",
    ),
)


class UnknownJobError(LookupError):
    """No job in the table has this id, or it cannot be run by hand."""


def run_job(app: Flask, job_id: str, day: dt.date, actor: Actor) -> str:
    """Run one job of the table by hand for `day` inside the app's context; log its summary."""
    spec = next((spec for spec in JOBS if spec.id == job_id), None)
    if spec is None or spec.run_on is None:
        known = ", ".join(s.id for s in JOBS if s.run_on is not None)
        raise UnknownJobError(f"no job {job_id!r} to run by hand; jobs: {known}")
    with app.app_context(), metrics.track_job(spec.id):
        summary = spec.run_on(app, day, actor)
    logger.info("job %s run by hand for %s: %s", job_id, day, summary)
    return summary


# A run missed (the process was paused or busy) is made up for once, within five minutes.
JOB_DEFAULTS: Mapping[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def build_scheduler(app: Flask, fence: Callable[[], bool]) -> BackgroundScheduler:
    """The scheduler of a scheduler process (UTC; each job's cron in the city's zone), not
    started. Each job runs through `fenced_job`, which asks `fence` (does this process still
    hold the lease?) before it starts the job."""
    global _scheduler_app, _scheduler_fence
    _scheduler_app = app
    _scheduler_fence = fence
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults=dict(JOB_DEFAULTS))
    timezone = app.config["SCHEDULER_TIMEZONE"]
    for spec in JOBS:
        scheduler.add_job(
            f"{__name__}:fenced_job",
            trigger=spec.trigger(timezone),
            id=spec.id,
            name=spec.description or spec.id,
            args=[spec.id],
            kwargs=dict(spec.kwargs),
            replace_existing=True,
        )
    return scheduler


def fenced_job(job_id: str, **kwargs: Any) -> object:
    """Run job `job_id` of the table if this process still holds the scheduler's lease; a
    process that lost it (or is stopping) skips the run, which is the new leader's."""
    spec = next((spec for spec in JOBS if spec.id == job_id), None)
    if spec is None:
        raise UnknownJobError(f"no job {job_id!r} in the table")
    if _scheduler_fence is None or not _scheduler_fence():
        logger.warning("job %s skipped: this scheduler does not hold the lease", job_id)
        return None
    return spec.func(**kwargs)


_scheduler_app: Flask | None = None
_scheduler_fence: Callable[[], bool] | None = None


def _job_app() -> Flask:
    """The app a job runs in: the current one, else the one the scheduler was built for."""
    if has_app_context():
        return current_app
    if _scheduler_app is None:
        raise RuntimeError("no app for the job: run it through build_scheduler(app) or an app")
    return _scheduler_app
