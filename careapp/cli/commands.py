"""Commands registered on the app's CLI: database, demo data, scheduler and jobs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click
from flask import Flask
from flask.cli import with_appcontext

from careapp import db

if TYPE_CHECKING:
    from careapp.demo.seed import DemoTour


def register_commands(app: Flask) -> None:
    from careapp.cli.certificates import (
        create_signing_key_command,
        print_decisions_command,
    )

    app.cli.add_command(create_signing_key_command)
    app.cli.add_command(print_decisions_command)
    app.cli.add_command(init_db)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(simulate_command)
    app.cli.add_command(scheduler_group)
    app.cli.add_command(dispatch_command)
    app.cli.add_command(reminders_command)
    app.cli.add_command(jobs_group)
    app.cli.add_command(validate_roster_command)
    app.cli.add_command(seed_city_command)

    from careapp.cli.settlement import settle_command

    app.cli.add_command(settle_command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema to the latest migration."""
    from careapp.migrate import upgrade_database

    upgrade_database(db.engine())
    click.echo("database is at the latest migration")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", default=2017, show_default=True, help="Random seed (runs repeat).")
@click.option(
    "--host",
    envvar="HOST",
    default="127.0.0.1",
    show_default=True,
    help="The host `careapp run` serves on (for the addresses printed); env HOST.",
)
@click.option(
    "--port",
    envvar="PORT",
    type=click.IntRange(1, 65535),
    default=5000,
    show_default=True,
    help="The port `careapp run` serves on (for the addresses printed); env PORT.",
)
@with_appcontext
def seed_demo_command(if_empty: bool, seed: int, host: str, port: int) -> None:
    """Load the demo city around today (docs/domain.md, demo column) and print one login per
    role and what to do at each step today."""
    from flask import current_app

    from careapp.core.clock import utcnow
    from careapp.demo.seed import database_is_empty, demo_tour, seed_demo
    from careapp.security import protector

    session = db.session()
    base = served_address(host, port)
    now = utcnow()
    if not database_is_empty(session):
        if if_empty:
            click.echo("demo data already loaded (`make clean` starts over on today's date)")
            _print_logins(base)
            _print_tour(base, demo_tour(session, now))
            return
        raise click.ClickException("the database is not empty; use a fresh database")
    demo = seed_demo(session, protector(), now=now, seed=seed, config=current_app.config)
    session.commit()
    click.echo("demo data loaded")
    _print_logins(base)
    _print_tour(base, demo.tour)


def served_address(host: str, port: int) -> str:
    """The address to open for an app served on host:port (all interfaces: this machine)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - compared, not bound
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


@click.command("simulate")
@click.option(
    "--from",
    "first_month",
    required=True,
    type=click.DateTime(formats=["%Y-%m"]),
    help="The first month played (YYYY-MM), after the demo's today.",
)
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 24))
@click.option("--seed", default=2017, show_default=True, help="Random seed (runs repeat).")
@click.option(
    "--poor-provider",
    "poor_provider_id",
    type=int,
    default=None,
    help="The provider whose visits go badly (default: the last home-care company).",
)
@with_appcontext
def simulate_command(
    first_month: dt.datetime, months: int, seed: int, poor_provider_id: int | None
) -> None:
    """Play months of visits, jobs, ratings, quality evaluations, exits and settlements on the
    demo city (see careapp/demo/simulation.py); commits day by day."""
    from flask import current_app

    from careapp.core.errors import CareappError
    from careapp.demo.simulation import simulate

    session = db.session()
    try:
        report = simulate(
            session,
            current_app.config,
            first_month.date(),
            months,
            seed=seed,
            poor_provider_id=poor_provider_id,
            commit=session.commit,
        )
    except (CareappError, LookupError) as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo(report.summary)


def _print_logins(base: str) -> None:
    from careapp.demo.seed import DEMO_LOGINS, DEMO_PASSWORD

    click.echo(f"log in at {base}/login with password {DEMO_PASSWORD!r} as:")
    for role, username in DEMO_LOGINS:
        click.echo(f"  {role:<18} {username}")


def _print_tour(base: str, tour: DemoTour) -> None:
    """Where each step of the job waits today (docs/operations.md: the scheduler's part)."""
    steps: list[tuple[str, str | None]] = [
        (
            "admin: decide an application whose publicity has ended",
            f"{base}/applications/{tour.application_id}/decision/new"
            if tour.application_id
            else None,
        ),
        (
            "admin: plan care for a new entitlement (severe, home care)",
            f"{base}/entitlements/{tour.entitlement_id}/care-plan/new"
            if tour.entitlement_id
            else None,
        ),
        (
            f"{tour.caregiver_username}: {tour.visits_today} visit(s) today to check in and out",
            f"{base}/my-day" if tour.visits_today else None,
        ),
        (
            "family (no login): rate yesterday's completed visit (one-time link)",
            f"{base}/rate/{tour.rating_token}"
            if tour.rating_token
            else ("printed when the demo was loaded" if tour.completed_visit_id else None),
        ),
        (
            f"admin: review a provider under quality review (its manager: {tour.provider_manager})",
            f"{base}/providers/{tour.provider_id}" if tour.provider_id else None,
        ),
    ]
    click.echo("today's steps:")
    for label, where in steps:
        click.echo(f"  {label}\n      {where or 'nothing today (the scheduler adds more)'}")


@click.group("scheduler")
def scheduler_group() -> None:
    """The one scheduler process and its job table."""


@scheduler_group.command("run")
@with_appcontext
def scheduler_run() -> None:
    """Run the scheduled jobs in this process until stopped (deploy exactly one)."""
    from flask import current_app

    from careapp.jobs.scheduled import build_scheduler

    scheduler = build_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # the real app behind the proxy
    click.echo(f"scheduler started with {len(scheduler.get_jobs())} jobs; Ctrl+C stops it")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


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
    import datetime as dt

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
    import datetime as dt

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
    import datetime as dt

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


@click.command("validate-roster")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The day whose stored roster is checked (YYYY-MM-DD).",
)
@click.option("--provider", "provider_id", type=int, default=None, help="Only this provider.")
@with_appcontext
def validate_roster_command(day: object, provider_id: int | None) -> None:
    """Check the stored roster of a day against every hard rule (exit 1 on a violation)."""
    import datetime as dt

    from flask import current_app

    from careapp.services.roster_check import check_stored_roster_on

    assert isinstance(day, dt.datetime)  # noqa: S101 - click parsed it (required)
    report = check_stored_roster_on(
        db.session().connection(),
        day.date(),
        current_app.config["TRAVEL_SPEED_KMH"],
        provider_id=provider_id,
    )
    for line in report.lines():
        click.echo(line)
    if report.violations:
        raise click.exceptions.Exit(1)


@click.command("seed-city")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The day on which the city's home visits fall due (YYYY-MM-DD).",
)
@click.option("--seed", default=2017, show_default=True, help="Random seed (runs repeat).")
@click.option("--visits", default=10_000, show_default=True, help="Home visits due on the day.")
@click.option("--caregivers", default=3_000, show_default=True)
@click.option("--providers", default=40, show_default=True)
@with_appcontext
def seed_city_command(day: object, seed: int, visits: int, caregivers: int, providers: int) -> None:
    """Write the city-scale workload (docs/domain.md) into CAREAPP_DATABASE_URL (bulk inserts)."""
    import datetime as dt

    from sqlalchemy import select

    from careapp.core.clock import utcnow
    from careapp.demo.city import CitySize, seed_city
    from careapp.models import Provider
    from careapp.security import protector

    assert isinstance(day, dt.datetime)  # noqa: S101 - click parsed it (required)
    session = db.session()
    taken = session.scalar(
        select(Provider.id).where(Provider.licence_number.like(f"CITY-{seed}-%")).limit(1)
    )
    if taken is not None:
        raise click.ClickException(f"the city of seed {seed} is already in this database")
    summary = seed_city(
        session.connection(),
        protector(),
        day=day.date(),
        now=utcnow(),
        size=CitySize(providers, caregivers, visits),
        seed=seed,
    )
    session.commit()
    click.echo(
        f"city loaded: {summary.providers} providers, {summary.caregivers} caregivers, "
        f"{summary.care_plans} care plans, {summary.visits_due} visits due on {summary.day}"
    )
