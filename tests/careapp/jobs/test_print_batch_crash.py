"""A print batch killed with SIGKILL mid-way is seen abandoned at once and restarts to the end.

A real process builds the batch (slowly, a heartbeat after every document) on a committed
database; the test kills it with SIGKILL once two decisions are printed. The batch is still
"running" in the database, but its process on this host is gone, so it is abandoned at once (no
waiting for the heartbeat limit): its page says so and the administrator's restart button
prints the week to the end, each document once, under the numbers the killed run gave it.

Like tests/careapp/test_concurrent_clients.py it needs committed rows seen by two processes, so
it builds its own database: a SQLite file, or on PostgreSQL a throwaway database.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

import careapp.models  # noqa: F401 - registers every table
from careapp import create_app
from careapp.config import TestConfig
from careapp.core.liveness import Abandonment
from careapp.db import Base, make_engine
from careapp.jobs.print_batches import run_print_batch
from careapp.models import AuditEvent, Certificate, PrintBatch, PrintBatchStatus, Role, User
from careapp.reports.seal import check_seal, create_signing_key
from careapp.services.actor import Actor
from careapp.services.print_batches import batch_abandonment, request_print_batch
from careapp.services.reference import ensure_districts
from tests import factories
from tests.conftest import ROOT, log_in_committed
from tests.factories import NOW
from tests.races import race_database

MONDAY = dt.date(2026, 11, 16)
DECISIONS = 5  # three with a live entitlement (a benefit certificate each), two refusals
DOCUMENTS = DECISIONS + 3
LIMIT = dt.timedelta(minutes=2)

# The batch's own process: the app on the shared database, its clock ticking from NOW, a
# heartbeat after every document and two seconds per document, so the test can kill it mid-way
# even on a loaded machine.
BUILD = """
import datetime as dt, sys, time
from careapp import create_app
from careapp.config import TestConfig
from careapp.core import clock
from careapp.jobs.print_batches import run_print_batch
from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.certificates import certificate_signer

batch_id, admin_id, now, directory, key, cert = sys.argv[1:7]
clock.pin(dt.datetime.fromisoformat(now), ticking=True)
app = create_app(TestConfig)
app.config.update(JOB_HEARTBEAT_SECONDS=0, PRINT_BATCH_DIR=directory,
                  SIGNING_KEY_PATH=key, SIGNING_CERT_PATH=cert)
actor = Actor(user_id=int(admin_id), role=Role.ADMIN, address="crash-test")
run_print_batch(app, int(batch_id), actor, certificate_signer(app.config),
                "https://ltc.example.cn", on_progress=lambda done: time.sleep(2))
"""


@pytest.fixture
def shared_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("postgresql"):
        with race_database(database_url, f"careapp_crash_{os.getpid()}", 3) as engine:
            yield engine.url.render_as_string(hide_password=False)
        return
    url = f"sqlite+pysqlite:///{tmp_path / 'crash.sqlite'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def crash_app(shared_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app on the shared database, as a second web worker would run it."""
    monkeypatch.setenv("CAREAPP_DATABASE_URL", shared_url)
    app = create_app(TestConfig)
    seal = create_signing_key(tmp_path / "seal")
    app.config.update(
        SIGNING_KEY_PATH=str(seal.key_path),
        SIGNING_CERT_PATH=str(seal.cert_path),
        PRINT_BATCH_DIR=str(tmp_path / "batches"),
        JOB_ABANDONED_AFTER_SECONDS=LIMIT.total_seconds(),
    )

    def inline(batch_id: int, actor: Actor, signer: Any, base_url: str) -> None:
        run_print_batch(app, batch_id, actor, signer, base_url)

    app.extensions["careapp.print_batch_launcher"] = inline
    yield app
    app.extensions["careapp.engine"].dispose()


def _seed(engine: Engine) -> tuple[int, int]:
    """The week's decisions, an administrator and the batch asked for (committed)."""
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            ensure_districts(session)
            for offset in (0, 3, 6):
                day = MONDAY + dt.timedelta(days=offset)
                factories.EntitlementFactory(decision__decided_on=day, starts_on=day)
            for offset in (1, 2):
                factories.EligibilityDecisionFactory(
                    decided_on=MONDAY + dt.timedelta(days=offset), is_eligible=False
                )
            admin: User = factories.UserFactory(admin=True)
            session.flush()
            actor = Actor(user_id=admin.id, role=Role.ADMIN, address="crash-test")
            batch = request_print_batch(session, actor, MONDAY, NOW)
            session.commit()
        finally:
            factories.bind(None)
    return batch.id, admin.id


def _wait_for(engine: Engine, batch_id: int, done: int, builder: subprocess.Popen[bytes]) -> None:
    """Wait until the batch has committed `done` documents. The progress is read by a plain
    engine: on SQLite the app's engine takes the write lock for every transaction, and the
    builder holds it while it lays out (and here sleeps over) a document, so the app's engine
    would wait for the lock until the batch is over."""
    reader = create_engine(engine.url)
    deadline = time.monotonic() + 60
    try:
        while True:
            with Session(reader) as session:
                batch = session.get(PrintBatch, batch_id)
                assert batch is not None
                if batch.status is PrintBatchStatus.RUNNING and batch.done >= done:
                    return
            assert builder.poll() is None, f"the batch's process ended early ({batch.status})"
            assert time.monotonic() < deadline, "the batch made no progress"
            time.sleep(0.1)
    finally:
        reader.dispose()


def test_a_batch_killed_mid_way_is_abandoned_at_once_and_restarts_to_the_end(
    crash_app: Flask, tmp_path: Path
) -> None:
    engine = crash_app.extensions["careapp.engine"]
    batch_id, admin_id = _seed(engine)
    builder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            BUILD,
            str(batch_id),
            str(admin_id),
            NOW.isoformat(),
            crash_app.config["PRINT_BATCH_DIR"],
            crash_app.config["SIGNING_KEY_PATH"],
            crash_app.config["SIGNING_CERT_PATH"],
        ],
        cwd=ROOT,
        env={**os.environ, "CAREAPP_DATABASE_URL": str(crash_app.config["DATABASE_URL"])},
    )
    try:
        _wait_for(engine, batch_id, 2, builder)
        os.kill(builder.pid, signal.SIGKILL)
    finally:
        builder.kill()
        builder.wait()
    assert builder.returncode == -signal.SIGKILL

    with Session(engine) as session:
        killed = session.get(PrintBatch, batch_id)
        assert killed is not None
        assert killed.status is PrintBatchStatus.RUNNING  # what the crash left behind
        assert killed.runner_pid == builder.pid
        # abandoned at once: its heartbeat is fresh, but its process is gone
        assert batch_abandonment(killed, NOW, LIMIT) is Abandonment.RUNNER_GONE
        numbered = set(
            session.scalars(
                select(Certificate.number).where(Certificate.print_batch_id == batch_id)
            )
        )
    assert numbered  # the killed run had numbered its first documents

    client = crash_app.test_client()
    client.post("/lang/en")
    log_in_committed(client, engine, admin_id)
    page = client.get(f"/certificates/batches/{batch_id}").get_data(as_text=True)
    assert "Abandoned (the process printing it has stopped)" in page
    assert 'id="print-batch-restart"' in page
    assert client.get(f"/certificates/batches/{batch_id}/status.json").get_json()["status"] == (
        "abandoned"
    )

    restarted = client.post(f"/certificates/batches/{batch_id}/restart")
    assert restarted.status_code == 302
    state = client.get(f"/certificates/batches/{batch_id}/status.json").get_json()
    assert (state["status"], state["done"], state["total"]) == ("done", DECISIONS, DECISIONS)
    again = client.post(f"/certificates/batches/{batch_id}/restart")
    assert again.status_code == 409  # done: nothing to restart

    with Session(engine) as session:
        numbers = session.scalars(select(Certificate.number)).all()
        assert len(numbers) == DOCUMENTS  # each document once
        assert numbered <= set(numbers)  # under the numbers the killed run gave them
        batch = session.get(PrintBatch, batch_id)
        assert batch is not None
        assert batch.attempt == 1
        assert batch.file_path is not None
        pdf = Path(batch.file_path).read_bytes()
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "print_batch")
            .order_by(AuditEvent.id)
        ).all()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == DOCUMENTS
    assert check_seal(pdf, crash_app.config["SIGNING_CERT_PATH"]).is_valid
    assert sorted(p.name for p in Path(crash_app.config["PRINT_BATCH_DIR"]).iterdir()) == [
        f"print-batch-{batch_id}.pdf"  # the killed run's partial file is gone
    ]
    assert actions == ["print_batch.request", "print_batch.restart", "print_batch.complete"]
