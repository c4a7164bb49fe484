"""Batch printing of a week's decisions: one sealed PDF, progress, failures."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.jobs.print_batches import run_print_batch
from careapp.models import (
    AuditEvent,
    Certificate,
    CertificateKind,
    EntitlementStatus,
    PrintBatch,
    PrintBatchStatus,
    User,
)
from careapp.reports.seal import check_seal, load_signer
from careapp.services.actor import Actor
from careapp.services.certificates import VerificationResult, verify_certificate
from careapp.services.print_batches import (
    build_print_batch,
    get_print_batch,
    request_print_batch,
    week_of,
)
from careapp.services.procedure import ProcedureRules
from careapp.web.wording import WORDING
from tests.factories import NOW, EligibilityDecisionFactory, EntitlementFactory, UserFactory

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
