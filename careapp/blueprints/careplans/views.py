"""Care plans (administrators): plan home care for an entitlement, show a plan with its cost."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.careplans.forms import CarePlanForm
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services import careplans
from careapp.web.access import current_actor, role_required

bp = Blueprint("careplans", __name__)


@bp.route("/entitlements/<int:entitlement_id>/care-plan/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def careplan_new(entitlement_id: int) -> ResponseReturnValue:
    session = db.session()
    # ?volunteer=1: unpaid visits of a volunteer organisation, in addition to the paid plan.
    volunteer = request.args.get("volunteer") == "1"
    options = careplans.care_plan_options(
        session, current_actor(), entitlement_id, volunteer=volunteer
    )
    if options.existing_plan_id is not None and not volunteer:
        return redirect(url_for("careplans.careplan_detail", care_plan_id=options.existing_plan_id))
    form = CarePlanForm()
    form.set_choices(options)
    status = 200
    if form.validate_on_submit():
        try:
            plan = careplans.create_care_plan(
                session, current_actor(), entitlement_id, form.to_input(), utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The care plan has been saved."), "success")
            return redirect(url_for("careplans.careplan_detail", care_plan_id=plan.id))
    elif form.is_submitted():
        status = 400
    return render_template("careplans/careplan_new.html", form=form, options=options), status


@bp.route("/care-plans/<int:care_plan_id>", methods=["GET"])
@role_required(Role.ADMIN)
def careplan_detail(care_plan_id: int) -> ResponseReturnValue:
    plan = careplans.get_care_plan(db.session(), current_actor(), care_plan_id)
    return render_template(
        "careplans/careplan_detail.html",
        plan=plan,
        cost=careplans.care_plan_cost(plan),
    )
