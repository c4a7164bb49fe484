"""Commands that write generated data: the demo (`seed-demo`), its simulation (`simulate`) and
the city-sized day (`seed-city`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

from careapp import db

if TYPE_CHECKING:
    from careapp.demo.seed import DemoTour


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", default=2017, show_default=True, help="Random seed (runs repeat).")
@click.option(
    "--host",
    envvar="HOST",
    default="127.0.0.1",
    show_default=True,
    help="The host `careapp serve` serves on (for the addresses printed); env HOST.",
)
@click.option(
    "--port",
    envvar="PORT",
    type=click.IntRange(1, 65535),
    default=5000,
    show_default=True,
    help="The port `careapp serve` serves on (for the addresses printed); env PORT.",
)
@with_appcontext
def seed_demo_command(if_empty: bool, seed: int, host: str, port: int) -> None:
    """Load the demo city around today (docs/domain.md, demo column) and print one login per
    role and what to do at each step today."""
    from flask import current_app

    from careapp.core.clock import utcnow
    from careapp.demo.seed import (
        database_is_empty,
        demo_admin_totp_uri,
        demo_tour,
        seed_demo,
    )
    from careapp.security import protector

    session = db.session()
    base = served_address(host, port)
    now = utcnow()
    if not database_is_empty(session):
        if if_empty:
            click.echo("demo data already loaded (`make clean` starts over on today's date)")
            _print_logins(base, demo_admin_totp_uri(session, protector()))
            _print_tour(base, demo_tour(session, now))
            return
        raise click.ClickException("the database is not empty; use a fresh database")
    demo = seed_demo(session, protector(), now=now, seed=seed, config=current_app.config)
    session.commit()
    click.echo("demo data loaded")
    _print_logins(base, demo_admin_totp_uri(session, protector()))
    _print_tour(base, demo.tour)


def served_address(host: str, port: int) -> str:
    """The address to open for an app served on host:port (all interfaces: this machine)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - compared, not bound  # nosec B104
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


def _print_logins(base: str, admin_totp_uri: str | None) -> None:
    from careapp.demo.seed import DEMO_ADMIN, DEMO_LOGINS, DEMO_PASSWORD

    click.echo(f"log in at {base}/login with password {DEMO_PASSWORD!r} as:")
    for role, username in DEMO_LOGINS:
        click.echo(f"  {role:<18} {username}")
    if admin_totp_uri:
        click.echo(
            f"{DEMO_ADMIN} also needs the 6-digit code of an authenticator app (administrators log"
            " in with a second factor).\nAdd this key to the app (type in its secret, or open the"
            " URI on the phone), then enter the code the app shows:"
        )
        click.echo(f"  {admin_totp_uri}")


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
    from sqlalchemy import select

    from careapp.core.clock import utcnow
    from careapp.demo.city import CitySize, seed_city
    from careapp.models import Provider
    from careapp.security import protector

    assert isinstance(day, dt.datetime)  # noqa: S101 - click parsed it (required)  # nosec B101
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
