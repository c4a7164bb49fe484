"""Recording and reading on-site assessments (service layer, on the database)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.errors import ConflictError, InvalidInputError, NotFoundError
from careapp.models import (
    Application,
    ApplicationStatus,
    Assessment,
    AuditEvent,
    Role,
    User,
)
from careapp.services.assessments import (
    AssessmentAnswersError,
    get_application_for_assessment,
    grading_scale_in_force,
    list_assessor_queue,
    record_assessment,
    view_assessment,
)
from tests.conftest import NOW
from tests.factories import (
    SEVERE_BARTHEL_ANSWERS,
    ApplicationFactory,
    AssessmentFactory,
    PolicyVersionFactory,
    UserFactory,
)

# 01:00 on 24 November in the city, still 23 November in UTC.
LATE_EVENING_UTC = dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC)
MODERATE_ANSWERS = {**SEVERE_BARTHEL_ANSWERS, "bathing": 5, "grooming": 5, "toilet_use": 5}


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address="10.0.0.9")


def assigned() -> Application:
    application: Application = ApplicationFactory(assigned=True)
    return application


def first_assessor(application: Application) -> Actor:
    assert application.assessor_1 is not None
    return actor_of(application.assessor_1)


def record(
    session: Session, application: Application, actor: Actor | None = None, **changes: object
) -> Assessment:
    values: dict[str, object] = {
        "answers": SEVERE_BARTHEL_ANSWERS,
        "family_member_present": "李娟（女儿）",
        "note": "",
        "both_confirmed": True,
        "now": NOW,
    }
    values.update(changes)
    actor = actor or first_assessor(application)
    return record_assessment(session, actor, application.id, **values)  # type: ignore[arg-type]  # keyword values of mixed types


def events(session: Session, action: str, object_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(
                AuditEvent.object_type == "assessment",
                AuditEvent.object_id == object_id,
                AuditEvent.action == action,
            )
        )
    )


def assessment_count(session: Session) -> int:
    return session.scalar(select(func.count(Assessment.id))) or 0


# --- the queue -------------------------------------------------------------------------------


def test_list_assessor_queue_shows_applications_where_the_actor_is_either_assessor(
    db_session: Session,
) -> None:
    assessor = UserFactory(assessor=True)
    as_first = ApplicationFactory(assigned=True, assessor_1=assessor)
    as_second = ApplicationFactory(
        assigned=True,
        assessor_2=assessor,
        appointment_at=dt.datetime(2026, 11, 19, 1, 0, tzinfo=dt.UTC),
    )
    ApplicationFactory(assigned=True)  # someone else's
    ApplicationFactory(assigned=True, assessor_1=assessor, status=ApplicationStatus.ASSESSED)
    ApplicationFactory()  # not assigned yet

    queue = list_assessor_queue(db_session, actor_of(assessor))

    assert [a.id for a in queue] == [as_second.id, as_first.id]  # by appointment time
    assert queue[0].person.name == as_second.person.name


def test_list_assessor_queue_is_empty_without_a_user(db_session: Session) -> None:
    ApplicationFactory(assigned=True)
    assert list_assessor_queue(db_session, Actor(user_id=None, role=None)) == []


# --- loading the form ------------------------------------------------------------------------


def test_get_application_for_assessment_for_either_assessor(db_session: Session) -> None:
    application = assigned()
    assert application.assessor_2 is not None
    for actor in (first_assessor(application), actor_of(application.assessor_2)):
        found = get_application_for_assessment(db_session, actor, application.id)
        assert found.id == application.id


@pytest.mark.parametrize("role", ["assessor", "admin"])
def test_get_application_for_assessment_hides_it_from_other_users(
    db_session: Session, role: str
) -> None:
    application = assigned()
    other = actor_of(UserFactory(**{role: True}))
    with pytest.raises(NotFoundError):
        get_application_for_assessment(db_session, other, application.id)


def test_get_application_for_assessment_unknown_id(db_session: Session) -> None:
    application = assigned()
    with pytest.raises(NotFoundError):
        get_application_for_assessment(db_session, first_assessor(application), 987654)


def test_get_application_for_assessment_refuses_an_application_not_in_assessing(
    db_session: Session,
) -> None:
    application = ApplicationFactory(
        assigned=True, status=ApplicationStatus.DECIDED, person__name="王五"
    )
    with pytest.raises(ConflictError, match="不在待评估状态"):
        get_application_for_assessment(db_session, first_assessor(application), application.id)


# --- recording -------------------------------------------------------------------------------


def test_record_assessment_grades_stores_and_moves_the_application_on(
    db_session: Session,
) -> None:
    application = assigned()
    actor = first_assessor(application)

    assessment = record(db_session, application, actor, note="  卧床为主  ", now=LATE_EVENING_UTC)

    assert assessment.id is not None
    assert (assessment.total, assessment.grade) == (30, "severe")
    assert (assessment.instrument, assessment.instrument_version) == ("barthel", "1965")
    assert assessment.answers == SEVERE_BARTHEL_ANSWERS
    assert assessment.assessed_on == dt.date(2026, 11, 24)  # the city's date, not UTC's
    assert assessment.assessor_1_id == application.assessor_1_id
    assert assessment.assessor_2_id == application.assessor_2_id
    assert assessment.submitted_by_id == actor.user_id
    assert assessment.submitted_at == LATE_EVENING_UTC
    assert assessment.family_member_present == "李娟（女儿）"
    assert assessment.note == "卧床为主"
    assert assessment.version == 1
    assert application.status is ApplicationStatus.ASSESSED
    [created] = events(db_session, "create", assessment.id)
    assert created.actor_id == actor.user_id
    assert created.address == "10.0.0.9"
    assert created.detail["total"] == 30
    assert created.detail["grade"] == "severe"
    assert created.detail["application_id"] == application.id


def test_record_assessment_by_the_second_assessor(db_session: Session) -> None:
    application = assigned()
    assert application.assessor_2 is not None
    assessment = record(db_session, application, actor_of(application.assessor_2))
    assert assessment.submitted_by_id == application.assessor_2_id
    assert assessment.assessor_1_id == application.assessor_1_id


def test_record_assessment_blank_note_is_stored_as_none(db_session: Session) -> None:
    assert record(db_session, assigned(), note="   ").note is None


def test_record_assessment_uses_the_bands_of_the_policy_in_force(db_session: Session) -> None:
    application = assigned()
    answers = {**MODERATE_ANSWERS, "stairs": 0}  # total 45
    PolicyVersionFactory(barthel_severe_max=45, barthel_moderate_max=70)
    scale = grading_scale_in_force(db_session, NOW)
    assert [b.max_total for b in scale.bands] == [45, 70, 99, 100]
    assessment = record(db_session, application, answers=answers)
    assert (assessment.total, assessment.grade) == (45, "severe")


def test_record_assessment_without_a_policy_uses_the_default_bands(db_session: Session) -> None:
    assessment = record(db_session, assigned(), answers=MODERATE_ANSWERS)
    assert (assessment.total, assessment.grade) == (45, "moderate")


def test_record_assessment_refuses_a_second_submission(db_session: Session) -> None:
    application = assigned()
    record(db_session, application)
    with pytest.raises(ConflictError, match="已经提交"):
        record(db_session, application, answers=MODERATE_ANSWERS)
    assert assessment_count(db_session) == 1


def test_record_assessment_refuses_when_an_assessment_already_exists(db_session: Session) -> None:
    # The unique (application, version) backstop for two submissions racing past the status check.
    application = assigned()
    AssessmentFactory(application=application)
    with pytest.raises(ConflictError, match="已经提交"):
        record(db_session, application)


def test_record_assessment_refuses_an_actor_who_is_not_an_assessor_of_it(
    db_session: Session,
) -> None:
    application = assigned()
    with pytest.raises(NotFoundError):
        record(db_session, application, actor_of(UserFactory(assessor=True)))
    assert assessment_count(db_session) == 0
    assert application.status is ApplicationStatus.ASSESSING


@pytest.mark.parametrize(
    "status", [ApplicationStatus.SUBMITTED, ApplicationStatus.DECIDED, ApplicationStatus.WITHDRAWN]
)
def test_record_assessment_refuses_the_wrong_state(
    db_session: Session, status: ApplicationStatus
) -> None:
    application = ApplicationFactory(assigned=True, status=status)
    with pytest.raises(ConflictError):
        record(db_session, application)
    assert assessment_count(db_session) == 0


def test_record_assessment_refuses_without_two_assessors(db_session: Session) -> None:
    application = ApplicationFactory(assigned=True, assessor_2=None)
    with pytest.raises(ConflictError, match="尚未指派两名评估员"):
        record(db_session, application)


def test_record_assessment_refuses_unless_both_assessors_confirm(db_session: Session) -> None:
    application = assigned()
    with pytest.raises(InvalidInputError, match="共同确认") as raised:
        record(db_session, application, both_confirmed=False)
    assert raised.value.field == "both_confirmed"
    assert assessment_count(db_session) == 0
    assert application.status is ApplicationStatus.ASSESSING


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"family_member_present": "   "}, "family_member_present"),
        ({"family_member_present": "李" * 101}, "family_member_present"),
        ({"note": "很" * 1001}, "note"),
    ],
)
def test_record_assessment_refuses_bad_text(
    db_session: Session, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        record(db_session, assigned(), **changes)
    assert raised.value.field == field
    assert assessment_count(db_session) == 0


def test_record_assessment_names_every_bad_answer(db_session: Session) -> None:
    application = assigned()
    answers = dict(SEVERE_BARTHEL_ANSWERS)
    del answers["stairs"]
    answers["feeding"] = 7
    with pytest.raises(AssessmentAnswersError) as raised:
        record(db_session, application, answers=answers)
    assert raised.value.problems == {"stairs": "missing", "feeding": "invalid_option"}
    assert raised.value.status_code == 400
    assert assessment_count(db_session) == 0


# --- reading ---------------------------------------------------------------------------------


def test_view_assessment_by_an_admin_writes_a_read_event_each_time(db_session: Session) -> None:
    assessment = AssessmentFactory()
    admin = actor_of(UserFactory(admin=True))

    found = view_assessment(db_session, admin, assessment.id, NOW)
    view_assessment(db_session, admin, assessment.id, NOW + dt.timedelta(minutes=1))

    assert found.id == assessment.id
    reads = events(db_session, "read", assessment.id)
    assert [(e.actor_id, e.at) for e in reads] == [
        (admin.user_id, NOW),
        (admin.user_id, NOW + dt.timedelta(minutes=1)),
    ]


def test_view_assessment_by_either_of_its_assessors(db_session: Session) -> None:
    assessment = AssessmentFactory()
    for user in (assessment.assessor_1, assessment.assessor_2):
        view_assessment(db_session, actor_of(user), assessment.id, NOW)
    assert len(events(db_session, "read", assessment.id)) == 2


@pytest.mark.parametrize("role", ["assessor", "manager", "caregiver"])
def test_view_assessment_is_hidden_from_others(db_session: Session, role: str) -> None:
    assessment = AssessmentFactory()
    with pytest.raises(NotFoundError):
        view_assessment(db_session, actor_of(UserFactory(**{role: True})), assessment.id, NOW)
    assert events(db_session, "read", assessment.id) == []


def test_view_assessment_unknown_id(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        view_assessment(db_session, actor_of(UserFactory(admin=True)), 987654, NOW)


def test_view_assessment_caregiver_with_the_assessors_id_is_refused(db_session: Session) -> None:
    # Only the assessor role counts: a user id alone does not open an assessment.
    assessment = AssessmentFactory()
    impostor = Actor(user_id=assessment.assessor_1_id, role=Role.CAREGIVER)
    with pytest.raises(NotFoundError):
        view_assessment(db_session, impostor, assessment.id, NOW)
