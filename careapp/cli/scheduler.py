"""Commands of the scheduler and its jobs: `scheduler run|status|jobs`, `jobs run`, `dispatch`,
`reassessment-reminders`."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext


@click.group("scheduler")
def scheduler_group() -> None:
    """The scheduler processes (one leads, by a lease in the database) and the job table."""


@scheduler_group.command("run")
@with_appcontext
def scheduler_run() -> None:
    """Run the scheduled jobs while this process holds the scheduler's lease; otherwise stand
    by and take over when the leader stops or dies (run one, or two for availability)."""
    import signal
    import threading

    from flask import current_app

    from careapp.jobs.leader import SchedulerLeader, lease_timing

    _log_to_stderr()
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    try:
        timing = lease_timing(app.config)
    except ValueError as error:
        raise click.UsageError(
            f"SCHEDULER_LEASE_SECONDS / SCHEDULER_RENEW_SECONDS: {error}"
        ) from error
    leader = SchedulerLeader(app, timing)
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo(
        f"scheduler {leader.holder} started with {len(leader.scheduler.get_jobs())} jobs "
        f"(lease {timing.duration.total_seconds():g} s, renewed every "
        f"{timing.renew_every.total_seconds():g} s); Ctrl+C stops it"
    )
    try:
        leader.start()
        leader.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("scheduler stopped")


@scheduler_group.command("status")
@with_appcontext
def scheduler_status() -> None:
    """Show which scheduler process holds the lease (exit status 1 when none does)."""
    from careapp import db
    from careapp.services.scheduler_lease import current_holder

    session = db.session()
    found = current_holder(session)
    session.rollback()
    state = found.state
    if found.holder is not None and state is not None and state.acquired_at is not None:
        expires_in = (state.expires_at or found.now) - found.now
        click.echo(
            f"leader: {found.holder} (instance {found.holder.instance}) since "
            f"{state.acquired_at.isoformat(timespec='seconds')}; last heartbeat "
            f"{_seconds(found.heartbeat_age)} ago; expires in {_seconds(expires_in)}"
        )
        return
    if state is None:
        click.echo("no scheduler holds the lease: none has ever run")
    elif state.holder is None:
        click.echo(f"no scheduler holds the lease: released {_seconds(found.heartbeat_age)} ago")
    else:
        click.echo(
            f"no scheduler holds the lease: {state.holder} stopped renewing it "
            f"{_seconds(found.heartbeat_age)} ago (expired)"
        )
    raise SystemExit(1)


def _seconds(delta: dt.timedelta | None) -> str:
    return "never" if delta is None else f"{delta.total_seconds():.0f} s"


def _log_to_stderr() -> None:
    """careapp's INFO lines (the lease: leader, standby, lost; each job's summary) reach the
    scheduler's output: through the handler already configured (Flask's, or a deployment's),
    else stderr. They are its operators' record."""
    import logging

    careapp_logger = logging.getLogger("careapp")
    if careapp_logger.getEffectiveLevel() > logging.INFO:
        careapp_logger.setLevel(logging.INFO)
    if not careapp_logger.hasHandlers():
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@scheduler_group.command("jobs")
@with_appcontext
def scheduler_jobs() -> None:
    """List the job table with each job's next run (without starting a scheduler)."""

    from flask import current_app

    from careapp.core.clock import utcnow
    from careapp.jobs.scheduled import JOBS

    timezone = current_app.config["SCHEDULER_TIMEZONE"]
    now = utcnow()
    for spec in JOBS:
        trigger = spec.trigger(timezone)
        next_run = trigger.get_next_fire_time(None, now)
        click.echo(f"{spec.id}  {trigger}  next {next_run:%Y-%m-%d %H:%M %Z}  {spec.func_ref}")
        if spec.kwargs:
            click.echo(f"    kwargs {dict(spec.kwargs)}")
        if spec.run_on is not None:
            click.echo(
                f"    by hand: careapp jobs run {spec.id} --date YYYY-MM-DD ({spec.date_help})"
            )


@click.command("dispatch")
@click.option(
    "--date",
    "first_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day to dispatch (YYYY-MM-DD); default: tomorrow in the city.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 31),
    default=None,
    help="Number of days; default: DISPATCH_HORIZON_DAYS.",
)
@with_appcontext
def dispatch_command(first_day: object, days: int | None) -> None:
    """Generate and dispatch the visits of some days now (as the nightly job does)."""

    from flask import current_app

    from careapp.core.clock import city_today, utcnow
    from careapp.core.errors import CareappError
    from careapp.jobs.scheduled import SCHEDULER_ACTOR, run_dispatch

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    if isinstance(first_day, dt.datetime):
        start = first_day.date()
    else:
        start = city_today(utcnow()) + dt.timedelta(days=1)
    try:
        outcome = run_dispatch(
            app, start, days or app.config["DISPATCH_HORIZON_DAYS"], SCHEDULER_ACTOR
        )
    except CareappError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        f"dispatched {outcome.first_day}..{outcome.last_day} (run {outcome.run_id}): "
        f"{outcome.visits_created} visits created, {outcome.visits_assigned} assigned, "
        f"{outcome.visits_unassigned} unassigned"
    )


@click.command("reassessment-reminders")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Day to run for (YYYY-MM-DD); default: today in the city.",
)
@with_appcontext
def reminders_command(day: object) -> None:
    """Record reminders of scheduled re-assessments due (as the daily job does)."""

    from flask import current_app

    from careapp.core.clock import city_today, utcnow
    from careapp.jobs.scheduled import SCHEDULER_ACTOR, run_reassessment_reminders

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    run_day = day.date() if isinstance(day, dt.datetime) else city_today(utcnow())
    created = run_reassessment_reminders(app, run_day, SCHEDULER_ACTOR)
    click.echo(f"re-assessment reminders for {run_day}: {created} recorded")


@click.group("jobs")
def jobs_group() -> None:
    """Run a job of the scheduler's table by hand (`careapp scheduler jobs` lists them)."""


@jobs_group.command("run")
@click.argument("job_id")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date to run the job for (YYYY-MM-DD); default: today in the city.",
)
@with_appcontext
def jobs_run(job_id: str, day: object) -> None:
    """Run JOB_ID for one date now, as the scheduler would, and print what it did."""

    from flask import current_app

    from careapp.core.clock import city_today, utcnow
    from careapp.core.errors import CareappError
    from careapp.jobs.scheduled import SCHEDULER_ACTOR, UnknownJobError, run_job

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    run_day = day.date() if isinstance(day, dt.datetime) else city_today(utcnow())
    try:
        summary = run_job(app, job_id, run_day, SCHEDULER_ACTOR)
    except UnknownJobError as error:
        raise click.UsageError(str(error)) from error
    except CareappError as error:
        raise click.ClickException(error.message) from error
    click.echo(summary)
