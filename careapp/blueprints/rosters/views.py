"""Rosters (provider managers): the day of their own company, caregiver by caregiver."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.access import current_actor, role_required
from careapp.blueprints.rosters.forms import RosterDayForm
from careapp.clock import city_today, utcnow
from careapp.errors import InvalidInputError
from careapp.models.users import Role
from careapp.services.rosters import roster_for_day

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
