"""The shell in a real browser: login in Chinese and English, each role's home, touch targets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import TABLET, ExternalRequests, LiveData, login, screenshot

# The home page tiles of each role, by link target, with their Chinese labels.
ROLE_TILES = {
    "admin": {
        "/people": "参保人员",
        "/applications": "申请",
        "/dispatch": "派单",
        "/policy": "政策版本",
        "/work-orders": "服务工单",
        "/providers": "服务机构",
        "/quality/satisfaction": "满意度",
        "/visits": "上门服务",
        "/claims": "结算疑点",
        "/settlement": "月度结算",
        "/fund": "基金",
        "/device-loans": "辅助器具",
        "/certificates/batches": "批量打印",
    },
    "assessor": {"/assessments": "我的评估"},
    "provider_manager": {
        "/roster": "排班表",
        "/my-offers": "工单邀约",
        "/my-provider/quality": "服务质量",
        "/claims": "结算疑点",
        "/settlement/statements": "结算单",
    },
    "caregiver": {"/my-day": "今日工作"},
}
# Everything a finger may need to hit on the login and home pages.
TOUCH_TARGETS = (
    "button, nav a, a.tile, select, textarea, "
    "input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
)
MIN_TOUCH_PX = 44


def undersized_controls(page: Page) -> list[str]:
    """Visible controls shorter than 44 px, described as `tag "text": height`."""
    found: list[str] = page.eval_on_selector_all(
        TOUCH_TARGETS,
        """(elements, minimum) => elements
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, r]) => r.width > 0 && r.height > 0 && r.height < minimum)
            .map(([e, r]) => {
                const text = (e.innerText || e.name || '').trim();
                return `${e.tagName.toLowerCase()} "${text}": ${r.height}`;
            })""",
        MIN_TOUCH_PX,
    )
    return found


def touch_target_count(page: Page) -> int:
    return page.locator(TOUCH_TARGETS).count()


def test_login_page_is_chinese_on_a_tablet(page: Page, screenshots: Path) -> None:
    page.goto("/login")

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main h1")).to_have_text("登录")
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    assert page.viewport_size == TABLET
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, screenshots / "login.png")


def test_language_switch_goes_to_english(page: Page) -> None:
    page.goto("/login")

    with page.expect_navigation():
        page.locator("button[lang=en]").tap()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Log in")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.locator("button[lang=zh]")).to_have_text("简体中文")


def test_login_page_controls_are_touch_sized(page: Page) -> None:
    page.goto("/login")

    assert touch_target_count(page) >= 4  # brand, language, username, password, log in
    assert undersized_controls(page) == []


def test_wrong_password_is_refused_in_chinese(page: Page, live_data: LiveData) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(live_data.users["admin"])
    page.get_by_label("密码").fill("not the password")

    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.locator("main form button[type=submit]").tap()

    assert response.value.status == 400
    expect(page.locator(".field-error")).to_have_text("用户名或密码错误。")
    assert "/login" in page.url


@pytest.mark.parametrize("role", sorted(ROLE_TILES))
def test_each_role_lands_on_its_tiles(
    page: Page, live_data: LiveData, screenshots: Path, role: str
) -> None:
    username = live_data.users[role]

    login(page, username)

    assert urlsplit(page.url).path == "/"
    expect(page.locator("main h1")).to_have_text(f"欢迎，{live_data.display_names[username]}")
    tiles = page.locator("a.tile")
    hrefs = tiles.evaluate_all("tiles => tiles.map(t => t.getAttribute('href'))")
    assert hrefs == list(ROLE_TILES[role])
    expect(tiles).to_have_text(list(ROLE_TILES[role].values()))
    expect(page.get_by_test_id("logout")).to_have_text("退出登录")
    assert undersized_controls(page) == []
    if role == "admin":
        screenshot(page, screenshots / "home-admin.png")


def test_logged_out_visitor_is_sent_to_login(page: Page) -> None:
    page.goto("/")

    assert urlsplit(page.url).path == "/login"
    expect(page.locator("main h1")).to_have_text("登录")


def test_external_requests_are_caught(
    tablet: BrowserContext, external_requests: ExternalRequests
) -> None:
    """The guard works: a request to another host is blocked and recorded.

    (App pages also send a Content-Security-Policy that keeps the browser from even trying;
    a blank page has none, so the request reaches the guard.)
    """
    page = tablet.new_page()
    page.set_content("<p>blank</p>")
    page.evaluate(
        """() => new Promise(done => {
            const img = document.createElement('img');
            img.onerror = img.onload = () => done();
            img.src = 'http://example.invalid/pixel.png';
            document.body.append(img);
        })"""
    )

    assert external_requests == ["http://example.invalid/pixel.png"]
    external_requests.clear()  # expected here; any other test failing this way is a real leak


def test_chinese_text_is_drawn_with_a_chinese_font(page: Page) -> None:
    """No empty boxes: headings, links and buttons are drawn with a font that has the glyphs.

    This machine has no Chinese system font, so the vendored Noto Sans SC must be used.
    """
    page.goto("/login")
    page.evaluate("document.fonts.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("main h1", "a.brand", "label", "button[type=submit]"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        families = {font["familyName"] for font in fonts}
        assert all(family.startswith("Noto Sans SC") for family in families), (selector, families)
