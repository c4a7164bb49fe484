"""The administrator's dispatch page: run dispatch by hand and see the last runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import careapp.blueprints.dispatch.views as dispatch_views
from careapp.core.errors import ConflictError
from careapp.models import DispatchRun, DispatchRunStatus, Visit
from scheduling.visits import VisitStatus
from tests.factories import (
    TODAY,
    CaregiverFactory,
    ProviderFactory,
    UserFactory,
    provider_care_plan,
)

TOMORROW = TODAY + dt.timedelta(days=1)


def runs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(DispatchRun)) or 0


@pytest.mark.usefixtures("english")
def test_dispatch_run_shows_the_form_with_tomorrow_and_the_horizon(
    admin_client: FlaskClient,
) -> None:
    html = admin_client.get("/dispatch").get_data(as_text=True)
    assert f'value="{TOMORROW.isoformat()}"' in html
    assert 'name="days"' in html
    assert 'value="2"' in html
    assert "No dispatch has run yet." in html


@pytest.mark.usefixtures("english")
def test_dispatch_run_dispatches_and_lists_the_run(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory()
    CaregiverFactory(provider=provider)
    provider_care_plan(provider)
    provider_care_plan(provider).person.home_lat = None  # cannot be routed
    db_session.flush()
    response = admin_client.post("/dispatch", data={"first_day": TOMORROW.isoformat(), "days": "2"})
    assert response.status_code == 302
    html = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dispatch finished: 4 visits created, 2 assigned, 2 unassigned." in html
    assert "管理员甲" in html
    run = db_session.scalars(select(DispatchRun)).one()
    assert (run.first_day, run.last_day, run.status) == (
        TOMORROW,
        TOMORROW + dt.timedelta(days=1),
        DispatchRunStatus.COMPLETED,
    )
    statuses = db_session.scalars(select(Visit.status)).all()
    assert sorted(s.value for s in statuses) == ["assigned", "assigned", "unassigned", "unassigned"]
    assert VisitStatus.ASSIGNED in statuses


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_day": "", "days": "2"}, "Choose the first day."),
        ({"first_day": "someday", "days": "2"}, "Not a valid date value."),
        ({"first_day": TOMORROW.isoformat(), "days": "0"}, "Between 1 and 14 days."),
        ({"first_day": TOMORROW.isoformat(), "days": "99"}, "Between 1 and 14 days."),
        ({"first_day": TOMORROW.isoformat(), "days": ""}, "Enter the number of days."),
    ],
)
@pytest.mark.usefixtures("english")
def test_dispatch_run_rejects_bad_input_and_writes_nothing(
    db_session: Session, admin_client: FlaskClient, data: dict[str, str], message: str
) -> None:
    response = admin_client.post("/dispatch", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert runs(db_session) == 0


@pytest.mark.usefixtures("english")
def test_dispatch_run_reports_a_run_in_progress(
    db_session: Session, admin_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*args: object, **kwargs: object) -> None:
        raise ConflictError("Another dispatch run is in progress.")

    monkeypatch.setattr(dispatch_views, "dispatch_visits", busy)
    response = admin_client.post("/dispatch", data={"first_day": TOMORROW.isoformat(), "days": "1"})
    assert response.status_code == 409
    assert "Another dispatch run is in progress." in response.get_data(as_text=True)


@pytest.mark.parametrize("trait", ["manager", "caregiver", "assessor"])
def test_dispatch_run_is_for_administrators_only(
    db_session: Session, login_as: Any, trait: str
) -> None:
    client = login_as(UserFactory(**{trait: True}))
    assert client.get("/dispatch").status_code == 403
    assert (
        client.post("/dispatch", data={"first_day": "2026-11-24", "days": "1"}).status_code == 403
    )
    assert runs(db_session) == 0
