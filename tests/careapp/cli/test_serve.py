"""`careapp serve`: gunicorn with careapp/gunicorn.conf.py.

The real-process tests start the command (master and workers) on a committed database of their
own, SQLite or PostgreSQL (tests/servers.py), log in with both factors, load pages and post a
form with its CSRF token, and look at the access log and the signals; the others check the
settings and the hooks in this process.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import runpy
import signal
import socket
import subprocess  # nosec B404
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from careapp import create_app
from careapp.cli.serve import CONFIG_FILE, CareappServer, command_line_settings
from careapp.config import TestConfig
from careapp.core import clock as app_clock
from careapp.core.identity import make_resident_id
from careapp.db import engine as app_engine
from careapp.jobs.print_batches import THREAD_PREFIX
from careapp.models import Person, User
from careapp.services.reference import ensure_districts
from careapp.services.two_factor import code_at
from careapp.web.logs import AppLogHandler, JsonLineFormatter, RedactTokens
from tests import factories
from tests.factories import NOW
from tests.servers import Server, committed_database, serve, server_environment

WORKERS = 3
RATING_TOKEN = "RateTok3nSecret"
CALENDAR_TOKEN = "CalTok3nSecret"
CHECK_CODE = "CheckC0deSecret"
CLIENT_ADDRESS = "203.0.113.7"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


class Browser:
    """One client with cookies that sends the form's CSRF token back, as a browser does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
        return self._open(request)

    def submit(self, path: str, data: dict[str, str]) -> int:
        status, page = self.get(path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), **data}).encode()
        return self._open(urllib.request.Request(self.base + path, data=body))[0]  # noqa: S310

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()


@pytest.fixture
def served_database(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A committed database with an administrator (URL, username)."""
    with committed_database(database_url, tmp_path, "careapp_serve") as engine:
        with Session(engine, expire_on_commit=False) as session:
            factories.bind(session)
            try:
                ensure_districts(session)
                admin: User = factories.UserFactory(admin=True)
                session.commit()
            finally:
                factories.bind(None)
        yield engine.url.render_as_string(hide_password=False), admin.username


def _log_in(browser: Browser, username: str) -> None:
    """Password, then the second factor: a code by the server's clock (the system's)."""
    app_clock.unpin()
    try:
        code = code_at(factories.totp_secret(username), app_clock.utcnow())
    finally:
        app_clock.pin(NOW)
    assert browser.submit("/login", {"username": username, "password": factories.PASSWORD}) == 302
    assert browser.submit("/login/two-factor", {"code": code}) == 302


def test_serve_answers_from_several_workers_and_logs_no_secret(
    served_database: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = served_database
    env = server_environment(url, CAREAPP_TRUSTED_PROXIES="1")
    with serve(env, tmp_path, WORKERS) as server:
        workers = server.wait_for_workers(WORKERS)
        browser = Browser(server.base)
        _log_in(browser, admin)
        assert browser.get("/")[0] == 200
        born = dt.date(1941, 3, 4)
        person = factories.person_form(id_number=make_resident_id("320623", born, 17))
        assert browser.submit("/people/new", person) == 302
        # The secret links, and a page reached from one (its Referer names the token).
        browser.get(f"/rate/{RATING_TOKEN}")
        browser.get(f"/calendar/{CALENDAR_TOKEN}.ics")
        browser.get(f"/verify/C-1?lang=en&code={CHECK_CODE}")
        browser.get("/login", {"Referer": f"{server.base}/rate/{RATING_TOKEN}"})
        browser.get("/login", {"X-Forwarded-For": CLIENT_ADDRESS})
        # Fresh connections are taken by whichever worker is free: several answer.
        for _ in range(60):
            if len(server.answering_pids()) > 1:
                break
            Browser(server.base).get("/login")
            time.sleep(0.05)
        assert all(_alive(pid) for pid in workers)
        request_ids = _probe_until_several_workers_answer(server)
        probes = _wait_for_count(server.base, "monitoring.healthz", len(request_ids))

    with Session(engine := _engine(url)) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1
    engine.dispose()
    log = server.access_log.read_text()
    assert server.answering_pids() <= set(workers)
    assert len(server.answering_pids()) > 1, log
    for secret in (RATING_TOKEN, CALENDAR_TOKEN, CHECK_CODE):
        assert secret not in log
    assert '"GET /rate/[token] HTTP/1.1"' in log
    assert '"GET /calendar/[token].ics HTTP/1.1"' in log
    assert "code=[token]" in log
    assert f'"{server.base}/rate/[token]"' in log  # the Referer
    assert any(line.startswith(f"{CLIENT_ADDRESS} ") for line in server.access_lines())
    assert '"POST /people/new HTTP/1.1" 302' in log
    # /metrics added up the workers' counts (multiprocess mode under `careapp serve`), and
    # each access line names the request id the response carried.
    answered = _healthz_lines(server.access_lines())
    assert set(answered) == set(request_ids)
    assert len(set(answered.values())) > 1, answered
    assert probes == len(request_ids)


def _probe_until_several_workers_answer(server: Server) -> list[str]:
    """GET /healthz on fresh connections, at least 10 times and until two workers answered
    (by the access log); the X-Request-ID of each response."""
    ids: list[str] = []
    pids: set[int] = set()
    while len(ids) < 10 or len(pids) < 2:
        assert len(ids) < 100, pids
        with urllib.request.urlopen(server.base + "/healthz", timeout=30) as response:  # noqa: S310
            ids.append(response.headers["X-Request-ID"])
        pids = set(_healthz_lines(server.access_lines()).values())
    return ids


_HEALTHZ_LINE = re.compile(r'"GET /healthz HTTP/1\.1" 200 .* (\S+) <(\d+)>$')


def _healthz_lines(lines: list[str]) -> dict[str, int]:
    """The request id and worker of each access line of GET /healthz."""
    found = (_HEALTHZ_LINE.search(line) for line in lines)
    return {match.group(1): int(match.group(2)) for match in found if match}


def _wait_for_count(base: str, endpoint: str, at_least: int) -> int:
    """careapp_http_requests_total of `endpoint` on /metrics (from 127.0.0.1), once it reaches
    `at_least` (a worker counts a request when its body is sent: just after the client has
    it) or after 10 s."""
    pattern = re.compile(
        rf'^careapp_http_requests_total\{{[^}}]*endpoint="{re.escape(endpoint)}"[^}}]*\}} (\S+)$',
        re.MULTILINE,
    )
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(base + "/metrics", timeout=30) as response:  # noqa: S310
            total = sum(float(v) for v in pattern.findall(response.read().decode()))
        if total >= at_least or time.monotonic() > deadline:
            return int(total)
        time.sleep(0.1)


def test_sighup_replaces_the_workers_and_sigterm_finishes_the_request_in_flight(
    served_database: tuple[str, str], tmp_path: Path
) -> None:
    url, _admin = served_database
    with serve(server_environment(url), tmp_path, 2) as server:
        old = server.wait_for_workers(2)
        assert Browser(server.base).get("/login")[0] == 200

        server.process.send_signal(signal.SIGHUP)
        new = server.wait_for_workers(4)[2:]
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in old):
            assert time.monotonic() < deadline, "the old workers did not stop"
            time.sleep(0.1)
        assert all(_alive(pid) for pid in new)
        assert Browser(server.base).get("/login")[0] == 200
        deadline = time.monotonic() + 5  # the line is written just after the client has it
        while not server.answering_pids() & set(new):
            assert time.monotonic() < deadline, server.access_lines()
            time.sleep(0.05)
        # The old workers' counts are still added up: SIGHUP empties no metrics file.
        assert _wait_for_count(server.base, "auth.login", 2) == 2

        # A request whose body is still coming when the server is told to stop is answered.
        host, port = server.base.removeprefix("http://").rsplit(":", 1)
        body = b"username=someone&password=wrong"
        with socket.create_connection((host, int(port)), timeout=30) as client:
            client.sendall(
                b"POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body[:5]
            )
            time.sleep(0.5)  # a worker has it
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            client.sendall(body[5:])
            answer = client.recv(100)
        assert answer.startswith(b"HTTP/1.1 400"), answer  # answered (no CSRF token: 400)
        assert server.process.wait(timeout=40) == 0
    assert "Shutting down: Master" in server.error_log.read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _engine(url: str) -> Any:
    from careapp.db import make_engine

    return make_engine(url)


# In this process: the settings and the hooks.


def _settings(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, Any]:
    for name in [name for name in os.environ if name.startswith("CAREAPP_WEB_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG_FILE))


def test_the_settings_come_from_careapp_config(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        monkeypatch,
        CAREAPP_WEB_BIND="unix:/run/careapp.sock",
        CAREAPP_WEB_WORKERS="3",
        CAREAPP_WEB_TIMEOUT="90",
        CAREAPP_WEB_MAX_REQUESTS="500",
        CAREAPP_WEB_ACCESS_LOG="",
    )
    assert settings["bind"] == "unix:/run/careapp.sock"
    assert (settings["workers"], settings["worker_class"], settings["threads"]) == (3, "gthread", 4)
    assert (settings["timeout"], settings["graceful_timeout"]) == (90, 30)
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (500, 50)
    assert settings["accesslog"] is None
    assert settings["preload_app"] is False


def test_the_default_workers_are_two_per_core_plus_one_at_most_eight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert _settings(monkeypatch)["workers"] == 5
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert _settings(monkeypatch)["workers"] == 8


def test_gunicorn_believes_no_forwarded_header_and_logs_to_the_standard_streams() -> None:
    config = CareappServer({"workers": 2}).cfg
    assert config.workers == 2
    assert config.forwarded_allow_ips == []
    assert config.secure_scheme_headers == {}
    assert config.forwarder_headers == []
    assert (config.accesslog, config.errorlog) == ("-", "-")
    assert "%(u)s" not in config.access_log_format
    assert config.control_socket_disable is True
    assert (config.limit_request_line, config.limit_request_fields) == (4094, 100)


def test_the_command_line_sets_the_address_and_the_workers() -> None:
    assert command_line_settings(None, None, None) == {}
    assert command_line_settings(None, 5000, 3) == {"bind": ["127.0.0.1:5000"], "workers": 3}
    assert command_line_settings("0.0.0.0", None, None) == {"bind": ["0.0.0.0:8000"]}  # noqa: S104
    assert command_line_settings("::1", 5000, None) == {"bind": ["[::1]:5000"]}


def test_post_fork_drops_a_preloaded_apps_connections(app: Flask) -> None:
    hooks = runpy.run_path(str(CONFIG_FILE))
    with app.app_context():
        engine = app_engine()
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        pool = engine.pool
        hooks["post_fork"](SimpleNamespace(app=SimpleNamespace(callable=app)), None)
        assert engine.pool is not pool  # a new, empty pool; the old one is left to the master
        assert pool.checkedin() == 1  # its connection still open, as the master would have it
        pool.dispose()  # what the master would do
    hooks["post_fork"](SimpleNamespace(app=SimpleNamespace(callable=None)), None)  # not preloaded


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


def _batch(seconds: float) -> threading.Thread:
    thread = threading.Thread(target=time.sleep, args=(seconds,), name=f"{THREAD_PREFIX}9")
    thread.start()
    return thread


@pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""),
    reason="a timed thread join does not end on time under libfaketime (the moved-clock run); "
    "this test is about a timeout, not a date, and runs in the other runs",
)
def test_a_worker_stopping_gracefully_lets_its_print_batch_finish() -> None:
    hooks = runpy.run_path(str(CONFIG_FILE))
    server = SimpleNamespace(log=_Log())
    worker = SimpleNamespace(pid=1, cfg=SimpleNamespace(graceful_timeout=5))
    batch = _batch(0.3)
    hooks["worker_exit"](server, worker)
    assert not batch.is_alive()
    assert server.log.warnings == []

    worker.cfg.graceful_timeout = 0.1
    batch = _batch(1.0)
    hooks["worker_exit"](server, worker)
    assert batch.is_alive()
    assert server.log.warnings == [
        f"worker 1 stops with print batches unfinished ({THREAD_PREFIX}9): they show as "
        "abandoned and can be restarted"
    ]
    batch.join()


def test_a_worker_stopped_at_once_waits_for_nothing() -> None:
    hooks = runpy.run_path(str(CONFIG_FILE))
    for stop_now in ("worker_int", "worker_abort"):
        worker = SimpleNamespace(pid=1, cfg=SimpleNamespace(graceful_timeout=5))
        hooks[stop_now](worker)
        batch = _batch(0.5)
        hooks["worker_exit"](SimpleNamespace(log=_Log()), worker)
        assert batch.is_alive()
        batch.join()


def test_the_command_runs_gunicorn_with_the_file_and_the_command_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAREAPP_DATABASE_URL", f"sqlite+pysqlite:///{tmp_path / 'serve.sqlite'}")
    monkeypatch.setenv("CAREAPP_WEB_THREADS", "2")
    started: list[Any] = []
    monkeypatch.setattr(CareappServer, "run", lambda server: started.append(server))
    app = create_app(TestConfig)

    result = app.test_cli_runner().invoke(args=["serve", "--port", "5001", "--workers", "2"])

    assert result.exit_code == 0, result.output
    (server,) = started
    assert (server.cfg.bind, server.cfg.workers, server.cfg.threads) == (["127.0.0.1:5001"], 2, 2)
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.post_fork.__name__ == "post_fork"  # the file's hooks


def test_each_worker_builds_its_own_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAREAPP_DATABASE_URL", f"sqlite+pysqlite:///{tmp_path / 'serve.sqlite'}")
    monkeypatch.setenv("CAREAPP_SECRET_KEY", str(TestConfig.SECRET_KEY))
    monkeypatch.setenv("CAREAPP_DATA_KEY", str(TestConfig.DATA_KEY))
    server = CareappServer()
    first, second = server.load(), server.load()
    assert isinstance(first, Flask)
    assert first is not second
    assert first.extensions["careapp.engine"] is not second.extensions["careapp.engine"]
    for built in (first, second):
        built.extensions["careapp.engine"].dispose()


def test_the_master_empties_the_metrics_directory_when_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    hooks = runpy.run_path(str(CONFIG_FILE))
    gone = subprocess.Popen(["true"])
    gone.wait()
    live, dead = os.getpid(), gone.pid
    for name in ("counter", "gauge_livesum", "histogram"):
        for pid in (live, dead):
            (tmp_path / f"{name}_{pid}.db").write_bytes(b"")
    (tmp_path / "README").write_text("not prometheus_client's")
    # A worker exits: its live gauges go, its counts stay (they are added up still).
    hooks["child_exit"](None, SimpleNamespace(pid=dead))
    assert not (tmp_path / f"gauge_livesum_{dead}.db").exists()
    assert (tmp_path / f"counter_{dead}.db").exists()
    # The master starts (once; SIGHUP calls on_reload, which the file leaves alone): the files
    # of exited processes go, a running one's (a scheduler's) stay.
    hooks["on_starting"](None)
    assert {path.name for path in tmp_path.iterdir()} == {
        f"counter_{live}.db",
        f"gauge_livesum_{live}.db",
        f"histogram_{live}.db",
        "README",
    }
    assert "on_reload" not in hooks

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    hooks["on_starting"](None)  # no directory: nothing to do
    hooks["child_exit"](None, SimpleNamespace(pid=12))


def test_serve_makes_a_private_metrics_directory_unless_one_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import careapp.cli.serve as serve_module

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert serve_module.multiprocess_dir() is None  # the operator's, kept
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    # This process imported prometheus_client long ago: too late for a directory.
    assert serve_module.multiprocess_dir() is None
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == ""
    monkeypatch.delitem(sys.modules, "prometheus_client")
    private = serve_module.multiprocess_dir()
    assert private is not None
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == private
    assert Path(private).is_dir()
    os.rmdir(private)


def test_gunicorns_error_log_is_written_as_the_apps_log_without_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("CAREAPP_LOG_FORMAT", "json")
    config = CareappServer({"workers": 1}).cfg
    log = config.logger_class(config)
    try:
        (handler,) = log.error_log.handlers
        assert isinstance(handler.formatter, JsonLineFormatter)
        assert any(isinstance(f, RedactTokens) for f in handler.filters)
        assert all(
            any(isinstance(f, RedactTokens) for f in h.filters) for h in log.access_log.handlers
        )
        stream = io.StringIO()
        handler.setStream(stream)  # a StreamHandler
        log.error("Error handling request /rate/%s", RATING_TOKEN)
        (line,) = stream.getvalue().splitlines()
        record = json.loads(line)
        assert (record["level"], record["logger"]) == ("ERROR", "gunicorn.error")
        assert record["message"] == "Error handling request /rate/[token]"
        assert any(isinstance(h, AppLogHandler) for h in root.handlers)  # configure_logging
        log.setup(config)  # SIGHUP: once more, not twice
        (handler,) = log.error_log.handlers
        assert len([f for f in handler.filters if isinstance(f, RedactTokens)]) == 1
    finally:
        for handler in [h for h in root.handlers if isinstance(h, AppLogHandler)]:
            root.removeHandler(handler)
        root.setLevel(level)
        for logger in (log.error_log, log.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
