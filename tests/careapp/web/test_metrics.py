"""Prometheus metrics: what moves them, their labels, who may read them, several processes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

import careapp.jobs.scheduled as jobs
from careapp import create_app, metrics
from careapp.config import ConfigError, TestConfig
from careapp.core.errors import InvalidInputError
from careapp.jobs.print_batches import run_print_batch
from careapp.models import PrintBatchStatus, User
from careapp.reports.seal import load_signer
from careapp.services.actor import Actor
from careapp.services.dispatch import dispatch_visits
from careapp.services.print_batches import request_print_batch
from careapp.web.logs import REQUEST_ID
from tests.conftest import current_totp_code
from tests.factories import (
    NOW,
    PASSWORD,
    TODAY,
    CaregiverFactory,
    EntitlementFactory,
    ProviderFactory,
    UserFactory,
    provider_care_plan,
)

ROOT = Path(__file__).resolve().parents[3]
OUTSIDE = "203.0.113.7"
SPEEDS = {"urban": 20.0, "rural": 35.0}


def value(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 before its first count)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics body: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_are_counted_by_endpoint_never_by_path(client: FlaskClient) -> None:
    labels = {"endpoint": "ratings.rate_visit", "method": "GET", "status": "404"}
    before = value("careapp_http_requests_total", **labels)
    timed = value("careapp_http_request_duration_seconds_count", endpoint="ratings.rate_visit")
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    unmatched = value("careapp_http_requests_total", **missing)

    client.get("/rate/s3cret-rating-token", buffered=True)
    client.get("/no/such/page/s3cret-path", buffered=True)

    assert value("careapp_http_requests_total", **labels) == before + 1
    assert value("careapp_http_request_duration_seconds_count", endpoint="ratings.rate_visit") == (
        timed + 1
    )
    assert value("careapp_http_requests_total", **missing) == unmatched + 1
    body = client.get("/metrics", buffered=True).get_data(as_text=True)
    assert "s3cret" not in body
    assert "/rate/" not in body


def test_a_request_is_counted_when_its_body_is_done(client: FlaskClient) -> None:
    labels = {"endpoint": "monitoring.healthz", "method": "GET", "status": "200"}
    before = value("careapp_http_requests_total", **labels)
    response = client.get("/healthz")  # not buffered: the body is still open
    assert value("careapp_http_requests_total", **labels) == before
    response.close()
    assert value("careapp_http_requests_total", **labels) == before + 1
    response.close()  # a second close counts nothing
    assert value("careapp_http_requests_total", **labels) == before + 1


def test_an_unknown_method_is_one_label(client: FlaskClient) -> None:
    labels = {"endpoint": "unmatched", "method": "other", "status": "405"}
    before = value("careapp_http_requests_total", **labels)
    client.open("/healthz", method="BREW", buffered=True)
    assert value("careapp_http_requests_total", **labels) == before + 1


def test_a_request_whose_view_raises_is_counted_under_its_endpoint(database_url: str) -> None:
    application = create_app(TestConfig)  # TESTING: the error propagates to the server

    @application.route("/test/explode")
    def explode() -> str:
        raise RuntimeError("broken")

    labels = {"endpoint": "explode", "method": "GET", "status": "500"}
    before = value("careapp_http_requests_total", **labels)
    with pytest.raises(RuntimeError):
        application.test_client().get("/test/explode")
    assert value("careapp_http_requests_total", **labels) == before + 1
    assert REQUEST_ID.get() is None  # the request is over
    application.extensions["careapp.engine"].dispose()


def test_login_failures_are_counted_by_reason(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    reasons = (metrics.WRONG_PASSWORD, metrics.THROTTLED, metrics.WRONG_CODE)
    before = {reason: value("careapp_login_failures_total", reason=reason) for reason in reasons}
    admin = UserFactory(admin=True)
    response = client.post("/login", data={"username": admin.username, "password": PASSWORD})
    assert response.headers["Location"] == "/login/two-factor"
    wrong = f"{(int(current_totp_code(db_session, admin)) + 1) % 1_000_000:06d}"
    assert client.post("/login/two-factor", data={"code": wrong}).status_code == 400
    assert value("careapp_login_failures_total", reason=metrics.WRONG_CODE) == (
        before[metrics.WRONG_CODE] + 1
    )

    user = UserFactory()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):  # the wrong code counted as one already
        client.post("/login", data={"username": user.username, "password": "wrong password"})
    assert value("careapp_login_failures_total", reason=metrics.WRONG_PASSWORD) == (
        before[metrics.WRONG_PASSWORD] + app.config["LOGIN_MAX_FAILURES"] - 1
    )
    assert value("careapp_login_failures_total", reason=metrics.THROTTLED) == (
        before[metrics.THROTTLED] + 1
    )


def test_dispatch_runs_are_counted_and_timed_by_outcome(db_session: Session) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    provider_care_plan(provider)
    actor = Actor(user_id=None, role=None, address="scheduler")
    completed = value("careapp_dispatch_runs_total", outcome="completed")
    refused = value("careapp_dispatch_runs_total", outcome="refused")
    timed = value("careapp_dispatch_run_duration_seconds_count", outcome="completed")

    dispatch_visits(db_session, actor, TODAY, TODAY, NOW, SPEEDS)
    with pytest.raises(InvalidInputError):
        dispatch_visits(db_session, actor, TODAY, TODAY - dt.timedelta(days=1), NOW, SPEEDS)

    assert value("careapp_dispatch_runs_total", outcome="completed") == completed + 1
    assert value("careapp_dispatch_runs_total", outcome="refused") == refused + 1
    assert value("careapp_dispatch_run_duration_seconds_count", outcome="completed") == timed + 1
    assert value("careapp_dispatch_run_duration_seconds_sum", outcome="completed") > 0


def test_print_batches_are_counted_by_outcome(
    app: Flask, db_session: Session, admin_user: User
) -> None:
    actor = Actor(user_id=admin_user.id, role=admin_user.role, address="10.0.0.7")
    monday = dt.date(2026, 11, 16)
    EntitlementFactory(decision__decided_on=monday, starts_on=monday)
    db_session.flush()
    job = metrics.PRINT_BATCH_JOB
    before = {
        outcome: value("careapp_jobs_total", job=job, outcome=outcome)
        for outcome in ("completed", "failed")
    }

    batch = request_print_batch(db_session, actor, monday, NOW)
    db_session.commit()
    assert run_print_batch(app, batch.id, actor, object(), "https://x") is False  # no signer
    batch = request_print_batch(db_session, actor, monday, NOW)
    db_session.commit()
    signer = load_signer(app.config["SIGNING_KEY_PATH"], app.config["SIGNING_CERT_PATH"])
    assert run_print_batch(app, batch.id, actor, signer, "https://x") is True
    db_session.expire_all()
    assert batch.status is PrintBatchStatus.DONE

    for outcome in ("completed", "failed"):
        assert value("careapp_jobs_total", job=job, outcome=outcome) == before[outcome] + 1
    assert value("careapp_job_duration_seconds_count", job=job, outcome="completed") > 0


def test_every_scheduled_job_is_counted_under_its_id() -> None:
    assert [getattr(spec.func, "job_id", None) for spec in jobs.JOBS] == [
        spec.id for spec in jobs.JOBS
    ]


def test_scheduled_jobs_are_counted_by_outcome(db_session: Session) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    provider_care_plan(provider)
    labels = {"job": "nightly-dispatch", "outcome": "completed"}
    before = value("careapp_jobs_total", **labels)
    jobs.nightly_dispatch(horizon_days=1)
    assert value("careapp_jobs_total", **labels) == before + 1

    @jobs.measured("always-fails")
    def always_fails() -> None:
        raise RuntimeError("broken")

    failed = value("careapp_jobs_total", job="always-fails", outcome="failed")
    with pytest.raises(RuntimeError):
        always_fails()
    assert value("careapp_jobs_total", job="always-fails", outcome="failed") == failed + 1


def test_jobs_run_by_hand_are_counted(app: Flask, db_session: Session) -> None:
    labels = {"job": "reassessment-reminders", "outcome": "completed"}
    before = value("careapp_jobs_total", **labels)
    jobs.run_job(app, "reassessment-reminders", TODAY, jobs.SCHEDULER_ACTOR)
    assert value("careapp_jobs_total", **labels) == before + 1


# --- who may read them ---------------------------------------------------------------------


def test_metrics_from_this_machine(client: FlaskClient) -> None:
    response = client.get("/metrics", buffered=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.getlist("Set-Cookie") == []
    assert "careapp_http_requests_total" in response.get_data(as_text=True)
    ipv6 = client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}, buffered=True)
    assert ipv6.status_code == 200


def test_metrics_refused_elsewhere_and_through_an_unknown_proxy(client: FlaskClient) -> None:
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": OUTSIDE}, buffered=True)
    assert outside.status_code == 403
    assert "careapp_" not in outside.get_data(as_text=True)
    # A proxy on this machine the app was not told about (TRUSTED_PROXIES = 0) passes the
    # world's requests on from 127.0.0.1: they are not let in by that address.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": OUTSIDE}, buffered=True)
    assert proxied.status_code == 403


def test_metrics_with_the_bearer_token(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123")
    outside = {"REMOTE_ADDR": OUTSIDE}
    good = client.get(
        "/metrics",
        headers={"Authorization": "Bearer scrape-token-0123"},
        environ_base=outside,
        buffered=True,
    )
    assert good.status_code == 200
    for wrong in ("Bearer scrape-token-0124", "Basic scrape-token-0123", "Bearer "):
        response = client.get(
            "/metrics", headers={"Authorization": wrong}, environ_base=outside, buffered=True
        )
        assert response.status_code == 403, wrong


def test_allowed_networks_come_from_the_setting(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("CAREAPP_METRICS_ALLOW", "10.20.0.0/16 192.0.2.5")
    application = create_app(TestConfig)
    client = application.test_client()
    for address, status in (("10.20.3.4", 200), ("192.0.2.5", 200), ("127.0.0.1", 403)):
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address}, buffered=True)
        assert response.status_code == status, address
    monkeypatch.setenv("CAREAPP_METRICS_ALLOW", "10.20.0.0/33")
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        create_app(TestConfig)
    application.extensions["careapp.engine"].dispose()


# --- several processes ---------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    from careapp import create_app, metrics
    from careapp.config import TestConfig

    app = create_app(TestConfig)
    client = app.test_client()
    for _ in range(3):
        client.get("/healthz", buffered=True)
    metrics.count_login_failure(metrics.WRONG_PASSWORD)
    """
)


def test_counts_of_several_processes_add_up(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (as two gunicorn workers) count into one PROMETHEUS_MULTIPROC_DIR; the
    /metrics of a third adds them up."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "PYTHONPATH": str(ROOT),
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER], env=env, cwd=ROOT) for _ in range(2)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    assert len(list(shared.glob("counter_*.db"))) == 2  # one file per process

    monkeypatch.setitem(app.config, "METRICS_MULTIPROC_DIR", str(shared))
    samples = scraped(client.get("/metrics", buffered=True).get_data(as_text=True))
    healthz = (("endpoint", "monitoring.healthz"), ("method", "GET"), ("status", "200"))
    assert samples[("careapp_http_requests_total", healthz)] == 6
    assert samples[("careapp_login_failures_total", (("reason", "wrong_password"),))] == 2
    assert (
        samples[
            ("careapp_http_request_duration_seconds_count", (("endpoint", "monitoring.healthz"),))
        ]
        == 6
    )


def test_the_multiprocess_directory_comes_from_prometheus_own_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    application = create_app(TestConfig)
    assert application.config["METRICS_MULTIPROC_DIR"] == str(tmp_path)
    application.extensions["careapp.engine"].dispose()
