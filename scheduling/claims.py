"""Audit of claims (pure): which visits look wrong, and the facts that say why.

Each detector takes plain `ClaimVisit` values and returns `ClaimFinding`s, one per visit and
kind, with a JSON-ready `detail` from which a reviewer's sentence is worded:

- overlapping visits: the same worker (one caregiver, or caregivers of two providers who are
  the same person: same ID-number blind index) checked in at two homes at once. Only visits
  with both a check-in and a check-out are compared; touching intervals do not overlap;
- impossible travel: between a worker's consecutive visits, the distance from where the previous
  visit ended to where the next began, in the time between them, is faster than possible;
- during a hospital stay: a visit on a day the beneficiary's benefit was suspended (admission
  day up to the day before discharge; an open stay suspends every day from admission);
- far from home: the check-in was further from the home than allowed;
- manual entry: the visit was entered by hand rather than verified on the phone;
- short visit: checked out after less than a share (by default half) of the minutes its service
  items are planned to take. The spec is silent on the share; half leaves room for a quick
  visit while catching a check-out straight after the check-in.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scheduling.travel import distance_km
from scheduling.types import Location

DEFAULT_MAX_TRAVEL_SPEED_KMH = 60.0
# Two positions closer than this are "the same place" (GPS noise): never impossible travel.
DEFAULT_TRAVEL_TOLERANCE_M = 100.0
DEFAULT_MAX_DISTANCE_M = 500.0
# Two homes whose coordinates are this close are one home (a couple's, say).
SAME_HOME_M = 10.0
# A visit that lasted less than this share of its planned minutes is short.
DEFAULT_MIN_DURATION_SHARE = 0.5
# Rounding allowance when comparing a distance with speed x time (a millimetre).
_ROUNDING_M = 0.001


class ClaimFlagKind(enum.StrEnum):
    """The kinds of flag the detectors raise (stored by value on careapp's claim flags)."""

    # One caregiver (the same person, even under two providers) in two homes at once.
    OVERLAPPING_VISITS = "overlapping_visits"
    # Consecutive check-ins further apart than anyone could travel in the time between them.
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    # A visit on a day the beneficiary was in hospital (the benefit is suspended).
    DURING_HOSPITAL_STAY = "during_hospital_stay"
    # Checked in further from the home than the configured distance.
    FAR_FROM_HOME = "far_from_home"
    # Entered by hand afterwards instead of verified on the phone at the home.
    MANUAL_ENTRY = "manual_entry"
    # Checked out after far fewer minutes than the visit's service items take.
    SHORT_VISIT = "short_visit"


class Place(enum.StrEnum):
    """Which recorded position stood for a visit's place in a travel check."""

    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    HOME = "home"


@dataclass(frozen=True)
class ClaimVisit:
    """What the audit knows about one checked-in (or completed) visit."""

    visit_id: int
    worker: str  # one key per person: "id:<blind index>" or "caregiver:<id>" (see worker_key)
    caregiver_id: int | None
    provider_id: int
    person_id: int
    visit_on: dt.date
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None = None
    check_in: Location | None = None
    check_out: Location | None = None
    home: Location | None = None
    is_manual: bool = False
    check_in_flags: tuple[str, ...] = ()
    planned_minutes: int = 0  # the standard minutes of the visit's service items


@dataclass(frozen=True)
class Stay:
    """An acute hospital stay of a beneficiary."""

    person_id: int
    admitted_on: dt.date
    discharged_on: dt.date | None = None  # None: still in hospital

    def suspends(self, day: dt.date) -> bool:
        return self.admitted_on <= day and (self.discharged_on is None or day < self.discharged_on)


@dataclass(frozen=True)
class AuditRules:
    max_travel_speed_kmh: float = DEFAULT_MAX_TRAVEL_SPEED_KMH
    travel_tolerance_m: float = DEFAULT_TRAVEL_TOLERANCE_M
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    min_duration_share: float = DEFAULT_MIN_DURATION_SHARE

    def __post_init__(self) -> None:
        if self.max_travel_speed_kmh <= 0:
            raise ValueError("the maximum travel speed must be positive")
        if not 0 < self.min_duration_share <= 1:
            raise ValueError("the minimum share of the planned minutes must be in (0, 1]")
        if self.travel_tolerance_m < 0 or self.max_distance_m < 0:
            raise ValueError("distances must not be negative")


DEFAULT_RULES = AuditRules()


@dataclass(frozen=True)
class ClaimFinding:
    visit_id: int
    kind: ClaimFlagKind
    detail: Mapping[str, Any] = field(default_factory=dict)


def worker_key(caregiver_id: int, id_number_index: str | None) -> str:
    """One key per person: the ID number's blind index when known, else the caregiver row."""
    return f"id:{id_number_index}" if id_number_index else f"caregiver:{caregiver_id}"


def distance_m(a: Location, b: Location) -> float:
    return distance_km(a, b) * 1000


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _by_worker(visits: Iterable[ClaimVisit]) -> dict[str, list[ClaimVisit]]:
    groups: dict[str, list[ClaimVisit]] = defaultdict(list)
    for visit in visits:
        groups[visit.worker].append(visit)
    for group in groups.values():
        group.sort(key=lambda v: (v.checked_in_at, v.visit_id))
    return groups


def same_home(a: ClaimVisit, b: ClaimVisit) -> bool:
    """One beneficiary, or two whose homes are at the same place."""
    if a.person_id == b.person_id:
        return True
    if a.home is None or b.home is None:
        return False
    return distance_m(a.home, b.home) <= SAME_HOME_M


def overlapping_visits(visits: Iterable[ClaimVisit]) -> list[ClaimFinding]:
    """Both visits of a worker whose check-in..check-out intervals overlap at different homes.

    Each visit is flagged once, naming the first visit (by check-in) it overlaps.
    """
    findings: dict[int, ClaimFinding] = {}
    for group in _by_worker(visits).values():
        closed = [(v, v.checked_out_at) for v in group if v.checked_out_at is not None]
        for (a, a_out), (b, b_out) in itertools.combinations(closed, 2):
            start = max(a.checked_in_at, b.checked_in_at)
            end = min(a_out, b_out)
            if start >= end or same_home(a, b):
                continue
            minutes = round((end - start) / dt.timedelta(minutes=1), 1)
            for visit, other in ((a, b), (b, a)):
                if visit.visit_id not in findings:
                    findings[visit.visit_id] = ClaimFinding(
                        visit.visit_id,
                        ClaimFlagKind.OVERLAPPING_VISITS,
                        {
                            "other_visit_id": other.visit_id,
                            "other_caregiver_id": other.caregiver_id,
                            "other_provider_id": other.provider_id,
                            "same_caregiver": other.caregiver_id == visit.caregiver_id,
                            "other_checked_in_at": _iso(other.checked_in_at),
                            "other_checked_out_at": _iso(other.checked_out_at),
                            "overlap_minutes": minutes,
                        },
                    )
    return sorted(findings.values(), key=lambda f: f.visit_id)


def _departure(visit: ClaimVisit) -> tuple[Location | None, Place | None, dt.datetime]:
    """Where and when the worker left a visit: check-out, else check-in, else the home."""
    left_at = visit.checked_out_at or visit.checked_in_at
    if visit.check_out is not None:
        return visit.check_out, Place.CHECK_OUT, left_at
    if visit.check_in is not None:
        return visit.check_in, Place.CHECK_IN, left_at
    return visit.home, (Place.HOME if visit.home is not None else None), left_at


def _arrival(visit: ClaimVisit) -> tuple[Location | None, Place | None]:
    if visit.check_in is not None:
        return visit.check_in, Place.CHECK_IN
    return visit.home, (Place.HOME if visit.home is not None else None)


def is_travel_possible(metres: float, seconds: float, rules: AuditRules = DEFAULT_RULES) -> bool:
    """Whether `metres` can be covered in `seconds` (zero or negative: only within tolerance)."""
    if metres <= rules.travel_tolerance_m:
        return True
    if seconds <= 0:
        return False
    allowed_m = rules.max_travel_speed_kmh * 1000 / 3600 * seconds
    return metres <= allowed_m + _ROUNDING_M


def impossible_travel(
    visits: Iterable[ClaimVisit], rules: AuditRules = DEFAULT_RULES
) -> list[ClaimFinding]:
    """The later of two consecutive visits of a worker reached faster than possible."""
    findings = []
    for group in _by_worker(visits).values():
        for previous, following in itertools.pairwise(group):
            start, start_place, left_at = _departure(previous)
            end, end_place = _arrival(following)
            if start is None or end is None:
                continue  # nowhere to measure from or to
            metres = distance_m(start, end)
            seconds = (following.checked_in_at - left_at).total_seconds()
            if is_travel_possible(metres, seconds, rules):
                continue
            speed = round(metres / 1000 / (seconds / 3600), 1) if seconds > 0 else None
            findings.append(
                ClaimFinding(
                    following.visit_id,
                    ClaimFlagKind.IMPOSSIBLE_TRAVEL,
                    {
                        "previous_visit_id": previous.visit_id,
                        "previous_provider_id": previous.provider_id,
                        "left_at": _iso(left_at),
                        "arrived_at": _iso(following.checked_in_at),
                        "from_place": str(start_place),
                        "to_place": str(end_place),
                        "distance_m": round(metres),
                        "minutes": round(seconds / 60, 1),
                        "speed_kmh": speed,
                        "max_speed_kmh": rules.max_travel_speed_kmh,
                    },
                )
            )
    return sorted(findings, key=lambda f: f.visit_id)


def during_hospital_stay(visits: Iterable[ClaimVisit], stays: Iterable[Stay]) -> list[ClaimFinding]:
    """Visits on a day their beneficiary's benefit was suspended for a hospital stay."""
    by_person: dict[int, list[Stay]] = defaultdict(list)
    for stay in stays:
        by_person[stay.person_id].append(stay)
    findings = []
    for visit in visits:
        found = [s for s in by_person[visit.person_id] if s.suspends(visit.visit_on)]
        if not found:
            continue
        stay = found[0]
        findings.append(
            ClaimFinding(
                visit.visit_id,
                ClaimFlagKind.DURING_HOSPITAL_STAY,
                {
                    "visit_on": visit.visit_on.isoformat(),
                    "admitted_on": stay.admitted_on.isoformat(),
                    "discharged_on": stay.discharged_on.isoformat() if stay.discharged_on else None,
                },
            )
        )
    return sorted(findings, key=lambda f: f.visit_id)


FAR_FROM_HOME_FLAG = "far_from_home"  # the check-in flag of scheduling.visits.CheckInFlag


def far_from_home(
    visits: Iterable[ClaimVisit], rules: AuditRules = DEFAULT_RULES
) -> list[ClaimFinding]:
    """Check-ins further than `max_distance_m` from the home (or flagged so at check-in)."""
    findings = []
    for visit in visits:
        metres = (
            distance_m(visit.home, visit.check_in)
            if visit.home is not None and visit.check_in is not None
            else None
        )
        recorded = FAR_FROM_HOME_FLAG in visit.check_in_flags
        is_far = metres is not None and metres > rules.max_distance_m + _ROUNDING_M
        if not (is_far or recorded):
            continue
        findings.append(
            ClaimFinding(
                visit.visit_id,
                ClaimFlagKind.FAR_FROM_HOME,
                {
                    "distance_m": round(metres) if metres is not None else None,
                    "max_distance_m": rules.max_distance_m,
                    "recorded_at_check_in": recorded,
                },
            )
        )
    return sorted(findings, key=lambda f: f.visit_id)


def manual_entries(visits: Iterable[ClaimVisit]) -> list[ClaimFinding]:
    """Visits entered by hand afterwards instead of verified on the phone at the home."""
    return [
        ClaimFinding(
            v.visit_id,
            ClaimFlagKind.MANUAL_ENTRY,
            {"checked_in_at": _iso(v.checked_in_at), "checked_out_at": _iso(v.checked_out_at)},
        )
        for v in sorted(visits, key=lambda v: v.visit_id)
        if v.is_manual
    ]


def short_visit_detail(
    planned_minutes: int,
    checked_in_at: dt.datetime,
    checked_out_at: dt.datetime | None,
    min_share: float = DEFAULT_MIN_DURATION_SHARE,
) -> dict[str, Any] | None:
    """The facts of a short visit (None when it is not short, or not checked out yet): it
    lasted less than `min_share` of the `planned_minutes` of its service items."""
    if checked_out_at is None or planned_minutes <= 0:
        return None
    actual = (checked_out_at - checked_in_at) / dt.timedelta(minutes=1)
    if actual >= planned_minutes * min_share:
        return None
    return {
        "actual_minutes": round(max(actual, 0.0), 1),
        "planned_minutes": planned_minutes,
        "min_minutes": round(planned_minutes * min_share, 1),
        "checked_in_at": _iso(checked_in_at),
        "checked_out_at": _iso(checked_out_at),
    }


def short_visits(
    visits: Iterable[ClaimVisit], rules: AuditRules = DEFAULT_RULES
) -> list[ClaimFinding]:
    """Visits checked out after far fewer minutes than their service items take."""
    findings = []
    for visit in sorted(visits, key=lambda v: v.visit_id):
        detail = short_visit_detail(
            visit.planned_minutes,
            visit.checked_in_at,
            visit.checked_out_at,
            rules.min_duration_share,
        )
        if detail is not None:
            findings.append(ClaimFinding(visit.visit_id, ClaimFlagKind.SHORT_VISIT, detail))
    return findings


def audit_claims(
    visits: Sequence[ClaimVisit],
    stays: Iterable[Stay] = (),
    rules: AuditRules = DEFAULT_RULES,
) -> list[ClaimFinding]:
    """Every finding on these visits, by visit and kind (at most one per visit and kind)."""
    findings = [
        *overlapping_visits(visits),
        *impossible_travel(visits, rules),
        *during_hospital_stay(visits, stays),
        *far_from_home(visits, rules),
        *manual_entries(visits),
        *short_visits(visits, rules),
    ]
    order = list(ClaimFlagKind)
    return sorted(findings, key=lambda f: (f.visit_id, order.index(f.kind)))
