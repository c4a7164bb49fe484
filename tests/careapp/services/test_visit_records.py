"""A manager's hand on a visit (manual entry, reschedule, cancel), every state change of a
visit at service level, and the dispatch rules they rely on."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import (
    AuditEvent,
    Caregiver,
    ClaimFlag,
    ClaimFlagStatus,
    Provider,
    ProviderAlert,
    Role,
    VerificationMethod,
    Visit,
)
from careapp.models.quality import AlertKind
from careapp.security import token_hash
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from careapp.services.missed_visits import mark_missed_visits
from careapp.services.rosters import LongTravelError
from careapp.services.visit_records import (
    ManualEntryInput,
    RescheduleInput,
    cancel_visit,
    record_manual_entry,
    reschedule_missed_visit,
    visit_record_options,
)
from careapp.services.visits import check_in, check_out
from scheduling.claims import ClaimFlagKind
from scheduling.dispatch import GreedyDispatcher
from scheduling.visits import TRANSITIONS, VisitAction, VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    actor_of,
    caregiver_visit,
    current_session,
    provider_care_plan,
)

SPEEDS = {"urban": 20.0, "rural": 35.0}
WEEK = dt.timedelta(days=7)
TOMORROW = TODAY + dt.timedelta(days=1)
HOME = (32.0, 120.86)
CJK = re.compile(r"[\u4e00-\u9fff]")
T = dt.time


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return city_datetime(day, dt.time(hour, minute))


@pytest.fixture
def provider(caregiver: Caregiver) -> Provider:
    return caregiver.provider


@pytest.fixture
def manager(provider: Provider) -> Actor:
    return actor_of(UserFactory(manager=True, provider=provider))


def audit_count(session: Session, action: str, object_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return session.scalar(query) or 0


def manual(**changes: object) -> ManualEntryInput:
    values: dict[str, object] = {
        "check_in_time": T(9, 5),
        "check_out_time": T(9, 50),
        "done_item_codes": ["bathing"],
        "reason": "手机没电了",
        "note": None,
        "caregiver_id": None,
        "check_out_next_day": False,
    }
    values.update(changes)
    return ManualEntryInput(**values)  # type: ignore[arg-type]  # test data


def make_up(day: dt.date = TOMORROW, **changes: object) -> RescheduleInput:
    values: dict[str, object] = {
        "day": day,
        "window_start": T(14, 0),
        "window_end": T(16, 0),
        "caregiver_id": None,
        "start_time": None,
    }
    values.update(changes)
    return RescheduleInput(**values)  # type: ignore[arg-type]  # test data


def visit_in(caregiver: Caregiver, status: VisitStatus, **changes: object) -> Visit:
    """A visit of today (window 09:00–11:00, planned 09:00–10:00) in `status`."""
    values: dict[str, object] = {"status": status}
    if status in (VisitStatus.CHECKED_IN, VisitStatus.COMPLETED):
        values["checked_in_at"] = at(TODAY, 9)
    unassigned = status is VisitStatus.UNASSIGNED or changes.pop("unassigned", False)
    values.update(changes)
    visit = caregiver_visit(caregiver, **values)
    if unassigned:
        visit.caregiver = None
        visit.planned_start = visit.planned_end = visit.route_order = None
        current_session().flush()
    return visit


# --- every state change of a visit, at service level ------------------------------------


def _do(action: VisitAction, caregiver: Caregiver, manager: Actor, visit: Visit) -> None:
    session = current_session()
    assert caregiver.user is not None
    phone = actor_of(caregiver.user)
    if action is VisitAction.CHECK_IN:
        check_in(session, phone, visit.id, *HOME, None, NOW)
    elif action is VisitAction.CHECK_OUT:
        check_out(session, phone, visit.id, ["bathing"], None, *HOME, NOW, valid_for=WEEK)
    elif action is VisitAction.MARK_MISSED:
        mark_missed_visits(session, manager, TODAY, TODAY, NOW + dt.timedelta(hours=3), 60)
    elif action is VisitAction.MANUAL_ENTRY:
        record_manual_entry(session, manager, visit.id, manual(), NOW, valid_for=WEEK)
    elif action is VisitAction.CANCEL:
        cancel_visit(session, manager, visit.id, "家属外出", NOW)
    else:
        reschedule_missed_visit(session, manager, visit.id, make_up(), NOW, SPEEDS)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(VisitStatus, VisitAction)))
def test_every_state_change_of_a_visit(
    db_session: Session,
    caregiver: Caregiver,
    manager: Actor,
    status: VisitStatus,
    action: VisitAction,
) -> None:
    """Each (state, action): the allowed ones reach the declared state; every other one is
    refused with a translated message (the missed-visit job leaves such a visit alone)."""
    visit = visit_in(caregiver, status)
    expected = TRANSITIONS.get((status, action))
    on_phone = action in (VisitAction.CHECK_IN, VisitAction.CHECK_OUT)
    if expected is None and on_phone and status is VisitStatus.UNASSIGNED:
        with pytest.raises(NotFoundError):  # no caregiver has it on their phone
            _do(action, caregiver, manager, visit)
        return
    if expected is None and action is not VisitAction.MARK_MISSED:
        with pytest.raises(ConflictError) as refused:
            _do(action, caregiver, manager, visit)
        assert CJK.search(refused.value.message), refused.value.message  # zh, the default
        db_session.expire_all()
        assert db_session.get(Visit, visit.id).status is status  # type: ignore[union-attr]
        return
    _do(action, caregiver, manager, visit)
    db_session.expire_all()
    after = db_session.get(Visit, visit.id)
    assert after is not None
    assert after.status.value == (expected or status).value
    if action is VisitAction.RESCHEDULE:
        new = db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == visit.id))
        assert new is not None
        assert new.status is VisitStatus.UNASSIGNED


# --- check-in: verified on the phone ------------------------------------------------------


def test_check_in_marks_the_visit_verified_by_phone(
    db_session: Session, caregiver: Caregiver
) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED)
    assert caregiver.user is not None
    assert visit.verification is None
    check_in(db_session, actor_of(caregiver.user), visit.id, *HOME, None, NOW)
    assert visit.verification is VerificationMethod.PHONE


# --- manual entry -------------------------------------------------------------------------


def test_manual_entry_completes_a_missed_visit_by_hand(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED, service_item_codes=["bathing", "feeding"])
    mark_missed_visits(db_session, manager, TODAY, TODAY, NOW + dt.timedelta(hours=3), 60)
    assert visit.status is VisitStatus.MISSED
    other = CaregiverFactory(provider=provider)
    entry = record_manual_entry(
        db_session,
        manager,
        visit.id,
        manual(caregiver_id=other.id, done_item_codes=["feeding"], note="签字记录"),
        NOW + dt.timedelta(hours=4),
        valid_for=WEEK,
    )
    assert entry.visit is visit
    assert visit.status is VisitStatus.COMPLETED
    assert visit.verification is VerificationMethod.MANUAL
    assert visit.caregiver_id == other.id
    assert visit.checked_in_at == at(TODAY, 9, 5)
    assert visit.checked_out_at == at(TODAY, 9, 50)
    assert (visit.planned_start, visit.planned_end) == (visit.checked_in_at, visit.checked_out_at)
    assert visit.check_in_lat is None
    assert visit.check_in_lon is None
    assert visit.check_in_flags == []
    assert visit.done_item_codes == ["feeding"]
    assert visit.manual_entry_reason == "手机没电了"
    assert visit.note == "签字记录"
    assert visit.rating_token_hash == token_hash(entry.rating_token)
    assert visit.rating_token_expires_at == NOW + dt.timedelta(hours=4) + WEEK
    alert = db_session.scalar(select(ProviderAlert).where(ProviderAlert.visit_id == visit.id))
    assert alert is not None
    assert alert.acknowledged_at is not None
    event = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "visit.manual_entry", AuditEvent.object_id == visit.id
        )
    )
    assert event is not None
    assert event.detail["previous_status"] == "missed"
    assert event.detail["reason"] == "手机没电了"
    # Entered by hand, so held out of settlement until an administrator reviews it.
    [flag] = db_session.scalars(select(ClaimFlag).where(ClaimFlag.visit_id == visit.id))
    assert (flag.kind, flag.status) == (ClaimFlagKind.MANUAL_ENTRY, ClaimFlagStatus.OPEN)


def test_manual_entry_of_an_assigned_visit_keeps_its_caregiver(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    visit = visit_in(caregiver, VisitStatus.CONFIRMED)
    record_manual_entry(db_session, manager, visit.id, manual(), NOW, valid_for=WEEK)
    assert visit.caregiver_id == caregiver.id
    assert visit.status is VisitStatus.COMPLETED


def test_manual_entry_may_cross_midnight(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    visit = visit_in(caregiver, VisitStatus.MISSED, visit_on=yesterday)
    data = manual(check_in_time=T(23, 0), check_out_time=T(0, 30), check_out_next_day=True)
    record_manual_entry(db_session, manager, visit.id, data, NOW, valid_for=WEEK)
    assert visit.checked_out_at == at(TODAY, 0, 30)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"check_out_time": T(9, 0)}, "check_out_time"),  # before the check-in
        ({"check_out_time": T(9, 5)}, "check_out_time"),  # equal
        ({"check_in_time": T(9, 30), "check_out_time": T(10, 30)}, "check_out_time"),  # ahead
        ({"check_out_next_day": True}, "check_out_time"),  # tomorrow is ahead
        ({"check_in_time": None}, "check_in_time"),
        ({"check_out_time": None}, "check_out_time"),
        ({"reason": "无"}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "长" * 201}, "reason"),
        ({"note": "长" * 501}, "note"),
        ({"done_item_codes": []}, "done_item_codes"),
        ({"done_item_codes": ["massage"]}, "done_item_codes"),
    ],
)
def test_manual_entry_refuses_bad_input(
    db_session: Session,
    caregiver: Caregiver,
    manager: Actor,
    changes: dict[str, object],
    field: str,
) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED)
    with pytest.raises(InvalidInputError) as refused:
        record_manual_entry(db_session, manager, visit.id, manual(**changes), NOW, valid_for=WEEK)
    assert refused.value.field == field
    assert CJK.search(refused.value.message)
    assert visit.status is VisitStatus.ASSIGNED
    assert audit_count(db_session, "visit.manual_entry") == 0


def test_manual_entry_refuses_a_double_booked_caregiver(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    other = CaregiverFactory(provider=provider)
    busy = caregiver_visit(other)  # 09:00–10:00 today
    visit = visit_in(caregiver, VisitStatus.MISSED)
    with pytest.raises(InvalidInputError) as refused:
        record_manual_entry(
            db_session, manager, visit.id, manual(caregiver_id=other.id), NOW, valid_for=WEEK
        )
    assert refused.value.field == "caregiver_id"
    assert busy.status is VisitStatus.ASSIGNED
    # At other times the same caregiver is free.
    data = manual(caregiver_id=other.id, check_in_time=T(7, 0), check_out_time=T(8, 0))
    record_manual_entry(db_session, manager, visit.id, data, NOW, valid_for=WEEK)
    assert visit.caregiver_id == other.id


def test_the_database_refuses_a_double_booked_manual_entry(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    """The last line of defence: the exclusion constraint (PostgreSQL) or trigger (SQLite)."""
    other = CaregiverFactory(provider=provider)
    caregiver_visit(other)  # 09:00–10:00 today
    visit = visit_in(caregiver, VisitStatus.MISSED)
    import careapp.services.visit_records as records

    original = records._is_double_booked
    records._is_double_booked = lambda *args: False  # type: ignore[assignment]  # a race
    try:
        with db_session.begin_nested(), pytest.raises(ConflictError):
            record_manual_entry(
                db_session, manager, visit.id, manual(caregiver_id=other.id), NOW, valid_for=WEEK
            )
    finally:
        records._is_double_booked = original


@pytest.mark.parametrize("qualified", [False, True])
def test_manual_entry_needs_a_qualified_caregiver_of_the_provider(
    db_session: Session, caregiver: Caregiver, manager: Actor, qualified: bool
) -> None:
    visit = visit_in(caregiver, VisitStatus.MISSED, required_qualifications=["nursing"])
    stranger = CaregiverFactory()  # another provider's
    with pytest.raises(InvalidInputError):
        record_manual_entry(
            db_session, manager, visit.id, manual(caregiver_id=stranger.id), NOW, valid_for=WEEK
        )
    helper = CaregiverFactory(
        provider=caregiver.provider,
        qualifications=["daily_care", "nursing"] if qualified else ["daily_care"],
    )
    call = lambda: record_manual_entry(  # noqa: E731 - called twice below
        db_session, manager, visit.id, manual(caregiver_id=helper.id), NOW, valid_for=WEEK
    )
    if qualified:
        call()
        assert visit.caregiver_id == helper.id
    else:
        with pytest.raises(InvalidInputError, match=r".+"):
            call()


def test_manual_entry_of_an_unassigned_missed_visit_needs_a_caregiver(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    visit = visit_in(caregiver, VisitStatus.MISSED, unassigned=True)
    with pytest.raises(InvalidInputError) as refused:
        record_manual_entry(db_session, manager, visit.id, manual(), NOW, valid_for=WEEK)
    assert refused.value.field == "caregiver_id"
    record_manual_entry(
        db_session, manager, visit.id, manual(caregiver_id=caregiver.id), NOW, valid_for=WEEK
    )
    assert visit.caregiver_id == caregiver.id


def test_a_rescheduled_missed_visit_cannot_also_be_entered_by_hand(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    visit = visit_in(caregiver, VisitStatus.MISSED)
    reschedule_missed_visit(db_session, manager, visit.id, make_up(), NOW, SPEEDS)
    with pytest.raises(ConflictError):
        record_manual_entry(db_session, manager, visit.id, manual(), NOW, valid_for=WEEK)
    assert not visit_record_options(db_session, manager, visit.id, NOW).can_enter_by_hand


# --- who may act --------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["manual", "reschedule", "cancel", "options"])
def test_another_providers_visit_is_not_found(
    db_session: Session, caregiver: Caregiver, act: str
) -> None:
    visit = visit_in(caregiver, VisitStatus.MISSED)
    stranger = actor_of(UserFactory(manager=True, provider=ProviderFactory()))
    actions: dict[str, Callable[[], object]] = {
        "manual": lambda: record_manual_entry(
            db_session, stranger, visit.id, manual(), NOW, valid_for=WEEK
        ),
        "reschedule": lambda: reschedule_missed_visit(
            db_session, stranger, visit.id, make_up(), NOW, SPEEDS
        ),
        "cancel": lambda: cancel_visit(db_session, stranger, visit.id, "家属外出", NOW),
        "options": lambda: visit_record_options(db_session, stranger, visit.id, NOW),
    }
    with pytest.raises(NotFoundError):
        actions[act]()
    assert visit.status is VisitStatus.MISSED


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CAREGIVER])
def test_only_provider_managers_act(db_session: Session, caregiver: Caregiver, role: Role) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED)
    actor = Actor(user_id=None, role=role, provider_id=caregiver.provider_id)
    with pytest.raises(PermissionDeniedError):
        cancel_visit(db_session, actor, visit.id, "家属外出", NOW)


# --- reschedule ---------------------------------------------------------------------------


def test_reschedule_without_caregiver_waits_for_dispatch(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.ASSIGNED, service_item_codes=["bathing", "feeding"])
    mark_missed_visits(db_session, manager, TODAY, TODAY, NOW + dt.timedelta(hours=3), 60)
    new = reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)
    assert new.id != missed.id
    assert missed.status is VisitStatus.MISSED
    assert new.status is VisitStatus.UNASSIGNED
    assert new.caregiver_id is None
    assert new.rescheduled_from_id == missed.id
    assert (new.care_plan_id, new.person_id, new.provider_id) == (
        missed.care_plan_id,
        missed.person_id,
        missed.provider_id,
    )
    assert new.service_item_codes == ["bathing", "feeding"]
    assert new.duration_minutes == missed.duration_minutes
    assert new.required_qualifications == missed.required_qualifications
    assert new.visit_on == TOMORROW
    assert (new.window_start, new.window_end) == (at(TOMORROW, 14), at(TOMORROW, 16))
    alert = db_session.scalar(select(ProviderAlert).where(ProviderAlert.visit_id == missed.id))
    assert alert is not None
    assert alert.kind is AlertKind.MISSED_VISIT
    assert alert.acknowledged_at == NOW
    assert audit_count(db_session, "visit.rescheduled", missed.id) == 1
    options = visit_record_options(db_session, manager, missed.id, NOW)
    assert options.rescheduled_as_id == new.id
    assert not options.can_reschedule


def test_reschedule_with_a_caregiver_checks_the_move_rules(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    nurse = CaregiverFactory(provider=provider, work_start=T(8), work_end=T(12))
    # 14:00 is after the nurse's working hours: refused, nothing created.
    with pytest.raises(InvalidInputError) as refused:
        reschedule_missed_visit(
            db_session, manager, missed.id, make_up(caregiver_id=nurse.id), NOW, SPEEDS
        )
    assert refused.value.field == "caregiver_id"
    db_session.expire_all()
    assert db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == missed.id)) is None


def test_reschedule_with_a_free_caregiver_assigns_the_new_visit(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    nurse = CaregiverFactory(provider=provider)
    data = make_up(caregiver_id=nurse.id, start_time=T(14, 30))
    new = reschedule_missed_visit(db_session, manager, missed.id, data, NOW, SPEEDS)
    assert new.status is VisitStatus.ASSIGNED
    assert new.caregiver_id == nurse.id
    assert new.planned_start == at(TOMORROW, 14, 30)
    assert new.planned_end == at(TOMORROW, 15, 30)
    assert new.is_hand_edited
    assert new.route_order == 1


def test_reschedule_with_long_travel_needs_the_managers_confirmation(
    db_session: Session, caregiver: Caregiver, provider: Provider, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    nurse = CaregiverFactory(provider=provider)
    # The nurse's 18:00 visit tomorrow is 50 km north: the make-up visit at 14:00 keeps the hard
    # rules (the window is wide), but the travel on to that visit is long.
    far = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=TOMORROW,
        window_start=at(TOMORROW, 8),
        window_end=at(TOMORROW, 20),
        caregiver=nurse,
        planned_start=at(TOMORROW, 18),
        planned_end=at(TOMORROW, 19),
        route_order=1,
        status=VisitStatus.ASSIGNED,
    )
    far.person.home_lat = 32.0 + 50 / 111.195
    db_session.flush()
    data = make_up(caregiver_id=nurse.id, start_time=T(14, 0))
    with pytest.raises(LongTravelError) as refused:
        reschedule_missed_visit(db_session, manager, missed.id, data, NOW, SPEEDS)
    minutes = refused.value.travel_minutes
    assert minutes > 60
    assert str(minutes) in refused.value.message
    db_session.expire_all()
    assert db_session.scalar(select(Visit).where(Visit.rescheduled_from_id == missed.id)) is None

    less = make_up(caregiver_id=nurse.id, start_time=T(14, 0), accepted_travel_minutes=minutes - 1)
    with pytest.raises(LongTravelError):  # a yes to less travel does not cover it
        reschedule_missed_visit(db_session, manager, missed.id, less, NOW, SPEEDS)
    accepted = make_up(caregiver_id=nurse.id, start_time=T(14, 0), accepted_travel_minutes=minutes)
    new = reschedule_missed_visit(db_session, manager, missed.id, accepted, NOW, SPEEDS)
    assert (new.caregiver_id, new.status) == (nurse.id, VisitStatus.ASSIGNED)


def test_a_missed_visit_is_rescheduled_once(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)
    with pytest.raises(ConflictError, match=r"."):
        reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)


def test_a_racing_reschedule_hits_the_unique_key(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    """Two managers at once: the one that did not see the other's row gets a ConflictError."""
    missed = visit_in(caregiver, VisitStatus.MISSED)
    reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)
    import careapp.services.visit_records as records

    original = records._rescheduled_as
    records._rescheduled_as = lambda *args: None  # type: ignore[assignment]  # did not see it
    try:
        with db_session.begin_nested(), pytest.raises(ConflictError) as refused:
            reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)
    finally:
        records._rescheduled_as = original
    assert CJK.search(refused.value.message)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (make_up(day=TODAY - dt.timedelta(days=1)), "day"),
        (make_up(day=None), "day"),
        (make_up(window_start=None), "window_start"),
        (make_up(window_end=None), "window_end"),
        (make_up(window_start=T(6, 0)), "window_start"),
        (make_up(window_end=T(14, 30)), "window_end"),  # shorter than the visit
        (make_up(day=TODAY + dt.timedelta(days=40)), "day"),  # after the entitlement
        (make_up(day=TODAY, window_start=T(7), window_end=T(9)), "window_end"),  # over at 10:00
    ],
)
def test_reschedule_refuses_bad_input(
    db_session: Session,
    caregiver: Caregiver,
    manager: Actor,
    data: RescheduleInput,
    field: str,
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    missed.care_plan.entitlement.ends_on = TODAY + dt.timedelta(days=30)
    with pytest.raises(InvalidInputError) as refused:
        reschedule_missed_visit(db_session, manager, missed.id, data, NOW, SPEEDS)
    assert refused.value.field == field
    assert CJK.search(refused.value.message)
    assert audit_count(db_session, "visit.rescheduled") == 0


def test_reschedule_refuses_an_ended_plan(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    missed = visit_in(caregiver, VisitStatus.MISSED)
    missed.care_plan.is_active = False
    with pytest.raises(ConflictError):
        reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)


def test_dispatch_assigns_a_rescheduled_visit_and_still_makes_the_regular_one(
    db_session: Session, provider: Provider, manager: Actor
) -> None:
    """The make-up visit is dispatched like any unassigned visit; the plan's own visit of that
    day is still generated."""
    CaregiverFactory(provider=provider)
    plan = provider_care_plan(provider)
    missed = VisitFactory(care_plan=plan, visit_on=TODAY, status=VisitStatus.MISSED)
    new = reschedule_missed_visit(db_session, manager, missed.id, make_up(), NOW, SPEEDS)
    admin = Actor(user_id=None, role=Role.ADMIN)
    dispatch_visits(
        db_session, admin, TOMORROW, TOMORROW, NOW, SPEEDS, dispatcher=GreedyDispatcher()
    )
    db_session.expire_all()
    tomorrow = list(
        db_session.scalars(
            select(Visit).where(Visit.care_plan_id == plan.id, Visit.visit_on == TOMORROW)
        )
    )
    assert len(tomorrow) == 2
    regular = next(v for v in tomorrow if v.rescheduled_from_id is None)
    made_up = next(v for v in tomorrow if v.rescheduled_from_id == missed.id)
    assert made_up.id == new.id
    assert made_up.status is VisitStatus.ASSIGNED
    assert regular.status is VisitStatus.ASSIGNED
    assert made_up.caregiver_id is not None


# --- cancel -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED])
def test_cancel_a_visit_ahead(
    db_session: Session, caregiver: Caregiver, manager: Actor, status: VisitStatus
) -> None:
    visit = visit_in(caregiver, status, visit_on=TOMORROW)
    cancel_visit(db_session, manager, visit.id, "  住院了 ", NOW)
    assert visit.status is VisitStatus.CANCELLED
    assert visit.cancel_reason == "住院了"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.cancelled"))
    assert event is not None
    assert event.detail["previous_status"] == status.value


@pytest.mark.parametrize(("reason", "field"), [("", "reason"), ("长" * 201, "reason")])
def test_cancel_needs_a_reason(
    db_session: Session, caregiver: Caregiver, manager: Actor, reason: str, field: str
) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED, visit_on=TOMORROW)
    with pytest.raises(InvalidInputError) as refused:
        cancel_visit(db_session, manager, visit.id, reason, NOW)
    assert refused.value.field == field
    assert visit.status is VisitStatus.ASSIGNED


def test_cancel_refuses_a_visit_of_an_earlier_day(
    db_session: Session, caregiver: Caregiver, manager: Actor
) -> None:
    visit = visit_in(caregiver, VisitStatus.ASSIGNED, visit_on=TODAY - dt.timedelta(days=1))
    with pytest.raises(ConflictError):
        cancel_visit(db_session, manager, visit.id, "家属外出", NOW)
    assert not visit_record_options(db_session, manager, visit.id, NOW).can_cancel


def test_dispatch_does_not_resurrect_a_cancelled_visit(
    db_session: Session, provider: Provider, manager: Actor
) -> None:
    CaregiverFactory(provider=provider)
    plan = provider_care_plan(provider)
    admin = Actor(user_id=None, role=Role.ADMIN)
    dispatch_visits(
        db_session, admin, TOMORROW, TOMORROW, NOW, SPEEDS, dispatcher=GreedyDispatcher()
    )
    visit = db_session.scalars(select(Visit).where(Visit.care_plan_id == plan.id)).one()
    assert visit.status is VisitStatus.ASSIGNED
    cancel_visit(db_session, manager, visit.id, "家属外出", NOW)
    dispatch_visits(
        db_session, admin, TOMORROW, TOMORROW, NOW, SPEEDS, dispatcher=GreedyDispatcher()
    )
    db_session.expire_all()
    visits = list(db_session.scalars(select(Visit).where(Visit.care_plan_id == plan.id)))
    assert [v.status for v in visits] == [VisitStatus.CANCELLED]
