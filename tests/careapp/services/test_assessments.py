"""Recording and reading on-site assessments (service layer, on the database)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import rules_to_data
from assessments.instruments.barthel import barthel_bands
from assessments.types import BandRules
from careapp.core.errors import ConflictError, InvalidInputError, NotFoundError
from careapp.models import (
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentConfirmation,
    AssessmentDraft,
    AuditEvent,
    Role,
)
from careapp.services import assessments as service
from careapp.services.actor import Actor
from careapp.services.assessments import (
    AlreadySubmittedError,
    AssessmentAnswersError,
    DraftInputError,
    confirm_assessment,
    correct_assessment,
    correction_base,
    find_submission,
    get_application_for_assessment,
    get_assessment_draft,
    grading_scale_in_force,
    list_assessor_queue,
    may_confirm,
    may_correct,
    merge_draft_entries,
    record_assessment,
    save_assessment_draft,
    version_changes,
    view_assessment,
)
from tests.factories import (
    NOW,
    SEVERE_BARTHEL_ANSWERS,
    ApplicationFactory,
    AssessmentFactory,
    PolicyVersionFactory,
    UserFactory,
    actor_of,
)

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
# 01:00 on 24 November in the city, still 23 November in UTC.
LATE_EVENING_UTC = dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC)
MODERATE_ANSWERS = {**SEVERE_BARTHEL_ANSWERS, "bathing": 5, "grooming": 5, "toilet_use": 5}


def assigned() -> Application:
    application: Application = ApplicationFactory(assigned=True)
    return application


def first_assessor(application: Application) -> Actor:
    assert application.assessor_1 is not None
    return actor_of(application.assessor_1, address="10.0.0.9")


def record(
    session: Session, application: Application, actor: Actor | None = None, **changes: object
) -> Assessment:
    values: dict[str, object] = {
        "answers": SEVERE_BARTHEL_ANSWERS,
        "family_member_present": "李娟（女儿）",
        "note": "",
        "confirmed": True,
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

    queue = list_assessor_queue(db_session, actor_of(assessor, address="10.0.0.9"))

    assert [a.id for a in queue] == [as_second.id, as_first.id]  # by appointment time
    assert queue[0].person.name == as_second.person.name


def test_list_assessor_queue_is_empty_without_a_user(db_session: Session) -> None:
    ApplicationFactory(assigned=True)
    assert list_assessor_queue(db_session, Actor(user_id=None, role=None)) == []


# --- loading the form ------------------------------------------------------------------------


def test_get_application_for_assessment_for_either_assessor(db_session: Session) -> None:
    application = assigned()
    assert application.assessor_2 is not None
    for actor in (
        first_assessor(application),
        actor_of(application.assessor_2, address="10.0.0.9"),
    ):
        found = get_application_for_assessment(db_session, actor, application.id)
        assert found.id == application.id


@pytest.mark.parametrize("role", ["assessor", "admin"])
def test_get_application_for_assessment_hides_it_from_other_users(
    db_session: Session, role: str
) -> None:
    application = assigned()
    other = actor_of(UserFactory(**{role: True}), address="10.0.0.9")
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


def test_record_assessment_grades_and_stores_it_confirmed_by_its_submitter(
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
    assert [c.user_id for c in assessment.confirmations] == [actor.user_id]
    assert assessment.confirmations[0].confirmed_at == LATE_EVENING_UTC
    assert application.status is ApplicationStatus.ASSESSING  # the other assessor confirms
    [created] = events(db_session, "create", assessment.id)
    assert created.actor_id == actor.user_id
    assert created.address == "10.0.0.9"
    assert created.detail["total"] == 30
    assert created.detail["grade"] == "severe"
    assert created.detail["application_id"] == application.id


def test_record_assessment_by_the_second_assessor(db_session: Session) -> None:
    application = assigned()
    assert application.assessor_2 is not None
    assessment = record(
        db_session, application, actor_of(application.assessor_2, address="10.0.0.9")
    )
    assert assessment.submitted_by_id == application.assessor_2_id
    assert assessment.assessor_1_id == application.assessor_1_id


def test_record_assessment_blank_note_is_stored_as_none(db_session: Session) -> None:
    assert record(db_session, assigned(), note="   ").note is None


def test_record_assessment_uses_the_bands_of_the_policy_in_force(db_session: Session) -> None:
    application = assigned()
    answers = {**MODERATE_ANSWERS, "stairs": 0}  # total 45
    bands = BandRules(barthel_bands(severe_max=45, moderate_max=70))
    PolicyVersionFactory(grading_rules={"barthel": rules_to_data(bands)})
    scale = grading_scale_in_force(db_session, NOW)
    assert [b.max_total for b in scale.bands] == [45, 70, 99, 100]
    assessment = record(db_session, application, answers=answers)
    assert (assessment.total, assessment.grade) == (45, "severe")


def test_record_assessment_without_a_policy_uses_the_default_bands(db_session: Session) -> None:
    assessment = record(db_session, assigned(), answers=MODERATE_ANSWERS)
    assert (assessment.total, assessment.grade) == (45, "moderate")


def test_record_assessment_refuses_a_second_submission(db_session: Session) -> None:
    application = assigned()
    record(db_session, application, idempotency_key=KEY)
    with pytest.raises(AlreadySubmittedError, match="已经提交"):
        record(db_session, application, answers=MODERATE_ANSWERS, idempotency_key=OTHER_KEY)
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
        record(db_session, application, actor_of(UserFactory(assessor=True), address="10.0.0.9"))
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


def test_record_assessment_refuses_unless_the_submitter_confirms(db_session: Session) -> None:
    application = assigned()
    with pytest.raises(InvalidInputError, match="确认") as raised:
        record(db_session, application, confirmed=False)
    assert raised.value.field == "confirmed"
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
    admin = actor_of(UserFactory(admin=True), address="10.0.0.9")

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
        view_assessment(db_session, actor_of(user, address="10.0.0.9"), assessment.id, NOW)
    assert len(events(db_session, "read", assessment.id)) == 2


@pytest.mark.parametrize("role", ["assessor", "manager", "caregiver"])
def test_view_assessment_is_hidden_from_others(db_session: Session, role: str) -> None:
    assessment = AssessmentFactory()
    with pytest.raises(NotFoundError):
        view_assessment(
            db_session,
            actor_of(UserFactory(**{role: True}), address="10.0.0.9"),
            assessment.id,
            NOW,
        )
    assert events(db_session, "read", assessment.id) == []


def test_view_assessment_unknown_id(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        view_assessment(
            db_session, actor_of(UserFactory(admin=True), address="10.0.0.9"), 987654, NOW
        )


def test_view_assessment_caregiver_with_the_assessors_id_is_refused(db_session: Session) -> None:
    # Only the assessor role counts: a user id alone does not open an assessment.
    assessment = AssessmentFactory()
    impostor = Actor(user_id=assessment.assessor_1_id, role=Role.CAREGIVER)
    with pytest.raises(NotFoundError):
        view_assessment(db_session, impostor, assessment.id, NOW)


# --- drafts ----------------------------------------------------------------------------------


def second_assessor(application: Application) -> Actor:
    assert application.assessor_2 is not None
    return actor_of(application.assessor_2, address="10.0.0.9")


def change(value: object, base_rev: int = 0) -> dict[str, object]:
    return {"value": value, "base_rev": base_rev}


def draft_count(session: Session) -> int:
    return session.scalar(select(func.count(AssessmentDraft.id))) or 0


def test_save_assessment_draft_starts_and_extends_the_draft(db_session: Session) -> None:
    application = assigned()
    actor = first_assessor(application)

    first = save_assessment_draft(
        db_session,
        actor,
        application.id,
        {
            "item:feeding": change(5),
            "note:feeding": change("用勺"),
            "family_member_present": change("李娟"),
        },
        NOW,
    )
    later = NOW + dt.timedelta(minutes=1)
    second = save_assessment_draft(
        db_session, actor, application.id, {"item:feeding": change(10, base_rev=1)}, later
    )

    assert first.conflicts == second.conflicts == ()
    draft = second.draft
    assert draft.instrument == "barthel"
    assert draft.revision == 2
    assert draft.updated_at == later
    assert draft.entries["item:feeding"] == {"value": 10, "rev": 2, "by": actor.user_id, "seq": 2}
    assert draft.entries["note:feeding"]["value"] == "用勺"
    assert draft.entries["family_member_present"]["rev"] == 1
    assert draft_count(db_session) == 1
    found = get_assessment_draft(db_session, second_assessor(application), application.id, NOW)
    assert found is not None
    assert found.id == draft.id


def test_save_assessment_draft_merges_the_two_assessors_per_item(db_session: Session) -> None:
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(db_session, one, application.id, {"item:feeding": change(5)}, NOW)

    # The second assessor had not seen feeding yet: other items merge without a conflict.
    saved = save_assessment_draft(db_session, two, application.id, {"item:stairs": change(0)}, NOW)

    assert saved.conflicts == ()
    entries = saved.draft.entries
    assert (entries["item:feeding"]["value"], entries["item:feeding"]["by"]) == (5, one.user_id)
    assert (entries["item:stairs"]["value"], entries["item:stairs"]["by"]) == (0, two.user_id)


def test_save_assessment_draft_reports_a_conflicting_change_to_the_same_item(
    db_session: Session,
) -> None:
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(db_session, one, application.id, {"item:transfer": change(10)}, NOW)

    # Both started from revision 0 of transfer; the first assessor's answer is already in.
    saved = save_assessment_draft(
        db_session,
        two,
        application.id,
        {"item:transfer": change(5), "item:bathing": change(0)},
        NOW,
    )

    [conflict] = saved.conflicts
    assert (conflict.field, conflict.yours, conflict.theirs) == ("item:transfer", 5, 10)
    assert (conflict.rev, conflict.by_id) == (1, one.user_id)
    assert saved.draft.entries["item:transfer"]["value"] == 10  # not overwritten
    assert saved.draft.entries["item:bathing"]["value"] == 0  # the rest is applied

    # Having seen it (rev 1), the second assessor may deliberately replace it.
    again = save_assessment_draft(
        db_session, two, application.id, {"item:transfer": change(5, base_rev=1)}, NOW
    )
    assert again.conflicts == ()
    assert again.draft.entries["item:transfer"] == {
        "value": 5,
        "rev": 2,
        "by": two.user_id,
        "seq": again.draft.revision,
    }


def test_save_assessment_draft_same_value_or_own_stale_change_is_no_conflict(
    db_session: Session,
) -> None:
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(db_session, one, application.id, {"item:feeding": change(5)}, NOW)
    same = save_assessment_draft(db_session, two, application.id, {"item:feeding": change(5)}, NOW)
    assert same.conflicts == ()
    # The first assessor's second device, still on revision 0, replaces their own answer.
    own = save_assessment_draft(db_session, one, application.id, {"item:feeding": change(10)}, NOW)
    assert own.conflicts == ()
    assert own.draft.entries["item:feeding"]["value"] == 10


def test_save_assessment_draft_unanswers_an_item_with_null(db_session: Session) -> None:
    application = assigned()
    actor = first_assessor(application)
    save_assessment_draft(db_session, actor, application.id, {"item:feeding": change(5)}, NOW)
    saved = save_assessment_draft(
        db_session, actor, application.id, {"item:feeding": change(None, 1)}, NOW
    )
    assert saved.draft.entries["item:feeding"]["value"] is None


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"item:feeding": change(7)}, {"item:feeding": "invalid_option"}),
        ({"item:feeding": change(True)}, {"item:feeding": "invalid_option"}),
        ({"item:feeding": change("5")}, {"item:feeding": "invalid_option"}),
        ({"item:cooking": change(5)}, {"item:cooking": "unknown_field"}),
        ({"name": change("张三")}, {"name": "unknown_field"}),
        ({"note:feeding": change(5)}, {"note:feeding": "malformed"}),
        ({"note:feeding": change("很" * 501)}, {"note:feeding": "too_long"}),
        ({"family_member_present": change("李" * 101)}, {"family_member_present": "too_long"}),
        ({"item:feeding": {"value": 5}}, {"item:feeding": "malformed"}),
        ({"item:feeding": change(5, base_rev=-1)}, {"item:feeding": "malformed"}),
        ({"item:feeding": [5, 0]}, {"item:feeding": "malformed"}),
        ([["item:feeding", 5]], {"changes": "malformed"}),
        (None, {"changes": "malformed"}),
    ],
)
def test_save_assessment_draft_refuses_bad_changes_and_writes_nothing(
    db_session: Session, changes: object, problems: dict[str, str]
) -> None:
    application = assigned()
    actor = first_assessor(application)
    good = {"item:stairs": change(5)}
    body = {**good, **changes} if isinstance(changes, dict) else changes
    with pytest.raises(DraftInputError) as raised:
        save_assessment_draft(db_session, actor, application.id, body, NOW)
    assert raised.value.problems == problems
    assert raised.value.status_code == 400
    assert draft_count(db_session) == 0


def test_save_assessment_draft_refuses_other_users_and_states(db_session: Session) -> None:
    application = assigned()
    with pytest.raises(NotFoundError):
        save_assessment_draft(
            db_session,
            actor_of(UserFactory(assessor=True), address="10.0.0.9"),
            application.id,
            {},
            NOW,
        )
    decided = ApplicationFactory(assigned=True, status=ApplicationStatus.DECIDED)
    with pytest.raises(ConflictError):
        save_assessment_draft(db_session, first_assessor(decided), decided.id, {}, NOW)
    assert draft_count(db_session) == 0


def test_save_assessment_draft_after_submission_names_the_assessment(
    db_session: Session,
) -> None:
    application = assigned()
    assessment = record(db_session, application)
    with pytest.raises(AlreadySubmittedError) as raised:
        save_assessment_draft(db_session, second_assessor(application), application.id, {}, NOW)
    assert raised.value.assessment_id == assessment.id
    assert raised.value.status_code == 409


def test_get_assessment_draft_is_none_before_the_first_save(db_session: Session) -> None:
    application = assigned()
    assert (
        get_assessment_draft(db_session, first_assessor(application), application.id, NOW) is None
    )


def test_a_draft_of_another_instrument_is_not_offered_and_is_replaced(
    db_session: Session,
) -> None:
    application = assigned()
    actor = first_assessor(application)
    db_session.add(
        AssessmentDraft(
            application_id=application.id,
            instrument="retired_form",
            entries={"item:old": {"value": 1, "rev": 1, "by": actor.user_id, "seq": 1}},
            revision=1,
            updated_by_id=actor.user_id,
            updated_at=NOW,
        )
    )
    db_session.flush()
    assert get_assessment_draft(db_session, actor, application.id, NOW) is None
    saved = save_assessment_draft(
        db_session, actor, application.id, {"item:feeding": change(5)}, NOW
    )
    assert saved.draft.instrument == "barthel"
    assert list(saved.draft.entries) == ["item:feeding"]
    assert draft_count(db_session) == 1


def test_merge_draft_entries_is_pure_and_keeps_the_input() -> None:
    entries = {"item:a": {"value": 1, "rev": 1, "by": 7, "seq": 1}}
    merged, conflicts = merge_draft_entries(entries, {"item:a": (2, 0), "item:b": (3, 0)}, 8, 2)
    assert [c.field for c in conflicts] == ["item:a"]
    assert merged["item:b"] == {"value": 3, "rev": 1, "by": 8, "seq": 2}
    assert entries == {"item:a": {"value": 1, "rev": 1, "by": 7, "seq": 1}}


def test_record_assessment_deletes_the_draft(db_session: Session) -> None:
    application = assigned()
    save_assessment_draft(
        db_session, first_assessor(application), application.id, {"item:feeding": change(5)}, NOW
    )
    record(db_session, application)
    assert draft_count(db_session) == 0


def test_record_assessment_refuses_answers_the_other_assessor_changed_unseen(
    db_session: Session,
) -> None:
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(db_session, one, application.id, {"item:feeding": change(5)}, NOW)
    seen = 1  # the revision the first assessor's page last saw
    save_assessment_draft(db_session, two, application.id, {"item:stairs": change(10)}, NOW)

    with pytest.raises(ConflictError, match="上下楼梯"):
        record(db_session, application, one, draft_revision=seen)
    assert assessment_count(db_session) == 0

    # Having seen the latest revision (or agreeing with it), the submission goes through.
    latest = get_assessment_draft(db_session, one, application.id, NOW)
    assert latest is not None
    assert latest.revision == 2
    assessment = record(db_session, application, one, draft_revision=latest.revision)
    assert assessment.answers["stairs"] == 0


# --- idempotent submission -------------------------------------------------------------------


def test_record_assessment_twice_with_one_key_records_one_assessment(db_session: Session) -> None:
    application = assigned()
    first = record(db_session, application, idempotency_key=KEY)
    # A retry after a timeout, even by the other assessor's tablet replaying the request.
    again = record(db_session, application, idempotency_key=KEY, answers=MODERATE_ANSWERS)
    assert again.id == first.id
    assert (again.total, again.idempotency_key) == (30, KEY)
    assert assessment_count(db_session) == 1
    assert len(events(db_session, "create", first.id)) == 1
    assert find_submission(db_session, first_assessor(application), application.id, KEY) == first


def test_record_assessment_a_racing_twin_returns_the_first(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests with the same key passed the look-up before either was stored: the unique
    # key makes the second insert fail, and it answers with the first.
    application = assigned()
    first = record(db_session, application, idempotency_key=KEY)
    db_session.expire_all()
    real = service._submitted_with
    calls: list[str] = []

    def missed_once(*args: object) -> Assessment | None:
        calls.append("lookup")
        return None if len(calls) == 1 else real(*args)  # type: ignore[arg-type]  # passthrough

    monkeypatch.setattr(service, "_submitted_with", missed_once)
    monkeypatch.setattr(
        service, "get_application_for_assessment", lambda *a, **k: first.application
    )
    first.application.status = ApplicationStatus.ASSESSING
    again = record(db_session, application, idempotency_key=KEY)
    assert again.id == first.id
    assert calls == ["lookup", "lookup"]
    assert assessment_count(db_session) == 1


def test_record_assessment_a_racing_second_version_is_refused(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = assigned()
    first = record(db_session, application, idempotency_key=KEY)
    monkeypatch.setattr(
        service, "get_application_for_assessment", lambda *a, **k: first.application
    )
    with pytest.raises(ConflictError, match="已经提交"):
        record(db_session, application, idempotency_key=OTHER_KEY)
    assert assessment_count(db_session) == 1


def test_record_assessment_refuses_a_key_used_for_another_application(
    db_session: Session,
) -> None:
    first = assigned()
    record(db_session, first, idempotency_key=KEY)
    other = ApplicationFactory(assigned=True, assessor_1=first.assessor_1)
    with pytest.raises(ConflictError, match="另一份评估"):
        record(db_session, other, idempotency_key=KEY)
    assert assessment_count(db_session) == 1


@pytest.mark.parametrize("key", ["short", "x" * 65, "has space in it here!", ""])
def test_record_assessment_refuses_a_malformed_key(db_session: Session, key: str) -> None:
    with pytest.raises(InvalidInputError):
        record(db_session, assigned(), idempotency_key=key)
    assert assessment_count(db_session) == 0


def test_find_submission_ignores_malformed_and_unknown_keys(db_session: Session) -> None:
    application = assigned()
    actor = first_assessor(application)
    assert find_submission(db_session, actor, application.id, "bad key") is None
    assert find_submission(db_session, actor, application.id, KEY) is None


def test_record_assessment_stores_item_notes(db_session: Session) -> None:
    assessment = record(
        db_session, assigned(), item_notes={"feeding": "  用勺，需切碎 ", "stairs": "  "}
    )
    assert assessment.item_notes == {"feeding": "用勺，需切碎"}


@pytest.mark.parametrize(
    ("notes", "field"),
    [({"cooking": "x"}, "cooking__note"), ({"feeding": "很" * 501}, "feeding__note")],
)
def test_record_assessment_refuses_bad_item_notes(
    db_session: Session, notes: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        record(db_session, assigned(), item_notes=notes)
    assert raised.value.field == field
    assert assessment_count(db_session) == 0


# --- confirmations ---------------------------------------------------------------------------


def test_confirm_assessment_by_the_other_assessor_makes_the_application_assessed(
    db_session: Session,
) -> None:
    application = assigned()
    assessment = record(db_session, application)
    two = second_assessor(application)
    assert may_confirm(two, assessment)
    assert not may_confirm(first_assessor(application), assessment)  # already confirmed

    later = NOW + dt.timedelta(minutes=10)
    confirmed = confirm_assessment(db_session, two, assessment.id, later)

    assert confirmed.is_confirmed_by_both
    assert [(c.user_id, c.confirmed_at) for c in confirmed.confirmations] == [
        (application.assessor_1_id, NOW),
        (application.assessor_2_id, later),
    ]
    assert application.status is ApplicationStatus.ASSESSED
    [event] = events(db_session, "confirm", assessment.id)
    assert event.actor_id == two.user_id
    assert event.detail == {"application_id": application.id, "version": 1}


def test_confirm_assessment_twice_changes_nothing(db_session: Session) -> None:
    application = assigned()
    assessment = record(db_session, application)
    confirm_assessment(db_session, first_assessor(application), assessment.id, NOW)
    assert application.status is ApplicationStatus.ASSESSING
    assert len(assessment.confirmations) == 1
    assert events(db_session, "confirm", assessment.id) == []


@pytest.mark.parametrize("role", ["assessor", "admin", "manager", "caregiver"])
def test_confirm_assessment_refuses_anyone_but_its_assessors(
    db_session: Session, role: str
) -> None:
    application = assigned()
    assessment = record(db_session, application)
    with pytest.raises(NotFoundError):
        confirm_assessment(
            db_session,
            actor_of(UserFactory(**{role: True}), address="10.0.0.9"),
            assessment.id,
            NOW,
        )
    assert application.status is ApplicationStatus.ASSESSING


def test_confirm_assessment_refuses_the_assessors_id_under_another_role(
    db_session: Session,
) -> None:
    application = assigned()
    assessment = record(db_session, application)
    impostor = Actor(user_id=application.assessor_2_id, role=Role.ADMIN)
    with pytest.raises(NotFoundError):
        confirm_assessment(db_session, impostor, assessment.id, NOW)


def test_confirm_assessment_refuses_a_superseded_version_and_a_decided_application(
    db_session: Session,
) -> None:
    application = assigned()
    first = record(db_session, application)
    correct(db_session, first)
    with pytest.raises(ConflictError, match="更新的版本"):
        confirm_assessment(db_session, second_assessor(application), first.id, NOW)

    decided = AssessmentFactory(application__status=ApplicationStatus.DECIDED, confirmed=False)
    with pytest.raises(ConflictError):
        confirm_assessment(
            db_session, actor_of(decided.assessor_2, address="10.0.0.9"), decided.id, NOW
        )


def test_confirm_assessment_unknown_id(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        confirm_assessment(
            db_session, actor_of(UserFactory(assessor=True), address="10.0.0.9"), 987654, NOW
        )


# --- corrections -----------------------------------------------------------------------------


def correct(
    session: Session, assessment: Assessment, actor: Actor | None = None, **changes: object
) -> Assessment:
    values: dict[str, object] = {
        "answers": {**assessment.answers, "feeding": 10},
        "family_member_present": assessment.family_member_present,
        "note": assessment.note,
        "reason": "进食项记录错误，复核后更正",
        "now": NOW + dt.timedelta(hours=2),
    }
    values.update(changes)
    actor = actor or actor_of(assessment.assessor_2, address="10.0.0.9")
    return correct_assessment(session, actor, assessment.id, **values)  # type: ignore[arg-type]  # keyword values of mixed types


def test_correct_assessment_records_a_new_version_with_who_when_why(db_session: Session) -> None:
    application = assigned()
    first = record(db_session, application)
    confirm_assessment(db_session, second_assessor(application), first.id, NOW)
    assert application.status is ApplicationStatus.ASSESSED
    two = second_assessor(application)

    second = correct(db_session, first, two, item_notes={"feeding": "可自行用勺"})

    assert (second.version, second.total, second.grade) == (2, 35, "severe")
    assert second.correction_reason == "进食项记录错误，复核后更正"
    assert second.submitted_by_id == two.user_id
    assert second.submitted_at == NOW + dt.timedelta(hours=2)
    assert second.assessed_on == first.assessed_on
    assert (first.version, first.total, first.answers["feeding"]) == (1, 30, 5)  # unchanged
    # The correction needs both confirmations again; the corrector's is recorded.
    assert [c.user_id for c in second.confirmations] == [two.user_id]
    assert application.status is ApplicationStatus.ASSESSING
    assert [a.version for a in application.assessments] == [1, 2]
    [event] = events(db_session, "correct", second.id)
    assert event.detail["version"] == 2
    [changed] = version_changes(first, second)
    assert (changed.item_code, changed.before, changed.after) == ("feeding", 5, 10)
    assert (changed.note_before, changed.note_after) == (None, "可自行用勺")

    confirm_assessment(db_session, first_assessor(application), second.id, NOW)
    assert application.status is ApplicationStatus.ASSESSED


def test_correct_assessment_twice_with_one_key_records_one_version(db_session: Session) -> None:
    first = record(db_session, assigned())
    second = correct(db_session, first, idempotency_key=KEY)
    again = correct(db_session, first, idempotency_key=KEY)
    assert again.id == second.id
    assert assessment_count(db_session) == 2


def test_correct_assessment_needs_a_reason(db_session: Session) -> None:
    first = record(db_session, assigned())
    for reason, message in (("  ", "原因"), ("很" * 1001, "1000")):
        with pytest.raises(InvalidInputError, match=message) as raised:
            correct(db_session, first, reason=reason)
        assert raised.value.field == "reason"
    assert assessment_count(db_session) == 1


def test_correct_assessment_refusals(db_session: Session) -> None:
    application = assigned()
    first = record(db_session, application)
    with pytest.raises(NotFoundError):
        correct(db_session, first, actor_of(UserFactory(assessor=True), address="10.0.0.9"))
    with pytest.raises(NotFoundError):
        correct(db_session, first, actor_of(UserFactory(admin=True), address="10.0.0.9"))
    with pytest.raises(AssessmentAnswersError):
        correct(db_session, first, answers={"feeding": 10})
    correct(db_session, first)
    with pytest.raises(ConflictError, match="更新的版本"):
        correct(db_session, first)  # only the latest version is corrected
    decided = AssessmentFactory(application__status=ApplicationStatus.DECIDED)
    with pytest.raises(ConflictError, match="重新评估"):
        correct(db_session, decided)
    with pytest.raises(ConflictError, match="重新评估"):
        correction_base(db_session, actor_of(decided.assessor_1, address="10.0.0.9"), decided.id)
    assert not may_correct(actor_of(decided.assessor_1, address="10.0.0.9"), decided)
    assert assessment_count(db_session) == 3


def test_correct_assessment_refuses_when_the_instrument_in_force_changed(
    db_session: Session,
) -> None:
    retired = AssessmentFactory(
        instrument="retired_form", application__status=ApplicationStatus.ASSESSING
    )
    with pytest.raises(ConflictError, match="量表"):
        correct(db_session, retired)


def test_view_assessment_loads_every_version_and_confirmation(db_session: Session) -> None:
    application = assigned()
    first = record(db_session, application)
    second = correct(db_session, first)
    db_session.expire_all()
    found = view_assessment(
        db_session, actor_of(UserFactory(admin=True), address="10.0.0.9"), first.id, NOW
    )
    assert [a.id for a in found.application.assessments] == [first.id, second.id]
    assert [len(a.confirmations) for a in found.application.assessments] == [1, 1]
    assert db_session.scalar(select(func.count(AssessmentConfirmation.id))) == 2


def test_save_assessment_draft_refuses_an_overlong_field_key(db_session: Session) -> None:
    application = assigned()
    with pytest.raises(DraftInputError) as raised:
        save_assessment_draft(
            db_session, first_assessor(application), application.id, {"x" * 200: change(1)}, NOW
        )
    assert raised.value.problems == {"x" * 80: "unknown_field"}


def test_save_assessment_draft_two_first_saves_at_once_ask_the_later_to_retry(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both requests found no draft; the one application per draft keeps only the first.
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(db_session, one, application.id, {"item:feeding": change(5)}, NOW)
    monkeypatch.setattr(service, "_draft_of", lambda *args: None)
    with pytest.raises(ConflictError, match="重试") as raised:
        save_assessment_draft(db_session, two, application.id, {"item:stairs": change(0)}, NOW)
    assert raised.value.status_code == 409
    monkeypatch.undo()
    draft = get_assessment_draft(db_session, one, application.id, NOW)
    assert draft is not None
    assert list(draft.entries) == ["item:feeding"]


def test_record_assessment_refuses_text_the_other_assessor_changed_unseen(
    db_session: Session,
) -> None:
    application = assigned()
    one, two = first_assessor(application), second_assessor(application)
    save_assessment_draft(
        db_session, two, application.id, {"family_member_present": change("王芳")}, NOW
    )
    with pytest.raises(ConflictError, match="family_member_present"):
        record(db_session, application, one, draft_revision=0)
    # The same text (spaces aside) is no conflict.
    assessment = record(
        db_session, application, one, draft_revision=0, family_member_present=" 王芳 "
    )
    assert assessment.family_member_present == "王芳"
