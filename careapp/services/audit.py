"""Writing to the append-only audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from careapp.models.audit import AuditEvent
from careapp.services.actor import Actor


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    now: dt.datetime,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=now,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        address=actor.address,
        detail=detail or {},
    )
    session.add(event)
    return event


def record_events(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    details: Mapping[int, dict[str, Any]],
    *,
    now: dt.datetime,
) -> None:
    """`record_event` for many objects at once (object id -> detail), in one statement: a list
    page audits each row it reads without one query per row."""
    if not details:
        return
    session.execute(
        insert(AuditEvent),
        [
            {
                "at": now,
                "actor_id": actor.user_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "address": actor.address,
                "detail": detail,
            }
            for object_id, detail in details.items()
        ],
    )
