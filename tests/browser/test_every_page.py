"""Every page, for every role, on a 768×1024 tablet: no sideways scroll, and axe-core finds nothing.

The page list comes from the app's URL map, so a new route is crawled (or must be named below
with the reason it is not). Parameterised routes get real ids of records made here in the live
database, all of the seeded provider, its manager and its caregiver, in a January 2027 week that
no other browser test uses (the crawl moves the live clock there). axe-core is the vendored copy
(tests/browser/vendor, refreshed by `make vendor`), injected into each page: nothing is fetched
from the internet.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from careapp import models as m
from careapp.core.clock import city_datetime
from careapp.services.actor import Actor
from careapp.services.ledger import AdmissionInput, record_hospital_stay
from careapp.services.settlement import issue_statement
from careapp.services.visits import check_in, check_out
from scheduling.claims import ClaimFlagKind
from scheduling.visits import VisitStatus
from tests import factories
from tests.browser.conftest import TABLET, LiveData, live_clock, live_session, login, zh

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CRAWL_DAY = dt.date(2027, 1, 12)  # a Tuesday
CRAWL_NOW = city_datetime(CRAWL_DAY, dt.time(10, 0))
ROLES = ("admin", "assessor", "provider_manager", "caregiver", "anonymous")

# Routes that answer with a file, not a page (nothing for a layout or axe check).
FILE_ENDPOINTS = {
    "static": "static files",
    "assessments.service_worker": "JavaScript (the service worker)",
    "assessments.assessment_draft": "JSON (the assessment form's draft sync)",
    "certificates.assessment_conclusion_pdf": "PDF",
    "certificates.batch_download": "PDF",
    "certificates.batch_status": "JSON",
    "rosters.calendar_feed_ics": "ICS calendar",
    "rosters.caregiver_map": "SVG image",
    "rosters.day_sheet": "PDF",
    "rosters.roster_csv_export": "CSV",
    "providers.satisfaction_csv": "CSV",
    "settlement.statement_csv_download": "CSV",
    "settlement.statement_pdf": "PDF",
    "visits.my_day_map": "SVG image",
    "monitoring.healthz": "JSON (the liveness probe)",
    "monitoring.readyz": "JSON (the readiness probe)",
    "monitoring.metrics": "Prometheus text",
}
# Pages no role can open with the records made here, with the reason. Keep this short.
SKIPPED: dict[str, str] = {
    "auth.two_factor": "only half-way through a login; checked in tests/browser/test_two_factor.py",
    "auth.two_factor_enrol": "only half-way through a login; checked in test_two_factor.py",
}
# Second records of a page whose forms differ by state (the crawl above has one id per route).
EXTRA = (
    ("provider_manager", "/roster/visits/{today_visit_id}"),  # move, enter by hand, cancel
    ("caregiver", "/visits/{today_visit_id}"),  # check in
)
# Pages also checked in English (a sample: the layout must hold with longer words).
ENGLISH = (
    ("admin", "/fund"),
    ("admin", "/settlement/statements/{statement_id}"),
    ("admin", "/oversight"),
    ("provider_manager", "/roster/week"),
    ("provider_manager", "/roster/visits/{missed_visit_id}"),
    ("anonymous", "/login"),
)


@dataclass
class World:
    """Ids of the crawl's records, by URL argument name (`ids`) or per endpoint (`by_endpoint`)."""

    ids: dict[str, object] = field(default_factory=dict)
    by_endpoint: dict[str, dict[str, object]] = field(default_factory=dict)

    def args(self, endpoint: str, arguments: set[str]) -> dict[str, object] | None:
        values = {**self.ids, **self.by_endpoint.get(endpoint, {})}
        if not arguments <= values.keys():
            return None
        return {name: values[name] for name in arguments}


def _actor(user: m.User) -> Actor:
    return Actor(user.id, user.role, user.provider_id)


def _user(session: Any, username: str) -> m.User:
    from sqlalchemy import select

    user = session.scalar(select(m.User).where(m.User.username == username))
    assert user is not None
    return user


@pytest.fixture(scope="module")
def world(live_app: Flask, live_data: LiveData) -> World:
    """One record of each kind a page shows, owned by the seeded provider and staff."""
    week_start = CRAWL_DAY - dt.timedelta(days=CRAWL_DAY.weekday())
    with live_session(live_app) as session:
        provider = session.get_one(m.Provider, live_data.provider_id)
        caregiver = session.get_one(m.Caregiver, live_data.caregiver_id)
        admin = _user(session, live_data.users["admin"])
        assessor = _user(session, live_data.users["assessor"])
        assessor_2 = _user(session, live_data.users["assessor_2"])
        assessors = {"assessor_1": assessor, "assessor_2": assessor_2}

        # The application path: submitted, being assessed, assessed, in publicity, decided.
        submitted = factories.ApplicationFactory(created_by=admin, person__name="孙巡检")
        assessing = factories.ApplicationFactory(
            assigned=True, created_by=admin, person__name="钱巡检", **assessors
        )
        assessed = factories.AssessmentFactory(
            application__created_by=admin, application__person__name="李巡检", **assessors
        )
        publicized = factories.DecidableAssessmentFactory(
            application__created_by=admin, application__person__name="周巡检", **assessors
        )
        objection = factories.ObjectionFactory(
            application=publicized.application, recorded_by=admin
        )
        # A beneficiary of the provider: its plan runs only in the crawl's weeks.
        plan = factories.provider_care_plan(
            provider,
            starts_on=week_start,
            ends_on=week_start + dt.timedelta(days=13),
            preferred_caregiver=caregiver,
            entitlement__decision__decided_by=admin,
            entitlement__decision__assessment__application__created_by=admin,
            entitlement__decision__assessment__application__person__name="吴巡检",
        )
        entitlement = plan.entitlement
        decision = entitlement.decision
        decision.application.status = m.ApplicationStatus.DECIDED
        person = plan.person
        person.home_lat, person.home_lon = 32.0105, 120.8630
        factories.ReassessmentReminderFactory(entitlement=entitlement, due_on=CRAWL_DAY)
        factories.AssessorProviderTieFactory(assessor=assessor, provider=provider)
        factories.ComplaintFactory(provider=provider, recorded_by=admin)
        complaint = factories.ComplaintFactory(provider=provider, recorded_by=admin)
        loan = factories.DeviceLoanFactory(entitlement=entitlement, recorded_by=admin)
        # An entitlement with neither a care plan nor a work order yet (their "new" pages).
        fresh = factories.EntitlementFactory(
            decision__policy_version=entitlement.policy_version,
            decision__decided_by=admin,
            decision__assessment__application__created_by=admin,
            decision__assessment__application__person__name="郑巡检",
        )
        batch = factories.PrintBatchFactory(completed=True, requested_by=admin)
        session.flush()

        # Visits of the week: every day for the caregiver (Friday to Sunday included), one done
        # (with a rating link and a claim flag), one missed (the manager's three forms).
        visits: list[m.Visit] = []
        for offset in range(7):
            day = week_start + dt.timedelta(days=offset)
            start = city_datetime(day, dt.time(9, 0))
            visits.append(
                factories.VisitFactory(
                    care_plan=plan,
                    visit_on=day,
                    caregiver=caregiver,
                    planned_start=start,
                    planned_end=start + dt.timedelta(minutes=60),
                    route_order=1,
                    status=VisitStatus.ASSIGNED,
                )
            )
        # Another beneficiary: a visit missed on Monday afternoon, one nobody could take today.
        other_plan = factories.provider_care_plan(
            provider, starts_on=week_start, ends_on=week_start + dt.timedelta(days=13)
        )
        missed = factories.VisitFactory(
            care_plan=other_plan,
            visit_on=CRAWL_DAY - dt.timedelta(days=1),
            caregiver=caregiver,
            planned_start=city_datetime(CRAWL_DAY - dt.timedelta(days=1), dt.time(14)),
            planned_end=city_datetime(CRAWL_DAY - dt.timedelta(days=1), dt.time(15)),
            route_order=2,
            missed=True,
        )
        factories.VisitFactory(
            care_plan=other_plan, visit_on=CRAWL_DAY, unassigned_reason="no_qualified_caregiver"
        )
        session.flush()
        done = visits[0]  # Monday: checked in and out through the services
        monday_nine = city_datetime(done.visit_on, dt.time(9, 5))
        caregiver_actor = _actor(_user(session, live_data.users["caregiver"]))
        check_in(session, caregiver_actor, done.id, 32.0106, 120.8631, None, monday_nine)
        token = check_out(
            session,
            caregiver_actor,
            done.id,
            ["bathing"],
            "老人精神好",
            32.0106,
            120.8631,
            monday_nine + dt.timedelta(minutes=55),
            valid_for=dt.timedelta(days=30),
        )
        flag = m.ClaimFlag(
            visit_id=done.id,
            kind=ClaimFlagKind.FAR_FROM_HOME,
            detail={"distance_m": 850},
            raised_at=monday_nine,
        )
        session.add(flag)
        stay = record_hospital_stay(
            session,
            _actor(admin),
            entitlement.id,
            AdmissionInput(CRAWL_DAY - dt.timedelta(days=40), None, "肺炎住院"),
            CRAWL_NOW,
        )
        order = m.WorkOrder(
            entitlement_id=entitlement.id,
            person_id=person.id,
            reason=m.WorkOrderReason.NEW_CLIENT,
            created_at=CRAWL_NOW - dt.timedelta(hours=2),
            created_by_id=admin.id,
        )
        order.offers.append(
            m.WorkOrderOffer(
                provider_id=provider.id,
                position=1,
                basis=m.OfferBasis.ROTATION,
                offered_at=CRAWL_NOW - dt.timedelta(hours=2),
                deadline_at=CRAWL_NOW + dt.timedelta(days=1),
            )
        )
        session.add(order)
        session.flush()
        statement = issue_statement(
            session,
            _actor(admin),
            provider.id,
            dt.date(2027, 1, 1),
            dt.datetime(2027, 2, 2, 2, tzinfo=dt.UTC),
        )
        session.flush()
        return World(
            ids={
                "application_id": submitted.id,
                "assessment_id": assessed.id,
                "care_plan_id": plan.id,
                "batch_id": batch.id,
                "flag_id": flag.id,
                "complaint_id": complaint.id,
                "decision_id": decision.id,
                "loan_id": loan.id,
                "device_type_id": loan.device_type_id,
                "entitlement_id": entitlement.id,
                "event_id": stay.id,
                "objection_id": objection.id,
                "person_id": person.id,
                "provider_id": provider.id,
                "token": token,
                "visit_id": done.id,
                "statement_id": statement.id,
                "number": statement.number,
                "order_id": order.id,
                "missed_visit_id": missed.id,
                "weekend_visit_ids": [visit.id for visit in visits[4:]],
                "today_visit_id": visits[1].id,
                "user_id": caregiver.user_id,  # the admin's and the manager's account page
            },
            by_endpoint={
                "assessments.assessment_form": {"application_id": assessing.id},
                "applications.application_review": {"application_id": assessed.application_id},
                "eligibility.decision_new": {"application_id": publicized.application_id},
                "applications.objection_new": {"application_id": publicized.application_id},
                "applications.reassessment_request": {"application_id": decision.application_id},
                "rosters.roster_visit_detail": {"visit_id": missed.id},
                "careplans.careplan_new": {"entitlement_id": fresh.id},
                "work_orders.work_order_new": {"entitlement_id": fresh.id},
                "certificates.reissue": {"kind": "decision_notice", "subject_id": decision.id},
            },
        )


@dataclass(frozen=True)
class Target:
    endpoint: str
    url: str


def crawl_targets(app: Flask, world: World) -> tuple[list[Target], list[str]]:
    """Every GET page of the URL map with real ids; and the endpoints lacking ids (unexplained)."""
    targets: list[Target] = []
    missing: list[str] = []
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in FILE_ENDPOINTS:
            continue
        if rule.endpoint in SKIPPED:
            continue
        args = world.args(rule.endpoint, set(rule.arguments))
        if args is None:
            missing.append(rule.endpoint)
            continue
        targets.append(Target(rule.endpoint, adapter.build(rule.endpoint, args)))
    return targets, missing


def inject_axe(page: Page) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page, as `rule: selector…` lines."""
    inject_axe(page)
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary.split('\\n')[1])
            }));
        }""",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {'; '.join(v['nodes'][:5])}" for v in found]


def page_problems(page: Page) -> list[str]:
    """Sideways scroll of the page itself, then axe-core's violations."""
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > TABLET["width"]:
        wide = page.evaluate(
            """(limit) => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > limit + 1)
                .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + e.className)""",
            TABLET["width"],
        )
        problems.append(f"page is {width}px wide: {wide}")
    problems.extend(structure_problems(page))
    problems.extend(axe_violations(page))
    return problems


def structure_problems(page: Page) -> list[str]:
    """What axe-core 4.x no longer checks under WCAG 2.1 tags, and the scroll box rule.

    Duplicate ids: a label's `for` then names the wrong field (a tap fills another form);
    hidden inputs (each form's csrf_token) are left out: nothing labels or focuses them.
    Every box that scrolls sideways is a scroll_box (focusable, named), overflowing or not yet.
    """
    found: list[str] = page.evaluate(
        """() => {
            const counts = {};
            for (const e of document.querySelectorAll('[id]:not([type=hidden])')) {
                counts[e.id] = (counts[e.id] || 0) + 1;
            }
            const dup = Object.keys(counts).filter(id => counts[id] > 1)
                .map(id => `duplicate id "${id}" (${counts[id]}×)`);
            const boxes = [...document.querySelectorAll('main .overflow-auto, main .scroll-box')]
                .filter(e => e.getAttribute('tabindex') !== '0' || !e.getAttribute('aria-label'))
                .map(e => `scroll box without tabindex/aria-label: ${e.outerHTML.slice(0, 80)}`);
            return [...dup, ...boxes];
        }"""
    )
    return found


def is_page_for(context: BrowserContext, url: str) -> bool:
    """Whether the role may open the page (200 HTML, no redirect to the login)."""
    response = context.request.get(url, max_redirects=0)
    if response.status != 200:
        return False
    return response.headers.get("content-type", "").startswith("text/html")


@pytest.fixture
def role_pages(
    new_tablet: Callable[..., BrowserContext], live_data: LiveData
) -> Iterator[Callable[[str], Page]]:
    """A page logged in as the role (one browser context per role)."""

    def _open(role: str) -> Page:
        # The app's Content-Security-Policy forbids inline scripts: axe is injected as one.
        page = new_tablet(bypass_csp=True).new_page()
        if role != "anonymous":
            login(page, live_data.users[role])
        return page

    with live_clock(CRAWL_NOW):
        yield _open


def test_every_page_fits_a_tablet_and_passes_axe(
    role_pages: Callable[[str], Page], live_app: Flask, world: World
) -> None:
    started = time.monotonic()
    targets, missing = crawl_targets(live_app, world)
    assert missing == [], f"routes without ids: add records or a SKIPPED reason: {missing}"
    checked: dict[str, list[str]] = {}
    problems: list[str] = []
    for role in ROLES:
        page = role_pages(role)
        for target in targets:
            if not is_page_for(page.context, target.url):
                continue
            page.goto(target.url)
            checked.setdefault(target.endpoint, []).append(role)
            problems.extend(f"[{role}] {target.url} {p}" for p in page_problems(page))
        for extra_role, url in EXTRA:
            if extra_role == role:
                page.goto(url.format(**world.ids))
                problems.extend(f"[{role}] {url} {p}" for p in page_problems(page))
        for english_role, url in ENGLISH:
            if english_role == role:
                page.goto(f"{url.format(**world.ids)}?lang=en")
                expect(page.locator("html")).to_have_attribute("lang", "en")
                problems.extend(f"[{role}, en] {url} {p}" for p in page_problems(page))
    unchecked = sorted({t.endpoint for t in targets} - checked.keys())
    count = sum(len(roles) for roles in checked.values()) + len(EXTRA) + len(ENGLISH)
    print(f"crawl: {count} pages in {time.monotonic() - started:.0f}s")
    if unchecked:
        problems.append(f"no role could open these pages: {unchecked}")
    assert problems == [], "\n".join(problems)


# --- what the crawl found, checked one by one ---------------------------------------------------


def test_week_roster_shows_friday_to_sunday_on_a_tablet(
    role_pages: Callable[[str], Page], world: World
) -> None:
    page = role_pages("provider_manager")
    page.goto(f"/roster/week?day={CRAWL_DAY.isoformat()}")

    table = page.get_by_test_id("week-table")
    headers = table.locator("thead th")
    expect(headers).to_have_count(8)  # the caregiver, then Monday to Sunday
    box = table.locator("xpath=..")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "the week scrolls sideways"
    visit_ids = world.ids["weekend_visit_ids"]
    assert isinstance(visit_ids, list)
    for visit_id in visit_ids:  # Friday, Saturday, Sunday
        visit = table.get_by_test_id(f"visit-{visit_id}")
        expect(visit).to_be_in_viewport()
        right = visit.evaluate("v => v.getBoundingClientRect().right")
        assert right <= TABLET["width"], (visit_id, right)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fund_breakdown_amounts_are_not_clipped(
    role_pages: Callable[[str], Page], lang: str
) -> None:
    page = role_pages("admin")
    page.goto(f"/fund?month=2027-01&lang={lang}")

    cells = page.locator("[data-testid^=by-] td")
    assert cells.count() >= 6
    clipped = cells.evaluate_all(
        """cells => cells
            .filter(c => c.scrollWidth > c.clientWidth
                || c.getBoundingClientRect().right > innerWidth)
            .map(c => c.innerText)"""
    )
    assert clipped == []
    overlapping = page.locator("[data-testid^=by-]").evaluate_all(
        """tables => tables.map(t => t.getBoundingClientRect()).flatMap((a, i, all) =>
            all.slice(i + 1).filter(b => a.left < b.right && b.left < a.right
                && a.top < b.bottom && b.top < a.bottom)).length"""
    )
    assert overlapping == 0


def test_manager_visit_forms_each_label_their_own_fields(
    role_pages: Callable[[str], Page], world: World
) -> None:
    page = role_pages("provider_manager")
    page.goto(f"/roster/visits/{world.ids['missed_visit_id']}")

    manual = page.get_by_test_id("manual-entry")
    reschedule = page.get_by_test_id("reschedule-visit")
    manual_select = manual.locator("select[name=caregiver_id]")
    reschedule_select = reschedule.locator("select[name=caregiver_id]")
    manual_id = manual_select.get_attribute("id")
    assert manual_id
    assert manual_id != reschedule_select.get_attribute("id")
    expect(manual_select).to_have_accessible_name(re.compile(zh("Caregiver")))
    label = page.locator(f"label[for={manual_id}]")
    expect(label).to_have_count(1)
    expect(manual.locator(f"label[for={manual_id}]")).to_have_count(1)

    label.click(position={"x": 5, "y": 5})
    expect(manual_select).to_be_focused()


@pytest.mark.parametrize("visit", ["missed_visit_id", "today_visit_id"])
def test_manager_visit_page_labels_name_one_field_of_their_own_form(
    role_pages: Callable[[str], Page], world: World, visit: str
) -> None:
    page = role_pages("provider_manager")
    page.goto(f"/roster/visits/{world.ids[visit]}")
    assert page.locator("main form").count() >= 2

    wrong = page.locator("main form").evaluate_all(
        """forms => forms.flatMap(form => [...form.querySelectorAll(
                'select, textarea, input:not([type=hidden]):not([type=checkbox])')]
            .filter(f => {
                const labels = document.querySelectorAll(`label[for="${f.id}"]`);
                return document.querySelectorAll(`[id="${f.id}"]`).length !== 1
                    || labels.length !== 1 || !form.contains(labels[0]);
            }).map(f => `${form.action} ${f.name}#${f.id}`))"""
    )
    assert wrong == []


def test_refused_submit_focuses_the_first_error_it_describes(
    role_pages: Callable[[str], Page], world: World
) -> None:
    page = role_pages("provider_manager")
    page.goto(f"/roster/visits/{world.ids['missed_visit_id']}")
    form = page.get_by_test_id("manual-entry")

    with page.expect_navigation():
        form.get_by_test_id("manual-entry-submit").click()

    focused = page.locator(":focus")
    expect(focused).to_have_attribute("aria-invalid", "true")
    error_id = focused.get_attribute("aria-describedby")
    assert error_id
    error = page.locator(f"#{error_id}")
    expect(error.locator(".field-error").first).to_be_visible()
    first_invalid = page.locator("main [aria-invalid=true]").first
    assert focused.evaluate("(f, first) => f === first", first_invalid.element_handle())


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FOCUS_RING = """e => {
    e.focus();
    const rgb = s => s.match(/[\\d.]+/g).map(Number);
    const style = getComputedStyle(e);
    let p = e.parentElement, bg = 'rgb(255, 255, 255)';
    for (; p; p = p.parentElement) {
        const c = getComputedStyle(p).backgroundColor;
        if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; }
    }
    return {focused: document.activeElement === e, style: style.outlineStyle,
            width: parseFloat(style.outlineWidth), ring: rgb(style.outlineColor),
            background: rgb(bg)};
}"""


def test_focus_ring_contrasts_on_radios_switches_buttons_and_links(
    role_pages: Callable[[str], Page], world: World
) -> None:
    manager = role_pages("provider_manager")
    manager.goto(f"/roster/visits/{world.ids['missed_visit_id']}")
    family = role_pages("anonymous")
    family.goto(f"/rate/{world.ids['token']}")
    controls = {
        "switch": manager.locator("input[role=switch]").first,
        "checkbox": manager.locator("main input[type=checkbox]").last,
        "button": manager.get_by_test_id("manual-entry-submit"),
        "link": manager.locator("main a").first,
        "select": manager.locator("main select").first,
        "radio": family.locator("input[type=radio]").first,
    }
    for name, control in controls.items():
        ring = control.evaluate(FOCUS_RING)
        assert ring["focused"], name
        assert ring["style"] != "none", (name, ring)
        assert ring["width"] >= 2, (name, ring)
        ratio = contrast(tuple(ring["ring"]), tuple(ring["background"]))
        assert ratio >= 3, (name, ratio, ring)
