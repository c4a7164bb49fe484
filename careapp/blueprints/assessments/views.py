"""The assessor's pages: the queue, the on-site form (tablet-first) and the audited detail page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from assessments.grading import INSTRUMENTS
from assessments.types import BandRules, GradingRules, Instrument
from careapp import db
from careapp.blueprints.assessments.forms import (
    NOTE_SUFFIX,
    AssessmentForm,
    CorrectionForm,
    build_assessment_form,
)
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.assessment import Application, Assessment, AssessmentDraft
from careapp.models.users import Role, User
from careapp.services.actor import Actor
from careapp.services.assessments import (
    AlreadySubmittedError,
    AnswerChange,
    DraftConflict,
    DraftInputError,
    GradingScale,
    HomeVisitContact,
    confirm_assessment,
    correct_assessment,
    correction_base,
    find_correction,
    find_submission,
    get_assessment_draft,
    grading_scale_in_force,
    indicator_results,
    list_assessor_queue,
    may_confirm,
    may_correct,
    open_assessment_form,
    read_home_visit_contacts,
    record_assessment,
    save_assessment_draft,
    version_changes,
    view_assessment,
)
from careapp.services.i18n import localized
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm

bp = Blueprint("assessments", __name__)


@bp.route("/assessments", methods=["GET"])
@role_required(Role.ASSESSOR)
def assessment_queue() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    applications = list_assessor_queue(session, actor)
    contacts = read_home_visit_contacts(session, actor, applications, utcnow())
    session.commit()  # the audited reads of the contacts
    return render_template(
        "assessments/assessment_queue.html", applications=applications, contacts=contacts
    )


@bp.route("/applications/<int:application_id>/assessment", methods=["GET", "POST"])
@role_required(Role.ASSESSOR)
def assessment_form(application_id: int) -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    try:
        context = open_assessment_form(session, actor, application_id, now)
    except AlreadySubmittedError as done:
        # A repeated submission (same key) is shown the first one's result; others are refused.
        key = request.form.get("idempotency_key") if request.method == "POST" else None
        first = find_submission(session, actor, application_id, key) if key else None
        if request.method == "POST" and first is None:
            raise
        return redirect(_detail_url(first.id if first else done.assessment_id))
    application, scale = context.application, context.scale
    form = build_assessment_form(scale.instrument, _assessor_names(application))
    if form.validate_on_submit():
        try:
            assessment = record_assessment(
                session,
                actor,
                application.id,
                form.answers(),
                form.family_member_present.data or "",
                form.note.data,
                bool(form.confirmed.data),
                now,
                item_notes=form.item_notes(),
                idempotency_key=form.idempotency_key.data,
                draft_revision=form.draft_revision.data,
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            contact = _home_visit_contact(application, now)
            return _render_form(application, scale, form, context.draft, contact=contact), (
                error.status_code
            )
        session.commit()
        flash(_("The assessment is submitted. The other assessor confirms it."), "success")
        return redirect(_detail_url(assessment.id))
    status = 400 if form.is_submitted() else 200
    contact = _home_visit_contact(application, now)
    return _render_form(application, scale, form, context.draft, contact=contact), status


def _home_visit_contact(application: Application, now: dt.datetime) -> HomeVisitContact | None:
    """The contact the assigned assessor needs for the home visit (an audited read, committed)."""
    session = db.session()
    contact = read_home_visit_contacts(session, current_actor(), [application], now)
    session.commit()
    return contact.get(application.id)


@bp.route("/applications/<int:application_id>/assessment/draft", methods=["GET", "PUT"])
@role_required(Role.ASSESSOR)
def assessment_draft(application_id: int) -> ResponseReturnValue:
    """The draft as JSON; PUT {"changes": {field: {"value", "base_rev"}}} merges changes."""
    session, actor, now = db.session(), current_actor(), utcnow()
    try:
        if request.method == "GET":
            state = get_assessment_draft(session, actor, application_id, now)
            # A fresh CSRF token: the offline form (which has none of its own) saves with it.
            return jsonify({**_draft_json(actor, state, ()), "csrf_token": generate_csrf()})
        body = request.get_json(silent=True)
        changes = body.get("changes") if isinstance(body, dict) else None
        saved = save_assessment_draft(session, actor, application_id, changes, now)
    except DraftInputError as error:
        session.rollback()
        return jsonify(error=error.message, problems=error.problems, status=400), 400
    except AlreadySubmittedError as done:
        session.rollback()
        body = {
            "error": done.message,
            "status": 409,
            "assessment_url": _detail_url(done.assessment_id),
        }
        return jsonify(body), 409
    session.commit()
    return jsonify(_draft_json(actor, saved.draft, saved.conflicts))


@bp.route("/assessment-shell", methods=["GET"])
@role_required(Role.ASSESSOR)
def assessment_shell() -> ResponseReturnValue:
    """The form of the instrument in force with no application in it, kept by the service worker.

    Shown for /applications/<id>/assessment when the tablet is offline: no name, ID number,
    address, assessor or draft; the script reads the application number from the address.
    """
    scale = grading_scale_in_force(db.session(), utcnow())
    form = build_assessment_form(scale.instrument, ("", ""))
    form.confirmed.label.text = _("I confirm these answers.")
    page_data = {
        "application": None,
        "shell": True,
        "instrument": instrument_data(scale),
        "draftUrl": None,
        "draft": None,
        "messages": _script_messages(),
        **_service_worker_data(),
    }
    return render_template(
        "assessments/assessment_form.html",
        application=None,
        instrument=scale.instrument,
        form=form,
        page_data=page_data,
        corrected=None,
    )


@bp.route("/sw.js", methods=["GET"])
def service_worker() -> ResponseReturnValue:
    """The service worker, served from the root so that its scope covers the whole site."""
    static = current_app.static_folder or "static"  # create_app always sets it
    response = send_from_directory(static, "js/service-worker.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/assessments/<int:assessment_id>", methods=["GET"])
@role_required(Role.ADMIN, Role.ASSESSOR)
def assessment_detail(assessment_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    assessment = view_assessment(session, actor, assessment_id, utcnow())
    session.commit()  # the audited read
    versions = assessment.application.assessments
    return render_template(
        "assessments/assessment_detail.html",
        assessment=assessment,
        rows=_answer_rows(assessment),
        grade_label=_grade_label(assessment),
        instrument_name=_instrument_name(assessment),
        is_admin=actor.is_role(Role.ADMIN),
        history=_history(versions),
        indicators=indicator_results(session, assessment),
        is_latest=versions[-1].id == assessment.id,
        may_confirm=may_confirm(actor, assessment),
        may_correct=may_correct(actor, assessment),
        confirm_form=ConfirmForm(),
    )


@bp.route("/assessments/<int:assessment_id>/confirm", methods=["POST"])
@role_required(Role.ASSESSOR)
def assessment_confirm(assessment_id: int) -> ResponseReturnValue:
    session = db.session()  # CSRF is checked app-wide (ConfirmForm renders the token)
    assessment = confirm_assessment(session, current_actor(), assessment_id, utcnow())
    session.commit()
    flash(_("Your confirmation is recorded."), "success")
    return redirect(_detail_url(assessment.id))


@bp.route("/assessments/<int:assessment_id>/correction", methods=["GET", "POST"])
@role_required(Role.ASSESSOR)
def assessment_correction(assessment_id: int) -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    key = request.form.get("idempotency_key") if request.method == "POST" else None
    repeated = find_correction(session, actor, assessment_id, key) if key else None
    if repeated is not None:  # a double tap or a retry: the correction it made
        return redirect(_detail_url(repeated.id))
    corrected = correction_base(session, actor, assessment_id)
    scale = grading_scale_in_force(session, now)
    form = build_assessment_form(
        scale.instrument,
        _assessor_names(corrected.application),
        base=CorrectionForm,
        data=_prefill(corrected),
    )
    if form.validate_on_submit():
        try:
            assessment = correct_assessment(
                session,
                actor,
                corrected.id,
                form.answers(),
                form.family_member_present.data or "",
                form.note.data,
                form["reason"].data or "",
                now,
                item_notes=form.item_notes(),
                idempotency_key=form.idempotency_key.data,
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _render_form(
                corrected.application, scale, form, None, corrected
            ), error.status_code
        session.commit()
        flash(
            _("The correction is recorded as version %(version)d.", version=assessment.version),
            "success",
        )
        return redirect(_detail_url(assessment.id))
    status = 400 if form.is_submitted() else 200
    return _render_form(corrected.application, scale, form, None, corrected), status


def _detail_url(assessment_id: int) -> str:
    return url_for("assessments.assessment_detail", assessment_id=assessment_id)


def _prefill(assessment: Assessment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "family_member_present": assessment.family_member_present,
        "note": assessment.note,
    }
    for code, points in assessment.answers.items():
        data[code] = points
        data[code + NOTE_SUFFIX] = assessment.item_notes.get(code, "")
    return data


def _render_form(
    application: Application,
    scale: GradingScale,
    form: AssessmentForm,
    draft: AssessmentDraft | None,
    corrected: Assessment | None = None,
    contact: HomeVisitContact | None = None,
) -> str:
    page_data = {
        "application": application.id,
        "instrument": instrument_data(scale),
        "draftUrl": None
        if corrected
        else url_for("assessments.assessment_draft", application_id=application.id),
        "draft": _draft_json(current_actor(), draft, ()) if corrected is None else None,
        "messages": _script_messages(),
        **(_service_worker_data() if corrected is None else {}),
    }
    return render_template(
        "assessments/assessment_form.html",
        application=application,
        instrument=scale.instrument,
        form=form,
        page_data=page_data,
        corrected=corrected,
        contact=contact,
    )


def _service_worker_data() -> dict[str, str]:
    """Where the form's script registers the service worker that keeps the offline copy."""
    return {
        "serviceWorkerUrl": url_for("assessments.service_worker"),
        "serviceWorkerScope": request.script_root + "/",
    }


def _draft_json(
    actor: Actor, draft: AssessmentDraft | None, conflicts: tuple[DraftConflict, ...]
) -> dict[str, Any]:
    """What the page's script needs of a draft: values, revisions, who changed what."""
    names = _assessor_names_by_id(draft.application) if draft is not None else {}
    entries = {
        key: {
            "value": entry["value"],
            "rev": entry["rev"],
            "mine": entry["by"] == actor.user_id,
            "by": names.get(entry["by"], ""),
        }
        for key, entry in (draft.entries.items() if draft is not None else ())
    }
    return {
        "revision": draft.revision if draft is not None else 0,
        "entries": entries,
        "conflicts": [
            {
                "field": c.field,
                "yours": c.yours,
                "theirs": c.theirs,
                "rev": c.rev,
                "by": names.get(c.by_id, "") if c.by_id is not None else "",
            }
            for c in conflicts
        ],
    }


def _assessor_names_by_id(application: Application) -> dict[int | None, str]:
    return {
        user.id: user.display_name
        for user in (application.assessor_1, application.assessor_2)
        if user is not None
    }


def _script_messages() -> dict[str, str]:
    """The texts the form's script shows, in the user's language."""
    return {
        "saved": _("Saved"),
        "saving": _("Saving…"),
        "offline": _("Offline: answers are kept on this device and sent when the network returns."),
        "retry": _("Not saved yet; trying again."),
        "conflict": _(
            "%(name)s changed this item meanwhile to “%(theirs)s”; your answer “%(yours)s” "
            "was not saved. Choose again to replace it."
        ),
        "submitted": _("An assessment has already been submitted for this application."),
        "loggedOut": _("Please log in to see this page."),
        "notAnswered": _("not answered"),
        "application": _("Application #%(number)s"),
        "shellOffline": _(
            "Offline copy of the form: answers are kept on this device. Submission waits for "
            "the network; the full form opens again when it returns."
        ),
        "shellReconnecting": _("The network is back: saving the answers, then opening the form…"),
        "offlineSubmit": _(
            "You are offline. Submit when the network is back; your answers are kept."
        ),
        "unsynced": _(
            "Some answers are not saved on the server yet and will be lost. Log out anyway?"
        ),
    }


def _assessor_names(application: Application) -> tuple[str, str]:
    return _display_name(application.assessor_1), _display_name(application.assessor_2)


def _display_name(user: User | None) -> str:
    return user.display_name if user is not None else "—"


def instrument_data(scale: GradingScale) -> dict[str, Any]:
    """The instrument and its grading rules in the user's language, for the form's script."""
    items = [
        {
            "code": item.code,
            "label": localized(item, "label"),
            "indicator": getattr(item, "indicator", None),
            "options": [
                {"points": option.points, "label": localized(option, "label")}
                for option in item.options
            ],
        }
        for item in scale.instrument.items
    ]
    return {
        "code": scale.instrument.code,
        "items": items,
        "grading": _grading_data(scale.instrument, scale.rules),
    }


def _grading_data(instrument: Instrument, rules: GradingRules) -> dict[str, Any]:
    """The rules, worded in the user's language, as the script computes a provisional grade."""
    if isinstance(rules, BandRules):
        return {
            "kind": "bands",
            "bands": [
                {"min": band.min_total, "max": band.max_total, "label": localized(band, "label")}
                for band in rules.bands
            ],
        }
    levels = {level.code: localized(level, "label") for level in rules.levels}
    return {
        "kind": "combination",
        "levels": [{"code": code, "label": label} for code, label in levels.items()],
        "indicators": [
            {
                "code": indicator.code,
                "label": localized(indicator, "label"),
                "bands": [
                    {
                        "min": band.min_total,
                        "max": band.max_total,
                        "level": band.grade_code,
                        "label": levels.get(band.grade_code, band.grade_code),
                    }
                    for band in rules.bands_of(indicator.code)
                ],
            }
            for indicator in instrument.indicators
        ],
        "row": rules.row_indicator,
        "columns": list(rules.column_indicators),
        "table": [list(row) for row in rules.table],
        "grades": [{"code": g.code, "label": localized(g, "label")} for g in rules.grades],
    }


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class VersionRow:
    assessment: Assessment
    grade_label: str
    changes: list[ChangeRow]


def _history(versions: list[Assessment]) -> list[VersionRow]:
    """Every version, newest first, with what it changed from the one before."""
    rows = []
    for index, version in enumerate(versions):
        changes = version_changes(versions[index - 1], version) if index else []
        instrument = INSTRUMENTS.get(version.instrument)
        rows.append(
            VersionRow(
                version,
                _grade_label(version),
                [_change_row(instrument, change) for change in changes],
            )
        )
    return rows[::-1]


def _change_row(instrument: Instrument | None, change: AnswerChange) -> ChangeRow:
    item = instrument.item(change.item_code) if instrument is not None else None

    def answer(points: object, note: str | None) -> str:
        option = item.option_for(points) if item is not None and isinstance(points, int) else None
        text = f"{localized(option, 'label')} ({points})" if option is not None else str(points)
        return f"{text} · {note}" if note else text

    label = localized(item, "label") if item is not None else change.item_code
    return ChangeRow(
        label, answer(change.before, change.note_before), answer(change.after, change.note_after)
    )


@dataclass(frozen=True)
class AnswerRow:
    label: str
    answer: str
    points: object
    note: str | None = None


def _answer_rows(assessment: Assessment) -> list[AnswerRow]:
    """Each answer with the item's and the option's wording (raw codes if the data is unknown)."""
    instrument = INSTRUMENTS.get(assessment.instrument)
    if instrument is None:
        return [
            AnswerRow(code, "", points, assessment.item_notes.get(code))
            for code, points in assessment.answers.items()
        ]
    rows = []
    for item in instrument.items:
        points = assessment.answers.get(item.code)
        option = item.option_for(points) if isinstance(points, int) else None
        answer = localized(option, "label") if option is not None else "—"
        rows.append(
            AnswerRow(
                localized(item, "label"), answer, points, assessment.item_notes.get(item.code)
            )
        )
    return rows


def _grade_label(assessment: Assessment) -> str:
    instrument = INSTRUMENTS.get(assessment.instrument)
    band = instrument.band(assessment.grade) if instrument is not None else None
    return localized(band, "label") if band is not None else assessment.grade


def _instrument_name(assessment: Assessment) -> str:
    instrument = INSTRUMENTS.get(assessment.instrument)
    return localized(instrument, "name") if instrument is not None else assessment.instrument
