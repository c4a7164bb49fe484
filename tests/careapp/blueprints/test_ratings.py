"""The family's public rating page and the phone-survey entry page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.blueprints.ratings import views as rating_views
from careapp.core.errors import ConflictError
from careapp.models import RatingChannel, SatisfactionRating, Visit
from careapp.services.actor import Actor
from careapp.services.visits import check_in, check_out
from tests.conftest import PinnedClock
from tests.factories import (
    NOW,
    CaregiverUserFactory,
    PersonFactory,
    ProviderFactory,
    UserFactory,
    caregiver_visit,
)

WEEK = dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def three_hours_later(clock: PinnedClock) -> None:
    clock.set(NOW + dt.timedelta(hours=3))


@pytest.fixture
def family(client: FlaskClient) -> FlaskClient:
    client.post("/lang/en")
    return client


def completed_visit(session: Session) -> tuple[Visit, str]:
    provider = ProviderFactory(name="崇川康养护理公司")
    caregiver = CaregiverUserFactory(provider=provider, name="王小明")
    assert caregiver.user is not None
    actor = Actor(user_id=caregiver.user.id, role=caregiver.user.role)
    person = PersonFactory(name="赵老太", address="崇川区秘密路9号")
    visit = caregiver_visit(caregiver, person=person)
    check_in(session, actor, visit.id, 32.0, 120.86, None, NOW)
    token = check_out(session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    return visit, token


def rating_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SatisfactionRating))


def test_rate_visit_page_shows_only_date_provider_and_first_name(
    db_session: Session, family: FlaskClient
) -> None:
    visit, token = completed_visit(db_session)

    response = family.get(f"/rate/{token}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "崇川康养护理公司" in page
    assert "小明" in page
    assert "王小明" not in page
    assert "November 23, 2026" in page
    assert "赵老太" not in page
    assert "秘密路" not in page
    assert visit.person.id_number_masked not in page
    assert page.count('type="radio"') == 5
    assert 'class="star-option"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in page


def test_rating_link_works_once(db_session: Session, family: FlaskClient) -> None:
    visit, token = completed_visit(db_session)

    response = family.post(f"/rate/{token}", data={"stars": "4", "comment": "很好"})

    assert response.status_code == 200
    assert 'data-testid="rating-thanks"' in response.get_data(as_text=True)
    rating = db_session.scalars(select(SatisfactionRating)).one()
    assert (rating.visit_id, rating.stars, rating.comment) == (visit.id, 4, "很好")
    assert rating.channel is RatingChannel.LINK

    again = family.post(f"/rate/{token}", data={"stars": "1"})
    assert again.status_code == 409
    assert "already been rated" in again.get_data(as_text=True)
    assert family.get(f"/rate/{token}").status_code == 409
    assert rating_count(db_session) == 1


def test_expired_rating_link_is_gone(
    db_session: Session, family: FlaskClient, clock: PinnedClock
) -> None:
    _visit, token = completed_visit(db_session)
    clock.set(NOW + WEEK)

    for response in (
        family.get(f"/rate/{token}"),
        family.post(f"/rate/{token}", data={"stars": "5"}),
    ):
        assert response.status_code == 410
        assert "has expired" in response.get_data(as_text=True)
    assert rating_count(db_session) == 0


def test_unknown_rating_link_is_a_friendly_404(db_session: Session, family: FlaskClient) -> None:
    response = family.get("/rate/not-a-real-token")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'data-testid="rating-unavailable"' in page
    assert "not valid" in page


@pytest.mark.parametrize("data", [{"stars": "6"}, {"stars": "0"}, {"stars": "five"}, {}])
def test_stars_out_of_range_is_a_form_error(
    db_session: Session, family: FlaskClient, data: dict[str, str]
) -> None:
    _visit, token = completed_visit(db_session)
    response = family.post(f"/rate/{token}", data=data)
    assert response.status_code == 400
    assert "Choose from 1 to 5 stars." in response.get_data(as_text=True)
    assert rating_count(db_session) == 0


def test_too_long_comment_is_a_form_error(db_session: Session, family: FlaskClient) -> None:
    _visit, token = completed_visit(db_session)
    response = family.post(f"/rate/{token}", data={"stars": "5", "comment": "好" * 501})
    assert response.status_code == 400
    assert "500 characters" in response.get_data(as_text=True)
    assert rating_count(db_session) == 0


def test_rating_recorded_meanwhile_by_another_request_is_a_conflict(
    db_session: Session, family: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _visit, token = completed_visit(db_session)

    def concurrent(*_args: object) -> None:
        raise ConflictError("This visit has already been rated. Thank you!")

    monkeypatch.setattr(rating_views, "submit_rating", concurrent)
    response = family.post(f"/rate/{token}", data={"stars": "5"})
    assert response.status_code == 409
    assert 'data-testid="rating-unavailable"' in response.get_data(as_text=True)
    assert rating_count(db_session) == 0


def test_rating_form_needs_a_csrf_token_when_csrf_is_on(
    app: Flask, db_session: Session, family: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _visit, token = completed_visit(db_session)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = family.get(f"/rate/{token}").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert family.post(f"/rate/{token}", data={"stars": "5"}).status_code == 400
    assert rating_count(db_session) == 0


def test_rating_page_is_chinese_by_default(db_session: Session, client: FlaskClient) -> None:
    _visit, token = completed_visit(db_session)
    page = client.get(f"/rate/{token}").get_data(as_text=True)
    assert "非常满意" in page


# phone survey


def test_admin_records_a_phone_survey_rating(
    db_session: Session, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    visit, token = completed_visit(db_session)
    admin = UserFactory(admin=True)
    client = login_as(admin)
    client.post("/lang/en")
    assert client.get(f"/visits/{visit.id}/phone-rating").status_code == 200

    response = client.post(f"/visits/{visit.id}/phone-rating", data={"stars": "3"})

    assert response.status_code == 302
    rating = db_session.scalars(select(SatisfactionRating)).one()
    assert rating.channel is RatingChannel.PHONE_SURVEY
    assert rating.entered_by_id == admin.id
    page = client.get(f"/visits/{visit.id}/phone-rating").get_data(as_text=True)
    assert 'data-testid="existing-rating"' in page
    again = client.post(f"/visits/{visit.id}/phone-rating", data={"stars": "5"})
    assert again.status_code == 409
    assert rating_count(db_session) == 1
    client.post("/logout")
    assert client.get(f"/rate/{token}").status_code == 409  # the family's link is used up


def test_phone_survey_rejects_bad_stars(db_session: Session, login_as: Any) -> None:
    visit, _token = completed_visit(db_session)
    client = login_as(UserFactory(admin=True))
    assert client.post(f"/visits/{visit.id}/phone-rating", data={"stars": "9"}).status_code == 400
    assert rating_count(db_session) == 0


def test_phone_survey_rejects_a_too_long_comment(db_session: Session, login_as: Any) -> None:
    visit, _token = completed_visit(db_session)
    client = login_as(UserFactory(admin=True))
    client.post("/lang/en")
    response = client.post(
        f"/visits/{visit.id}/phone-rating", data={"stars": "4", "comment": "x" * 501}
    )
    assert response.status_code == 400
    assert "Keep the comment under 500 characters." in response.get_data(as_text=True)
    assert rating_count(db_session) == 0


@pytest.mark.parametrize("trait", ["manager", "assessor", "caregiver"])
def test_phone_survey_is_for_admins_only(db_session: Session, login_as: Any, trait: str) -> None:
    visit, _token = completed_visit(db_session)
    client = login_as(UserFactory(**{trait: True}))
    assert client.get(f"/visits/{visit.id}/phone-rating").status_code == 403
    assert client.post(f"/visits/{visit.id}/phone-rating", data={"stars": "5"}).status_code == 403
    assert rating_count(db_session) == 0


def test_phone_survey_of_an_unknown_visit(db_session: Session, login_as: Any) -> None:
    client = login_as(UserFactory(admin=True))
    assert client.get("/visits/999999999/phone-rating").status_code == 404


def test_second_use_of_a_link_says_already_rated_and_changes_nothing(
    db_session: Session, family: FlaskClient
) -> None:
    _visit, token = completed_visit(db_session)
    family.post(f"/rate/{token}", data={"stars": "5", "comment": "很满意"})
    first = db_session.scalars(select(SatisfactionRating)).one()
    before = (first.id, first.stars, first.comment, first.rated_at, first.channel)

    again = family.post(f"/rate/{token}", data={"stars": "1", "comment": "改评一星"})

    assert again.status_code == 409
    assert "already been rated" in again.get_data(as_text=True)
    db_session.expire_all()
    rating = db_session.scalars(select(SatisfactionRating)).one()
    assert (rating.id, rating.stars, rating.comment, rating.rated_at, rating.channel) == before


def test_phone_survey_of_a_visit_rated_through_the_link_is_a_conflict(
    db_session: Session, family: FlaskClient, login_as: Any
) -> None:
    visit, token = completed_visit(db_session)
    family.post(f"/rate/{token}", data={"stars": "4"})
    client = login_as(UserFactory(admin=True))
    client.post("/lang/en")

    response = client.post(f"/visits/{visit.id}/phone-rating", data={"stars": "1"})

    assert response.status_code == 409
    assert "already been rated" in response.get_data(as_text=True)
    rating = db_session.scalars(select(SatisfactionRating)).one()
    assert (rating.stars, rating.channel) == (4, RatingChannel.LINK)
