"""Batch printing of a week's decisions: one sealed PDF, progress, failures."""

from __future__ import annotations

import datetime as dt
import io
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.core.liveness import Abandonment, Runner, this_runner
from careapp.jobs.print_batches import run_print_batch
from careapp.models import (
    AuditEvent,
    Certificate,
    CertificateKind,
    EligibilityDecision,
    EntitlementStatus,
    PrintBatch,
    PrintBatchStatus,
    User,
)
from careapp.reports.seal import check_seal, load_signer
from careapp.services.actor import Actor
from careapp.services.certificates import (
    VerificationResult,
    issue_decision_notice,
    verify_certificate,
)
from careapp.services.print_batches import (
    BatchTakenOverError,
    batch_abandonment,
    build_print_batch,
    fail_print_batch,
    get_print_batch,
    request_print_batch,
    restart_print_batch,
    week_of,
)
from careapp.services.procedure import ProcedureRules
from careapp.web.wording import WORDING
from tests.factories import (
    NOW,
    EligibilityDecisionFactory,
    EntitlementFactory,
    PrintBatchFactory,
    UserFactory,
)

MONDAY = dt.date(2026, 11, 16)


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, address="10.0.0.7")


def _week(db_session: Session) -> dict[str, int]:
    """Three live entitlements, one refusal, one ended entitlement in the week; one outside."""
    for day in (MONDAY, MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=6)):
        EntitlementFactory(decision__decided_on=day, starts_on=day)
    EligibilityDecisionFactory(decided_on=MONDAY + dt.timedelta(days=2), is_eligible=False)
    EntitlementFactory(
        decision__decided_on=MONDAY + dt.timedelta(days=4),
        status=EntitlementStatus.ENDED,
        ends_on=MONDAY + dt.timedelta(days=5),
    )
    EntitlementFactory(decision__decided_on=MONDAY + dt.timedelta(days=7))  # the next week
    db_session.flush()
    return {"decisions": 5, "certificates": 3, "pages": 5 + 3}


@pytest.mark.parametrize(
    "day", [MONDAY, MONDAY + dt.timedelta(days=3), MONDAY + dt.timedelta(days=6)]
)
def test_week_of_runs_monday_to_sunday(day: dt.date) -> None:
    assert week_of(day) == (MONDAY, MONDAY + dt.timedelta(days=6))


def test_request_print_batch_counts_the_weeks_decisions(
    db_session: Session, admin_user: User
) -> None:
    expected = _week(db_session)
    batch = request_print_batch(db_session, _actor(admin_user), MONDAY + dt.timedelta(days=2), NOW)
    assert batch.week_starts_on == MONDAY
    assert batch.total == expected["decisions"]
    assert batch.status is PrintBatchStatus.QUEUED
    with pytest.raises(ConflictError):  # the same week, while the first is unfinished
        request_print_batch(db_session, _actor(admin_user), MONDAY, NOW)
    with pytest.raises(PermissionDeniedError):
        request_print_batch(db_session, _actor(UserFactory(assessor=True)), MONDAY, NOW)
    with pytest.raises(NotFoundError):
        get_print_batch(db_session, _actor(admin_user), 987_654)


def test_build_print_batch_one_sealed_pdf(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    expected = _week(db_session)
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    signer = load_signer(app.config["SIGNING_KEY_PATH"], app.config["SIGNING_CERT_PATH"])
    progress: list[int] = []
    checkpoints: list[int] = []

    def checkpoint() -> None:
        stored = db_session.get(PrintBatch, batch.id)
        checkpoints.append(stored.done if stored else -1)

    done = build_print_batch(
        db_session,
        actor,
        batch.id,
        directory=tmp_path,
        rules=ProcedureRules(),
        base_url="https://ltc.example.cn",
        wording=WORDING,
        signer=signer,
        office_name="长期护理保险经办机构",
        checkpoint=checkpoint,
        on_progress=progress.append,
        clock=lambda: NOW,
    )
    assert done.status is PrintBatchStatus.DONE
    assert done.done == done.total == expected["decisions"]
    assert progress == [1, 2, 3, 4, 5]
    assert checkpoints[0] == 0  # RUNNING is committed before the first page
    assert checkpoints[-1] == expected["decisions"]
    assert done.file_path is not None
    pdf = Path(done.file_path).read_bytes()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == expected["pages"]
    status = check_seal(pdf, app.config["SIGNING_CERT_PATH"])
    assert status.is_valid  # signed once, over the whole file
    assert list(tmp_path.glob("*.part")) == []
    kinds = db_session.scalars(
        select(Certificate.kind).where(Certificate.print_batch_id == batch.id)
    ).all()
    assert sorted(k.value for k in kinds) == ["benefit"] * 3 + ["decision_notice"] * 5
    certificate = db_session.scalars(
        select(Certificate).where(
            Certificate.print_batch_id == batch.id, Certificate.kind == CertificateKind.BENEFIT
        )
    ).first()
    assert certificate is not None
    number, code = certificate.number, certificate.check_code
    public = Actor(user_id=None, role=None, address="203.0.113.5")
    verification = verify_certificate(db_session, public, number, NOW, 30, raw_code=code)
    assert verification.result is VerificationResult.VALID
    text = "".join(PdfReader(io.BytesIO(pdf)).pages[1].extract_text().split())
    # The number with its check code beside it, and the code in the address the QR code holds.
    assert f"{number}核验码：{code[:5]}-{code[5:]}" in text
    actions = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "print_batch")
        .order_by(AuditEvent.id)  # without it PostgreSQL may return them in either order
    ).all()
    assert actions == ["print_batch.request", "print_batch.complete"]


def test_run_print_batch_failure_is_recorded_and_its_numbers_stay_unknown(
    app: Flask, db_session: Session, admin_user: User
) -> None:
    _week(db_session)
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    db_session.commit()

    class BrokenSigner:
        """Signing fails after every page was laid out."""

    assert run_print_batch(app, batch.id, actor, BrokenSigner(), "https://x") is False
    db_session.expire_all()
    failed = db_session.get(PrintBatch, batch.id)
    assert failed is not None
    assert failed.status is PrintBatchStatus.FAILED
    assert failed.error
    assert failed.file_path is None
    numbered = db_session.scalars(
        select(Certificate).where(Certificate.print_batch_id == batch.id)
    ).all()
    public = Actor(user_id=None, role=None, address="203.0.113.6")
    for certificate in numbered:  # whatever was committed before the failure is not genuine
        verification = verify_certificate(
            db_session, public, certificate.number, NOW, 1000, raw_code=certificate.check_code
        )
        assert verification.result is VerificationResult.UNKNOWN


def test_build_print_batch_refuses_a_started_batch(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    batch = request_print_batch(db_session, _actor(admin_user), MONDAY, NOW)
    batch.status = PrintBatchStatus.RUNNING
    db_session.flush()
    with pytest.raises(ConflictError):
        build_print_batch(
            db_session,
            _actor(admin_user),
            batch.id,
            directory=tmp_path,
            rules=ProcedureRules(),
            base_url="https://x",
            wording=WORDING,
            signer=None,
            office_name="长期护理保险经办机构",
            checkpoint=lambda: None,
        )


# --- abandoned batches: detected, given up or restarted ------------------------------------

LIMIT = dt.timedelta(minutes=2)
GONE = Runner(socket.gethostname(), 2**22 + 7)  # above Linux's pid_max: no such process


def _build(
    app: Flask,
    db_session: Session,
    actor: Actor,
    batch_id: int,
    path: Path,
    checkpoint: Callable[[], object] | None = None,
) -> PrintBatch:
    return build_print_batch(
        db_session,
        actor,
        batch_id,
        directory=path,
        rules=ProcedureRules(),
        base_url="https://ltc.example.cn",
        wording=WORDING,
        signer=load_signer(app.config["SIGNING_KEY_PATH"], app.config["SIGNING_CERT_PATH"]),
        office_name="长期护理保险经办机构",
        checkpoint=checkpoint or db_session.flush,
        clock=lambda: NOW,
    )


def test_a_batch_whose_process_is_gone_is_abandoned_at_once(
    db_session: Session, admin_user: User, clock
) -> None:  # type: ignore[no-untyped-def]
    batch = request_print_batch(db_session, _actor(admin_user), MONDAY, NOW, runner=GONE)
    assert batch_abandonment(batch, NOW, LIMIT) is Abandonment.RUNNER_GONE
    alive = request_print_batch(db_session, _actor(admin_user), MONDAY + dt.timedelta(7), NOW)
    assert batch_abandonment(alive, NOW, LIMIT) is None  # this process, just now
    assert batch_abandonment(alive, NOW + LIMIT + dt.timedelta(seconds=1), LIMIT) is (
        Abandonment.HEARTBEAT_STALE
    )
    alive.status = PrintBatchStatus.DONE
    assert batch_abandonment(alive, NOW + LIMIT * 10, LIMIT) is None  # done is never abandoned


def test_an_abandoned_batch_no_longer_blocks_its_week(
    db_session: Session, admin_user: User
) -> None:
    actor = _actor(admin_user)
    first = request_print_batch(db_session, actor, MONDAY, NOW, runner=GONE)
    second = request_print_batch(db_session, actor, MONDAY, NOW)
    db_session.refresh(first)
    assert first.status is PrintBatchStatus.FAILED
    assert first.error is not None
    assert first.error.startswith("已中断")  # zh by default; recorded in the locale of the time
    assert second.status is PrintBatchStatus.QUEUED
    with pytest.raises(ConflictError):  # the second is alive: it blocks the week
        request_print_batch(db_session, actor, MONDAY, NOW)
    actions = db_session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "print_batch")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["print_batch.request", "print_batch.abandon", "print_batch.request"]


def test_a_silent_batch_is_abandoned_after_the_limit_only(
    db_session: Session, admin_user: User
) -> None:
    actor = _actor(admin_user)
    elsewhere = Runner("web-2.example", 4242)  # another host: only its heartbeat tells
    request_print_batch(db_session, actor, MONDAY, NOW, runner=elsewhere)
    with pytest.raises(ConflictError):
        request_print_batch(db_session, actor, MONDAY, NOW + LIMIT, abandoned_after=LIMIT)
    later = NOW + LIMIT + dt.timedelta(seconds=1)
    replacement = request_print_batch(db_session, actor, MONDAY, later, abandoned_after=LIMIT)
    assert replacement.status is PrintBatchStatus.QUEUED


def test_restart_prints_the_same_documents_once(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    """A batch killed after its first decisions, restarted: each document keeps its number."""
    expected = _week(db_session)
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    db_session.flush()
    with pytest.raises(ConflictError):  # alive: nothing to restart
        restart_print_batch(db_session, actor, batch.id, NOW)
    first_notice, _ = issue_decision_notice(  # what the killed run had numbered
        db_session,
        actor,
        db_session.scalars(select(EligibilityDecision.id).order_by(EligibilityDecision.id)).first()
        or 0,
        NOW,
        rules=ProcedureRules(),
        base_url="https://ltc.example.cn",
        wording=WORDING,
        print_batch_id=batch.id,
    )
    batch.status, batch.runner_pid, batch.done = PrintBatchStatus.RUNNING, GONE.pid, 1
    db_session.flush()
    restarted = restart_print_batch(db_session, actor, batch.id, NOW, runner=this_runner())
    assert (restarted.status, restarted.attempt, restarted.done) == (PrintBatchStatus.QUEUED, 1, 0)
    assert batch_abandonment(restarted, NOW, LIMIT) is None
    with pytest.raises(ConflictError):  # restarted: alive again, a second press is refused
        restart_print_batch(db_session, actor, batch.id, NOW)
    done = _build(app, db_session, actor, batch.id, tmp_path)
    assert (done.status, done.done, done.attempt) == (PrintBatchStatus.DONE, 5, 1)
    numbers = db_session.scalars(
        select(Certificate.number).where(Certificate.print_batch_id == batch.id)
    ).all()
    assert len(numbers) == expected["decisions"] + expected["certificates"]  # once each
    assert len(db_session.scalars(select(Certificate.id)).all()) == len(numbers)
    assert first_notice.number in numbers
    assert [p.name for p in tmp_path.iterdir()] == [f"print-batch-{batch.id}.pdf"]
    restart = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "print_batch.restart")
    ).one()
    assert restart.detail["attempt"] == 1
    assert restart.detail["previous"]["reason"] == "runner_gone"


def test_restart_refusals(db_session: Session, admin_user: User) -> None:
    actor = _actor(admin_user)
    with pytest.raises(NotFoundError):
        restart_print_batch(db_session, actor, 987_654, NOW)
    batch = request_print_batch(db_session, actor, MONDAY, NOW, runner=GONE)
    with pytest.raises(PermissionDeniedError):
        restart_print_batch(db_session, _actor(UserFactory(assessor=True)), batch.id, NOW)
    batch.status = PrintBatchStatus.DONE
    db_session.flush()
    with pytest.raises(ConflictError):  # done: never abandoned
        restart_print_batch(db_session, actor, batch.id, NOW)


def test_a_run_whose_batch_was_restarted_stops_and_writes_nothing(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    """A run that was only slow: its batch restarted underneath, its next heartbeat stops it."""
    _week(db_session)
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    stolen = False

    def checkpoint() -> None:
        nonlocal stolen
        if not stolen:  # right after the run claimed it: someone restarts it
            stolen = True
            db_session.execute(
                update(PrintBatch)
                .where(PrintBatch.id == batch.id)
                .values(attempt=PrintBatch.attempt + 1, status=PrintBatchStatus.QUEUED)
            )

    with pytest.raises(BatchTakenOverError):
        _build(app, db_session, actor, batch.id, tmp_path, checkpoint)
    db_session.expire_all()
    assert db_session.get(PrintBatch, batch.id).status is PrintBatchStatus.QUEUED  # type: ignore[union-attr]
    assert list(tmp_path.glob("*.pdf")) == []
    # ...and its failure handler leaves the new attempt alone
    fail_print_batch(db_session, actor, batch.id, "old run", NOW, attempt=0)
    stored = db_session.get(PrintBatch, batch.id)
    assert stored is not None
    assert (stored.status, stored.error) == (PrintBatchStatus.QUEUED, None)


def test_heartbeat_every_few_seconds_between_chunks(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    _week(db_session)
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    ticks = iter(range(0, 1000, 3))  # each read of the clock 3 s later
    beats: list[tuple[int, dt.datetime | None]] = []

    def checkpoint() -> None:
        stored = db_session.get(PrintBatch, batch.id)
        assert stored is not None
        beats.append((stored.done, stored.heartbeat_at))

    build_print_batch(
        db_session,
        actor,
        batch.id,
        directory=tmp_path,
        rules=ProcedureRules(),
        base_url="https://ltc.example.cn",
        wording=WORDING,
        signer=load_signer(app.config["SIGNING_KEY_PATH"], app.config["SIGNING_CERT_PATH"]),
        office_name="长期护理保险经办机构",
        checkpoint=checkpoint,
        clock=lambda: NOW + dt.timedelta(seconds=next(ticks)),
        heartbeat_every=dt.timedelta(seconds=5),
    )
    done = [d for d, _ in beats]
    assert done[0] == 0
    assert done[-1] == 5
    assert len(set(done[1:-1])) >= 2  # beats between the chunk boundaries (CHUNK is 100)
    moments = [at for _, at in beats]
    assert moments == sorted(moments)  # each beat a later sign of life


def _taken_underneath(db_session: Session, batch: PrintBatch, **values: object) -> None:
    """Another connection's write this session has not seen (its loaded row stays as it was)."""
    db_session.execute(
        update(PrintBatch)
        .where(PrintBatch.id == batch.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def test_a_restart_that_lost_the_race_is_refused(db_session: Session, admin_user: User) -> None:
    batch = PrintBatchFactory(abandoned=True)
    _taken_underneath(db_session, batch, attempt=1)  # the other administrator was first
    with force_locale("en"), pytest.raises(ConflictError, match="just been restarted"):
        restart_print_batch(db_session, _actor(admin_user), batch.id, NOW)


def test_a_run_that_lost_the_claim_writes_nothing(
    app: Flask, db_session: Session, admin_user: User, tmp_path: Path
) -> None:
    batch = request_print_batch(db_session, _actor(admin_user), MONDAY, NOW)
    _taken_underneath(db_session, batch, status=PrintBatchStatus.RUNNING)  # another run's
    with pytest.raises(BatchTakenOverError):
        _build(app, db_session, _actor(admin_user), batch.id, tmp_path)


def test_run_print_batch_of_a_batch_another_run_has_leaves_it_alone(
    app: Flask, db_session: Session, admin_user: User
) -> None:
    actor = _actor(admin_user)
    batch = request_print_batch(db_session, actor, MONDAY, NOW)
    batch.status = PrintBatchStatus.RUNNING  # another run's, alive
    db_session.commit()
    assert run_print_batch(app, batch.id, actor, None, "https://x") is False
    db_session.expire_all()
    stored = db_session.get(PrintBatch, batch.id)
    assert stored is not None
    assert (stored.status, stored.error) == (PrintBatchStatus.RUNNING, None)  # not "failed"
    fail_print_batch(db_session, actor, 987_654, "no such batch", NOW)  # nothing to record
