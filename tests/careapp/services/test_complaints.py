"""Complaints about providers: recording, resolving, who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import AuditEvent, Complaint, ComplaintChannel, ComplaintStatus
from careapp.services.actor import Actor
from careapp.services.complaints import (
    ComplaintInput,
    get_complaint,
    provider_complaints,
    record_complaint,
    resolve_complaint,
)
from tests.factories import (
    NOW,
    ComplaintFactory,
    PersonFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    actor_of,
    provider_care_plan,
)

DAY = dt.date(2026, 11, 20)


def complaint_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Complaint)) or 0


def test_record_complaint_about_a_visit(db_session: Session, admin_actor: Actor) -> None:
    provider = ProviderFactory()
    visit = VisitFactory(care_plan=provider_care_plan(provider))
    data = ComplaintInput(
        provider.id, DAY, ComplaintChannel.LETTER, "  迟到一小时  ", None, visit.id
    )

    complaint = record_complaint(db_session, admin_actor, data, NOW)

    assert complaint.summary == "迟到一小时"
    assert complaint.person_id == visit.person_id  # taken from the visit
    assert complaint.status is ComplaintStatus.OPEN
    assert (complaint.recorded_by_id, complaint.recorded_at) == (admin_actor.user_id, NOW)
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.recorded"))
    assert audit.one().object_id == complaint.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "   "}, "summary"),
        ({"summary": "长" * 501}, "summary"),
        ({"received_on": dt.date(2026, 11, 24)}, "received_on"),  # tomorrow in the city
        ({"visit_id": "other"}, "visit_id"),
        ({"visit_id": 10**9}, "visit_id"),
        ({"person_id": 10**9}, "person_id"),
        ({"visit_id": "mine", "person_id": "someone"}, "person_id"),
    ],
)
def test_record_complaint_refuses_bad_input(
    db_session: Session, admin_actor: Actor, change: dict[str, object], field: str
) -> None:
    provider = ProviderFactory()
    mine = VisitFactory(care_plan=provider_care_plan(provider))
    other = VisitFactory()  # another provider's
    names = {"mine": mine.id, "other": other.id, "someone": PersonFactory().id}
    values: dict[str, object] = {
        "provider_id": provider.id,
        "received_on": DAY,
        "channel": ComplaintChannel.PHONE,
        "summary": "态度差",
    }
    values.update({k: names.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(InvalidInputError) as raised:
        record_complaint(db_session, admin_actor, ComplaintInput(**values), NOW)  # type: ignore[arg-type]  # test data
    assert raised.value.field == field
    assert complaint_count(db_session) == 0


def test_record_complaint_of_an_unknown_provider(db_session: Session, admin_actor: Actor) -> None:
    data = ComplaintInput(10**9, DAY, ComplaintChannel.PHONE, "x")
    with pytest.raises(NotFoundError):
        record_complaint(db_session, admin_actor, data, NOW)


@pytest.mark.parametrize("trait", ["manager", "assessor", "caregiver"])
def test_only_admins_record_and_resolve(db_session: Session, trait: str) -> None:
    staff = actor_of(UserFactory(**{trait: True}))
    complaint = ComplaintFactory()
    data = ComplaintInput(complaint.provider_id, DAY, ComplaintChannel.PHONE, "x")
    with pytest.raises(PermissionDeniedError):
        record_complaint(db_session, staff, data, NOW)
    with pytest.raises(PermissionDeniedError):
        resolve_complaint(db_session, staff, complaint.id, ComplaintStatus.UPHELD, "ok", NOW)
    assert complaint.status is ComplaintStatus.OPEN


@pytest.mark.parametrize("outcome", [ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED])
def test_resolve_complaint_once(
    db_session: Session, admin_actor: Actor, outcome: ComplaintStatus
) -> None:
    complaint = ComplaintFactory()
    resolved = resolve_complaint(db_session, admin_actor, complaint.id, outcome, " 已核实 ", NOW)
    assert (resolved.status, resolved.resolution_note) == (outcome, "已核实")
    assert (resolved.resolved_by_id, resolved.resolved_at) == (admin_actor.user_id, NOW)
    with pytest.raises(ConflictError):
        resolve_complaint(
            db_session, admin_actor, complaint.id, ComplaintStatus.UPHELD, "again", NOW
        )
    assert resolved.status is outcome
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "complaint.resolved")
        )
        == 1
    )


@pytest.mark.parametrize(
    ("outcome", "note", "field"),
    [
        (ComplaintStatus.OPEN, "x", "outcome"),
        (ComplaintStatus.UPHELD, "  ", "note"),
        (ComplaintStatus.UPHELD, "x" * 501, "note"),
    ],
)
def test_resolve_complaint_refuses_bad_input(
    db_session: Session, admin_actor: Actor, outcome: ComplaintStatus, note: str, field: str
) -> None:
    complaint = ComplaintFactory()
    with pytest.raises(InvalidInputError) as raised:
        resolve_complaint(db_session, admin_actor, complaint.id, outcome, note, NOW)
    assert raised.value.field == field
    assert complaint.status is ComplaintStatus.OPEN


def test_resolve_unknown_complaint(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        resolve_complaint(db_session, admin_actor, 10**9, ComplaintStatus.UPHELD, "x", NOW)


def test_a_manager_reads_only_their_own_providers_complaints(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    own = ComplaintFactory(provider=manager.provider)
    other = ComplaintFactory()
    actor = actor_of(manager)
    assert provider_complaints(db_session, actor, manager.provider_id) == [own]
    assert get_complaint(db_session, actor, own.id) is own
    with pytest.raises(NotFoundError):
        provider_complaints(db_session, actor, other.provider_id)
    with pytest.raises(NotFoundError):
        get_complaint(db_session, actor, other.id)
    with pytest.raises(NotFoundError):
        get_complaint(db_session, Actor(None, None), own.id)
