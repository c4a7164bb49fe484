"""Claim-flag pages: the administrator's list and review, the manager's read-only view."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import (
    Caregiver,
    ClaimFlag,
    ClaimFlagStatus,
    User,
    VerificationMethod,
    Visit,
)
from careapp.services.actor import Actor
from careapp.services.claims import ClaimAuditSettings, audit_days
from scheduling.claims import ClaimFlagKind
from scheduling.visits import VisitStatus
from tests import factories as f
from tests.conftest import Statements
from tests.factories import NOW, TODAY

SYSTEM = Actor(user_id=None, role=None, address="test")


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(TODAY.year, TODAY.month, TODAY.day, hour - 8, minute, tzinfo=dt.UTC)


def done(
    caregiver: Caregiver,
    start: dt.datetime,
    *,
    home: tuple[float, float] = (32.0, 120.86),
    manual: bool = False,
) -> Visit:
    visit = f.caregiver_visit(caregiver)
    visit.person.home_lat, visit.person.home_lon = home
    visit.status = VisitStatus.COMPLETED
    visit.verification = VerificationMethod.MANUAL if manual else VerificationMethod.PHONE
    visit.checked_in_at = start
    visit.checked_out_at = start + dt.timedelta(hours=1)
    visit.check_in_flags = []
    f.current_session().flush()
    return visit


def flag_of(session: Session, visit: Visit, kind: ClaimFlagKind) -> ClaimFlag:
    found = session.scalar(
        select(ClaimFlag).where(ClaimFlag.visit_id == visit.id, ClaimFlag.kind == kind)
    )
    assert found is not None
    return found


@pytest.fixture
def world(db_session: Session) -> dict[str, object]:
    caregiver = f.CaregiverFactory(name="王小明")
    a = done(caregiver, at(9), home=(32.0, 120.86))
    b = done(caregiver, at(9, 30), home=(32.01, 120.86))
    other = done(f.CaregiverFactory(name="李大力"), at(14), manual=True)
    audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, ClaimAuditSettings())
    return {
        "admin": f.UserFactory(admin=True),
        "manager": f.UserFactory(manager=True, provider=caregiver.provider),
        "a": a,
        "b": b,
        "other": other,
    }


def test_the_admin_list_explains_each_flag_with_masked_names(
    client: FlaskClient,
    login_as,
    world: dict[str, object],  # type: ignore[no-untyped-def]
) -> None:
    login_as(world["admin"])
    client.post("/lang/en")
    a, b = world["a"], world["b"]
    assert isinstance(a, Visit)
    assert isinstance(b, Visit)
    page = client.get("/claims").get_data(as_text=True)
    assert (
        f"Caregiver 王** was also checked in at another home (visit {b.id}, 09:30–10:30) "
        "at the same time, for 30 minutes."
    ) in page
    assert "王小明" not in page
    assert "李大力" not in page
    assert "entered by hand afterwards (14:00–15:00)" in page
    assert "faster than the 60 km/h possible" not in page  # b: no speed, checked in before
    assert "nobody can be in both places" in page


def test_the_list_in_chinese(
    client: FlaskClient,
    login_as,
    world: dict[str, object],  # type: ignore[no-untyped-def]
) -> None:
    login_as(world["admin"])
    client.post("/lang/zh")
    page = client.get("/claims").get_data(as_text=True)
    assert "护理员 王** 同一时间还在另一户签到服务" in page
    assert "结算疑点" in page


def test_the_list_filters_and_puts_open_flags_first(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    world: dict[str, object],
) -> None:
    login_as(world["admin"])
    other = world["other"]
    assert isinstance(other, Visit)
    flag = flag_of(db_session, other, ClaimFlagKind.MANUAL_ENTRY)
    flag.status = ClaimFlagStatus.CLEARED
    db_session.flush()
    page = client.get("/claims").get_data(as_text=True)
    rows = [part.split('"')[0] for part in page.split('data-flag-id="')[1:]]
    assert rows[-1] == str(flag.id)
    manual = client.get("/claims?kind=manual_entry").get_data(as_text=True)
    assert manual.count('data-testid="flag-row"') == 1
    cleared = client.get("/claims?status=cleared&month=2026-11").get_data(as_text=True)
    assert cleared.count('data-testid="flag-row"') == 1
    mine = client.get(f"/claims?provider_id={other.provider_id}").get_data(as_text=True)
    assert mine.count('data-testid="flag-row"') == 1
    assert client.get("/claims?month=2026-13").status_code == 400
    assert client.get("/claims?kind=nonsense").status_code == 400
    assert client.get("/claims?month=2025-01").get_data(as_text=True).count("flag-row") == 0


def test_a_manager_sees_only_their_own_flags_read_only(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    world: dict[str, object],
) -> None:
    login_as(world["manager"])
    a, other = world["a"], world["other"]
    assert isinstance(a, Visit)
    assert isinstance(other, Visit)
    page = client.get("/claims").get_data(as_text=True)
    assert page.count('data-testid="flag-row"') == 3  # a: overlap; b: overlap and travel
    assert 'name="provider_id"' not in page
    own = flag_of(db_session, a, ClaimFlagKind.OVERLAPPING_VISITS)
    detail = client.get(f"/claims/{own.id}")
    assert detail.status_code == 200
    assert 'data-testid="review-form"' not in detail.get_data(as_text=True)
    foreign = flag_of(db_session, other, ClaimFlagKind.MANUAL_ENTRY)
    assert client.get(f"/claims/{foreign.id}").status_code == 404
    response = client.post(
        f"/claims/{own.id}/review", data={"decision": "clear", "note": "我们认为没问题"}
    )
    assert response.status_code == 403
    db_session.refresh(own)
    assert own.status is ClaimFlagStatus.OPEN


def test_an_administrator_clears_a_flag_with_a_note_once(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    world: dict[str, object],
) -> None:
    admin = world["admin"]
    assert isinstance(admin, User)
    login_as(admin)
    client.post("/lang/en")
    other = world["other"]
    assert isinstance(other, Visit)
    flag = flag_of(db_session, other, ClaimFlagKind.MANUAL_ENTRY)
    page = client.get(f"/claims/{flag.id}").get_data(as_text=True)
    assert 'data-testid="review-form"' in page
    assert 'data-testid="caregiver-id"' in page
    assert "Entered by hand" in page

    missing = client.post(f"/claims/{flag.id}/review", data={"decision": "clear", "note": ""})
    assert missing.status_code == 400
    assert "Say why." in missing.get_data(as_text=True)
    short = client.post(f"/claims/{flag.id}/review", data={"decision": "clear", "note": "ok"})
    assert short.status_code == 400
    assert "at least 4 characters" in short.get_data(as_text=True)

    response = client.post(
        f"/claims/{flag.id}/review", data={"decision": "clear", "note": "纸质记录与家属核实无误"}
    )
    assert response.status_code == 302
    db_session.refresh(flag)
    assert flag.status is ClaimFlagStatus.CLEARED
    assert flag.reviewed_by_id == admin.id
    after = client.get(f"/claims/{flag.id}").get_data(as_text=True)
    assert "纸质记录与家属核实无误" in after
    assert 'data-testid="review-form"' not in after

    again = client.post(
        f"/claims/{flag.id}/review", data={"decision": "uphold", "note": "改为不予结算"}
    )
    assert again.status_code == 409
    assert "already been reviewed" in again.get_data(as_text=True)
    db_session.refresh(flag)
    assert flag.status is ClaimFlagStatus.CLEARED


def test_reviewing_an_unknown_flag_is_404(
    client: FlaskClient,
    login_as,
    world: dict[str, object],  # type: ignore[no-untyped-def]
) -> None:
    login_as(world["admin"])
    response = client.post("/claims/999999/review", data={"decision": "clear", "note": "核实无误"})
    assert response.status_code == 404


@pytest.mark.parametrize("extra", [0, 6])
def test_the_list_costs_the_same_queries_for_more_flags(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    world: dict[str, object],
    count_queries: Statements,
    extra: int,
) -> None:
    for _ in range(extra):
        done(f.CaregiverFactory(), at(16), manual=True)
    audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, ClaimAuditSettings())
    login_as(world["admin"])
    count_queries.clear()
    page = client.get("/claims").get_data(as_text=True)
    assert page.count('data-testid="flag-row"') == 4 + extra
    selects = [s for s in count_queries if s.startswith("SELECT")]
    assert len(selects) <= 4  # the user, the providers, the flags with their visits


@pytest.mark.parametrize(
    ("lang", "label", "sentence"),
    [
        (
            "en",
            "Visit too short",
            "Caregiver 赵* checked out after 5 minutes (09:00–09:05), less than the 30 minutes "
            "required of the 60 minutes of service items planned.",
        ),
        ("zh", "服务时长过短", "护理员 赵* 签到 5 分钟后即签退（09:00–09:05）"),
    ],
)
def test_a_short_visit_flag_is_explained(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    lang: str,
    label: str,
    sentence: str,
) -> None:
    visit = done(f.CaregiverFactory(name="赵六"), at(9))
    visit.duration_minutes = 60
    visit.checked_out_at = at(9, 5)
    audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, ClaimAuditSettings())
    flag = flag_of(db_session, visit, ClaimFlagKind.SHORT_VISIT)
    login_as(f.UserFactory(admin=True))
    client.post(f"/lang/{lang}")
    page = client.get(f"/claims/{flag.id}").get_data(as_text=True)
    assert label in page
    assert sentence in page


def test_a_far_check_in_is_not_called_at_the_home_on_the_flag_page(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
) -> None:
    visit = done(f.CaregiverFactory(), at(9))
    visit.check_in_lat, visit.check_in_lon = 32.0594, 120.86
    visit.check_in_flags = ["far_from_home"]
    audit_days(db_session, SYSTEM, TODAY, TODAY, NOW, ClaimAuditSettings())
    flag = flag_of(db_session, visit, ClaimFlagKind.FAR_FROM_HOME)
    login_as(f.UserFactory(admin=True))
    client.post("/lang/en")
    page = client.get(f"/claims/{flag.id}").get_data(as_text=True)
    assert "Checked in 6.6 km from the client&#39;s home — flagged" in page
    assert "Verified on the phone at the home" not in page


def test_recording_a_review_asks_for_confirmation_first(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    db_session: Session,
    world: dict[str, object],
) -> None:
    other = world["other"]
    assert isinstance(other, Visit)
    flag = flag_of(db_session, other, ClaimFlagKind.MANUAL_ENTRY)
    login_as(world["admin"])
    client.post("/lang/en")
    page = client.get(f"/claims/{flag.id}").get_data(as_text=True)
    assert 'data-confirm="Record this review decision? A reviewed flag cannot be reopened."' in page
