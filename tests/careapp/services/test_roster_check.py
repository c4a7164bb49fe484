"""`careapp validate-roster`: the stored roster read back with plain SQL and checked."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careapp.models import Visit
from careapp.services.roster_check import check_stored_roster_on
from tests.factories import CaregiverFactory, ProviderFactory, provider_care_plan

DAY = dt.date(2026, 11, 25)


@pytest.fixture
def dispatched(app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch) -> int:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider, qualifications=["daily_care"])
    for _ in range(3):
        provider_care_plan(provider)
    provider_care_plan(provider, window_start=dt.time(5, 0), window_end=dt.time(6, 0))
    result = app.test_cli_runner().invoke(
        args=["dispatch", "--date", DAY.isoformat(), "--days", "1"]
    )
    assert result.exit_code == 0, result.output
    return provider.id


def test_validate_roster_passes_a_dispatched_day(app: Flask, dispatched: int) -> None:
    result = app.test_cli_runner().invoke(args=["validate-roster", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"roster {DAY}: 4 visits, 3 assigned, 1 unassigned" in result.output
    assert "unassigned no_caregiver_working: 1" in result.output
    assert "every hard rule holds" in result.output


def test_validate_roster_reports_a_broken_row(
    app: Flask, db_session: Session, dispatched: int
) -> None:
    first = db_session.scalars(
        select(Visit).where(Visit.caregiver_id.is_not(None)).order_by(Visit.route_order)
    ).first()
    assert first is not None
    db_session.execute(
        update(Visit).where(Visit.id == first.id).values(required_qualifications=["nursing"])
    )
    db_session.flush()
    report = check_stored_roster_on(db_session.connection(), DAY, app.config["TRAVEL_SPEED_KMH"])
    assert report.check.violations_by_rule == {"missing_qualification": 1}
    result = app.test_cli_runner().invoke(
        args=["validate-roster", "--date", DAY.isoformat(), "--provider", str(dispatched)]
    )
    assert result.exit_code == 1
    assert "1 VIOLATIONS" in result.output
    assert f"missing_qualification visit={first.id}" in result.output


def test_validate_roster_of_another_provider_or_day_is_empty(app: Flask, dispatched: int) -> None:
    runner = app.test_cli_runner()
    other = runner.invoke(args=["validate-roster", "--date", DAY.isoformat(), "--provider", "999"])
    assert other.exit_code == 0
    assert "0 visits" in other.output
    assert runner.invoke(args=["validate-roster"]).exit_code == 2  # --date is required
