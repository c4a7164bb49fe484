"""Running a print batch outside the request: in a background thread of the web process (the
page polls its progress) or in the foreground of `careapp print-decisions`.

Like the scheduler's jobs, the runner pushes its own app context (so it has its own database
session), calls one service and commits at its checkpoints and at the end. The batch records
this process as its runner and a heartbeat (every JOB_HEARTBEAT_SECONDS): if the process dies,
even by SIGKILL, the batch is seen abandoned at once on this host (its process is gone) and
everywhere after JOB_ABANDONED_AFTER_SECONDS, and an administrator can restart it
(`careapp.services.print_batches`, docs/security/crash-leftovers.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext

from careapp import metrics
from careapp.core.clock import utcnow
from careapp.services.actor import Actor

logger = logging.getLogger(__name__)
# The name of a batch's thread: this prefix and the batch's id.
THREAD_PREFIX = "print-batch-"


def print_batch_directory(app: Flask) -> Path:
    configured = app.config.get("PRINT_BATCH_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "print-batches"


def abandoned_after(app: Flask) -> dt.timedelta:
    """How long a batch in progress may go without a heartbeat before it is abandoned."""
    return dt.timedelta(seconds=float(app.config["JOB_ABANDONED_AFTER_SECONDS"]))


def run_print_batch(
    app: Flask,
    batch_id: int,
    actor: Actor,
    signer: Any,
    base_url: str,
    on_progress: Callable[[int], None] | None = None,
) -> bool:
    """Build the batch; on any failure roll back and record the error on the batch.

    Returns True when the batch was completed. Counted and timed as the job `print-batch`
    (`careapp_jobs_total`): completed, failed, or taken_over (restarted elsewhere meanwhile).
    """
    with metrics.track_job(metrics.PRINT_BATCH_JOB) as outcome:
        outcome.value = _run_print_batch(app, batch_id, actor, signer, base_url, on_progress)
    return outcome.value == metrics.COMPLETED


def _run_print_batch(
    app: Flask,
    batch_id: int,
    actor: Actor,
    signer: Any,
    base_url: str,
    on_progress: Callable[[int], None] | None,
) -> str:
    from careapp import db
    from careapp.core.errors import CareappError
    from careapp.models.certificate import PrintBatch
    from careapp.services.print_batches import (
        BatchTakenOverError,
        build_print_batch,
        fail_print_batch,
    )
    from careapp.services.procedure import ProcedureRules
    from careapp.web.wording import WORDING

    with app.app_context():
        session = db.session()
        queued = session.get(PrintBatch, batch_id)
        attempt = queued.attempt if queued is not None else None
        session.commit()  # the attempt this run claims; nothing held while it is built
        try:
            build_print_batch(
                session,
                actor,
                batch_id,
                directory=print_batch_directory(app),
                rules=ProcedureRules.from_config(app.config),
                base_url=base_url,
                wording=WORDING,
                signer=signer,
                office_name=str(app.config["SEAL_OFFICE_NAME"]),
                checkpoint=session.commit,
                on_progress=on_progress,
                attempt=attempt,
                heartbeat_every=dt.timedelta(seconds=float(app.config["JOB_HEARTBEAT_SECONDS"])),
            )
            session.commit()
        except BatchTakenOverError:
            session.rollback()
            logger.warning(
                "print batch %d was restarted elsewhere; attempt %s stops", batch_id, attempt
            )
            return "taken_over"
        except Exception as error:  # the thread's boundary: record the failure, never lose it
            session.rollback()
            if isinstance(error, CareappError):
                message = error.message
            else:
                logger.exception("print batch %d failed", batch_id)
                message = gettext("The batch could not be built: %(error)s", error=str(error))
            fail_print_batch(session, actor, batch_id, message, utcnow(), attempt)
            session.commit()
            return metrics.FAILED
    logger.info("print batch %d done", batch_id)
    return metrics.COMPLETED


def start_print_batch(
    app: Flask, batch_id: int, actor: Actor, signer: Any, base_url: str
) -> threading.Thread:
    """Build the batch in a background thread of this process (the request returns at once)."""
    thread = threading.Thread(
        target=run_print_batch,
        args=(app, batch_id, actor, signer, base_url),
        name=f"{THREAD_PREFIX}{batch_id}",
        daemon=True,
    )
    thread.start()
    return thread


def wait_for_print_batches(timeout: float) -> list[str]:
    """Give the batches running in this process's threads up to `timeout` seconds to finish
    (a web worker that is stopping); the names of those still running then. A batch cut short
    is seen abandoned at once on this host and can be restarted."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_PREFIX):
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
