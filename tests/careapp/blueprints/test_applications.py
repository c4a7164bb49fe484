"""The application pages: list, intake form, detail and assessor assignment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    CareSetting,
    EligibilityDecision,
    InsuranceStatus,
)
from careapp.security import DataProtector
from tests.conftest import Statements
from tests.factories import (
    TODAY,
    ApplicationFactory,
    AssessmentFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("policy")


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def invalid_fields(page: str) -> list[str]:
    return re.findall(r'<(?:input|select|textarea)[^>]*aria-invalid="true"[^>]*id="([^"]+)"', page)


def intake_data(**changes: str) -> dict[str, str]:
    data = {
        "applicant": "family",
        "applicant_name": "卫小红（女儿）",
        "disability_since": "2025-02-01",
        "evidence_note": "南通市第三人民医院 诊断证明 2025-02-10",
        "requested_setting": "home_service",
    }
    data.update(changes)
    return data


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_application_pages_are_forbidden_to_other_roles(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    trait: str,
) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    client = login_as(UserFactory(**{trait: True}))
    assign = {
        "assessor_1_id": str(first.id),
        "assessor_2_id": str(second.id),
        "appointment_at": "2026-11-30T09:00",
    }

    responses = [
        client.get("/applications"),
        client.get(f"/people/{application.person_id}/applications/new"),
        client.post(f"/people/{application.person_id}/applications/new", data=intake_data()),
        client.get(f"/applications/{application.id}"),
        client.get(f"/applications/{application.id}/assign"),
        client.post(f"/applications/{application.id}/assign", data=assign),
    ]

    assert [r.status_code for r in responses] == [403] * 6
    db_session.refresh(application)
    assert application.status is ApplicationStatus.SUBMITTED
    assert count(db_session, Application) == 1


# --- list -------------------------------------------------------------------------------------


def test_application_list_shows_person_masked_id_status_and_assessors(
    db_session: Session, admin_client: FlaskClient, protector: DataProtector
) -> None:
    application = ApplicationFactory(
        assigned=True,
        person__name="蒋秀珍",
        assessor_1__display_name="评估员甲",
        assessor_2__display_name="评估员乙",
    )
    person = application.person

    page = admin_client.get("/applications").get_data(as_text=True)

    assert "蒋秀珍" in page
    assert person.id_number_masked in page
    assert protector.decrypt(person.id_number_ciphertext) not in page
    assert "评估中" in page
    assert "评估员甲" in page
    assert "评估员乙" in page


def test_application_list_filters_by_status(db_session: Session, admin_client: FlaskClient) -> None:
    ApplicationFactory(person__name="沈一")
    ApplicationFactory(assigned=True, person__name="沈二")

    page = admin_client.get("/applications?status=assessing").get_data(as_text=True)
    everything = admin_client.get("/applications?status=nonsense").get_data(as_text=True)

    assert "沈二" in page
    assert "沈一" not in page
    assert "沈一" in everything
    assert "沈二" in everything


def test_application_list_issues_a_bounded_number_of_queries(
    db_session: Session, admin_client: FlaskClient, count_queries: Statements
) -> None:
    ApplicationFactory.create_batch(2, assigned=True)
    with count_queries.counted() as few:
        assert admin_client.get("/applications").status_code == 200
    ApplicationFactory.create_batch(12, assigned=True)
    with count_queries.counted() as many:
        assert admin_client.get("/applications").status_code == 200
    assert len(many.selects()) == len(few.selects()) <= 3


# --- new --------------------------------------------------------------------------------------


def test_application_new_form_shows_the_person_and_translated_settings(
    db_session: Session, admin_client: FlaskClient, protector: DataProtector
) -> None:
    person = PersonFactory(name="韩桂兰")
    page = admin_client.get(f"/people/{person.id}/applications/new").get_data(as_text=True)
    assert "韩桂兰" in page
    assert person.id_number_masked in page
    assert protector.decrypt(person.id_number_ciphertext) not in page
    assert "养老机构" in page
    assert "家属" in page


def test_application_new_records_it_and_redirects(
    db_session: Session, admin_client: FlaskClient
) -> None:
    person = PersonFactory()

    response = admin_client.post(f"/people/{person.id}/applications/new", data=intake_data())

    assert response.status_code == 302
    application = db_session.scalars(select(Application)).one()
    assert response.headers["Location"].endswith(f"/applications/{application.id}")
    assert application.person_id == person.id
    assert application.requested_setting is CareSetting.HOME_SERVICE
    assert application.status is ApplicationStatus.SUBMITTED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"evidence_note": ""}, "evidence_note"),
        ({"evidence_note": "   "}, "evidence_note"),
        ({"disability_since": ""}, "disability_since"),
        ({"disability_since": "2025-13-01"}, "disability_since"),
        ({"disability_since": (TODAY - dt.timedelta(days=40)).isoformat()}, "disability_since"),
        ({"disability_since": "2030-01-01"}, "disability_since"),
        ({"applicant": "institution", "applicant_name": ""}, "applicant_name"),
        ({"applicant": "neighbour"}, "applicant"),
        ({"requested_setting": "hotel"}, "requested_setting"),
    ],
)
def test_application_new_bad_input_shows_a_field_error_and_writes_nothing(
    db_session: Session, admin_client: FlaskClient, changes: dict[str, str], field: str
) -> None:
    person = PersonFactory()
    events_before = count(db_session, AuditEvent)

    response = admin_client.post(
        f"/people/{person.id}/applications/new", data=intake_data(**changes)
    )

    assert response.status_code == 400
    assert invalid_fields(response.get_data(as_text=True)) == [field]
    assert count(db_session, Application) == 0
    assert count(db_session, AuditEvent) == events_before


def test_application_new_disability_too_recent_names_the_minimum(
    db_session: Session, admin_client: FlaskClient
) -> None:
    person = PersonFactory()
    response = admin_client.post(
        f"/people/{person.id}/applications/new",
        data=intake_data(disability_since=(TODAY - dt.timedelta(days=40)).isoformat()),
    )
    assert "至少 6 个月" in response.get_data(as_text=True)


def test_application_new_refuses_an_uninsured_person(
    db_session: Session, admin_client: FlaskClient
) -> None:
    person = PersonFactory(name="杨振华", insurance_status=InsuranceStatus.ENDED)

    response = admin_client.post(f"/people/{person.id}/applications/new", data=intake_data())

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "杨振华" in page
    assert "未处于参保状态" in page
    assert count(db_session, Application) == 0


def test_application_new_refuses_a_second_open_application(
    db_session: Session, admin_client: FlaskClient
) -> None:
    existing = ApplicationFactory(assigned=True)

    response = admin_client.post(
        f"/people/{existing.person_id}/applications/new", data=intake_data()
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "未结的申请" in page
    assert count(db_session, Application) == 1


def test_application_new_for_unknown_person_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/people/987654/applications/new").status_code == 404


# --- detail -----------------------------------------------------------------------------------


def test_application_detail_of_a_submitted_application_offers_assignment(
    db_session: Session, admin_client: FlaskClient, protector: DataProtector
) -> None:
    application = ApplicationFactory(person__name="朱美华")
    person = application.person

    page = admin_client.get(f"/applications/{application.id}").get_data(as_text=True)

    assert "朱美华" in page
    assert "已提交" in page
    assert person.id_number_masked in page
    assert protector.decrypt(person.id_number_ciphertext) not in page
    assert f"/applications/{application.id}/assign" in page
    assert f"/applications/{application.id}/decision/new" not in page
    read = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "read")).one()
    assert (read.object_type, read.object_id) == ("application", application.id)


def test_application_detail_shows_assessors_appointment_in_city_time_and_assessments(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory(
        application__assessor_1__display_name="评估员丙",
        application__appointment_at=dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC),
    )
    application = assessment.application

    page = admin_client.get(f"/applications/{application.id}").get_data(as_text=True)

    assert "评估员丙" in page
    assert "2026-11-20 09:30" in page  # 01:30 UTC is 09:30 in Nantong
    assert f"/assessments/{assessment.id}" in page
    assert f"/assessments/{assessment.id}/conclusion.pdf" in page
    assert f"/applications/{application.id}/review" in page  # assessed: review comes first
    assert f"/applications/{application.id}/decision/new" not in page
    assert f"/applications/{application.id}/assign" not in page


def test_application_detail_links_to_the_decision_once_decided(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory()
    decision = EligibilityDecision(
        application_id=assessment.application_id,
        assessment_id=assessment.id,
        policy_version_id=PolicyVersionFactory(effective_on=dt.date(2020, 1, 1)).id,
        decided_on=TODAY,
        decided_by_id=UserFactory(admin=True).id,
        is_eligible=True,
        category=BenefitCategory.SEVERE,
        care_setting=CareSetting.HOME_SERVICE,
        daily_rate_fen=None,
        reasons=[],
    )
    db_session.add(decision)
    db_session.flush()

    page = admin_client.get(f"/applications/{assessment.application_id}").get_data(as_text=True)

    assert f"/decisions/{decision.id}" in page
    assert "/decision/new" not in page


def test_application_detail_unknown_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/applications/987654").status_code == 404


# --- assign -----------------------------------------------------------------------------------


def test_application_assign_form_lists_enabled_assessors_only(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory()
    UserFactory(assessor=True, display_name="评估员丁")
    UserFactory(assessor=True, display_name="停用的评估员", is_enabled=False)

    page = admin_client.get(f"/applications/{application.id}/assign").get_data(as_text=True)

    assert "评估员丁" in page
    assert "停用的评估员" not in page
    assert 'type="datetime-local"' in page


def test_application_assign_converts_city_time_to_utc(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)

    response = admin_client.post(
        f"/applications/{application.id}/assign",
        data={
            "assessor_1_id": str(first.id),
            "assessor_2_id": str(second.id),
            "appointment_at": "2030-11-25T09:30",
        },
    )

    assert response.status_code == 302
    db_session.refresh(application)
    assert application.status is ApplicationStatus.ASSESSING
    assert (application.assessor_1_id, application.assessor_2_id) == (first.id, second.id)
    assert application.appointment_at == dt.datetime(2030, 11, 25, 1, 30, tzinfo=dt.UTC)
    again = admin_client.get(f"/applications/{application.id}/assign").get_data(as_text=True)
    assert 'value="2030-11-25T09:30"' in again  # re-assignment starts from the current one


@pytest.mark.parametrize(
    ("which", "field"),
    [
        ("same", "assessor_2_id"),
        ("past", "appointment_at"),
        ("bad_time", "appointment_at"),
        ("not_assessor", "assessor_1_id"),
    ],
)
def test_application_assign_bad_input_shows_a_field_error_and_changes_nothing(
    db_session: Session, admin_client: FlaskClient, which: str, field: str
) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    data = {
        "assessor_1_id": str(first.id),
        "assessor_2_id": str(second.id),
        "appointment_at": "2030-11-25T09:30",
    }
    if which == "same":
        data["assessor_2_id"] = data["assessor_1_id"]
    elif which == "past":
        data["appointment_at"] = "2020-01-01T09:00"
    elif which == "bad_time":
        data["appointment_at"] = "tomorrow morning"
    else:
        data["assessor_1_id"] = str(UserFactory(admin=True).id)
    events_before = count(db_session, AuditEvent)

    response = admin_client.post(f"/applications/{application.id}/assign", data=data)

    assert response.status_code == 400
    assert invalid_fields(response.get_data(as_text=True)) == [field]
    db_session.refresh(application)
    assert application.status is ApplicationStatus.SUBMITTED
    assert application.assessor_1_id is None
    assert count(db_session, AuditEvent) == events_before


def test_application_assign_after_assessment_is_refused(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory()
    application = assessment.application
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)

    response = admin_client.post(
        f"/applications/{application.id}/assign",
        data={
            "assessor_1_id": str(first.id),
            "assessor_2_id": str(second.id),
            "appointment_at": "2030-11-25T09:30",
        },
    )

    assert response.status_code == 409
    db_session.refresh(application)
    assert application.assessor_1_id != first.id


@pytest.mark.usefixtures("english")
def test_application_new_refusals_are_clear_in_english(
    db_session: Session, admin_client: FlaskClient
) -> None:
    uninsured = PersonFactory(name="Yang", insurance_status=InsuranceStatus.ENDED)
    in_publicity = ApplicationFactory(publicized=True)
    recent = PersonFactory()

    pages = [
        admin_client.post(f"/people/{person_id}/applications/new", data=intake_data(**changes))
        for person_id, changes in (
            (uninsured.id, {}),
            (in_publicity.person_id, {}),
            (recent.id, {"disability_since": (TODAY - dt.timedelta(days=40)).isoformat()}),
        )
    ]

    assert [page.status_code for page in pages] == [409, 409, 400]
    assert "Yang is not insured" in pages[0].get_data(as_text=True)
    assert "already has an open application" in pages[1].get_data(as_text=True)
    too_recent = pages[2].get_data(as_text=True)
    assert "at least 6 months" in too_recent
    assert invalid_fields(too_recent) == ["disability_since"]
    assert count(db_session, Application) == 1
