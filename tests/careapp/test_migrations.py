"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

import careapp.models  # noqa: F401 - registers every table
from careapp.db import Base, make_engine
from careapp.migrate import downgrade_database, upgrade_database
from careapp.models.users import Role


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


def test_demo_city_loads_on_a_migrated_database(empty_engine: Engine) -> None:
    """What `make run` does: migrate a fresh database, then load the demo through the services."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from careapp.config import TestConfig
    from careapp.demo.seed import DemoSize, seed_demo
    from careapp.models import User, Visit
    from careapp.security import DataProtector, verify_password

    upgrade_database(empty_engine)
    size = DemoSize(
        people=30, beneficiaries=6, pending_applications=3, providers=2, caregivers_per_provider=2
    )
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    with Session(empty_engine) as session:
        logins = seed_demo(session, DataProtector(TestConfig.DATA_KEY), now=now, size=size).logins
        session.commit()
        assert {login.role for login in logins} == {r.value for r in Role}
        for login in logins:
            user = session.scalar(select(User).where(User.username == login.username))
            assert user is not None
            assert user.role.value == login.role
            assert verify_password(user.password_hash, login.password)
        assert session.scalar(select(func.count()).select_from(Visit)) > 0
        assert session.scalar(select(func.count()).select_from(User)) >= len(logins)


def test_upgrade_turns_barthel_cut_offs_into_grading_rules(empty_engine: Engine) -> None:
    """A database at 0001 with a policy version keeps its Barthel bands after the upgrade."""
    upgrade_database(empty_engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO policy_versions (name, effective_on, min_disability_months,"
                " barthel_severe_max, barthel_moderate_max, home_service_monthly_budget_fen)"
                " VALUES ('2016', '2016-01-01', 6, 45, 65, 120000)"
            )
        )
    upgrade_database(empty_engine)
    with empty_engine.connect() as conn:
        row = conn.execute(
            text("SELECT instrument_code, grading_rules, grade_categories FROM policy_versions")
        ).one()
    rules = (
        row.grading_rules if isinstance(row.grading_rules, dict) else json.loads(row.grading_rules)
    )
    bands = {band["grade"]: (band["min"], band["max"]) for band in rules["barthel"]["bands"]}
    assert row.instrument_code == "barthel"
    assert bands == {
        "severe": (0, 45),
        "moderate": (46, 65),
        "mild": (66, 99),
        "independent": (100, 100),
    }
    assert "national_2021" in rules


def test_upgrade_gives_existing_entitlements_their_start_and_end_events(
    empty_engine: Engine,
) -> None:
    """Entitlements from before 0003 get a start event and, once ended, an end event."""
    from sqlalchemy.orm import Session

    from careapp.config import TestConfig
    from careapp.demo.seed import DemoSize, seed_demo
    from careapp.security import DataProtector

    upgrade_database(empty_engine)
    size = DemoSize(
        people=30, beneficiaries=6, pending_applications=3, providers=2, caregivers_per_provider=2
    )
    with Session(empty_engine) as session:
        seed_demo(
            session,
            DataProtector(TestConfig.DATA_KEY),
            now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
            size=size,
        )
        session.commit()
    with empty_engine.begin() as conn:  # one entitlement ended before 0003 existed
        first_id, starts_on = conn.execute(
            text("SELECT id, starts_on FROM entitlements ORDER BY id LIMIT 1")
        ).one()
        last_paid = dt.date.fromisoformat(str(starts_on)) + dt.timedelta(days=3)
        conn.execute(
            text(
                "UPDATE entitlements SET status = 'ended', ends_on = :last,"
                " end_reason = 'reassessed' WHERE id = :id"
            ),
            {"last": last_paid, "id": first_id},
        )
    downgrade_database(empty_engine, "0002")
    upgrade_database(empty_engine)

    with empty_engine.connect() as conn:
        entitlements = conn.execute(
            text("SELECT id, starts_on, status FROM entitlements ORDER BY id")
        ).all()
        events = conn.execute(
            text(
                "SELECT entitlement_id, kind, occurs_on, care_setting, end_reason"
                " FROM entitlement_events ORDER BY entitlement_id, kind DESC"
            )
        ).all()
    assert entitlements
    starts = {row.entitlement_id: row for row in events if row.kind == "start"}
    ends = {row.entitlement_id: row for row in events if row.kind == "end"}
    assert set(starts) == {row.id for row in entitlements}
    assert all(row.care_setting for row in starts.values())
    end = ends[first_id]
    assert str(end.occurs_on) == str(last_paid + dt.timedelta(days=1))  # the day after
    assert end.end_reason == "reassessed"
    assert set(ends) == {row.id for row in entitlements if row.status == "ended"}


def test_upgrade_gives_every_certificate_its_own_check_code(empty_engine: Engine) -> None:
    """Certificates issued before check codes get a fresh random one each (their earlier prints
    verify once reprinted); a downgrade takes the column away again."""
    from careapp.core.check_codes import normalise_check_code

    upgrade_database(empty_engine, "0006_session_version")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role, is_enabled)"
                " VALUES (1, 'admin', 'Admin', 'x', 'admin', true)"
            )
        )
        for n in range(1, 6):
            conn.execute(
                text(
                    "INSERT INTO certificates (id, number, kind, issued_at, issued_by_id)"
                    " VALUES (:id, :number, 'benefit', '2026-11-23 02:00:00+00', 1)"
                ),
                {"id": n, "number": f"DY-2026-{n:06d}"},
            )
    upgrade_database(empty_engine)
    with empty_engine.connect() as conn:
        codes = conn.execute(text("SELECT check_code FROM certificates")).scalars().all()
        indexes = {index["name"] for index in inspect(conn).get_indexes("audit_events")}
    assert len(codes) == len(set(codes)) == 5
    assert all(normalise_check_code(code) == code for code in codes)
    assert "ix_audit_events_action_address_at" in indexes  # the /verify throttle's count
    downgrade_database(empty_engine, "0006_session_version")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("certificates")}
    assert "check_code" not in columns


def test_upgrade_rewrites_every_stored_mask_to_region_and_check_character(
    empty_engine: Engine,
) -> None:
    """0009: masks of people, caregivers and statement lines lose the sequence digits."""
    from sqlalchemy.orm import Session

    from careapp.core.identity import mask_id_number
    from careapp.models import SettlementLine, StatementLineKind
    from tests import factories

    upgrade_database(empty_engine)
    with Session(empty_engine) as session:
        factories.bind(session)
        try:
            entitlement = factories.EntitlementFactory()
            factories.CaregiverFactory()
            factories.CaregiverFactory(id_number=None)
            session.add(
                SettlementLine(
                    statement_id=factories.SettlementStatementFactory().id,
                    position=1,
                    kind=StatementLineKind.BED_DAYS,
                    entitlement_id=entitlement.id,
                    person_id=entitlement.person_id,
                    person_name_masked="张*",
                    id_number_masked=entitlement.person.id_number_masked,
                    days=3,
                    value_fen=100,
                    amount_fen=100,
                    outcome="bed_days",
                )
            )
            session.commit()
        finally:
            factories.bind(None)

    def numbers(conn: Connection) -> dict[tuple[str, int], tuple[str | None, str | None]]:
        """(table, id) -> (the full number, the stored mask)."""
        rows = conn.execute(
            text(
                "SELECT 'people', id, id_number_ciphertext, id_number_masked FROM people"
                " UNION ALL SELECT 'caregivers', id, id_number_ciphertext, id_number_masked"
                " FROM caregivers UNION ALL SELECT 'settlement_lines', l.id,"
                " p.id_number_ciphertext, l.id_number_masked"
                " FROM settlement_lines l JOIN people p ON p.id = l.person_id"
            )
        ).all()
        return {
            (table, row_id): (
                factories.TEST_PROTECTOR.decrypt(bytes(cipher)) if cipher else None,
                masked,
            )
            for table, row_id, cipher, masked in rows
        }

    with empty_engine.begin() as conn:  # the masks as the code before 0009 stored them
        for (table, row_id), (number, _) in numbers(conn).items():
            if number is not None:
                conn.execute(
                    text(f"UPDATE {table} SET id_number_masked = :old WHERE id = :id"),  # noqa: S608
                    {"old": number[:6] + "*" * 8 + number[-4:], "id": row_id},
                )
    downgrade_database(empty_engine, "0008_job_heartbeat")
    with empty_engine.connect() as conn:
        before = numbers(conn)
    upgrade_database(empty_engine)
    with empty_engine.connect() as conn:
        after = numbers(conn)

    assert {table for table, _ in after} == {"people", "caregivers", "settlement_lines"}
    assert sum(masked is None for _, masked in after.values()) == 1  # a caregiver without one
    for key, (number, masked) in after.items():
        if number is not None:
            assert before[key][1] == number[:6] + "*" * 8 + number[-4:]
            assert masked == number[:6] + "*" * 11 + number[-1] == mask_id_number(number)
