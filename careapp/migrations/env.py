"""Alembic environment: runs on the connection careapp.migrate hands over, or on a URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

import careapp.models  # noqa: F401 - registers every table on Base.metadata
from careapp.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # The bare `alembic` CLI (writing a new revision): the database `careapp init-db` migrates.
    url = os.environ.get("CAREAPP_MIGRATION_DATABASE_URL") or os.environ.get(
        "CAREAPP_DATABASE_URL", "sqlite+pysqlite:///instance/careapp.sqlite"
    )
    engine = create_engine(config.get_main_option("sqlalchemy.url") or url)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]  # alembic passes a Connection
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("careapp migrations run online only")
run_migrations_online()
