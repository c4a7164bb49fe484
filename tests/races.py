"""The harness of the race tests: a throwaway PostgreSQL database, and jobs released together.

The usual fixtures roll every test back inside one connection; a race needs committed rows seen
by many connections. So a race test gets a database of its own on the test server
(careapp_<module>_<pid>, with the schema), commits real data there and drops it afterwards;
other tests never see it. A race module declares

    pytestmark = pytest.mark.postgres_only
    race_engine = race_engine_fixture(pool_size=RACERS + 2)

and its tests run their racers with `run_together(app, jobs)`. A race that must hold on both
databases declares `engine = race_or_file_engine_fixture(pool_size=...)` instead: its tests run
on such a PostgreSQL database and on a SQLite file (careapp's engine, which takes the write lock
for every transaction).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import careapp.models  # noqa: F401 - registers every table
from careapp.core.errors import CareappError, ConflictError
from careapp.db import Base, make_engine
from tests import factories


@contextmanager
def race_database(url: str, name: str, pool_size: int) -> Iterator[Engine]:
    """A fresh database `name` on the server of `url`, with the schema; dropped afterwards."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(url).set(database=name), pool_size=pool_size, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def race_engine_fixture(pool_size: int) -> Any:  # Any: pytest's fixture type is private
    """A `race_engine` fixture: each test gets `race_database` named after its module and pid."""

    @pytest.fixture(name="race_engine")
    def race_engine(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
        with _module_race_database(database_url, request, pool_size) as engine:
            yield engine

    return race_engine


def race_or_file_engine_fixture(pool_size: int) -> Any:  # Any: pytest's fixture type is private
    """An `engine` fixture run twice: a race database on PostgreSQL, and a SQLite file with the
    schema."""

    @pytest.fixture(
        name="engine",
        params=[pytest.param("postgresql", marks=pytest.mark.postgres_only), "sqlite"],
    )
    def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
        if request.param == "postgresql":
            database_url: str = request.getfixturevalue("database_url")
            with _module_race_database(database_url, request, pool_size) as postgres:
                yield postgres
            return
        sqlite = make_engine(f"sqlite+pysqlite:///{tmp_path / 'race.sqlite'}")
        Base.metadata.create_all(sqlite)
        try:
            yield sqlite
        finally:
            sqlite.dispose()

    return engine


@contextmanager
def _module_race_database(
    database_url: str, request: pytest.FixtureRequest, pool_size: int
) -> Iterator[Engine]:
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    name = f"careapp_{module}_{os.getpid()}"
    assert len(name) <= 63, f"{name} is too long for a PostgreSQL database name"
    with race_database(database_url, name, pool_size) as engine:
        yield engine


@contextmanager
def seeding(engine: Engine) -> Iterator[Session]:
    """A session the factories build in; committed at the end, its objects still loaded."""
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            yield session
            session.commit()
        finally:
            factories.bind(None)


def attempt(
    engine: Engine,
    action: Callable[[Session], object],
    done: str,
    refused: type[CareappError] | tuple[type[CareappError], ...] = ConflictError,
) -> str:
    """Run `action` in a session of its own and commit: `done`, or "refused: <message>"."""
    with Session(engine) as session:
        try:
            action(session)
        except refused as error:
            session.rollback()
            return f"refused: {error.message}"
        session.commit()
        return done


def run_together(
    app: Flask, jobs: Sequence[Callable[[], str]], locale: str = "en", timeout: float = 120
) -> list[str]:
    """Run every job in its own thread (and app context), all released at once.

    Returns what each job returned, in order, or "unexpected <Error>: <message>" for a job that
    raised; fails if a job is still running after `timeout` seconds.
    """
    start = threading.Barrier(len(jobs))
    results = [""] * len(jobs)

    def worker(index: int) -> None:
        with app.app_context(), force_locale(locale):
            start.wait(timeout=30)
            try:
                results[index] = jobs[index]()
            except Exception as error:
                results[index] = f"unexpected {type(error).__name__}: {error}"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results
