"""Races: schedulers claiming the lease at the same moment; exactly one holds it, on
PostgreSQL and on SQLite (a missing row: the INSERT; an expired one: the compare-and-set)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from careapp.core.lease import LeaseHolder
from careapp.core.liveness import Runner
from careapp.services.scheduler_lease import claim_lease, current_holder
from tests.factories import NOW
from tests.races import race_or_file_engine_fixture, run_together

RACERS = 4
DURATION = dt.timedelta(seconds=30)
HOLDERS = [LeaseHolder(Runner(f"sched-{i}", 1000 + i), f"racer{i:03d}") for i in range(RACERS)]

engine = race_or_file_engine_fixture(pool_size=RACERS + 2)


def _claim(engine: Engine, holder: LeaseHolder, now: dt.datetime) -> Callable[[], str]:
    def job() -> str:
        with Session(engine) as session:
            claim = claim_lease(session, holder, now, DURATION)
            session.commit()
        return f"holds {holder.instance}" if claim.is_held else "standby"

    return job


def _race(app: Flask, engine: Engine, holders: list[LeaseHolder], now: dt.datetime) -> str:
    results = run_together(app, [_claim(engine, holder, now) for holder in holders])
    assert Counter(results)["standby"] == len(holders) - 1, results
    (winner,) = [result for result in results if result != "standby"]
    with Session(engine) as session:
        found = current_holder(session, now)
    assert found.holder is not None
    assert winner == f"holds {found.holder.instance}"  # the one that says so is the one stored
    return found.holder.instance


def test_schedulers_starting_together_make_one_leader(app: Flask, engine: Engine) -> None:
    _race(app, engine, HOLDERS, NOW)


def test_standbys_taking_over_together_make_one_leader(app: Flask, engine: Engine) -> None:
    first = _race(app, engine, HOLDERS, NOW)
    # The leader died; the others try at once, once its lease has expired.
    later = NOW + DURATION + dt.timedelta(seconds=1)
    with Session(engine) as session:
        assert current_holder(session, later).holder is None
    standbys = [holder for holder in HOLDERS if holder.instance != first]
    second = _race(app, engine, standbys, later)
    assert second != first
