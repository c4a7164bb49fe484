"""The job table, the nightly dispatch job body and the scheduler/dispatch commands.

No scheduler is ever started here: the table is checked as data, the job body is called directly.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import ref_to_obj
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import careapp.jobs.scheduled as jobs
from careapp.models import AuditEvent, DispatchRun, Visit
from scheduling.visits import VisitStatus
from tests.factories import NOW, TODAY, CaregiverFactory, ProviderFactory, provider_care_plan

CITY = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def planned(db_session: Session) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    provider_care_plan(provider)


def test_jobs_have_unique_stable_ids() -> None:
    ids = [spec.id for spec in jobs.JOBS]
    assert len(ids) == len(set(ids))
    assert "nightly-dispatch" in ids


@pytest.mark.parametrize("spec", jobs.JOBS, ids=lambda spec: spec.id)
def test_jobs_have_valid_triggers_functions_and_plain_kwargs(spec: jobs.JobSpec) -> None:
    trigger = spec.trigger("Asia/Shanghai")
    assert isinstance(trigger, CronTrigger)
    assert trigger.get_next_fire_time(None, NOW) is not None
    assert ref_to_obj(spec.func_ref) is spec.func
    json.dumps(dict(spec.kwargs))  # plain values only: a persistent job store could keep them


def test_nightly_dispatch_runs_at_one_in_the_city() -> None:
    (spec,) = [spec for spec in jobs.JOBS if spec.id == "nightly-dispatch"]
    fire = spec.trigger("Asia/Shanghai").get_next_fire_time(None, NOW)
    assert fire is not None
    assert fire.astimezone(CITY) == dt.datetime(2026, 11, 24, 1, 0, tzinfo=CITY)


def test_build_scheduler_adds_every_job_without_starting(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "_scheduler_app", None)  # restored after the test
    monkeypatch.setattr(jobs, "_scheduler_fence", None)
    scheduler = jobs.build_scheduler(app, fence=lambda: True)
    assert isinstance(scheduler, BackgroundScheduler)
    assert not scheduler.running
    assert str(scheduler.timezone) == "UTC"
    assert scheduler._job_defaults == {  # no public reader
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": 300,
    }
    added = {job.id: job for job in scheduler.get_jobs()}
    assert set(added) == {spec.id for spec in jobs.JOBS}
    nightly = added["nightly-dispatch"]
    assert nightly.func is jobs.fenced_job  # which checks the lease, then runs the job
    assert nightly.args == ("nightly-dispatch",)
    assert str(nightly.trigger.timezone) == app.config["SCHEDULER_TIMEZONE"]


def test_a_fenced_job_runs_only_while_its_process_holds_the_lease(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []
    spec = jobs.JobSpec("probe", lambda days: ran.append(days) or days, {"minute": 5})
    monkeypatch.setattr(jobs, "JOBS", (spec,))
    leading = [True]
    monkeypatch.setattr(jobs, "_scheduler_fence", lambda: leading[0])

    assert jobs.fenced_job("probe", days=2) == 2
    leading[0] = False
    with caplog.at_level(logging.WARNING, logger="careapp.jobs.scheduled"):
        assert jobs.fenced_job("probe", days=3) is None
    assert ran == [2]
    assert "job probe skipped: this scheduler does not hold the lease" in caplog.text

    monkeypatch.setattr(jobs, "_scheduler_fence", None)  # no scheduler built: nothing runs
    assert jobs.fenced_job("probe", days=4) is None
    assert ran == [2]
    with pytest.raises(jobs.UnknownJobError):
        jobs.fenced_job("no-such-job")


@pytest.mark.usefixtures("planned")
def test_nightly_dispatch_plans_the_next_days_and_commits(
    db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="careapp.jobs.scheduled"):
        outcome = jobs.nightly_dispatch()
    tomorrow = TODAY + dt.timedelta(days=1)
    assert (outcome.first_day, outcome.last_day) == (tomorrow, tomorrow + dt.timedelta(days=1))
    assert (outcome.visits_created, outcome.visits_assigned, outcome.visits_unassigned) == (2, 2, 0)
    visits = db_session.scalars(select(Visit).order_by(Visit.visit_on)).all()
    assert [(v.visit_on, v.status) for v in visits] == [
        (tomorrow, VisitStatus.ASSIGNED),
        (tomorrow + dt.timedelta(days=1), VisitStatus.ASSIGNED),
    ]
    run = db_session.get(DispatchRun, outcome.run_id)
    assert run is not None
    assert run.started_by_id is None
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "dispatch")).one()
    assert audit.address == "scheduler"
    assert "2 visits created, 2 assigned, 0 unassigned" in caplog.text


@pytest.mark.usefixtures("planned")
def test_nightly_dispatch_twice_creates_nothing_new(db_session: Session) -> None:
    jobs.nightly_dispatch(horizon_days=1)
    again = jobs.nightly_dispatch(horizon_days=1)
    assert (again.visits_created, again.visits_assigned) == (0, 1)
    assert len(db_session.scalars(select(Visit)).all()) == 1


@pytest.mark.usefixtures("planned")
def test_dispatch_command_dispatches_a_date_and_prints_the_counts(
    app: Flask, db_session: Session
) -> None:
    result = app.test_cli_runner().invoke(args=["dispatch", "--date", "2026-11-25", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "2026-11-25..2026-11-27" in result.output
    assert "3 visits created, 3 assigned, 0 unassigned" in result.output
    days = db_session.scalars(select(Visit.visit_on).order_by(Visit.visit_on)).all()
    assert days == [dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)]


@pytest.mark.usefixtures("planned")
def test_dispatch_command_defaults_to_tomorrow_and_the_horizon(
    app: Flask, db_session: Session
) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    result = app.test_cli_runner().invoke(args=["dispatch"])
    assert result.exit_code == 0, result.output
    assert f"{tomorrow}..{tomorrow + dt.timedelta(days=1)}" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["dispatch", "--date", "24/11/2026"],
        ["dispatch", "--days", "0"],
        ["dispatch", "--days", "x"],
    ],
)
def test_dispatch_command_rejects_bad_options(
    app: Flask, db_session: Session, args: list[str]
) -> None:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2
    assert db_session.scalars(select(DispatchRun)).first() is None


def test_dispatch_command_reports_a_domain_error(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careapp.core.errors import ConflictError

    def busy(*args: object, **kwargs: object) -> None:
        raise ConflictError("Another dispatch run is in progress.")

    monkeypatch.setattr("careapp.services.dispatch.dispatch_visits", busy)
    result = app.test_cli_runner().invoke(args=["dispatch", "--date", "2026-11-25"])
    assert result.exit_code == 1
    assert "Another dispatch run is in progress." in result.output


def test_scheduler_jobs_command_lists_the_table(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    assert "nightly-dispatch" in result.output
    assert "careapp.jobs.scheduled:nightly_dispatch" in result.output
    assert "hour='1'" in result.output


def test_scheduler_run_command_starts_paused_and_runs_the_lease_loop(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careapp.jobs.leader import SchedulerLeader

    calls: list[str] = []
    monkeypatch.setattr(SchedulerLeader, "start", lambda self: calls.append("start"))
    monkeypatch.setattr(SchedulerLeader, "run", lambda self, stop: calls.append("run"))
    monkeypatch.setattr(jobs, "_scheduler_app", None)  # restored after the test
    monkeypatch.setattr(jobs, "_scheduler_fence", None)
    result = app.test_cli_runner().invoke(args=["scheduler", "run"])
    assert result.exit_code == 0, result.output
    assert f"started with {len(jobs.JOBS)} jobs (lease 30 s, renewed every 10 s)" in result.output
    assert "scheduler stopped" in result.output
    assert calls == ["start", "run"]


def test_scheduler_run_command_refuses_a_lease_too_short_for_its_renewals(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SCHEDULER_RENEW_SECONDS", 20)
    result = app.test_cli_runner().invoke(args=["scheduler", "run"])
    assert result.exit_code == 2
    assert "three renewal intervals" in result.output


def test_jobs_run_in_the_app_the_scheduler_was_built_for(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Scheduler threads have no app context: the job finds the scheduler's app.
    monkeypatch.setattr(jobs, "has_app_context", lambda: False)
    monkeypatch.setattr(jobs, "_scheduler_app", None)
    monkeypatch.setattr(jobs, "_scheduler_fence", None)
    with pytest.raises(RuntimeError, match="no app"):
        jobs._job_app()
    jobs.build_scheduler(app, fence=lambda: True)
    assert jobs._job_app() is app


def test_scheduler_jobs_command_shows_job_arguments(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = jobs.JobSpec("short-dispatch", jobs.nightly_dispatch, {"hour": 2}, {"horizon_days": 1})
    monkeypatch.setattr(jobs, "JOBS", (spec,))
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert "short-dispatch" in result.output
    assert "kwargs {'horizon_days': 1}" in result.output
