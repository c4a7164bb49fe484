"""Audit of claims through the service: each flag tripped and not, idempotence, the check-out
hook, the nightly job, the review and who may see what (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import careapp.jobs.scheduled as jobs
from careapp.core.clock import to_city
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.core.identity import make_resident_id
from careapp.demo.seed import DemoSize, seed_demo
from careapp.models import (
    AuditEvent,
    Caregiver,
    ClaimFlag,
    ClaimFlagStatus,
    EntitlementEvent,
    EntitlementEventKind,
    Role,
    VerificationMethod,
    Visit,
)
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.claims import (
    ClaimAuditSettings,
    FlagFilter,
    ReviewDecision,
    audit_days,
    audit_visits,
    claim_audit_settings,
    flag_filter_providers,
    get_claim_flag,
    list_claim_flags,
    record_caregiver_id_number,
    review_claim_flag,
)
from careapp.services.visits import check_in, check_out
from scheduling.claims import ClaimFlagKind
from scheduling.travel import EARTH_RADIUS_KM
from scheduling.visits import VisitStatus
from tests import factories as f
from tests.conftest import Statements
from tests.factories import NOW, TODAY

K = ClaimFlagKind
SETTINGS = ClaimAuditSettings(max_travel_speed_kmh=60, travel_tolerance_m=100, max_distance_m=500)
HOME_A = (32.0, 120.86)
HOME_B = (32.01, 120.86)  # about 1.1 km north
SYSTEM = Actor(user_id=None, role=None, address="test")
WEEK = dt.timedelta(days=7)


def north_of(place: tuple[float, float], metres: float) -> tuple[float, float]:
    return (place[0] + math.degrees(metres / 1000 / EARTH_RADIUS_KM), place[1])


def at(hour: int, minute: int = 0, day: dt.date = TODAY) -> dt.datetime:
    """A city wall-clock time as UTC (the city is UTC+8)."""
    return dt.datetime(day.year, day.month, day.day, hour - 8, minute, tzinfo=dt.UTC)


def done(
    caregiver: Caregiver,
    start: dt.datetime,
    minutes: int = 60,
    *,
    home: tuple[float, float] | None = HOME_A,
    check_in_at: tuple[float, float] | None = None,
    check_out_at: tuple[float, float] | None = None,
    manual: bool = False,
    open_visit: bool = False,
) -> Visit:
    """A visit of `caregiver` done (checked in at `start`, out `minutes` later) at `home`,
    on the city date of `start`."""
    visit = f.caregiver_visit(caregiver, visit_on=to_city(start).date())
    visit.person.home_lat, visit.person.home_lon = home if home else (None, None)
    visit.status = VisitStatus.CHECKED_IN if open_visit else VisitStatus.COMPLETED
    visit.verification = VerificationMethod.MANUAL if manual else VerificationMethod.PHONE
    visit.checked_in_at = start
    visit.checked_out_at = None if open_visit else start + dt.timedelta(minutes=minutes)
    visit.check_in_lat, visit.check_in_lon = check_in_at or (None, None)
    visit.check_out_lat, visit.check_out_lon = check_out_at or (None, None)
    visit.check_in_flags = []
    f.current_session().flush()
    return visit


def flags_of(session: Session, *visits: Visit) -> set[tuple[int, ClaimFlagKind]]:
    ids = [v.id for v in visits]
    rows = session.execute(
        select(ClaimFlag.visit_id, ClaimFlag.kind).where(ClaimFlag.visit_id.in_(ids))
    )
    return {(visit_id, kind) for visit_id, kind in rows}


def audit_today(session: Session) -> set[tuple[int, ClaimFlagKind]]:
    return set(audit_days(session, SYSTEM, TODAY, TODAY, NOW, SETTINGS).raised)


# --- overlapping visits ---------------------------------------------------------------------


def test_overlapping_visits_of_one_caregiver_are_flagged_once(
    db_session: Session, caregiver: Caregiver
) -> None:
    a = done(caregiver, at(9), 60, home=HOME_A)
    b = done(caregiver, at(9, 30), 60, home=HOME_B)
    assert audit_today(db_session) == {
        (a.id, K.OVERLAPPING_VISITS),
        (b.id, K.OVERLAPPING_VISITS),
        (b.id, K.IMPOSSIBLE_TRAVEL),  # checked in 1.1 km away before leaving the first home
    }
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == a.id))
    assert flag is not None
    assert flag.status is ClaimFlagStatus.OPEN
    assert flag.raised_at == NOW
    assert flag.detail["other_visit_id"] == b.id
    assert flag.detail["overlap_minutes"] == 30.0
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "claim_flag.raise")
    ).all()
    assert sorted(e.detail["visit_id"] for e in events) == sorted([a.id, b.id, b.id])
    # Again: nothing new, nothing duplicated.
    assert audit_today(db_session) == set()
    assert db_session.scalar(select(func.count()).select_from(ClaimFlag)) == 3


def test_touching_visits_are_not_flagged(db_session: Session, caregiver: Caregiver) -> None:
    next_door = north_of(HOME_A, 50)  # another home, but no travel to speak of
    a = done(caregiver, at(9), 60, home=HOME_A)
    b = done(caregiver, at(10), 60, home=next_door, check_in_at=next_door)
    audit_today(db_session)
    assert flags_of(db_session, a, b) == set()
    c = done(caregiver, at(10, 59), 60, home=HOME_A)  # overlaps b by a minute
    assert audit_today(db_session) == {
        (b.id, K.OVERLAPPING_VISITS),
        (c.id, K.OVERLAPPING_VISITS),
    }


def test_the_same_person_under_two_providers_is_one_worker(db_session: Session) -> None:
    number = make_resident_id("320602", dt.date(1980, 5, 5), 22)
    first = f.CaregiverFactory(id_number=number)
    second = f.CaregiverFactory(id_number=number)  # another provider
    stranger = f.CaregiverFactory()
    assert first.provider_id != second.provider_id
    a = done(first, at(9), 60, home=HOME_A)
    b = done(second, at(9, 20), 30, home=HOME_B)
    c = done(stranger, at(9, 20), 30, home=HOME_B)
    # Auditing one visit brings in the other provider's visit of the same person.
    outcome = audit_visits(db_session, SYSTEM, [a.id], NOW, SETTINGS)
    assert set(outcome.raised) == {
        (a.id, K.OVERLAPPING_VISITS),
        (b.id, K.OVERLAPPING_VISITS),
        (b.id, K.IMPOSSIBLE_TRAVEL),
    }
    assert outcome.visits_audited == 2
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == b.id))
    assert flag is not None
    assert flag.detail["same_caregiver"] is False
    assert flag.detail["other_provider_id"] == first.provider_id
    assert flags_of(db_session, c) == set()


def test_caregivers_without_id_numbers_are_never_one_worker(db_session: Session) -> None:
    first = f.CaregiverFactory(id_number=None)
    second = f.CaregiverFactory(id_number=None)
    a = done(first, at(9), 60, home=HOME_A)
    b = done(second, at(9, 20), 30, home=HOME_B)
    assert audit_today(db_session) == set()
    assert flags_of(db_session, a, b) == set()


# --- impossible travel ----------------------------------------------------------------------


def test_impossible_travel_is_flagged_on_the_later_visit(
    db_session: Session, caregiver: Caregiver
) -> None:
    there = north_of(HOME_A, 10_000)
    a = done(caregiver, at(9), 60, check_in_at=HOME_A, check_out_at=HOME_A)
    b = done(caregiver, at(10, 5), 60, home=there, check_in_at=there)  # 10 km in 5 minutes
    assert audit_today(db_session) == {(b.id, K.IMPOSSIBLE_TRAVEL)}
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == b.id))
    assert flag is not None
    assert flag.detail["previous_visit_id"] == a.id
    assert flag.detail["speed_kmh"] == 120.0


def test_possible_travel_is_not_flagged(db_session: Session, caregiver: Caregiver) -> None:
    there = north_of(HOME_A, 10_000)
    a = done(caregiver, at(9), 60, check_in_at=HOME_A, check_out_at=HOME_A)
    b = done(caregiver, at(10, 10), 60, home=there, check_in_at=there)  # exactly 60 km/h
    audit_today(db_session)
    assert flags_of(db_session, a, b) == set()


# --- hospital stays -------------------------------------------------------------------------


def _stay(visit: Visit, admitted: dt.date, discharged: dt.date | None) -> None:
    f.current_session().add(
        EntitlementEvent(
            entitlement_id=visit.care_plan.entitlement_id,
            kind=EntitlementEventKind.HOSPITAL_STAY,
            occurs_on=admitted,
            discharged_on=discharged,
            recorded_at=NOW,
        )
    )
    f.current_session().flush()


def test_a_visit_during_a_hospital_stay_is_flagged(
    db_session: Session, caregiver: Caregiver
) -> None:
    visit = done(caregiver, at(9), 60)
    _stay(visit, TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=2))
    assert audit_today(db_session) == {(visit.id, K.DURING_HOSPITAL_STAY)}
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == visit.id))
    assert flag is not None
    assert flag.detail["admitted_on"] == (TODAY - dt.timedelta(days=1)).isoformat()


def test_an_open_stay_flags_and_the_discharge_day_does_not(
    db_session: Session, caregiver: Caregiver
) -> None:
    discharged = done(caregiver, at(9), 60)
    _stay(discharged, TODAY - dt.timedelta(days=3), TODAY)  # discharged today
    still_in = done(caregiver, at(11), 60)
    _stay(still_in, TODAY, None)  # admitted today, still in hospital
    assert audit_today(db_session) == {(still_in.id, K.DURING_HOSPITAL_STAY)}


# --- far from home and manual entry ---------------------------------------------------------


def test_far_from_home_is_flagged_with_the_distance(
    db_session: Session, caregiver: Caregiver
) -> None:
    far = done(caregiver, at(9), 60, check_in_at=north_of(HOME_A, 2400))
    near = done(caregiver, at(11), 60, check_in_at=north_of(HOME_A, 400))
    assert audit_today(db_session) == {(far.id, K.FAR_FROM_HOME)}
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == far.id))
    assert flag is not None
    assert flag.detail["distance_m"] == 2400
    assert flags_of(db_session, near) == set()


def test_a_manual_entry_is_flagged_and_a_phone_check_in_is_not(
    db_session: Session, caregiver: Caregiver
) -> None:
    manual = done(caregiver, at(9), 60, manual=True)
    phone = done(caregiver, at(11), 60, check_in_at=HOME_A)
    assert audit_today(db_session) == {(manual.id, K.MANUAL_ENTRY)}
    assert flags_of(db_session, phone) == set()


def test_visits_not_done_are_not_audited(db_session: Session, caregiver: Caregiver) -> None:
    missed = done(caregiver, at(9), 60, manual=True)
    missed.status = VisitStatus.MISSED
    db_session.flush()
    assert audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, SETTINGS).visits_audited == 0
    assert audit_visits(db_session, SYSTEM, [missed.id], NOW, SETTINGS).visits_audited == 0
    assert audit_visits(db_session, SYSTEM, [], NOW, SETTINGS).visits_audited == 0


def test_a_reviewed_flag_is_never_reopened_or_repeated(
    db_session: Session, caregiver: Caregiver, admin_actor: Actor
) -> None:
    manual = done(caregiver, at(9), 60, manual=True)
    audit_today(db_session)
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == manual.id))
    assert flag is not None
    review_claim_flag(
        db_session, admin_actor, flag.id, ReviewDecision.CLEAR, "纸质记录核实无误", NOW
    )
    assert audit_today(db_session) == set()
    db_session.refresh(flag)
    assert flag.status is ClaimFlagStatus.CLEARED
    assert db_session.scalar(select(func.count()).select_from(ClaimFlag)) == 1


def test_audit_days_refuses_a_backwards_range(db_session: Session) -> None:
    with pytest.raises(InvalidInputError):
        audit_days(db_session, SYSTEM, TODAY, TODAY - dt.timedelta(days=1), NOW, SETTINGS)


def _busy_day(size: int) -> list[Visit]:
    visits = []
    for _ in range(size):
        caregiver = f.CaregiverFactory()
        a = done(caregiver, at(9), 60, manual=True, home=HOME_A)
        b = done(caregiver, at(9, 30), 60, home=HOME_B)
        _stay(b, TODAY, None)
        visits += [a, b]
    return visits


@pytest.mark.parametrize("size", [1, 4])
def test_an_audit_costs_the_same_queries_for_more_visits(
    db_session: Session, count_queries: Statements, size: int
) -> None:
    ids = [v.id for v in _busy_day(size)]
    db_session.expire_all()
    count_queries.clear()
    outcome = audit_visits(db_session, SYSTEM, ids, NOW, SETTINGS)
    # Per caregiver: both visits overlap, b is reached too fast, a is manual, b in hospital.
    assert len(outcome.raised) == 5 * size
    reads = [s for s in count_queries if not s.startswith("INSERT INTO audit_events")]
    # The visits, the caregivers sharing an ID number, the workers' visits, the stays, and
    # one insert of the flags; then the audit events of the new flags (batched on PostgreSQL).
    assert len(reads) == 5
    assert 1 <= len(count_queries) - len(reads) <= len(outcome.raised)
    db_session.expire_all()
    count_queries.clear()
    assert audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, SETTINGS).raised == ()
    assert len(count_queries) == 3  # the visits, the stays, the insert (nothing new)


# --- the check-out hook and the nightly job -------------------------------------------------


def test_check_out_audits_the_visit_and_the_caregivers_other_visits(
    db_session: Session, caregiver: Caregiver
) -> None:
    actor = Actor(user_id=caregiver.user_id, role=Role.CAREGIVER, provider_id=caregiver.provider_id)
    earlier = done(caregiver, at(9), 60, home=HOME_B)  # 09:00-10:00 at another home
    visit = f.caregiver_visit(caregiver)
    visit.person.home_lat, visit.person.home_lon = HOME_A
    check_in(db_session, actor, visit.id, *HOME_A, None, at(9, 30))
    check_out(
        db_session, actor, visit.id, visit.service_item_codes, None, *HOME_A, at(10, 30),
        valid_for=WEEK, claim_settings=SETTINGS,
    )  # fmt: skip
    assert flags_of(db_session, earlier, visit) == {
        (earlier.id, K.OVERLAPPING_VISITS),
        (visit.id, K.OVERLAPPING_VISITS),
        (visit.id, K.IMPOSSIBLE_TRAVEL),
    }


def test_claim_audit_settings_come_from_the_config(app: Flask) -> None:
    settings = claim_audit_settings(app.config)
    assert settings == ClaimAuditSettings(60.0, 100.0, app.config["CHECK_IN_MAX_DISTANCE_M"])
    custom = claim_audit_settings(
        {"CLAIM_MAX_TRAVEL_SPEED_KMH": 40, "CLAIM_TRAVEL_TOLERANCE_M": 50}
    )
    assert (custom.max_travel_speed_kmh, custom.travel_tolerance_m) == (40.0, 50.0)
    with pytest.raises(ValueError, match="speed"):
        claim_audit_settings({"CLAIM_MAX_TRAVEL_SPEED_KMH": 0})


def test_the_nightly_job_audits_yesterday_and_today(
    db_session: Session, caregiver: Caregiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    old = done(caregiver, at(9, day=yesterday - dt.timedelta(days=1)), manual=True)
    a = done(caregiver, at(9, day=yesterday), manual=True)
    b = done(caregiver, at(9), manual=True)
    outcome = jobs.claim_audit()
    assert set(outcome.raised) == {(a.id, K.MANUAL_ENTRY), (b.id, K.MANUAL_ENTRY)}
    assert "2 flags raised (2 manual_entry)" in outcome.summary
    assert flags_of(db_session, old) == set()
    assert jobs.claim_audit().raised == ()  # a second run raises nothing
    spec = next(spec for spec in jobs.JOBS if spec.id == "claim-audit")
    assert spec.run_on is not None


def test_jobs_run_claim_audit_for_any_day(
    app: Flask, db_session: Session, caregiver: Caregiver
) -> None:
    day = TODAY - dt.timedelta(days=10)
    visit = done(caregiver, at(9, day=day), manual=True)
    result = app.test_cli_runner().invoke(
        args=["jobs", "run", "claim-audit", "--date", day.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "1 flags raised (1 manual_entry)" in result.output
    assert flags_of(db_session, visit) == {(visit.id, K.MANUAL_ENTRY)}


# --- review ---------------------------------------------------------------------------------


@pytest.fixture
def flag(db_session: Session, caregiver: Caregiver) -> ClaimFlag:
    done(caregiver, at(9), 60, manual=True)
    audit_today(db_session)
    found = db_session.scalar(select(ClaimFlag))
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        (ReviewDecision.CLEAR, ClaimFlagStatus.CLEARED),
        (ReviewDecision.UPHOLD, ClaimFlagStatus.UPHELD),
    ],
)
def test_an_administrator_reviews_a_flag_once(
    db_session: Session,
    admin_actor: Actor,
    flag: ClaimFlag,
    decision: ReviewDecision,
    status: ClaimFlagStatus,
) -> None:
    review_claim_flag(db_session, admin_actor, flag.id, decision, "  与家属电话核实  ", NOW)
    assert flag.status is status
    assert flag.reviewed_at == NOW
    assert flag.reviewed_by_id == admin_actor.user_id
    assert flag.review_note == "与家属电话核实"
    audited = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == f"claim_flag.{status.value}")
    )
    assert audited is not None
    assert audited.object_id == flag.id
    with pytest.raises(ConflictError):
        review_claim_flag(db_session, admin_actor, flag.id, ReviewDecision.CLEAR, "再次审核", NOW)


@pytest.mark.parametrize("note", [None, "", "   ", "ok", "x" * 501])
def test_a_review_needs_a_note(
    db_session: Session, admin_actor: Actor, flag: ClaimFlag, note: str | None
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        review_claim_flag(db_session, admin_actor, flag.id, ReviewDecision.CLEAR, note, NOW)
    assert raised.value.field == "note"
    assert flag.status is ClaimFlagStatus.OPEN


def test_only_an_administrator_reviews(db_session: Session, flag: ClaimFlag) -> None:
    provider_id = flag.visit.provider_id
    manager = Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=provider_id)
    with pytest.raises(PermissionDeniedError):
        review_claim_flag(db_session, manager, flag.id, ReviewDecision.CLEAR, "我们认为没问题", NOW)


def test_reviewing_an_unknown_flag_is_not_found(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        review_claim_flag(db_session, admin_actor, 999_999, ReviewDecision.CLEAR, "核实无误", NOW)


# --- reading flags --------------------------------------------------------------------------


def test_flags_are_listed_open_first_and_filtered(
    db_session: Session, caregiver: Caregiver, admin_actor: Actor
) -> None:
    other_provider = f.CaregiverFactory()
    mine = done(caregiver, at(9), 60, manual=True)
    theirs = done(other_provider, at(9), 60, manual=True, check_in_at=north_of(HOME_A, 3000))
    older = done(caregiver, at(9, day=TODAY - dt.timedelta(days=40)), manual=True)
    audit_days(db_session, SYSTEM, TODAY - dt.timedelta(days=40), TODAY, NOW, SETTINGS)
    first = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == older.id))
    assert first is not None
    review_claim_flag(db_session, admin_actor, first.id, ReviewDecision.UPHOLD, "无纸质记录", NOW)

    rows = list_claim_flags(db_session, admin_actor, FlagFilter()).rows
    assert [r.flag.visit_id for r in rows][-1] == older.id  # reviewed: last
    assert {r.flag.visit_id for r in rows} == {mine.id, theirs.id, older.id}
    assert rows[0].beneficiary_name.count("*") >= 1  # names masked

    def visit_ids(**filters: object) -> set[int]:
        page = list_claim_flags(db_session, admin_actor, FlagFilter(**filters))  # type: ignore[arg-type]
        return {r.flag.visit_id for r in page.rows}

    assert visit_ids(status=ClaimFlagStatus.UPHELD) == {older.id}
    assert visit_ids(kind=K.FAR_FROM_HOME) == {theirs.id}
    assert visit_ids(provider_id=caregiver.provider_id) == {mine.id, older.id}
    assert visit_ids(month=TODAY.replace(day=5)) == {mine.id, theirs.id}
    page = list_claim_flags(db_session, admin_actor, FlagFilter(), offset=0, limit=2)
    assert page.has_more
    assert len(page.rows) == 2

    manager = Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=caregiver.provider_id)
    # A manager sees their own provider's flags whatever the provider filter says.
    own = list_claim_flags(db_session, manager, FlagFilter(provider_id=other_provider.provider_id))
    assert {r.flag.visit_id for r in own.rows} == {mine.id, older.id}
    assert flag_filter_providers(db_session, manager) == []
    assert caregiver.provider_id in dict(flag_filter_providers(db_session, admin_actor))


def test_a_manager_reads_only_their_own_providers_flags(
    db_session: Session, caregiver: Caregiver, admin_actor: Actor
) -> None:
    other_caregiver = f.CaregiverFactory()
    mine = done(caregiver, at(9), 60, manual=True, check_in_at=north_of(HOME_A, 900))
    theirs = done(other_caregiver, at(9), 60, manual=True)
    audit_today(db_session)
    flag_ids = dict(
        db_session.execute(
            select(ClaimFlag.visit_id, ClaimFlag.id).where(ClaimFlag.kind == K.MANUAL_ENTRY)
        ).all()
    )
    manager = Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=caregiver.provider_id)
    detail = get_claim_flag(db_session, manager, flag_ids[mine.id])
    assert detail.can_review is False
    assert detail.check_in_distance_m == 900
    assert [other.kind for other in detail.other_flags] == [K.FAR_FROM_HOME]
    assert detail.caregiver_id_masked is not None
    assert "*" in detail.caregiver_id_masked
    with pytest.raises(NotFoundError):
        get_claim_flag(db_session, manager, flag_ids[theirs.id])
    assert get_claim_flag(db_session, admin_actor, flag_ids[theirs.id]).can_review is True
    caregiver_actor = Actor(user_id=2, role=Role.CAREGIVER, provider_id=caregiver.provider_id)
    with pytest.raises(PermissionDeniedError):
        get_claim_flag(db_session, caregiver_actor, flag_ids[mine.id])
    with pytest.raises(PermissionDeniedError):
        list_claim_flags(db_session, caregiver_actor, FlagFilter())
    with pytest.raises(NotFoundError):
        get_claim_flag(db_session, admin_actor, 999_999)


# --- caregivers' ID numbers -----------------------------------------------------------------


def test_a_caregivers_id_number_is_stored_encrypted_and_may_repeat(
    db_session: Session, admin_actor: Actor, protector: DataProtector
) -> None:
    number = make_resident_id("320602", dt.date(1979, 2, 3), 44)
    first = f.CaregiverFactory(id_number=None)
    second = f.CaregiverFactory(id_number=None)
    for caregiver in (first, second):
        record_caregiver_id_number(db_session, admin_actor, caregiver.id, number, protector, NOW)
    assert first.id_number_index == second.id_number_index == protector.blind_index(number)
    assert first.id_number_ciphertext is not None
    assert number.encode() not in first.id_number_ciphertext
    assert protector.decrypt(first.id_number_ciphertext) == number
    assert first.id_number_masked == number[:6] + "*" * 11 + number[-1]
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "caregiver.id_number")
        )
        == 2
    )


def test_a_caregivers_id_number_is_checked_and_set_by_administrators_only(
    db_session: Session, admin_actor: Actor, protector: DataProtector
) -> None:
    caregiver = f.CaregiverFactory(id_number=None)
    with pytest.raises(InvalidInputError) as raised:
        record_caregiver_id_number(db_session, admin_actor, caregiver.id, "12345", protector, NOW)
    assert raised.value.field == "id_number"
    manager = Actor(user_id=1, role=Role.PROVIDER_MANAGER, provider_id=caregiver.provider_id)
    number = make_resident_id("320602", dt.date(1979, 2, 3), 44)
    with pytest.raises(PermissionDeniedError):
        record_caregiver_id_number(db_session, manager, caregiver.id, number, protector, NOW)
    with pytest.raises(NotFoundError):
        record_caregiver_id_number(db_session, admin_actor, 999_999, number, protector, NOW)
    assert caregiver.id_number_index is None


def test_the_demo_has_a_caregiver_working_for_two_providers(
    db_session: Session, protector: DataProtector
) -> None:
    size = DemoSize(
        people=12, beneficiaries=3, pending_applications=1, providers=2, caregivers_per_provider=2
    )
    seed_demo(db_session, protector, now=NOW, size=size)
    caregivers = db_session.scalars(select(Caregiver)).all()
    assert all(c.id_number_index and c.id_number_masked for c in caregivers)
    by_person: dict[str, set[int]] = {}
    for c in caregivers:
        assert c.id_number_index is not None
        by_person.setdefault(c.id_number_index, set()).add(c.provider_id)
    assert [len(providers) for providers in by_person.values()].count(2) == 1
