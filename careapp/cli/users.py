"""`careapp create-user` and `careapp reset-password`: the operator's way in.

A new installation has no accounts: the operator creates the first administrator at the
server's console, and it manages everyone else from the Users page. If the last administrator
forgets their password, the operator gives them a temporary one the same way. Both print a
generated temporary password once (or take one typed at a hidden prompt), and the account
must choose its own at the next login. Audited with no user and the address `cli`.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

ROLES = ("admin", "assessor", "provider_manager")


@click.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The person's name, as shown.")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--provider-id", type=click.IntRange(1, 2**31 - 1), help="A manager's provider.")
@click.option(
    "--prompt-password",
    is_flag=True,
    help="Type the temporary password (hidden) instead of having one generated.",
)
@with_appcontext
def create_user_command(
    username: str, display_name: str, role: str, provider_id: int | None, prompt_password: bool
) -> None:
    """Create an account (the first administrator of a new installation)."""
    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.core.errors import CareappError
    from careapp.models.users import Role
    from careapp.services.users import NewUser, create_user_from_console, password_policy

    password = _typed_password() if prompt_password else ""
    session = db.session()
    data = NewUser(username, display_name, Role(role), provider_id, password)
    try:
        made = create_user_from_console(
            session, data, password_policy(current_app.config), utcnow()
        )
        session.commit()
    except CareappError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"created {made.user.username} ({made.user.role.value})")
    _show(made.temporary_password)


@click.command("reset-password")
@click.argument("username")
@click.option("--prompt-password", is_flag=True, help="Type the temporary password (hidden).")
@with_appcontext
def reset_password_command(username: str, prompt_password: bool) -> None:
    """Give an account a temporary password; its sessions end at once."""
    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.core.errors import CareappError
    from careapp.services.users import password_policy, reset_password_from_console

    password = _typed_password() if prompt_password else ""
    session = db.session()
    try:
        made = reset_password_from_console(
            session, username, password, password_policy(current_app.config), utcnow()
        )
        session.commit()
    except CareappError as error:
        session.rollback()
        raise click.ClickException(f"{username}: {error.message}") from error
    click.echo(f"password of {made.user.username} reset; every session of it has ended")
    _show(made.temporary_password)


def _typed_password() -> str:
    typed: str = click.prompt(
        "Temporary password", hide_input=True, confirmation_prompt=True, type=str
    )
    return typed


def _show(temporary: str | None) -> None:
    if temporary is not None:
        click.echo(f"temporary password (shown once): {temporary}")
    click.echo("the user must choose their own password at the first login")
