"""A print batch whose process died: its page turns to "abandoned" while the administrator
watches, shows the restart button, and the restart prints the week to the end."""

from __future__ import annotations

import datetime as dt
import os
import socket

from flask import Flask
from playwright.sync_api import Page, expect

from careapp.core import clock
from careapp.models import PrintBatch, PrintBatchStatus
from tests import factories
from tests.browser.conftest import LiveData, live_session, login, zh

MONDAY = dt.date(2026, 10, 5)
GONE_PID = 2**22 + 11  # above Linux's pid_max: no such process


def test_an_abandoned_batch_is_shown_and_restarted_from_its_page(
    page: Page, live_app: Flask, live_data: LiveData
) -> None:
    with live_session(live_app) as session:
        factories.EntitlementFactory(decision__decided_on=MONDAY, starts_on=MONDAY)
        admin = factories.UserFactory(admin=True)
        session.flush()
        batch = PrintBatch(
            week_starts_on=MONDAY,
            status=PrintBatchStatus.RUNNING,
            total=1,
            done=0,
            requested_by_id=admin.id,
            requested_at=clock.utcnow(),
            runner_host=socket.gethostname(),
            runner_pid=os.getpid(),  # the live server's process: alive
            heartbeat_at=clock.utcnow(),
        )
        session.add(batch)
    login(page, live_data.users["admin"])
    page.goto(f"/certificates/batches/{batch.id}")
    restart = page.locator("#print-batch-restart")
    expect(restart).to_be_hidden()

    with live_session(live_app) as session:  # its process dies
        stored = session.get(PrintBatch, batch.id)
        assert stored is not None
        stored.runner_pid = GONE_PID
    expect(restart).to_be_visible(timeout=10_000)  # the page's next poll
    expect(page.locator("#print-batch-message")).to_contain_text(
        zh("the process printing it has stopped")
    )
    with page.expect_navigation():
        restart.locator("button").tap()
    expect(page.locator("main")).to_contain_text(zh("The batch is restarted."))
    expect(page.locator("#print-batch-download")).to_be_visible(timeout=30_000)
    expect(restart).to_be_hidden()
