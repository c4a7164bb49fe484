"""Application intake and assessor assignment (administrators only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.access import current_actor, role_required
from careapp.blueprints.applications.forms import ApplicationForm, AssignAssessorsForm
from careapp.blueprints.applications.labels import STATUS_BADGES, label
from careapp.clock import utcnow
from careapp.errors import CareappError
from careapp.models.assessment import ApplicationStatus
from careapp.models.users import Role
from careapp.services.applications import (
    assign_assessors,
    can_assign_assessors,
    decision_id_for,
    get_application,
    list_applications,
    list_assessors,
    read_application,
    submit_application,
)
from careapp.services.reference import district_name
from careapp.services.registry import get_person

bp = Blueprint("applications", __name__)


@bp.context_processor
def _display_helpers() -> dict[str, Any]:
    return {"label": label, "district_name": district_name, "status_badges": STATUS_BADGES}


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
