"""The app's database role cannot erase the audit log: it owns nothing and holds row privileges.

On PostgreSQL each test works in a throwaway database owned by a throwaway owner role, migrated
as the owner, with a throwaway app role granted by `careapp.database_roles` (docs/operations.md,
"Database roles"). The settings that pick the URLs and the role are tested on both databases.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import URL, Engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from careapp import create_app
from careapp.config import TestConfig, database_app_role, migration_database_url
from careapp.database_roles import (
    DatabaseRoleError,
    app_role_problems,
    grant_app_role,
    table_privileges,
)
from careapp.db import make_engine
from careapp.demo.seed import DemoSize, seed_demo
from careapp.migrate import downgrade_database, upgrade_database
from careapp.models import AuditEvent, Person
from careapp.security import DataProtector
from tests import factories
from tests.conftest import log_in_committed
from tests.factories import NOW

INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for "permission denied" / "must be owner"

OWNER_URL = "postgresql+psycopg://careapp_owner:secret@db.example/careapp"
APP_URL = "postgresql+psycopg://careapp_app:secret@db.example/careapp"


# --- settings (both databases) ---------------------------------------------------------------


def test_migrations_run_on_the_app_url_unless_an_owner_url_is_set() -> None:
    assert migration_database_url({"DATABASE_URL": APP_URL}) == APP_URL
    config = {"DATABASE_URL": APP_URL, "MIGRATION_DATABASE_URL": OWNER_URL}
    assert migration_database_url(config) == OWNER_URL


def test_app_role_is_the_app_urls_user_when_the_owner_migrates() -> None:
    config = {"DATABASE_URL": APP_URL, "MIGRATION_DATABASE_URL": OWNER_URL}
    assert database_app_role(config) == "careapp_app"
    assert database_app_role({**config, "DATABASE_APP_ROLE": "careapp_web"}) == "careapp_web"


@pytest.mark.parametrize(
    "config",
    [
        {"DATABASE_URL": APP_URL},  # one URL, one role: development
        {"DATABASE_URL": APP_URL, "MIGRATION_DATABASE_URL": APP_URL.replace("secret", "x")},
        {"DATABASE_URL": "sqlite+pysqlite:///instance/careapp.sqlite"},
        {"DATABASE_URL": "sqlite+pysqlite:///x.sqlite", "DATABASE_APP_ROLE": "careapp_app"},
    ],
)
def test_app_role_is_none_with_one_role_or_on_sqlite(config: dict[str, str]) -> None:
    assert database_app_role(config) is None


def test_audit_log_is_append_only_for_the_app_role() -> None:
    assert table_privileges(AuditEvent.__tablename__) == ("SELECT", "INSERT")
    assert table_privileges("alembic_version") == ("SELECT",)
    assert table_privileges("visits") == ("SELECT", "INSERT", "UPDATE", "DELETE")


def test_grant_refuses_sqlite(app: Flask) -> None:
    engine = app.extensions["careapp.engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("the refusal is SQLite's (no roles); PostgreSQL's grants are tested below")
    with engine.connect() as connection, pytest.raises(DatabaseRoleError):
        grant_app_role(connection, "careapp_app")


def test_grant_app_role_command_needs_a_role(app: Flask) -> None:
    """With one URL for both (the suite's, like development), there is no app role to grant."""
    result = app.test_cli_runner().invoke(args=["grant-app-role"])
    assert result.exit_code == 2
    assert "no app role" in result.output


# --- PostgreSQL: an owner and an app role ----------------------------------------------------


@dataclass(frozen=True)
class RolesDatabase:
    owner: str
    app: str
    owner_url: URL
    app_url: URL
    superuser_url: URL  # the suite's own role, in the throwaway database

    def engine(self, url: URL) -> Engine:
        return make_engine(url.render_as_string(hide_password=False))


@contextmanager
def roles_database(database_url: str, *, migrate: bool = True) -> Iterator[RolesDatabase]:
    """A database owned by a new owner role, migrated by it (granting a new app role)."""
    url = make_url(database_url)
    suffix = secrets.token_hex(4)
    owner, app_role = f"careapp_owner_{suffix}", f"careapp_app_{suffix}"
    name = f"{url.database}_roles_{suffix}"
    password = secrets.token_urlsafe(16)  # letters, digits, "-" and "_": safe in a literal
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    database = RolesDatabase(
        owner=owner,
        app=app_role,
        owner_url=url.set(database=name, username=owner, password=password),
        app_url=url.set(database=name, username=app_role, password=password),
        superuser_url=url.set(database=name),
    )
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for role in (owner, app_role):
                conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER {owner}')
        if migrate:
            owner_engine = database.engine(database.owner_url)
            upgrade_database(owner_engine, app_role=app_role)
            owner_engine.dispose()
        yield database
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {app_role}, {owner}")
        admin.dispose()


@pytest.fixture(scope="module")
def shared_roles(database_url: str) -> Iterator[RolesDatabase]:
    """One migrated database for the tests that change nothing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL")
    with roles_database(database_url) as database:
        yield database


@pytest.fixture(scope="module")
def app_engine(shared_roles: RolesDatabase) -> Iterator[Engine]:
    engine = shared_roles.engine(shared_roles.app_url)
    yield engine
    engine.dispose()


def _add_audit_row(engine: Engine) -> int:
    with engine.begin() as conn:
        row_id: int = conn.execute(
            insert(AuditEvent)
            .values(at=NOW, action="test", object_type="test", detail={})
            .returning(AuditEvent.id)
        ).scalar_one()
    return row_id


def _audit_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.mark.postgres_only
def test_app_role_adds_and_reads_audit_rows(app_engine: Engine) -> None:
    before = _audit_rows(app_engine)
    row_id = _add_audit_row(app_engine)
    with app_engine.connect() as conn:
        action = conn.scalar(select(AuditEvent.action).where(AuditEvent.id == row_id))
    assert action == "test"
    assert _audit_rows(app_engine) == before + 1


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'erased'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger"
        " AS $$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql",
        "DROP FUNCTION audit_events_append_only() CASCADE",
        "DROP TABLE audit_events",
        "ALTER TABLE audit_events RENAME TO audit_events_old",
        "ALTER TABLE audit_events OWNER TO CURRENT_USER",
        "SET session_replication_role = replica",  # would skip every trigger
        "SELECT setval('audit_events_id_seq', 1)",
        "TRUNCATE users",
        "UPDATE alembic_version SET version_num = '0001'",
        "CREATE TABLE public.audit_copy (id integer)",
        "CREATE TEMPORARY TABLE scratch (id integer)",
        "CREATE SCHEMA scratch",
    ],
)
def test_app_role_cannot_erase_or_switch_off_the_audit_log(
    app_engine: Engine, statement: str
) -> None:
    _add_audit_row(app_engine)
    before = _audit_rows(app_engine)
    with app_engine.connect() as conn, pytest.raises(DBAPIError) as refused:
        conn.exec_driver_sql(statement)
    # Refused for want of privilege (not by the append-only trigger, which raises P0001).
    assert getattr(refused.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
    assert _audit_rows(app_engine) == before


@pytest.mark.postgres_only
def test_app_role_owns_nothing_and_holds_only_row_privileges(shared_roles: RolesDatabase) -> None:
    owner_engine = shared_roles.engine(shared_roles.owner_url)
    try:
        with owner_engine.connect() as conn:
            assert app_role_problems(conn, shared_roles.app) == []
            granted = {
                privilege
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                if conn.scalar(
                    text("SELECT has_table_privilege(:role, 'audit_events', :privilege)"),
                    {"role": shared_roles.app, "privilege": privilege},
                )
            }
            assert granted == {"SELECT", "INSERT"}
            assert "it is the role running the migrations (the owner)" in app_role_problems(
                conn, shared_roles.owner
            )
            superuser = shared_roles.superuser_url.username
            assert "it is a superuser" in app_role_problems(conn, str(superuser))
            with pytest.raises(DatabaseRoleError, match="owns"):
                grant_app_role(conn, shared_roles.owner)
    finally:
        owner_engine.dispose()


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("grant", "found", "repaired"),
    [
        ("GRANT TRUNCATE ON audit_events TO {app}", "on audit_events it holds TRUNCATE", True),
        ("GRANT UPDATE (action) ON audit_events TO {app}", "UPDATE (on a column)", True),
        ("GRANT TRIGGER, REFERENCES ON visits TO {app}", "REFERENCES, TRIGGER", True),
        ("REVOKE INSERT ON audit_events FROM {app}", "on audit_events it lacks INSERT", True),
        ("GRANT UPDATE ON audit_events_id_seq TO {app}", "may set the sequence", True),
        ("GRANT CREATE ON SCHEMA public TO {app}", "create objects in the schema", True),
        ('GRANT TEMPORARY ON DATABASE "{database}" TO {app}', "temporary tables", True),
        ("GRANT {owner} TO {app}", "member of the owner role", False),
        ("ALTER ROLE {app} CREATEROLE", "allowed to create roles", False),
        ("ALTER TABLE districts OWNER TO {app}", "it owns table districts", False),
    ],
)
def test_grant_step_takes_excess_privileges_away_or_refuses(
    shared_roles: RolesDatabase, grant: str, found: str, repaired: bool
) -> None:
    """Each way the app role could hold the wrong privileges (made here by the suite's
    superuser, in a transaction rolled back) is found by the check; the grant step puts a
    privilege right and refuses a role that owns something or could become an owner."""
    superuser = shared_roles.engine(shared_roles.superuser_url)
    try:
        with superuser.connect() as conn:
            database = conn.scalar(text("SELECT current_database()"))
            conn.exec_driver_sql(
                grant.format(app=shared_roles.app, owner=shared_roles.owner, database=database)
            )
            problems = app_role_problems(conn, shared_roles.app)
            assert any(found in problem for problem in problems), problems
            if repaired:
                grant_app_role(conn, shared_roles.app)
                assert app_role_problems(conn, shared_roles.app) == []
            else:
                with pytest.raises(DatabaseRoleError, match=found):
                    grant_app_role(conn, shared_roles.app)
            conn.rollback()
            assert app_role_problems(conn, shared_roles.app) == []
    finally:
        superuser.dispose()


@pytest.mark.postgres_only
def test_grants_follow_every_migration(database_url: str) -> None:
    """A table re-created by a migration is granted again by `careapp init-db`; a migration
    run without the grant step fails closed (the app is refused the new table) until
    `careapp grant-app-role` is run, any number of times."""
    with roles_database(database_url) as roles:
        owner_engine = roles.engine(roles.owner_url)
        app_engine = roles.engine(roles.app_url)
        cli_app = create_app(TestConfig)
        cli_app.config.update(
            DATABASE_URL=roles.app_url.render_as_string(hide_password=False),
            MIGRATION_DATABASE_URL=roles.owner_url.render_as_string(hide_password=False),
        )
        runner = cli_app.test_cli_runner()
        try:
            downgrade_database(owner_engine, "0003")  # drops the tables of 0004 (claim flags)
            upgrade_database(owner_engine)  # as a bare `alembic upgrade` would
            with app_engine.connect() as conn, pytest.raises(DBAPIError) as refused:
                conn.exec_driver_sql("SELECT count(*) FROM claim_flags")
            assert getattr(refused.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
            for _ in range(2):  # idempotent
                result = runner.invoke(args=["grant-app-role"])
                assert result.exit_code == 0, result.output
                assert f"the app role {roles.app} holds exactly" in result.output

            downgrade_database(owner_engine, "0003")
            result = runner.invoke(args=["init-db"])
            assert result.exit_code == 0, result.output
            assert f"the app role {roles.app} holds exactly" in result.output
            with app_engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM claim_flags")) == 0
            with owner_engine.connect() as conn:
                assert app_role_problems(conn, roles.app) == []
        finally:
            app_engine.dispose()
            owner_engine.dispose()
            cli_app.extensions["careapp.engine"].dispose()


@pytest.mark.postgres_only
def test_init_db_refuses_an_app_role_that_owns_the_tables(database_url: str) -> None:
    """Migrations and grants are one transaction: an unsafe app role leaves nothing migrated."""
    with roles_database(database_url, migrate=False) as roles:
        cli_app = create_app(TestConfig)
        cli_app.config.update(
            DATABASE_URL=roles.owner_url.render_as_string(hide_password=False),
            DATABASE_APP_ROLE=roles.owner,
        )
        try:
            result = cli_app.test_cli_runner().invoke(args=["init-db"])
            assert result.exit_code != 0
            assert "the role running the migrations" in result.output
            assert "nothing was migrated" in result.output
            owner_engine = roles.engine(roles.owner_url)
            with owner_engine.connect() as conn:
                assert conn.scalar(text("SELECT to_regclass('audit_events')")) is None
            owner_engine.dispose()
        finally:
            cli_app.extensions["careapp.engine"].dispose()


@pytest.mark.postgres_only
def test_the_app_runs_as_the_app_role(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo city loads through the services (registration, assessments, decisions, care
    plans, dispatch with its advisory lock, visits, ratings, claim audit, quality) as the app
    role; an administrator logs in, opens a person and reveals the full ID number, audited."""
    with roles_database(database_url) as roles:
        app_url = roles.app_url.render_as_string(hide_password=False)
        monkeypatch.setenv("CAREAPP_DATABASE_URL", app_url)
        app = create_app(TestConfig)
        engine = app.extensions["careapp.engine"]
        try:
            size = DemoSize(
                people=30,
                beneficiaries=6,
                pending_applications=3,
                providers=2,
                caregivers_per_provider=2,
            )
            with Session(engine) as session:
                seed_demo(session, DataProtector(TestConfig.DATA_KEY), now=NOW, size=size)
                factories.bind(session)
                admin = factories.UserFactory(admin=True, username="roles-admin")
                factories.bind(None)
                session.commit()
                admin_id = admin.id
                person_id = session.scalars(select(Person.id).order_by(Person.id)).first()
            before = _audit_rows(engine)

            client = app.test_client()
            log_in_committed(client, engine, admin_id)
            assert client.get(f"/people/{person_id}").status_code == 200
            response = client.post(
                f"/people/{person_id}/reveal-id", data={"reason": "checking a claim"}
            )
            assert response.status_code == 200, response.get_data(as_text=True)

            with engine.connect() as conn:
                actions = set(
                    conn.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == admin_id))
                )
            assert "read_full_id" in actions
            assert _audit_rows(engine) > before
        finally:
            engine.dispose()
