"""Rosters (provider managers): the day of their own company, caregiver by caregiver."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.access import current_actor, role_required
from careapp.blueprints.rosters.forms import RosterDayForm
from careapp.blueprints.visits.labels import FLAG_LABELS
from careapp.clock import city_today, utcnow
from careapp.errors import InvalidInputError
from careapp.models.users import Role
from careapp.services.rosters import roster_for_day, roster_visit

bp = Blueprint("rosters", __name__)


@bp.route("/roster", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_day() -> ResponseReturnValue:
    form = RosterDayForm(formdata=request.args)
    if not form.validate():
        raise InvalidInputError(_("The day must be a date like 2026-11-24."), field="day")
    day = form.day.data or city_today(utcnow())
    form.day.data = day
    roster = roster_for_day(db.session(), current_actor(), day)
    return render_template("rosters/roster_day.html", roster=roster, form=form)


@bp.route("/roster/visits/<int:visit_id>", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_detail(visit_id: int) -> ResponseReturnValue:
    detail = roster_visit(db.session(), current_actor(), visit_id)
    return render_template("rosters/roster_visit.html", detail=detail, flag_labels=FLAG_LABELS)
