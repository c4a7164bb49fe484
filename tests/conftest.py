"""Fixtures: one schema per run, each test inside a rolled-back SAVEPOINT transaction.

The database is SQLite (a temporary file) unless CAREAPP_DATABASE_URL points elsewhere;
`.ci/run` runs the whole suite again on a fresh PostgreSQL database that way.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_babel import refresh
from hypothesis import settings
from sqlalchemy import Connection, Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from careapp import create_app
from careapp.config import TestConfig
from careapp.core import clock as app_clock
from careapp.db import Base
from careapp.models import (
    Caregiver,
    District,
    PolicyVersion,
    Provider,
    Role,
    ServiceItem,
    User,
)
from careapp.reports.seal import create_signing_key
from careapp.services.actor import Actor
from careapp.services.catalogue import ensure_service_catalogue
from careapp.services.reference import ensure_districts
from careapp.services.two_factor import code_at
from tests import factories
from tests.factories import NOW

# Speed is measured in benchmarks, not here: a busy machine must not fail a property test by the
# clock (Hypothesis' default 200 ms deadline per example).
# CI runs derandomized (HYPOTHESIS_PROFILE=ci, set by `make test`): the same examples every run,
# so a failure there replays anywhere; a developer's run keeps exploring new ones.
settings.register_profile("careapp", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "careapp"))


class PinnedClock:
    """The app's one clock, as a test moves it (`clock.set(...)`, `clock.advance(...)`)."""

    def __init__(self, moment: dt.datetime, *, ticking: bool = False) -> None:
        self.ticking = ticking
        self.set(moment)

    def set(self, moment: dt.datetime) -> None:
        app_clock.pin(moment, ticking=self.ticking)

    def advance(self, delta: dt.timedelta) -> None:
        self.set(app_clock.utcnow() + delta)

    def now(self) -> dt.datetime:
        return app_clock.utcnow()


@pytest.fixture(scope="session", autouse=True)
def _pinned_clock() -> Iterator[None]:
    """The whole suite runs at NOW (10:00 in the city), never at the real date or hour."""
    app_clock.pin(NOW)
    yield
    app_clock.unpin()


@pytest.fixture
def clock() -> Iterator[PinnedClock]:
    """Move the app's clock within one test; it is back at NOW afterwards."""
    pinned = PinnedClock(NOW)
    yield pinned
    app_clock.pin(NOW)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CAREAPP_DATABASE_URL")
    if url:
        return url
    return f"sqlite+pysqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    os.environ["CAREAPP_DATABASE_URL"] = database_url
    application = create_app(TestConfig)
    # A throwaway key and self-signed certificate for the electronic seal of this run.
    seal = create_signing_key(tmp_path_factory.mktemp("seal"))
    application.config["SIGNING_KEY_PATH"] = str(seal.key_path)
    application.config["SIGNING_CERT_PATH"] = str(seal.cert_path)
    application.config["PRINT_BATCH_DIR"] = str(tmp_path_factory.mktemp("print-batches"))
    engine = application.extensions["careapp.engine"]
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield application
    engine.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    engine = app.extensions["careapp.engine"]
    with engine.connect() as conn:
        outer = conn.begin()
        original = app.extensions["careapp.sessionmaker"]
        app.extensions["careapp.sessionmaker"] = sessionmaker(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield conn
        finally:
            app.extensions["careapp.sessionmaker"] = original
            outer.rollback()


@pytest.fixture
def db_session(app: Flask, connection: Connection) -> Iterator[Session]:
    session = app.extensions["careapp.sessionmaker"]()
    factories.bind(session)
    with app.app_context():
        try:
            yield session
        finally:
            factories.bind(None)
            # Requests of the test client share this app context, so their session lives in
            # `g` until here; close it first, while the savepoints it may hold still exist.
            request_session = g.pop("db_session", None)
            if request_session is not None:
                request_session.close()
            session.close()


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


def current_totp_code(session: Session, user: User) -> str:
    """The code `user`'s authenticator app shows now, by the app's clock; the user's last used
    time step is forgotten first, as if a new 30 seconds had begun (the suite's clock stands
    still, and a test may log the same administrator in several times)."""
    session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    ciphertext = session.scalar(select(User.totp_secret_ciphertext).where(User.id == user.id))
    assert ciphertext is not None, f"{user.username} has no second factor"
    return code_at(factories.TEST_PROTECTOR.decrypt(ciphertext), app_clock.utcnow())


def log_in(client: FlaskClient, session: Session, user: User) -> None:
    """Log `user` in through the real login form (password factories.PASSWORD) and, when the
    user has a second factor, the real second step with the current code."""
    response = client.post(
        "/login", data={"username": user.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"].startswith("/login/two-factor"):
        response = client.post("/login/two-factor", data={"code": current_totp_code(session, user)})
        assert response.status_code == 302, response.get_data(as_text=True)


def log_in_committed(client: FlaskClient, engine: Engine, user_id: int) -> None:
    """`log_in` for an app on a database of its own, where every request commits: the code is
    read (and the last used step forgotten) in a transaction committed before the app is asked,
    so the test holds no lock the app waits for."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        username = user.username
        code = current_totp_code(session, user) if user.totp_secret_ciphertext else None
        session.commit()
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    if code is not None:
        assert response.headers["Location"] == "/login/two-factor"
        response = client.post("/login/two-factor", data={"code": code})
        assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def login_as(client: FlaskClient, db_session: Session):  # type: ignore[no-untyped-def]  # returns a helper
    """Log `user` in through the real login form (its password is factories.PASSWORD) and the
    second factor's step when the user has one (every administrator of the factories)."""

    def _login(user: User) -> FlaskClient:
        client.post("/logout")
        log_in(client, db_session, user)
        return client

    return _login


@pytest.fixture
def policy(db_session: Session) -> PolicyVersion:
    """The policy in force (the factory's national standard)."""
    found: PolicyVersion = factories.PolicyVersionFactory()
    return found


@pytest.fixture
def districts(db_session: Session) -> list[District]:
    """Nantong's districts."""
    return ensure_districts(db_session)


@pytest.fixture
def items(db_session: Session) -> dict[str, ServiceItem]:
    """The city's service catalogue, by code."""
    return {item.code: item for item in ensure_service_catalogue(db_session)}


@pytest.fixture
def provider(db_session: Session) -> Provider:
    """A service company; a module whose manager works elsewhere overrides this fixture."""
    found: Provider = factories.ProviderFactory(name="崇川居家照护")
    return found


@pytest.fixture
def manager(provider: Provider) -> User:
    """The manager of `provider`."""
    user: User = factories.UserFactory(manager=True, provider=provider)
    return user


@pytest.fixture
def caregiver(db_session: Session) -> Caregiver:
    """A caregiver with a login, of a company of their own."""
    found: Caregiver = factories.CaregiverUserFactory()
    return found


@pytest.fixture
def admin_user(db_session: Session) -> User:
    """An administrator, 管理员甲."""
    user: User = factories.UserFactory(admin=True, display_name="管理员甲")
    return user


@pytest.fixture
def admin_actor(admin_user: User) -> Actor:
    """`admin_user` acting, as a service sees them from the test client's address."""
    return Actor(user_id=admin_user.id, role=Role.ADMIN, address="127.0.0.1")


@pytest.fixture
def english(app: Flask, client: FlaskClient) -> Iterator[FlaskClient]:
    """The test in English: the client has chosen English (its session keeps the choice across
    log-ins), and messages made outside a request (a service's) are in English too."""
    client.post("/lang/en")
    with app.test_request_context("/?lang=en"):
        refresh()  # test requests share one app context, where Flask-Babel caches the locale
        yield client
    refresh()


class Statements(list[str]):
    """SQL statements, in the order they were sent."""

    def selects(self) -> list[str]:
        """The reads among them (not the SAVEPOINT bookkeeping or the writes)."""
        return [sql for sql in self if sql.lstrip().upper().startswith("SELECT")]

    @contextmanager
    def counted(self) -> Iterator[Statements]:
        """The statements sent inside the block (filled in when the block ends)."""
        start = len(self)
        sent = Statements()
        try:
            yield sent
        finally:
            sent.extend(self[start:])


@pytest.fixture
def count_queries(connection: Connection) -> Iterator[Statements]:
    """The SQL statements sent while the test runs (a page's count must not grow with data):
    `count_queries.clear()` before what is counted, or `with count_queries.counted() as sent:`."""
    statements = Statements()

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", _count)
    yield statements
    event.remove(connection, "before_cursor_execute", _count)


@pytest.fixture
def protector(app: Flask):  # type: ignore[no-untyped-def]  # the app's DataProtector
    return app.extensions["careapp.protector"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="browser tests write docs/screenshots/*.png (`make screenshots`); otherwise a "
        "temporary folder",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    is_postgres = os.environ.get("CAREAPP_DATABASE_URL", "").startswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set CAREAPP_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and not is_postgres:
            item.add_marker(skip_pg)


ROOT = Path(__file__).resolve().parent.parent
