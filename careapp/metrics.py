"""Prometheus metrics: every metric of the app, defined here once.

A low layer (only `prometheus_client`), so that services, jobs and the web layer alike can count;
the web app exposes them at `/metrics` (`careapp.blueprints.monitoring`). Labels are bounded
sets: a Flask endpoint name (never a path: paths carry tokens), a status code, a fixed reason or
outcome, a job id of the job table. docs/operations.md lists the names.

Several processes (gunicorn workers, the scheduler, a CLI command) each count in their own
memory unless PROMETHEUS_MULTIPROC_DIR names a directory before `prometheus_client` is first
imported: then each process writes its counts to files there (prometheus_client's multiprocess
mode) and `/metrics` adds up the files of every process on the machine (`exposition`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

COMPLETED = "completed"
FAILED = "failed"

# Seconds: a long-running piece of work (a dispatch, a print batch, a monthly evaluation).
LONG_WORK_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)

HTTP_REQUESTS = Counter(
    "careapp_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ("endpoint", "method", "status"),
)
HTTP_REQUEST_DURATION = Histogram(
    "careapp_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response body, by Flask endpoint.",
    ("endpoint",),
)
LOGIN_FAILURES = Counter(
    "careapp_login_failures",
    "Refused checks of a password or a second-factor code, by reason "
    "(wrong_password, wrong_code, throttled).",
    ("reason",),
)
DISPATCH_RUNS = Counter(
    "careapp_dispatch_runs",
    "Dispatch runs, by outcome (completed, conflict, refused, failed).",
    ("outcome",),
)
DISPATCH_DURATION = Histogram(
    "careapp_dispatch_run_duration_seconds",
    "Wall time of dispatch runs, by outcome.",
    ("outcome",),
    buckets=LONG_WORK_BUCKETS,
)
JOBS = Counter(
    "careapp_jobs",
    "Background jobs run (print batches, the scheduler's jobs), by job and outcome.",
    ("job", "outcome"),
)
JOB_DURATION = Histogram(
    "careapp_job_duration_seconds",
    "Wall time of background jobs, by job and outcome.",
    ("job", "outcome"),
    buckets=LONG_WORK_BUCKETS,
)

# The reasons a login step is refused (LOGIN_FAILURES).
WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a label, not a password  # nosec B105
WRONG_CODE = "wrong_code"
THROTTLED = "throttled"

# The job label of print batches (the scheduler's jobs use their id in the job table).
PRINT_BATCH_JOB = "print-batch"


def count_login_failure(reason: str) -> None:
    LOGIN_FAILURES.labels(reason=reason).inc()


@dataclass
class Outcome:
    """What a tracked piece of work came to; the work may set it (`value`) before it ends."""

    value: str = COMPLETED


@contextmanager
def _tracked(
    errors: Mapping[type[BaseException], str], record: Callable[[str, float], None]
) -> Iterator[Outcome]:
    outcome = Outcome()
    started = time.perf_counter()
    try:
        yield outcome
    except BaseException as error:
        outcome.value = next(
            (label for kind, label in errors.items() if isinstance(error, kind)), FAILED
        )
        raise
    finally:
        record(outcome.value, time.perf_counter() - started)


def track_dispatch(
    errors: Mapping[type[BaseException], str] | None = None,
) -> AbstractContextManager[Outcome]:
    """Count and time one dispatch run: `completed` unless it raises (then the label of the
    first matching class in `errors`, else `failed`) or the body sets another outcome."""

    def record(outcome: str, seconds: float) -> None:
        DISPATCH_RUNS.labels(outcome=outcome).inc()
        DISPATCH_DURATION.labels(outcome=outcome).observe(seconds)

    return _tracked(errors or {}, record)


def track_job(
    job: str, errors: Mapping[type[BaseException], str] | None = None
) -> AbstractContextManager[Outcome]:
    """Count and time one run of a background job (`job`: its id), as `track_dispatch`."""

    def record(outcome: str, seconds: float) -> None:
        JOBS.labels(job=job, outcome=outcome).inc()
        JOB_DURATION.labels(job=job, outcome=outcome).observe(seconds)

    return _tracked(errors or {}, record)


def observe_request(endpoint: str, method: str, status: str, seconds: float) -> None:
    HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=status).inc()
    HTTP_REQUEST_DURATION.labels(endpoint=endpoint).observe(seconds)


def exposition(multiprocess_dir: str | None = None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type: this process's, or with
    `multiprocess_dir` the sum over every process writing there."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=multiprocess_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
