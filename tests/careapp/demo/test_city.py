"""The seeded city-scale generator (spec/scale.md), at a small size so the test stays quick."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import to_city
from careapp.demo.city import CitySize, seed_city
from careapp.models import Caregiver, CarePlan, Person, Provider, Visit
from careapp.services.dispatch import generate_visits
from tests.factories import NOW

DAY = dt.date(2026, 12, 1)
SMALL = CitySize(providers=8, caregivers=40, visits_per_day=120)


def fingerprint(session: Session) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            select(
                Person.district_code,
                Person.home_lat,
                Person.home_lon,
                CarePlan.window_start,
                CarePlan.weekdays,
            )
            .join(CarePlan, CarePlan.person_id == Person.id)
            .order_by(Person.id)
        )
    ]


def test_seed_city_makes_exactly_the_visits_due_and_repeats(
    db_session: Session, protector: object
) -> None:
    savepoint = db_session.begin_nested()
    first = seed_city(db_session.connection(), protector, day=DAY, now=NOW, size=SMALL, seed=7)  # type: ignore[arg-type]  # the app's DataProtector
    once = fingerprint(db_session)
    savepoint.rollback()
    summary = seed_city(db_session.connection(), protector, day=DAY, now=NOW, size=SMALL, seed=7)  # type: ignore[arg-type]
    assert summary == first
    assert fingerprint(db_session) == once  # seeded: the same city again

    assert (summary.providers, summary.caregivers, summary.visits_due) == (8, 40, 120)
    assert set(summary.by_district_kind) == {"urban", "rural"}
    assert generate_visits(db_session, DAY, DAY) == 120
    visits = db_session.scalars(select(Visit).where(Visit.visit_on == DAY)).all()
    assert len(visits) == 120
    for visit in visits:
        assert dt.time(7) <= to_city(visit.window_start).time() < to_city(visit.window_end).time()
        assert to_city(visit.window_end).time() <= dt.time(20)
        assert visit.required_qualifications
    assert db_session.scalar(select(func.count()).select_from(Caregiver)) == 40
    # Every provider has caregivers, and plans only go to providers serving the home district.
    staffed = set(db_session.scalars(select(Caregiver.provider_id)))
    assert staffed == set(db_session.scalars(select(Provider.id)))
    for plan in db_session.scalars(select(CarePlan)):
        assert plan.person.district_code in {d.code for d in plan.provider.districts}


def test_seed_city_with_another_seed_differs(db_session: Session, protector: object) -> None:
    savepoint = db_session.begin_nested()
    seed_city(db_session.connection(), protector, day=DAY, now=NOW, size=SMALL, seed=1)  # type: ignore[arg-type]
    one = fingerprint(db_session)
    savepoint.rollback()
    seed_city(db_session.connection(), protector, day=DAY, now=NOW, size=SMALL, seed=2)  # type: ignore[arg-type]
    assert fingerprint(db_session) != one


def test_seed_city_command_loads_once_per_seed(app: object, db_session: Session) -> None:
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture
    args = ["seed-city", "--date", "2026-12-01", "--seed", "5"]
    small = ["--visits", "30", "--caregivers", "10", "--providers", "2"]
    result = runner.invoke(args=args + small)
    assert result.exit_code == 0, result.output
    assert "2 providers, 10 caregivers" in result.output
    assert "30 visits due on 2026-12-01" in result.output
    again = runner.invoke(args=args + small)
    assert again.exit_code == 1
    assert "already in this database" in again.output
    assert runner.invoke(args=["seed-city", "--date", "tomorrow"]).exit_code == 2
