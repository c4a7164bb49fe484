"""Irreversible actions ask first: a tap on "decide" opens the browser's confirmation (in
Chinese); saying no changes nothing, saying yes records the decision."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import func, select

from careapp.models import EligibilityDecision
from tests.browser.conftest import LiveData, live_session, login, screenshot, zh
from tests.factories import DecidableAssessmentFactory


def decisions_of(live_app: Flask, application_id: int) -> int:
    with live_session(live_app) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(EligibilityDecision)
                .where(EligibilityDecision.application_id == application_id)
            )
            or 0
        )


def test_deciding_eligibility_asks_for_confirmation_first(
    page: Page, live_app: Flask, live_data: LiveData, screenshots: Path
) -> None:
    with live_session(live_app):
        application_id = DecidableAssessmentFactory().application.id
    login(page, live_data.users["admin"])
    page.goto(f"/applications/{application_id}/decision/new")
    form = page.get_by_test_id("decision-form")
    button = form.locator("button[type=submit]")
    asked: list[str] = []

    def say_no(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", say_no)
    button.tap()

    expect(page).to_have_url(re.compile(rf"/applications/{application_id}/decision/new$"))
    assert asked == [zh("Record this eligibility decision? It cannot be undone.")]
    page.wait_for_load_state("networkidle")
    assert decisions_of(live_app, application_id) == 0
    screenshot(page, screenshots / "decision-confirm-dismissed.png")

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        button.tap()

    expect(page).to_have_url(re.compile(r"/decisions/\d+$"))
    assert decisions_of(live_app, application_id) == 1
