"""Eligibility decisions (administrators): decide an assessed application, show a decision."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.eligibility.forms import DecisionForm
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services import eligibility
from careapp.services.policy import policy_version_name
from careapp.services.procedure import decision_refusal
from careapp.web import labels, wording
from careapp.web.access import current_actor, role_required

bp = Blueprint("eligibility", __name__)

LABELS = {
    "care_setting": labels.CARE_SETTING_LABELS,
    "scheme": labels.INSURANCE_SCHEME_LABELS,
    "rule": wording.rule_label,
    "reason": wording.describe_reason,
    "instrument": wording.instrument_name,
    "grade": wording.grade_label,
    "policy": policy_version_name,
}


@bp.route("/applications/<int:application_id>/decision/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def decision_new(application_id: int) -> ResponseReturnValue:
    session = db.session()
    context = eligibility.get_decision_context(session, current_actor(), application_id)
    if context.decision_id is not None:
        return redirect(url_for("eligibility.decision_detail", decision_id=context.decision_id))
    form = DecisionForm(data={"care_setting": context.application.requested_setting.value})
    status = 200
    if form.validate_on_submit():
        try:
            decision = eligibility.decide_application(
                session, current_actor(), application_id, form.chosen_setting, utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The decision has been recorded."), "success")
            return redirect(url_for("eligibility.decision_detail", decision_id=decision.id))
    elif form.is_submitted():
        status = 400
    not_ready_reason = decision_refusal(session, context.application, city_today(utcnow()))
    return render_template(
        "eligibility/decision_new.html",
        form=form,
        context=context,
        is_ready=not_ready_reason is None,
        not_ready_reason=not_ready_reason,
        labels=LABELS,
    ), status


@bp.route("/decisions/<int:decision_id>", methods=["GET"])
@role_required(Role.ADMIN)
def decision_detail(decision_id: int) -> ResponseReturnValue:
    summary = eligibility.get_decision_summary(db.session(), current_actor(), decision_id)
    decision = summary.decision
    can_plan = (
        summary.entitlement is not None
        and summary.care_plan is None
        and eligibility.care_plan_refusal(summary.entitlement) is None
    )
    return render_template(
        "eligibility/decision_detail.html",
        decision=decision,
        summary=summary,
        can_plan=can_plan,
        labels=LABELS,
    )
