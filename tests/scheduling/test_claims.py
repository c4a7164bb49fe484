"""Pure audit of claims: each detector with a case that trips it and one that does not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.claims import (
    AuditRules,
    ClaimFlagKind,
    ClaimVisit,
    Stay,
    audit_claims,
    distance_m,
    during_hospital_stay,
    far_from_home,
    impossible_travel,
    is_travel_possible,
    manual_entries,
    overlapping_visits,
    same_home,
    short_visit_detail,
    short_visits,
    worker_key,
)
from scheduling.travel import EARTH_RADIUS_KM
from scheduling.types import Location

UTC = dt.UTC
DAY = dt.date(2026, 11, 23)
NINE = dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in the city
HOME_A = Location(32.0, 120.86)
HOME_B = Location(32.01, 120.86)  # about 1.1 km north of A
FAR = Location(32.3, 120.86)  # about 33 km north of A


def north_of(place: Location, metres: float) -> Location:
    """A point `metres` due north (along the meridian the haversine distance is exact)."""
    return Location(place.lat + math.degrees(metres / 1000 / EARTH_RADIUS_KM), place.lon)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def visit(
    visit_id: int,
    start: dt.datetime = NINE,
    length: float | None = 60,
    *,
    worker: str = "caregiver:1",
    caregiver_id: int = 1,
    provider_id: int = 1,
    person_id: int | None = None,
    home: Location | None = HOME_A,
    check_in: Location | None = None,
    check_out: Location | None = None,
    **extra: object,
) -> ClaimVisit:
    return ClaimVisit(
        visit_id=visit_id,
        worker=worker,
        caregiver_id=caregiver_id,
        provider_id=provider_id,
        person_id=person_id if person_id is not None else 100 + visit_id,
        visit_on=DAY,
        checked_in_at=start,
        checked_out_at=None if length is None else start + minutes(length),
        check_in=check_in,
        check_out=check_out,
        home=home,
        **extra,  # type: ignore[arg-type]  # the remaining ClaimVisit fields
    )


# --- overlapping visits ---------------------------------------------------------------------


def test_overlapping_visits_flags_both_visits_with_the_other_one() -> None:
    a = visit(1, NINE, 60)
    b = visit(2, NINE + minutes(30), 60, home=HOME_B)
    findings = overlapping_visits([a, b])
    assert [(f.visit_id, f.kind) for f in findings] == [
        (1, ClaimFlagKind.OVERLAPPING_VISITS),
        (2, ClaimFlagKind.OVERLAPPING_VISITS),
    ]
    assert findings[0].detail["other_visit_id"] == 2
    assert findings[0].detail["overlap_minutes"] == 30.0
    assert findings[0].detail["same_caregiver"] is True
    assert findings[1].detail["other_checked_in_at"] == NINE.isoformat()
    assert findings[1].detail["other_checked_out_at"] == (NINE + minutes(60)).isoformat()


def test_touching_visits_do_not_overlap() -> None:
    a = visit(1, NINE, 60)
    b = visit(2, NINE + minutes(60), 60, home=HOME_B)
    assert overlapping_visits([a, b]) == []


def test_overlap_across_providers_is_found_through_the_worker_key() -> None:
    same_person = worker_key(7, "abc")
    a = visit(1, worker=same_person, caregiver_id=7, provider_id=1)
    b = visit(2, NINE + minutes(10), worker=same_person, caregiver_id=8, provider_id=2, home=HOME_B)
    findings = overlapping_visits([a, b])
    assert {f.visit_id for f in findings} == {1, 2}
    assert findings[0].detail["same_caregiver"] is False
    assert findings[0].detail["other_provider_id"] == 2


def test_two_workers_at_the_same_time_do_not_overlap() -> None:
    a = visit(1, worker=worker_key(7, None), caregiver_id=7)
    b = visit(2, worker=worker_key(8, None), caregiver_id=8, home=HOME_B)
    assert overlapping_visits([a, b]) == []


def test_worker_key_prefers_the_id_number_index() -> None:
    assert worker_key(7, "abc") == worker_key(8, "abc") == "id:abc"
    assert worker_key(7, None) == "caregiver:7"
    assert worker_key(7, "") != worker_key(8, "")


def test_overlap_at_the_same_home_is_not_flagged() -> None:
    # A couple at one address: one beneficiary after the other, or both at once.
    a = visit(1, NINE, 60, person_id=1)
    b = visit(2, NINE + minutes(30), 60, person_id=2)  # same coordinates
    c = visit(3, NINE + minutes(30), 60, person_id=1, home=None)  # the same person
    assert overlapping_visits([a, b]) == []
    assert overlapping_visits([a, c]) == []


def test_same_home_needs_both_coordinates_for_two_people() -> None:
    assert same_home(visit(1, home=None), visit(2, home=None)) is False
    assert same_home(visit(1), visit(2, home=HOME_B)) is False
    assert same_home(visit(1), visit(2, home=north_of(HOME_A, 5))) is True


def test_an_open_visit_is_not_compared_for_overlap() -> None:
    a = visit(1, NINE, None)  # still checked in
    b = visit(2, NINE + minutes(30), 60, home=HOME_B)
    assert overlapping_visits([a, b]) == []


def test_a_visit_overlapping_two_others_is_flagged_once() -> None:
    a = visit(1, NINE, 120)
    b = visit(2, NINE + minutes(10), 20, home=HOME_B)
    c = visit(3, NINE + minutes(40), 20, home=FAR)
    findings = overlapping_visits([a, b, c])
    assert [f.visit_id for f in findings] == [1, 2, 3]
    assert findings[0].detail["other_visit_id"] == 2


@given(
    st.integers(min_value=-180, max_value=180),
    st.integers(min_value=1, max_value=120),
    st.integers(min_value=1, max_value=120),
)
def test_overlap_is_symmetric_and_strict(offset: int, length_a: int, length_b: int) -> None:
    a = visit(1, NINE, length_a)
    b = visit(2, NINE + minutes(offset), length_b, home=HOME_B)
    flagged = {f.visit_id for f in overlapping_visits([a, b])}
    overlaps = offset < length_a and offset + length_b > 0
    assert flagged == ({1, 2} if overlaps else set())


# --- impossible travel ----------------------------------------------------------------------

RULES = AuditRules(max_travel_speed_kmh=60.0, travel_tolerance_m=100.0, max_distance_m=500.0)


def _pair(gap: dt.timedelta, metres: float) -> tuple[ClaimVisit, ClaimVisit]:
    first = visit(1, NINE, 60, check_in=HOME_A, check_out=HOME_A)
    there = north_of(HOME_A, metres)
    second = visit(2, NINE + minutes(60) + gap, 60, home=there, check_in=there)
    return first, second


def test_travel_faster_than_the_limit_is_flagged_on_the_later_visit() -> None:
    first, second = _pair(minutes(5), 10_000)  # 10 km in 5 minutes: 120 km/h
    [finding] = impossible_travel([second, first], RULES)
    assert finding.visit_id == 2
    assert finding.kind is ClaimFlagKind.IMPOSSIBLE_TRAVEL
    assert finding.detail["previous_visit_id"] == 1
    assert finding.detail["distance_m"] == 10_000
    assert finding.detail["minutes"] == 5.0
    assert finding.detail["speed_kmh"] == 120.0
    assert finding.detail["max_speed_kmh"] == 60.0
    assert (finding.detail["from_place"], finding.detail["to_place"]) == ("check_out", "check_in")


def test_travel_exactly_at_the_limit_is_not_flagged() -> None:
    metres = 10_000
    first, second = _pair(dt.timedelta(seconds=metres / (60_000 / 3600)), metres)
    assert impossible_travel([first, second], RULES) == []
    first, second = _pair(dt.timedelta(seconds=metres / (60_000 / 3600) - 1), metres)
    assert len(impossible_travel([first, second], RULES)) == 1


def test_no_time_between_visits_counts_only_beyond_the_tolerance() -> None:
    first, second = _pair(dt.timedelta(0), 150)
    [finding] = impossible_travel([first, second], RULES)
    assert finding.detail["speed_kmh"] is None
    first, second = _pair(-minutes(10), 150)  # checked in before the last check-out
    assert len(impossible_travel([first, second], RULES)) == 1
    first, second = _pair(dt.timedelta(0), 100)  # within the GPS tolerance
    assert impossible_travel([first, second], RULES) == []


def test_travel_of_two_workers_is_not_compared() -> None:
    first, second = _pair(minutes(1), 10_000)
    second = dataclasses.replace(second, worker="caregiver:2")
    assert impossible_travel([first, second], RULES) == []


def test_travel_falls_back_to_check_in_then_home() -> None:
    far = north_of(HOME_A, 20_000)
    # The previous visit has no check-out position: its check-in position is used.
    first = visit(1, NINE, 60, check_in=HOME_A, home=far)
    second = visit(2, NINE + minutes(65), home=far, check_in=far)
    [finding] = impossible_travel([first, second], RULES)
    assert finding.detail["from_place"] == "check_in"
    # No position at all: the homes.
    first = visit(1, NINE, 60)
    second = visit(2, NINE + minutes(65), home=far)
    [finding] = impossible_travel([first, second], RULES)
    assert (finding.detail["from_place"], finding.detail["to_place"]) == ("home", "home")


def test_travel_from_a_visit_not_checked_out_counts_from_its_check_in() -> None:
    first = visit(1, NINE, None, check_in=HOME_A)
    there = north_of(HOME_A, 10_000)
    second = visit(2, NINE + minutes(30), home=there, check_in=there)  # 10 km in 30 min
    assert impossible_travel([first, second], RULES) == []
    second = visit(2, NINE + minutes(5), home=there, check_in=there)
    [finding] = impossible_travel([first, second], RULES)
    assert finding.detail["left_at"] == NINE.isoformat()


def test_travel_without_any_place_is_not_measured() -> None:
    first = visit(1, NINE, 60, home=None)
    second = visit(2, NINE + minutes(61), home=FAR)
    assert impossible_travel([first, second], RULES) == []
    assert impossible_travel([second, dataclasses.replace(first, checked_in_at=NINE)], RULES) == []
    first = visit(1, NINE, 60)
    second = visit(2, NINE + minutes(61), home=None)
    assert impossible_travel([first, second], RULES) == []


@given(
    st.floats(min_value=0, max_value=100_000),
    st.floats(min_value=0, max_value=100_000),
    st.floats(min_value=-3600, max_value=86_400),
    st.floats(min_value=0, max_value=86_400),
)
def test_travel_possibility_is_monotonic(
    metres: float, more_metres: float, seconds: float, more_seconds: float
) -> None:
    # Further in the same time, or as far in less time, is never more possible.
    if not is_travel_possible(metres, seconds, RULES):
        assert not is_travel_possible(metres + more_metres, seconds, RULES)
        assert not is_travel_possible(metres, seconds - more_seconds, RULES)
    if metres <= RULES.travel_tolerance_m:
        assert is_travel_possible(metres, seconds, RULES)


@pytest.mark.parametrize(
    ("speed", "tolerance", "distance"),
    [(0, 100, 500), (-1, 100, 500), (60, -1, 500), (60, 100, -1)],
)
def test_audit_rules_refuse_impossible_settings(
    speed: float, tolerance: float, distance: float
) -> None:
    with pytest.raises(ValueError, match="must"):
        AuditRules(speed, tolerance, distance)


# --- hospital stays -------------------------------------------------------------------------


def _on(day: dt.date, person_id: int = 9) -> ClaimVisit:
    return dataclasses.replace(visit(1, person_id=person_id), visit_on=day)


STAY = Stay(person_id=9, admitted_on=dt.date(2026, 11, 20), discharged_on=dt.date(2026, 11, 23))


@pytest.mark.parametrize(
    ("day", "flagged"),
    [
        (dt.date(2026, 11, 19), False),  # the day before admission
        (dt.date(2026, 11, 20), True),  # the admission day is suspended
        (dt.date(2026, 11, 22), True),  # the day before discharge
        (dt.date(2026, 11, 23), False),  # the discharge day is paid again
    ],
)
def test_visit_during_a_hospital_stay(day: dt.date, flagged: bool) -> None:
    findings = during_hospital_stay([_on(day)], [STAY])
    assert bool(findings) is flagged
    if flagged:
        assert findings[0].detail == {
            "visit_on": day.isoformat(),
            "admitted_on": "2026-11-20",
            "discharged_on": "2026-11-23",
        }


def test_an_open_stay_suspends_every_day_from_admission() -> None:
    open_stay = Stay(person_id=9, admitted_on=dt.date(2026, 11, 20))
    [finding] = during_hospital_stay([_on(dt.date(2027, 1, 5))], [open_stay])
    assert finding.detail["discharged_on"] is None
    assert during_hospital_stay([_on(dt.date(2026, 11, 19))], [open_stay]) == []


def test_another_persons_stay_does_not_count() -> None:
    assert during_hospital_stay([_on(dt.date(2026, 11, 21), person_id=8)], [STAY]) == []


@given(
    st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=-30, max_value=90),
)
def test_a_stay_suspends_from_admission_to_the_day_before_discharge(
    admitted: dt.date, length: int, offset: int
) -> None:
    stay = Stay(9, admitted, admitted + dt.timedelta(days=length))
    day = admitted + dt.timedelta(days=offset)
    flagged = bool(during_hospital_stay([_on(day)], [stay]))
    assert flagged is (0 <= offset < length)


# --- far from home --------------------------------------------------------------------------


def test_check_in_far_from_home_is_flagged_with_the_distance() -> None:
    [finding] = far_from_home([visit(1, check_in=north_of(HOME_A, 2400))], RULES)
    assert finding.kind is ClaimFlagKind.FAR_FROM_HOME
    assert finding.detail == {
        "distance_m": 2400,
        "max_distance_m": 500.0,
        "recorded_at_check_in": False,
    }


def test_check_in_exactly_at_the_limit_is_not_flagged() -> None:
    assert far_from_home([visit(1, check_in=north_of(HOME_A, 500))], RULES) == []
    assert len(far_from_home([visit(1, check_in=north_of(HOME_A, 501))], RULES)) == 1


def test_far_from_home_recorded_at_check_in_counts_without_coordinates() -> None:
    recorded = visit(1, home=None, check_in=FAR, check_in_flags=("far_from_home",))
    [finding] = far_from_home([recorded], RULES)
    assert finding.detail["distance_m"] is None
    assert finding.detail["recorded_at_check_in"] is True
    assert far_from_home([visit(2, home=None, check_in=FAR)], RULES) == []
    assert far_from_home([visit(3, check_in=None)], RULES) == []


# --- manual entry and the whole audit -------------------------------------------------------


def test_manual_entry_is_flagged_and_phone_verification_is_not() -> None:
    findings = manual_entries([visit(1, is_manual=True), visit(2, is_manual=False)])
    assert [(f.visit_id, f.kind) for f in findings] == [(1, ClaimFlagKind.MANUAL_ENTRY)]
    assert findings[0].detail["checked_in_at"] == NINE.isoformat()


def test_audit_claims_returns_every_kind_in_order() -> None:
    a = visit(1, NINE, 60, check_in=HOME_A, is_manual=True, person_id=9)
    b = visit(2, NINE + minutes(30), 60, home=FAR, check_in=north_of(FAR, 1000))
    findings = audit_claims([a, b], [Stay(9, DAY)], RULES)
    assert [(f.visit_id, f.kind) for f in findings] == [
        (1, ClaimFlagKind.OVERLAPPING_VISITS),
        (1, ClaimFlagKind.DURING_HOSPITAL_STAY),
        (1, ClaimFlagKind.MANUAL_ENTRY),
        (2, ClaimFlagKind.OVERLAPPING_VISITS),
        (2, ClaimFlagKind.IMPOSSIBLE_TRAVEL),
        (2, ClaimFlagKind.FAR_FROM_HOME),
    ]


def test_audit_claims_of_a_clean_day_is_empty() -> None:
    a = visit(1, NINE, 60, check_in=HOME_A, check_out=HOME_A)
    b = visit(2, NINE + minutes(75), 60, home=HOME_B, check_in=HOME_B)
    assert audit_claims([a, b], [STAY], RULES) == []  # discharged on DAY
    assert distance_m(HOME_A, HOME_A) == 0


# --- short visit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned", "length", "share", "is_short"),
    [
        (60, 0, 0.5, True),  # checked out straight after the check-in
        (60, 29.9, 0.5, True),
        (60, 30, 0.5, False),  # exactly half: not short
        (60, 45, 0.5, False),
        (60, 90, 0.5, False),
        (60, 44, 0.75, True),  # a stricter share
        (60, 1, 0.01, False),
        (0, 0, 0.5, False),  # no planned minutes: nothing to compare with
        (60, None, 0.5, False),  # not checked out yet
    ],
)
def test_short_visit_is_flagged_below_the_share_of_planned_minutes(
    planned: int, length: float | None, share: float, is_short: bool
) -> None:
    rules = AuditRules(min_duration_share=share)
    findings = short_visits([visit(1, NINE, length, planned_minutes=planned)], rules)
    assert [(f.visit_id, f.kind) for f in findings] == (
        [(1, ClaimFlagKind.SHORT_VISIT)] if is_short else []
    )


def test_short_visit_detail_names_the_minutes() -> None:
    detail = short_visit_detail(60, NINE, NINE, 0.5)
    assert detail == {
        "actual_minutes": 0.0,
        "planned_minutes": 60,
        "min_minutes": 30.0,
        "checked_in_at": NINE.isoformat(),
        "checked_out_at": NINE.isoformat(),
    }
    assert short_visit_detail(60, NINE, NINE + minutes(50)) is None
    # A clock going backwards counts as no time at all, never negative minutes.
    assert short_visit_detail(60, NINE, NINE - minutes(1))["actual_minutes"] == 0.0  # type: ignore[index]


def test_audit_claims_includes_short_visits() -> None:
    findings = audit_claims([visit(1, NINE, 0, check_in=HOME_A, planned_minutes=60)])
    assert [(f.visit_id, f.kind) for f in findings] == [(1, ClaimFlagKind.SHORT_VISIT)]


@pytest.mark.parametrize("share", [0, -0.5, 1.01])
def test_audit_rules_refuse_an_impossible_duration_share(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        AuditRules(min_duration_share=share)
