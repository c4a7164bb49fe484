"""Probes for the load balancer and the orchestrator, and the metrics for Prometheus.

`/healthz` (liveness: the process answers; touches nothing) and `/readyz` (readiness: every
registered check passes, `careapp.web.health`) are public JSON: no login, no session, no cookie,
never cached. `/metrics` is Prometheus' text format, for the allowed addresses or the bearer
token only (`careapp.web.monitoring.may_read_metrics`).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify
from flask.typing import ResponseReturnValue

from careapp.metrics import exposition
from careapp.web.health import run_checks
from careapp.web.monitoring import may_read_metrics

bp = Blueprint("monitoring", __name__)


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> ResponseReturnValue:
    ready, checks = run_checks(current_app._get_current_object())  # type: ignore[attr-defined]  # the app itself
    if ready:
        return jsonify(status="ready", checks=checks)
    return jsonify(status="unready", checks=checks), 503


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    if not may_read_metrics():
        abort(403)
    body, content_type = exposition(current_app.config["METRICS_MULTIPROC_DIR"])
    return body, 200, {"Content-Type": content_type}
