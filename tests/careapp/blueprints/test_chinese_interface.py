"""The Chinese interface and documents: days worded in Chinese and in the city's time, named
weekdays, and no English or raw codes where a Chinese reader looks (pages and sealed PDFs)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import (
    AlertKind,
    ClaimFlagStatus,
    Provider,
    Role,
    SettlementStatement,
    WorkOrderReason,
)
from careapp.services.actor import Actor
from careapp.services.work_orders import WorkOrderRules, open_work_order
from careapp.web.labels import alert_kind_label
from tests.careapp.reports.pdf_checks import flat, pdftotext
from tests.conftest import PinnedClock
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    DecidableAssessmentFactory,
    PolicyVersionFactory,
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
    VisitFactory,
    home_service_beneficiary,
    institution_entitlement,
    october_visit,
    plan_for,
    provider_care_plan,
)

DEFAULT_POLICY_ZH = "默认政策（规范数值）"
ENGLISH_LEFT = (
    "Default (spec figures)",
    "Mahoney & Barthel 1965; bands",
    "Default level bands",
    "work_order_offer",
)
NUMERIC_DAY = re.compile(r"(?<![\d/-])\d{1,2}/\d{1,2}(?![\d/])")  # 23/11, 11/23


def chinese(client: FlaskClient) -> FlaskClient:
    client.post("/lang/zh")
    refresh()  # test requests share one app context, where Flask-Babel caches the locale
    return client


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    for english in ENGLISH_LEFT:
        assert english not in html, (url, english)
    return html


def test_roster_week_words_each_day_in_chinese(db_session: Session, login_as: Any) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    tuesday = TODAY + dt.timedelta(days=1)  # TODAY is Monday 23 November
    left = VisitFactory(
        care_plan=provider_care_plan(provider),
        visit_on=tuesday,
        unassigned_reason="daily_limit_reached",
    )
    client = chinese(login_as(UserFactory(manager=True, provider=provider)))
    html = page(client, f"/roster/week?day={tuesday.isoformat()}")
    for day in ("11月23日周一", "11月24日周二", "11月29日周日"):
        assert day in html
    row = html.split(f'data-testid="visit-{left.id}"')[1].split("</tr>")[0]
    assert "11月24日周二" in row
    assert NUMERIC_DAY.search(html) is None, NUMERIC_DAY.search(html)


def test_statement_list_shows_the_citys_issue_date_as_its_pdf(
    db_session: Session, login_as: Any, clock: PinnedClock, tmp_path: Path
) -> None:
    ServiceItemFactory(code="bathing", unit_price_fen=8000)
    company = ProviderFactory(name="甲照护公司")
    october_visit(plan_for(home_service_beneficiary(), company), 2)
    october_visit(
        plan_for(home_service_beneficiary(name="李四"), company), 3, flag=ClaimFlagStatus.OPEN
    )
    # 17:30 UTC on 22 November is 01:30 on 23 November in the city.
    clock.set(dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.UTC))
    admin = chinese(login_as(UserFactory(admin=True)))
    assert admin.post("/settlement/2026-10/issue").status_code == 303
    clock.set(NOW)
    statement = db_session.scalars(select(SettlementStatement)).one()
    manager = chinese(login_as(UserFactory(manager=True, provider=company)))
    listing = page(manager, "/settlement/statements")
    row = listing.split(statement.number)[1].split("</tr>")[0]
    assert "2026年11月23日" in row
    assert "2026-11-22" not in row
    pdf = manager.get(f"/settlement/statements/{statement.id}/statement.pdf")
    assert "签发日期：2026年11月23日" in flat(pdftotext(pdf.data, tmp_path))


def test_policy_pages_name_the_default_and_its_sources_in_chinese(
    db_session: Session, login_as: Any
) -> None:
    PolicyVersionFactory()
    client = chinese(login_as(UserFactory(admin=True)))
    listing = page(client, "/policy")
    assert DEFAULT_POLICY_ZH in listing
    assert "分级采用国内常用的日常生活能力评定量表" in listing
    new = page(client, "/policy/new")
    assert "分级采用国内常用的日常生活能力评定量表" in new
    assert "尚未与官方附件核对" in new
    # In English both read as stored.
    client.post("/lang/en")
    refresh()
    english = client.get("/policy/new").get_data(as_text=True)
    assert "Mahoney &amp; Barthel 1965; bands of the common Chinese form" in english
    assert "Default (spec figures)" in client.get("/policy").get_data(as_text=True)


def move_offered(session: Session, weekdays: list[int]) -> Provider:
    """A beneficiary's plan (on these weekdays) offered by a move to another provider."""
    current = ProviderFactory(name="原服务机构")
    target = ProviderFactory(name="新服务机构")
    for provider in (current, target):
        CaregiverFactory(provider=provider)
    plan = provider_care_plan(current, weekdays=weekdays)
    open_work_order(
        session,
        Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN, address="test"),
        plan.entitlement_id,
        WorkOrderRules(),
        NOW,
        reason=WorkOrderReason.MOVE,
        family_choice_provider_id=target.id,
    )
    return target


def test_offer_names_the_weekdays_and_the_alert_kind_in_chinese(
    db_session: Session, login_as: Any
) -> None:
    target = move_offered(db_session, [1, 3, 5])
    offers = page(chinese(login_as(UserFactory(manager=True, provider=target))), "/my-offers")
    assert "周一、周三和周五" in offers
    assert "1, 3, 5" not in offers
    quality = page(chinese(login_as(UserFactory(admin=True))), f"/providers/{target.id}")
    assert "工单邀约" in quality


def test_every_alert_kind_has_a_label(app: Flask) -> None:
    with app.test_request_context("/?lang=zh"):
        refresh()
        labels = {kind: alert_kind_label(kind.value) for kind in AlertKind}
    refresh()
    assert all(label != kind.value for kind, label in labels.items()), labels
    assert labels[AlertKind.WORK_ORDER_OFFER] == "工单邀约"


def test_decision_pages_word_the_instrument_edition_and_the_policy(
    db_session: Session, login_as: Any
) -> None:
    PolicyVersionFactory()
    application = DecidableAssessmentFactory().application
    client = chinese(login_as(UserFactory(admin=True)))
    new = page(client, f"/applications/{application.id}/decision/new")
    assert "（1965年版）" in new
    assert "(1965)" not in new
    location = client.post(
        f"/applications/{application.id}/decision/new", data={"care_setting": "home_cash"}
    ).headers["Location"]
    assert DEFAULT_POLICY_ZH in page(client, location)


def test_sealed_documents_name_the_default_policy_in_chinese(
    db_session: Session, login_as: Any, tmp_path: Path
) -> None:
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    client.post("/lang/en")  # documents are Chinese whatever the page language
    refresh()
    for document in ("notice.pdf", "benefit-certificate.pdf"):
        response = client.post(f"/decisions/{entitlement.decision_id}/{document}")
        assert response.status_code == 200, document
        text = flat(pdftotext(response.data, tmp_path))
        assert DEFAULT_POLICY_ZH in text, document
        assert "Default" not in text, document
