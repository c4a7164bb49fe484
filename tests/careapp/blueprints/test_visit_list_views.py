"""The administrators' visit list: filters, masking, paging, permissions and the phone survey."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import PermissionDeniedError
from careapp.models import RatingChannel, Role, SatisfactionRating, Visit
from careapp.services.actor import Actor
from careapp.services.visit_search import VisitFilter, search_visits
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    NOW,
    CaregiverFactory,
    PersonFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    rate_visit,
)


def visit(
    person: str,
    caregiver: str | None,
    provider: Any,
    on: dt.date,
    status: VisitStatus = VisitStatus.COMPLETED,
) -> Visit:
    v: Visit = VisitFactory(
        person=PersonFactory(name=person),
        care_plan__provider=provider,
        caregiver=CaregiverFactory(provider=provider, name=caregiver) if caregiver else None,
        visit_on=on,
        status=status,
    )
    return v


@pytest.fixture
def city(db_session: Session) -> dict[str, Any]:
    chongchuan = ProviderFactory(name="崇川康养")
    haimen = ProviderFactory(name="海门护理")
    to_rate = visit("赵老太", "王小明", chongchuan, dt.date(2026, 11, 20))
    rated = visit("钱老伯", "李大力", haimen, dt.date(2026, 11, 21))
    rate_visit(rated, 4, channel=RatingChannel.LINK, rated_at=NOW)
    planned = visit("孙阿姨", "王小明", chongchuan, dt.date(2026, 11, 24), VisitStatus.ASSIGNED)
    return {
        "chongchuan": chongchuan,
        "haimen": haimen,
        "to_rate": to_rate,
        "rated": rated,
        "planned": planned,
    }


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="visit-row" data-visit-id="(\d+)"', html)]


@pytest.mark.usefixtures("english")
def test_visit_list_shows_masked_names_and_the_phone_rating_only_where_it_can_be_given(
    admin_client: FlaskClient, city: dict[str, Any]
) -> None:
    response = admin_client.get("/visits")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert listed(html) == [city["planned"].id, city["rated"].id, city["to_rate"].id]
    assert "赵**" in html
    assert "王**" in html
    assert "崇川康养" in html
    for full_name in ("赵老太", "钱老伯", "孙阿姨", "王小明", "李大力"):
        assert full_name not in html
    assert "4 of 5 stars" in html
    links = re.findall(r'href="([^"]+)" data-testid="phone-rating-link"', html)
    assert links == [f"/visits/{city['to_rate'].id}/phone-rating"]


@pytest.mark.usefixtures("english")
def test_the_phone_rating_link_leads_to_the_existing_form_and_records_the_rating(
    db_session: Session, admin_client: FlaskClient, city: dict[str, Any]
) -> None:
    html = admin_client.get("/visits?rating=to_rate").get_data(as_text=True)
    [link] = re.findall(r'href="([^"]+)" data-testid="phone-rating-link"', html)
    form = admin_client.get(link)
    assert form.status_code == 200
    assert 'data-testid="phone-rating"' in form.get_data(as_text=True)
    assert admin_client.post(link, data={"stars": "5"}).status_code == 302
    rating = db_session.scalars(
        select(SatisfactionRating).where(SatisfactionRating.visit_id == city["to_rate"].id)
    ).one()
    assert rating.channel is RatingChannel.PHONE_SURVEY
    after = admin_client.get("/visits").get_data(as_text=True)
    assert 'data-testid="phone-rating-link"' not in after
    assert "5 of 5 stars" in after
    assert listed(admin_client.get("/visits?rating=to_rate").get_data(as_text=True)) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("person=赵老", ["to_rate"]),
        ("caregiver=王小明", ["planned", "to_rate"]),
        ("caregiver=李", ["rated"]),
        ("provider_id={haimen}", ["rated"]),
        ("first_day=2026-11-21", ["planned", "rated"]),
        ("first_day=2026-11-20&last_day=2026-11-20", ["to_rate"]),
        ("status=assigned", ["planned"]),
        ("status=completed", ["rated", "to_rate"]),
        ("rating=to_rate", ["to_rate"]),
        ("rating=rated", ["rated"]),
        ("person=赵老&provider_id={haimen}", []),
        ("person=100%25", []),
    ],
)
@pytest.mark.usefixtures("english")
def test_visit_list_filters(
    admin_client: FlaskClient, city: dict[str, Any], query: str, expected: list[str]
) -> None:
    response = admin_client.get(f"/visits?{query.format(haimen=city['haimen'].id)}")
    assert response.status_code == 200
    assert listed(response.get_data(as_text=True)) == [city[name].id for name in expected]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("first_day=yesterday", "Not a valid date value."),
        ("first_day=2026-11-22&last_day=2026-11-21", "The period ends before it starts."),
        ("provider_id=abc", "Not a valid choice."),
        ("provider_id=999999", "Not a valid choice."),
        ("status=lost", "Not a valid choice."),
        ("rating=maybe", "Not a valid choice."),
        ("offset=-5", "Number must be at least 0."),
        ("person=320602194003010011", "find a person by ID number on the People page"),
        ("caregiver=" + "x" * 51, "Field cannot be longer than 50 characters."),
    ],
)
@pytest.mark.usefixtures("english")
def test_visit_list_bad_filters_are_form_errors(
    admin_client: FlaskClient, city: dict[str, Any], query: str, message: str
) -> None:
    response = admin_client.get(f"/visits?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert len(listed(html)) == 3  # the unfiltered list, never a 500


def test_visit_list_in_chinese_with_the_admin_navigation(
    db_session: Session, login_as: Any, city: dict[str, Any]
) -> None:
    client: FlaskClient = login_as(UserFactory(admin=True))
    refresh()
    html = client.get("/").get_data(as_text=True)
    assert 'href="/visits"' in html
    page = client.get("/visits?rating=to_rate").get_data(as_text=True)
    assert "服务对象姓名" in page
    assert "电话回访" in page
    assert "已完成、尚未评价" in page


@pytest.mark.parametrize("trait", ["manager", "assessor", "caregiver"])
def test_visit_list_is_for_administrators_only(
    db_session: Session, login_as: Any, city: dict[str, Any], trait: str
) -> None:
    client = login_as(UserFactory(**{trait: True}))
    assert client.get("/visits").status_code == 403
    assert 'href="/visits"' not in client.get("/").get_data(as_text=True)


def test_visit_list_needs_login(client: FlaskClient, city: dict[str, Any]) -> None:
    response = client.get("/visits")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_search_visits_pages_and_refuses_non_admins(
    db_session: Session, city: dict[str, Any]
) -> None:
    admin = Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN)
    first = search_visits(db_session, admin, VisitFilter(), limit=2)
    assert [row.visit.id for row in first.rows] == [city["planned"].id, city["rated"].id]
    assert first.has_more
    second = search_visits(db_session, admin, VisitFilter(), offset=2, limit=2)
    assert [row.visit.id for row in second.rows] == [city["to_rate"].id]
    assert not second.has_more
    manager = Actor(user_id=UserFactory(manager=True).id, role=Role.PROVIDER_MANAGER)
    with pytest.raises(PermissionDeniedError):
        search_visits(db_session, manager, VisitFilter())


@pytest.mark.usefixtures("english")
def test_visit_list_pager_keeps_the_filters(
    admin_client: FlaskClient, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from careapp.blueprints.visits import views

    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 1)
    html = admin_client.get("/visits?caregiver=王小明").get_data(as_text=True)
    assert listed(html) == [city["planned"].id]
    [next_href] = re.findall(r'href="([^"]+)">Next<', html)
    assert "offset=1" in next_href
    assert "caregiver=" in next_href
    following = admin_client.get(next_href.replace("&amp;", "&")).get_data(as_text=True)
    assert listed(following) == [city["to_rate"].id]
    assert ">Next<" not in following
    assert ">Previous<" in following


@pytest.mark.usefixtures("english")
def test_visit_list_issues_a_bounded_number_of_queries(
    db_session: Session,
    admin_client: FlaskClient,
    city: dict[str, Any],
    count_queries: Statements,
) -> None:
    def selects() -> int:
        with count_queries.counted() as sent:
            assert admin_client.get("/visits").status_code == 200
        return len(sent.selects())

    few = selects()
    provider = ProviderFactory()
    for day in range(10):
        visit(f"周{day}号", f"吴{day}号", provider, dt.date(2026, 11, 1) + dt.timedelta(days=day))
    assert selects() == few
