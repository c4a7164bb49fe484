"""Secret tokens kept out of the logs.

The family's rating link (`/rate/<token>`) and a caregiver's calendar feed
(`/calendar/<token>.ics`) carry their only key in the URL path; a certificate's verification
address (`/verify/<number>?code=<check code>`, the QR code on every document) carries its check
code in the query. Every log line that could name such an address — the development server's
and gunicorn's access logs, Flask's "Exception on <path>" — goes through `RedactTokens`, which
replaces the token or code with `[token]` (in the request line and in a Referer alike). A query
parameter named `code` is redacted wherever it appears (also in a bare query string, gunicorn's
`%(q)s`). A front proxy writes its own access log: docs/operations.md shows a format
that leaves the token out.

The app's own log (`configure_logging`, called by `create_app` when LOG_FORMAT is set, and
callable by a server's config) goes to standard error: JSON lines by default (timestamp, level,
logger, message, and the request id of every line written while a request is served:
`careapp.web.monitoring` sets it), or plain text lines for reading by eye (LOG_FORMAT=text).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
import time
from typing import Any, TextIO

from flask import Flask
from flask.logging import default_handler
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# The token is whatever stands between the prefix and the next "/", "?", "#", quote or space.
_TOKEN_PATHS = (
    re.compile(r"(/rate/)[^/?#\s\"']+"),
    re.compile(r"(/calendar/)[^/?#\s\"']+?(\.ics)"),
)
# A `code=` query parameter (the check code of /verify): after "?" or "&", or opening a bare
# query string; up to the next "&", "#", quote or space.
_CODE_PARAMETER = re.compile(r"((?:^|[?&\s\"'])code=)[^&#\s\"']+")
REDACTED = "[token]"
# The loggers that name request paths: Werkzeug's development server, gunicorn's access and
# error logs (standard loggers, configured by gunicorn when it runs), and the app's own.
PATH_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def redact_tokens(text: str) -> str:
    text = _TOKEN_PATHS[0].sub(rf"\g<1>{REDACTED}", text)
    text = _TOKEN_PATHS[1].sub(rf"\g<1>{REDACTED}\g<2>", text)
    return _CODE_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


class RedactTokens(logging.Filter):
    """Rewrite a record's message with the tokens of secret links replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def keep_tokens_out_of_logs(app: Flask) -> None:
    """Attach the filter (once) to every logger that may write a request's path."""
    for logger in (*(logging.getLogger(name) for name in PATH_LOGGERS), app.logger):
        if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
            logger.addFilter(RedactTokens())


# The id of the request being served in this thread (or task), for every log line it writes.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "careapp_request_id", default=None
)
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)sZ %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Name the request being served on the record (`request_id`; none outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None:
            record.request_id = request_id
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: timestamp (UTC, from the record's own creation time), level,
    logger, message, request_id (when serving a request), then any `extra` fields and the
    traceback (`exc_info`)."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "request_id"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            log_data["request_id"] = request_id


class AppLogHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` puts on the root logger (found again by its class).
    Without a stream of its own it writes to standard error as it is when a line is written
    (a test runner or a CLI test may swap it)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._follows_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follows_stderr:
            self.stream = sys.stderr
        super().emit(record)


def make_formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonLineFormatter()
    if log_format == "text":
        text = logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})
        text.converter = time.gmtime  # UTC, as the JSON lines
        return text
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def configure_logging(
    log_format: str = "json", level: str | int = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records (propagated to the root) to `stream` (default: standard
    error) as `log_format` lines, with the request id and tokens redacted; replaces the handler
    of an earlier call. gunicorn's own error and access logs keep their handlers (they do not
    propagate); a gunicorn config may call this too."""
    formatter = make_formatter(log_format)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, AppLogHandler)]:
        root.removeHandler(old)
    handler = AppLogHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactTokens())
    root.addHandler(handler)
    root.setLevel(level)
    # Flask's own handler on the app's logger ("careapp", parent of every careapp.* logger)
    # would write each of their lines a second time.
    logging.getLogger("careapp").removeHandler(default_handler)
    return handler


def configure_app_logging(app: Flask) -> None:
    """`configure_logging` with the app's LOG_FORMAT and LOG_LEVEL (nothing when LOG_FORMAT is
    empty: the tests leave logging to pytest)."""
    log_format = app.config.get("LOG_FORMAT")
    if log_format:
        configure_logging(str(log_format), app.config.get("LOG_LEVEL") or "INFO")
