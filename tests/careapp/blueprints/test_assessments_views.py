"""The assessor's pages: queue, tablet form and the audited detail page."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.instruments.barthel import BARTHEL
from careapp.blueprints.assessments.forms import build_assessment_form
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models import (
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentConfirmation,
    AssessmentDraft,
    AuditEvent,
)
from careapp.services.assessments import AssessmentAnswersError
from tests.factories import (
    SEVERE_BARTHEL_ANSWERS,
    ApplicationFactory,
    AssessmentFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
ITEM_LABELS_ZH = ["进食", "洗澡", "修饰", "穿衣", "控制大便", "控制小便", "如厕", "床椅转移"]


def form_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {code: str(points) for code, points in SEVERE_BARTHEL_ANSWERS.items()}
    data.update(family_member_present="李娟（女儿）", note="", confirmed="y", idempotency_key=KEY)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def assessment_count(db_session: Session) -> int:
    return db_session.scalar(select(func.count(Assessment.id))) or 0


def status_of(db_session: Session, application: Application) -> ApplicationStatus:
    db_session.expire_all()
    status = db_session.scalar(select(Application.status).where(Application.id == application.id))
    assert status is not None
    return status


def page_data(page: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="assessment-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


# --- queue -----------------------------------------------------------------------------------


def test_assessment_queue_lists_my_assigned_applications(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    assessor = UserFactory(assessor=True)
    mine = ApplicationFactory(assigned=True, assessor_2=assessor, person__name="陈秀英")
    ApplicationFactory(assigned=True, person__name="别人家")

    page = login_as(assessor).get("/assessments").get_data(as_text=True)

    assert "陈秀英" in page
    assert "别人家" not in page
    assert mine.person.id_number_masked in page
    assert "崇川区" in page
    assert "2026-11-20 09:00" in page  # appointment in city time
    assert f"/applications/{mine.id}/assessment" in page


def test_assessment_queue_query_count_does_not_grow_with_the_list(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    count_queries: list[str],
) -> None:
    assessor = UserFactory(assessor=True)
    ApplicationFactory(assigned=True, assessor_1=assessor)
    client = login_as(assessor)
    client.get("/assessments")  # warm up: the user is loaded once per test app context
    count_queries.clear()
    client.get("/assessments")
    one = len(count_queries)
    for _ in range(4):
        ApplicationFactory(assigned=True, assessor_1=assessor, person=PersonFactory())
    count_queries.clear()
    page = client.get("/assessments").get_data(as_text=True)
    assert page.count('/assessment"') == 5
    assert len(count_queries) == one


# --- the form --------------------------------------------------------------------------------


def test_assessment_form_shows_every_item_with_points_and_the_assessors(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(
        assigned=True, assessor_1__display_name="评估员甲", assessor_2__display_name="评估员乙"
    )
    response = login_as(application.assessor_1).get(f"/applications/{application.id}/assessment")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    for label in ITEM_LABELS_ZH:
        assert label in page
    assert page.count('type="radio"') == 30  # 3+2+2+3+3+3+3+4+4+3 options
    assert 'data-points="15"' in page
    assert "评估员甲" in page
    assert "评估员乙" in page
    assert application.person.id_number_masked in page
    assert "/static/js/assessment-form.js" in page
    assert "<script>" not in page  # CSP: no inline scripts
    data = page_data(page)  # read by assessment-form.js for the live grade and the drafts
    assert data["application"] == application.id
    assert data["draftUrl"] == f"/applications/{application.id}/assessment/draft"
    assert application.person.name not in json.dumps(data, ensure_ascii=False)
    assert [item["code"] for item in data["instrument"]["items"]][:2] == ["feeding", "bathing"]
    bands = data["instrument"]["grading"]["bands"]
    assert [(b["min"], b["max"], b["label"]) for b in bands] == [
        (0, 40, "重度依赖"),
        (41, 60, "中度依赖"),
        (61, 99, "轻度依赖"),
        (100, 100, "无需依赖"),
    ]


def test_assessment_form_in_english(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    client.post("/lang/en")
    page = client.get(f"/applications/{application.id}/assessment").get_data(as_text=True)
    assert "Feeding" in page
    assert "Independent in a wheelchair for 45 m" in page
    assert "进食" not in page
    assert "Submit assessment" in page


def test_assessment_form_records_and_redirects_to_the_detail(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_2)
    response = client.post(f"/applications/{application.id}/assessment", data=form_data())

    assert response.status_code == 302
    assessment = db_session.scalars(
        select(Assessment).where(Assessment.application_id == application.id)
    ).one()
    assert response.headers["Location"].endswith(f"/assessments/{assessment.id}")
    assert (assessment.total, assessment.grade) == (30, "severe")
    assert assessment.submitted_by_id == application.assessor_2_id
    assert assessment.idempotency_key == KEY
    assert [c.user_id for c in assessment.confirmations] == [application.assessor_2_id]
    assert status_of(db_session, application) is ApplicationStatus.ASSESSING  # one confirmation
    created = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "create",
            AuditEvent.object_type == "assessment",
            AuditEvent.object_id == assessment.id,
        )
    ).one()
    assert created.actor_id == application.assessor_2_id


def test_assessment_form_missing_items_get_errors_and_nothing_is_written(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    data = form_data(stairs=None, bathing=None, transfer="20")

    response = client.post(f"/applications/{application.id}/assessment", data=data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert page.count("请选择一个答案。") == 2  # stairs and bathing
    assert len(re.findall(r'<fieldset\s+aria-invalid="true"', page)) == 3  # and transfer
    assert '<input checked data-points="5" id="feeding-1"' in page  # chosen answers are kept
    assert assessment_count(db_session) == 0
    assert status_of(db_session, application) is ApplicationStatus.ASSESSING


def test_assessment_form_requires_confirmation_and_family_member(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    data = form_data(confirmed=None, family_member_present="")

    response = client.post(f"/applications/{application.id}/assessment", data=data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "请确认评估结果。" in page
    assert "请填写在场的家属。" in page
    assert assessment_count(db_session) == 0


def test_assessment_form_service_error_is_shown_on_the_field(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    # Only spaces pass the form's DataRequired check but not the service's.
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    response = client.post(
        f"/applications/{application.id}/assessment", data=form_data(family_member_present="  ")
    )
    assert response.status_code == 400
    assert "请填写在场的家属。" in response.get_data(as_text=True)
    assert assessment_count(db_session) == 0


def test_assessment_form_second_submission_is_refused(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    url = f"/applications/{application.id}/assessment"
    assert client.post(url, data=form_data()).status_code == 302

    response = client.post(url, data=form_data(feeding="10", idempotency_key=OTHER_KEY))

    assert response.status_code == 409
    assert "已经提交" in response.get_data(as_text=True)
    assert assessment_count(db_session) == 1


def test_assessment_form_for_someone_elses_application_is_404(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(UserFactory(assessor=True))
    url = f"/applications/{application.id}/assessment"
    assert client.get(url).status_code == 404
    assert client.post(url, data=form_data()).status_code == 404
    assert assessment_count(db_session) == 0


def test_assessment_form_in_the_wrong_state_is_409(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True, status=ApplicationStatus.DECIDED)
    response = login_as(application.assessor_1).get(f"/applications/{application.id}/assessment")
    assert response.status_code == 409
    assert "不在待评估状态" in response.get_data(as_text=True)


def test_assessment_form_query_count_is_bounded(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    count_queries: list[str],
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    count_queries.clear()
    assert client.get(f"/applications/{application.id}/assessment").status_code == 200
    # the application with person, district and assessors, its assessments (none), the policy
    # in force, the draft, and the logged-in user (loaded afresh by every request)
    selects = [s for s in count_queries if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects


def test_assessment_form_refuses_a_post_without_csrf_token(
    app: Flask,
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/applications/{application.id}/assessment", data=form_data())
    assert response.status_code == 400
    assert assessment_count(db_session) == 0


# --- detail ----------------------------------------------------------------------------------


def test_assessment_detail_for_an_admin_shows_everything_and_is_audited(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    admin = UserFactory(admin=True)
    assessment = AssessmentFactory(
        note="卧床为主",
        application__assessor_1__display_name="评估员甲",
        application__assessor_2__display_name="评估员乙",
    )
    response = login_as(admin).get(f"/assessments/{assessment.id}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "重度依赖" in page
    assert ">30<" in page
    assert "需部分帮助（如切碎食物、涂抹）" in page  # feeding, 5 points
    assert "评估员甲" in page
    assert "评估员乙" in page
    assert "张家属（女儿）" in page
    assert "卧床为主" in page
    assert assessment.application.person.id_number_masked in page
    assert f"/assessments/{assessment.id}/conclusion.pdf" in page
    reads = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "read",
            AuditEvent.object_type == "assessment",
            AuditEvent.object_id == assessment.id,
        )
    ).all()
    assert [event.actor_id for event in reads] == [admin.id]


def test_assessment_detail_for_its_assessor_in_english(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    assessment = AssessmentFactory()
    client = login_as(assessment.assessor_2)
    client.post("/lang/en")
    response = client.get(f"/assessments/{assessment.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Severe dependency" in page
    assert "Needs help, e.g. cutting or spreading" in page
    assert "conclusion.pdf" not in page  # the certificate is an administrator's task


def test_assessment_detail_is_404_for_another_assessor(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    assessment = AssessmentFactory()
    response = login_as(UserFactory(assessor=True)).get(f"/assessments/{assessment.id}")
    assert response.status_code == 404
    assert (
        db_session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "read")) == 0
    )


def test_assessment_detail_after_submission_clears_the_device_draft(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    response = client.post(
        f"/applications/{application.id}/assessment", data=form_data(), follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "评估已提交，待另一名评估员确认。" in page
    assert f'data-clear-draft="careapp-assessment-{application.id}"' in page


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trait", ["manager", "caregiver"])
def test_assessment_pages_forbidden_for_provider_staff(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    trait: str,
) -> None:
    assessment = AssessmentFactory()
    application = ApplicationFactory(assigned=True)
    client: FlaskClient = login_as(UserFactory(**{trait: True}))
    assert client.get("/assessments").status_code == 403
    assert client.get(f"/applications/{application.id}/assessment").status_code == 403
    post = client.post(f"/applications/{application.id}/assessment", data=form_data())
    assert post.status_code == 403
    assert client.get(f"/assessments/{assessment.id}").status_code == 403
    assert assessment_count(db_session) == 1


def test_assessment_queue_and_form_are_for_assessors_only(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    client = login_as(UserFactory(admin=True))
    assert client.get("/assessments").status_code == 403
    assert client.get(f"/applications/{application.id}/assessment").status_code == 403


def test_assessment_pages_need_login(client: FlaskClient, db_session: Session) -> None:
    response = client.get("/assessments")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_assessment_form_after_the_other_assessors_submission_is_refused(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    # The other assessor submitted first: this tablet's answers (another key) are not recorded.
    application = ApplicationFactory(assigned=True)
    first = AssessmentFactory(application=application, idempotency_key=KEY)
    client = login_as(application.assessor_1)
    url = f"/applications/{application.id}/assessment"

    response = client.post(url, data=form_data(idempotency_key=OTHER_KEY, feeding="10"))

    assert response.status_code == 409
    assert "已经提交" in response.get_data(as_text=True)
    assert assessment_count(db_session) == 1
    assert status_of(db_session, application) is ApplicationStatus.ASSESSING
    # Opening the form again leads to the submitted assessment.
    shown = client.get(url)
    assert shown.status_code == 302
    assert shown.headers["Location"].endswith(f"/assessments/{first.id}")


def test_assessment_form_show_error_places_each_problem(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data={}):
        form = build_assessment_form(BARTHEL, ("甲", "乙"))
        form.validate()
        form.show_error(
            AssessmentAnswersError(
                "请为每一项选择一个答案。",
                {
                    "stairs": "missing",
                    "feeding": "invalid_option",
                    "cooking": "unknown_item",
                    "shopping": "unknown_item",
                },
            )
        )
        form.show_error(InvalidInputError("无效备注", field="note"))
        form.show_error(ConflictError("状态冲突"))

        assert form.stairs.errors[-1] == "请选择一个答案。"
        assert form.feeding.errors[-1] == "不是可选的答案。"
        assert form.note.errors == ["无效备注"]
        assert form.form_errors == ["请为每一项选择一个答案。", "状态冲突"]
        assert "甲" in form.confirmed.label.text


def test_build_assessment_form_refuses_item_codes_that_clash_with_the_form(app: Flask) -> None:
    clashing = replace(BARTHEL, items=(replace(BARTHEL.items[0], code="note"),))
    with app.test_request_context("/"), pytest.raises(ValueError, match="note"):
        build_assessment_form(clashing, ("甲", "乙"))


def test_assessment_detail_of_an_unknown_instrument_shows_the_raw_answers(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    assessment = AssessmentFactory(
        instrument="legacy_form", grade="grade_x", answers={"old_item": 7}
    )
    page = login_as(UserFactory(admin=True)).get(f"/assessments/{assessment.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "old_item" in text
    assert "grade_x" in text
    assert "legacy_form" in text


def test_assessment_detail_marks_an_answer_that_is_not_an_option(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    answers = {**SEVERE_BARTHEL_ANSWERS, "feeding": 7}
    del answers["stairs"]
    assessment = AssessmentFactory(answers=answers, grade="retired_grade")
    text = (
        login_as(UserFactory(admin=True))
        .get(f"/assessments/{assessment.id}")
        .get_data(as_text=True)
    )
    assert "retired_grade" in text
    assert text.count("<td>—</td>") == 3  # feeding's answer, stairs' answer and points


# --- the draft endpoint ----------------------------------------------------------------------


def draft_url(application: Application) -> str:
    return f"/applications/{application.id}/assessment/draft"


def change(value: object, base_rev: int = 0) -> dict[str, object]:
    return {"value": value, "base_rev": base_rev}


def put_draft(client: FlaskClient, application: Application, changes: Any, **kw: Any) -> Any:
    return client.put(draft_url(application), json={"changes": changes}, **kw)


def draft_rows(db_session: Session) -> int:
    return db_session.scalar(select(func.count(AssessmentDraft.id))) or 0


def test_assessment_draft_get_before_any_save(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    response = login_as(application.assessor_1).get(draft_url(application))
    assert response.status_code == 200
    body = response.get_json()
    assert body.pop("csrf_token")  # a fresh token, for the offline copy of the form
    assert body == {"revision": 0, "entries": {}, "conflicts": []}


def test_assessment_draft_put_saves_and_the_form_page_carries_it(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True, assessor_1__display_name="评估员甲")
    client = login_as(application.assessor_1)

    response = put_draft(
        client,
        application,
        {
            "item:feeding": {"value": 5, "base_rev": 0},
            "note:feeding": {"value": "需切碎", "base_rev": 0},
        },
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["revision"] == 1
    assert body["conflicts"] == []
    assert body["entries"]["item:feeding"] == {"value": 5, "rev": 1, "mine": True, "by": "评估员甲"}
    draft = db_session.scalars(select(AssessmentDraft)).one()
    assert draft.entries["note:feeding"]["value"] == "需切碎"
    # The other assessor's form page starts from the server draft.
    other = login_as(application.assessor_2)
    data = page_data(other.get(f"/applications/{application.id}/assessment").get_data(as_text=True))
    assert data["draft"]["entries"]["item:feeding"]["value"] == 5
    assert data["draft"]["entries"]["item:feeding"]["mine"] is False
    assert other.get(draft_url(application)).get_json()["revision"] == 1


def test_assessment_draft_conflict_is_reported_to_the_second_assessor(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(
        assigned=True, assessor_1__display_name="评估员甲", assessor_2__display_name="评估员乙"
    )
    one = login_as(application.assessor_1)
    assert (
        put_draft(one, application, {"item:transfer": {"value": 10, "base_rev": 0}}).status_code
        == 200
    )
    two = login_as(application.assessor_2)

    response = put_draft(
        two,
        application,
        {"item:transfer": {"value": 5, "base_rev": 0}, "item:stairs": {"value": 0, "base_rev": 0}},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["conflicts"] == [
        {"field": "item:transfer", "yours": 5, "theirs": 10, "rev": 1, "by": "评估员甲"}
    ]
    assert body["entries"]["item:transfer"]["value"] == 10
    assert body["entries"]["item:stairs"] == {"value": 0, "rev": 1, "mine": True, "by": "评估员乙"}
    draft = db_session.scalars(select(AssessmentDraft)).one()
    db_session.refresh(draft)
    assert draft.entries["item:transfer"]["value"] == 10


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            {"changes": {"item:feeding": {"value": 7, "base_rev": 0}}},
            {"item:feeding": "invalid_option"},
        ),
        ({"changes": {"id_number": {"value": "x", "base_rev": 0}}}, {"id_number": "unknown_field"}),
        ({"changes": "feeding=5"}, {"changes": "malformed"}),
        ({"answers": {}}, {"changes": "malformed"}),
        ([1, 2], {"changes": "malformed"}),
    ],
)
def test_assessment_draft_bad_input_is_a_json_400_and_nothing_is_written(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    body: Any,
    problems: dict[str, str],
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    response = client.put(draft_url(application), json=body)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "草稿未能保存：部分答案无效。",
        "problems": problems,
        "status": 400,
    }
    assert draft_rows(db_session) == 0


def test_assessment_draft_errors_in_english_and_for_a_non_json_body(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    client.post("/lang/en")
    response = client.put(
        draft_url(application), data="not json", headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == (
        "The draft could not be saved: some answers are not valid."
    )
    assert draft_rows(db_session) == 0


def test_assessment_draft_needs_the_csrf_token_in_a_header(
    app: Flask,
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get(f"/applications/{application.id}/assessment").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    changes = {"item:feeding": {"value": 5, "base_rev": 0}}

    refused = put_draft(client, application, changes)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "表单已过期，请返回重试。"
    assert draft_rows(db_session) == 0

    accepted = put_draft(client, application, changes, headers={"X-CSRFToken": token.group(1)})
    assert accepted.status_code == 200
    assert draft_rows(db_session) == 1


def test_assessment_draft_after_submission_is_a_json_409_naming_the_assessment(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    assessment = AssessmentFactory(application=application)
    client = login_as(application.assessor_2)
    response = put_draft(client, application, {"item:feeding": {"value": 5, "base_rev": 0}})
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "该申请的评估已经提交，不能重复提交。",
        "status": 409,
        "assessment_url": f"/assessments/{assessment.id}",
    }
    assert draft_rows(db_session) == 0


def test_assessment_draft_of_someone_elses_application_is_a_json_404(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(UserFactory(assessor=True))
    response = put_draft(client, application, {"item:feeding": {"value": 5, "base_rev": 0}})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    get = client.get(draft_url(application), headers={"Accept": "application/json"})
    assert get.status_code == 404
    assert draft_rows(db_session) == 0


# --- idempotent submission, confirmation, correction -----------------------------------------


def test_assessment_form_double_submit_records_one_assessment(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    url = f"/applications/{application.id}/assessment"
    put_draft(client, application, {"item:feeding": {"value": 5, "base_rev": 0}})

    first = client.post(url, data=form_data())
    second = client.post(url, data=form_data())  # a double tap, or a retry after a timeout

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert assessment_count(db_session) == 1
    assert draft_rows(db_session) == 0  # the draft ends with the submission


def test_assessment_form_submit_with_a_stale_draft_revision_is_409(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    # login_as logs the one test client in as each assessor in turn
    put_draft(login_as(application.assessor_1), application, {"item:feeding": change(5)})
    put_draft(login_as(application.assessor_2), application, {"item:stairs": change(10)})

    response = login_as(application.assessor_1).post(
        f"/applications/{application.id}/assessment", data=form_data(draft_revision="1")
    )

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "另一名评估员在此期间修改了上下楼梯" in page
    assert 'id="assessment-form"' in page
    assert assessment_count(db_session) == 0


def test_assessment_confirm_by_the_second_assessor_makes_it_assessed(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(
        assigned=True, assessor_1__display_name="评估员甲", assessor_2__display_name="评估员乙"
    )
    one = login_as(application.assessor_1)
    submitted = one.post(f"/applications/{application.id}/assessment", data=form_data())
    detail_url = submitted.headers["Location"]
    assessment = db_session.scalars(select(Assessment)).one()
    assert 'data-testid="confirm"' not in one.get(detail_url).get_data(as_text=True)

    two = login_as(application.assessor_2)
    queue = two.get("/assessments").get_data(as_text=True)
    assert "确认评估" in queue
    assert f"/assessments/{assessment.id}" in queue
    assert 'data-testid="confirm"' in two.get(detail_url).get_data(as_text=True)
    response = two.post(f"/assessments/{assessment.id}/confirm", follow_redirects=True)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "您的确认已记录。" in page
    assert "评估员甲 (" in page
    assert "评估员乙 (" in page
    assert status_of(db_session, application) is ApplicationStatus.ASSESSED
    assert "确认评估" not in two.get("/assessments").get_data(as_text=True)


def test_assessment_confirm_refusals(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    assessment = AssessmentFactory(application__status=ApplicationStatus.ASSESSING, confirmed=False)
    url = f"/assessments/{assessment.id}/confirm"
    assert login_as(UserFactory(assessor=True)).post(url).status_code == 404
    assert login_as(UserFactory(admin=True)).post(url).status_code == 403
    decided = AssessmentFactory(application__status=ApplicationStatus.DECIDED, confirmed=False)
    response = login_as(decided.assessor_2).post(f"/assessments/{decided.id}/confirm")
    assert response.status_code == 409
    assert db_session.scalar(select(func.count(AssessmentConfirmation.id))) == 0


def test_assessment_confirm_needs_the_csrf_token(
    app: Flask,
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assessment = AssessmentFactory(application__status=ApplicationStatus.ASSESSING, confirmed=False)
    client = login_as(assessment.assessor_2)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/assessments/{assessment.id}/confirm").status_code == 400
    assert db_session.scalar(select(func.count(AssessmentConfirmation.id))) == 0


def correction_data(**changes: Any) -> dict[str, Any]:
    data = form_data(feeding="10", idempotency_key=OTHER_KEY, reason="进食项记录错误")
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_assessment_correction_records_version_2_and_the_history_shows_both(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    first = AssessmentFactory(
        application__assessor_2__display_name="评估员乙", item_notes={"stairs": "扶栏可上"}
    )
    client = login_as(first.assessor_2)
    url = f"/assessments/{first.id}/correction"
    form_page = client.get(url).get_data(as_text=True)
    assert "更正第1版" in form_page
    assert '<input checked data-points="5" id="feeding-1"' in form_page  # prefilled
    assert "扶栏可上" in form_page
    assert page_data(form_page)["draftUrl"] is None  # corrections are not drafted

    response = client.post(url, data=correction_data(stairs__note="扶栏可上"))

    assert response.status_code == 302
    second = db_session.scalars(select(Assessment).where(Assessment.version == 2)).one()
    assert response.headers["Location"].endswith(f"/assessments/{second.id}")
    assert (second.total, second.correction_reason) == (35, "进食项记录错误")
    assert second.submitted_by_id == first.assessor_2_id
    assert status_of(db_session, first.application) is ApplicationStatus.ASSESSING
    # Again with the same key: still one correction.
    assert (
        client.post(url, data=correction_data()).headers["Location"] == response.headers["Location"]
    )
    assert assessment_count(db_session) == 2

    page = client.get(f"/assessments/{second.id}").get_data(as_text=True)
    history = page[page.index('data-testid="history"') :]
    assert history.count("<tr") == 3  # head and two versions
    assert "进食项记录错误" in history
    assert "进食: 需部分帮助（如切碎食物、涂抹） (5) → 可独立进食（在合理时间内） (10)" in history
    assert "首次提交" in history
    old = client.get(f"/assessments/{first.id}").get_data(as_text=True)
    assert "这是第1版，已被更新的版本取代。" in old
    assert "/correction" not in old  # only the latest version is corrected


def test_assessment_correction_bad_input_is_a_form_error_and_nothing_is_written(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    first = AssessmentFactory()
    client = login_as(first.assessor_1)
    url = f"/assessments/{first.id}/correction"
    missing_reason = client.post(url, data=correction_data(reason=None))
    assert missing_reason.status_code == 400
    assert "请填写更正原因。" in missing_reason.get_data(as_text=True)
    spaces = client.post(url, data=correction_data(reason="   "))
    assert spaces.status_code == 400
    long_note = client.post(url, data=correction_data(feeding__note="很" * 501))
    assert long_note.status_code == 400
    assert assessment_count(db_session) == 1


def test_assessment_correction_refusals(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    decided = AssessmentFactory(application__status=ApplicationStatus.DECIDED)
    client = login_as(decided.assessor_1)
    assert client.get(f"/assessments/{decided.id}/correction").status_code == 409
    other = AssessmentFactory()
    assert (
        login_as(UserFactory(assessor=True)).get(f"/assessments/{other.id}/correction").status_code
        == 404
    )
    assert (
        login_as(UserFactory(admin=True)).get(f"/assessments/{other.id}/correction").status_code
        == 403
    )


def test_assessment_form_with_item_notes(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    response = client.post(
        f"/applications/{application.id}/assessment",
        data=form_data(feeding__note="需切碎", stairs__note=""),
    )
    assert response.status_code == 302
    assessment = db_session.scalars(select(Assessment)).one()
    assert assessment.item_notes == {"feeding": "需切碎"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "需切碎" in page


def test_assessment_form_for_the_national_standard_carries_its_levels_and_table(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), instrument_code="national_2021")
    application = ApplicationFactory(assigned=True)
    page = (
        login_as(application.assessor_1)
        .get(f"/applications/{application.id}/assessment")
        .get_data(as_text=True)
    )
    assert page.count('class="assessment-item"') == 17
    assert page.count('class="indicator-heading"') == 3
    assert "面部与口腔清洁" in page
    instrument = page_data(page)["instrument"]
    assert instrument["code"] == "national_2021"
    assert {item["indicator"] for item in instrument["items"]} == {"adl", "cognition", "sensory"}
    grading = instrument["grading"]
    assert grading["kind"] == "combination"
    assert [i["label"] for i in grading["indicators"]] == [
        "日常生活活动能力",
        "认知能力",
        "感知觉与沟通能力",
    ]
    assert grading["indicators"][1]["bands"][0] == {
        "min": 0,
        "max": 3,
        "level": "severe",
        "label": "重度受损",
    }
    assert (grading["row"], grading["columns"]) == ("adl", ["cognition", "sensory"])
    assert grading["table"][3][2] == "4"
    assert grading["grades"][4] == {"code": "4", "label": "重度失能Ⅱ级"}


def test_assessment_form_script_texts_follow_the_language(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    url = f"/applications/{application.id}/assessment"
    client.post("/lang/en")
    messages = page_data(client.get(url).get_data(as_text=True))["messages"]
    assert messages["saved"] == "Saved"
    assert messages["conflict"].startswith("%(name)s changed this item meanwhile")


def test_assessment_correction_under_another_instrument_is_refused(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    retired = AssessmentFactory(
        instrument="retired_form", application__status=ApplicationStatus.ASSESSING
    )
    client = login_as(retired.assessor_1)
    response = client.post(f"/assessments/{retired.id}/correction", data=correction_data())
    assert response.status_code == 409
    assert "现行评估量表已变更" in response.get_data(as_text=True)
    assert assessment_count(db_session) == 1


def test_assessment_detail_of_the_national_standard_shows_each_indicator(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), instrument_code="national_2021")
    answers = {
        "feeding": 5,
        "dressing": 5,
        "face_mouth_cleaning": 0,
        "bowels": 5,
        "bladder": 5,
        "toilet_use": 0,
        "walking": 5,
        "transfer": 5,
        "stairs": 0,
        "bathing": 0,
        "time_orientation": 2,
        "person_orientation": 3,
        "place_orientation": 2,
        "memory": 1,
        "vision": 4,
        "hearing": 3,
        "communication": 3,
    }
    assessment = AssessmentFactory(
        instrument="national_2021", instrument_version="2021", answers=answers, total=48, grade="4"
    )
    page = login_as(assessment.assessor_1).get(f"/assessments/{assessment.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "重度失能Ⅱ级" in text
    assert 'data-testid="indicator-adl">30 · 重度受损' in text
    assert 'data-testid="indicator-cognition">8 · 中度受损' in text
    assert 'data-testid="indicator-sensory">10 · 轻度受损' in text
    barthel = login_as(UserFactory(admin=True)).get(f"/assessments/{AssessmentFactory().id}")
    assert 'data-testid="indicator-' not in barthel.get_data(as_text=True)


# --- the offline copy of the form and the service worker -------------------------------------


def test_assessment_shell_is_the_instrument_in_force_without_any_personal_data(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    PolicyVersionFactory(effective_on=dt.date(2026, 1, 1), instrument_code="national_2021")
    application = ApplicationFactory(
        assigned=True,
        assessor_1__display_name="评估员甲",
        assessor_2__display_name="评估员乙",
        person=PersonFactory(name="欧阳秀英", address="崇川区青年中路88号", phone="13912345678"),
    )
    person = application.person
    client = login_as(application.assessor_1)
    put_draft(client, application, {"note:feeding": change("需切碎"), "item:feeding": change(5)})
    events_before = db_session.scalar(select(func.count(AuditEvent.id)))

    response = client.get("/assessment-shell")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for personal in (
        person.name,
        person.id_number_masked,
        person.id_number_masked[-4:],
        person.address,
        person.phone,
        person.guardian_name,
        "评估员甲",
        "评估员乙",
        "需切碎",
        f"/applications/{application.id}",
    ):
        assert personal not in page
    assert page.count('class="assessment-item"') == 17
    assert "面部与口腔清洁" in page
    data = page_data(page)
    assert data["shell"] is True
    assert (data["application"], data["draftUrl"], data["draft"]) == (None, None, None)
    assert data["instrument"]["code"] == "national_2021"
    assert len(data["instrument"]["items"]) == 17
    assert data["instrument"]["grading"]["kind"] == "combination"
    assert data["serviceWorkerUrl"] == "/sw.js"
    assert data["messages"]["application"] == "申请 #%(number)s"
    assert "data-shell-heading" in page
    assert re.search(r"<button[^>]*data-submit[^>]*disabled", page)
    # Nothing about an application was read: nothing to audit.
    assert db_session.scalar(select(func.count(AuditEvent.id))) == events_before


def test_assessment_shell_default_instrument_in_english(
    db_session: Session,
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    login_as(UserFactory(assessor=True))
    client.post("/lang/en")
    page = client.get("/assessment-shell").get_data(as_text=True)
    data = page_data(page)
    assert data["instrument"]["code"] == "barthel"  # no policy version: the default instrument
    assert page.count('class="assessment-item"') == len(BARTHEL.items)
    assert data["messages"]["application"] == "Application #%(number)s"
    assert "Feeding" in page
    assert "进食" not in page


def test_assessment_shell_is_for_assessors_only(
    db_session: Session,
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    anonymous = client.get("/assessment-shell")
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    for user in (UserFactory(admin=True), UserFactory(manager=True)):
        assert login_as(user).get("/assessment-shell").status_code == 403


def test_form_page_registers_the_service_worker_but_a_correction_does_not(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    application = ApplicationFactory(assigned=True)
    client = login_as(application.assessor_1)
    form_page = client.get(f"/applications/{application.id}/assessment")
    assert form_page.headers["Cache-Control"] == "no-store"  # it names the person
    assert client.get(draft_url(application)).headers["Cache-Control"] == "no-store"
    data = page_data(form_page.get_data(as_text=True))
    assert (data["serviceWorkerUrl"], data["serviceWorkerScope"]) == ("/sw.js", "/")
    assert "shell" not in data

    assessment = AssessmentFactory(application__assessor_1=application.assessor_1)
    correction = client.get(f"/assessments/{assessment.id}/correction").get_data(as_text=True)
    assert "serviceWorkerUrl" not in page_data(correction)


def test_service_worker_is_served_from_the_root_and_caches_only_the_offline_copy(
    client: FlaskClient,
) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype in {"text/javascript", "application/javascript"}
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    response.close()
    assert '"assessment-shell"' in script
    # Only the offline copy and static files are ever put in a cache.
    puts = re.findall(r"cache\.(?:put|add)\((\w+)", script)
    assert sorted(set(puts)) == ["SHELL_URL", "request", "url"]
