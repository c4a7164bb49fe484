"""Backups that have been restored (docs/operations.md, "Backups and restore"): a populated
database is dumped and restored into a fresh one, and the copy has every row and every ID number
and TOTP secret still decrypts with the data key (kept apart from the dump) and is still found
through its lookup index. PostgreSQL with `pg_dump -Fc` / `pg_restore`; the embedded SQLite
default with the online backup API (what `sqlite3 … ".backup …"` uses) while a writer is open."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import sqlite3
import subprocess  # nosec B404 - runs pg_dump and pg_restore with fixed arguments
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from careapp.cli.data_keys import rotate_data_key
from careapp.config import TestConfig
from careapp.db import make_engine
from careapp.demo.seed import DemoSize, seed_demo
from careapp.migrate import upgrade_database
from careapp.security import DataProtector, new_data_key
from careapp.services.data_keys import ENCRYPTED_COLUMNS

SIZE = DemoSize(
    people=30, beneficiaries=6, pending_applications=3, providers=2, caregivers_per_provider=2
)
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
PROTECTOR = DataProtector(TestConfig.DATA_KEY)
NEW_KEY = new_data_key()


def _populate(engine: Engine) -> None:
    upgrade_database(engine)
    with Session(engine) as session:
        seed_demo(session, PROTECTOR, now=NOW, size=SIZE)
        session.commit()


def _row_counts(engine: Engine) -> dict[str, int]:
    names = inspect(engine).get_table_names()
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names
        }


def _check_encrypted_values(engine: Engine, protector: DataProtector = PROTECTOR) -> dict[str, int]:
    """Decrypt every encrypted value of `engine` with `protector` (the data key); find each ID
    number through its index. Return how many values each column holds."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for column in ENCRYPTED_COLUMNS:
            extra = [column.index] if column.index is not None else []
            rows = conn.execute(
                select(column.id, column.ciphertext, *extra).where(column.ciphertext.is_not(None))
            ).all()
            for row in rows:
                plaintext = protector.decrypt(bytes(row[1]))
                if column.index is not None:
                    assert row[2] == protector.blind_index(plaintext)
                    ids = conn.scalars(
                        select(column.id).where(column.index == protector.blind_index(plaintext))
                    ).all()
                    assert row[0] in ids
            found[column.name] = len(rows)
    return found


def _check_restored(source: Engine, copy: Engine) -> None:
    counts = _row_counts(source)
    assert counts["people"] == SIZE.people
    assert counts["audit_events"] > 0
    assert _row_counts(copy) == counts
    values = _check_encrypted_values(copy)
    assert values["people.id_number"] == SIZE.people
    assert values["caregivers.id_number"] > 0
    assert values["users.totp_secret"] >= 1  # the demo administrator's second factor
    with source.connect() as a, copy.connect() as b:
        version = "SELECT version_num FROM alembic_version"
        assert a.scalar(text(version)) == b.scalar(text(version))


# --- PostgreSQL ----------------------------------------------------------------------------


@contextmanager
def _throwaway_databases(database_url: str) -> Iterator[tuple[URL, URL]]:
    """A source database, and an empty one owned by a new owner role (no superuser), as in the
    documented restore; the URL of the second connects as that owner."""
    url = make_url(database_url)
    suffix = secrets.token_hex(4)
    source, copy, owner = (f"{url.database}_backup_{suffix}_{n}" for n in ("src", "copy", "own"))
    password = secrets.token_urlsafe(16)  # letters, digits, "-" and "_": safe in a literal
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{source}"')
            conn.exec_driver_sql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'")
            conn.exec_driver_sql(f'CREATE DATABASE "{copy}" OWNER "{owner}"')
        yield (
            url.set(database=source),
            url.set(database=copy, username=owner, password=password),
        )
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in (source, copy):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{owner}"')
        admin.dispose()


def _libpq(url: URL) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres_only
def test_pg_dump_restores_into_a_fresh_database(database_url: str, tmp_path: Path) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    assert pg_dump is not None, "pg_dump is not installed (postgresql-client)"
    assert pg_restore is not None, "pg_restore is not installed (postgresql-client)"
    dump = tmp_path / "careapp.dump"
    with _throwaway_databases(database_url) as (source_url, copy_url):
        source = make_engine(source_url.render_as_string(hide_password=False))
        copy = make_engine(copy_url.render_as_string(hide_password=False))
        try:
            _populate(source)
            subprocess.run(  # nosec B603 - fixed arguments, no shell
                [pg_dump, "--format=custom", "--file", str(dump), _libpq(source_url)],
                check=True,
                capture_output=True,
            )
            subprocess.run(  # nosec B603 - fixed arguments, no shell
                [
                    pg_restore,
                    "--exit-on-error",
                    "--no-owner",
                    "--no-privileges",
                    "--dbname",
                    _libpq(copy_url),
                    str(dump),
                ],
                check=True,
                capture_output=True,
            )
            _check_restored(source, copy)
            # The copy is a working database: its append-only audit log is still guarded.
            with copy.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text("DELETE FROM audit_events"))
        finally:
            source.dispose()
            copy.dispose()


# --- SQLite (the embedded default) -----------------------------------------------------------


def test_sqlite_online_backup_restores(tmp_path: Path) -> None:
    path, backup = tmp_path / "careapp.sqlite", tmp_path / "backup.sqlite"
    source = make_engine(f"sqlite+pysqlite:///{path}")
    try:
        _populate(source)
        writer = sqlite3.connect(path)  # the app serving: a connection stays open
        try:
            with sqlite3.connect(backup) as target:
                writer.backup(target)
            target.close()
        finally:
            writer.close()
        restored = tmp_path / "restored.sqlite"
        shutil.copyfile(backup, restored)  # restoring: the backup file put in place
        copy = make_engine(f"sqlite+pysqlite:///{restored}")
        try:
            _check_restored(source, copy)
        finally:
            copy.dispose()
    finally:
        source.dispose()


@pytest.mark.postgres_only
def test_rotation_of_a_live_database_is_read_throughout(database_url: str) -> None:
    """Batches are committed one by one: another connection (the app, with the ring) reads and
    finds every value between them; afterwards the new key alone reads everything."""
    ring = DataProtector(f"{NEW_KEY},{TestConfig.DATA_KEY}", PROTECTOR.index_key_setting())
    new_alone = DataProtector(NEW_KEY, PROTECTOR.index_key_setting())
    with _throwaway_databases(database_url) as (source_url, _copy_url):
        engine = make_engine(source_url.render_as_string(hide_password=False))
        try:
            _populate(engine)
            checks = 0

            def read_meanwhile(_line: str) -> None:
                nonlocal checks
                _check_encrypted_values(engine, ring)
                checks += 1

            with Session(engine) as session:
                run = rotate_data_key(session, ring, batch_size=7, echo=read_meanwhile)
            assert checks == run.batches > 5
            assert run.rotated["people.id_number"] == SIZE.people
            values = _check_encrypted_values(engine, new_alone)
            assert values["people.id_number"] == SIZE.people
        finally:
            engine.dispose()
