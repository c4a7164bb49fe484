"""The daily job recording reminders of scheduled re-assessments, and its command."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import careapp.jobs.scheduled as jobs
from careapp.models import ApplicationStatus, EntitlementStatus, ReassessmentReminder
from tests.factories import NOW, EntitlementFactory, PolicyVersionFactory

CITY = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def due(db_session: Session) -> object:
    """A beneficiary assessed on 2024-12-01: the re-assessment is due on 2026-12-01."""
    return EntitlementFactory(
        decision__policy_version=PolicyVersionFactory(),
        decision__assessment__assessed_on=dt.date(2024, 12, 1),
        decision__assessment__application__status=ApplicationStatus.DECIDED,
    )


def reminders(session: Session) -> list[ReassessmentReminder]:
    return list(session.scalars(select(ReassessmentReminder)))


def test_reminder_job_is_in_the_table_daily_in_the_city() -> None:
    (spec,) = [spec for spec in jobs.JOBS if spec.id == "reassessment-reminders"]
    assert spec.func is jobs.reassessment_reminders
    fire = spec.trigger("Asia/Shanghai").get_next_fire_time(None, NOW)
    assert fire is not None
    assert fire.astimezone(CITY) == dt.datetime(2026, 11, 23, 6, 30, tzinfo=CITY) + dt.timedelta(
        days=1
    )


def test_reminder_job_records_once_and_suspends_nothing(
    app: Flask, db_session: Session, due: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jobs.reassessment_reminders() == 1
    assert jobs.reassessment_reminders() == 0  # idempotent
    [reminder] = reminders(db_session)
    assert reminder.due_on == dt.date(2026, 12, 1)
    assert reminder.entitlement.status is EntitlementStatus.ACTIVE


def test_reminder_command_runs_for_a_date(app: Flask, db_session: Session, due: object) -> None:
    early = app.test_cli_runner().invoke(args=["reassessment-reminders", "--date", "2026-09-01"])
    assert early.exit_code == 0, early.output
    assert "2026-09-01: 0 recorded" in early.output
    result = app.test_cli_runner().invoke(args=["reassessment-reminders", "--date", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "2026-11-01: 1 recorded" in result.output
    assert len(reminders(db_session)) == 1


def test_reminder_command_defaults_to_today(app: Flask, db_session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["reassessment-reminders"])
    assert result.exit_code == 0, result.output
    assert "0 recorded" in result.output
    bad = app.test_cli_runner().invoke(args=["reassessment-reminders", "--date", "soon"])
    assert bad.exit_code == 2
