"""Dispatch (administrators): run the nightly dispatch by hand for chosen days."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.dispatch.forms import DispatchRunForm
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services.dispatch import dispatch_visits, recent_dispatch_runs
from careapp.web.access import current_actor, role_required

bp = Blueprint("dispatch", __name__)


@bp.route("/dispatch", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def dispatch_run() -> ResponseReturnValue:
    session, now, config = db.session(), utcnow(), current_app.config
    tomorrow = city_today(now) + dt.timedelta(days=1)
    form = DispatchRunForm(data={"first_day": tomorrow, "days": config["DISPATCH_HORIZON_DAYS"]})
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        first_day, days = form.first_day.data, form.days.data
        try:
            run = dispatch_visits(
                session,
                current_actor(),
                first_day,
                first_day + dt.timedelta(days=days - 1),
                now,
                config["TRAVEL_SPEED_KMH"],
                lock_timeout=dt.timedelta(seconds=config["DISPATCH_LOCK_TIMEOUT"]),
                time_limit_seconds=config["DISPATCH_TIME_LIMIT_SECONDS"],
                workers=config["DISPATCH_WORKERS"],
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(
                _(
                    "Dispatch finished: %(created)d visits created, %(assigned)d assigned, "
                    "%(unassigned)d unassigned.",
                    created=run.visits_created,
                    assigned=run.visits_assigned,
                    unassigned=run.visits_unassigned,
                ),
                "success",
            )
            return redirect(url_for("dispatch.dispatch_run"))
    runs = recent_dispatch_runs(session)
    return render_template("dispatch/dispatch_run.html", form=form, runs=runs), status
