"""Commands on the database: `careapp init-db`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from careapp import db


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema to the latest migration."""
    from careapp.migrate import upgrade_database

    upgrade_database(db.engine())
    click.echo("database is at the latest migration")
