"""Every request gets an id and is counted; who may read the metrics.

`RequestMonitor` wraps the WSGI app: it gives each request an id (the trusted proxy's
`X-Request-ID` when TRUSTED_PROXIES says a proxy is in front and the id is well formed, else a
new random one), sets it for the log lines written while the request is served
(`careapp.web.logs.REQUEST_ID`), echoes it in the response's `X-Request-ID` header and, when the
response body is done, counts the request in `careapp_http_requests_total` and times it, labelled
with the Flask endpoint (never the path: paths carry tokens) and the status code.

`/metrics` is for the machines' Prometheus only: a request from an address of METRICS_ALLOW
(CIDR blocks; default this machine) or with `Authorization: Bearer <METRICS_TOKEN>` (when set).
A request that came through a proxy the app does not trust (it carries X-Forwarded-For while
TRUSTED_PROXIES is 0) is never let in by its address: it would be the proxy's.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, request, request_started

from careapp import metrics
from careapp.config import ConfigError
from careapp.web.logs import REQUEST_ID

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_REQUEST_ID = "careapp.request_id"
ENVIRON_ENDPOINT = "careapp.endpoint"
# What a request that matched no route is counted as (404, 405): one label, whatever the path.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An id a proxy may set: short, and nothing that could break a log line or a header.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
ALLOWED_NETWORKS_KEY = "careapp.metrics_allowed_networks"

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestMonitor:
    """WSGI middleware: the request id, and the request's count and duration."""

    def __init__(self, app: WSGIApplication, *, trust_request_id: bool) -> None:
        self.app = app
        self.trust_request_id = trust_request_id

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = self._request_id(environ)
        environ[ENVIRON_REQUEST_ID] = request_id
        REQUEST_ID.set(request_id)
        status = "500"  # unless the app starts a response

        def start(
            status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:  # the write() callable of the server
            nonlocal status
            status = status_line.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        def finish() -> None:
            method = environ.get("REQUEST_METHOD", "")
            metrics.observe_request(
                environ.get(ENVIRON_ENDPOINT) or UNMATCHED,
                method if method in _METHODS else "other",
                status,
                time.perf_counter() - started,
            )
            REQUEST_ID.set(None)

        try:
            body = self.app(environ, start)
        except BaseException:
            finish()
            raise
        return _Body(body, finish)

    def _request_id(self, environ: WSGIEnvironment) -> str:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        if self.trust_request_id and _WELL_FORMED_ID.fullmatch(given):
            return str(given)
        return uuid.uuid4().hex


class _Body:
    """The response body, passed through; `finish` runs once when the server closes it."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[], None]) -> None:
        self._body = body
        self._finish: Callable[[], None] | None = finish

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            finish, self._finish = self._finish, None
            if finish is not None:
                finish()


def init_monitoring(app: Flask) -> None:
    """Wrap the app in `RequestMonitor`, label each request with its endpoint, and check the
    metrics' access settings now (a bad CIDR block fails at start, not at the first scrape)."""
    app.extensions[ALLOWED_NETWORKS_KEY] = allowed_networks(app.config.get("METRICS_ALLOW"))
    app.wsgi_app = RequestMonitor(  # type: ignore[method-assign]
        app.wsgi_app, trust_request_id=int(app.config["TRUSTED_PROXIES"]) > 0
    )

    request_started.connect(_label_endpoint, app)


def _label_endpoint(_sender: Flask, **_extra: Any) -> None:
    """Leave the matched endpoint where `RequestMonitor` finds it: sent once the URL is matched,
    before any `before_request` hook (which may answer early) and the view (which may raise)."""
    request.environ[ENVIRON_ENDPOINT] = request.endpoint or UNMATCHED


def allowed_networks(setting: Any) -> tuple[_Network, ...]:
    """METRICS_ALLOW: CIDR blocks (or single addresses), a list or one string separated by
    commas or spaces; empty: no address is let in (a token only)."""
    if setting is None:
        return ()
    items = setting.replace(",", " ").split() if isinstance(setting, str) else list(setting)
    try:
        return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items)
    except ValueError as error:
        raise ConfigError(f"CAREAPP_METRICS_ALLOW: {error}") from error


def may_read_metrics() -> bool:
    """Whether this request may read /metrics (the bearer token, or an allowed address)."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), str(token).encode()
        ):
            return True
    if int(current_app.config["TRUSTED_PROXIES"]) == 0 and "X-Forwarded-For" in request.headers:
        return False  # through a proxy the app does not know: the address is the proxy's
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    networks: tuple[_Network, ...] = current_app.extensions[ALLOWED_NETWORKS_KEY]
    return any(address in network for network in networks)
