"""Commands on stored rosters: `careapp validate-roster`."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from careapp import db


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

    from flask import current_app

    from careapp.services.roster_check import check_stored_roster_on

    assert isinstance(day, dt.datetime)  # noqa: S101 - click parsed it (required)  # nosec B101
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
