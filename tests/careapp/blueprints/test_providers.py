"""Provider quality pages, complaints, lifting a suspension and the satisfaction report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.models import Complaint, ComplaintStatus, ProviderQualityEvaluation, SuspensionLift
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus
from tests.factories import (
    ComplaintFactory,
    ProviderFactory,
    UserFactory,
    provider_visit,
    rate_visit,
)

ROOT = Path(__file__).resolve().parents[3]


def evaluation(provider_id: int, month: dt.date, before: str, after: str) -> Any:
    return ProviderQualityEvaluation(
        provider_id=provider_id, month=month, planned=50, completed=45, missed=5, late=2,
        rated=10, satisfied=9, flagged_check_ins=1, complaints=3, phone_verified=40,
        manual_entered=5, problems=["too_many_missed", "too_many_complaints"],
        is_failing=True, status_before=ProviderStatus(before), status_after=ProviderStatus(after),
        thresholds={"min_satisfaction": "19/20", "max_missed_share": "1/50",
                    "max_complaints_per_100": "2"},
        evaluated_at=dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC),
    )  # fmt: skip


@pytest.mark.usefixtures("english")
def test_admin_provider_list_shows_status_kind_districts_and_last_month(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory(name="崇川康养", status=ProviderStatus.WARNED)
    idle = ProviderFactory(name="通州护理")
    db_session.add(evaluation(provider.id, dt.date(2026, 10, 1), "active", "warned"))
    db_session.flush()

    page = admin_client.get("/providers").get_data(as_text=True)

    assert "崇川康养" in page
    assert "通州护理" in page
    row = page.split(f'data-testid="provider-{provider.id}"')[1].split("</tr>")[0]
    assert "Warned" in row
    assert "Home care" in row
    assert "Chongchuan District" in row
    assert "2026-10" in row
    assert "10.0 %</span><br><small>5 / 50</small>" in row
    assert "88.9 %</span><br><small>40 / 45</small>" in row
    idle_row = page.split(f'data-testid="provider-{idle.id}"')[1].split("</tr>")[0]
    assert "Not evaluated yet" in idle_row


def test_provider_list_is_chinese_by_default(db_session: Session, login_as: Any) -> None:
    ProviderFactory(status=ProviderStatus.SUSPENDED)
    ProviderFactory(status=ProviderStatus.ACTIVE)
    page = login_as(UserFactory(admin=True)).get("/providers").get_data(as_text=True)
    assert "暂停" in page
    assert "正常" in page  # the provider status, not the policy's "有效"


@pytest.mark.usefixtures("english")
def test_admin_provider_page_shows_evaluations_history_alerts_and_complaints(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory(status=ProviderStatus.WARNED)
    db_session.add(evaluation(provider.id, dt.date(2026, 10, 1), "active", "warned"))
    ComplaintFactory(provider=provider, summary="护理员未按时到达")
    db_session.flush()

    page = admin_client.get(f"/providers/{provider.id}").get_data(as_text=True)

    row = page.split('data-testid="evaluation-2026-10"')[1].split("</article>")[0]
    assert "Too many missed visits" in row
    assert "Too many complaints" in row
    assert "Satisfaction at least 95.0 %" in row
    assert "At most 2.0 complaints per 100 visits" in row
    assert "5 / 50 (10.0 %)" in row
    assert "40 / 45 (88.9 %)" in row
    assert "Active" in row
    assert "Warned" in row
    assert 'data-testid="status-history"' in page
    assert "护理员未按时到达" in page
    assert "Resolve" in page
    assert 'data-testid="lift-suspension"' not in page  # not suspended


@pytest.mark.usefixtures("english")
def test_admin_lifts_a_suspension(db_session: Session, admin_client: FlaskClient) -> None:
    provider = ProviderFactory(status=ProviderStatus.SUSPENDED)
    page = admin_client.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert 'data-testid="lift-suspension"' in page

    refused = admin_client.post(f"/providers/{provider.id}/lift-suspension", data={"reason": " "})
    assert refused.status_code == 400
    assert "Give the reason for lifting the suspension." in refused.get_data(as_text=True)
    db_session.refresh(provider)
    assert provider.status is ProviderStatus.SUSPENDED

    response = admin_client.post(
        f"/providers/{provider.id}/lift-suspension", data={"reason": "整改验收合格"}
    )
    assert response.status_code == 302
    db_session.refresh(provider)
    assert provider.status is ProviderStatus.ACTIVE
    page = admin_client.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert "整改验收合格" in page

    again = admin_client.post(f"/providers/{provider.id}/lift-suspension", data={"reason": "再次"})
    assert again.status_code == 409
    assert db_session.scalar(select(func.count()).select_from(SuspensionLift)) == 1


@pytest.mark.usefixtures("english")
def test_admin_records_and_resolves_a_complaint(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory()
    visit = provider_visit(provider, dt.date(2026, 11, 20), status=VisitStatus.COMPLETED)
    assert admin_client.get(f"/providers/{provider.id}/complaints/new").status_code == 200

    response = admin_client.post(
        f"/providers/{provider.id}/complaints/new",
        data={
            "received_on": "2026-11-21",
            "channel": "in_person",
            "summary": "服务时间不足",
            "visit_id": str(visit.id),
        },
    )

    assert response.status_code == 302
    complaint = db_session.scalars(select(Complaint)).one()
    assert (complaint.visit_id, complaint.person_id) == (visit.id, visit.person_id)
    page = admin_client.get(f"/complaints/{complaint.id}/resolve").get_data(as_text=True)
    assert "服务时间不足" in page
    resolved = admin_client.post(
        f"/complaints/{complaint.id}/resolve", data={"outcome": "upheld", "note": "已责令整改"}
    )
    assert resolved.status_code == 302
    db_session.refresh(complaint)
    assert complaint.status is ComplaintStatus.UPHELD
    again = admin_client.post(
        f"/complaints/{complaint.id}/resolve", data={"outcome": "dismissed", "note": "x"}
    )
    assert again.status_code == 409
    db_session.refresh(complaint)
    assert complaint.status is ComplaintStatus.UPHELD


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"summary": ""}, "Describe the complaint."),
        ({"summary": "x" * 501}, "Keep it under 500 characters."),
        ({"received_on": "2026-11-30"}, "cannot be in the future"),
        ({"received_on": "yesterday"}, "Not a valid date value."),
        ({"visit_id": "other"}, "No visit of this provider has this number."),
        ({"visit_id": "abc"}, "Enter a number."),
        ({"channel": "fax"}, "Not a valid choice."),
    ],
)
@pytest.mark.usefixtures("english")
def test_complaint_form_errors(
    db_session: Session, admin_client: FlaskClient, data: dict[str, str], message: str
) -> None:
    provider = ProviderFactory()
    other = provider_visit(ProviderFactory(), dt.date(2026, 11, 20))
    values = {"received_on": "2026-11-21", "channel": "phone", "summary": "态度差"}
    values.update({k: str(other.id) if v == "other" else v for k, v in data.items()})
    response = admin_client.post(f"/providers/{provider.id}/complaints/new", data=values)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Complaint)) == 0


@pytest.mark.usefixtures("english")
def test_resolve_form_needs_a_decision_and_a_note(
    db_session: Session, admin_client: FlaskClient
) -> None:
    complaint = ComplaintFactory()
    no_outcome = admin_client.post(f"/complaints/{complaint.id}/resolve", data={"note": "x"})
    assert no_outcome.status_code == 400
    no_note = admin_client.post(f"/complaints/{complaint.id}/resolve", data={"outcome": "upheld"})
    assert no_note.status_code == 400
    assert "Give the reason for the decision." in no_note.get_data(as_text=True)
    assert admin_client.get("/complaints/999999999/resolve").status_code == 404


def test_manager_sees_only_their_own_providers_quality(db_session: Session, login_as: Any) -> None:
    manager = UserFactory(manager=True)
    own = manager.provider
    own.status = ProviderStatus.SUSPENDED
    other = ProviderFactory(name="别家公司")
    db_session.add(evaluation(own.id, dt.date(2026, 10, 1), "warned", "suspended"))
    db_session.add(evaluation(other.id, dt.date(2026, 10, 1), "active", "warned"))
    ComplaintFactory(provider=own, summary="本公司投诉")
    ComplaintFactory(provider=other, summary="别家投诉")
    db_session.flush()
    client = login_as(manager)
    client.post("/lang/en")

    page = client.get("/my-provider/quality").get_data(as_text=True)

    assert own.name in page
    assert "本公司投诉" in page
    assert "别家公司" not in page
    assert "别家投诉" not in page
    assert 'data-testid="evaluation-2026-10"' in page
    assert "Suspended" in page
    assert 'data-testid="lift-suspension"' not in page  # read-only
    assert "/resolve" not in page
    assert client.get(f"/providers/{other.id}").status_code == 403
    assert client.get(f"/providers/{own.id}").status_code == 403


@pytest.mark.usefixtures("english")
def test_satisfaction_report_page_and_csv(db_session: Session, admin_client: FlaskClient) -> None:
    provider = ProviderFactory(name="=HYPERLINK(1)")
    for day, stars in ((dt.date(2026, 10, 3), 5), (dt.date(2026, 10, 4), 4),
                       (dt.date(2026, 10, 5), 2), (dt.date(2026, 11, 2), 1)):  # fmt: skip
        rate_visit(provider_visit(provider, day, status=VisitStatus.COMPLETED), stars)

    response = admin_client.get("/quality/satisfaction?from=2026-10&to=2026-11")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    row = page.split(f'data-testid="provider-{provider.id}"')[1].split("</tr>")[0]
    assert "66.7 %" in row
    assert "2 / 3" in row
    assert "0.0 %" in row
    assert "0 / 1" in row
    assert "50.0 %" in row
    assert "2 / 4" in row
    city = page.split('data-testid="city-total"')[1].split("</tr>")[0]
    assert "66.7 %" in city
    assert 'href="/quality/satisfaction.csv?from=2026-10&amp;to=2026-11"' in page

    csv = admin_client.get("/quality/satisfaction.csv?from=2026-10&to=2026-11")
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert "satisfaction-2026-10-2026-11.csv" in csv.headers["Content-Disposition"]
    body = csv.data.decode("utf-8")
    assert body.startswith("\ufeffProvider,2026-10 rated,2026-10 satisfied,2026-10 %")
    lines = body.splitlines()
    assert lines[1] == "'=HYPERLINK(1),3,2,66.7,1,0,0.0,4,2,50.0"
    assert lines[2] == "City total,3,2,66.7,1,0,0.0,4,2,50.0"


@pytest.mark.parametrize(
    "query", ["from=2026-13&to=2026-11", "from=abc", "from=2026-11&to=2026-10",
              "from=2020-01&to=2026-10"],
)  # fmt: skip
@pytest.mark.usefixtures("english")
def test_satisfaction_report_bad_range_is_a_400(admin_client: FlaskClient, query: str) -> None:
    response = admin_client.get(f"/quality/satisfaction?{query}")
    assert response.status_code == 400
    assert admin_client.get(f"/quality/satisfaction.csv?{query}").status_code == 400


@pytest.mark.usefixtures("english")
def test_satisfaction_report_defaults_to_the_last_six_months(
    admin_client: FlaskClient,
) -> None:
    page = admin_client.get("/quality/satisfaction").get_data(as_text=True)
    assert 'value="2026-05"' in page
    assert 'value="2026-10"' in page
    assert "No ratings in these months." in page


def test_receipt_has_a_print_stylesheet() -> None:
    css = (ROOT / "static/css/visits.css").read_text()
    print_rules = css.split("@media print")[1]
    assert ".app-header" in print_rules
    assert "button" in print_rules
    assert ".qr-code { width: 60mm; height: 60mm" in print_rules
    template = (ROOT / "templates/visits/visit_receipt.html").read_text()
    assert 'class="no-print"' in template
