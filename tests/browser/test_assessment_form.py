"""The tablet assessment form in a real browser: live grade, drafts that survive a lost network
and a reload without it (the service worker's offline copy), idempotent submission, what the
device keeps (localStorage and Cache Storage), and the second assessor's confirmation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from assessments.grading import get_instrument, grade
from careapp.core.clock import city_today, utcnow
from careapp.core.identity import make_resident_id
from careapp.models import (
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentDraft,
    District,
    PolicyVersion,
    User,
)
from tests import factories
from tests.browser.conftest import TABLET, LiveData, live_session, login, logout, screenshot, zh

MIN_TOUCH_PX = 44
DEVICE_PREFIX = "careapp-assessment-"
NATIONAL = "national_2021"

# A national-standard form: ADL 30 (severely impaired), cognition 8 (moderately impaired),
# sensory and communication 10 (mildly impaired) -> row severe, column moderate -> grade 4.
NATIONAL_ADL = {
    "feeding": 5,
    "dressing": 5,
    "face_mouth_cleaning": 0,
    "bowels": 5,
    "bladder": 5,
    "toilet_use": 0,
    "walking": 5,
    "transfer": 5,
    "stairs": 0,
    "bathing": 0,
}
NATIONAL_REST = {
    "time_orientation": 2,
    "person_orientation": 3,
    "place_orientation": 2,
    "memory": 1,
    "vision": 4,
    "hearing": 3,
    "communication": 3,
}
NATIONAL_ANSWERS = {**NATIONAL_ADL, **NATIONAL_REST}
REST_ITEMS = list(NATIONAL_REST.items())
SHELL_CACHE = "careapp-shell-v1"
ITEM_NOTE = "时间定向尚可，午后易混淆"
FAMILY_MEMBER = "钱小华（女儿）"
OVERALL_NOTE = "老人午后精神较差"
OFFLINE_TEXTS = {
    "note:time_orientation": ITEM_NOTE,
    "family_member_present": FAMILY_MEMBER,
    "note": OVERALL_NOTE,
}


@contextmanager
def national_policy(live_app: Flask) -> Iterator[None]:
    """A policy version putting the national standard in force from yesterday (removed after)."""
    effective_on = city_today(utcnow()) - dt.timedelta(days=1)
    with live_session(live_app):
        factories.PolicyVersionFactory(effective_on=effective_on, instrument_code=NATIONAL)
    try:
        yield
    finally:
        with live_session(live_app) as session:
            policy = session.scalars(
                select(PolicyVersion).where(PolicyVersion.effective_on == effective_on)
            ).one()
            session.delete(policy)


def assigned_application(
    live_app: Flask, live_data: LiveData, name: str, id_number: str | None = None
) -> int:
    """An application in ASSESSING for the two seeded assessors (no page creates one directly)."""
    with live_session(live_app) as session:
        users = {user.username: user for user in session.scalars(select(User))}
        district = session.get(District, live_data.district_code)
        person_options: dict[str, object] = {"name": name, "district": district}
        if id_number is not None:
            person_options["id_number"] = id_number
        application = factories.ApplicationFactory(
            assigned=True,
            assessor_1=users[live_data.users["assessor"]],
            assessor_2=users[live_data.users["assessor_2"]],
            person=factories.PersonFactory(**person_options),
            created_by=users[live_data.users["admin"]],
        )
        session.flush()
        application_id: int = application.id
    return application_id


def choose(page: Page, code: str, points: int) -> None:
    page.locator(f"#item-{code} label.answer-option").filter(
        has=page.locator(f"input[value='{points}']")
    ).tap()


def device_drafts(page: Page) -> dict[str, object]:
    """Every assessment draft this browser keeps, parsed."""
    raw: dict[str, str] = page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage)"
        f".filter(k => k.startsWith('{DEVICE_PREFIX}')).map(k => [k, localStorage.getItem(k)]))"
    )
    return {key: json.loads(value) for key, value in raw.items()}


def cache_storage(page: Page) -> dict[str, str]:
    """Every response in this browser's Cache Storage: "<cache> <url>" -> its text (or type)."""
    found: dict[str, str] = page.evaluate(
        """async () => {
          const found = {};
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
              const response = await cache.match(request);
              const type = response.headers.get("Content-Type") || "";
              found[name + " " + request.url] =
                /text|javascript|json|css/.test(type) ? await response.text() : type;
            }
          }
          return found;
        }"""
    )
    return found


def stored_draft(live_app: Flask, application_id: int) -> dict[str, object]:
    """item code -> points of the server draft (answered items only)."""
    with live_session(live_app) as session:
        draft = session.scalars(
            select(AssessmentDraft).where(AssessmentDraft.application_id == application_id)
        ).one_or_none()
        entries = dict(draft.entries) if draft is not None else {}
    return {
        key.removeprefix("item:"): entry["value"]
        for key, entry in entries.items()
        if key.startswith("item:") and entry["value"] is not None
    }


def stored_texts(live_app: Flask, application_id: int) -> dict[str, object]:
    """field key -> text of the server draft (notes and the family member; non-empty only)."""
    with live_session(live_app) as session:
        draft = session.scalars(
            select(AssessmentDraft).where(AssessmentDraft.application_id == application_id)
        ).one_or_none()
        entries = dict(draft.entries) if draft is not None else {}
    return {
        key: entry["value"]
        for key, entry in entries.items()
        if not key.startswith("item:") and entry["value"]
    }


def wait_until_saved(page: Page) -> None:
    expect(page.locator("[data-sync-status]")).to_have_text(zh("Saved"))


def test_assessment_form_national_standard_offline_reload_submit_confirm(
    new_tablet: Callable[..., BrowserContext],
    live_app: Flask,
    live_data: LiveData,
    screenshots: Path,
) -> None:
    id_number = make_resident_id("320602", dt.date(1938, 5, 6), 777)
    with national_policy(live_app):
        application_id = assigned_application(live_app, live_data, "钱淑珍", id_number)
        tablet = new_tablet()
        page = tablet.new_page()
        login(page, live_data.users["assessor"])
        url = f"/applications/{application_id}/assessment"
        page.goto(url)
        form = page.locator("#assessment-form")
        answered, total, grade_node = (
            form.locator(f"[data-{n}]") for n in ("answered", "total", "grade")
        )
        expect(form.locator("[data-item-count]")).to_have_text("17")
        expect(answered).to_have_text("0")
        expect(page.locator("legend").first).to_contain_text("进食")

        # Every answer and note toggle is a large touch target; nothing scrolls sideways.
        heights = page.eval_on_selector_all(
            "label.answer-option, .item-note summary",
            "els => els.map(e => e.getBoundingClientRect().height)",
        )
        assert len(heights) == 17 + sum(
            len(item.options) for item in get_instrument(NATIONAL).items
        )
        assert min(heights) >= MIN_TOUCH_PX
        assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]

        # Online: the ADL answers reach the server draft as they are given.
        for code, points in NATIONAL_ADL.items():
            choose(page, code, points)
        expect(answered).to_have_text("10")
        expect(total).to_have_text("30")
        wait_until_saved(page)
        assert stored_draft(live_app, application_id) == NATIONAL_ADL
        adl_line = form.locator("[data-indicator-line]").first
        expect(adl_line).to_contain_text("日常生活活动能力 30/30")
        expect(adl_line).to_contain_text("重度受损")

        # The service worker has kept the offline copy of the form (no personal data in it).
        expect(form).to_have_attribute("data-offline-ready", "")
        shell_heading = zh("Application #%(number)s", number=application_id)

        # The network goes: answering goes on, kept on the device only.
        tablet.set_offline(True)
        first_rest, last_rest = dict(REST_ITEMS[:4]), dict(REST_ITEMS[4:])
        for code, points in first_rest.items():
            choose(page, code, points)
        expect(answered).to_have_text("14")
        # Notes typed offline: an item's note and the family member present.
        page.locator("#item-time_orientation .item-note summary").tap()
        page.locator("[name=time_orientation__note]").fill(ITEM_NOTE)
        form.locator("[name=family_member_present]").fill(FAMILY_MEMBER)
        expect(page.locator("[data-sync-status]")).to_have_text(
            zh("Offline: answers are kept on this device and sent when the network returns.")
        )

        # Reloaded without network: the offline copy, named by the application number only,
        # with every answer so far restored from the device; answering goes on.
        page.reload()
        expect(page.locator("h1")).to_have_text(shell_heading)
        expect(page.locator("[data-shell-notice]")).to_have_text(
            zh(
                "Offline copy of the form: answers are kept on this device. Submission waits for "
                "the network; the full form opens again when it returns."
            )
        )
        assert "钱淑珍" not in page.content()
        expect(answered).to_have_text("14")
        for code, points in {**NATIONAL_ADL, **first_rest}.items():
            expect(page.locator(f"#item-{code} input[value='{points}']")).to_be_checked()
        expect(page.locator("[data-sync-status]")).to_have_text(
            zh("Offline: answers are kept on this device and sent when the network returns.")
        )
        expect(form.locator("button[type=submit]")).to_be_disabled()
        # The notes typed offline are back too (the item's note shown open), and more can be
        # written in the offline copy.
        expect(page.locator("[name=time_orientation__note]")).to_have_value(ITEM_NOTE)
        expect(page.locator("[name=time_orientation__note]")).to_be_visible()
        expect(form.locator("[name=family_member_present]")).to_have_value(FAMILY_MEMBER)
        form.locator("[name=note]").fill(OVERALL_NOTE)
        for code, points in last_rest.items():
            choose(page, code, points)
        expect(answered).to_have_text("17")
        expect(total).to_have_text("48")
        assert stored_draft(live_app, application_id) == NATIONAL_ADL
        assert stored_texts(live_app, application_id) == {}

        # Reloaded once more without network: everything typed offline is still there.
        page.reload()
        expect(page.locator("h1")).to_have_text(shell_heading)
        expect(answered).to_have_text("17")
        expect(page.locator("[name=time_orientation__note]")).to_have_value(ITEM_NOTE)
        expect(form.locator("[name=family_member_present]")).to_have_value(FAMILY_MEMBER)
        expect(form.locator("[name=note]")).to_have_value(OVERALL_NOTE)

        # What the device keeps: the application number, the answers and the texts typed on the
        # form, nothing else personal.
        kept = device_drafts(page)
        assert list(kept) == [f"{DEVICE_PREFIX}{application_id}"]
        secrets = ("钱淑珍", id_number, id_number[-4:], "评估员")
        text = json.dumps(kept, ensure_ascii=False)
        for secret in secrets:
            assert secret not in text
        record = kept[f"{DEVICE_PREFIX}{application_id}"]
        assert isinstance(record, dict)
        assert set(record) == {"application", "saved", "answers", "notes"}
        assert {code: a["points"] for code, a in record["answers"].items()} == NATIONAL_ANSWERS
        assert all(record["answers"][code]["dirty"] for code in NATIONAL_REST)
        assert {key: n["text"] for key, n in record["notes"].items()} == OFFLINE_TEXTS
        assert all(note["dirty"] for note in record["notes"].values())
        cached = cache_storage(page)
        assert any(
            key.startswith(f"{SHELL_CACHE} ") and key.endswith("/assessment-shell")
            for key in cached
        )
        assert not any("/applications/" in key for key in cached)
        cached_text = json.dumps(cached, ensure_ascii=False)
        for secret in secrets:
            assert secret not in cached_text

        # The network returns: the copy sends what is unsent, then opens the real form.
        tablet.set_offline(False)
        expect(page.locator("h1")).to_have_text("钱淑珍")
        form = page.locator("#assessment-form")
        answered, total, grade_node = (
            form.locator(f"[data-{n}]") for n in ("answered", "total", "grade")
        )
        expect(answered).to_have_text("17")
        assert stored_draft(live_app, application_id) == NATIONAL_ANSWERS  # sent before it opened
        assert stored_texts(live_app, application_id) == OFFLINE_TEXTS
        synced = device_drafts(page)[f"{DEVICE_PREFIX}{application_id}"]
        assert isinstance(synced, dict)
        assert not any(answer["dirty"] for answer in synced["answers"].values())
        assert not any(note["dirty"] for note in synced["notes"].values())
        page.reload()
        expect(answered).to_have_text("17")
        expect(total).to_have_text("48")
        expect(grade_node).to_have_text("重度失能Ⅱ级")
        lines = form.locator("[data-indicator-line]")
        expect(lines.nth(1)).to_contain_text("认知能力 8/8")
        expect(lines.nth(1)).to_contain_text("中度受损")
        expect(lines.nth(2)).to_contain_text("感知觉与沟通能力 10/10")
        expect(lines.nth(2)).to_contain_text("轻度受损")
        for code, points in NATIONAL_ANSWERS.items():
            expect(page.locator(f"#item-{code} input[value='{points}']")).to_be_checked()
        expect(page.locator("[name=time_orientation__note]")).to_have_value(ITEM_NOTE)
        expect(form.locator("[name=family_member_present]")).to_have_value(FAMILY_MEMBER)
        expect(form.locator("[name=note]")).to_have_value(OVERALL_NOTE)

        # A note on one more item, the confirmation; then submit.
        page.locator("#item-memory .item-note summary").tap()
        page.locator("[name=memory__note]").fill("近事遗忘明显")
        form.locator("label", has=page.locator("[name=confirmed]")).tap()
        wait_until_saved(page)
        page.locator("#item-feeding").scroll_into_view_if_needed()
        screenshot(page, screenshots / "assessment-form-tablet.png")
        with page.expect_navigation():
            form.locator("button[type=submit]").tap()
        expect(page.get_by_test_id("grade")).to_have_text("重度失能Ⅱ级")
        expect(page.get_by_test_id("total")).to_have_text("48")
        assert device_drafts(page) == {}  # cleared once submitted

        with live_session(live_app) as session:
            assessment = session.scalars(
                select(Assessment).where(Assessment.application_id == application_id)
            ).one()
            stored = (assessment.instrument, assessment.answers, assessment.grade)
            assessment_id = assessment.id
            notes, family = assessment.item_notes, assessment.family_member_present
            overall_note = assessment.note
            status = session.get(Application, application_id).status  # type: ignore[union-attr]  # it exists
            draft_left = session.scalars(
                select(AssessmentDraft).where(AssessmentDraft.application_id == application_id)
            ).all()
        expected = grade(get_instrument(NATIONAL), NATIONAL_ANSWERS)
        assert expected.grade_code == "4"
        assert stored == (NATIONAL, NATIONAL_ANSWERS, expected.grade_code)
        assert notes == {"time_orientation": ITEM_NOTE, "memory": "近事遗忘明显"}
        assert family == FAMILY_MEMBER
        assert overall_note == OVERALL_NOTE
        assert status is ApplicationStatus.ASSESSING  # awaiting the second confirmation
        assert draft_left == []

        # Another form left on the device is cleared at logout.
        other_id = assigned_application(live_app, live_data, "孙立新")
        page.goto(f"/applications/{other_id}/assessment")
        choose(page, "feeding", 10)
        page.locator("[name=note]").fill("下次复评")
        wait_until_saved(page)
        assert list(device_drafts(page)) == [f"{DEVICE_PREFIX}{other_id}"]
        assert "下次复评" in json.dumps(device_drafts(page), ensure_ascii=False)
        logout(page)
        assert device_drafts(page) == {}
        assert not any(SHELL_CACHE in key for key in cache_storage(page))  # the copy is gone

        # The second assessor confirms from their own login: the application is ASSESSED.
        second = new_tablet().new_page()
        login(second, live_data.users["assessor_2"])
        second.goto("/assessments")
        second.locator(f"a[href='/assessments/{assessment_id}']").tap()
        expect(second.get_by_test_id("grade")).to_have_text("重度失能Ⅱ级")
        with second.expect_navigation():
            second.get_by_test_id("confirm").tap()
        expect(second.get_by_test_id("confirmations")).to_contain_text("评估员李强")
        expect(second.get_by_test_id("confirmations")).to_contain_text("评估员陈静")
        with live_session(live_app) as session:
            application = session.get(Application, application_id)
            assert application is not None
            assert application.status is ApplicationStatus.ASSESSED


def test_assessment_form_two_assessors_see_each_others_conflicting_answer(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    application_id = assigned_application(live_app, live_data, "周桂兰")
    url = f"/applications/{application_id}/assessment"
    first = new_tablet().new_page()
    login(first, live_data.users["assessor"])
    first.goto(url)
    second = new_tablet().new_page()
    login(second, live_data.users["assessor_2"])
    second.goto(url)  # both start from an empty draft

    choose(first, "transfer", 10)
    wait_until_saved(first)
    choose(second, "transfer", 5)  # based on the empty draft: conflicts with the first's answer

    conflict = second.locator("#item-transfer [data-conflict]")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("评估员李强")
    expect(conflict).to_contain_text("需少量帮助")
    expect(second.locator("#item-transfer input[value='10']")).to_be_checked()
    assert stored_draft(live_app, application_id) == {"transfer": 10}

    # Having seen it, the second assessor may replace it deliberately.
    choose(second, "transfer", 5)
    wait_until_saved(second)
    expect(conflict).to_be_hidden()
    assert stored_draft(live_app, application_id) == {"transfer": 5}


def test_assessment_form_barthel_live_total_and_missing_answers_are_marked(
    page: Page, live_app: Flask, live_data: LiveData
) -> None:
    application_id = assigned_application(live_app, live_data, "吴德华")
    login(page, live_data.users["assessor_2"])
    page.goto(f"/applications/{application_id}/assessment")
    form = page.locator("#assessment-form")
    answered, total, grade_node = (
        form.locator(f"[data-{n}]") for n in ("answered", "total", "grade")
    )
    # One answer: the final Barthel total can still be anywhere from 10 to 100.
    choose(page, "feeding", 10)
    expect(answered).to_have_text("1")
    expect(total).to_have_text("10")
    expect(grade_node).to_have_text("重度依赖 – 无需依赖")
    choose(page, "feeding", 5)
    form.locator("[name=family_member_present]").fill("吴丽（女儿）")
    form.locator("label", has=page.locator("[name=confirmed]")).tap()

    with page.expect_navigation() as navigation:
        form.locator("button[type=submit]").tap()

    assert navigation.value is not None
    assert navigation.value.status == 400
    expect(page.locator("fieldset[aria-invalid=true]")).to_have_count(9)
    expect(page.locator("#item-stairs .field-error")).to_have_text(zh("Choose one answer."))
    expect(page.locator("#item-feeding input[value='5']")).to_be_checked()
    expect(page.locator("[data-answered]")).to_have_text("1")


def test_assessment_submit_refused_while_the_other_assessor_changed_an_answer(
    new_tablet: Callable[..., BrowserContext], live_app: Flask, live_data: LiveData
) -> None:
    application_id = assigned_application(live_app, live_data, "郑玉梅")
    url = f"/applications/{application_id}/assessment"
    first = new_tablet().new_page()
    login(first, live_data.users["assessor"])
    first.goto(url)
    for code, points in factories.SEVERE_BARTHEL_ANSWERS.items():
        choose(first, code, points)
    first.locator("[name=family_member_present]").fill("郑军（儿子）")
    first.locator("label", has=first.locator("[name=confirmed]")).tap()
    wait_until_saved(first)

    # Meanwhile the other assessor changes one answer on their own tablet.
    second = new_tablet().new_page()
    login(second, live_data.users["assessor_2"])
    second.goto(url)
    choose(second, "transfer", 10)
    wait_until_saved(second)

    # The first submits before their tablet has heard of it: refused, and shown, not overwritten.
    with first.expect_navigation() as navigation:
        first.locator("#assessment-form button[type=submit]").tap()
    assert navigation.value is not None
    assert navigation.value.status == 409
    expect(first.locator("main")).to_contain_text("另一名评估员在此期间修改了床椅转移")
    conflict = first.locator("#item-transfer [data-conflict]")
    expect(conflict).to_contain_text("评估员陈静")
    expect(first.locator("#item-transfer input[value='10']")).to_be_checked()
    with live_session(live_app) as session:
        assert (
            session.scalars(
                select(Assessment).where(Assessment.application_id == application_id)
            ).all()
            == []
        )

    # Having seen it, the first submits again: the other assessor's answer is what is stored.
    with first.expect_navigation():
        first.locator("#assessment-form button[type=submit]").tap()
    expect(first.get_by_test_id("total")).to_have_text("35")
    with live_session(live_app) as session:
        stored = session.scalars(
            select(Assessment).where(Assessment.application_id == application_id)
        ).one()
        assert stored.answers["transfer"] == 10
