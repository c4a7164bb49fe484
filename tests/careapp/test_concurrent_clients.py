"""Concurrent writes from real server processes and real clients.

`careapp serve` with four workers (gunicorn's processes, a few threads each) on one database;
50 clients at once log in (password, then the administrator's second
factor, each client as an administrator of its own), read an audited page (an application's,
which writes an audit row), try wrong passwords, reveal an ID number and register people. No
request may fail with a 5xx (on the embedded SQLite default: "database is locked"), and every
login attempt is recorded, so the throttle counts each failure.

The other tests of the suite run inside one rolled-back connection; this one needs committed
rows seen by several processes, so it builds its own database: a SQLite file, or on PostgreSQL
a throwaway database (tests/servers.py).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import careapp.models  # noqa: F401 - registers every table
from careapp.core import clock as app_clock
from careapp.core.identity import make_resident_id
from careapp.db import make_engine
from careapp.models import Application, AuditEvent, LoginAttempt, Person, User
from careapp.services.reference import ensure_districts
from careapp.services.two_factor import code_at
from tests import factories
from tests.factories import NOW
from tests.servers import committed_database, serve, server_environment

WORKERS = 4
CLIENTS = 50
ROUNDS = 2  # per client: each round reads, fails a login, reveals an ID and registers
WRONG_PASSWORD = "not the password"
REASON = {"reason": "核对身份信息"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # a redirect is an answer here, not something to follow


class Client:
    """One browser: its own cookies, one server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def send(self, path: str, data: dict[str, str] | None = None) -> int:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)


@pytest.fixture
def shared_database(database_url: str, tmp_path: Path) -> Iterator[tuple[str, int, int, list[str]]]:
    """A committed database: the schema, the districts, one administrator per client, a person
    and their application (URL, person id, application id, the administrators' usernames)."""
    with committed_database(database_url, tmp_path, "careapp_clients") as engine:
        yield (engine.url.render_as_string(hide_password=False), *_seed(engine))


def _seed(engine: Engine) -> tuple[int, int, list[str]]:
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            ensure_districts(session)
            admins: list[User] = [factories.UserFactory(admin=True) for _ in range(CLIENTS)]
            person: Person = factories.PersonFactory()
            application: Application = factories.ApplicationFactory(
                person=person, created_by=admins[0]
            )
            session.commit()
        finally:
            factories.bind(None)
    return person.id, application.id, [admin.username for admin in admins]


@pytest.fixture
def server(shared_database: tuple[str, int, int, list[str]], tmp_path: Path) -> Iterator[str]:
    """`careapp serve` with WORKERS workers on the shared database; its base URL."""
    env = server_environment(
        shared_database[0],
        # Every wrong password of the test must be checked and recorded, none throttled.
        CAREAPP_LOGIN_MAX_FAILURES="1000000",
        CAREAPP_WTF_CSRF_ENABLED="false",
        CAREAPP_WEB_ACCESS_LOG="",
    )
    with serve(env, tmp_path, WORKERS) as running:
        running.wait_for_workers(WORKERS)
        yield running.base


def test_fifty_clients_on_four_workers_get_no_5xx_and_every_attempt_is_recorded(
    shared_database: tuple[str, int, int, list[str]], server: str, servers_clock: None
) -> None:
    url, person_id, application_id, admins = shared_database
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        browser = Client(server)
        stranger = Client(server)  # wrong passwords, no session
        sent: list[tuple[str, int]] = []
        start.wait(timeout=60)
        admin = admins[index]
        sent.append(("login", browser.send("/login", _login(admin, factories.PASSWORD))))
        sent.append(("second factor", browser.send("/login/two-factor", _code(admin))))
        for round_ in range(ROUNDS):
            sent.append(("read", browser.send(f"/applications/{application_id}")))
            sent.append(("wrong login", stranger.send("/login", _login(admin, WRONG_PASSWORD))))
            sent.append(("reveal", browser.send(f"/people/{person_id}/reveal-id", REASON)))
            sent.append(("register", browser.send("/people/new", _person(index, round_))))
        with lock:
            statuses.update(sent)

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    took = time.monotonic() - began
    assert not any(thread.is_alive() for thread in threads), "a client hung"

    failed = {key: count for key, count in statuses.items() if key[1] >= 500}
    assert not failed, f"5xx answers (action, status): {failed}; all: {dict(statuses)}"
    wrong = CLIENTS * ROUNDS
    assert statuses == {
        ("login", 302): CLIENTS,
        ("second factor", 302): CLIENTS,
        ("read", 200): CLIENTS * ROUNDS,
        ("wrong login", 400): wrong,
        ("reveal", 200): CLIENTS * ROUNDS,
        ("register", 302): CLIENTS * ROUNDS,
    }, f"{dict(statuses)} in {took:.1f} s"
    print(f"{sum(statuses.values())} requests, no 5xx, in {took:.1f} s")  # with pytest -s

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            attempts = dict(
                session.execute(
                    select(LoginAttempt.is_success, func.count()).group_by(LoginAttempt.is_success)
                ).all()
            )
            people = session.scalar(select(func.count()).select_from(Person))
            audit_rows = session.scalar(select(func.count()).select_from(AuditEvent))
    finally:
        engine.dispose()
    # Every failure counts for the throttle; a login checks a password and a code.
    assert attempts == {True: 2 * CLIENTS, False: wrong}
    assert people == 1 + CLIENTS * ROUNDS
    assert audit_rows == CLIENTS + 3 * CLIENTS * ROUNDS  # logins, reads, reveals, registrations


def _login(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


@pytest.fixture
def servers_clock() -> Iterator[None]:
    """This process's clock ticking with the servers' (the system's: they run unpinned), so
    that each client reads its code when it sends it: with every worker thread busy, a login
    may wait longer than a step of the codes."""
    app_clock.unpin()
    app_clock.pin(app_clock.utcnow(), ticking=True)
    try:
        yield
    finally:
        app_clock.pin(NOW)


def _code(username: str) -> dict[str, str]:
    return {"code": code_at(factories.totp_secret(username), app_clock.utcnow())}


def _person(client: int, round_: int) -> dict[str, str]:
    """The registration form of a new person, with an ID number no other client uses."""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=client * ROUNDS + round_)
    return factories.person_form(id_number=make_resident_id("320623", born, 17))
