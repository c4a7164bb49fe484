"""The thin path walked in a real browser, in Chinese, by each role on a 768×1024 tablet.

Admin registers a person and an application, assigns two assessors; an assessor taps through
the Barthel form; admin reviews it, which starts the publicity; after the publicity has ended
(the live clock moves on) admin decides eligibility (home service) and makes a care plan with
the seeded provider and its caregiver, then runs dispatch for the next day; the provider
manager sees the visit on that day's roster; on that day the caregiver checks in (located near
the home) and out; the family rates the visit through the receipt's link without logging in, and
the link then only says "already rated"; admin downloads the assessment conclusion as a PDF.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, expect

from assessments.procedure import publicity_period
from careapp.core.clock import CITY_TZ, city_datetime, utcnow
from careapp.core.identity import make_resident_id
from tests.browser.conftest import LiveData, live_clock, login, logout, screenshot, zh
from tests.factories import SEVERE_BARTHEL_ANSWERS

HOME = (32.0105, 120.8630)  # the beneficiary's home, in 崇川区
NEAR_HOME = (32.0106, 120.8631)  # where the caregiver's phone says it is (about 15 m away)


@dataclass
class Walk:
    """What the walk learns on the way (ids read from the pages' addresses)."""

    today: dt.date
    name: str = "陈秀英"
    person_id: int = 0
    application_id: int = 0
    assessment_id: int = 0
    entitlement_id: int = 0
    care_plan_id: int = 0
    visit_id: int = 0
    rating_url: str = ""

    @property
    def visit_day(self) -> dt.date:
        return self.today + dt.timedelta(days=1)


def test_thin_path_in_chinese(
    new_tablet: Callable[..., BrowserContext], live_data: LiveData, screenshots: Path
) -> None:
    walk = Walk(today=utcnow().astimezone(CITY_TZ).date())
    admin = new_tablet().new_page()
    login(admin, live_data.users["admin"])

    register_person(admin, walk, screenshots)
    submit_application(admin, walk, screenshots)
    assign_assessors(admin, walk, live_data, screenshots)

    assessor = new_tablet().new_page()
    login(assessor, live_data.users["assessor"])
    fill_barthel(assessor, walk, screenshots)
    second_assessor = new_tablet().new_page()
    login(second_assessor, live_data.users["assessor_2"])
    confirm_the_assessment(second_assessor, walk, live_data)

    review_and_publicize(admin, walk, screenshots)
    # The publicity (5 working days) is over: the rest of the walk happens the day after it.
    walk.today = publicity_period(walk.today, 5)[1] + dt.timedelta(days=1)
    with live_clock(city_datetime(walk.today, dt.time(10, 0))):
        decide_eligibility(admin, walk, screenshots)
        make_care_plan(admin, walk, live_data, screenshots)
        run_dispatch(admin, walk, screenshots)

        manager = new_tablet().new_page()
        login(manager, live_data.users["provider_manager"])
        see_roster(manager, walk, live_data, screenshots)

        # The next morning, 09:40 in the city: inside the plan's 09:00–11:00 window.
        with live_clock(city_datetime(walk.visit_day, dt.time(9, 40))):
            caregiver = new_tablet(
                permissions=["geolocation"],
                geolocation={"latitude": NEAR_HOME[0], "longitude": NEAR_HOME[1], "accuracy": 10},
            ).new_page()
            login(caregiver, live_data.users["caregiver"])
            check_in_and_out(caregiver, walk, screenshots)

            family = new_tablet().new_page()  # a fresh context: no login, no cookies
            rate_the_visit(family, walk, screenshots)

    download_conclusion(admin, walk)
    open_page(admin, "/")
    logout(admin)
    assert urlsplit(admin.url).path == "/login"


# --- the steps ------------------------------------------------------------------------------


def register_person(page: Page, walk: Walk, screenshots: Path) -> None:
    follow(page, page.get_by_role("link", name="参保人员").first)
    page.wait_for_url("**/people")
    follow(page, page.get_by_role("button", name=zh("Register a person")))
    page.wait_for_url("**/people/new")
    expect(page.locator("main h1")).to_have_text(zh("Register a person"))
    born_on = dt.date(1941, 5, 17)
    form = page.locator("main form")
    form.locator("[name=id_number]").fill(make_resident_id("320602", born_on, 27))
    form.locator("[name=name]").fill(walk.name)
    form.locator("[name=phone]").fill("13912345678")
    form.locator("[name=address]").fill("崇川区青年中路88号3幢201室")
    form.locator("[name=district_code]").select_option("320602")
    form.locator("[name=township]").fill("和平桥街道")
    form.locator("[name=home_lat]").fill(str(HOME[0]))
    form.locator("[name=home_lon]").fill(str(HOME[1]))
    form.locator("[name=insured_from]").fill("2012-01-01")
    form.locator("[name=guardian_name]").fill("陈小红（女儿）")
    form.locator("[name=guardian_phone]").fill("13800001111")
    screenshot(page, screenshots / "person-new.png")

    submit(page, form.locator("button[type=submit]"))

    walk.person_id = id_from_path(page, r"/people/(\d+)")
    expect(page.locator("main h1")).to_contain_text(walk.name)
    masked = page.locator("main .masked").first
    expect(masked).to_contain_text("*")
    assert make_resident_id("320602", born_on, 27) not in page.content()
    screenshot(page, screenshots / "person-detail.png")


def submit_application(page: Page, walk: Walk, screenshots: Path) -> None:
    follow(page, page.get_by_role("button", name=zh("New application")))
    page.wait_for_url(f"**/people/{walk.person_id}/applications/new")
    form = page.locator("main form")
    form.locator("[name=applicant]").select_option("family")
    form.locator("[name=applicant_name]").fill("陈小红")
    since = walk.today.replace(day=1) - dt.timedelta(days=400)
    form.locator("[name=disability_since]").fill(since.isoformat())
    form.locator("[name=evidence_note]").fill("南通大学附属医院 脑梗死后遗症诊断证明")
    form.locator("[name=requested_setting]").select_option("home_service")
    screenshot(page, screenshots / "application-new.png")

    submit(page, form.locator("button[type=submit]"))

    walk.application_id = id_from_path(page, r"/applications/(\d+)")
    expect(page.get_by_test_id("status")).to_have_text(zh("Submitted"))


def assign_assessors(page: Page, walk: Walk, live_data: LiveData, screenshots: Path) -> None:
    follow(page, page.get_by_role("button", name=zh("Assign assessors")))
    page.wait_for_url(f"**/applications/{walk.application_id}/assign")
    form = page.locator("main form")
    names = live_data.display_names
    form.locator("[name=assessor_1_id]").select_option(label=names[live_data.users["assessor"]])
    form.locator("[name=assessor_2_id]").select_option(label=names[live_data.users["assessor_2"]])
    appointment = (utcnow().astimezone(CITY_TZ) + dt.timedelta(hours=2)).replace(tzinfo=None)
    form.locator("[name=appointment_at]").fill(appointment.strftime("%Y-%m-%dT%H:%M"))
    screenshot(page, screenshots / "application-assign.png")

    submit(page, form.locator("button[type=submit]"))

    assert urlsplit(page.url).path == f"/applications/{walk.application_id}"
    expect(page.get_by_test_id("status")).to_have_text(zh("Assessing"))
    expect(page.locator("main")).to_contain_text(names[live_data.users["assessor_2"]])
    screenshot(page, screenshots / "application-detail.png")


def fill_barthel(page: Page, walk: Walk, screenshots: Path) -> None:
    follow(page, page.get_by_role("link", name=zh("My assessments")).first)
    page.wait_for_url("**/assessments")
    row = page.locator("main tr", has_text=walk.name)
    follow(page, row.get_by_role("button", name=zh("Start assessment")))
    page.wait_for_url(f"**/applications/{walk.application_id}/assessment")
    form = page.locator("#assessment-form")
    for code, points in SEVERE_BARTHEL_ANSWERS.items():
        option = form.locator(f"#item-{code} label.answer-option").filter(
            has=page.locator(f"input[value='{points}']")
        )
        option.tap()
        expect(option.locator("input")).to_be_checked()
    expect(form.locator("[data-answered]")).to_have_text(str(len(SEVERE_BARTHEL_ANSWERS)))
    expect(form.locator("[data-total]")).to_have_text("30")
    form.locator("[name=family_member_present]").fill("陈小红（女儿）")
    form.locator("label", has=page.locator("[name=confirmed]")).tap()
    expect(form.locator("[name=confirmed]")).to_be_checked()
    screenshot(page, screenshots / "assessment-form.png")

    submit(page, form.locator("button[type=submit]"))

    walk.assessment_id = id_from_path(page, r"/assessments/(\d+)")
    expect(page.get_by_test_id("total")).to_have_text("30")
    screenshot(page, screenshots / "assessment-detail.png")


def confirm_the_assessment(page: Page, walk: Walk, live_data: LiveData) -> None:
    """The second assessor confirms the submitted assessment from their own login."""
    open_page(page, "/assessments")
    row = page.locator("main tr", has_text=walk.name)
    follow(page, row.get_by_role("button", name=zh("Confirm the assessment")))
    page.wait_for_url(f"**/assessments/{walk.assessment_id}")
    submit(page, page.get_by_test_id("confirm"))
    confirmations = page.get_by_test_id("confirmations")
    for role in ("assessor", "assessor_2"):
        expect(confirmations).to_contain_text(live_data.display_names[live_data.users[role]])


def review_and_publicize(page: Page, walk: Walk, screenshots: Path) -> None:
    open_page(page, f"/applications/{walk.application_id}")
    expect(page.get_by_test_id("status")).to_have_text(zh("Assessed"))
    expect(page.get_by_role("button", name=zh("Decide eligibility"))).to_have_count(0)
    follow(page, page.get_by_role("button", name=zh("Review the assessment")))
    page.wait_for_url(f"**/applications/{walk.application_id}/review")
    form = page.locator("main form")
    form.get_by_label(zh("Approve: make the assessment public")).check()
    screenshot(page, screenshots / "application-review.png")

    submit(page, form.locator("button[type=submit]"))

    page.wait_for_url(f"**/applications/{walk.application_id}")
    expect(page.get_by_test_id("status")).to_have_text(zh("Publicity"))
    expect(page.get_by_test_id("publicity")).to_contain_text(zh("objections may be lodged"))
    expect(page.get_by_role("button", name=zh("Decide eligibility"))).to_have_count(0)
    screenshot(page, screenshots / "application-publicity.png")


def decide_eligibility(page: Page, walk: Walk, screenshots: Path) -> None:
    open_page(page, f"/applications/{walk.application_id}")
    expect(page.get_by_test_id("status")).to_have_text(zh("Publicity"))
    expect(page.get_by_test_id("publicity")).to_contain_text(zh("ended; ready for the decision"))
    follow(page, page.get_by_role("button", name=zh("Decide eligibility")))
    page.wait_for_url(f"**/applications/{walk.application_id}/decision/new")
    expect(page.get_by_test_id("assessment-total")).to_have_text("30")
    form = page.locator("main form")
    form.locator("[name=care_setting]").select_option("home_service")
    screenshot(page, screenshots / "decision-new.png")

    # A decision cannot be undone: the browser asks first (tests/browser/test_confirmations.py).
    page.once("dialog", lambda dialog: dialog.accept())
    submit(page, form.locator("button[type=submit]"))

    id_from_path(page, r"/decisions/(\d+)")
    expect(page.get_by_test_id("outcome")).to_have_text(zh("Eligible"))
    expect(page.get_by_test_id("category")).to_have_text(zh("Severe disability"))
    expect(page.get_by_test_id("daily-rate")).to_have_text(zh("Paid per visit"))
    budget = zh("%(amount)s yuan", amount="1,200.00")  # home service: a monthly budget
    expect(page.get_by_test_id("monthly-budget")).to_have_text(budget)
    screenshot(page, screenshots / "decision-detail.png")
    follow(page, page.get_by_role("button", name=zh("Make a care plan")))
    page.wait_for_url("**/entitlements/*/care-plan/new")
    walk.entitlement_id = id_from_path(page, r"/entitlements/(\d+)/care-plan/new")


def make_care_plan(page: Page, walk: Walk, live_data: LiveData, screenshots: Path) -> None:
    form = page.locator("main form")
    form.locator("[name=provider_id]").select_option(label=live_data.provider_name)
    form.locator("label", has_text="洗头").tap()  # hair washing: 30 min, 20 yuan
    for day in range(1, 8):
        form.locator("label", has=page.locator(f"[name=weekdays][value='{day}']")).tap()
    form.locator("[name=window_start]").fill("09:00")
    form.locator("[name=window_end]").fill("11:00")
    form.locator("[name=preferred_caregiver_id]").select_option(label=live_data.caregiver_name)
    screenshot(page, screenshots / "careplan-new.png")

    submit(page, form.locator("button[type=submit]"))

    walk.care_plan_id = id_from_path(page, r"/care-plans/(\d+)")
    expect(page.get_by_test_id("provider")).to_have_text(live_data.provider_name)
    expect(page.locator("main")).to_contain_text(live_data.caregiver_name)
    screenshot(page, screenshots / "careplan-detail.png")


def run_dispatch(page: Page, walk: Walk, screenshots: Path) -> None:
    follow(page, page.get_by_role("link", name="派单").first)
    form = page.get_by_test_id("dispatch-form")
    first_day = form.locator("[name=first_day]")
    expect(first_day).to_have_value(walk.visit_day.isoformat())  # tomorrow is proposed
    form.locator("[name=days]").fill("1")
    screenshot(page, screenshots / "dispatch.png")

    submit(page, form.locator("button[type=submit]"))

    done = page.locator(".flash-success")
    expect(done).to_have_count(1)
    counts = [int(n) for n in re.findall(r"\d+", done.inner_text())]
    assert len(counts) == 3, done.inner_text()
    created, assigned, _unassigned = counts
    assert created >= 1, done.inner_text()
    assert assigned >= 1, done.inner_text()
    latest = page.get_by_test_id("dispatch-runs").locator("tbody tr").first
    expect(latest).to_contain_text(walk.visit_day.isoformat())


def see_roster(page: Page, walk: Walk, live_data: LiveData, screenshots: Path) -> None:
    follow(page, page.get_by_role("link", name=zh("Roster")).first)
    expect(page.get_by_test_id("roster-day")).to_be_visible()
    follow(page, page.get_by_test_id("next-day"))
    assert urlsplit(page.url).query == f"day={walk.visit_day.isoformat()}"
    route = page.get_by_test_id(f"caregiver-{live_data.caregiver_id}")
    expect(route.locator("h2")).to_contain_text(live_data.caregiver_name)
    row = route.locator("tr", has_text=walk.name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("09:")  # planned inside the 09:00–11:00 window
    expect(row).to_contain_text("洗头")
    walk.visit_id = int((row.get_attribute("data-testid") or "").removeprefix("visit-"))
    screenshot(page, screenshots / "roster-day.png")


def check_in_and_out(page: Page, walk: Walk, screenshots: Path) -> None:
    follow(page, page.get_by_role("link", name=zh("My day")).first)
    page.wait_for_url("**/my-day")
    card = page.locator("li.visit-card", has_text=walk.name)
    expect(card).to_have_count(1)
    screenshot(page, screenshots / "my-day.png")
    follow(page, card.get_by_role("button", name=zh("Open visit")))
    assert urlsplit(page.url).path == f"/visits/{walk.visit_id}"  # the one on the roster
    check_in = page.get_by_test_id("check-in-form")
    expect(check_in.locator("[data-geo-status]")).to_have_text(zh("Location found."))
    expect(check_in.locator("[name=lat]").first).to_have_value(f"{NEAR_HOME[0]:.6f}")

    submit(page, check_in.locator("button[type=submit]"))

    expect(page.locator(".flash-success")).to_have_text(zh("Checked in."))
    expect(page.get_by_test_id("visit-status")).to_have_text(zh("In progress"))
    screenshot(page, screenshots / "visit-checked-in.png")
    check_out = page.get_by_test_id("check-out-form")
    check_out.locator("label.touch-option", has_text="洗头").tap()
    check_out.locator("[name=note]").fill("洗头顺利，老人情绪好。")

    submit(page, check_out.locator("button[type=submit]"))

    page.wait_for_url(f"**/visits/{walk.visit_id}/receipt")
    expect(page.get_by_test_id("rating-qr").locator("svg")).to_be_visible()
    link = page.get_by_test_id("rating-link")
    walk.rating_url = link.get_attribute("href") or ""
    assert walk.rating_url.startswith(page.url.split("/visits/")[0] + "/rate/")
    screenshot(page, screenshots / "visit-receipt.png")


def rate_the_visit(page: Page, walk: Walk, screenshots: Path) -> None:
    open_page(page, walk.rating_url)
    expect(page.get_by_test_id("rate-visit")).to_be_visible()
    expect(page.get_by_test_id("logout")).to_have_count(0)  # nobody is logged in
    page.locator("label.star-option", has=page.locator("input[value='5']")).tap()
    page.locator("[name=comment]").fill("护理员很耐心，谢谢！")
    screenshot(page, screenshots / "rate-visit.png")

    submit(page, page.locator("main form button[type=submit]"))

    expect(page.get_by_test_id("rating-thanks")).to_be_visible()
    again = page.goto(walk.rating_url)
    assert again is not None
    assert again.status == 409
    expect(page.get_by_test_id("error-message")).to_have_text(
        zh("This visit has already been rated. Thank you!")
    )
    screenshot(page, screenshots / "rate-visit-again.png")


def download_conclusion(page: Page, walk: Walk) -> None:
    open_page(page, f"/assessments/{walk.assessment_id}")
    link = page.get_by_role("button", name=zh("Assessment conclusion (PDF)"))
    assert link.get_attribute("href") == f"/assessments/{walk.assessment_id}/conclusion.pdf"

    with page.expect_response(lambda r: r.url.endswith("/conclusion.pdf")) as pdf:
        link.tap()

    response = pdf.value
    assert response.status == 200, f"the PDF link answered {response.status}"
    assert response.headers["content-type"] == "application/pdf"
    assert re.search(r'filename="[^"]+\.pdf"', response.headers["content-disposition"])
    page.wait_for_url(re.compile(r"/conclusion\.pdf$"))  # let the viewer's navigation settle
    page.wait_for_load_state()
    # (Chromium shows it in its PDF viewer; the bytes themselves are checked by the PDF tests,
    # and fetching again would issue a second numbered certificate.)


# --- helpers --------------------------------------------------------------------------------


def open_page(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"GET {path} answered {response.status}: {main_text(page)}"
    assert_page_ok(page)


def submit(page: Page, button: Locator) -> None:
    """Tap a form's submit button and check that the page it leads to is not an error."""
    follow(page, button)


def follow(page: Page, control: Locator) -> None:
    """Tap a link or button that loads another page; that page must answer 200 and be clean."""
    with page.expect_navigation() as navigation:
        control.tap()
    response = navigation.value
    assert response is not None
    assert response.ok, f"the tap led to {response.status} at {page.url}: {main_text(page)}"
    assert_page_ok(page)


def assert_page_ok(page: Page) -> None:
    errors = page.locator(".field-error, .flash-error")
    assert errors.count() == 0, f"{page.url}: {errors.all_inner_texts()}"


def id_from_path(page: Page, pattern: str) -> int:
    match = re.fullmatch(pattern, urlsplit(page.url).path)
    assert match, f"expected {pattern} but the page is {page.url}: {main_text(page)}"
    return int(match.group(1))


def main_text(page: Page) -> str:
    return page.locator("main").inner_text()[:500]
