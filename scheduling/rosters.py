"""A caregiver's day as a route: its order and travel, a hand move checked by dispatch's rules,
and a small drawn map of the route.

`check_move` places one visit in one caregiver's day and runs `validation.validate_roster`, the
same independent check that every dispatch result must pass: qualification, window, working
hours, travel to and from the neighbours, the daily limit and no overlap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr  # escapes text, parses nothing  # nosec B406

from scheduling.travel import leg_speed_kmh, travel_minutes
from scheduling.types import (
    Assignment,
    Booking,
    CaregiverDay,
    DispatchResult,
    Location,
    VisitRequest,
)
from scheduling.validation import validate_roster

# The spec's hard rules only ask that travel fits between visits; a move whose travel (to the
# visit and on to the next) is longer than this is allowed but only once the manager confirms
# it, seeing the minutes. An hour: more than a whole visit's time spent on the road.
DEFAULT_CONFIRM_TRAVEL_MINUTES = 60


def sequence_route(
    caregiver_id: int,
    base: Location,
    stops: Sequence[Booking],
    speeds_kmh: Mapping[str, float],
) -> tuple[Assignment, ...]:
    """The stops in time order, each with its place in the route and the travel to reach it
    (from the base for the first, from the previous stop for the others)."""
    ordered = sorted(stops, key=lambda s: (s.start, s.end, s.visit_id))
    route = []
    for index, stop in enumerate(ordered):
        if index == 0:
            speed = leg_speed_kmh(speeds_kmh, stop.district_kind)
            minutes = travel_minutes(base, stop.location, speed)
        else:
            before = ordered[index - 1]
            speed = leg_speed_kmh(speeds_kmh, before.district_kind, stop.district_kind)
            minutes = travel_minutes(before.location, stop.location, speed)
        route.append(
            Assignment(stop.visit_id, caregiver_id, stop.start, stop.end, index + 1, minutes)
        )
    return tuple(route)


@dataclass(frozen=True)
class MoveCheck:
    """The broken rules (empty: the move is allowed) and the caregiver's route after the move.

    `travel_to` is the leg that reaches the moved visit (from the previous visit, or from the
    base for the first); `travel_on` the leg from it to the next visit (0 when it is the last).
    """

    broken_rules: tuple[str, ...]
    route: tuple[Assignment, ...]
    travel_to: int = 0
    travel_on: int = 0

    @property
    def is_allowed(self) -> bool:
        return not self.broken_rules

    @property
    def travel_minutes(self) -> int:
        """The travel the move gives the caregiver around the moved visit."""
        return self.travel_to + self.travel_on

    def needs_travel_confirmation(
        self, limit_minutes: int, accepted_minutes: int | None = None
    ) -> bool:
        """Travel beyond `limit_minutes` needs the manager's yes to at least these minutes."""
        if self.travel_minutes <= limit_minutes:
            return False
        return accepted_minutes is None or self.travel_minutes > accepted_minutes


def check_move(
    visit: VisitRequest,
    day: CaregiverDay,
    start: dt.datetime,
    speeds_kmh: Mapping[str, float],
) -> MoveCheck:
    """Put `visit` into `day` (whose `existing` bookings are the caregiver's other visits) at
    `start`, and check the caregiver's whole day against dispatch's hard rules."""
    moved = Booking(
        visit.visit_id, start, start + visit.duration, visit.location, visit.district_kind
    )
    others = tuple(b for b in day.existing if b.visit_id != visit.visit_id)
    route = sequence_route(day.caregiver_id, day.base, (*others, moved), speeds_kmh)
    placed = next(a for a in route if a.visit_id == visit.visit_id)
    fixed = tuple(a for a in route if a.visit_id != visit.visit_id)
    checked_day = CaregiverDay(
        caregiver_id=day.caregiver_id,
        qualifications=day.qualifications,
        shift_start=day.shift_start,
        shift_end=day.shift_end,
        base=day.base,
        max_visits=day.max_visits,
        existing=others,
        is_on_duty=day.is_on_duty,
    )
    result = DispatchResult(assignments=(placed,), unassigned=(), fixed_stops=fixed)
    violations = validate_roster((visit,), (checked_day,), result, speeds_kmh)
    following = next((a for a in route if a.route_order == placed.route_order + 1), None)
    return MoveCheck(
        tuple(dict.fromkeys(v.rule for v in violations)),
        route,
        travel_to=placed.travel_minutes,
        travel_on=following.travel_minutes if following is not None else 0,
    )


# The drawn map: an equirectangular projection of the route's bounding box (fine over a city).


def route_map_svg(
    base: Location,
    stops: Sequence[Location],
    *,
    title: str,
    base_label: str,
    width: int = 320,
    height: int = 240,
) -> str:
    """An SVG drawing of a day's route: the base (a square), the stops numbered in route order
    and the legs between them (the way home dashed), scaled to fit the bounding box."""
    margin = 24.0
    points = [base, *stops]
    scale_x = math.cos(math.radians(sum(p.lat for p in points) / len(points)))
    min_x = min(p.lon * scale_x for p in points)
    max_x = max(p.lon * scale_x for p in points)
    min_y, max_y = min(p.lat for p in points), max(p.lat for p in points)
    span = max(max_x - min_x, max_y - min_y) or 1.0
    factor = min((width - 2 * margin) / span, (height - 2 * margin) / span)
    offset_x = (width - (max_x - min_x) * factor) / 2
    offset_y = (height - (max_y - min_y) * factor) / 2

    def xy(point: Location) -> tuple[float, float]:
        x = offset_x + (point.lon * scale_x - min_x) * factor
        y = height - (offset_y + (point.lat - min_y) * factor)  # north is up
        return round(x, 1), round(y, 1)

    base_x, base_y = xy(base)
    coords = [xy(stop) for stop in stops]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="route-map">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f7f9fa" stroke="#c9d2d8"/>',
    ]
    if coords:
        path = " ".join(f"{x},{y}" for x, y in [(base_x, base_y), *coords])
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="#1f6f8b" stroke-width="2.5" '
            'stroke-linejoin="round"/>'
        )
        last_x, last_y = coords[-1]
        parts.append(
            f'<line x1="{last_x}" y1="{last_y}" x2="{base_x}" y2="{base_y}" stroke="#1f6f8b" '
            'stroke-width="1.5" stroke-dasharray="4 4"/>'
        )
    parts.append(
        f'<rect x="{base_x - 7}" y="{base_y - 7}" width="14" height="14" fill="#333" '
        f'data-stop="base"><title>{escape(base_label)}</title></rect>'
    )
    for number, (x, y) in enumerate(coords, start=1):
        parts.append(
            f"<g data-stop={quoteattr(str(number))}>"
            f'<circle cx="{x}" cy="{y}" r="10" fill="#fff" stroke="#1f6f8b" stroke-width="2"/>'
            f'<text x="{x}" y="{y + 4}" text-anchor="middle" font-size="11" '
            f'font-family="sans-serif" fill="#1f6f8b">{number}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
