"""`careapp settle --month YYYY-MM --by <administrator>`: issue a month's settlement statements."""

from __future__ import annotations

import datetime as dt
import re

import click
from flask.cli import with_appcontext

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@click.command("settle")
@click.option("--month", "month_text", required=True, help="The month settled (YYYY-MM).")
@click.option(
    "--by", "username", required=True, help="The administrator who issues the statements."
)
@with_appcontext
def settle_command(month_text: str, username: str) -> None:
    """Issue every provider's statement of an ended month (main or supplementary) where there is
    something new to settle; a second run issues nothing."""
    from sqlalchemy import select

    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.core.errors import CareappError
    from careapp.core.money import format_yuan
    from careapp.models.users import Role, User
    from careapp.services.actor import Actor
    from careapp.services.settlement import issue_month_statements

    match = MONTH.match(month_text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise click.BadParameter("give the month as YYYY-MM", param_hint="--month")
    month = dt.date(int(match.group(1)), int(match.group(2)), 1)
    session = db.session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.role is not Role.ADMIN or not user.is_enabled:
        raise click.BadParameter("no enabled administrator with this username", param_hint="--by")
    actor = Actor(user_id=user.id, role=Role.ADMIN, address="cli")
    try:
        issued = issue_month_statements(session, actor, month, utcnow())
        session.commit()
    except CareappError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    for statement in issued:
        kind = "supplementary" if statement.is_supplementary else "main"
        click.echo(
            f"{statement.number}  {statement.provider_name}  {kind}  "
            f"{format_yuan(statement.total_fen)} yuan"
        )
    click.echo(f"{month_text}: {len(issued)} statements issued")
