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
"""

from __future__ import annotations

import logging
import re

from flask import Flask

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
