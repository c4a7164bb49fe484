"""Monthly settlement of a city's home-care visits: how long the pure rules take.

A generated month (seeded, so runs repeat): `--people` severely disabled beneficiaries at home,
each with 3 to 6 visits a week from one of 40 companies (a few change company mid-month), item
prices of 30 to 95 yuan a visit, a 1,200-yuan monthly budget, 3 % with a hospital stay, 2 % of
the visits held by a claim flag and 0.5 % refused. Measured, median of `--repeats` runs:

- baseline: the least any settlement must do, putting the month's visits in chronological
  order and adding up their values;
- `settle_visits` (careapp/eligibility/settlement.py): every visit's outcome and amount.

    .venv/bin/python benchmarks/settlement.py --people 30000 --repeats 5

Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from careapp.eligibility.ledger import DayStatus, Payee, Segment  # noqa: E402
from careapp.eligibility.settlement import (  # noqa: E402
    FlagState,
    VisitClaim,
    settle_visits,
)

MONTH = dt.date(2026, 12, 1)
DAYS = 31
CITY = dt.timezone(dt.timedelta(hours=8))


def generate(people: int, seed: int) -> tuple[list[VisitClaim], dict[int, list[Segment]]]:
    rng = random.Random(seed)
    claims: list[VisitClaim] = []
    segments: dict[int, list[Segment]] = {}
    visit_id = 0
    for person in range(people):
        last = MONTH + dt.timedelta(days=DAYS - 1)
        home = Segment(MONTH, last, "home_service", None, DayStatus.PAID, 1, None, Payee.PER_VISIT)
        if rng.random() < 0.03:
            admitted = MONTH + dt.timedelta(days=rng.randrange(5, 20))
            back = admitted + dt.timedelta(days=rng.randrange(2, 8))
            segments[person] = [
                Segment(MONTH, admitted - dt.timedelta(days=1), "home_service", None,
                        DayStatus.PAID, 1, None, Payee.PER_VISIT),
                Segment(admitted, back - dt.timedelta(days=1), "home_service", None,
                        DayStatus.SUSPENDED, 1, None, Payee.PER_VISIT),
                Segment(back, last, "home_service", None, DayStatus.PAID, 1, None,
                        Payee.PER_VISIT),
            ]  # fmt: skip
        else:
            segments[person] = [home]
        weekdays = set(rng.sample(range(7), rng.randint(3, 6)))
        company = rng.randrange(40)
        switch_on = rng.randrange(DAYS) if rng.random() < 0.02 else DAYS
        value = rng.randrange(3000, 9500, 500)
        for offset in range(DAYS):
            day = MONTH + dt.timedelta(days=offset)
            if day.weekday() not in weekdays:
                continue
            visit_id += 1
            roll = rng.random()
            flag = FlagState.OPEN if roll < 0.02 else FlagState.UPHELD if roll < 0.025 else (
                FlagState.NONE
            )  # fmt: skip
            claims.append(
                VisitClaim(
                    visit_id=visit_id,
                    person_id=person,
                    entitlement_id=person,
                    provider_id=company if offset < switch_on else (company + 1) % 40,
                    provider_kind="home_care",
                    visit_on=day,
                    window_start=dt.datetime.combine(day, dt.time(8 + person % 10), CITY),
                    is_completed=rng.random() > 0.01,
                    value_fen=value,
                    flag=flag,
                )
            )
    rng.shuffle(claims)  # as the database returns them: in no particular order
    return claims, segments


def baseline(claims: list[VisitClaim]) -> int:
    return sum(claim.value_fen for claim in sorted(claims, key=lambda claim: claim.order))


def median_seconds(run: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2017)
    args = parser.parse_args()
    claims, segments = generate(args.people, args.seed)
    budgets = dict.fromkeys(segments, 120_000)
    settlement = settle_visits(claims, segments, budgets)
    base = median_seconds(lambda: baseline(claims), args.repeats)
    settle = median_seconds(lambda: settle_visits(claims, segments, budgets), args.repeats)
    paid = sum(1 for line in settlement.lines if line.amount_fen)
    print(f"{args.people} beneficiaries, {len(claims)} visits, {paid} paid, "
          f"{settlement.total_fen / 100:,.2f} yuan")  # fmt: skip
    print("| measurement | median (s) | ratio to baseline |")
    print("| --- | --- | --- |")
    print(f"| baseline: sort the month's visits and add their values | {base:.3f} | 1.0 |")
    print(
        f"| settle_visits: outcome and amount of every visit | {settle:.3f} | {settle / base:.1f} |"
    )


if __name__ == "__main__":
    main()
