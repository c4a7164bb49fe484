"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

import careapp.models  # noqa: F401 - registers every table
from careapp.db import Base, make_engine
from careapp.migrate import downgrade_database, upgrade_database


@pytest.fixture
def empty_engine(database_url: str, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A fresh, empty database of the same kind as the suite's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'migrations.sqlite'}")
        yield engine
        engine.dispose()
        return
    name = f"{url.database}_migrations"
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_the_models(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_downgrade_to_nothing(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    downgrade_database(empty_engine, "base")
    remaining = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()


def test_migrations_keep_the_database_guards(empty_engine: Engine) -> None:
    """Triggers and constraints written as raw DDL are part of the migrated schema too."""
    upgrade_database(empty_engine)
    if empty_engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
            "UNION SELECT conname FROM pg_constraint WHERE contype = 'x'"
        )
    with empty_engine.connect() as conn:
        names = {row[0] for row in conn.execute(text(query))}
    assert any(name.startswith("audit_events") for name in names)
    assert any(name.startswith("visits_no_double_booking") for name in names)
