"""Application intake and assessor assignment (administrators only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.applications.forms import (
    ApplicationForm,
    AssignAssessorsForm,
    ObjectionForm,
    OversightForm,
    ReassessmentRequestForm,
    ResolveObjectionForm,
    ReviewForm,
    TieForm,
)
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.assessment import ApplicationKind, ApplicationStatus
from careapp.models.users import Role
from careapp.services.applications import (
    assign_assessors,
    can_assign_assessors,
    decision_id_for,
    get_application,
    list_applications,
    list_assessors,
    list_providers,
    list_ties,
    read_application,
    record_tie,
    submit_application,
)
from careapp.services.oversight import build_oversight_report
from careapp.services.procedure import (
    ProcedureRules,
    get_objection,
    lodge_objection,
    procedure_view,
    resolve_objection,
    review_application,
)
from careapp.services.reassessments import (
    get_appeal_context,
    list_reminders,
    request_reassessment,
    suspend_overdue_benefit,
)
from careapp.services.registry import get_person
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm
from careapp.web.wording import grade_label

bp = Blueprint("applications", __name__)


@bp.context_processor
def _display_helpers() -> dict[str, Any]:
    return {"grade_label": grade_label}


@bp.route("/applications", methods=["GET"])
@role_required(Role.ADMIN)
def application_list() -> ResponseReturnValue:
    values = {status.value: status for status in ApplicationStatus}
    status = values.get(request.args.get("status", "", type=str))
    applications = list_applications(db.session(), status)
    return render_template(
        "applications/application_list.html",
        applications=applications,
        status=status,
        statuses=list(ApplicationStatus),
    )


@bp.route("/people/<int:person_id>/applications/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def application_new(person_id: int) -> ResponseReturnValue:
    session = db.session()
    person = get_person(session, current_actor(), person_id)
    form = ApplicationForm()
    form.set_providers(list_providers(session))
    if form.validate_on_submit():
        try:
            application = submit_application(
                session, current_actor(), person.id, form.to_input(), utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            person = get_person(session, current_actor(), person_id)
            page = render_template("applications/application_new.html", form=form, person=person)
            return page, error.status_code
        session.commit()
        flash(_("The application is recorded."), "success")
        return redirect(url_for("applications.application_detail", application_id=application.id))
    status = 400 if form.is_submitted() else 200
    return render_template("applications/application_new.html", form=form, person=person), status


@bp.route("/applications/<int:application_id>", methods=["GET"])
@role_required(Role.ADMIN)
def application_detail(application_id: int) -> ResponseReturnValue:
    session = db.session()
    application = read_application(session, current_actor(), application_id, utcnow())
    session.commit()  # the audited read
    return render_template(
        "applications/application_detail.html",
        application=application,
        decision_id=decision_id_for(session, application.id),
        can_assign=can_assign_assessors(application),
        procedure=procedure_view(session, application, city_today(utcnow())),
    )


@bp.route("/applications/<int:application_id>/assign", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def application_assign(application_id: int) -> ResponseReturnValue:
    session = db.session()
    application = get_application(session, current_actor(), application_id)
    form = AssignAssessorsForm()
    form.set_assessors(list_assessors(session))
    if not form.is_submitted():
        form.prefill(
            application.assessor_1_id, application.assessor_2_id, application.appointment_at
        )
    elif form.validate():
        try:
            assign_assessors(
                session,
                current_actor(),
                application.id,
                form.assessor_1_id.data,
                form.assessor_2_id.data,
                form.appointment_utc(),
                utcnow(),
                conflict_recent_days=_rules().conflict_recent_days,
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _render_assign(application_id, form, error.status_code)
        session.commit()
        flash(_("The assessors are assigned."), "success")
        return redirect(url_for("applications.application_detail", application_id=application.id))
    return _render_assign(application_id, form, 400 if form.is_submitted() else 200)


def _render_assign(application_id: int, form: AssignAssessorsForm, status: int) -> Any:
    application = get_application(db.session(), current_actor(), application_id)
    page = render_template(
        "applications/application_assign.html", application=application, form=form
    )
    return page, status


def _rules() -> ProcedureRules:
    return ProcedureRules.from_config(current_app.config)


@bp.route("/applications/<int:application_id>/review", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def application_review(application_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            review_application(
                session,
                current_actor(),
                application_id,
                form.is_approved,
                form.reason.data,
                _rules(),
                utcnow(),
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _render_step("applications/application_review.html", application_id, form, error)
        session.commit()
        flash(_("The review is recorded."), "success")
        return redirect(url_for("applications.application_detail", application_id=application_id))
    return _render_step("applications/application_review.html", application_id, form)


@bp.route("/applications/<int:application_id>/objections/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def objection_new(application_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ObjectionForm()
    if form.validate_on_submit():
        try:
            lodge_objection(session, current_actor(), application_id, form.to_input(), utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _render_step("applications/objection_new.html", application_id, form, error)
        session.commit()
        flash(_("The objection is recorded."), "success")
        return redirect(url_for("applications.application_detail", application_id=application_id))
    return _render_step("applications/objection_new.html", application_id, form)


@bp.route("/objections/<int:objection_id>/resolve", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def objection_resolve(objection_id: int) -> ResponseReturnValue:
    session = db.session()
    objection = get_objection(session, current_actor(), objection_id)
    application_id = objection.application_id
    form = ResolveObjectionForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            resolve_objection(
                session,
                current_actor(),
                objection_id,
                form.outcome.data == "uphold",
                form.note.data or "",
                utcnow(),
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The objection is resolved."), "success")
            return redirect(
                url_for("applications.application_detail", application_id=application_id)
            )
    objection = get_objection(session, current_actor(), objection_id)
    page = render_template("applications/objection_resolve.html", objection=objection, form=form)
    return page, status


@bp.route("/applications/<int:application_id>/reassessment", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def reassessment_request(application_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ReassessmentRequestForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            application = request_reassessment(
                session,
                current_actor(),
                application_id,
                ApplicationKind(form.kind.data),
                form.reason.data or "",
                _rules(),
                utcnow(),
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The new round of assessment is recorded."), "success")
            return redirect(
                url_for("applications.application_detail", application_id=application.id)
            )
    context = get_appeal_context(
        session, current_actor(), application_id, _rules(), city_today(utcnow())
    )
    page = render_template("applications/reassessment_request.html", context=context, form=form)
    return page, status


@bp.route("/reassessments", methods=["GET"])
@role_required(Role.ADMIN)
def reminder_list() -> ResponseReturnValue:
    rows = list_reminders(db.session(), current_actor(), city_today(utcnow()))
    return render_template("applications/reminder_list.html", rows=rows)


@bp.route("/reassessments/<int:reminder_id>/suspend", methods=["POST"])
@role_required(Role.ADMIN)
def reminder_suspend(reminder_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Confirm the suspension."), "error")
        return redirect(url_for("applications.reminder_list")), 303
    try:
        suspend_overdue_benefit(session, current_actor(), reminder_id, utcnow())
    except CareappError as error:
        session.rollback()
        flash(error.message, "error")
        return redirect(url_for("applications.reminder_list")), 303
    session.commit()
    flash(_("The benefit is suspended until the re-assessment."), "success")
    return redirect(url_for("applications.reminder_list")), 303


@bp.route("/oversight", methods=["GET"])
@role_required(Role.ADMIN)
def oversight_report() -> ResponseReturnValue:
    today = city_today(utcnow())
    form = OversightForm(request.args)
    if not request.args:
        form.first_day.data, form.last_day.data = today.replace(month=1, day=1), today
    page_data, status = None, 200
    if form.validate():
        try:
            page_data = build_oversight_report(
                db.session(), current_actor(), form.first_day.data, form.last_day.data, _rules()
            )
        except CareappError as error:
            form.show_error(error)
            status = error.status_code
    else:
        status = 400
    return render_template("applications/oversight.html", form=form, page=page_data), status


@bp.route("/assessor-ties", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def tie_list() -> ResponseReturnValue:
    session = db.session()
    form = TieForm()
    form.set_choices(list_assessors(session), list_providers(session))
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            record_tie(session, current_actor(), form.to_input(), utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The tie is recorded."), "success")
            return redirect(url_for("applications.tie_list"))
    ties = list_ties(session, current_actor())
    return render_template("applications/tie_list.html", form=form, ties=ties), status


def _render_step(
    template: str, application_id: int, form: Any, error: CareappError | None = None
) -> Any:
    """A procedure step's page for an application, with the status code of its outcome."""
    application = get_application(db.session(), current_actor(), application_id)
    status = error.status_code if error else (400 if form.is_submitted() else 200)
    return render_template(template, application=application, form=form), status
