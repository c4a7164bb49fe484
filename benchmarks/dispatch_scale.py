"""How long the routing dispatcher takes on one provider's day at city scale.

    .venv/bin/python benchmarks/dispatch_scale.py --visits 250 --caregivers 75 --seconds 5

`provider_day` builds a random but realistic day (homes within ~10 km of the city centre, 2-hour
windows between 8:00 and 17:00, 30-90 minute visits, three qualifications, continuity with a
last and sometimes a preferred caregiver); `time_provider_day` solves it through the
`scheduling` interface, checks it with `validate_roster` and returns the numbers. The city-day
benchmark can call both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduling.routing import RoutingDispatcher
from scheduling.types import CaregiverDay, Location, VisitRequest
from scheduling.validation import validate_roster

CITY = ZoneInfo("Asia/Shanghai")
CENTRE = Location(32.0, 120.86)
SPEEDS = {"urban": 20.0, "rural": 35.0}
SKILLS = ("daily_care", "nursing", "rehabilitation")


def provider_day(
    visits: int = 250, caregivers: int = 75, seed: int = 0, day: dt.date = dt.date(2026, 11, 24)
) -> tuple[list[VisitRequest], list[CaregiverDay]]:
    rng = random.Random(seed)

    def at(minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=CITY) + dt.timedelta(minutes=minute)

    def somewhere() -> Location:
        return Location(CENTRE.lat + rng.uniform(-0.09, 0.09), CENTRE.lon + rng.uniform(-0.1, 0.1))

    days = [
        CaregiverDay(
            caregiver_id=c,
            qualifications=frozenset(
                {"daily_care"} | set(rng.sample(SKILLS[1:], rng.choice((0, 1, 1, 2))))
            ),
            shift_start=at(8 * 60),
            shift_end=at(17 * 60 + 30),
            base=somewhere(),
            max_visits=8,
        )
        for c in range(1, caregivers + 1)
    ]
    requests = []
    for v in range(1, visits + 1):
        start = rng.randrange(8 * 60, 15 * 60 + 1, 30)
        requests.append(
            VisitRequest(
                visit_id=v,
                window_start=at(start),
                window_end=at(start + 120),
                duration_minutes=rng.choice((30, 45, 60, 90)),
                required_qualifications=frozenset({rng.choices(SKILLS, weights=(6, 3, 1))[0]}),
                location=somewhere(),
                district_kind=rng.choice(("urban", "urban", "urban", "rural")),
                preferred_caregiver_id=rng.choice([None, None, None, rng.randint(1, caregivers)]),
                last_caregiver_id=rng.randint(1, caregivers),
            )
        )
    return requests, days


@dataclass(frozen=True)
class Timing:
    visits: int
    caregivers: int
    seconds: float
    cpu_seconds: float
    assigned: int
    unassigned: int
    with_last_caregiver: int
    travel_minutes: int
    violations: int


def time_provider_day(
    time_limit: float = 5.0,
    *,
    visits: int = 250,
    caregivers: int = 75,
    seed: int = 0,
    patience: int | None = 2_000,
) -> Timing:
    requests, days = provider_day(visits, caregivers, seed)
    dispatcher = RoutingDispatcher(time_limit, patience=patience, seed=seed)
    began, cpu = time.perf_counter(), time.process_time()
    result = dispatcher.solve(requests, days, SPEEDS)
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    last = {r.visit_id: r.last_caregiver_id for r in requests}
    return Timing(
        visits,
        caregivers,
        took,
        cpu,
        len(result.assignments),
        len(result.unassigned),
        sum(a.caregiver_id == last[a.visit_id] for a in result.assignments),
        sum(a.travel_minutes for a in result.assignments),
        len(validate_roster(requests, days, result, SPEEDS)),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=250)
    parser.add_argument("--caregivers", type=int, default=75)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(time_provider_day(args.seconds, visits=args.visits, caregivers=args.caregivers))


if __name__ == "__main__":
    main()
