"""The settlement pages: reconciliation, issuing, statements and their sealed PDF and CSV."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, ClaimFlagStatus, Provider, SettlementStatement, User
from careapp.reports.seal import check_seal
from tests.factories import (
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
    home_service_beneficiary,
    october_visit,
    plan_for,
)


@pytest.fixture
def company(db_session: Session) -> Provider:
    """A company with October's visits: 80.00 paid, one held by an open flag."""
    ServiceItemFactory(code="bathing", unit_price_fen=8000)
    found = ProviderFactory(name="甲照护公司")
    plan = plan_for(home_service_beneficiary(name="王小明"), found)
    october_visit(plan, 2)
    october_visit(plan, 3, flag=ClaimFlagStatus.OPEN)
    return found


@pytest.mark.usefixtures("english")
def test_the_administrator_issues_the_month_and_the_difference_falls_to_zero(
    db_session: Session, login_as: Any, admin_user: User, company: Provider
) -> None:
    client = login_as(admin_user)
    html = client.get("/settlement?month=2026-10").get_data(as_text=True)
    assert "甲照护公司" in html
    assert f'data-testid="difference-{company.id}"><strong>80.00</strong>' in html
    response = client.post("/settlement/2026-10/issue")
    assert response.status_code == 303
    statement = db_session.scalar(
        select(SettlementStatement).where(SettlementStatement.provider_id == company.id)
    )
    assert statement is not None
    assert (statement.total_fen, statement.visits_held) == (8000, 1)
    html = client.get("/settlement?month=2026-10").get_data(as_text=True)
    assert f'data-testid="difference-{company.id}">0.00' in html
    assert statement.number in html
    # The month has not ended: refused with a message, nothing issued.
    client.post("/settlement/2026-11/issue")
    html = client.get("/settlement?month=2026-11").get_data(as_text=True)
    assert "A month is settled only after it has ended." in html


@pytest.mark.usefixtures("english")
def test_a_manager_downloads_their_sealed_statement_and_not_another_providers(
    app: Flask,
    db_session: Session,
    login_as: Any,
    admin_user: User,
    company: Provider,
) -> None:
    login_as(admin_user).post("/settlement/2026-10/issue")
    statement = db_session.scalar(
        select(SettlementStatement).where(SettlementStatement.provider_id == company.id)
    )
    assert statement is not None
    other = ProviderFactory()
    manager = login_as(UserFactory(manager=True, provider=company))
    listing = manager.get("/settlement/statements").get_data(as_text=True)
    assert statement.number in listing
    pdf = manager.get(f"/settlement/statements/{statement.id}/statement.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert check_seal(pdf.data, app.config["SIGNING_CERT_PATH"]).is_valid
    csv = manager.get(f"/settlement/statements/{statement.id}/statement.csv")
    assert csv.status_code == 200
    assert csv.data.startswith("\ufeff".encode())
    assert "王**" in csv.data.decode("utf-8")
    actions = list(
        db_session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "settlement_statement",
                AuditEvent.object_id == statement.id,
            )
        )
    )
    assert actions.count("settlement.download") == 2
    outsider = login_as(UserFactory(manager=True, provider=other))
    assert outsider.get(f"/settlement/statements/{statement.id}").status_code == 404
    assert outsider.get(f"/settlement/statements/{statement.id}/statement.pdf").status_code == 404
    assert statement.number not in outsider.get("/settlement/statements").get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_the_ledger_and_fund_pages_show_home_care_money(
    db_session: Session, login_as: Any, admin_user: User, company: Provider
) -> None:
    client = login_as(admin_user)
    ledger_page = client.get("/fund/ledger?month=2026-10").get_data(as_text=True)
    assert "1 visits settled, 80.00 yuan" in ledger_page
    fund_page = client.get("/fund?month=2026-10").get_data(as_text=True)
    assert "80.00 yuan of settled visits are in this amount" in fund_page


def test_the_settlement_page_is_in_chinese_by_default(
    db_session: Session, login_as: Any, admin_user: User, company: Provider
) -> None:
    client = login_as(admin_user)
    client.post("/lang/zh")
    refresh()
    html = client.get("/settlement?month=2026-10").get_data(as_text=True)
    assert "月度结算" in html
    assert "与待遇台账核对" in html
    response = client.get("/settlement?month=2026-13")
    assert response.status_code == 400  # last month is shown, with the message
    assert 'data-testid="month-error"' in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_issuing_statements_asks_for_confirmation_first(
    db_session: Session, login_as: Any, admin_user: User, company: Provider
) -> None:
    html = login_as(admin_user).get("/settlement?month=2026-10").get_data(as_text=True)
    assert (
        'data-confirm="Issue the statement of 甲照护公司? An issued statement is never edited."'
    ) in html
    assert (
        'data-confirm="Issue the statements of 2026-10? Issued statements are never edited."'
    ) in html
    assert "/static/js/confirm.js" in html
