"""HTTPS-only cookies and HSTS by default, the trusted-proxy setting, and tokens out of the logs.

The suite runs with PLAIN_HTTP (the test client speaks http://); the first test builds an app
with the production defaults. The no-store rule itself is checked on every route by the walk
in tests/careapp/test_permissions.py.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from careapp import create_app
from careapp.config import Config, TestConfig, apply_plain_http
from careapp.models import AuditEvent, LoginAttempt
from careapp.web.logs import RedactTokens, redact_tokens
from tests.factories import PASSWORD, UserFactory

CLIENT, OTHER_CLIENT, PROXY = "203.0.113.7", "198.51.100.9", "10.0.0.2"
TOKEN = "s3cret-Token_value"
CODE = "K7QF3-M9DXA"  # a certificate's check code, in /verify?code=


def test_production_defaults_are_https_only(
    app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class ProductionConfig(Config):  # the defaults, plus the secrets an installation sets
        SECRET_KEY = "production-like-key"
        DATA_KEY = TestConfig.DATA_KEY
        LOG_FORMAT = None  # the log stays pytest's (a JSON handler would outlive this test)

    monkeypatch.setenv("CAREAPP_DATABASE_URL", database_url)
    production = create_app(ProductionConfig)
    try:
        assert production.config["REMEMBER_COOKIE_SECURE"] is True
        assert production.config["TRUSTED_PROXIES"] == 0
        response = production.test_client().get("/login", base_url="https://ltc.example")
        assert response.status_code == 200
        cookies = response.headers.getlist("Set-Cookie")  # the CSRF token is in the session
        (cookie,) = [c for c in cookies if c.startswith("__Host-careapp-session=")]
        assert cookie.startswith("__Host-careapp-session=")
        for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
            assert attribute in cookie
        assert "Domain" not in cookie
        hsts = response.headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000; includeSubDomains"
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        production.extensions["careapp.engine"].dispose()


def test_plain_http_drops_secure_the_host_prefix_and_hsts(
    client: FlaskClient, db_session: Session
) -> None:
    response = client.get("/login")
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" not in cookie
    assert "__Host-" not in cookie


def test_a_cookie_set_without_secure_loses_the_host_prefix() -> None:
    config = {
        "PLAIN_HTTP": False,
        "SESSION_COOKIE_SECURE": False,  # set by hand, e.g. CAREAPP_SESSION_COOKIE_SECURE=false
        "SESSION_COOKIE_NAME": "__Host-careapp-session",
        "REMEMBER_COOKIE_SECURE": True,
        "HSTS_MAX_AGE": 10,
    }
    apply_plain_http(config)
    assert config["SESSION_COOKIE_NAME"] == "careapp-session"  # a browser refuses __Host- then
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["HSTS_MAX_AGE"] == 10


# --- behind a reverse proxy --------------------------------------------------------------------


@pytest.fixture
def proxied(app: Flask, db_session: Session) -> Iterator[Flask]:
    """An app behind one trusted proxy, sharing the test's transaction."""

    class ProxiedConfig(TestConfig):
        TRUSTED_PROXIES = 1
        SIGNING_KEY_PATH = app.config["SIGNING_KEY_PATH"]  # no throwaway key of its own
        SIGNING_CERT_PATH = app.config["SIGNING_CERT_PATH"]

    behind = create_app(ProxiedConfig)
    behind.extensions["careapp.sessionmaker"] = app.extensions["careapp.sessionmaker"]
    try:
        yield behind
    finally:
        behind.extensions["careapp.engine"].dispose()


def _via_proxy(forwarded_for: str) -> dict[str, object]:
    """What the proxy passes on: the chain it received plus the address it saw."""
    return {
        "headers": {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
        "environ_base": {"REMOTE_ADDR": PROXY},
    }


def _login(client: FlaskClient, username: str, password: str, forwarded_for: str) -> int:
    data = {"username": username, "password": password}
    return client.post("/login", data=data, **_via_proxy(forwarded_for)).status_code  # type: ignore[arg-type]


def test_login_throttle_and_audit_see_the_client_behind_the_proxy(
    proxied: Flask, db_session: Session
) -> None:
    user = UserFactory(assessor=True)  # the password alone logs in (and is audited)
    client = proxied.test_client()
    statuses = [_login(client, f"nobody{n}", "x", CLIENT) for n in range(5)]
    assert statuses == [400] * 5
    addresses = db_session.scalars(select(LoginAttempt.address)).all()
    assert set(addresses) == {CLIENT}  # not the proxy's
    # The address is throttled, even with the right password, and even when the client writes
    # another address in front of the chain (only the proxy's own entry is believed).
    assert _login(client, user.username, PASSWORD, CLIENT) == 429
    assert _login(client, user.username, PASSWORD, f"{OTHER_CLIENT}, {CLIENT}") == 429
    # Another client behind the same proxy is not.
    assert _login(client, user.username, PASSWORD, OTHER_CLIENT) == 302
    login = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert login.address == OTHER_CLIENT


def test_verify_limit_counts_each_client_behind_the_proxy(
    proxied: Flask, db_session: Session
) -> None:
    proxied.config["VERIFY_MAX_PER_MINUTE"] = 2
    client = proxied.test_client()

    def look_up(forwarded_for: str) -> int:
        url = "/verify/DY-2026-424242?code=K7QF3-M9DXA"
        return client.get(url, **_via_proxy(forwarded_for)).status_code  # type: ignore[arg-type]

    assert [look_up(CLIENT) for _ in range(3)] == [200, 200, 429]
    assert look_up(OTHER_CLIENT) == 200


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    client: FlaskClient, db_session: Session
) -> None:
    client.post(
        "/login",
        data={"username": "nobody", "password": "x"},
        headers={"X-Forwarded-For": CLIENT},
    )
    assert db_session.scalars(select(LoginAttempt.address)).one() == "127.0.0.1"


# --- tokens out of the logs --------------------------------------------------------------------


def test_rating_page_sends_no_referer_and_is_not_stored(
    client: FlaskClient, db_session: Session
) -> None:
    response = client.get(f"/rate/{TOKEN}")  # unknown: the "link not valid" page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f'"GET /rate/{TOKEN} HTTP/1.1" 200 -', '"GET /rate/[token] HTTP/1.1" 200 -'),
        (f"GET /rate/{TOKEN}?lang=en", "GET /rate/[token]?lang=en"),
        (f"/calendar/{TOKEN}.ics", "/calendar/[token].ics"),
        (f'"https://ltc.example/rate/{TOKEN}"', '"https://ltc.example/rate/[token]"'),
        ("GET /roster?day=2026-11-23", "GET /roster?day=2026-11-23"),
        (
            f'"GET /verify/DY-2026-000001?code={CODE} HTTP/1.1" 200 -',
            '"GET /verify/DY-2026-000001?code=[token] HTTP/1.1" 200 -',
        ),
        (
            f"GET /verify?number=DY-2026-000001&code={CODE}&x=1",
            "GET /verify?number=DY-2026-000001&code=[token]&x=1",
        ),
        (
            f'"https://ltc.example/verify/JS-1?code={CODE}"',
            '"https://ltc.example/verify/JS-1?code=[token]"',
        ),
        (f"code={CODE}&number=DY", "code=[token]&number=DY"),  # gunicorn's bare query, %(q)s
        ("GET /roster?postcode=226001&check_code=1", "GET /roster?postcode=226001&check_code=1"),
    ],
)
def test_redact_tokens(line: str, expected: str) -> None:
    assert redact_tokens(line) == expected


def test_development_server_access_log_leaves_tokens_out(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (
                f"/rate/{TOKEN}",
                f"/calendar/{TOKEN}.ics",
                f"/verify/DY-2026-000001?code={CODE}",
            ):
                url = f"http://127.0.0.1:{server.port}{path}"
                try:
                    with urllib.request.urlopen(url):
                        pass
                except urllib.error.HTTPError as error:  # an unknown token: 404 or 410
                    error.close()
    finally:
        server.shutdown()
        thread.join()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) == 3
    assert all("[token]" in line for line in lines)
    assert TOKEN not in caplog.text
    assert CODE not in caplog.text


def test_gunicorn_access_and_flask_exception_logs_leave_tokens_out(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("gunicorn.access")
    assert any(isinstance(f, RedactTokens) for f in access.filters)
    with caplog.at_level(logging.INFO):
        # gunicorn's access log: its format and a dict of atoms (request line, path, referer)
        access.info(
            '%(h)s "%(r)s" %(s)s "%(f)s"',
            {
                "h": CLIENT,
                "r": f"GET /calendar/{TOKEN}.ics HTTP/1.1",
                "s": "200",
                "f": f"https://ltc.example/rate/{TOKEN}",
            },
        )
        access.info(
            '"%(r)s" %(q)s', {"r": f"GET /verify/JD-1?code={CODE} HTTP/1.1", "q": f"code={CODE}"}
        )
        app.logger.error("Exception on /rate/%s [GET]", TOKEN)
    assert TOKEN not in caplog.text
    assert CODE not in caplog.text
    assert "/calendar/[token].ics" in caplog.text
    assert "Exception on /rate/[token] [GET]" in caplog.text
