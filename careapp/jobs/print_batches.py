"""Running a print batch outside the request: in a background thread of the web process (the
page polls its progress) or in the foreground of `careapp print-decisions`.

Like the scheduler's jobs, the runner pushes its own app context (so it has its own database
session), calls one service and commits at its checkpoints and at the end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import gettext

from careapp.core.clock import utcnow
from careapp.services.actor import Actor

logger = logging.getLogger(__name__)


def print_batch_directory(app: Flask) -> Path:
    configured = app.config.get("PRINT_BATCH_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "print-batches"


def run_print_batch(
    app: Flask,
    batch_id: int,
    actor: Actor,
    signer: Any,
    base_url: str,
    on_progress: Callable[[int], None] | None = None,
) -> bool:
    """Build the batch; on any failure roll back and record the error on the batch.

    Returns True when the batch was completed.
    """
    from careapp import db
    from careapp.core.errors import CareappError
    from careapp.services.print_batches import build_print_batch, fail_print_batch
    from careapp.services.procedure import ProcedureRules
    from careapp.web.wording import WORDING

    with app.app_context():
        session = db.session()
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
            )
            session.commit()
        except Exception as error:  # the thread's boundary: record the failure, never lose it
            session.rollback()
            if isinstance(error, CareappError):
                message = error.message
            else:
                logger.exception("print batch %d failed", batch_id)
                message = gettext("The batch could not be built: %(error)s", error=str(error))
            fail_print_batch(session, actor, batch_id, message, utcnow())
            session.commit()
            return False
    logger.info("print batch %d done", batch_id)
    return True


def start_print_batch(
    app: Flask, batch_id: int, actor: Actor, signer: Any, base_url: str
) -> threading.Thread:
    """Build the batch in a background thread of this process (the request returns at once)."""
    thread = threading.Thread(
        target=run_print_batch,
        args=(app, batch_id, actor, signer, base_url),
        name=f"print-batch-{batch_id}",
        daemon=True,
    )
    thread.start()
    return thread
