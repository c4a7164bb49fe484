"""The caregiver's phone pages: my day, the visit, check-in, check-out and the receipt."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from careapp.models import Caregiver, Visit
from careapp.security import token_hash
from scheduling.visits import VisitStatus
from tests.conftest import PinnedClock
from tests.factories import (
    NOW,
    PASSWORD,
    CaregiverUserFactory,
    PersonFactory,
    UserFactory,
    caregiver_visit,
)

HOME = {"lat": "32.0", "lon": "120.86"}


def reload(session: Session, visit: Visit) -> Visit:
    session.expire_all()
    return session.get_one(Visit, visit.id)


def has_inline_script(page: str) -> bool:
    return re.search(r"<script(?![^>]*\bsrc=)", page) is not None


# my day


def test_my_day_lists_todays_visits_in_route_order(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    second = caregiver_visit(caregiver, route_order=2, person=PersonFactory(name="李二"))
    first = caregiver_visit(caregiver, route_order=1, person=PersonFactory(name="王一"))
    caregiver_visit(CaregiverUserFactory(), person=PersonFactory(name="别人的"))

    response = phone.get("/my-day")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.index("王一") < page.index("李二")
    assert "别人的" not in page
    assert f"/visits/{first.id}" in page
    assert f"/visits/{second.id}" in page
    assert "Bathing" in page
    assert not has_inline_script(page)


def test_my_day_without_visits(phone: FlaskClient) -> None:
    page = phone.get("/my-day").get_data(as_text=True)
    assert 'data-testid="no-visits"' in page


def test_my_day_issues_a_bounded_number_of_queries(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient, count_queries: list[str]
) -> None:
    caregiver_visit(caregiver)
    count_queries.clear()
    assert phone.get("/my-day").status_code == 200
    few = len(count_queries)

    for _ in range(5):
        caregiver_visit(caregiver)
    count_queries.clear()
    assert phone.get("/my-day").status_code == 200
    assert len(count_queries) <= few


@pytest.mark.parametrize("trait", ["manager", "assessor", "admin"])
def test_caregiver_pages_are_forbidden_to_other_roles(
    db_session: Session, caregiver: Caregiver, login_as: Any, trait: str
) -> None:
    visit = caregiver_visit(caregiver)
    client = login_as(UserFactory(**{trait: True}, provider=caregiver.provider))
    assert client.get("/my-day").status_code == 403
    assert client.get(f"/visits/{visit.id}").status_code == 403
    assert client.get(f"/visits/{visit.id}/receipt").status_code == 403
    assert client.post(f"/visits/{visit.id}/check-in", data=HOME).status_code == 403
    assert client.post(f"/visits/{visit.id}/check-out", data={}).status_code == 403
    assert reload(db_session, visit).status is VisitStatus.ASSIGNED


def test_caregiver_pages_need_a_login(client: FlaskClient) -> None:
    response = client.get("/my-day")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_another_caregivers_visit_is_not_found(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    theirs = caregiver_visit(CaregiverUserFactory(provider=caregiver.provider))
    assert phone.get(f"/visits/{theirs.id}").status_code == 404
    assert phone.post(f"/visits/{theirs.id}/check-in", data=HOME).status_code == 404
    assert phone.post(f"/visits/{theirs.id}/check-out", data={}).status_code == 404
    assert reload(db_session, theirs).status is VisitStatus.ASSIGNED


# check-in


def test_visit_detail_offers_check_in_with_geolocation(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    page = phone.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert 'data-testid="check-in-form"' in page
    assert 'name="lat"' in page
    assert 'type="hidden"' in page
    assert 'name="location_note"' in page
    assert "js/geolocation.js" in page
    assert 'data-testid="check-out-form"' not in page
    assert not has_inline_script(page)


def test_check_in_with_location(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)

    response = phone.post(f"/visits/{visit.id}/check-in", data=HOME)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/visits/{visit.id}")
    visit = reload(db_session, visit)
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.checked_in_at == NOW
    assert visit.check_in_flags == []
    page = phone.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Checked in." in page
    assert 'data-testid="check-out-form"' in page


def test_check_in_far_from_home_is_flagged(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    response = phone.post(
        f"/visits/{visit.id}/check-in", data={"lat": "32.01", "lon": "120.86"},
        follow_redirects=True,
    )  # fmt: skip
    assert response.status_code == 200
    assert "will be reviewed: Far from the home" in response.get_data(as_text=True)
    assert reload(db_session, visit).check_in_flags == ["far_from_home"]


def test_check_in_6_6_km_away_is_never_called_at_the_home(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    visit.person.home_lat, visit.person.home_lon = 32.0, 120.86
    response = phone.post(
        f"/visits/{visit.id}/check-in", data={"lat": "32.0594", "lon": "120.86"},
        follow_redirects=True,
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert "Checked in 6.6 km from the client&#39;s home — flagged" in page
    assert "at the client&#39;s home" not in page


def test_check_in_at_the_home_says_so(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    visit.person.home_lat, visit.person.home_lon = 32.0, 120.86
    page = phone.post(
        f"/visits/{visit.id}/check-in", data={"lat": "32.0003", "lon": "120.86"},
        follow_redirects=True,
    ).get_data(as_text=True)  # fmt: skip
    assert "Checked in at the client&#39;s home (33 m away)" in page
    assert "flagged" not in page


def test_check_in_late_is_flagged(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient, clock: PinnedClock
) -> None:
    visit = caregiver_visit(caregiver)
    clock.set(visit.window_end.replace(hour=visit.window_end.hour + 1))
    response = phone.post(f"/visits/{visit.id}/check-in", data=HOME, follow_redirects=True)
    assert "Outside the time window" in response.get_data(as_text=True)
    assert reload(db_session, visit).check_in_flags == ["outside_window"]


def test_check_in_without_location_with_a_reason(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    response = phone.post(
        f"/visits/{visit.id}/check-in", data={"lat": "", "lon": "", "location_note": "GPS off"}
    )
    assert response.status_code == 302
    visit = reload(db_session, visit)
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.location_note == "GPS off"
    assert visit.check_in_flags == ["no_location"]


@pytest.mark.parametrize(
    "data",
    [
        {"lat": "", "lon": "", "location_note": ""},
        {"lat": "", "lon": "", "location_note": "no"},
        {"lat": "north", "lon": "120.86"},
    ],
)
def test_check_in_without_location_or_reason_is_refused(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient, data: dict[str, str]
) -> None:
    visit = caregiver_visit(caregiver)
    response = phone.post(f"/visits/{visit.id}/check-in", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="check-in-form"' in page
    if data["lat"] == "":
        assert "type the reason (at least 4 characters)" in page
    assert reload(db_session, visit).status is VisitStatus.ASSIGNED


def test_check_in_twice_is_a_conflict(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    response = phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    assert response.status_code == 409
    assert "already checked in" in response.get_data(as_text=True)


# check-out and the receipt


def test_check_out_shows_the_receipt_with_rating_link_and_qr(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)

    response = phone.post(
        f"/visits/{visit.id}/check-out",
        data={"done_item_codes": ["bathing"], "note": "洗澡顺利", **HOME},
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/visits/{visit.id}/receipt")
    visit = reload(db_session, visit)
    assert visit.status is VisitStatus.COMPLETED
    assert visit.done_item_codes == ["bathing"]
    assert visit.note == "洗澡顺利"
    page = phone.get(f"/visits/{visit.id}/receipt").get_data(as_text=True)
    match = re.search(r'data-testid="rating-link">(http://localhost/rate/([\w-]+))<', page)
    assert match is not None
    assert token_hash(match.group(2)) == visit.rating_token_hash
    assert re.search(r'<svg class="qr-code" role="img"[^>]*viewBox', page)
    assert "洗澡顺利" in page
    assert not has_inline_script(page)


def test_check_out_right_after_check_in_warns_the_caregiver(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver, duration_minutes=60)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)

    response = phone.post(
        f"/visits/{visit.id}/check-out",
        data={"done_item_codes": ["bathing"], **HOME},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert 'data-testid="visit-receipt"' in page
    assert "Checked out after 0 minutes, far less than the 60 minutes" in page
    assert "flash-warning" in page


def test_check_out_after_the_planned_minutes_gives_no_warning(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient, clock: PinnedClock
) -> None:
    visit = caregiver_visit(caregiver, duration_minutes=60)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    clock.advance(dt.timedelta(minutes=55))

    response = phone.post(
        f"/visits/{visit.id}/check-out",
        data={"done_item_codes": ["bathing"], **HOME},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert 'data-testid="visit-receipt"' in page
    assert "Checked out after" not in page


def test_receipt_without_the_token_explains_the_phone_survey(
    app: Any, db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    phone.post(f"/visits/{visit.id}/check-out", data={"done_item_codes": ["bathing"]})
    other_phone = app.test_client()  # another device: the link was shown on the first one
    assert caregiver.user is not None
    other_phone.post("/login", data={"username": caregiver.user.username, "password": PASSWORD})
    page = other_phone.get(f"/visits/{visit.id}/receipt").get_data(as_text=True)
    assert 'data-testid="no-rating-link"' in page
    assert "<svg" not in page


def test_receipt_of_an_open_visit_goes_back_to_the_visit(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    response = phone.get(f"/visits/{visit.id}/receipt")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/visits/{visit.id}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Tick at least one"),
        ({"done_item_codes": ["feeding"]}, "Tick at least one"),
        ({"done_item_codes": ["bathing"], "note": "x" * 501}, "500"),
    ],
)
def test_check_out_refuses_bad_input(
    db_session: Session,
    caregiver: Caregiver,
    phone: FlaskClient,
    data: dict[str, Any],
    message: str,
) -> None:
    visit = caregiver_visit(caregiver)
    phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    response = phone.post(f"/visits/{visit.id}/check-out", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    visit = reload(db_session, visit)
    assert visit.status is VisitStatus.CHECKED_IN
    assert visit.rating_token_hash is None


def test_check_out_before_check_in_is_a_conflict(
    db_session: Session, caregiver: Caregiver, phone: FlaskClient
) -> None:
    visit = caregiver_visit(caregiver)
    response = phone.post(f"/visits/{visit.id}/check-out", data={"done_item_codes": ["bathing"]})
    assert response.status_code == 409
    assert "Check in before you check out." in response.get_data(as_text=True)
    assert reload(db_session, visit).status is VisitStatus.ASSIGNED


def test_check_in_form_needs_a_csrf_token_when_csrf_is_on(
    app: Any,
    db_session: Session,
    caregiver: Caregiver,
    phone: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visit = caregiver_visit(caregiver)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = phone.post(f"/visits/{visit.id}/check-in", data=HOME)
    assert response.status_code == 400
    assert reload(db_session, visit).status is VisitStatus.ASSIGNED
