"""The assessor's pages: queue, tablet form and the audited detail page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session

from assessments.instruments.barthel import BARTHEL
from careapp.blueprints.assessments.forms import build_assessment_form
from careapp.errors import ConflictError, InvalidInputError
from careapp.models import Application, ApplicationStatus, Assessment, AuditEvent
from careapp.services.assessments import AssessmentAnswersError
from tests.factories import (
    SEVERE_BARTHEL_ANSWERS,
    ApplicationFactory,
    AssessmentFactory,
    PersonFactory,
    UserFactory,
)

ITEM_LABELS_ZH = ["进食", "洗澡", "修饰", "穿衣", "控制大便", "控制小便", "如厕", "床椅转移"]


def form_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {code: str(points) for code, points in SEVERE_BARTHEL_ANSWERS.items()}
    data.update(family_member_present="李娟（女儿）", note="", both_confirmed="y")
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def assessment_count(db_session: Session) -> int:
    return db_session.scalar(select(func.count(Assessment.id))) or 0


def status_of(db_session: Session, application: Application) -> ApplicationStatus:
    db_session.expire_all()
    status = db_session.scalar(select(Application.status).where(Application.id == application.id))
    assert status is not None
    return status


@pytest.fixture
def count_queries(connection: Connection) -> Iterator[list[str]]:
    statements: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", _count)
    yield statements
    event.remove(connection, "before_cursor_execute", _count)


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
    assert "/static/js/barthel.js" in page
    assert "<script>" not in page  # CSP: no inline scripts
    found = re.search(r"data-bands='([^']*)'", page)
    assert found is not None
    bands = json.loads(html.unescape(found.group(1)))  # read by barthel.js for the live grade
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
    assert status_of(db_session, application) is ApplicationStatus.ASSESSED
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
    data = form_data(both_confirmed=None, family_member_present="")

    response = client.post(f"/applications/{application.id}/assessment", data=data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "须两名评估员共同确认评估结果。" in page
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

    response = client.post(url, data=form_data(feeding="10"))

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
    # the application with person, district and assessors, then the policy in force (the user
    # is cached by the test app context; one more query in production)
    selects = [s for s in count_queries if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 3, selects


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
    assert "评估已提交。" in page
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


def test_assessment_form_concurrent_submission_is_shown_on_the_form(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    # Another submission got in first without the status changing yet (the unique backstop).
    application = ApplicationFactory(assigned=True)
    AssessmentFactory(application=application)
    client = login_as(application.assessor_1)

    response = client.post(f"/applications/{application.id}/assessment", data=form_data())
    page = response.get_data(as_text=True)

    assert response.status_code == 409
    assert "已经提交" in page
    assert 'id="assessment-form"' in page  # the form is shown again with the answers
    assert assessment_count(db_session) == 1
    assert status_of(db_session, application) is ApplicationStatus.ASSESSING


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
        assert "甲" in form.both_confirmed.label.text


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
