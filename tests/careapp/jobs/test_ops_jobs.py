"""The missed-visit and provider-quality jobs, and `careapp jobs run <job-id> --date ...`.

Job bodies are called directly (no scheduler is started); each is run twice to show a second
run changes nothing, and by date from the command line.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import careapp.jobs.scheduled as jobs
from careapp.core.clock import city_datetime
from careapp.core.errors import NotFoundError, PermissionDeniedError
from careapp.models import (
    AlertKind,
    AuditEvent,
    Provider,
    ProviderAlert,
    ProviderQualityEvaluation,
    Role,
    Visit,
)
from careapp.services.actor import Actor
from careapp.services.alerts import acknowledge_alert, open_provider_alerts
from careapp.services.quality import month_figures
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus
from tests.conftest import PinnedClock
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    provider_care_plan,
    provider_visit,
    rate_visit,
)

CITY = ZoneInfo("Asia/Shanghai")
OCTOBER = dt.date(2026, 10, 1)


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- the job table ---------------------------------------------------------------------------


def test_new_jobs_are_in_the_table_and_runnable_by_hand() -> None:
    specs = {spec.id: spec for spec in jobs.JOBS}
    assert {"missed-visits", "provider-quality"} <= set(specs)
    assert all(spec.run_on is not None and spec.date_help for spec in jobs.JOBS)
    quality = specs["provider-quality"].trigger("Asia/Shanghai").get_next_fire_time(None, NOW)
    assert quality is not None
    assert quality.astimezone(CITY) == dt.datetime(2026, 12, 1, 3, 0, tzinfo=CITY)
    missed = specs["missed-visits"].trigger("Asia/Shanghai").get_next_fire_time(None, NOW)
    assert missed is not None
    assert missed.astimezone(CITY) == dt.datetime(2026, 11, 23, 10, 5, tzinfo=CITY)


def test_scheduler_jobs_lists_the_new_jobs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    assert "missed-visits" in result.output
    assert "careapp.jobs.scheduled:provider_quality" in result.output
    assert "by hand: careapp jobs run missed-visits --date YYYY-MM-DD" in result.output


# -- missed visits ---------------------------------------------------------------------------


def test_missed_visits_job_marks_overdue_visits_alerts_once_and_logs(
    db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ProviderFactory()
    overdue = provider_visit(provider, window=(7, 8))  # window ended 08:00; 10:00 is past 09:00
    confirmed = provider_visit(provider, window=(6, 8), status=VisitStatus.CONFIRMED)
    never_assigned = provider_visit(provider, window=(7, 8), assigned=False)
    yesterday = provider_visit(provider, TODAY - dt.timedelta(days=1), window=(14, 16))
    within_grace = provider_visit(provider, window=(8, 10))  # 10:00 + 60 min is not over
    upcoming = provider_visit(provider, window=(13, 15))
    checked_in = provider_visit(
        provider,
        window=(6, 7),
        status=VisitStatus.CHECKED_IN,
        checked_in_at=city_datetime(TODAY, dt.time(6, 30)),
    )
    with caplog.at_level(logging.INFO, logger="careapp.jobs.scheduled"):
        outcome = jobs.missed_visits()
    assert (outcome.first_day, outcome.last_day) == (TODAY - dt.timedelta(days=1), TODAY)
    assert (outcome.marked, outcome.alerts) == (4, 4)
    assert outcome.by_provider == {provider.id: 4}
    assert "4 marked missed, 4 alerts raised" in caplog.text
    for visit in (overdue, confirmed, never_assigned, yesterday):
        db_session.refresh(visit)
        assert visit.status is VisitStatus.MISSED
    for visit in (within_grace, upcoming, checked_in):
        db_session.refresh(visit)
        assert visit.status is not VisitStatus.MISSED
    alerts = db_session.scalars(select(ProviderAlert).order_by(ProviderAlert.visit_id)).all()
    assert [a.visit_id for a in alerts] == sorted(
        v.id for v in (overdue, confirmed, never_assigned, yesterday)
    )
    assert {a.kind for a in alerts} == {AlertKind.MISSED_VISIT}
    assert alerts[0].detail["previous_status"] in {"assigned", "confirmed", "unassigned"}
    assert count(db_session, AuditEvent, AuditEvent.action == "visit.missed") == 4

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="careapp.jobs.scheduled"):
        again = jobs.missed_visits()
    assert (again.marked, again.alerts) == (0, 0)
    assert "0 marked missed, 0 alerts raised" in caplog.text
    assert count(db_session, ProviderAlert) == 4
    assert count(db_session, AuditEvent, AuditEvent.action == "visit.missed") == 4


def test_missed_visit_marked_again_after_rescheduling_raises_no_second_alert(
    db_session: Session,
) -> None:
    provider = ProviderFactory()
    visit = provider_visit(provider, window=(7, 8))
    jobs.missed_visits()
    db_session.refresh(visit)
    assert visit.status is VisitStatus.MISSED
    visit.status = VisitStatus.ASSIGNED  # the manager put it back; nobody came again
    db_session.flush()
    outcome = jobs.missed_visits()
    assert (outcome.marked, outcome.alerts) == (1, 0)
    assert count(db_session, ProviderAlert) == 1


def test_jobs_run_missed_visits_for_a_date(
    app: Flask, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ProviderFactory()
    earlier = TODAY - dt.timedelta(days=5)
    old = provider_visit(provider, earlier)
    today = provider_visit(provider, window=(7, 8))
    runner = app.test_cli_runner()
    with caplog.at_level(logging.INFO, logger="careapp.jobs.scheduled"):
        result = runner.invoke(args=["jobs", "run", "missed-visits", "--date", earlier.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"missed visits {earlier}: 1 marked missed, 1 alerts raised" in result.output
    assert f"job missed-visits run by hand for {earlier}" in caplog.text
    db_session.refresh(old)
    db_session.refresh(today)
    assert (old.status, today.status) == (VisitStatus.MISSED, VisitStatus.ASSIGNED)
    again = runner.invoke(args=["jobs", "run", "missed-visits", "--date", earlier.isoformat()])
    assert "0 marked missed" in again.output


# -- provider quality ------------------------------------------------------------------------


def month_with(
    provider: Provider,
    month: dt.date,
    *,
    completed: int,
    missed: int = 0,
    stars: tuple[int, ...] = (),
) -> None:
    """A provider's month: `completed` completed visits (rated with `stars`), `missed` missed."""
    for n in range(completed + missed):
        day = month + dt.timedelta(days=n % 28)
        is_missed = n >= completed
        visit = provider_visit(
            provider,
            day,
            status=VisitStatus.MISSED if is_missed else VisitStatus.COMPLETED,
            checked_in_at=None if is_missed else city_datetime(day, dt.time(7, 10)),
        )
        if n < len(stars):
            rate_visit(visit, stars[n])


@pytest.fixture
def after_december(clock: PinnedClock) -> None:
    clock.set(dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC))


def test_provider_quality_job_evaluates_last_month_once_and_logs(
    db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    failing = ProviderFactory()
    passing = ProviderFactory()
    idle = ProviderFactory()
    exited = ProviderFactory(status=ProviderStatus.EXITED)
    manager = UserFactory(role=Role.PROVIDER_MANAGER, provider=failing)
    month_with(failing, OCTOBER, completed=9, missed=1, stars=(5, 5, 3))
    month_with(passing, OCTOBER, completed=4, stars=(5, 4, 4, 5))
    with caplog.at_level(logging.INFO, logger="careapp.jobs.scheduled"):
        outcome = jobs.provider_quality()  # on 2026-11-23 the last month is October
    assert outcome.month == OCTOBER
    assert (outcome.evaluated, outcome.already_evaluated, outcome.failing) == (3, 0, 1)
    assert outcome.changes == {"warned": 1}
    assert "provider quality 2026-10: 3 evaluated, 0 already evaluated, 1 failing" in caplog.text

    row = db_session.scalars(
        select(ProviderQualityEvaluation).where(ProviderQualityEvaluation.provider_id == failing.id)
    ).one()
    assert (row.planned, row.completed, row.missed, row.rated, row.satisfied) == (10, 9, 1, 3, 2)
    assert row.problems == ["low_satisfaction", "too_many_missed"]
    assert (row.status_before, row.status_after) == (ProviderStatus.ACTIVE, ProviderStatus.WARNED)
    assert row.thresholds == {"min_satisfaction": "19/20", "max_missed_share": "1/50"}
    for provider, status in (
        (failing, ProviderStatus.WARNED),
        (passing, ProviderStatus.ACTIVE),
        (idle, ProviderStatus.ACTIVE),
        (exited, ProviderStatus.EXITED),
    ):
        db_session.refresh(provider)
        assert provider.status is status
    assert (
        count(
            db_session,
            ProviderQualityEvaluation,
            ProviderQualityEvaluation.provider_id == exited.id,
        )
        == 0
    )
    assert count(db_session, AuditEvent, AuditEvent.action == "provider.quality_evaluated") == 3
    assert count(db_session, AuditEvent, AuditEvent.action == "provider.status_changed") == 1
    [alert] = open_provider_alerts(
        db_session, Actor(manager.id, Role.PROVIDER_MANAGER, provider_id=failing.id)
    )
    assert alert.kind is AlertKind.QUALITY_WARNING
    assert "2026-10" in alert.message

    again = jobs.provider_quality()
    assert (again.evaluated, again.already_evaluated, again.failing) == (0, 3, 0)
    assert count(db_session, ProviderQualityEvaluation) == 3
    assert count(db_session, ProviderAlert) == 1
    db_session.refresh(failing)
    assert failing.status is ProviderStatus.WARNED


@pytest.mark.usefixtures("after_december")
def test_jobs_run_provider_quality_month_by_month_warns_suspends_and_exits(
    app: Flask, db_session: Session
) -> None:
    provider = ProviderFactory()
    runner = app.test_cli_runner()
    expected = {
        "2026-10-15": ("warned", ProviderStatus.WARNED),
        "2026-11-01": ("suspended", ProviderStatus.SUSPENDED),
        "2026-12-31": ("exited", ProviderStatus.EXITED),
    }
    for day, (change, status) in expected.items():
        month_with(provider, dt.date.fromisoformat(day).replace(day=1), completed=3, missed=1)
        result = runner.invoke(args=["jobs", "run", "provider-quality", "--date", day])
        assert result.exit_code == 0, result.output
        assert f"1 failing ({change} 1)" in result.output
        db_session.refresh(provider)
        assert provider.status is status
    kinds = db_session.scalars(select(ProviderAlert.kind).order_by(ProviderAlert.id)).all()
    assert kinds == [
        AlertKind.QUALITY_WARNING,
        AlertKind.QUALITY_SUSPENSION,
        AlertKind.QUALITY_EXIT,
    ]
    # Exited: no longer evaluated; re-running December changes nothing.
    result = runner.invoke(args=["jobs", "run", "provider-quality", "--date", "2026-12-01"])
    assert "0 evaluated" in result.output


def test_jobs_run_provider_quality_refuses_a_month_not_over(
    app: Flask, db_session: Session
) -> None:
    ProviderFactory()
    result = app.test_cli_runner().invoke(
        args=["jobs", "run", "provider-quality", "--date", TODAY.isoformat()]
    )
    assert result.exit_code == 1
    assert "月份结束后才能评价（2026-11-01）" in result.output  # translated: the city's locale
    assert count(db_session, ProviderQualityEvaluation) == 0


@pytest.mark.usefixtures("after_december")
def test_provider_quality_refuses_to_go_back_to_an_earlier_month(
    app: Flask, db_session: Session
) -> None:
    ProviderFactory()
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["jobs", "run", "provider-quality", "--date", "2026-11-05"]).exit_code
        == 0
    )
    result = runner.invoke(args=["jobs", "run", "provider-quality", "--date", "2026-10-05"])
    assert result.exit_code == 1
    assert "月度评价须按顺序进行" in result.output


def test_month_figures_count_late_flagged_rated_and_skip_cancelled(db_session: Session) -> None:
    provider = ProviderFactory()
    day = dt.date(2026, 10, 12)
    late = provider_visit(
        provider,
        day,
        status=VisitStatus.COMPLETED,
        checked_in_at=city_datetime(day, dt.time(9, 30)),  # window ended 09:00
        check_in_flags=["outside_window"],
    )
    provider_visit(
        provider,
        day + dt.timedelta(days=1),
        status=VisitStatus.COMPLETED,
        checked_in_at=city_datetime(day, dt.time(7, 5)),
        check_in_flags=[],
    )
    provider_visit(provider, day + dt.timedelta(days=2), status=VisitStatus.CANCELLED)
    provider_visit(provider, dt.date(2026, 11, 1), status=VisitStatus.MISSED)  # another month
    rate_visit(late, 2)
    figures = month_figures(db_session, day)[provider.id]
    assert (figures.planned, figures.completed, figures.missed) == (2, 2, 0)
    assert (figures.late, figures.flagged_check_ins, figures.rated, figures.satisfied) == (
        1,
        1,
        1,
        0,
    )


# -- the generic command ---------------------------------------------------------------------


def test_jobs_run_refuses_an_unknown_job(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "run", "tidy-up", "--date", "2026-11-23"])
    assert result.exit_code == 2
    assert "no job 'tidy-up'" in result.output
    assert "missed-visits" in result.output


def test_jobs_run_refuses_a_bad_date(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "run", "missed-visits", "--date", "23/11"])
    assert result.exit_code == 2


def test_jobs_run_existing_jobs_by_date(app: Flask, db_session: Session) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    provider_care_plan(provider)
    runner = app.test_cli_runner()
    dispatch = runner.invoke(args=["jobs", "run", "nightly-dispatch", "--date", "2026-11-25"])
    assert dispatch.exit_code == 0, dispatch.output
    assert "dispatch 2026-11-25..2026-11-26" in dispatch.output
    assert "2 visits created, 2 assigned, 0 unassigned" in dispatch.output
    reminders = runner.invoke(args=["jobs", "run", "reassessment-reminders"])  # default: today
    assert reminders.exit_code == 0, reminders.output
    # The real clock: the command's default day is the city's today when it runs.
    assert f"re-assessment reminders for {TODAY}: 0 recorded" in reminders.output


def test_open_provider_alerts_only_for_the_managers_own_provider(db_session: Session) -> None:
    mine, theirs = ProviderFactory(), ProviderFactory()
    for provider in (mine, theirs):
        visit = provider_visit(provider)
        db_session.add(
            ProviderAlert(
                provider_id=provider.id,
                kind=AlertKind.MISSED_VISIT,
                visit_id=visit.id,
                raised_at=NOW,
                detail={"visit_on": TODAY.isoformat()},
            )
        )
    db_session.flush()
    manager = Actor(1, Role.PROVIDER_MANAGER, provider_id=mine.id)
    [alert] = open_provider_alerts(db_session, manager)
    assert alert.visit_id is not None
    assert db_session.get(Visit, alert.visit_id).provider_id == mine.id  # type: ignore[union-attr]
    assert str(TODAY) in alert.message
    assert open_provider_alerts(db_session, Actor(1, Role.ADMIN)) == ()


def test_alerts_include_renders_the_alerts_and_nothing_without_them(app: Flask) -> None:
    from flask import render_template

    from careapp.services.alerts import AlertRow

    row = AlertRow(7, AlertKind.MISSED_VISIT, NOW, "A visit was missed", 42)
    quality = AlertRow(8, AlertKind.QUALITY_WARNING, NOW, "Quality warning", None)
    with app.test_request_context("/roster"):
        html = render_template("alerts/_provider_alerts.html", provider_alerts=[row, quality])
        assert 'data-testid="alert-7"' in html
        assert "/roster/visits/42" in html
        assert "Quality warning" in html
        assert render_template("alerts/_provider_alerts.html").strip() == ""


def test_acknowledged_alerts_leave_the_roster_and_are_audited(db_session: Session) -> None:
    mine, theirs = ProviderFactory(), ProviderFactory()
    alerts = {}
    for provider in (mine, theirs):
        alert = ProviderAlert(
            provider_id=provider.id,
            kind=AlertKind.MISSED_VISIT,
            visit_id=provider_visit(provider).id,
            raised_at=NOW,
            detail={"visit_on": TODAY.isoformat()},
        )
        db_session.add(alert)
        alerts[provider.id] = alert
    db_session.flush()
    user = UserFactory(manager=True, provider=mine)
    manager = Actor(user.id, Role.PROVIDER_MANAGER, provider_id=mine.id)

    with pytest.raises(NotFoundError):  # another company's alert
        acknowledge_alert(db_session, manager, alerts[theirs.id].id, NOW)
    with pytest.raises(PermissionDeniedError):
        acknowledge_alert(db_session, Actor(user.id, Role.ADMIN), alerts[mine.id].id, NOW)
    acknowledge_alert(db_session, manager, alerts[mine.id].id, NOW)
    acknowledge_alert(db_session, manager, alerts[mine.id].id, NOW)  # twice: harmless

    assert open_provider_alerts(db_session, manager) == ()
    assert alerts[mine.id].acknowledged_at == NOW
    assert alerts[theirs.id].acknowledged_at is None
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.object_type == "provider_alert", AuditEvent.action == "acknowledge")
        )
        == 1
    )
