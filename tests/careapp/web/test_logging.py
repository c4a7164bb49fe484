"""The app's log: JSON lines (or text), a request id on every line of a request, no tokens."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, abort
from werkzeug.wrappers import Response

from careapp import create_app
from careapp.config import ConfigError, TestConfig
from careapp.web.logs import REQUEST_ID, AppLogHandler, configure_logging

log = logging.getLogger("careapp.test_logging")


class LogCapture:
    """The app's log handler, writing to a string instead of standard error."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


def _remove_app_handlers() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, AppLogHandler)]:
        root.removeHandler(handler)


@pytest.fixture
def captured() -> Iterator[LogCapture]:
    root = logging.getLogger()
    level = root.level
    capture = LogCapture()
    # An earlier test's response left open (its body never closed, as a server would) would
    # still name its request here.
    REQUEST_ID.set(None)
    configure_logging("json", "INFO", stream=capture.stream)  # type: ignore[arg-type]  # a StringIO
    yield capture
    _remove_app_handlers()
    root.setLevel(level)


def _app(**settings: object) -> Flask:
    """An app of its own, with a few routes that log (added before its first request)."""
    config = type("LoggingConfig", (TestConfig,), settings)
    application = create_app(config)
    application.config["PROPAGATE_EXCEPTIONS"] = False  # log the error as production does

    @application.route("/test/log-lines")
    def log_lines() -> str:
        log.info("first line")
        logging.getLogger("werkzeug").warning("GET /rate/s3cret-rating-token HTTP/1.1")
        log.info("third line", extra={"visits": 3})
        return "ok"

    @application.route("/rate/<token>/explode")
    def explode(token: str) -> str:
        raise RuntimeError("something broke")

    @application.route("/test/refuse")
    def refuse() -> Response:
        abort(403)

    return application


@pytest.fixture
def logging_app(database_url: str) -> Iterator[Flask]:
    application = _app()
    yield application
    application.extensions["careapp.engine"].dispose()


def test_every_line_of_a_request_is_a_json_object_naming_its_id(
    logging_app: Flask, captured: LogCapture
) -> None:
    log.info("before any request")
    client = logging_app.test_client()
    first = client.get("/test/log-lines", buffered=True)
    second = client.get("/test/log-lines", buffered=True)
    log.info("after the requests")

    records = captured.records()
    assert (records[0]["message"], records[-1]["message"]) == (
        "before any request",
        "after the requests",
    )
    assert "request_id" not in records[0]
    assert "request_id" not in records[-1]
    first_id, second_id = first.headers["X-Request-ID"], second.headers["X-Request-ID"]
    assert first_id != second_id
    assert len(first_id) == 32
    during = records[1:-1]
    assert [r["request_id"] for r in during] == [first_id] * 3 + [second_id] * 3
    line = during[0]
    assert {key: line[key] for key in ("level", "logger", "message")} == {
        "level": "INFO",
        "logger": "careapp.test_logging",
        "message": "first line",
    }
    stamped = dt.datetime.fromisoformat(line["timestamp"])
    assert stamped.utcoffset() == dt.timedelta(0)
    assert during[2]["visits"] == 3  # `extra` fields are kept
    assert during[1]["logger"] == "werkzeug"


def test_tokens_are_redacted_in_every_line(logging_app: Flask, captured: LogCapture) -> None:
    client = logging_app.test_client()
    client.get("/test/log-lines", buffered=True)
    response = client.get("/rate/s3cret-rating-token/explode", buffered=True)
    assert response.status_code == 500
    text = captured.stream.getvalue()
    assert "s3cret" not in text
    records = captured.records()
    assert records[1]["message"] == "GET /rate/[token] HTTP/1.1"
    (error,) = [r for r in records if r["level"] == "ERROR"]
    assert error["message"] == "Exception on /rate/[token]/explode [GET]"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError: something broke" in error["exc_info"]


def test_each_line_is_written_once(logging_app: Flask, captured: LogCapture) -> None:
    logging_app.logger.warning("from the app's own logger")
    assert [r["message"] for r in captured.records()] == ["from the app's own logger"]


def test_every_response_names_its_request_id(logging_app: Flask) -> None:
    client = logging_app.test_client()
    for path in ("/healthz", "/test/refuse", "/no/such/page"):
        response = client.get(path, headers={"X-Request-ID": "from-the-client"}, buffered=True)
        assert response.headers.getlist("X-Request-ID") != ["from-the-client"], path
        assert len(response.headers.getlist("X-Request-ID")) == 1, path


def test_the_request_id_of_a_trusted_proxy_is_kept(database_url: str, captured: LogCapture) -> None:
    behind = _app(TRUSTED_PROXIES=1)
    client = behind.test_client()
    given = "req-7f3a:12.b/c+d="
    response = client.get("/test/log-lines", headers={"X-Request-ID": given}, buffered=True)
    assert response.headers["X-Request-ID"] == given
    assert {r["request_id"] for r in captured.records()} == {given}
    for malformed in ("two words", "x" * 129, "line\\nbreak", ""):
        response = client.get("/healthz", headers={"X-Request-ID": malformed}, buffered=True)
        made = response.headers["X-Request-ID"]
        assert made != malformed
        assert len(made) == 32
    behind.extensions["careapp.engine"].dispose()


def test_text_lines_for_reading_by_eye(logging_app: Flask) -> None:
    stream = io.StringIO()
    REQUEST_ID.set(None)  # as in `captured`
    configure_logging("text", "INFO", stream=stream)  # type: ignore[arg-type]  # a StringIO
    try:
        log.info("outside")
        response = logging_app.test_client().get("/test/log-lines", buffered=True)
    finally:
        _remove_app_handlers()
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith(" INFO careapp.test_logging [-] outside")
    request_id = response.headers["X-Request-ID"]
    assert lines[1].endswith(f" INFO careapp.test_logging [{request_id}] first line")
    assert lines[2].endswith(f" WARNING werkzeug [{request_id}] GET /rate/[token] HTTP/1.1")


def test_configuring_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    level = root.level
    try:
        configure_logging("json", "WARNING", stream=io.StringIO())  # type: ignore[arg-type]  # a StringIO
        configure_logging("text", "INFO", stream=io.StringIO())  # type: ignore[arg-type]  # a StringIO
        assert len([h for h in root.handlers if isinstance(h, AppLogHandler)]) == 1
        assert root.level == logging.INFO
    finally:
        _remove_app_handlers()
        root.setLevel(level)


def test_the_log_format_is_checked_at_start(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("CAREAPP_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app(TestConfig)


def test_the_app_sets_up_its_log_from_its_settings(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("CAREAPP_LOG_FORMAT", "json")
    monkeypatch.setenv("CAREAPP_LOG_LEVEL", "WARNING")
    try:
        application = create_app(TestConfig)
        (handler,) = [h for h in root.handlers if isinstance(h, AppLogHandler)]
        assert root.level == logging.WARNING
        assert application.logger.handlers == []  # Flask's own handler would write twice
        application.extensions["careapp.engine"].dispose()
    finally:
        _remove_app_handlers()
        root.setLevel(level)
    assert handler.formatter is not None
