"""The audit log is append-only: the database itself refuses to change or delete a row."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from tests.factories import NOW


@pytest.fixture
def event_id(db_session: Session) -> int:
    actor = Actor(user_id=None, role=Role.ADMIN, address="127.0.0.1")
    event = record_event(db_session, actor, "read", "assessment", 7, now=NOW)
    db_session.flush()
    return event.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'nothing' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ],
)
def test_audit_rows_cannot_be_changed_or_deleted(
    db_session: Session, event_id: int, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(text(statement), {"id": event_id})
    assert (
        db_session.execute(
            text("SELECT action FROM audit_events WHERE id = :id"), {"id": event_id}
        ).scalar_one()
        == "read"
    )
