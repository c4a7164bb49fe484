"""Routes of a caregiver's day, hand moves under dispatch's rules, and the drawn route map."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scheduling.rosters import MoveCheck, check_move, route_map_svg, sequence_route
from scheduling.types import Location
from tests.scheduling.builders import (
    HOME,
    SPEEDS,
    at,
    booking,
    caregiver,
    km_north,
    visit,
)

SVG = "{http://www.w3.org/2000/svg}"
FIVE_KM = km_north(5)  # 15 minutes away at 20 km/h


def test_sequence_route_orders_stops_by_time_with_travel_from_the_base_then_between() -> None:
    late = booking(2, (13, 0), (14, 0), FIVE_KM)
    early = booking(1, (9, 0), (10, 0), HOME)
    route = sequence_route(7, km_north(10), [late, early], SPEEDS)
    assert [(a.visit_id, a.route_order, a.travel_minutes) for a in route] == [
        (1, 1, 30),  # 10 km from the base
        (2, 2, 15),
    ]
    assert {a.caregiver_id for a in route} == {7}
    assert sequence_route(7, HOME, [], SPEEDS) == ()


def test_check_move_allows_a_free_slot_and_reorders_the_route() -> None:
    day = caregiver(3, existing=(booking(10, (13, 0), (14, 0), FIVE_KM),))
    check = check_move(visit(1, (9, 0), (11, 0)), day, at(9, 30), SPEEDS)
    assert check.is_allowed
    assert check.broken_rules == ()
    assert [(a.visit_id, a.route_order, a.travel_minutes) for a in check.route] == [
        (1, 1, 0),
        (10, 2, 15),
    ]
    moved = check.route[0]
    assert (moved.start, moved.end) == (at(9, 30), at(10, 30))


def test_check_move_ignores_the_visits_own_old_booking() -> None:
    day = caregiver(3, existing=(booking(1, (9, 0), (10, 0)),))
    check = check_move(visit(1, (9, 0), (11, 0)), day, at(9, 30), SPEEDS)
    assert check.is_allowed
    assert [a.visit_id for a in check.route] == [1]


@pytest.mark.parametrize(
    ("visit_kwargs", "day_kwargs", "start", "rule"),
    [
        ({"needs": frozenset({"rehabilitation"})}, {}, (9, 0), "missing_qualification"),
        ({}, {"on_duty": False}, (9, 0), "caregiver_off_duty"),
        ({}, {}, (11, 30), "start_outside_window"),
        ({}, {"shift": ((9, 30), (18, 0))}, (9, 0), "outside_shift"),
        ({}, {"existing": (booking(5, (9, 30), (10, 30)),)}, (9, 0), "double_booking"),
        (
            {},
            {"existing": (booking(5, (10, 5), (11, 0), km_north(5)),)},
            (9, 0),
            "no_travel_time",
        ),
        (
            {},
            {"max_visits": 1, "existing": (booking(5, (14, 0), (15, 0)),)},
            (9, 0),
            "daily_limit_exceeded",
        ),
    ],
)
def test_check_move_refuses_what_dispatch_would_refuse(
    visit_kwargs: dict[str, object],
    day_kwargs: dict[str, object],
    start: tuple[int, int],
    rule: str,
) -> None:
    check = check_move(
        visit(1, (9, 0), (11, 0), **visit_kwargs),  # type: ignore[arg-type]  # test table
        caregiver(3, **day_kwargs),  # type: ignore[arg-type]  # test table
        at(*start),
        SPEEDS,
    )
    assert not check.is_allowed
    assert rule in check.broken_rules
    assert len(check.broken_rules) == len(set(check.broken_rules))


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted XML


def test_route_map_svg_draws_base_numbered_stops_and_legs_inside_the_box() -> None:
    stops = [km_north(2), Location(HOME.lat + 0.01, HOME.lon + 0.03), km_north(-3)]
    svg = route_map_svg(
        HOME, stops, title="王护理 <路线>", base_label="基地", width=300, height=200
    )
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "王护理 <路线>"  # type: ignore[union-attr]
    numbers = [t.text for t in root.iter(f"{SVG}text")]
    assert numbers == ["1", "2", "3"]
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 3
    for circle in circles:
        assert 0 <= float(circle.get("cx", "-1")) <= 300
        assert 0 <= float(circle.get("cy", "-1")) <= 200
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None
    assert len(polyline.get("points", "").split()) == 4  # base and three stops
    assert root.find(f"{SVG}line") is not None  # the dashed way home
    # North is up: the stop 2 km north is drawn above the one 3 km south.
    assert float(circles[0].get("cy", "0")) < float(circles[2].get("cy", "0"))


def test_route_map_svg_of_a_day_without_stops_shows_the_base_only() -> None:
    root = _parse(route_map_svg(HOME, [], title="空", base_label="基地"))
    assert root.find(f"{SVG}polyline") is None
    assert list(root.iter(f"{SVG}circle")) == []
    assert root.find(f"{SVG}rect[@data-stop='base']") is not None
    # One point has an empty bounding box: it is drawn in the middle.
    base = root.find(f"{SVG}rect[@data-stop='base']")
    assert base is not None
    assert (float(base.get("x", "0")) + 7, float(base.get("y", "0")) + 7) == (160.0, 120.0)


def test_check_move_reports_the_travel_around_the_moved_visit() -> None:
    far = km_north(60)  # 180 minutes away at 20 km/h
    day = caregiver(3, existing=(booking(10, (14, 0), (15, 0), far),))
    check = check_move(visit(1, (9, 0), (11, 0)), day, at(9, 0), SPEEDS)
    assert check.is_allowed  # the hard rules only ask that the travel fits
    assert (check.travel_to, check.travel_on, check.travel_minutes) == (0, 180, 180)


def test_check_move_travel_to_the_visit_from_the_previous_one() -> None:
    day = caregiver(3, existing=(booking(10, (8, 0), (8, 30), FIVE_KM),))
    check = check_move(visit(1, (9, 0), (11, 0)), day, at(9, 0), SPEEDS)
    assert (check.travel_to, check.travel_on) == (15, 0)  # the last visit of the day


@pytest.mark.parametrize(
    ("travel", "limit", "accepted", "needed"),
    [
        (60, 60, None, False),  # at the limit: no question
        (61, 60, None, True),
        (227, 60, None, True),
        (227, 60, 227, False),  # the manager said yes to these minutes
        (227, 60, 300, False),
        (227, 60, 200, True),  # a yes to less travel than the move now needs
    ],
)
def test_long_travel_needs_the_managers_confirmation(
    travel: int, limit: int, accepted: int | None, needed: bool
) -> None:
    check = MoveCheck((), (), travel_to=travel - 7, travel_on=7)
    assert check.needs_travel_confirmation(limit, accepted) is needed
