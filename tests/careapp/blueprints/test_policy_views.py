"""The policy pages: administrators list versions and create a new one from the one in force."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, EntitlementStart, PolicyVersion
from tests.factories import TODAY, PolicyVersionFactory, UserFactory

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
RATES = {
    "rate__severe__medical_care_institution": "50.00",
    "rate__severe__elderly_care_institution": "40.00",
    "rate__severe__home_cash": "15.00",
    "rate__moderate__medical_care_institution": "10.00",
    "rate__moderate__elderly_care_institution": "10.00",
    "rate__moderate__home_service": "10.00",
    "rate__moderate__home_cash": "10.00",
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
        "entitlement_starts_from": "decision",
        "appeal_days": "30",
        "publicity_working_days": "5",
        "reassessment_interval_months": "24",
        "min_disability_months": "6",
        "home_service_monthly_budget": "1200.00",
    }
    data.update(RATES)
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


def policy_events(db_session: Session) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.create")))


def count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(PolicyVersion)) or 0


@pytest.mark.usefixtures("english")
def test_policy_list_shows_versions_with_their_rules(
    admin_client: FlaskClient, policy: Any
) -> None:
    PolicyVersionFactory(
        effective_on=TODAY + dt.timedelta(days=10), name="Next", instrument_code="national_2021"
    )
    PolicyVersionFactory(
        effective_on=dt.date(2026, 1, 1),
        name="City 2026",
        entitlement_starts_from=EntitlementStart.APPLICATION,
        appeal_days=60,
    )
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
    windows = re.findall(r'data-testid="policy-windows">([^<]+)<', html)
    assert windows[1] == (
        "Entitlements start on the application date; appeal within 60 days; "
        "publicity 5 working days; re-assessment every 24 months."
    )
    assert windows[2].startswith("Entitlements start on the decision date; appeal within 30 days")


@pytest.mark.usefixtures("english")
def test_policy_list_says_when_there_is_no_version(admin_client: FlaskClient) -> None:
    assert "No policy version is stored yet." in admin_client.get("/policy").get_data(True)


@pytest.mark.usefixtures("english")
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
    assert re.search(r'name="appeal_days"[^>]*value="30"', html)
    assert re.search(r'name="publicity_working_days"[^>]*value="5"', html)
    assert re.search(r'name="reassessment_interval_months"[^>]*value="24"', html)
    assert '<option selected value="decision">' in html


@pytest.mark.usefixtures("english")
def test_policy_new_creates_a_version_and_audits(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data(
        **{
            "cell__national_2021__mild__moderate": "2",
            "limit__barthel__total__severe__max": "45",
            "limit__barthel__total__moderate__min": "46",
            "category__national_2021__2": "severe",
            "entitlement_starts_from": "application",
            "appeal_days": "45",
            "publicity_working_days": "3",
            "reassessment_interval_months": "12",
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
    assert (version.appeal_days, version.publicity_working_days) == (45, 3)
    assert version.reassessment_interval_months == 12
    assert version.entitlement_starts_from.value == "application"
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
        ({"entitlement_starts_from": "birthday"}, "Not a valid choice."),
        ({"appeal_days": "0"}, "Enter a whole number from 1 to 365."),
        ({"appeal_days": ""}, "Enter a whole number."),
        ({"publicity_working_days": "31"}, "Enter a whole number from 1 to 30."),
        ({"reassessment_interval_months": "x"}, "Not a valid integer value."),
        ({"min_disability_months": "61"}, "Enter a whole number from 0 to 60."),
        ({"min_disability_months": ""}, "Enter a whole number."),
    ],
)
@pytest.mark.usefixtures("english")
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


@pytest.mark.usefixtures("english")
def test_policy_new_refuses_a_missing_table_cell(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data()
    del data["cell__national_2021__moderate__severe"]
    response = admin_client.post("/policy/new", data=data)
    assert response.status_code == 400
    assert count(db_session) == 1


@pytest.mark.usefixtures("english")
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


@pytest.mark.usefixtures("english")
def test_admin_home_links_to_the_policy_pages(admin_client: FlaskClient) -> None:
    assert 'href="/policy"' in admin_client.get("/").get_data(as_text=True)


# --- rates, monthly budget and minimum months: yuan typed as text, stored as fen ------------


def field_errors(html: str, name: str) -> list[str]:
    """The error messages shown right after the input named `name`."""
    errors = r'(?:\s*<span id="[^"]*">)?((?:\s*<small class="field-error">[^<]*</small>)*)'
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>{errors}', html)
    assert found is not None, name
    return re.findall(r'<small class="field-error">([^<]*)</small>', found.group(1))


@pytest.mark.usefixtures("english")
def test_policy_new_shows_the_figures_in_force_in_yuan(
    admin_client: FlaskClient, db_session: Session
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), name="City 2026")
    in_force = PolicyVersionFactory(effective_on=dt.date(2026, 6, 1), name="City 2026-06")
    for rate in in_force.rates:
        if rate.daily_fen is not None:
            rate.daily_fen += 5  # e.g. 50.05 yuan
    in_force.home_service_monthly_budget_fen = 135_050
    in_force.min_disability_months = 4
    db_session.flush()
    html = admin_client.get("/policy/new").get_data(as_text=True)
    assert re.search(r'name="rate__severe__medical_care_institution"[^>]*value="50.05"', html)
    assert re.search(r'name="rate__severe__elderly_care_institution"[^>]*value="40.05"', html)
    assert re.search(r'name="rate__severe__home_cash"[^>]*value="15.05"', html)
    assert re.search(r'name="rate__moderate__home_service"[^>]*value="10.05"', html)
    assert re.search(r'name="home_service_monthly_budget"[^>]*value="1350.50"', html)
    assert re.search(r'name="min_disability_months"[^>]*value="4"', html)
    assert 'inputmode="decimal"' in html
    # Severe at home with door-to-door service stays per visit: no daily-rate field.
    assert 'name="rate__severe__home_service"' not in html
    assert 'data-testid="policy-per-visit">Paid per visit, within the monthly budget<' in html


@pytest.mark.usefixtures("english")
def test_policy_new_stores_the_typed_yuan_as_exact_fen(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data(
        **{
            "rate__severe__medical_care_institution": "55.5",
            "rate__severe__home_cash": " 18.01 ",
            "rate__moderate__elderly_care_institution": "0",
            "rate__moderate__home_service": "0.10",
            "home_service_monthly_budget": "1350.50",
            "min_disability_months": "3",
            "rate__severe__home_service": "40",  # not a field: the row stays per visit
        }
    )
    response = admin_client.post("/policy/new", data=data)
    assert response.status_code == 302
    version = db_session.scalars(
        select(PolicyVersion).where(PolicyVersion.name == "2027 national standard")
    ).one()
    rates = {(r.category.value, r.care_setting.value): r.daily_fen for r in version.rates}
    assert rates == {
        ("severe", "medical_care_institution"): 5_550,
        ("severe", "elderly_care_institution"): 4_000,
        ("severe", "home_service"): None,
        ("severe", "home_cash"): 1_801,
        ("moderate", "medical_care_institution"): 1_000,
        ("moderate", "elderly_care_institution"): 0,
        ("moderate", "home_service"): 10,
        ("moderate", "home_cash"): 1_000,
    }
    assert version.home_service_monthly_budget_fen == 135_050
    assert version.min_disability_months == 3
    listed = admin_client.get("/policy").get_data(as_text=True)
    budgets = re.findall(r'data-testid="policy-budget">([^<]+)<', listed)
    assert budgets == ["1,350.50 yuan a month", "1,200.00 yuan a month"]
    months = re.findall(r'data-testid="policy-min-disability">([^<]+)<', listed)
    assert months == [
        "At least 3 months of disability.",
        "At least 6 months of disability.",
    ]
    first = listed.index('data-testid="policy-rates"')
    new_rates = listed[first : listed.index("</table>", first)]
    assert "55.50 yuan a day" in new_rates
    assert "18.01 yuan a day" in new_rates
    assert "0.10 yuan a day" in new_rates
    assert "Paid per visit, within the monthly budget" in new_rates


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("rate__severe__home_cash", "12.345", "At most two decimals: amounts are whole fen."),
        ("rate__severe__home_cash", "-5", "An amount cannot be negative."),
        ("rate__severe__home_cash", "abc", "Enter an amount in yuan, e.g. 50 or 12.50."),
        ("rate__severe__home_cash", "1e3", "Enter an amount in yuan, e.g. 50 or 12.50."),
        ("rate__severe__home_cash", "NaN", "Enter an amount in yuan, e.g. 50 or 12.50."),
        ("rate__moderate__home_cash", "", "Enter an amount in yuan, e.g. 50 or 12.50."),
        ("rate__severe__medical_care_institution", "1000.01", "At most 1,000.00 yuan."),
        ("home_service_monthly_budget", "10000.01", "At most 10,000.00 yuan."),
        ("home_service_monthly_budget", "1,200", "Enter an amount in yuan, e.g. 50 or 12.50."),
        ("home_service_monthly_budget", "-0.01", "An amount cannot be negative."),
    ],
)
@pytest.mark.usefixtures("english")
def test_policy_new_refuses_bad_amounts_on_their_field(
    admin_client: FlaskClient,
    db_session: Session,
    policy: Any,
    name: str,
    typed: str,
    message: str,
) -> None:
    response = admin_client.post("/policy/new", data=form_data(**{name: typed}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_errors(html, name) == [message]
    assert re.search(rf'name="{name}"[^>]*value="{re.escape(typed)}"', html)  # kept as typed
    assert count(db_session) == 1
    assert policy_events(db_session) == []


@pytest.mark.usefixtures("english")
def test_policy_new_refuses_a_missing_rate(
    admin_client: FlaskClient, db_session: Session, policy: Any
) -> None:
    data = form_data()
    del data["rate__moderate__home_service"]
    response = admin_client.post("/policy/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_errors(html, "rate__moderate__home_service") == [
        "Enter an amount in yuan, e.g. 50 or 12.50."
    ]
    assert count(db_session) == 1


def test_policy_new_shows_amount_errors_in_chinese(
    db_session: Session, login_as: Any, policy: Any
) -> None:
    client = login_as(UserFactory(admin=True))
    data = form_data(
        **{
            "rate__severe__home_cash": "12.345",
            "rate__moderate__home_cash": "-1",
            "home_service_monthly_budget": "20000",
            "min_disability_months": "99",
        }
    )
    response = client.post("/policy/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_errors(html, "rate__severe__home_cash") == ["最多两位小数：金额以分为最小单位。"]
    assert field_errors(html, "rate__moderate__home_cash") == ["金额不能为负数。"]
    assert field_errors(html, "home_service_monthly_budget") == ["最多 10,000.00 元。"]
    assert field_errors(html, "min_disability_months") == ["请输入0至60之间的整数。"]
    assert "在月度限额内按次结算" in html
    assert "上门服务月度限额（元）" in html
    assert count(db_session) == 1
