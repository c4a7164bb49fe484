"""`careapp reset-two-factor USERNAME --reason TEXT`: an operator removes a user's second factor
(a lost device and lost recovery codes); docs/operations.md says when and how."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("reset-two-factor")
@click.argument("username")
@click.option(
    "--reason", required=True, help="Why (recorded in the audit log), e.g. the ticket number."
)
@with_appcontext
def reset_two_factor_command(username: str, reason: str) -> None:
    """Remove USERNAME's second factor and recovery codes and end their sessions; an
    administrator sets up a new one at their next login. Audited as done from the command line."""
    from sqlalchemy import select

    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.models.users import User
    from careapp.services.actor import Actor
    from careapp.services.two_factor import reset_two_factor

    if not reason.strip():
        raise click.BadParameter("give a reason", param_hint="--reason")
    session = db.session()
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.BadParameter("no user with this username", param_hint="USERNAME")
    had = user.has_two_factor
    actor = Actor(user_id=None, role=None, address="cli")
    reset_two_factor(session, actor, user, now=utcnow(), reason=reason)
    session.commit()
    click.echo(
        f"{user.username}: second factor {'removed' if had else 'was not set up'}; "
        "recovery codes removed, sessions ended"
    )
