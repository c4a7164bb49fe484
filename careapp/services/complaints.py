"""Complaints about providers: administrators record and resolve them; a manager reads their own.

A complaint names the provider, optionally the person and the visit (which must be that
provider's visit, and that person's). It is open until an administrator upholds or dismisses it
with a note. Complaints received in a month and not dismissed count in the provider's monthly
quality evaluation (careapp.services.quality.month_figures).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.people import Person
from careapp.models.providers import Provider
from careapp.models.quality import (
    COMPLAINT_SUMMARY_LENGTH,
    Complaint,
    ComplaintChannel,
    ComplaintStatus,
)
from careapp.models.users import Role
from careapp.models.visit import Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event

SUMMARY_MAX = COMPLAINT_SUMMARY_LENGTH
NOTE_MAX = COMPLAINT_SUMMARY_LENGTH
OUTCOMES = (ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED)


@dataclass(frozen=True)
class ComplaintInput:
    provider_id: int
    received_on: dt.date
    channel: ComplaintChannel
    summary: str
    person_id: int | None = None
    visit_id: int | None = None


def record_complaint(
    session: Session, actor: Actor, data: ComplaintInput, now: dt.datetime
) -> Complaint:
    """Record a complaint (administrators). Raises InvalidInputError naming the bad field."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only administrators record and resolve complaints.")
    )
    provider = session.get(Provider, data.provider_id)
    if provider is None:
        raise NotFoundError(gettext("Provider not found."))
    summary = (data.summary or "").strip()
    if not summary:
        raise InvalidInputError(gettext("Describe the complaint."), field="summary")
    if len(summary) > SUMMARY_MAX:
        raise InvalidInputError(
            gettext("Keep it under %(count)d characters.", count=SUMMARY_MAX), field="summary"
        )
    if data.received_on > city_today(now):
        raise InvalidInputError(
            gettext("The date received cannot be in the future."), field="received_on"
        )
    person_id = data.person_id
    if data.visit_id is not None:
        visit = session.get(Visit, data.visit_id)
        if visit is None or visit.provider_id != provider.id:
            raise InvalidInputError(
                gettext("No visit of this provider has this number."), field="visit_id"
            )
        if person_id is not None and person_id != visit.person_id:
            raise InvalidInputError(
                gettext("This visit was not to this person."), field="person_id"
            )
        person_id = visit.person_id
    elif person_id is not None and session.get(Person, person_id) is None:
        raise InvalidInputError(gettext("No person has this number."), field="person_id")
    complaint = Complaint(
        provider_id=provider.id,
        person_id=person_id,
        visit_id=data.visit_id,
        received_on=data.received_on,
        channel=data.channel,
        summary=summary,
        status=ComplaintStatus.OPEN,
        recorded_by_id=actor.user_id,
        recorded_at=now,
    )
    session.add(complaint)
    session.flush()
    record_event(
        session,
        actor,
        "complaint.recorded",
        "complaint",
        complaint.id,
        now=now,
        detail={
            "provider_id": provider.id,
            "received_on": data.received_on.isoformat(),
            "channel": data.channel.value,
            "visit_id": data.visit_id,
            "person_id": person_id,
        },
    )
    return complaint


def resolve_complaint(
    session: Session,
    actor: Actor,
    complaint_id: int,
    outcome: ComplaintStatus,
    note: str,
    now: dt.datetime,
) -> Complaint:
    """Uphold or dismiss an open complaint with a note (administrators)."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only administrators record and resolve complaints.")
    )
    if outcome not in OUTCOMES:
        raise InvalidInputError(gettext("Choose upheld or dismissed."), field="outcome")
    clean_note = (note or "").strip()
    if not clean_note:
        raise InvalidInputError(gettext("Give the reason for the decision."), field="note")
    if len(clean_note) > NOTE_MAX:
        raise InvalidInputError(
            gettext("Keep it under %(count)d characters.", count=NOTE_MAX), field="note"
        )
    complaint = session.scalar(
        select(Complaint).where(Complaint.id == complaint_id).with_for_update()
    )
    if complaint is None:
        raise NotFoundError(gettext("Complaint not found."))
    if complaint.status is not ComplaintStatus.OPEN:
        raise ConflictError(gettext("This complaint has already been resolved."))
    complaint.status = outcome
    complaint.resolution_note = clean_note
    complaint.resolved_by_id = actor.user_id
    complaint.resolved_at = now
    session.flush()
    record_event(
        session,
        actor,
        "complaint.resolved",
        "complaint",
        complaint.id,
        now=now,
        detail={"provider_id": complaint.provider_id, "outcome": outcome.value},
    )
    return complaint


def get_complaint(session: Session, actor: Actor, complaint_id: int) -> Complaint:
    """One complaint, for an administrator or the manager of its provider (404 otherwise)."""
    complaint = session.scalar(
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .options(selectinload(Complaint.provider), selectinload(Complaint.visit))
    )
    if complaint is None or not _may_read(actor, complaint.provider_id):
        raise NotFoundError(gettext("Complaint not found."))
    return complaint


def provider_complaints(
    session: Session, actor: Actor, provider_id: int, limit: int = 200
) -> list[Complaint]:
    """A provider's complaints, newest first: administrators, or that provider's manager."""
    if not _may_read(actor, provider_id):
        raise NotFoundError(gettext("Provider not found."))
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.provider_id == provider_id)
            .options(
                selectinload(Complaint.visit),
                selectinload(Complaint.recorded_by),
                selectinload(Complaint.resolved_by),
            )
            .order_by(Complaint.received_on.desc(), Complaint.id.desc())
            .limit(limit)
        )
    )


def _may_read(actor: Actor, provider_id: int) -> bool:
    if actor.is_role(Role.ADMIN):
        return True
    return actor.is_role(Role.PROVIDER_MANAGER) and actor.provider_id == provider_id
