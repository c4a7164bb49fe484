"""Configuration: the one place that reads the environment.

`create_app` loads `Config` (safe defaults, no secrets), then every `CAREAPP_*` variable
(`CAREAPP_DATABASE_URL`, `CAREAPP_SECRET_KEY`, `CAREAPP_DATA_KEY`, ...), then checks the
required keys and fails fast when one is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy.engine import make_url

REQUIRED_KEYS = ("SECRET_KEY", "DATA_KEY", "DATABASE_URL", "SCHEDULER_TIMEZONE")


class ConfigError(RuntimeError):
    """A required configuration key is missing or malformed."""


class Config:
    """Safe defaults; secrets come from the environment."""

    SECRET_KEY: str | None = None
    # The data key ring: base64 (urlsafe) 32-byte keys, comma-separated, newest first (usually
    # one): encrypts ID numbers and TOTP secrets (careapp.security.DataProtector).
    DATA_KEY: str | None = None
    # The blind index's key (lookups by ID number); unset: derived from the ring's only key.
    # A ring of several keys (a rotation, docs/operations.md) needs it set.
    INDEX_KEY: str | None = None
    # Default: an embedded SQLite file under instance/ (filled in by create_app). In production
    # the app role's URL: a PostgreSQL role that owns nothing (docs/operations.md).
    DATABASE_URL: str | None = None
    # Migrations (`careapp init-db`) connect here, as the owner of the database; unset: the
    # DATABASE_URL. Set it only where migrations run, never for the web app or the workers.
    MIGRATION_DATABASE_URL: str | None = None
    # The role granted the app's privileges after each migration; unset: the user of
    # DATABASE_URL when it is not the user of MIGRATION_DATABASE_URL (PostgreSQL only).
    DATABASE_APP_ROLE: str | None = None
    DATABASE_ECHO = False
    SCHEDULER_TIMEZONE = "Asia/Shanghai"
    # Scheduler processes share a lease in the database: the holder runs the jobs and renews it
    # every SCHEDULER_RENEW_SECONDS (a standby tries as often); one that stops renewing loses it
    # after SCHEDULER_LEASE_SECONDS (at least three renewals), so a standby takes over within
    # the sum (at once after a graceful stop: within one renewal interval).
    SCHEDULER_LEASE_SECONDS: float = 30
    SCHEDULER_RENEW_SECONDS: float = 10
    # The city's civil time zone: visit windows, "today" for caregivers, day counting.
    CITY_TIMEZONE = "Asia/Shanghai"

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES: ClassVar[dict[str, str]] = {"zh": "简体中文", "en": "English"}

    WTF_CSRF_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # HTTPS: cookies sent only over it (the session's named "__Host-", so bound to this host and
    # path "/"), and HSTS for this many seconds (0: no header). PLAIN_HTTP turns all of it off,
    # for the demo served on http:// (`make run`) and the tests; never in production.
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True  # careapp never sets "remember me"; Flask-Login's default
    SESSION_COOKIE_NAME = "__Host-careapp-session"
    HSTS_MAX_AGE = 31_536_000  # one year
    PLAIN_HTTP = False
    # Reverse proxies in front of the app (hops); their X-Forwarded-For and -Proto are believed
    # for that many hops, so the login throttle, the /verify limit and the audit log see the
    # real client address. 0: the headers are ignored (anyone could forge them).
    TRUSTED_PROXIES = 0
    # The web server, `careapp serve` (gunicorn; careapp/gunicorn.conf.py maps these): where it
    # listens ("host:port" or "unix:/path"; a JSON list for several), its worker processes
    # (0: two per core plus one, at most 8) and threads in each. A worker whose main loop is
    # silent for WEB_TIMEOUT seconds is killed and replaced; a stopping worker (SIGHUP, SIGTERM,
    # recycling) finishes its requests within WEB_GRACEFUL_TIMEOUT; each worker is replaced
    # after WEB_MAX_REQUESTS requests (plus up to a tenth, so not all at once; 0: never). The
    # access log ("-": standard output, or a file; "": none) never names a secret token.
    WEB_BIND: str | list[str] = "127.0.0.1:8000"
    WEB_WORKERS = 0
    WEB_THREADS = 4
    WEB_TIMEOUT = 60
    WEB_GRACEFUL_TIMEOUT = 30
    WEB_MAX_REQUESTS = 1000
    WEB_ACCESS_LOG = "-"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
    # A login ends after this many minutes without a request (shared tablets are left lying
    # about), and this many minutes after it began whatever the activity (a working day).
    SESSION_IDLE_TIMEOUT_MINUTES = 15
    SESSION_ABSOLUTE_TIMEOUT_MINUTES = 600

    LOGIN_MAX_FAILURES = 5
    # Passwords (careapp.core.passwords): at least this many characters (runs of spaces count
    # as one), at most PASSWORD_MAX_LENGTH; never on the list of common passwords.
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    # After the password, the second factor must follow within this many minutes.
    TWO_FACTOR_PENDING_MINUTES = 5

    RATING_LINK_VALID_DAYS = 7
    # A check-in farther from the home, or further outside the visit window, is flagged.
    CHECK_IN_MAX_DISTANCE_M = 500
    CHECK_IN_MAX_OUTSIDE_MINUTES = 30
    # Audit of claims: travel between a worker's consecutive visits faster than this (km/h) is
    # flagged, unless the two places are within the tolerance (metres: GPS noise). Far from home
    # uses CHECK_IN_MAX_DISTANCE_M.
    CLAIM_MAX_TRAVEL_SPEED_KMH = 60.0
    CLAIM_TRAVEL_TOLERANCE_M = 100.0
    # A visit checked out after less than this share of the standard minutes of its service
    # items is flagged (short_visit). The spec is silent; half is a sensible default.
    CLAIM_MIN_DURATION_SHARE = 0.5
    # The appeal window, the publicity (公示) working days and the re-assessment interval are
    # figures of the policy version in force (careapp.models.eligibility.PolicyVersion).
    # Holidays skipped when counting publicity working days (Mon-Fri less these).
    PUBLIC_HOLIDAYS: ClassVar[tuple[str, ...]] = ()  # ISO dates, e.g. ("2026-10-01",)
    # A care plan ended within this many days still makes the person a provider's client.
    CONFLICT_RECENT_DAYS = 365
    # Reminders of a scheduled re-assessment from N days before the due date.
    REASSESSMENT_REMINDER_DAYS = 60
    # Oversight: an outlier's severe share differs from the city's by more than N points,
    # counted only for assessors with at least this many assessments in the period.
    OVERSIGHT_OUTLIER_POINTS = 15
    OVERSIGHT_MIN_ASSESSMENTS = 10
    DISPATCH_HORIZON_DAYS = 2
    # Average travel speed (km/h) by district kind, for visit routing.
    TRAVEL_SPEED_KMH: ClassVar[dict[str, float]] = {"urban": 20.0, "rural": 35.0}
    # A roster move whose travel around the visit (to it and on to the next) is longer than
    # this many minutes is made only once the manager confirms the minutes shown.
    ROSTER_MOVE_CONFIRM_TRAVEL_MINUTES = 60

    # Seconds to wait for the cross-process dispatch lock before giving up.
    DISPATCH_LOCK_TIMEOUT = 0
    # The routing solver's time budget per provider and day (it stops earlier once a day's
    # roster stops improving).
    DISPATCH_TIME_LIMIT_SECONDS = 5.0
    # Processes solving the providers of a day side by side (the cores the scheduler may use).
    DISPATCH_WORKERS = 2

    # Certificates: the seal's key and self-signed certificate (PEM files, never committed;
    # `careapp create-signing-key` writes them). Without them no certificate is issued.
    SIGNING_KEY_PATH: str | None = None
    SIGNING_CERT_PATH: str | None = None
    SIGNING_KEY_EPHEMERAL = False  # TestConfig: a throwaway key per app
    # Where printed QR codes point: the public host of /verify/<number>, e.g.
    # "https://ltc.example.gov.cn". Never taken from a request (a forged Host header must not
    # reach a sealed document); the default suits the demo (`make run`) only.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # The issuing office, drawn round the red seal (电子印章) that is the signature's appearance.
    SEAL_OFFICE_NAME = "长期护理保险经办机构"
    # Public verification look-ups allowed per address per minute.
    VERIFY_MAX_PER_MINUTE = 30
    # Directory of the PDFs of print batches (default: instance/print-batches).
    PRINT_BATCH_DIR: str | None = None
    # Long jobs (print batches) record their process and a heartbeat, refreshed this often while
    # they work; one silent for JOB_ABANDONED_AFTER_SECONDS, or whose process on this host is
    # gone, is abandoned: it no longer blocks its week and an administrator may restart it.
    JOB_HEARTBEAT_SECONDS = 5
    JOB_ABANDONED_AFTER_SECONDS = 120

    # A visit not checked in by the end of its window plus this many minutes becomes missed.
    MISSED_VISIT_GRACE_MINUTES = 60
    # Monthly provider quality: below this share (percent) of 4-5 star ratings, or above this
    # share of missed visits, a month fails (warning; two in a row: suspended; then exited).
    QUALITY_MIN_SATISFACTION_PERCENT = 95
    QUALITY_MAX_MISSED_PERCENT = 2
    # Work orders: working days a provider has to answer an offer (weekends and PUBLIC_HOLIDAYS
    # skipped; due by the end of the last one, city time), and a provider's capacity: enabled
    # caregivers times this many clients (active care plans plus pending offers).
    WORK_ORDER_DEADLINE_WORKING_DAYS = 2
    WORK_ORDER_CLIENTS_PER_CAREGIVER = 8
    # Optional checks, off while None: more complaints (received in the month, not dismissed)
    # per 100 planned visits than this, or a smaller share (percent) of completed visits
    # verified on the caregiver's phone (rather than entered by hand) fails a month too.
    QUALITY_MAX_COMPLAINTS_PER_100_VISITS: float | None = None
    QUALITY_MIN_PHONE_VERIFIED_PERCENT: float | None = None

    # Logging (careapp.web.logs): "json" (one JSON object a line, for the log collector) or
    # "text" (for reading by eye); every line written while a request is served names its id.
    # Empty: the app leaves logging alone (TestConfig: pytest captures it).
    LOG_FORMAT: str | None = "json"
    LOG_LEVEL = "INFO"
    # GET /readyz: each check (database, queue, scheduler) must answer within this many seconds.
    READINESS_TIMEOUT_SECONDS = 2.0
    # /readyz checks the scheduler's heartbeat (a process of `careapp scheduler run` holds its
    # lease and renewed it within SCHEDULER_LEASE_SECONDS). Off only where no scheduler runs:
    # the demo (`make run`) and the tests.
    READINESS_SCHEDULER = True
    # GET /metrics (Prometheus): let in from these CIDR blocks (comma- or space-separated), or
    # with "Authorization: Bearer <METRICS_TOKEN>" when that is set.
    METRICS_ALLOW = "127.0.0.1/32, ::1/128"
    METRICS_TOKEN: str | None = None
    # Filled in by create_app from PROMETHEUS_MULTIPROC_DIR (prometheus_client's own variable,
    # which must be set before the process starts): where every process of the machine writes its
    # counts, added up by /metrics. Unset: each process reports its own (one process only).
    METRICS_MULTIPROC_DIR: str | None = None


class TestConfig(Config):
    """Used by the test suite; the database URL still comes from the environment if set."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - test-only key  # nosec B105
    DATA_KEY = "dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTMyYnk="  # test-only key
    WTF_CSRF_ENABLED = False
    PLAIN_HTTP = True  # the test client speaks http://; test_transport checks the real defaults
    # A throwaway seal key per app (a temporary folder) unless SIGNING_KEY_PATH is set.
    SIGNING_KEY_EPHEMERAL = True
    DISPATCH_WORKERS = 1  # the pool itself is tested where it is built (scheduling.parallel)
    # Tests move the clock by hours or days within one login; the session tests
    # (tests/careapp/web/test_sessions.py) put the real timeouts back.
    SESSION_IDLE_TIMEOUT_MINUTES = 366 * 24 * 60
    SESSION_ABSOLUTE_TIMEOUT_MINUTES = 366 * 24 * 60
    LOG_FORMAT = None  # pytest captures the log; tests/careapp/web/test_logging.py sets one up
    READINESS_SCHEDULER = False  # no scheduler runs; tests/careapp/web/test_health.py turns it on


def environment_config(base: type[Config] = Config) -> dict[str, Any]:
    """The settings exactly as `create_app` reads them (the class, then every `CAREAPP_*`
    variable), for a process that builds no app: the web server's master."""
    from flask import Config as FlaskConfig

    config = FlaskConfig(".")
    config.from_object(base)
    config.from_prefixed_env("CAREAPP")
    return dict(config)


def apply_plain_http(config: dict[str, Any]) -> None:
    """PLAIN_HTTP: cookies without Secure, no HSTS. A session cookie without Secure also loses
    the "__Host-" prefix (a browser refuses such a cookie)."""
    if config.get("PLAIN_HTTP"):
        config.update(SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False, HSTS_MAX_AGE=0)
    name = str(config.get("SESSION_COOKIE_NAME") or "")
    if not config.get("SESSION_COOKIE_SECURE") and name.startswith("__Host-"):
        config["SESSION_COOKIE_NAME"] = name.removeprefix("__Host-")


def check_config(config: dict[str, Any]) -> None:
    """Fail fast when a required key is missing or a choice is not one of its values."""
    missing = [key for key in REQUIRED_KEYS if not config.get(key)]
    if missing:
        names = ", ".join(f"CAREAPP_{key}" for key in missing)
        raise ConfigError(f"missing required configuration: {names}")
    if config.get("LOG_FORMAT") not in (None, "", "json", "text"):
        raise ConfigError("CAREAPP_LOG_FORMAT must be json or text")


def metrics_multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR, prometheus_client's multiprocess directory (docs/operations.md)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def migration_database_url(config: Mapping[str, Any]) -> str:
    """Where migrations run: MIGRATION_DATABASE_URL (the owner), else the app's DATABASE_URL."""
    return str(config.get("MIGRATION_DATABASE_URL") or config["DATABASE_URL"])


def database_app_role(config: Mapping[str, Any]) -> str | None:
    """The PostgreSQL role the app connects as, when it is not the one migrating: granted its
    privileges after each migration. None on SQLite and with one URL for both (development)."""
    app_url = make_url(str(config["DATABASE_URL"]))
    if app_url.get_backend_name() != "postgresql":
        return None
    if config.get("DATABASE_APP_ROLE"):
        return str(config["DATABASE_APP_ROLE"])
    owner = make_url(migration_database_url(config)).username
    if app_url.username and app_url.username != owner:
        return app_url.username
    return None
