"""Application intake and assessor assignment."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    Applicant,
    Application,
    ApplicationStatus,
    AuditEvent,
    CareSetting,
    EligibilityDecision,
    HouseholdType,
    InsuranceStatus,
    Role,
)
from careapp.services import applications as service
from careapp.services.actor import Actor
from careapp.services.applications import (
    ApplicationInput,
    assign_assessors,
    can_assign_assessors,
    decision_id_for,
    get_application,
    list_applications,
    list_assessors,
    read_application,
    submit_application,
)
from tests.factories import (
    NOW,
    TODAY,
    ApplicationFactory,
    AssessmentFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)

LATER = NOW + dt.timedelta(days=3)


def admin() -> Actor:
    return Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN, address="10.0.0.2")


def application_input(**changes: object) -> ApplicationInput:
    values: dict[str, object] = {
        "applicant": Applicant.FAMILY,
        "applicant_name": "李娟（女儿）",
        "disability_since": dt.date(2025, 3, 1),
        "evidence_note": "南通大学附属医院 出院小结 2025-03-10",
        "requested_setting": CareSetting.HOME_SERVICE,
    }
    values.update(changes)
    return ApplicationInput(**values)  # type: ignore[arg-type]  # test helper


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.usefixtures("policy")
def test_submit_application_records_it_dated_today_in_the_city(db_session: Session) -> None:
    person = PersonFactory()
    actor = admin()
    late_evening = dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 24th in Nantong

    application = submit_application(
        db_session, actor, person.id, application_input(), late_evening
    )

    assert application.status is ApplicationStatus.SUBMITTED
    assert application.applied_on == dt.date(2026, 11, 24)
    assert application.created_by_id == actor.user_id
    assert application.applicant_name == "李娟（女儿）"
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "create")).one()
    assert (event.object_type, event.object_id) == ("application", application.id)


@pytest.mark.usefixtures("policy")
def test_submit_application_by_the_person_needs_no_applicant_name(db_session: Session) -> None:
    person = PersonFactory()
    application = submit_application(
        db_session,
        admin(),
        person.id,
        application_input(applicant=Applicant.SELF, applicant_name="  "),
        NOW,
    )
    assert application.applicant_name is None


@pytest.mark.usefixtures("policy")
def test_submit_application_refuses_an_uninsured_person(db_session: Session) -> None:
    suspended = PersonFactory(insurance_status=InsuranceStatus.SUSPENDED)
    ended = PersonFactory(insured_until=TODAY - dt.timedelta(days=1))
    for person in (suspended, ended):
        with pytest.raises(ConflictError, match="参保"):
            submit_application(db_session, admin(), person.id, application_input(), NOW)
    assert count(db_session, Application) == 0


@pytest.mark.parametrize(
    "status",
    [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ASSESSING,
        ApplicationStatus.ASSESSED,
        ApplicationStatus.PUBLICITY,
    ],
)
@pytest.mark.usefixtures("policy")
def test_submit_application_refuses_a_second_open_application(
    db_session: Session, status: ApplicationStatus
) -> None:
    existing = ApplicationFactory(status=status)

    with pytest.raises(ConflictError) as caught:
        submit_application(db_session, admin(), existing.person_id, application_input(), NOW)

    assert str(existing.id) in caught.value.message
    assert count(db_session, Application) == 1


@pytest.mark.parametrize("status", [ApplicationStatus.DECIDED, ApplicationStatus.WITHDRAWN])
@pytest.mark.usefixtures("policy")
def test_submit_application_after_a_closed_one_is_accepted(
    db_session: Session, status: ApplicationStatus
) -> None:
    closed = ApplicationFactory(status=status)
    submit_application(db_session, admin(), closed.person_id, application_input(), NOW)
    assert count(db_session, Application) == 2


@pytest.mark.usefixtures("policy")
def test_submit_application_turns_the_unique_index_race_into_the_same_conflict(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = ApplicationFactory()
    real_lookup = service._open_application
    calls: list[int] = []

    def missing_the_first_time(session: Session, person_id: int) -> Application | None:
        calls.append(person_id)
        return None if len(calls) == 1 else real_lookup(session, person_id)

    monkeypatch.setattr(service, "_open_application", missing_the_first_time)

    with pytest.raises(ConflictError, match=str(existing.id)):
        submit_application(db_session, admin(), existing.person_id, application_input(), NOW)

    assert len(calls) == 2
    assert count(db_session, Application) == 1


@pytest.mark.usefixtures("policy")
def test_submit_application_reraises_an_integrity_error_that_is_not_a_duplicate(
    db_session: Session,
) -> None:
    from sqlalchemy.exc import IntegrityError

    person = PersonFactory()
    ghost = Actor(user_id=987_654, role=Role.ADMIN)  # no such user: the foreign key refuses it
    with pytest.raises(IntegrityError):
        submit_application(db_session, ghost, person.id, application_input(), NOW)


@pytest.mark.parametrize(
    ("since", "accepted"),
    [
        (dt.date(2026, 5, 23), True),  # exactly 6 months before 23 Nov 2026
        (dt.date(2026, 5, 24), False),
        (dt.date(2026, 11, 1), False),
        (dt.date(2020, 1, 1), True),
    ],
)
@pytest.mark.usefixtures("policy")
def test_submit_application_requires_the_policy_minimum_disability(
    db_session: Session, since: dt.date, accepted: bool
) -> None:
    person = PersonFactory()
    data = application_input(disability_since=since)
    if accepted:
        submit_application(db_session, admin(), person.id, data, NOW)
        assert count(db_session, Application) == 1
    else:
        with pytest.raises(InvalidInputError) as caught:
            submit_application(db_session, admin(), person.id, data, NOW)
        assert caught.value.field == "disability_since"
        assert "6" in caught.value.message
        assert count(db_session, Application) == 0


def test_submit_application_uses_the_minimum_of_the_policy_in_force(db_session: Session) -> None:
    PolicyVersionFactory()
    PolicyVersionFactory(effective_on=dt.date(2026, 7, 1), min_disability_months=3)
    person = PersonFactory()

    submit_application(
        db_session,
        admin(),
        person.id,
        application_input(disability_since=dt.date(2026, 8, 23)),
        NOW,
    )

    assert count(db_session, Application) == 1


def test_submit_application_without_a_policy_in_force_is_refused(db_session: Session) -> None:
    person = PersonFactory()
    with pytest.raises(ConflictError):
        submit_application(db_session, admin(), person.id, application_input(), NOW)
    assert count(db_session, Application) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"evidence_note": ""}, "evidence_note"),
        ({"evidence_note": "   \n "}, "evidence_note"),
        ({"applicant": Applicant.INSTITUTION, "applicant_name": None}, "applicant_name"),
        ({"disability_since": TODAY + dt.timedelta(days=1)}, "disability_since"),
    ],
)
@pytest.mark.usefixtures("policy")
def test_submit_application_refuses_bad_input(
    db_session: Session, changes: dict[str, object], field: str
) -> None:
    person = PersonFactory()
    with pytest.raises(InvalidInputError) as caught:
        submit_application(db_session, admin(), person.id, application_input(**changes), NOW)
    assert caught.value.field == field
    assert caught.value.message
    assert count(db_session, Application) == 0


@pytest.mark.usefixtures("policy")
def test_submit_application_for_unknown_person_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        submit_application(db_session, admin(), 987_654, application_input(), NOW)


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
@pytest.mark.usefixtures("policy")
def test_submit_application_is_for_admins_only(db_session: Session, role: Role | None) -> None:
    person = PersonFactory()
    with pytest.raises(PermissionDeniedError):
        submit_application(db_session, Actor(1, role), person.id, application_input(), NOW)


@pytest.mark.usefixtures("policy")
def test_submit_application_does_not_depend_on_household_registration(
    db_session: Session,
) -> None:
    results = []
    for household in HouseholdType:
        person = PersonFactory(household_type=household)
        submitted = submit_application(db_session, admin(), person.id, application_input(), NOW)
        results.append((submitted.status, submitted.applied_on))
        too_recent = PersonFactory(household_type=household)
        with pytest.raises(InvalidInputError):
            submit_application(
                db_session,
                admin(),
                too_recent.id,
                application_input(disability_since=TODAY - dt.timedelta(days=30)),
                NOW,
            )
    assert len(set(results)) == 1


# --- assignment -------------------------------------------------------------------------------


def test_assign_assessors_sets_assessing_and_audits(db_session: Session) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)

    assigned = assign_assessors(
        db_session, admin(), application.id, first.id, second.id, LATER, NOW
    )

    assert assigned.status is ApplicationStatus.ASSESSING
    assert (assigned.assessor_1_id, assigned.assessor_2_id) == (first.id, second.id)
    assert assigned.appointment_at == LATER
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "assign_assessors")
    ).one()
    assert event.object_id == application.id
    assert event.detail["assessor_2_id"] == second.id


def test_assign_assessors_may_reassign_before_any_assessment(db_session: Session) -> None:
    application = ApplicationFactory(assigned=True)
    replacement = UserFactory(assessor=True)

    assign_assessors(
        db_session,
        admin(),
        application.id,
        application.assessor_1_id,
        replacement.id,
        LATER,
        NOW,
    )

    assert application.assessor_2_id == replacement.id
    assert application.status is ApplicationStatus.ASSESSING


def test_assign_assessors_refuses_once_assessed(db_session: Session) -> None:
    assessment = AssessmentFactory(application__status=ApplicationStatus.ASSESSING)
    application = assessment.application
    replacement = UserFactory(assessor=True)

    with pytest.raises(ConflictError):
        assign_assessors(
            db_session,
            admin(),
            application.id,
            application.assessor_1_id,
            replacement.id,
            LATER,
            NOW,
        )
    assert application.assessor_2_id != replacement.id


@pytest.mark.parametrize(
    "status",
    [ApplicationStatus.ASSESSED, ApplicationStatus.DECIDED, ApplicationStatus.WITHDRAWN],
)
def test_assign_assessors_refuses_other_statuses(
    db_session: Session, status: ApplicationStatus
) -> None:
    application = ApplicationFactory(status=status)
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    with pytest.raises(ConflictError):
        assign_assessors(db_session, admin(), application.id, first.id, second.id, LATER, NOW)
    assert application.status is status


def test_assign_assessors_refuses_the_same_assessor_twice(db_session: Session) -> None:
    application = ApplicationFactory()
    assessor = UserFactory(assessor=True)
    with pytest.raises(InvalidInputError) as caught:
        assign_assessors(db_session, admin(), application.id, assessor.id, assessor.id, LATER, NOW)
    assert caught.value.field == "assessor_2_id"
    assert application.status is ApplicationStatus.SUBMITTED


@pytest.mark.parametrize("which", ["not_assessor", "disabled", "missing"])
@pytest.mark.parametrize("position", [1, 2])
def test_assign_assessors_requires_enabled_assessors(
    db_session: Session, which: str, position: int
) -> None:
    application = ApplicationFactory()
    good = UserFactory(assessor=True)
    if which == "not_assessor":
        bad_id = UserFactory(manager=True).id
    elif which == "disabled":
        bad_id = UserFactory(assessor=True, is_enabled=False).id
    else:
        bad_id = 987_654
    ids = (bad_id, good.id) if position == 1 else (good.id, bad_id)

    with pytest.raises(InvalidInputError) as caught:
        assign_assessors(db_session, admin(), application.id, *ids, LATER, NOW)

    assert caught.value.field == f"assessor_{position}_id"
    assert application.assessor_1_id is None


@pytest.mark.parametrize(
    "appointment",
    [NOW, NOW - dt.timedelta(hours=1), dt.datetime(2026, 12, 1, 9, 0)],  # noqa: DTZ001 - naive on purpose
)
def test_assign_assessors_requires_an_aware_future_appointment(
    db_session: Session, appointment: dt.datetime
) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    with pytest.raises(InvalidInputError) as caught:
        assign_assessors(db_session, admin(), application.id, first.id, second.id, appointment, NOW)
    assert caught.value.field == "appointment_at"


def test_assign_assessors_unknown_application_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        assign_assessors(db_session, admin(), 987_654, 1, 2, LATER, NOW)


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER])
def test_assign_assessors_is_for_admins_only(db_session: Session, role: Role) -> None:
    application = ApplicationFactory()
    first, second = UserFactory(assessor=True), UserFactory(assessor=True)
    with pytest.raises(PermissionDeniedError):
        assign_assessors(
            db_session, Actor(first.id, role), application.id, first.id, second.id, LATER, NOW
        )


def test_can_assign_assessors() -> None:
    assert can_assign_assessors(Application(status=ApplicationStatus.SUBMITTED))
    assert can_assign_assessors(Application(status=ApplicationStatus.ASSESSING, assessments=[]))
    assert not can_assign_assessors(Application(status=ApplicationStatus.ASSESSED))


# --- reading ----------------------------------------------------------------------------------


def test_list_applications_filters_by_status_and_person(db_session: Session) -> None:
    submitted = ApplicationFactory(applied_on=dt.date(2026, 11, 1))
    assessing = ApplicationFactory(assigned=True, applied_on=dt.date(2026, 11, 5))

    assert [a.id for a in list_applications(db_session)] == [assessing.id, submitted.id]
    assert [a.id for a in list_applications(db_session, ApplicationStatus.SUBMITTED)] == [
        submitted.id
    ]
    assert [a.id for a in list_applications(db_session, person_id=assessing.person_id)] == [
        assessing.id
    ]


def test_get_application_for_an_admin(db_session: Session) -> None:
    application = ApplicationFactory()
    assert get_application(db_session, admin(), application.id) is application


def test_get_application_for_an_assessor_only_when_assigned(db_session: Session) -> None:
    application = ApplicationFactory(assigned=True)
    mine = Actor(application.assessor_1_id, Role.ASSESSOR)
    other = Actor(UserFactory(assessor=True).id, Role.ASSESSOR)

    assert get_application(db_session, mine, application.id) is application
    with pytest.raises(NotFoundError):
        get_application(db_session, other, application.id)


@pytest.mark.parametrize("role", [Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_get_application_is_refused_to_other_roles(db_session: Session, role: Role | None) -> None:
    application = ApplicationFactory()
    with pytest.raises(PermissionDeniedError):
        get_application(db_session, Actor(1, role), application.id)


def test_get_application_unknown_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        get_application(db_session, admin(), 987_654)


def test_read_application_audits_the_read(db_session: Session) -> None:
    application = ApplicationFactory()
    actor = admin()

    assert read_application(db_session, actor, application.id, NOW) is application

    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "read")).one()
    assert (event.object_type, event.object_id, event.actor_id, event.at) == (
        "application",
        application.id,
        actor.user_id,
        NOW,
    )


def test_read_application_refused_writes_nothing(db_session: Session) -> None:
    application = ApplicationFactory()
    with pytest.raises(PermissionDeniedError):
        read_application(db_session, Actor(1, Role.CAREGIVER), application.id, NOW)
    assert count(db_session, AuditEvent) == 0


def test_decision_id_for(db_session: Session) -> None:
    assessment = AssessmentFactory()
    decision = EligibilityDecision(
        application_id=assessment.application_id,
        assessment_id=assessment.id,
        policy_version_id=PolicyVersionFactory().id,
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
    undecided = ApplicationFactory()

    assert decision_id_for(db_session, assessment.application_id) == decision.id
    assert decision_id_for(db_session, undecided.id) is None


def test_list_assessors_only_enabled_assessors(db_session: Session) -> None:
    kept = UserFactory(assessor=True, display_name="评估员乙")
    UserFactory(assessor=True, is_enabled=False)
    UserFactory(admin=True)
    assert list_assessors(db_session) == [kept]
