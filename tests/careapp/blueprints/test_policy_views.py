"""The policy pages: administrators list versions and create a new one from the one in force."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, PolicyVersion
from tests.conftest import TODAY
from tests.factories import PolicyVersionFactory, UserFactory

LEVELS = ("intact", "mild", "moderate", "severe")
TABLE = {
    "intact": ("0", "0", "1", "1"),
    "mild": ("1", "1", "1", "2"),
    "moderate": ("2", "2", "2", "3"),
    "severe": ("3", "3", "4", "5"),
}
LEVEL_BANDS = {
    "adl": {"severe": (0, 40), "moderate": (41, 60), "mild": (61, 99), "intact": (100, 100)},
    "cognition": {"severe": (0, 3), "moderate": (4, 11), "mild": (12, 15), "intact": (16, 16)},
    "sensory": {"severe": (0, 3), "moderate": (4, 7), "mild": (8, 11), "intact": (12, 12)},
}
BARTHEL_BANDS = {
    "severe": (0, 40),
    "moderate": (41, 60),
    "mild": (61, 99),
    "independent": (100, 100),
}


def form_data(**changes: Any) -> dict[str, str]:
    """A complete submission of the default rules and mapping, national standard in force."""
    data = {
        "name": "2027 national standard",
        "effective_on": (TODAY + dt.timedelta(days=38)).isoformat(),
        "instrument_code": "national_2021",
    }
    for grade, (low, high) in BARTHEL_BANDS.items():
        data[f"limit__barthel__total__{grade}__min"] = str(low)
        data[f"limit__barthel__total__{grade}__max"] = str(high)
    for indicator, bands in LEVEL_BANDS.items():
        for level, (low, high) in bands.items():
            data[f"limit__national_2021__{indicator}__{level}__min"] = str(low)
            data[f"limit__national_2021__{indicator}__{level}__max"] = str(high)
    for row, cells in TABLE.items():
        for column, cell in zip(LEVELS, cells, strict=True):
            data[f"cell__national_2021__{row}__{column}"] = cell
    barthel = {"independent": "none", "mild": "none", "moderate": "moderate", "severe": "severe"}
    for grade, category in barthel.items():
        data[f"category__barthel__{grade}"] = category
    national = ["none", "none", "moderate", "severe", "severe", "severe"]
    for grade, category in enumerate(national):
        data[f"category__national_2021__{grade}"] = category
    data.update(changes)
    return data


@pytest.fixture
def admin_client(db_session: Session, login_as: Any) -> FlaskClient:
    client: FlaskClient = login_as(UserFactory(admin=True))
    client.post("/lang/en")
    refresh()
    return client


@pytest.fixture
def policy(db_session: Session) -> Any:
    return PolicyVersionFactory()


def policy_events(db_session: Session) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.create")))


def count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(PolicyVersion)) or 0


def test_policy_list_shows_versions_with_their_rules(
    admin_client: FlaskClient, policy: Any
) -> None:
    PolicyVersionFactory(
        effective_on=TODAY + dt.timedelta(days=10), name="Next", instrument_code="national_2021"
    )
    PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), name="City 2026")
    page = admin_client.get("/policy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Next") < html.index("City 2026") < html.index("Default (spec figures)")
    statuses = re.findall(r'data-testid="policy-status">([^<]+)<', html)
    assert statuses == ["Scheduled", "In force", "Superseded"]
    assert "National long-term care disability grading standard" in html
    assert "Barthel Index" in html
    assert "Severe disability III" in html  # a table cell
    assert "医保办发〔2021〕37号" in html  # the note naming the document
    assert 'href="/policy/new"' in html


def test_policy_list_says_when_there_is_no_version(admin_client: FlaskClient) -> None:
    assert "No policy version is stored yet." in admin_client.get("/policy").get_data(True)


def test_policy_new_is_prefilled_from_the_version_in_force(
    admin_client: FlaskClient, policy: Any
) -> None:
    page = admin_client.get("/policy/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'value="{TODAY.isoformat()}"' in html
    assert '<option selected value="barthel">' in html
    assert 'name="limit__barthel__total__severe__max"' in html
    assert 'name="limit__national_2021__cognition__mild__min"' in html
    assert 'name="cell__national_2021__severe__severe"' in html
    assert 'name="category__national_2021__2"' in html
    assert 'value="40"' in html
    assert "Combination table" in html
    assert "0 Basically normal · 1 Mild disability · 2 Moderate disability" in html


def test_policy_new_creates_a_version_and_audits(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data(
        **{
            "cell__national_2021__mild__moderate": "2",
            "limit__barthel__total__severe__max": "45",
            "limit__barthel__total__moderate__min": "46",
            "category__national_2021__2": "severe",
        }
    )
    response = admin_client.post("/policy/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/policy")
    version = db_session.scalars(
        select(PolicyVersion).where(PolicyVersion.name == "2027 national standard")
    ).one()
    assert version.instrument_code == "national_2021"
    assert version.effective_on == TODAY + dt.timedelta(days=38)
    assert version.grading_rules["national_2021"]["table"][1] == ["1", "1", "2", "2"]
    assert version.grading_rules["barthel"]["bands"][0]["max"] == 45
    assert version.grade_categories["national_2021"]["2"] == "severe"
    assert version.grading_rules["national_2021"]["levels"][0]["label_zh"] == "能力完好"
    assert len(policy_events(db_session)) == 1
    listed = admin_client.get("/policy").get_data(as_text=True)
    assert "2027 national standard" in listed
    assert "is stored" in listed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"effective_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "before today"),
        ({"effective_on": "2016-01-01"}, "before today"),
        ({"effective_on": ""}, "Choose the date the version takes effect."),
        ({"effective_on": "tomorrow"}, "Not a valid date value."),
        ({"name": ""}, "Name the new version."),
        ({"name": "x" * 101}, "Field cannot be longer than 100 characters."),
        ({"instrument_code": "nba"}, "Not a valid choice."),
        (
            {"cell__national_2021__severe__intact": "1"},
            "row “Severely impaired”, column “Intact”: grade 1 is lower than grade 2 in the "
            "cell above it",
        ),
        (
            {"cell__national_2021__intact__severe": "0"},
            "grade 0 is lower than grade 1 in the cell to its left",
        ),
        ({"cell__national_2021__mild__mild": "6"}, "Not a valid choice."),
        (
            {"limit__barthel__total__moderate__min": "45"},
            "Barthel Index of activities of daily living, bands: the band “Moderate dependency” "
            "must start right after the band before it",
        ),
        (
            {"limit__national_2021__sensory__intact__max": "13"},
            "level bands of “Sensory perception and communication”: the last band “Intact” must "
            "end at 12",
        ),
        (
            {"limit__national_2021__adl__severe__min": "5"},
            "the first band “Severely impaired” must start at 0",
        ),
        ({"limit__national_2021__adl__severe__min": ""}, "Enter a whole number."),
        ({"limit__national_2021__adl__severe__min": "x"}, "Not a valid integer value."),
        ({"limit__barthel__total__mild__max": "-1"}, "Number must be between 0 and 10000."),
        (
            {"category__national_2021__4": "none"},
            "grade 4 gives a lesser benefit category than a less severe grade",
        ),
        ({"category__barthel__severe": "huge"}, "Not a valid choice."),
    ],
)
def test_policy_new_refuses_bad_input_writing_nothing(
    admin_client: FlaskClient,
    db_session: Session,
    policy: Any,
    changes: dict[str, str],
    message: str,
) -> None:
    response = admin_client.post("/policy/new", data=form_data(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert count(db_session) == 1
    assert policy_events(db_session) == []


def test_policy_new_refuses_a_missing_table_cell(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data()
    del data["cell__national_2021__moderate__severe"]
    response = admin_client.post("/policy/new", data=data)
    assert response.status_code == 400
    assert count(db_session) == 1


def test_policy_new_refuses_a_date_taken_by_a_scheduled_version(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    PolicyVersionFactory(effective_on=TODAY + dt.timedelta(days=38), name="Scheduled")
    response = admin_client.post("/policy/new", data=form_data())
    assert response.status_code == 400
    assert "A version already takes effect on" in response.get_data(as_text=True)
    assert count(db_session) == 2


def test_policy_new_shows_errors_in_chinese(
    db_session: Session, login_as: Any, policy: Any
) -> None:
    client = login_as(UserFactory(admin=True))
    data = form_data(**{"cell__national_2021__severe__intact": "1"})
    response = client.post("/policy/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "组合表" in html
    assert "重度受损" in html
    assert count(db_session) == 1


@pytest.mark.parametrize("role", ["assessor", "manager", "caregiver"])
def test_policy_pages_are_forbidden_to_non_administrators(
    db_session: Session, login_as: Any, policy: Any, role: str
) -> None:
    client = login_as(UserFactory(**{role: True}))
    assert client.get("/policy").status_code == 403
    assert client.get("/policy/new").status_code == 403
    assert client.post("/policy/new", data=form_data()).status_code == 403
    assert count(db_session) == 1


def test_admin_home_links_to_the_policy_pages(admin_client: FlaskClient) -> None:
    assert 'href="/policy"' in admin_client.get("/").get_data(as_text=True)
