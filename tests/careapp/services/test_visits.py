"""Services of the caregiver's day: their visits, check-in and check-out."""

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
from careapp.models import AuditEvent, Caregiver, Visit
from careapp.models.claims import ClaimFlag, ClaimFlagStatus
from careapp.security import token_hash
from careapp.services.actor import Actor
from careapp.services.claims import ClaimAuditSettings, short_visit
from careapp.services.visits import (
    caregiver_day,
    check_in,
    check_out,
    get_visit_for_caregiver,
    service_items_by_code,
)
from scheduling.claims import ClaimFlagKind
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverUserFactory,
    PersonFactory,
    ServiceItemFactory,
    UserFactory,
    actor_of,
    caregiver_visit,
)

WEEK = dt.timedelta(days=7)
HOME = (32.0, 120.86)  # PersonFactory's home


@pytest.fixture
def actor(caregiver: Caregiver) -> Actor:
    assert caregiver.user is not None
    return actor_of(caregiver.user)


def make_visit(caregiver: Caregiver, **overrides: object) -> Visit:
    return caregiver_visit(caregiver, **overrides)


def audit_count(session: Session, action: str) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def checked_in(session: Session, actor: Actor, visit: Visit) -> Visit:
    return check_in(session, actor, visit.id, *HOME, None, NOW)


def test_visit_state_values_match_visit_status() -> None:
    assert {s.value for s in VisitStatus} == {s.value for s in VisitStatus}


# caregiver_day and get_visit_for_caregiver


def test_caregiver_day_lists_own_visits_of_the_day_in_route_order(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    third = make_visit(caregiver, route_order=3)
    first = make_visit(caregiver, route_order=1)
    second = make_visit(caregiver, route_order=2, status=VisitStatus.CHECKED_IN)
    unordered = make_visit(caregiver, route_order=None)
    make_visit(caregiver, route_order=4, status=VisitStatus.CANCELLED)
    make_visit(caregiver, visit_on=TODAY + dt.timedelta(days=1))
    make_visit(CaregiverUserFactory(provider=caregiver.provider))  # a colleague's visit

    visits = caregiver_day(db_session, actor, TODAY)

    assert [v.id for v in visits] == [first.id, second.id, third.id, unordered.id]


def test_caregiver_day_needs_a_linked_caregiver(db_session: Session) -> None:
    unlinked = UserFactory(caregiver=True)
    with pytest.raises(NotFoundError):
        caregiver_day(db_session, actor_of(unlinked), TODAY)


def test_caregiver_day_is_for_caregivers_only(db_session: Session) -> None:
    manager = UserFactory(manager=True)
    with pytest.raises(PermissionDeniedError):
        caregiver_day(db_session, actor_of(manager), TODAY)


def test_get_visit_for_caregiver_hides_other_caregivers_visits(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    own = make_visit(caregiver)
    colleague = CaregiverUserFactory(provider=caregiver.provider)
    theirs = make_visit(colleague)

    assert get_visit_for_caregiver(db_session, actor, own.id) is own
    with pytest.raises(NotFoundError):
        get_visit_for_caregiver(db_session, actor, theirs.id)
    with pytest.raises(NotFoundError):
        get_visit_for_caregiver(db_session, actor, 10**9)


def test_service_items_by_code(db_session: Session) -> None:
    bathing = ServiceItemFactory(code="bathing")
    assert service_items_by_code(db_session, ["bathing", "unknown", "bathing"]) == {
        "bathing": bathing
    }
    assert service_items_by_code(db_session, []) == {}


# check_in


@pytest.mark.parametrize("status", [VisitStatus.ASSIGNED, VisitStatus.CONFIRMED])
def test_check_in_records_time_position_and_audit(
    db_session: Session, caregiver: Caregiver, actor: Actor, status: VisitStatus
) -> None:
    visit = make_visit(caregiver, status=status)

    check_in(db_session, actor, visit.id, *HOME, None, NOW)

    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.checked_in_at == NOW
    assert (visit.check_in_lat, visit.check_in_lon) == HOME
    assert visit.check_in_flags == []
    assert visit.location_note is None
    assert audit_count(db_session, "visit.check_in") == 1


def test_check_in_far_from_home_is_accepted_but_flagged(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    check_in(db_session, actor, visit.id, 32.01, 120.86, None, NOW)  # about 1.1 km north
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.check_in_flags == ["far_from_home"]


def test_check_in_thresholds_come_from_the_caller(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    late = visit.window_end + dt.timedelta(minutes=45)
    check_in(
        db_session, actor, visit.id, 32.01, 120.86, None, late,
        max_distance_m=2000, max_outside_minutes=60,
    )  # fmt: skip
    assert visit.check_in_flags == []


def test_check_in_late_is_accepted_but_flagged(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    late = visit.window_end + dt.timedelta(minutes=31)
    check_in(db_session, actor, visit.id, *HOME, None, late)
    assert visit.checked_in_at == late
    assert visit.check_in_flags == ["outside_window"]


def test_check_in_without_location_needs_a_reason_and_is_flagged(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    check_in(db_session, actor, visit.id, None, None, "  手机没有信号  ", NOW)
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.check_in_lat is None
    assert visit.location_note == "手机没有信号"
    assert visit.check_in_flags == ["no_location"]


def test_check_in_without_a_home_position_is_not_flagged_far(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver, person=PersonFactory(home_lat=None, home_lon=None))
    check_in(db_session, actor, visit.id, 31.0, 121.0, None, NOW)
    assert visit.check_in_flags == []


@pytest.mark.parametrize(
    ("lat", "lon", "note"),
    [
        (None, None, None),
        (None, None, "  "),
        (None, None, "没信号"),  # 3 characters
        (32.0, None, None),  # half a position is no position
        (95.0, 120.86, None),
        (32.0, 120.86, "x" * 201),
    ],
)
def test_check_in_refuses_bad_location_input_and_writes_nothing(
    db_session: Session,
    caregiver: Caregiver,
    actor: Actor,
    lat: float | None,
    lon: float | None,
    note: str | None,
) -> None:
    visit = make_visit(caregiver)
    with pytest.raises(InvalidInputError) as caught:
        check_in(db_session, actor, visit.id, lat, lon, note, NOW)
    assert caught.value.field == "location_note"
    assert visit.status is VisitStatus.ASSIGNED
    assert visit.checked_in_at is None
    assert audit_count(db_session, "visit.check_in") == 0


@pytest.mark.parametrize(
    "status",
    [
        VisitStatus.CHECKED_IN,
        VisitStatus.COMPLETED,
        VisitStatus.MISSED,
        VisitStatus.CANCELLED,
        VisitStatus.UNASSIGNED,
    ],
)
def test_check_in_in_a_wrong_state_is_a_conflict(
    db_session: Session, caregiver: Caregiver, actor: Actor, status: VisitStatus
) -> None:
    visit = make_visit(caregiver, status=status)
    with pytest.raises(ConflictError) as caught:
        check_in(db_session, actor, visit.id, *HOME, None, NOW)
    assert caught.value.status_code == 409
    assert caught.value.message
    assert visit.status is status


def test_check_in_before_the_visit_day_is_a_conflict(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    # The caregiver's page lists the coming days read-only; a check-in sent anyway is refused.
    visit = make_visit(caregiver, visit_on=TODAY + dt.timedelta(days=1))
    with pytest.raises(ConflictError, match="2026年11月24日"):
        check_in(db_session, actor, visit.id, *HOME, None, NOW)
    assert visit.status is VisitStatus.ASSIGNED
    assert visit.checked_in_at is None
    assert audit_count(db_session, "visit.check_in") == 0


def test_check_in_twice_says_already_checked_in(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    checked_in(db_session, actor, visit)
    with pytest.raises(ConflictError, match=r"已签到|already checked in"):
        checked_in(db_session, actor, visit)


def test_check_in_of_another_caregivers_visit_is_not_found(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    theirs = make_visit(CaregiverUserFactory(provider=caregiver.provider))
    with pytest.raises(NotFoundError):
        check_in(db_session, actor, theirs.id, *HOME, None, NOW)
    assert theirs.status is VisitStatus.ASSIGNED


# check_out


def test_check_out_completes_the_visit_and_returns_a_one_time_token(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver, service_item_codes=["bathing", "oral_care", "feeding"])
    checked_in(db_session, actor, visit)
    later = NOW + dt.timedelta(hours=1)

    token = check_out(
        db_session, actor, visit.id, ["feeding", "bathing"], " 一切正常 ", *HOME, later,
        valid_for=WEEK,
    )  # fmt: skip

    assert visit.status is VisitStatus.COMPLETED
    assert visit.checked_out_at == later
    assert (visit.check_out_lat, visit.check_out_lon) == HOME
    assert visit.done_item_codes == ["bathing", "feeding"]  # in the visit's order
    assert visit.note == "一切正常"
    assert len(token) >= 40
    assert visit.rating_token_hash == token_hash(token)
    assert token not in (visit.rating_token_hash or "")
    assert visit.rating_token_expires_at == later + WEEK
    assert audit_count(db_session, "visit.check_out") == 1


def test_check_out_without_location_is_accepted(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    checked_in(db_session, actor, visit)
    check_out(db_session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    assert visit.status is VisitStatus.COMPLETED
    assert visit.check_out_lat is None
    assert visit.note is None


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (VisitStatus.ASSIGNED, r"先签到|Check in before"),
        (VisitStatus.CONFIRMED, r"先签到|Check in before"),
        (VisitStatus.COMPLETED, r"已完成|already completed"),
        (VisitStatus.MISSED, r"未上门|missed"),
        (VisitStatus.CANCELLED, r"已取消|cancelled"),
        (VisitStatus.UNASSIGNED, r"当前状态|current state"),
    ],
)
def test_check_out_in_a_wrong_state_is_a_conflict(
    db_session: Session, caregiver: Caregiver, actor: Actor, status: VisitStatus, message: str
) -> None:
    visit = make_visit(caregiver, status=status)
    with pytest.raises(ConflictError, match=message):
        check_out(db_session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    assert visit.status is status
    assert visit.rating_token_hash is None


def test_check_out_twice_is_a_conflict(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver)
    checked_in(db_session, actor, visit)
    first = check_out(
        db_session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK
    )
    with pytest.raises(ConflictError):
        check_out(db_session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    assert visit.rating_token_hash == token_hash(first)


@pytest.mark.parametrize(
    ("done", "note", "lat", "field"),
    [
        ([], None, None, "done_item_codes"),
        (["feeding"], None, None, "done_item_codes"),
        (["bathing", "feeding"], None, None, "done_item_codes"),
        (["bathing"], "x" * 501, None, "note"),
        (["bathing"], None, 91.0, None),
    ],
)
def test_check_out_refuses_bad_input_and_writes_nothing(
    db_session: Session,
    caregiver: Caregiver,
    actor: Actor,
    done: list[str],
    note: str | None,
    lat: float | None,
    field: str | None,
) -> None:
    visit = make_visit(caregiver)
    checked_in(db_session, actor, visit)
    with pytest.raises(InvalidInputError) as caught:
        check_out(db_session, actor, visit.id, done, note, lat, 120.0, NOW, valid_for=WEEK)
    assert caught.value.field == field
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.rating_token_hash is None
    assert audit_count(db_session, "visit.check_out") == 0


def test_check_out_of_another_caregivers_visit_is_not_found(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    colleague = CaregiverUserFactory(provider=caregiver.provider)
    theirs = make_visit(colleague, status=VisitStatus.CHECKED_IN)
    with pytest.raises(NotFoundError):
        check_out(db_session, actor, theirs.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    assert theirs.status is VisitStatus.CHECKED_IN


def test_check_out_soon_after_check_in_raises_a_short_visit_flag(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver, duration_minutes=60)
    checked_in(db_session, actor, visit)
    check_out(db_session, actor, visit.id, ["bathing"], None, *HOME, NOW, valid_for=WEEK)

    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == visit.id))
    assert flag is not None
    assert (flag.kind, flag.status) == (ClaimFlagKind.SHORT_VISIT, ClaimFlagStatus.OPEN)
    assert flag.detail["actual_minutes"] == 0.0
    assert flag.detail["planned_minutes"] == 60
    assert short_visit(visit, ClaimAuditSettings()) == flag.detail


def test_check_out_after_most_of_the_planned_minutes_raises_no_flag(
    db_session: Session, caregiver: Caregiver, actor: Actor
) -> None:
    visit = make_visit(caregiver, duration_minutes=60)
    checked_in(db_session, actor, visit)
    later = NOW + dt.timedelta(minutes=45)
    check_out(db_session, actor, visit.id, ["bathing"], None, *HOME, later, valid_for=WEEK)

    assert db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == visit.id)) is None
    assert short_visit(visit, ClaimAuditSettings()) is None
