"""Batch printing: a week's decisions (Monday..Sunday) as ONE sealed PDF, built in the
background with its progress in a PrintBatch row.

A batch in progress records its runner (host and process) and a heartbeat, refreshed every
`HEARTBEAT_EVERY` and at each chunk. Once `careapp.core.liveness` finds it abandoned (its
process gone, or no heartbeat within the limit) it no longer blocks its week, and an
administrator may restart it: the restart takes the next `attempt` by a conditional UPDATE, so
two restarts at once start one run, and every write of a run is fenced by its attempt, so a run
that was only slow (not dead) stops at its next heartbeat instead of racing the new one. A
restarted batch prints the same documents under the same numbers: a document whose content did
not change is reprinted under its certificate (`services.certificates`), never numbered twice.

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

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from careapp.core.clock import utcnow
from careapp.core.errors import ConflictError, NotFoundError
from careapp.core.liveness import Abandonment, Runner, abandonment, this_runner
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
# A batch in progress shows it is alive this often (and at each chunk) ...
HEARTBEAT_EVERY = dt.timedelta(seconds=5)
# ... and is abandoned when it has not for this long (config JOB_ABANDONED_AFTER_SECONDS).
ABANDONED_AFTER = dt.timedelta(minutes=2)
IN_PROGRESS = (PrintBatchStatus.QUEUED, PrintBatchStatus.RUNNING)


class BatchTakenOverError(ConflictError):
    """This run's batch was restarted or given up by someone else: the run stops, writing
    nothing more (the batch now belongs to its newer attempt)."""


def batch_abandonment(
    batch: PrintBatch,
    now: dt.datetime,
    limit: dt.timedelta = ABANDONED_AFTER,
    here: Runner | None = None,
) -> Abandonment | None:
    """Why this batch in progress is abandoned, or None (alive, or not in progress)."""
    if batch.status not in IN_PROGRESS:
        return None
    runner = (
        Runner(batch.runner_host, batch.runner_pid)
        if batch.runner_host is not None and batch.runner_pid is not None
        else None
    )
    return abandonment(
        heartbeat_at=batch.heartbeat_at,
        runner=runner,
        now=now,
        limit=limit,
        here=here or this_runner(),
    )


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


def _busy(batch_id: int) -> ConflictError:
    return ConflictError(
        gettext("The batch of this week is already being printed (batch %(id)d).", id=batch_id)
    )


def request_print_batch(
    session: Session,
    actor: Actor,
    day: dt.date,
    now: dt.datetime,
    *,
    abandoned_after: dt.timedelta = ABANDONED_AFTER,
    runner: Runner | None = None,
) -> PrintBatch:
    """Queue the batch of the week of `day`, to be built by `runner` (default: this process).

    A second batch of the same week is refused while one is in progress; an abandoned one is
    given up (failed, with the reason) and replaced. One batch in progress per week is also a
    partial unique index, so two requests at once cannot both queue one.
    """
    user_id = actor.require(Role.ADMIN)
    monday, _sunday = week_of(day)
    in_progress = session.scalars(
        select(PrintBatch)
        .where(PrintBatch.week_starts_on == monday, PrintBatch.status.in_(IN_PROGRESS))
        .order_by(PrintBatch.id)
        .with_for_update()
    ).all()
    abandoned = [(b, batch_abandonment(b, now, abandoned_after)) for b in in_progress]
    for batch, reason in abandoned:
        if reason is None:
            raise _busy(batch.id)
    for batch, reason in abandoned:
        _give_up(session, actor, batch, reason, now)
    total = session.scalar(
        select(func.count()).select_from(EligibilityDecision).where(*_week_decisions(monday))
    )
    runner = runner or this_runner()
    batch = PrintBatch(
        week_starts_on=monday,
        status=PrintBatchStatus.QUEUED,
        total=total or 0,
        done=0,
        requested_by_id=user_id,
        requested_at=now,
        runner_host=runner.host,
        runner_pid=runner.pid,
        heartbeat_at=now,
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:  # another request queued this week's batch at the same moment
        raise ConflictError(gettext("The batch of this week is already being printed.")) from None
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


def _give_up(
    session: Session, actor: Actor, batch: PrintBatch, reason: Abandonment | None, now: dt.datetime
) -> None:
    """Mark an abandoned batch failed with its reason (its attempt fences it: refused if it was
    restarted meanwhile)."""
    message = gettext(
        "Abandoned: the process printing it stopped (last sign of life %(at)s UTC); "
        "a new batch of the week replaced it.",
        at=batch.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S") if batch.heartbeat_at else "-",
    )
    if not _fenced_update(
        session,
        batch.id,
        batch.attempt,
        IN_PROGRESS,
        status=PrintBatchStatus.FAILED,
        error=message[:ERROR_MAX],
        finished_at=now,
    ):
        raise _busy(batch.id)
    record_event(
        session,
        actor,
        "print_batch.abandon",
        "print_batch",
        batch.id,
        now=now,
        detail={"attempt": batch.attempt, "reason": reason.value if reason else None},
    )


def _fenced_update(
    session: Session,
    batch_id: int,
    attempt: int,
    statuses: tuple[PrintBatchStatus, ...],
    /,
    **values: Any,
) -> bool:
    """UPDATE the batch if it is still at `attempt` and in one of `statuses`; whether it was.

    A conditional UPDATE is atomic on both databases: of two writers that read the same row,
    the second finds the condition false once the first has committed (PostgreSQL re-reads the
    row it waited for; SQLite runs one writer at a time).
    """
    result = session.execute(
        update(PrintBatch)
        .where(
            PrintBatch.id == batch_id,
            PrintBatch.attempt == attempt,
            PrintBatch.status.in_(statuses),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    loaded = session.identity_map.get(identity_key(PrintBatch, batch_id))
    if loaded is not None:
        session.expire(loaded)  # read again from the row, whoever wrote it
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult


def restart_print_batch(
    session: Session,
    actor: Actor,
    batch_id: int,
    now: dt.datetime,
    *,
    abandoned_after: dt.timedelta = ABANDONED_AFTER,
    runner: Runner | None = None,
) -> PrintBatch:
    """Queue an abandoned batch again, to be built by `runner` (default: this process).

    Only an abandoned batch is restarted; of two restarts at once, one wins (the attempt is
    taken by a conditional UPDATE) and the other is refused. The caller launches the run.
    """
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only an administrator can restart a print batch.")
    )
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise NotFoundError(gettext("No such print batch."))
    reason = batch_abandonment(batch, now, abandoned_after)
    if reason is None:
        raise ConflictError(gettext("Only an abandoned batch can be restarted; this one is not."))
    previous = {
        "attempt": batch.attempt,
        "runner": f"{batch.runner_host}:{batch.runner_pid}",
        "done": batch.done,
        "reason": reason.value,
    }
    runner = runner or this_runner()
    if not _fenced_update(
        session,
        batch.id,
        batch.attempt,
        IN_PROGRESS,
        status=PrintBatchStatus.QUEUED,
        attempt=batch.attempt + 1,
        runner_host=runner.host,
        runner_pid=runner.pid,
        heartbeat_at=now,
        done=0,
        error=None,
    ):
        raise ConflictError(gettext("This batch has just been restarted by someone else."))
    record_event(
        session,
        actor,
        "print_batch.restart",
        "print_batch",
        batch.id,
        now=now,
        detail={"attempt": batch.attempt, "previous": previous},
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
    attempt: int | None = None,
    heartbeat_every: dt.timedelta = HEARTBEAT_EVERY,
    runner: Runner | None = None,
) -> PrintBatch:
    """Build the batch's PDF: lay out every decision of the week, seal the file, mark it done.

    The run claims the queued batch at `attempt` (default: its current one) for `runner`
    (default: this process). `checkpoint()` is called after each chunk and each heartbeat (the
    caller commits there, so the progress, the heartbeat and the certificates issued so far
    become visible); certificates of a batch that does not finish are never reported genuine
    by the verification page. Raises BatchTakenOverError when the batch was restarted or given
    up underneath.
    """
    actor.require(Role.ADMIN)
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise NotFoundError(gettext("No such print batch."))
    # Another run has it (or it ended): this run writes nothing, not even a failure.
    if batch.status is not PrintBatchStatus.QUEUED:
        raise BatchTakenOverError(gettext("This batch has already been started."))
    attempt = batch.attempt if attempt is None else attempt
    runner = runner or this_runner()
    if not _fenced_update(
        session,
        batch_id,
        attempt,
        (PrintBatchStatus.QUEUED,),
        status=PrintBatchStatus.RUNNING,
        runner_host=runner.host,
        runner_pid=runner.pid,
        heartbeat_at=clock(),
        done=0,
    ):
        raise BatchTakenOverError(gettext("This batch has already been started."))
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

    last_beat = clock()

    def beat(done: int) -> None:
        """Record the progress and a sign of life, if the batch is still this run's."""
        nonlocal last_beat
        last_beat = clock()
        if not _fenced_update(
            session,
            batch_id,
            attempt,
            (PrintBatchStatus.RUNNING,),
            done=done,
            heartbeat_at=last_beat,
        ):
            raise BatchTakenOverError(
                gettext("This batch was restarted elsewhere; this run stopped.")
            )
        checkpoint()

    def progress(done: int) -> None:
        if on_progress is not None:
            on_progress(done)
        if done % CHUNK == 0 or done == len(decision_ids) or clock() - last_beat >= heartbeat_every:
            beat(done)

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"print-batch-{batch_id}.pdf"
    partial = directory / f"print-batch-{batch_id}-{attempt}.part"
    for leftover in directory.glob(f"print-batch-{batch_id}-*.part"):
        leftover.unlink(missing_ok=True)  # an earlier attempt's, killed before it cleaned up
    sunday = monday + dt.timedelta(days=6)
    title = f"长期护理保险待遇资格认定决定 {monday.isoformat()} 至 {sunday.isoformat()}"
    try:
        write_batch(partial, items(), title, on_item=progress)
        seal_pdf_file(partial, signer, office_name=office_name)
        beat(len(decision_ids))  # still this run's: only then does the file replace the last
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    finished_at = clock()
    if not _fenced_update(
        session,
        batch_id,
        attempt,
        (PrintBatchStatus.RUNNING,),
        status=PrintBatchStatus.DONE,
        done=len(decision_ids),
        file_path=str(final),
        finished_at=finished_at,
        heartbeat_at=finished_at,
    ):  # pragma: no cover - the beat just above holds the row (PostgreSQL) or the database
        raise BatchTakenOverError(gettext("This batch was restarted elsewhere; this run stopped."))
    batch = session.get(PrintBatch, batch_id) or batch
    record_event(
        session,
        actor,
        "print_batch.complete",
        "print_batch",
        batch.id,
        now=finished_at,
        detail={
            "week_starts_on": monday.isoformat(),
            "decisions": len(decision_ids),
            "attempt": attempt,
        },
    )
    return batch


def fail_print_batch(
    session: Session,
    actor: Actor,
    batch_id: int,
    message: str,
    now: dt.datetime,
    attempt: int | None = None,
) -> None:
    """Record why a batch stopped (after the caller rolled its work back); with `attempt`,
    only if the batch is still at that attempt and in progress."""
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        return
    if attempt is not None and not _fenced_update(
        session,
        batch_id,
        attempt,
        IN_PROGRESS,
        status=PrintBatchStatus.FAILED,
        error=message[:ERROR_MAX],
        finished_at=now,
    ):
        return  # restarted meanwhile: the failure of an old attempt is not the batch's
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
