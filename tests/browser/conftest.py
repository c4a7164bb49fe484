"""Real-browser fixtures: a live app on its own database, Debian's chromium, a tablet context.

The live app commits for real (no SAVEPOINT fixture): it runs in a werkzeug thread on
127.0.0.1, on a temporary SQLite file, or, when CAREAPP_DATABASE_URL is PostgreSQL, on a
database of the same name with the suffix `_live` (created and dropped here). Every page is
checked for requests that leave 127.0.0.1. Nothing here downloads a browser: the tests drive
/usr/bin/chromium and are skipped, with the reason, when it is missing.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from babel import support
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from careapp import create_app
from careapp.config import TestConfig
from careapp.core import clock
from careapp.db import Base
from careapp.models import Role, User
from careapp.services.catalogue import ensure_service_catalogue
from careapp.services.policy import ensure_default_policy
from careapp.services.reference import ensure_districts
from careapp.services.two_factor import code_at
from tests import factories
from tests.factories import NOW

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 768, "height": 1024}
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
TRANSLATIONS = ROOT / "translations"
LIVE_HOST = "127.0.0.1"
# Where the seeded home care provider's caregiver starts the day (near the city centre).
CAREGIVER_BASE = (32.0, 120.85)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as `browser` (and `screenshots` if it takes some);
    skip them all without chromium."""
    here = Path(__file__).resolve().parent
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)"
    )
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if "screenshots" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.screenshots)
            if not CHROMIUM.exists():
                item.add_marker(skip)


# --- the live app -------------------------------------------------------------------------


def _admin_url(url: str) -> str:
    """A libpq URL for the maintenance database of the server behind `url`."""
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    main_url = os.environ.get("CAREAPP_DATABASE_URL", "")
    if not main_url.startswith("postgresql"):
        yield f"sqlite+pysqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite'}"
        return
    parsed = make_url(main_url)
    name = f"{parsed.database}_live"
    admin = _admin_url(main_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_live_app(url: str) -> Flask:
    """create_app on `url`, leaving CAREAPP_DATABASE_URL as it was (the main `app` reads it)."""

    class LiveConfig(TestConfig):
        DATABASE_URL = url
        WTF_CSRF_ENABLED = True  # a real browser posts real forms, tokens included

    # from_prefixed_env runs after from_object, so the variable must name the live database
    # while create_app reads it, and be put back straight afterwards.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAREAPP_DATABASE_URL", url)
        application = create_app(LiveConfig)
    assert application.config["DATABASE_URL"] == url
    return application


_live: dict[str, Flask] = {}  # the live app, for `login` (a plain function the tests call)


@pytest.fixture(scope="session")
def live_app(live_database_url: str) -> Iterator[Flask]:
    application = _make_live_app(live_database_url)
    engine = application.extensions["careapp.engine"]
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    _live["app"] = application
    yield application
    _live.pop("app", None)
    engine.dispose()


@contextmanager
def live_session(application: Flask) -> Iterator[Session]:
    """A real session on the live database with the factories bound to it; commits at the end."""
    session: Session = application.extensions["careapp.sessionmaker"]()
    previous = factories._session
    factories.bind(session)
    try:
        with application.app_context():
            yield session
            session.commit()
    finally:
        factories.bind(previous)
        session.close()


@dataclass(frozen=True)
class LiveData:
    """What every browser test can rely on in the live database."""

    district_code: str
    provider_id: int
    provider_name: str
    caregiver_id: int
    caregiver_name: str
    users: dict[str, str]  # role value -> username
    display_names: dict[str, str]  # username -> display name


@pytest.fixture(scope="session")
def live_data(live_app: Flask) -> LiveData:
    """Seed what no page creates: districts, policy, catalogue, a provider and the staff."""
    with live_session(live_app) as session:
        districts = {district.code: district for district in ensure_districts(session)}
        district = districts["320602"]  # 崇川区, urban
        ensure_default_policy(session)
        ensure_service_catalogue(session)
        provider = factories.ProviderFactory(
            name="崇川居家照护服务中心", licence_number="LIC-LIVE-1", districts=[district]
        )
        staff = {
            "admin": factories.UserFactory(
                username="admin1", display_name="管理员周敏", role=Role.ADMIN
            ),
            "assessor": factories.UserFactory(
                username="assessor1", display_name="评估员李强", role=Role.ASSESSOR
            ),
            "assessor_2": factories.UserFactory(
                username="assessor2", display_name="评估员陈静", role=Role.ASSESSOR
            ),
            "provider_manager": factories.UserFactory(
                username="manager1",
                display_name="站长刘洋",
                role=Role.PROVIDER_MANAGER,
                provider=provider,
            ),
            "caregiver": factories.UserFactory(
                username="caregiver1",
                display_name="护理员王芳",
                role=Role.CAREGIVER,
                provider=provider,
            ),
        }
        caregiver = factories.CaregiverFactory(
            provider=provider,
            user=staff["caregiver"],
            name="王芳",
            qualifications=["daily_care", "nursing"],
            work_days=[1, 2, 3, 4, 5, 6, 7],
            work_start=dt.time(7, 0),
            work_end=dt.time(20, 0),
            base_lat=CAREGIVER_BASE[0],
            base_lon=CAREGIVER_BASE[1],
        )
        session.flush()
        return LiveData(
            district_code=district.code,
            provider_id=provider.id,
            provider_name=provider.name,
            caregiver_id=caregiver.id,
            caregiver_name=caregiver.name,
            users={role: user.username for role, user in staff.items()},
            display_names={user.username: user.display_name for user in staff.values()},
        )


@pytest.fixture(scope="session")
def live_server(live_app: Flask, live_data: LiveData) -> Iterator[str]:
    """Serve the live app on a free port of 127.0.0.1; yields its base URL."""
    server = make_server(LIVE_HOST, 0, _closing(live_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LIVE_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


# --- the browser ----------------------------------------------------------------------------


def _closing(app: Flask) -> Callable[..., Iterator[bytes]]:
    """Close every response, even when the browser drops the connection mid-download.

    werkzeug's development server skips `close()` on a response whose client went away (a page
    closed while a font slice was still downloading), leaving the static file open. Handing it a
    generator instead means the response is closed when the generator is collected.
    """

    def wsgi(environ: dict[str, object], start_response: Callable[..., object]) -> Iterator[bytes]:
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    instance = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield instance
    finally:
        instance.close()


BROWSER_SCHEMES = frozenset({"chrome", "chrome-extension", "data", "blob"})


class ExternalRequests(list[str]):
    """URLs that a page tried to load from anywhere but the live server (all aborted)."""

    def guard(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        # The browser's own pages (its PDF viewer) load from chrome:// and chrome-extension://.
        if parts.hostname == LIVE_HOST or parts.scheme in BROWSER_SCHEMES:
            route.continue_()
        else:
            self.append(url)
            route.abort("blockedbyclient")


@pytest.fixture
def external_requests(request: pytest.FixtureRequest) -> ExternalRequests:
    """Filled by every context the test opens; checked after the test body (see the hook)."""
    found = ExternalRequests()
    request.node.stash[EXTERNAL_KEY] = found
    return found


EXTERNAL_KEY = pytest.StashKey[ExternalRequests]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """Fail the test itself, not its teardown, when a page reached outside 127.0.0.1."""
    result = yield
    found = item.stash.get(EXTERNAL_KEY, None)
    if found:
        pytest.fail(f"pages requested resources outside {LIVE_HOST}: {sorted(set(found))}")
    return result


@pytest.fixture
def new_tablet(
    browser: Browser, live_server: str, external_requests: ExternalRequests
) -> Iterator[Callable[..., BrowserContext]]:
    """Open a 768×1024 touch tablet context in Chinese (more keyword options pass through)."""
    opened: list[BrowserContext] = []

    def _open(**options: object) -> BrowserContext:
        settings: dict[str, object] = {
            "viewport": TABLET,
            "screen": TABLET,
            "has_touch": True,
            "is_mobile": True,
            "device_scale_factor": 1,
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            "base_url": live_server,
        }
        settings.update(options)
        context = browser.new_context(**settings)  # type: ignore[arg-type]  # keyword options
        context.set_default_timeout(10_000)
        context.route("**/*", external_requests.guard)
        opened.append(context)
        return context

    yield _open
    for context in opened:
        context.close()


@pytest.fixture
def tablet(new_tablet: Callable[..., BrowserContext]) -> BrowserContext:
    return new_tablet()


@pytest.fixture
def page(tablet: BrowserContext) -> Page:
    return tablet.new_page()


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests' screenshots go: docs/screenshots with --screenshots (`make screenshots`),
    else a temporary folder, so that a test run leaves the tree as it was."""
    if not pytestconfig.getoption("screenshots"):
        return tmp_path_factory.mktemp("screenshots")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@functools.cache
def _catalogue() -> support.NullTranslations:
    return support.Translations.load(str(TRANSLATIONS), ["zh"])


def zh(msgid: str, **params: object) -> str:
    """The Chinese text of an English msgid, as the app renders it (it must be translated)."""
    text = _catalogue().gettext(msgid)
    assert text != msgid, f"no Chinese translation for {msgid!r}"
    return text % params if params else text


@pytest.fixture(scope="session", autouse=True)
def _ticking_clock() -> Iterator[None]:
    """The live app's clock starts at NOW (10:00 in the city) and ticks: a visit lasts."""
    clock.pin(NOW, ticking=True)
    yield
    clock.pin(NOW)


@contextmanager
def live_clock(moment: dt.datetime) -> Iterator[None]:
    """Move the live app's clock to `moment` (it keeps ticking from there), then back."""
    before = clock.utcnow()
    clock.pin(moment, ticking=True)
    try:
        yield
    finally:
        clock.pin(before, ticking=True)


def login(page: Page, username: str, password: str = factories.PASSWORD) -> None:
    """Log in through the real form (and the second factor's step, for a user who has one) and
    wait for the page it leads to."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    if urlsplit(page.url).path == "/login/two-factor":
        page.locator("input[name=code]").fill(live_totp_code(username))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").tap()
    assert "/login" not in urlsplit(page.url).path, page.locator("main").inner_text()


def live_totp_code(username: str) -> str:
    """The code `username`'s authenticator app shows now, by the live app's clock (this
    process's, ticking). Their last used time step is forgotten first: the tests log the same
    people in again and again, faster than one code every 30 seconds."""
    application = _live["app"]
    with live_session(application) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        assert user.totp_secret_ciphertext is not None, username
        user.totp_last_step = None
        secret = application.extensions["careapp.protector"].decrypt(user.totp_secret_ciphertext)
    return code_at(secret, clock.utcnow())


def logout(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("logout").tap()


def screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot once every web font the page uses has arrived (no blank glyphs)."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function("document.fonts.status === 'loaded'")
    page.screenshot(path=path, full_page=True)
