"""Batch printing: a week's decisions (Monday..Sunday) as ONE sealed PDF, built in the
background with its progress in a PrintBatch row.

Each decision gets its notice and, when it opened an entitlement that is still open, its
benefit certificate, each with its own number: the number it already has when it was printed
before with the same content (a reprint), else a new one. Decisions are loaded and laid out a
chunk at a time, so memory does not grow with the number of documents' flowables; the PDF is
written to a file and sealed in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import utcnow
from careapp.core.errors import ConflictError, NotFoundError
from careapp.models.certificate import PrintBatch, PrintBatchStatus
from careapp.models.eligibility import EligibilityDecision, EntitlementStatus
from careapp.models.users import Role
from careapp.reports.notices import BatchItem, write_batch
from careapp.reports.seal import seal_pdf_file
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.certificates import (
    Wording,
    entitlements_of,
    issue_benefit_certificate,
    issue_decision_notice,
    load_decisions,
)
from careapp.services.procedure import ProcedureRules

CHUNK = 100  # decisions loaded (and progress recorded) at a time
ERROR_MAX = 500
# A batch still "running" this long after it was asked for died with its process.
STALE_AFTER = dt.timedelta(hours=6)


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The Monday and the Sunday of the week `day` falls in."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def _week_decisions(monday: dt.date) -> tuple[Any, Any]:
    sunday = monday + dt.timedelta(days=6)
    return (
        EligibilityDecision.decided_on >= monday,
        EligibilityDecision.decided_on <= sunday,
    )


def request_print_batch(
    session: Session, actor: Actor, day: dt.date, now: dt.datetime
) -> PrintBatch:
    """Queue the batch of the week of `day`; refuse a second one of the same week while one
    is still being built."""
    user_id = actor.require(Role.ADMIN)
    monday, _sunday = week_of(day)
    running = session.scalar(
        select(PrintBatch.id).where(
            PrintBatch.week_starts_on == monday,
            PrintBatch.status.in_([PrintBatchStatus.QUEUED, PrintBatchStatus.RUNNING]),
            PrintBatch.requested_at > now - STALE_AFTER,
        )
    )
    if running is not None:
        raise ConflictError(
            gettext("The batch of this week is already being printed (batch %(id)d).", id=running)
        )
    total = session.scalar(
        select(func.count()).select_from(EligibilityDecision).where(*_week_decisions(monday))
    )
    batch = PrintBatch(
        week_starts_on=monday,
        status=PrintBatchStatus.QUEUED,
        total=total or 0,
        done=0,
        requested_by_id=user_id,
        requested_at=now,
    )
    session.add(batch)
    session.flush()
    record_event(
        session,
        actor,
        "print_batch.request",
        "print_batch",
        batch.id,
        now=now,
        detail={"week_starts_on": monday.isoformat(), "total": batch.total},
    )
    return batch


def get_print_batch(session: Session, actor: Actor, batch_id: int) -> PrintBatch:
    actor.require(Role.ADMIN)
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise NotFoundError(gettext("No such print batch."))
    return batch


def recent_print_batches(session: Session, actor: Actor, limit: int = 10) -> list[PrintBatch]:
    actor.require(Role.ADMIN)
    return list(
        session.scalars(select(PrintBatch).order_by(PrintBatch.id.desc()).limit(limit)).all()
    )


def build_print_batch(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    directory: Path,
    rules: ProcedureRules,
    base_url: str,
    wording: Wording,
    signer: Any,
    office_name: str,
    checkpoint: Callable[[], None],
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> PrintBatch:
    """Build the batch's PDF: lay out every decision of the week, seal the file, mark it done.

    `checkpoint()` is called after each chunk (the caller commits there, so the progress and
    the certificates issued so far become visible); certificates of a batch that does not
    finish are never reported genuine by the verification page.
    """
    actor.require(Role.ADMIN)
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise NotFoundError(gettext("No such print batch."))
    if batch.status is not PrintBatchStatus.QUEUED:
        raise ConflictError(gettext("This batch has already been started."))
    batch.status = PrintBatchStatus.RUNNING
    monday = batch.week_starts_on
    decision_ids = list(
        session.scalars(
            select(EligibilityDecision.id)
            .where(*_week_decisions(monday))
            .order_by(EligibilityDecision.decided_on, EligibilityDecision.id)
        )
    )
    batch.total = len(decision_ids)
    session.flush()
    checkpoint()

    def items() -> Iterator[BatchItem]:
        for start in range(0, len(decision_ids), CHUNK):
            chunk = decision_ids[start : start + CHUNK]
            entitlements = entitlements_of(session, chunk)
            for decision in load_decisions(session, chunk):
                entitlement = entitlements.get(decision.id)
                now = clock()
                loaded = (decision, entitlement)
                _, notice = issue_decision_notice(
                    session,
                    actor,
                    decision.id,
                    now,
                    rules=rules,
                    base_url=base_url,
                    wording=wording,
                    print_batch_id=batch_id,
                    loaded=loaded,
                )
                certificate = None
                if entitlement is not None and entitlement.status is EntitlementStatus.ACTIVE:
                    _, certificate = issue_benefit_certificate(
                        session,
                        actor,
                        decision.id,
                        now,
                        rules=rules,
                        base_url=base_url,
                        wording=wording,
                        print_batch_id=batch_id,
                        loaded=loaded,
                    )
                yield BatchItem(notice, certificate)

    def progress(done: int) -> None:
        current = session.get(PrintBatch, batch_id)
        if current is None:  # pragma: no cover - the row was locked in by this session
            return
        current.done = done
        if on_progress is not None:
            on_progress(done)
        if done % CHUNK == 0 or done == len(decision_ids):
            session.flush()
            checkpoint()

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"print-batch-{batch_id}.pdf"
    partial = directory / f"print-batch-{batch_id}.part"
    sunday = monday + dt.timedelta(days=6)
    title = f"长期护理保险待遇资格认定决定 {monday.isoformat()} 至 {sunday.isoformat()}"
    try:
        write_batch(partial, items(), title, on_item=progress)
        seal_pdf_file(partial, signer, office_name=office_name)
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    batch = session.get(PrintBatch, batch_id) or batch
    batch.status = PrintBatchStatus.DONE
    batch.done = len(decision_ids)
    batch.file_path = str(final)
    batch.finished_at = clock()
    session.flush()
    record_event(
        session,
        actor,
        "print_batch.complete",
        "print_batch",
        batch.id,
        now=batch.finished_at,
        detail={"week_starts_on": monday.isoformat(), "decisions": len(decision_ids)},
    )
    return batch


def fail_print_batch(
    session: Session, actor: Actor, batch_id: int, message: str, now: dt.datetime
) -> None:
    """Record why a batch stopped (after the caller rolled its work back)."""
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        return
    batch.status = PrintBatchStatus.FAILED
    batch.error = message[:ERROR_MAX]
    batch.finished_at = now
    session.flush()
    record_event(
        session,
        actor,
        "print_batch.fail",
        "print_batch",
        batch.id,
        now=now,
        detail={"error": batch.error},
    )
