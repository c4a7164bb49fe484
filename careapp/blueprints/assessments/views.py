"""The assessor's pages: the queue, the on-site form (tablet-first) and the audited detail page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from assessments.grading import INSTRUMENTS
from careapp import db
from careapp.access import current_actor, role_required
from careapp.blueprints.assessments.forms import (
    AssessmentForm,
    build_assessment_form,
    localized,
)
from careapp.clock import utcnow
from careapp.errors import CareappError
from careapp.models.assessment import Application, Assessment
from careapp.models.users import Role, User
from careapp.services.assessments import (
    GradingScale,
    get_application_for_assessment,
    grading_scale_in_force,
    list_assessor_queue,
    record_assessment,
    view_assessment,
)
from careapp.services.reference import district_name

bp = Blueprint("assessments", __name__)


@bp.context_processor
def _display_helpers() -> dict[str, Any]:
    return {"tr": localized, "district_name": district_name}


@bp.route("/assessments", methods=["GET"])
@role_required(Role.ASSESSOR)
def assessment_queue() -> ResponseReturnValue:
    applications = list_assessor_queue(db.session(), current_actor())
    return render_template("assessments/assessment_queue.html", applications=applications)


@bp.route("/applications/<int:application_id>/assessment", methods=["GET", "POST"])
@role_required(Role.ASSESSOR)
def assessment_form(application_id: int) -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    application = get_application_for_assessment(session, actor, application_id)
    scale = grading_scale_in_force(session, now)
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
                bool(form.both_confirmed.data),
                now,
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _render_form(application, scale, form), error.status_code
        session.commit()
        flash(_("The assessment is submitted."), "success")
        return redirect(url_for("assessments.assessment_detail", assessment_id=assessment.id))
    return _render_form(application, scale, form), 400 if form.is_submitted() else 200


@bp.route("/assessments/<int:assessment_id>", methods=["GET"])
@role_required(Role.ADMIN, Role.ASSESSOR)
def assessment_detail(assessment_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    assessment = view_assessment(session, actor, assessment_id, utcnow())
    session.commit()  # the audited read
    return render_template(
        "assessments/assessment_detail.html",
        assessment=assessment,
        rows=_answer_rows(assessment),
        grade_label=_grade_label(assessment),
        instrument_name=_instrument_name(assessment),
        is_admin=actor.is_role(Role.ADMIN),
    )


def _render_form(application: Application, scale: GradingScale, form: AssessmentForm) -> str:
    bands = [
        {"min": band.min_total, "max": band.max_total, "label": localized(band, "label")}
        for band in scale.bands
    ]
    return render_template(
        "assessments/assessment_form.html",
        application=application,
        instrument=scale.instrument,
        form=form,
        bands=bands,
    )


def _assessor_names(application: Application) -> tuple[str, str]:
    return _display_name(application.assessor_1), _display_name(application.assessor_2)


def _display_name(user: User | None) -> str:
    return user.display_name if user is not None else "—"


@dataclass(frozen=True)
class AnswerRow:
    label: str
    answer: str
    points: object


def _answer_rows(assessment: Assessment) -> list[AnswerRow]:
    """Each answer with the item's and the option's wording (raw codes if the data is unknown)."""
    instrument = INSTRUMENTS.get(assessment.instrument)
    if instrument is None:
        return [AnswerRow(code, "", points) for code, points in assessment.answers.items()]
    rows = []
    for item in instrument.items:
        points = assessment.answers.get(item.code)
        option = item.option_for(points) if isinstance(points, int) else None
        answer = localized(option, "label") if option is not None else "—"
        rows.append(AnswerRow(localized(item, "label"), answer, points))
    return rows


def _grade_label(assessment: Assessment) -> str:
    instrument = INSTRUMENTS.get(assessment.instrument)
    band = instrument.band(assessment.grade) if instrument is not None else None
    return localized(band, "label") if band is not None else assessment.grade


def _instrument_name(assessment: Assessment) -> str:
    instrument = INSTRUMENTS.get(assessment.instrument)
    return localized(instrument, "name") if instrument is not None else assessment.instrument
