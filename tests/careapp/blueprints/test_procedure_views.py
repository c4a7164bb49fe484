"""The procedure pages: review, objections, appeals, reminders, oversight, assessor ties."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.models import (
    Application,
    ApplicationKind,
    ApplicationReview,
    ApplicationStatus,
    AssessorProviderTie,
    AuditEvent,
    EntitlementStatus,
    Objection,
    ObjectionStatus,
    ReminderStatus,
)
from tests.conftest import Statements
from tests.factories import (
    TODAY,
    ApplicationFactory,
    AssessmentFactory,
    AssessorProviderTieFactory,
    CarePlanFactory,
    EntitlementFactory,
    ObjectionFactory,
    ProviderFactory,
    ReassessmentReminderFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("policy")


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def invalid_fields(page: str) -> list[str]:
    return re.findall(r'<(?:input|select|textarea)[^>]*aria-invalid="true"[^>]*id="([^"]+)"', page)


def invalid_fieldsets(page: str) -> int:
    return page.count('<fieldset aria-invalid="true"')


def decided(decided_on: dt.date) -> Any:
    return EntitlementFactory(
        decision__decided_on=decided_on,
        decision__assessment__application__status=ApplicationStatus.DECIDED,
    )


# --- review -----------------------------------------------------------------------------------


def test_review_page_shows_the_assessment_and_approving_starts_publicity(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory(total=30)
    url = f"/applications/{assessment.application_id}/review"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'data-testid="total">30<' in page
    assert "退回重新评估" in page

    response = admin_client.post(url, data={"outcome": "approve", "reason": ""})

    assert response.status_code == 302
    application = assessment.application
    db_session.refresh(application)
    assert application.status is ApplicationStatus.PUBLICITY
    detail = admin_client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "公示中" in detail
    assert "可提出异议" in detail
    assert f"/applications/{application.id}/objections/new" in detail
    assert "/decision/new" not in detail  # not before publicity ends


def test_review_send_back_without_reason_is_a_field_error_and_writes_nothing(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory()
    url = f"/applications/{assessment.application_id}/review"
    events = count(db_session, AuditEvent)

    response = admin_client.post(url, data={"outcome": "return", "reason": " "})
    missing = admin_client.post(url, data={"reason": "x"})

    assert response.status_code == 400
    assert invalid_fields(response.get_data(as_text=True)) == ["reason"]
    assert "请填写退回重新评估的理由" in response.get_data(as_text=True)
    assert missing.status_code == 400
    assert invalid_fieldsets(missing.get_data(as_text=True)) == 1
    assert count(db_session, ApplicationReview) == 0
    assert count(db_session, AuditEvent) == events


def test_review_send_back_returns_to_the_assessors(
    db_session: Session, admin_client: FlaskClient
) -> None:
    assessment = AssessmentFactory()
    response = admin_client.post(
        f"/applications/{assessment.application_id}/review",
        data={"outcome": "return", "reason": "转移项与备注矛盾"},
    )
    assert response.status_code == 302
    page = admin_client.get(f"/applications/{assessment.application_id}").get_data(as_text=True)
    assert "转移项与备注矛盾" in page
    assert "评估中" in page


@pytest.mark.usefixtures("english")
def test_review_in_the_wrong_state_is_a_conflict_in_english(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory(assigned=True)
    response = admin_client.post(
        f"/applications/{application.id}/review", data={"outcome": "approve"}
    )
    assert response.status_code == 409
    assert "Only an assessed application awaiting review" in response.get_data(as_text=True)
    assert count(db_session, ApplicationReview) == 0


# --- objections -------------------------------------------------------------------------------


def test_objection_during_publicity_is_recorded_and_blocks_the_decision(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory(
        publicized=True,
        publicity_starts_on=TODAY,
        publicity_ends_on=TODAY + dt.timedelta(days=4),
    )
    url = f"/applications/{application.id}/objections/new"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, data={"source": "public", "lodged_by_name": "邻居王某", "text": "老人能自行下楼"}
    )
    assert response.status_code == 302
    objection = db_session.scalars(select(Objection)).one()
    assert objection.lodged_by_name == "邻居王某"
    page = admin_client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "老人能自行下楼" in page
    assert f"/objections/{objection.id}/resolve" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"source": "public", "lodged_by_name": "", "text": "x"}, "lodged_by_name"),
        ({"source": "public", "lodged_by_name": "王", "text": ""}, "text"),
        ({"source": "martian", "lodged_by_name": "王", "text": "x"}, "source"),
    ],
)
def test_objection_bad_input_writes_nothing(
    db_session: Session, admin_client: FlaskClient, data: dict[str, str], field: str
) -> None:
    application = ApplicationFactory(publicized=True, publicity_ends_on=TODAY)
    response = admin_client.post(f"/applications/{application.id}/objections/new", data=data)
    assert response.status_code == 400
    assert invalid_fields(response.get_data(as_text=True)) == [field]
    assert count(db_session, Objection) == 0


def test_objection_after_publicity_ended_is_refused(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory(publicized=True)  # ended on 19 November
    response = admin_client.post(
        f"/applications/{application.id}/objections/new",
        data={"source": "applicant", "lodged_by_name": "李娟", "text": "等级偏低"},
    )
    assert response.status_code == 409
    assert "公示已于2026年11月19日结束" in response.get_data(as_text=True)
    assert count(db_session, Objection) == 0


def test_objection_upheld_sends_the_application_back(
    db_session: Session, admin_client: FlaskClient
) -> None:
    objection = ObjectionFactory()
    url = f"/objections/{objection.id}/resolve"
    assert objection.text in admin_client.get(url).get_data(as_text=True)
    bad = admin_client.post(url, data={"outcome": "uphold", "note": ""})
    assert bad.status_code == 400
    assert invalid_fields(bad.get_data(as_text=True)) == ["note"]
    response = admin_client.post(url, data={"outcome": "uphold", "note": "需重新评估"})
    assert response.status_code == 302
    db_session.refresh(objection)
    db_session.refresh(objection.application)
    assert objection.status is ObjectionStatus.UPHELD
    assert objection.application.status is ApplicationStatus.ASSESSING
    again = admin_client.post(url, data={"outcome": "dismiss", "note": "改为驳回"})
    assert again.status_code == 409


def test_decision_page_explains_an_unresolved_objection(
    db_session: Session, admin_client: FlaskClient
) -> None:
    objection = ObjectionFactory(
        application=AssessmentFactory(
            application__publicized=True, application__status=ApplicationStatus.PUBLICITY
        ).application
    )
    url = f"/applications/{objection.application_id}/decision/new"
    page = admin_client.get(url).get_data(as_text=True)
    assert "1 条异议尚未处理" in page
    response = admin_client.post(url, data={"care_setting": "home_cash"})
    assert response.status_code == 409
    detail = admin_client.get(f"/applications/{objection.application_id}").get_data(as_text=True)
    assert "有未处理的异议" in detail


def test_decision_is_offered_once_publicity_ended_without_objection(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = AssessmentFactory(
        application__publicized=True, application__status=ApplicationStatus.PUBLICITY
    ).application
    page = admin_client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "已结束，可作出决定" in page
    assert f"/applications/{application.id}/decision/new" in page


# --- appeal / re-assessment -------------------------------------------------------------------


def test_appeal_within_the_period_opens_a_new_round(
    db_session: Session, admin_client: FlaskClient
) -> None:
    entitlement = decided(TODAY - dt.timedelta(days=5))
    previous_id = entitlement.decision.application_id
    url = f"/applications/{previous_id}/reassessment"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'data-testid="appeal-deadline">2026年12月18日' in page
    detail = admin_client.get(f"/applications/{previous_id}").get_data(as_text=True)
    assert url in detail

    response = admin_client.post(url, data={"kind": "appeal", "reason": "家属认为等级偏低"})

    assert response.status_code == 302
    appeal = db_session.scalars(select(Application).where(Application.previous_id == previous_id))
    [appeal_round] = list(appeal)
    assert appeal_round.kind is ApplicationKind.APPEAL
    assert response.headers["Location"].endswith(f"/applications/{appeal_round.id}")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "复评" in page
    assert "家属认为等级偏低" in page


def test_appeal_after_the_period_is_refused_with_the_deadline(
    db_session: Session, admin_client: FlaskClient
) -> None:
    entitlement = decided(TODAY - dt.timedelta(days=40))
    url = f"/applications/{entitlement.decision.application_id}/reassessment"
    assert "复评申请期限已过" in admin_client.get(url).get_data(as_text=True)
    response = admin_client.post(url, data={"kind": "appeal", "reason": "x"})
    assert response.status_code == 409
    assert "复评申请期限已于2026年11月13日届满" in response.get_data(as_text=True)
    assert count(db_session, Application) == 1


def test_reassessment_request_bad_input_writes_nothing(
    db_session: Session, admin_client: FlaskClient
) -> None:
    entitlement = decided(TODAY)
    url = f"/applications/{entitlement.decision.application_id}/reassessment"
    response = admin_client.post(url, data={"kind": "appeal", "reason": ""})
    assert response.status_code == 400
    assert invalid_fields(response.get_data(as_text=True)) == ["reason"]
    assert admin_client.post(url, data={"kind": "later", "reason": "x"}).status_code == 400
    assert count(db_session, Application) == 1


def test_reassessment_of_an_undecided_application_is_a_conflict(
    db_session: Session, admin_client: FlaskClient
) -> None:
    application = ApplicationFactory()
    assert admin_client.get(f"/applications/{application.id}/reassessment").status_code == 409


def test_assign_shows_a_conflict_of_interest_on_the_assessor_field(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory(name="江海居家照护中心")
    plan = CarePlanFactory(
        provider=provider,
        entitlement__decision__assessment__application__status=ApplicationStatus.DECIDED,
    )
    application = ApplicationFactory(person=plan.person)
    tie = AssessorProviderTieFactory(provider=provider, assessor__display_name="评估员钱")
    response = admin_client.post(
        f"/applications/{application.id}/assign",
        data={
            "assessor_1_id": str(tie.assessor_id),
            "assessor_2_id": str(UserFactory(assessor=True).id),
            "appointment_at": "2030-11-25T09:30",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert invalid_fields(page) == ["assessor_1_id"]
    assert "评估员钱不得评估此人" in page
    assert "江海居家照护中心" in page
    db_session.refresh(application)
    assert application.assessor_1_id is None


def test_application_new_names_the_caring_institution(
    db_session: Session, admin_client: FlaskClient
) -> None:
    provider = ProviderFactory(name="紫琅康养服务有限公司")
    person = ApplicationFactory(status=ApplicationStatus.WITHDRAWN).person
    url = f"/people/{person.id}/applications/new"
    assert "紫琅康养服务有限公司" in admin_client.get(url).get_data(as_text=True)
    data = {
        "applicant": "institution",
        "applicant_name": "紫琅康养",
        "disability_since": "2025-01-01",
        "evidence_note": "诊断证明",
        "requested_setting": "elderly_care_institution",
        "provider_id": str(provider.id),
    }
    assert admin_client.post(url, data=data).status_code == 302
    application = db_session.scalars(
        select(Application).where(Application.status == ApplicationStatus.SUBMITTED)
    ).one()
    assert application.provider_id == provider.id
    bad = admin_client.post(url, data={**data, "provider_id": "987654"})
    assert bad.status_code == 400
    assert invalid_fields(bad.get_data(as_text=True)) == ["provider_id"]


# --- reminders --------------------------------------------------------------------------------


def test_reminders_page_and_confirmed_suspension(
    db_session: Session, admin_client: FlaskClient
) -> None:
    overdue = ReassessmentReminderFactory(due_on=TODAY - dt.timedelta(days=3))
    coming = ReassessmentReminderFactory(due_on=TODAY + dt.timedelta(days=9))
    overdue.person.name, coming.person.name = "过期甲", "将到乙"
    db_session.flush()
    page = admin_client.get("/reassessments").get_data(as_text=True)
    assert "过期甲" in page
    assert "将到乙" in page
    assert page.count("确认：暂停待遇") == 1
    assert overdue.person.id_number_masked in page

    refused = admin_client.post(f"/reassessments/{coming.id}/suspend")
    assert refused.status_code == 303
    response = admin_client.post(f"/reassessments/{overdue.id}/suspend")
    assert response.status_code == 303
    db_session.refresh(overdue)
    db_session.refresh(overdue.entitlement)
    db_session.refresh(coming.entitlement)
    assert overdue.status is ReminderStatus.SUSPENDED
    assert overdue.entitlement.status is EntitlementStatus.ENDED
    assert coming.entitlement.status is EntitlementStatus.ACTIVE
    page = admin_client.get("/reassessments").get_data(as_text=True)
    assert "尚未逾期" in page  # the flash of the refused one, shown on the next page
    assert "过期甲" not in page


# --- oversight --------------------------------------------------------------------------------


def test_oversight_page_flags_outliers(db_session: Session, admin_client: FlaskClient) -> None:
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    AssessmentFactory(application__assessor_1=first, application__assessor_2=second)
    page = admin_client.get("/oversight").get_data(as_text=True)
    assert f'data-testid="assessor-{first.id}"' in page
    assert "标记规则" in page
    dated = admin_client.get("/oversight?first_day=2026-01-01&last_day=2026-12-31")
    assert dated.status_code == 200
    bad = admin_client.get("/oversight?first_day=2026-12-31&last_day=2026-01-01")
    assert bad.status_code == 400
    assert invalid_fields(bad.get_data(as_text=True)) == ["last_day"]
    assert admin_client.get("/oversight?first_day=soon&last_day=").status_code == 400


# --- ties -------------------------------------------------------------------------------------


def test_ties_page_records_a_tie(db_session: Session, admin_client: FlaskClient) -> None:
    assessor = UserFactory(assessor=True, display_name="评估员孙")
    provider = ProviderFactory(name="濠滨护理站")
    assert "濠滨护理站" in admin_client.get("/assessor-ties").get_data(as_text=True)
    data = {
        "assessor_id": str(assessor.id),
        "provider_id": str(provider.id),
        "description": "配偶任该站站长",
        "starts_on": "2025-03-01",
        "ends_on": "",
    }
    response = admin_client.post("/assessor-ties", data=data)
    assert response.status_code == 302
    tie = db_session.scalars(select(AssessorProviderTie)).one()
    assert (tie.assessor_id, tie.provider_id, tie.ends_on) == (assessor.id, provider.id, None)
    bad = admin_client.post("/assessor-ties", data={**data, "ends_on": "2024-01-01"})
    assert bad.status_code == 400
    assert invalid_fields(bad.get_data(as_text=True)) == ["ends_on"]
    assert count(db_session, AssessorProviderTie) == 1


def test_reminders_page_issues_a_bounded_number_of_queries(
    db_session: Session, admin_client: FlaskClient, count_queries: Statements
) -> None:
    ReassessmentReminderFactory()
    with count_queries.counted() as few:
        assert admin_client.get("/reassessments").status_code == 200
    for _ in range(8):
        ReassessmentReminderFactory()
    with count_queries.counted() as many:
        page = admin_client.get("/reassessments").get_data(as_text=True)
    assert page.count('data-testid="reminder-') == 9
    assert len(many.selects()) == len(few.selects())
