"""Running Alembic migrations from code (the CLI, the demo set-up and the tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine

from careapp.database_roles import grant_app_role

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_database(
    engine: Engine, revision: str = "head", *, app_role: str | None = None
) -> None:
    """Migrate as the owner; with `app_role` (PostgreSQL), grant that role its privileges on the
    schema as it now stands, in the same transaction (careapp.database_roles)."""
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if app_role is not None:
            grant_app_role(connection, app_role)


def downgrade_database(engine: Engine, revision: str = "base") -> None:
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


class ForeignKeyError(RuntimeError):
    """A migration left rows pointing at rows that do not exist (SQLite)."""


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the migrations. On SQLite, foreign keys are checked once at the end:
    a batch migration rebuilds a table (copy, drop, rename) and dropping a table that other rows
    point to (ratings, alerts and claim flags point to visits) fails when enforced at once,
    while SQLite ignores the switch inside a transaction (alembic's batch-mode advice)."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise ForeignKeyError(f"rows point at missing rows: {broken[:5]}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")
