"""On-site assessments: the assessor's queue, recording a graded assessment, audited reads."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from assessments.grading import get_instrument, grade, rules_to_data
from assessments.types import (
    INVALID_OPTION,
    Band,
    BandRules,
    Grade,
    GradingRules,
    IndicatorResult,
    Instrument,
    InvalidAnswersError,
    InvalidRulesError,
)
from careapp.core.clock import city_today
from careapp.core.errors import ConflictError, InvalidInputError, NotFoundError
from careapp.models.assessment import (
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentConfirmation,
    AssessmentDraft,
)
from careapp.models.people import Person
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event, record_events
from careapp.services.i18n import localized
from careapp.services.policy import grading_rules_of, policy_in_force

# The instrument the city uses (spec: which instrument is policy; Barthel is the one in force).
INSTRUMENT_IN_FORCE = "barthel"
FAMILY_MEMBER_MAX = 100
NOTE_MAX = 1000
ITEM_NOTE_MAX = 500
FIELD_KEY_MAX = 80
# Draft fields besides "item:<code>" and "note:<code>".
FAMILY_FIELD = "family_member_present"
NOTE_FIELD = "note"
# A key the client generates per submission attempt (a UUID, or hex from crypto.getRandomValues).
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


class AssessmentAnswersError(InvalidInputError):
    """Answers that cannot be graded; `problems` maps each bad item code to a reason code."""

    def __init__(self, message: str, problems: Mapping[str, str]) -> None:
        super().__init__(message)
        self.problems = dict(problems)


class DraftInputError(InvalidInputError):
    """A draft save that cannot be applied; `problems` maps each bad field to a reason code."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__(gettext("The draft could not be saved: some answers are not valid."))
        self.problems = dict(problems)


class AlreadySubmittedError(ConflictError):
    """The application's assessment is submitted; `assessment_id` is its latest version."""

    def __init__(self, assessment_id: int) -> None:
        super().__init__(gettext("An assessment has already been submitted for this application."))
        self.assessment_id = assessment_id


@dataclass(frozen=True)
class GradingScale:
    """The instrument in force and its grading rules under the policy in force."""

    instrument: Instrument
    rules: GradingRules

    @property
    def bands(self) -> tuple[Band, ...]:
        """The bands over the total when the rules are bands (Barthel); empty otherwise."""
        return self.rules.bands if isinstance(self.rules, BandRules) else ()

    @property
    def rules_data(self) -> dict[str, Any]:
        """The rules as JSON-safe data (for a form's provisional grade)."""
        return rules_to_data(self.rules)


def grading_scale_in_force(session: Session, now: dt.datetime) -> GradingScale:
    """The instrument and rules that grade an assessment made at `now`.

    Both come from the policy version in force on the city date of `now`; before any version is
    in force, the default instrument with its own default rules.
    """
    policy = policy_in_force(session, city_today(now))
    if policy is None:
        instrument = get_instrument(INSTRUMENT_IN_FORCE)
        return GradingScale(instrument, instrument.default_rules)
    instrument = get_instrument(policy.instrument_code)
    return GradingScale(instrument, grading_rules_of(policy, instrument))


def list_assessor_queue(session: Session, actor: Actor) -> list[Application]:
    """Applications awaiting assessment where the actor is one of the two assessors."""
    if actor.user_id is None:
        return []
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.status == ApplicationStatus.ASSESSING,
                or_(
                    Application.assessor_1_id == actor.user_id,
                    Application.assessor_2_id == actor.user_id,
                ),
            )
            .options(
                joinedload(Application.person).joinedload(Person.district),
                selectinload(Application.assessments).selectinload(Assessment.confirmations),
            )
            .order_by(Application.appointment_at, Application.id)
        )
    )


@dataclass(frozen=True)
class HomeVisitContact:
    """What an assigned assessor needs to make the home visit, as the registry stores it."""

    address: str
    township: str | None
    phone: str | None
    family_name: str | None
    family_phone: str | None


def read_home_visit_contacts(
    session: Session, actor: Actor, applications: Sequence[Application], now: dt.datetime
) -> dict[int, HomeVisitContact]:
    """The home-visit contact (address, phone, family contact) of each application awaiting
    assessment by the actor, by application id; applications the actor is not an assessor of
    get none. Each contact shown is an audited read of the person's data (the view commits)."""
    if actor.user_id is None or not actor.is_role(Role.ASSESSOR):
        return {}
    contacts: dict[int, HomeVisitContact] = {}
    reads: dict[int, dict[str, Any]] = {}
    for application in applications:
        if (
            not application.is_assessor(actor.user_id)
            or application.status is not ApplicationStatus.ASSESSING
        ):
            continue
        person = application.person
        contacts[application.id] = HomeVisitContact(
            address=person.address,
            township=person.township,
            phone=person.phone,
            family_name=person.guardian_name,
            family_phone=person.guardian_phone,
        )
        reads[person.id] = {"application_id": application.id, "purpose": "home_assessment"}
    record_events(session, actor, "read_contact", "person", reads, now=now)
    return contacts


def get_application_for_assessment(
    session: Session, actor: Actor, application_id: int, *, for_update: bool = False
) -> Application:
    """An application awaiting assessment by the actor (NotFound unless one of its assessors).

    Raises AlreadySubmittedError (naming the latest version) once an assessment is submitted.
    """
    query = (
        select(Application)
        .where(Application.id == application_id)
        .options(
            joinedload(Application.person).joinedload(Person.district),
            joinedload(Application.assessor_1),
            joinedload(Application.assessor_2),
            selectinload(Application.assessments),
        )
    )
    if for_update:
        # Serialise concurrent submissions (PostgreSQL); re-read the row after the lock.
        query = query.with_for_update(of=Application).execution_options(populate_existing=True)
    application = session.scalar(query)
    if application is None or actor.user_id is None or not application.is_assessor(actor.user_id):
        raise NotFoundError(gettext("No such application in your assessments."))
    if application.assessments:
        raise AlreadySubmittedError(application.assessments[-1].id)
    if application.status is not ApplicationStatus.ASSESSING:
        raise ConflictError(gettext("This application is not awaiting an assessment."))
    return application


# --- drafts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftConflict:
    """A change refused because the other assessor changed the same field meanwhile."""

    field: str
    yours: object
    theirs: object
    rev: int
    by_id: int | None


@dataclass(frozen=True)
class DraftSave:
    draft: AssessmentDraft
    conflicts: tuple[DraftConflict, ...]


def check_draft_changes(instrument: Instrument, changes: object) -> dict[str, tuple[object, int]]:
    """The changes of a draft save, field -> (value, base_rev); DraftInputError if malformed.

    `changes` is the parsed JSON body's "changes": {field: {"value": ..., "base_rev": int}}.
    Item answers are an option's points or null (not answered), texts are strings.
    """
    if not isinstance(changes, dict):
        raise DraftInputError({"changes": "malformed"})
    problems: dict[str, str] = {}
    checked: dict[str, tuple[object, int]] = {}
    for key, change in changes.items():
        if not isinstance(key, str) or len(key) > FIELD_KEY_MAX:
            problems[str(key)[:FIELD_KEY_MAX]] = "unknown_field"
            continue
        if not isinstance(change, dict) or set(change) != {"value", "base_rev"}:
            problems[key] = "malformed"
            continue
        value, base_rev = change["value"], change["base_rev"]
        if type(base_rev) is not int or base_rev < 0:
            problems[key] = "malformed"
            continue
        problem = _value_problem(instrument, key, value)
        if problem is not None:
            problems[key] = problem
            continue
        checked[key] = (value, base_rev)
    if problems:
        raise DraftInputError(problems)
    return checked


def _value_problem(instrument: Instrument, key: str, value: object) -> str | None:
    kind, _, code = key.partition(":")
    if kind == "item" and (item := instrument.item(code)) is not None:
        if value is None:
            return None
        if type(value) is not int or item.option_for(value) is None:
            return INVALID_OPTION
        return None
    limits = {FAMILY_FIELD: FAMILY_MEMBER_MAX, NOTE_FIELD: NOTE_MAX}
    if kind == "note" and instrument.item(code) is not None:
        limit = ITEM_NOTE_MAX
    elif key in limits:
        limit = limits[key]
    else:
        return "unknown_field"
    if not isinstance(value, str):
        return "malformed"
    return "too_long" if len(value.strip()) > limit else None


def merge_draft_entries(
    entries: Mapping[str, Mapping[str, Any]],
    changes: Mapping[str, tuple[object, int]],
    user_id: int,
    seq: int,
) -> tuple[dict[str, dict[str, Any]], tuple[DraftConflict, ...]]:
    """Apply each change whose base revision is current; report the ones the other made stale.

    A change based on an older revision of a field is still applied when the field was last
    changed by the same user (their own earlier save) or already holds the same value; when the
    other assessor changed it meanwhile it is refused and returned as a conflict.
    """
    merged = {key: dict(entry) for key, entry in entries.items()}
    conflicts: list[DraftConflict] = []
    for key, (value, base_rev) in changes.items():
        current = merged.get(key, {"value": None, "rev": 0, "by": None, "seq": 0})
        if value == current["value"]:
            continue
        if base_rev != current["rev"] and current["by"] not in (None, user_id):
            conflicts.append(
                DraftConflict(key, value, current["value"], current["rev"], current["by"])
            )
            continue
        merged[key] = {"value": value, "rev": current["rev"] + 1, "by": user_id, "seq": seq}
    return merged, tuple(conflicts)


@dataclass(frozen=True)
class AssessmentFormContext:
    """What the on-site form needs: the application, the scale in force and the draft so far."""

    application: Application
    scale: GradingScale
    draft: AssessmentDraft | None


def open_assessment_form(
    session: Session, actor: Actor, application_id: int, now: dt.datetime
) -> AssessmentFormContext:
    """The application awaiting assessment by the actor, with the scale and draft to show.

    A draft started under another instrument (the policy changed since) is not offered.
    """
    application = get_application_for_assessment(session, actor, application_id)
    scale = grading_scale_in_force(session, now)
    draft = _draft_of(session, application.id)
    if draft is not None and draft.instrument != scale.instrument.code:
        draft = None
    return AssessmentFormContext(application, scale, draft)


def get_assessment_draft(
    session: Session, actor: Actor, application_id: int, now: dt.datetime
) -> AssessmentDraft | None:
    """The draft of an application awaiting assessment by the actor (None if not started)."""
    return open_assessment_form(session, actor, application_id, now).draft


def save_assessment_draft(
    session: Session,
    actor: Actor,
    application_id: int,
    changes: object,
    now: dt.datetime,
) -> DraftSave:
    """Merge a client's changes into the application's draft, field by field.

    Nothing is written when any change is malformed (DraftInputError names each one). Conflicting
    changes are not applied and come back in `conflicts` with the other assessor's value.
    """
    application = get_application_for_assessment(session, actor, application_id, for_update=True)
    scale = grading_scale_in_force(session, now)
    checked = check_draft_changes(scale.instrument, changes)
    draft = _draft_of(session, application.id)
    is_new = draft is None or draft.instrument != scale.instrument.code
    if draft is not None and is_new:  # started under another instrument: start again
        session.delete(draft)
        session.flush()
    if draft is None or is_new:
        draft = AssessmentDraft(
            application_id=application.id,
            instrument=scale.instrument.code,
            entries={},
            revision=0,
            updated_by_id=_user_id(actor),
            updated_at=now,
        )
    entries, conflicts = merge_draft_entries(
        draft.entries, checked, _user_id(actor), draft.revision + 1
    )
    if entries != draft.entries:
        draft.entries = entries
        draft.revision += 1
        draft.updated_by_id = _user_id(actor)
        draft.updated_at = now
    try:
        with session.begin_nested():  # (it flushes what is pending before the SAVEPOINT)
            if is_new:
                session.add(draft)
            session.flush()
    except IntegrityError:  # another first save of this draft came first: the client retries
        raise ConflictError(gettext("The draft was saved at the same time; try again.")) from None
    return DraftSave(draft, conflicts)


def _draft_of(session: Session, application_id: int) -> AssessmentDraft | None:
    return session.scalar(
        select(AssessmentDraft).where(AssessmentDraft.application_id == application_id)
    )


# --- submitting, confirming, correcting ------------------------------------------------------


def record_assessment(
    session: Session,
    actor: Actor,
    application_id: int,
    answers: Mapping[str, int],
    family_member_present: str,
    note: str | None,
    confirmed: bool,
    now: dt.datetime,
    *,
    item_notes: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    draft_revision: int | None = None,
) -> Assessment:
    """Grade and store a submitted assessment (version 1), confirmed by its submitter.

    The application stays ASSESSING until the other assessor confirms (`confirm_assessment`).
    Submitting again with the same `idempotency_key` (a double tap, a retry after a timeout)
    returns the first assessment instead of recording another; a submission with another key
    is refused as already submitted. When the client names the `draft_revision` it last saw,
    answers the other assessor changed in the draft since then are not silently overwritten.
    """
    key = _check_key(idempotency_key)
    previous = _submitted_with(session, actor, application_id, key)
    if previous is not None:
        return previous
    application = get_application_for_assessment(session, actor, application_id, for_update=True)
    assessor_1_id, assessor_2_id = _assessor_ids(application)
    if not confirmed:
        raise InvalidInputError(gettext("Confirm the answers."), field="confirmed")
    scale = grading_scale_in_force(session, now)
    family_member, clean_note, notes = _check_texts(
        scale.instrument, family_member_present, note, item_notes or {}
    )
    result = _grade(scale, answers)
    draft = _draft_of(session, application.id)
    if draft is not None and draft_revision is not None:
        _refuse_unseen_changes(
            scale.instrument, draft, draft_revision, _user_id(actor), answers, notes,
            family_member, clean_note,
        )  # fmt: skip
    assessment = Assessment(
        application_id=application.id,
        version=1,
        instrument=scale.instrument.code,
        instrument_version=scale.instrument.version,
        answers={item.code: answers[item.code] for item in scale.instrument.items},
        item_notes=notes,
        total=result.total,
        grade=result.grade_code,
        assessed_on=city_today(now),
        assessor_1_id=assessor_1_id,
        assessor_2_id=assessor_2_id,
        family_member_present=family_member,
        note=clean_note,
        submitted_by_id=_user_id(actor),
        submitted_at=now,
        idempotency_key=key,
    )
    return _store_version(session, actor, application, assessment, draft, key, now)


def correct_assessment(
    session: Session,
    actor: Actor,
    assessment_id: int,
    answers: Mapping[str, int],
    family_member_present: str,
    note: str | None,
    reason: str,
    now: dt.datetime,
    *,
    item_notes: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> Assessment:
    """Record a correction of the latest version as a new version, with who, when and why.

    The submitted versions stay as they were. The new version needs both confirmations again, so
    an ASSESSED application goes back to ASSESSING until the other assessor confirms it.
    """
    key = _check_key(idempotency_key)
    corrected = _assessment_for_assessor(session, actor, assessment_id, for_update=True)
    previous = _submitted_with(session, actor, corrected.application_id, key)
    if previous is not None:
        return previous
    application = corrected.application
    _check_latest(corrected)
    if application.status not in (ApplicationStatus.ASSESSING, ApplicationStatus.ASSESSED):
        raise ConflictError(gettext("This application is decided; a change needs a re-assessment."))
    clean_reason = reason.strip()
    if not clean_reason:
        raise InvalidInputError(gettext("Give the reason for the correction."), field="reason")
    if len(clean_reason) > NOTE_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=NOTE_MAX), field="reason"
        )
    scale = grading_scale_in_force(session, now)
    if scale.instrument.code != corrected.instrument:
        raise ConflictError(
            gettext("The instrument in force has changed; a new assessment is needed.")
        )
    family_member, clean_note, notes = _check_texts(
        scale.instrument, family_member_present, note, item_notes or {}
    )
    result = _grade(scale, answers)
    assessment = Assessment(
        application_id=application.id,
        version=corrected.version + 1,
        instrument=scale.instrument.code,
        instrument_version=scale.instrument.version,
        answers={item.code: answers[item.code] for item in scale.instrument.items},
        item_notes=notes,
        total=result.total,
        grade=result.grade_code,
        assessed_on=corrected.assessed_on,  # the visit; the correction's date is submitted_at
        assessor_1_id=corrected.assessor_1_id,
        assessor_2_id=corrected.assessor_2_id,
        family_member_present=family_member,
        note=clean_note,
        submitted_by_id=_user_id(actor),
        submitted_at=now,
        idempotency_key=key,
        correction_reason=clean_reason,
    )
    application.status = ApplicationStatus.ASSESSING
    return _store_version(session, actor, application, assessment, None, key, now)


def confirm_assessment(
    session: Session, actor: Actor, assessment_id: int, now: dt.datetime
) -> Assessment:
    """The actor, one of the two assessors, confirms the latest version from their own login.

    Once both have confirmed it the application is ASSESSED. Confirming twice changes nothing.
    """
    assessment = _assessment_for_assessor(session, actor, assessment_id, for_update=True)
    _check_latest(assessment)
    application = assessment.application
    if assessment.is_confirmed_by(actor.user_id):
        return assessment
    if application.status is not ApplicationStatus.ASSESSING:
        raise ConflictError(gettext("This application is not awaiting an assessment."))
    session.add(
        AssessmentConfirmation(assessment=assessment, user_id=_user_id(actor), confirmed_at=now)
    )
    session.flush()
    session.refresh(assessment, ["confirmations"])
    if assessment.is_confirmed_by_both:
        application.status = ApplicationStatus.ASSESSED
    record_event(
        session,
        actor,
        "confirm",
        "assessment",
        assessment.id,
        now=now,
        detail={"application_id": application.id, "version": assessment.version},
    )
    session.flush()
    return assessment


def find_submission(
    session: Session, actor: Actor, application_id: int, idempotency_key: str
) -> Assessment | None:
    """The assessment recorded for this application under `idempotency_key`, if any."""
    key = idempotency_key.strip()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        return None
    return _submitted_with(session, actor, application_id, key)


def find_correction(
    session: Session, actor: Actor, assessment_id: int, idempotency_key: str
) -> Assessment | None:
    """The correction of `assessment_id` already recorded under `idempotency_key`, if any."""
    corrected = _assessment_for_assessor(session, actor, assessment_id)
    found = find_submission(session, actor, corrected.application_id, idempotency_key)
    return found if found is not None and found.version > corrected.version else None


def correction_base(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    """The assessment the actor may correct now (its latest version, not yet decided)."""
    assessment = _assessment_for_assessor(session, actor, assessment_id)
    if not may_correct(actor, assessment):
        _check_latest(assessment)
        raise ConflictError(gettext("This application is decided; a change needs a re-assessment."))
    return assessment


def may_correct(actor: Actor, assessment: Assessment) -> bool:
    """Whether the actor, one of its assessors, may correct this version now."""
    application = assessment.application
    return (
        actor.is_role(Role.ASSESSOR)
        and actor.user_id in (assessment.assessor_1_id, assessment.assessor_2_id)
        and application.assessments[-1].id == assessment.id
        and application.status in (ApplicationStatus.ASSESSING, ApplicationStatus.ASSESSED)
    )


def may_confirm(actor: Actor, assessment: Assessment) -> bool:
    """Whether the actor is an assessor of this latest version who has yet to confirm it."""
    return (
        may_correct(actor, assessment)
        and assessment.application.status is ApplicationStatus.ASSESSING
        and not assessment.is_confirmed_by(actor.user_id)
    )


def _grade(scale: GradingScale, answers: Mapping[str, int]) -> Grade:
    try:
        return grade(scale.instrument, answers, scale.rules)
    except InvalidAnswersError as error:
        raise AssessmentAnswersError(
            gettext("Choose one answer for every item."), error.problems
        ) from None


def _store_version(
    session: Session,
    actor: Actor,
    application: Application,
    assessment: Assessment,
    draft: AssessmentDraft | None,
    key: str,
    now: dt.datetime,
) -> Assessment:
    """Insert a version with its submitter's confirmation; a racing twin returns the first."""
    try:
        with session.begin_nested():
            session.add(assessment)
            session.add(
                AssessmentConfirmation(
                    assessment=assessment, user_id=_user_id(actor), confirmed_at=now
                )
            )
            if draft is not None:
                session.delete(draft)
            session.flush()
        session.expire(application, ["assessments"])  # reloaded with the new version
    except IntegrityError:  # the same key, or another version of this number, came first
        first = _submitted_with(session, actor, application.id, key)
        if first is not None:
            return first
        raise ConflictError(
            gettext("An assessment has already been submitted for this application.")
        ) from None
    record_event(
        session,
        actor,
        "create" if assessment.version == 1 else "correct",
        "assessment",
        assessment.id,
        now=now,
        detail={
            "application_id": application.id,
            "version": assessment.version,
            "instrument": assessment.instrument,
            "total": assessment.total,
            "grade": assessment.grade,
        },
    )
    session.flush()
    return assessment


def _check_key(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return uuid.uuid4().hex  # a caller without retries (demo data, scripts)
    key = idempotency_key.strip()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInputError(gettext("The form expired. Please go back and try again."))
    return key


def _submitted_with(
    session: Session, actor: Actor, application_id: int, key: str
) -> Assessment | None:
    """The version already recorded under `key` for this application (a repeated submission)."""
    found = session.scalar(select(Assessment).where(Assessment.idempotency_key == key))
    if found is None:
        return None
    if found.application_id != application_id or actor.user_id not in (
        found.assessor_1_id,
        found.assessor_2_id,
    ):
        raise ConflictError(gettext("This submission was already used for another assessment."))
    return found


def _check_texts(
    instrument: Instrument,
    family_member_present: str,
    note: str | None,
    item_notes: Mapping[str, str],
) -> tuple[str, str | None, dict[str, str]]:
    family_member = family_member_present.strip()
    if not family_member:
        raise InvalidInputError(
            gettext("Record the family member present."), field="family_member_present"
        )
    if len(family_member) > FAMILY_MEMBER_MAX:
        raise InvalidInputError(
            gettext("At most %(max)d characters.", max=FAMILY_MEMBER_MAX),
            field="family_member_present",
        )
    clean_note = (note or "").strip() or None
    if clean_note is not None and len(clean_note) > NOTE_MAX:
        raise InvalidInputError(gettext("At most %(max)d characters.", max=NOTE_MAX), field="note")
    notes: dict[str, str] = {}
    for code, text in item_notes.items():
        if instrument.item(code) is None:
            raise InvalidInputError(gettext("Not one of the items."), field=f"{code}__note")
        clean = text.strip()
        if len(clean) > ITEM_NOTE_MAX:
            raise InvalidInputError(
                gettext("At most %(max)d characters.", max=ITEM_NOTE_MAX), field=f"{code}__note"
            )
        if clean:
            notes[code] = clean
    return family_member, clean_note, notes


def _refuse_unseen_changes(
    instrument: Instrument,
    draft: AssessmentDraft,
    seen_revision: int,
    user_id: int,
    answers: Mapping[str, int],
    notes: Mapping[str, str],
    family_member: str,
    note: str | None,
) -> None:
    """ConflictError naming the items the other assessor changed after `seen_revision`."""
    submitted: dict[str, object] = {FAMILY_FIELD: family_member, NOTE_FIELD: note or ""}
    for item in instrument.items:
        submitted[f"item:{item.code}"] = answers.get(item.code)
        submitted[f"note:{item.code}"] = notes.get(item.code, "")
    unseen = []
    for key, entry in draft.entries.items():
        if entry["seq"] <= seen_revision or entry["by"] == user_id:
            continue
        if _blank_is_none(entry["value"]) != _blank_is_none(submitted.get(key)):
            changed = instrument.item(key.partition(":")[2])
            unseen.append(localized(changed, "label") if changed is not None else key)
    if unseen:
        raise ConflictError(
            gettext(
                "The other assessor changed %(items)s meanwhile; review before submitting.",
                items="、".join(dict.fromkeys(unseen)),
            )
        )


def _blank_is_none(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _assessment_for_assessor(
    session: Session, actor: Actor, assessment_id: int, *, for_update: bool = False
) -> Assessment:
    """An assessment one of whose two assessors is the actor; the application row locked."""
    assessment = session.get(Assessment, assessment_id)
    if (
        assessment is None
        or not actor.is_role(Role.ASSESSOR)
        or actor.user_id not in (assessment.assessor_1_id, assessment.assessor_2_id)
    ):
        raise NotFoundError(gettext("No such assessment."))
    query = (
        select(Application)
        .where(Application.id == assessment.application_id)
        .options(selectinload(Application.assessments).selectinload(Assessment.confirmations))
    )
    if for_update:
        query = query.with_for_update(of=Application).execution_options(populate_existing=True)
    session.scalar(query)
    return assessment


def _user_id(actor: Actor) -> int:
    """The actor's user id (every caller has already checked the actor is an assessor)."""
    if actor.user_id is None:
        raise NotFoundError(gettext("No such assessment."))
    return actor.user_id


def _check_latest(assessment: Assessment) -> None:
    if assessment.application.assessments[-1].id != assessment.id:
        raise ConflictError(gettext("A newer version of this assessment exists."))


@dataclass(frozen=True)
class AnswerChange:
    """One item whose answer or note differs between two versions."""

    item_code: str
    before: object
    after: object
    note_before: str | None
    note_after: str | None


def version_changes(before: Assessment, after: Assessment) -> list[AnswerChange]:
    """What a correction changed, item by item (in the order of the later version's answers)."""
    changes = []
    codes = dict.fromkeys([*after.answers, *before.answers])
    for code in codes:
        old, new = before.answers.get(code), after.answers.get(code)
        old_note, new_note = before.item_notes.get(code), after.item_notes.get(code)
        if old != new or old_note != new_note:
            changes.append(AnswerChange(code, old, new, old_note, new_note))
    return changes


def view_assessment(
    session: Session, actor: Actor, assessment_id: int, now: dt.datetime
) -> Assessment:
    """An assessment for an administrator or one of its two assessors; every read is audited.

    Its application comes with every version and their confirmations (the history).
    """
    assessment = session.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(
            joinedload(Assessment.application).options(
                joinedload(Application.person).joinedload(Person.district),
                selectinload(Application.assessments).options(
                    selectinload(Assessment.confirmations).joinedload(AssessmentConfirmation.user),
                    joinedload(Assessment.submitted_by),
                ),
            ),
            joinedload(Assessment.assessor_1),
            joinedload(Assessment.assessor_2),
        )
    )
    if assessment is None or not _may_read(actor, assessment):
        raise NotFoundError(gettext("No such assessment."))
    record_event(session, actor, "read", "assessment", assessment.id, now=now)
    session.flush()
    return assessment


def indicator_results(session: Session, assessment: Assessment) -> tuple[IndicatorResult, ...]:
    """Each indicator's total and level, as graded under the rules in force at submission.

    Empty for an instrument without indicators, or answers the current data cannot grade.
    """
    scale = grading_scale_in_force(session, assessment.submitted_at)
    if scale.instrument.code != assessment.instrument:
        return ()
    try:
        return grade(scale.instrument, assessment.answers, scale.rules).indicators
    except (InvalidAnswersError, InvalidRulesError):
        return ()


def _may_read(actor: Actor, assessment: Assessment) -> bool:
    if actor.is_role(Role.ADMIN):
        return True
    return actor.is_role(Role.ASSESSOR) and actor.user_id in (
        assessment.assessor_1_id,
        assessment.assessor_2_id,
    )


def _assessor_ids(application: Application) -> tuple[int, int]:
    if application.assessor_1_id is None or application.assessor_2_id is None:
        raise ConflictError(gettext("This application does not have two assessors assigned."))
    return application.assessor_1_id, application.assessor_2_id
