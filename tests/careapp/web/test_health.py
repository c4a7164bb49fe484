"""The probes: /healthz (the process answers) and /readyz (every registered check passes)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from careapp import create_app
from careapp.config import Config, TestConfig
from careapp.core.lease import LeaseHolder
from careapp.core.liveness import Runner
from careapp.models import SchedulerLease
from careapp.services.scheduler_lease import claim_lease, database_now, release_lease
from careapp.web.health import CHECKS_KEY, CheckFailed, register_check, registered_checks
from tests.factories import UserFactory

# Nothing listens on port 9 (discard) here: the connection is refused at once.
CLOSED_PORT_PG = "postgresql+psycopg://careapp:hunter2@127.0.0.1:9/careapp"


def _no_cookie(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]  # a TestResponse
    assert headers.getlist("Set-Cookie") == []
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"] == "application/json"


@pytest.fixture
def unreachable_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """An app whose database is not there: PostgreSQL on a closed port, or a SQLite file in a
    directory that does not exist, or a SQLite file that does not exist (never made by the
    probe)."""
    urls = {
        "postgresql-closed-port": CLOSED_PORT_PG,
        "sqlite-missing-directory": f"sqlite+pysqlite:///{tmp_path}/missing/careapp.sqlite",
        "sqlite-missing-file": f"sqlite+pysqlite:///{tmp_path}/careapp.sqlite",
    }
    monkeypatch.setenv("CAREAPP_DATABASE_URL", urls[request.param])
    application = create_app(TestConfig)
    yield application
    application.extensions["careapp.engine"].dispose()


def test_healthz_answers_without_login_session_or_cookie(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    _no_cookie(response)


@pytest.mark.parametrize("unreachable_app", ["postgresql-closed-port"], indirect=True)
def test_healthz_needs_no_database(unreachable_app: Flask) -> None:
    response = unreachable_app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_reports_each_check(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}
    _no_cookie(response)


def test_readyz_is_not_held_up_by_a_writing_transaction(
    client: FlaskClient, db_session: Session
) -> None:
    """The test's own transaction has written (on SQLite it holds the write lock, which the
    app's transactions wait up to 30 s for): the probe reads on a connection of its own."""
    UserFactory()
    db_session.flush()
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "unreachable_app",
    ["postgresql-closed-port", "sqlite-missing-directory", "sqlite-missing-file"],
    indirect=True,
)
def test_readyz_is_503_naming_the_database_when_it_is_gone(
    unreachable_app: Flask, tmp_path: Path
) -> None:
    started = time.monotonic()
    response = unreachable_app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.get_json() == {"status": "unready", "checks": {"database": "unreachable"}}
    body = response.get_data(as_text=True)
    for internal in ("hunter2", "127.0.0.1", "sqlite", str(tmp_path), "refused"):
        assert internal not in body
    _no_cookie(response)
    assert list(tmp_path.iterdir()) == []  # the probe made no database file


def test_readyz_names_every_failing_part_and_only_a_short_reason(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def queue(_app: Flask, _timeout: float) -> None:
        raise ConnectionError("redis://:hunter2@10.1.2.3:6379 refused")

    def scheduler(_app: Flask, _timeout: float) -> None:
        raise CheckFailed("stale")

    monkeypatch.setitem(app.extensions[CHECKS_KEY], "queue", queue)
    monkeypatch.setitem(app.extensions[CHECKS_KEY], "scheduler", scheduler)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unready",
        "checks": {"database": "ok", "queue": "failed", "scheduler": "stale"},
    }
    assert "hunter2" not in response.get_data(as_text=True)


def test_checks_are_registered_per_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    other = create_app(TestConfig)

    def passing(_app: Flask, _timeout: float) -> None:
        return None

    register_check(other, "queue", passing)
    assert set(registered_checks(other)) == {"database", "queue"}
    assert set(registered_checks(app)) == {"database"}
    other.extensions["careapp.engine"].dispose()


def test_probes_pass_a_user_who_must_change_their_password(
    client: FlaskClient,
    login_as,
    db_session: Session,  # type: ignore[no-untyped-def]
) -> None:
    user = UserFactory(must_change_password=True)
    login_as(user)
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Set-Cookie") == []  # the session is left untouched


# The scheduler's heartbeat: the lease row, committed as a scheduler process commits it.

LEADER = LeaseHolder(Runner("sched-1", 4242), "leader-1")


@pytest.fixture
def scheduler_app(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app with the scheduler check on, on the suite's database; the lease row it reads is
    committed (the probe reads on a connection of its own) and removed afterwards."""
    monkeypatch.setenv("CAREAPP_READINESS_SCHEDULER", "true")
    application = create_app(TestConfig)
    engine = application.extensions["careapp.engine"]
    try:
        yield application
    finally:
        with Session(engine) as session:
            session.execute(delete(SchedulerLease))
            session.commit()
        engine.dispose()


def _lease(app: Flask, age_seconds: float, *, release: bool = False) -> None:
    """`LEADER` claims the lease `age_seconds` ago by the database's clock (and gives it up)."""
    with Session(app.extensions["careapp.engine"]) as session:
        now = database_now(session)
        beat = now - dt.timedelta(seconds=age_seconds)
        duration = dt.timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
        assert claim_lease(session, LEADER, beat, duration).is_held
        if release:
            assert release_lease(session, LEADER, beat)
        session.commit()


def test_the_scheduler_check_is_off_in_the_tests_and_on_by_default(app: Flask) -> None:
    assert set(registered_checks(app)) == {"database"}
    assert Config.READINESS_SCHEDULER is True


def test_readyz_is_ready_with_a_fresh_scheduler_lease(scheduler_app: Flask) -> None:
    _lease(scheduler_app, 1)
    response = scheduler_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "scheduler": "ok"}


@pytest.mark.parametrize("released", [False, True], ids=["never-held", "released"])
def test_readyz_is_503_no_leader_when_nobody_holds_the_lease(
    scheduler_app: Flask, released: bool
) -> None:
    if released:
        _lease(scheduler_app, 1, release=True)
    response = scheduler_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unready",
        "checks": {"database": "ok", "scheduler": "no leader"},
    }


def test_readyz_is_503_stale_when_the_heartbeat_is_too_old(scheduler_app: Flask) -> None:
    max_age = float(scheduler_app.config["SCHEDULER_LEASE_SECONDS"])
    _lease(scheduler_app, max_age + 5)
    response = scheduler_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "scheduler": "stale"}


def test_the_scheduler_check_is_not_held_up_by_a_writing_transaction(
    scheduler_app: Flask,
) -> None:
    """On SQLite a writer holds the lock the app's transactions wait 30 s for: the probe
    reads the lease on a connection of its own (and answers within the readiness timeout)."""
    _lease(scheduler_app, 1)
    with scheduler_app.extensions["careapp.engine"].connect() as writer:
        writer.execute(update(SchedulerLease).values(version=SchedulerLease.version + 1))
        started = time.monotonic()
        response = scheduler_app.test_client().get("/readyz")
        elapsed = time.monotonic() - started
        writer.rollback()
    assert response.status_code == 200, response.get_json()
    assert elapsed < 2


class _SchedulerOn(TestConfig):
    READINESS_SCHEDULER = True


def test_the_scheduler_check_is_off_when_the_setting_says_so(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No lease row: with the check off the app is ready all the same."""
    monkeypatch.setenv("CAREAPP_READINESS_SCHEDULER", "false")
    off = create_app(_SchedulerOn)
    assert "scheduler" not in registered_checks(off)
    response = off.test_client().get("/readyz")
    assert (response.status_code, response.get_json()["checks"]) == (200, {"database": "ok"})
    off.extensions["careapp.engine"].dispose()
