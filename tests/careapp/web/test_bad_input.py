"""Bad input never gives a 5xx: every form field, query parameter and path id of every route, as
the role that may use it, with huge or negative numbers, far-off dates and junk text.

The routes and their fields come from the app itself: the URL map (as in test_permissions) and
the forms its pages show (their `action`, fields and default values). A refused request (4xx)
leaves no row behind: the count of every table (but the audit log of reads) is the same
before and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask, g, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.db import Base
from tests.careapp import test_permissions
from tests.careapp.test_permissions import ACCESS, ANON, ROLES, World
from tests.conftest import log_in

# Routes the walk leaves out: logging out ends the role's session, the login form is rate limited
# (its bad input is tested in tests/careapp/blueprints/auth), static files take no input.
world = test_permissions.world  # the same routes, ids and users

SKIPPED = frozenset(
    {
        "auth.logout",
        "auth.login",
        "auth.two_factor",
        "auth.two_factor_enrol",
        "static",
        "set_language",
    }
)

HUGE = 10**300
NASTY_TEXT = [
    str(HUGE),
    str(-HUGE),
    "9" * 30,
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "1e309",
    "NaN",
    "inf",
    "-0.0",
    "12.345678901234567890",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "2026-13",
    "9999-12",
    "0000-00",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "25:61",
    "",
    " ",
    "\x00",
    "é" * 300,
    "<script>",
    "' OR 1=1 --",
]
BAD_VALUES = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.dates().map(lambda day: day.isoformat()),
    st.dates().map(lambda day: f"{day.year:04d}-{day.month:02d}"),
    st.text(max_size=40),
)
QUERY_NAMES = ("offset", "day", "month", "from", "to", "q", "status", "volunteer", "page")


@dataclass(frozen=True)
class Target:
    role: str
    method: str
    url: str
    fields: tuple[tuple[str, str], ...] = field(default=())


class _Forms(HTMLParser):
    """The forms of a page: (method, action, [(name, default value)])."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            method = found.get("method", "get").upper()
            self.forms.append((method, found.get("action", ""), []))
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and found.get("name"):
            kind = found.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            self.forms[-1][2].append((found["name"], found.get("value", "")))
        elif tag == "select" and found.get("name"):
            self._select = found["name"]
        elif tag == "option" and self._select is not None:
            self.forms[-1][2].append((self._select, found.get("value", "")))
            self._select = None


def _route_url(app: Flask, endpoint: str, args: dict[str, object]) -> str:
    with app.test_request_context():
        return url_for(endpoint, **args)


def _allowed_role(endpoint: str) -> str:
    return next(role for role in ROLES if role in ACCESS[endpoint] and role != ANON)


def _walk(app: Flask, clients: dict[str, FlaskClient], world: World) -> list[Target]:
    """Every route as a role that may use it, with the fields of the forms its pages show."""
    targets: set[Target] = set()
    int_args = re.compile(r"<int:(\w+)>")
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        role = _allowed_role(rule.endpoint) if ACCESS[rule.endpoint] != {ANON} else ANON
        args = world.args.get(rule.endpoint, {})
        methods = rule.methods or set()
        method = "GET" if "GET" in methods else "POST"
        url = _route_url(app, rule.endpoint, args)
        targets.add(Target(role, method, url))
        for name in int_args.findall(rule.rule):  # each id too big for the database
            huge = _route_url(app, rule.endpoint, {**args, name: HUGE})
            targets.add(Target(role, method, huge))
        if method != "GET":
            continue
        g.pop("_login_user", None)
        page = clients[role].get(url)
        html = page.get_data(as_text=True) if page.mimetype == "text/html" else ""
        ok = page.status_code == 200
        page.close()
        if not ok or not html:
            continue
        parser = _Forms()
        parser.feed(html)
        targets.add(Target(role, "GET", url, tuple((name, "") for name in QUERY_NAMES)))
        for form_method, action, fields in parser.forms:
            path = urlsplit(action).path or url
            if not fields or path.startswith(("/logout", "/lang/")):
                continue
            targets.add(Target(role, form_method, path, tuple(fields)))
    return sorted(targets, key=lambda target: (target.url, target.method, target.fields))


def _send(client: FlaskClient, method: str, url: str, fields: dict[str, str] | None = None) -> int:
    """The status of one request. The test client's requests share the test's app context, so
    Flask-Login's user cached in `g` is dropped first: each role's client is its own user."""
    g.pop("_login_user", None)
    if method == "GET":
        response = client.get(url, query_string=fields or {})
    else:
        response = client.open(url, method=method, data=fields or {})
    status = response.status_code
    response.close()
    return status


class Targets(list[Target]):
    """The walk's targets; short in a falsifying example's report."""

    def __repr__(self) -> str:
        return f"<{len(self)} targets>"


def _row_counts(session: Session) -> dict[str, int]:
    """Rows per table; the audit log is left out: a page that shows personal data records the
    read (committed on purpose) even when it refuses the form it shows again. So are the login
    attempts: a wrong current password on the password page, or a refused second-factor code,
    is a failed login, recorded on purpose (for the throttle) while the form is refused."""
    session.expire_all()
    return {
        table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
        if table.name not in ("audit_events", "login_attempts")
    }


@pytest.fixture
def clients(app: Flask, db_session: Session, world: World) -> dict[str, FlaskClient]:
    found = {ANON: app.test_client()}
    for role, user in world.users.items():
        client = app.test_client()
        g.pop("_login_user", None)
        log_in(client, db_session, user)  # with the second factor where the user has one
        found[role] = client
    return found


@pytest.fixture
def targets(app: Flask, clients: dict[str, FlaskClient], world: World) -> list[Target]:
    return Targets(_walk(app, clients, world))


def test_the_walk_finds_forms_and_ids(targets: list[Target]) -> None:
    assert len({target.url for target in targets}) > 100
    assert any(target.method == "POST" and target.fields for target in targets)
    assert any(str(HUGE) in target.url for target in targets)


@settings(
    max_examples=500,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pick=st.integers(min_value=0),
    first=st.integers(min_value=0),
    second=st.integers(min_value=0),
    value=BAD_VALUES,
    other=BAD_VALUES,
)
def test_bad_input_never_gives_a_5xx_nor_a_partial_write(
    db_session: Session,
    clients: dict[str, FlaskClient],
    targets: Targets,
    pick: int,
    first: int,
    second: int,
    value: str,
    other: str,
) -> None:
    """One route as its role, one or two of its fields (or query parameters) bad."""
    target = targets[pick % len(targets)]
    fields = dict(target.fields)
    names = sorted(fields)
    if names:
        fields[names[first % len(names)]] = value
        fields[names[second % len(names)]] = other
    before = _row_counts(db_session)
    status = _send(clients[target.role], target.method, target.url, fields)
    assert status < 500, f"{target.method} {target.url} {fields} -> {status}"
    if 400 <= status < 500:
        assert _row_counts(db_session) == before, f"{target.method} {target.url} {fields} wrote"
