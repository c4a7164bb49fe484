"""Commands on the database: `careapp init-db`, `careapp grant-app-role`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from careapp.config import database_app_role, migration_database_url
from careapp.database_roles import DatabaseRoleError


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema to the latest migration, as the owner
    (CAREAPP_MIGRATION_DATABASE_URL, else CAREAPP_DATABASE_URL); on PostgreSQL with a separate
    app role, grant it its privileges in the same transaction."""
    from careapp.db import make_engine
    from careapp.migrate import upgrade_database

    role = database_app_role(current_app.config)
    engine = make_engine(migration_database_url(current_app.config))
    try:
        upgrade_database(engine, app_role=role)
    except DatabaseRoleError as error:
        raise click.ClickException(f"{error}\nnothing was migrated") from error
    finally:
        engine.dispose()
    click.echo("database is at the latest migration")
    if role is not None:
        click.echo(f"the app role {role} holds exactly the app's privileges")


@click.command("grant-app-role")
@click.option("--role", help="the app's role (default: as for init-db)")
@with_appcontext
def grant_app_role_command(role: str | None) -> None:
    """As the owner: give the app's PostgreSQL role exactly the privileges it needs (rows only;
    INSERT and SELECT on the audit log), take away the rest and check it owns nothing."""
    from careapp.database_roles import grant_app_role
    from careapp.db import make_engine

    role = role or database_app_role(current_app.config)
    if role is None:
        raise click.UsageError(
            "no app role: set CAREAPP_DATABASE_APP_ROLE, or CAREAPP_MIGRATION_DATABASE_URL to "
            "the owner's URL (PostgreSQL only), or pass --role"
        )
    engine = make_engine(migration_database_url(current_app.config))
    try:
        with engine.begin() as connection:
            tables = grant_app_role(connection, role)
    except DatabaseRoleError as error:
        raise click.ClickException(f"{error}\nnothing was changed") from error
    finally:
        engine.dispose()
    click.echo(f"the app role {role} holds exactly the app's privileges on {len(tables)} tables")
