"""Rosters (provider managers): their own company's day and week, caregiver by caregiver,
hand moves, the route map and the exports (CSV, iCalendar links, PDF day sheet)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import SelectChoice

from careapp import db
from careapp.access import current_actor, role_required
from careapp.blueprints.rosters.forms import (
    CalendarFeedForm,
    MoveVisitForm,
    RosterDayForm,
    RosterExportForm,
)
from careapp.blueprints.visits.labels import FLAG_LABELS
from careapp.clock import city_today, utcnow
from careapp.errors import CareappError, InvalidInputError
from careapp.models.users import Role
from careapp.services.alerts import acknowledge_alert, open_provider_alerts
from careapp.services.rosters import (
    RosterVisitDetail,
    calendar_feed,
    caregiver_route_map,
    create_calendar_feed,
    day_sheet_pdf,
    move_visit,
    revoke_calendar_feed,
    roster_csv,
    roster_for_day,
    roster_for_week,
    roster_visit,
    week_start,
)

bp = Blueprint("rosters", __name__)

# The plain token of a link just created, shown once after the redirect (the DB keeps a hash).
CALENDAR_LINK_KEY = "calendar_link"


def _picked_day(form: RosterDayForm) -> dt.date:
    if not form.validate():
        raise InvalidInputError(_("The day must be a date like 2026-11-24."), field="day")
    day: dt.date = form.day.data or city_today(utcnow())
    form.day.data = day
    return day


def pop_calendar_link() -> tuple[int | None, str | None]:
    """(caregiver id, subscription URL) of a link created just before this page, once."""
    saved = cookie_session.pop(CALENDAR_LINK_KEY, None) or {}
    if not saved:
        return None, None
    url = url_for("rosters.calendar_feed_ics", token=saved["token"], _external=True)
    return saved["caregiver_id"], url


@bp.route("/roster", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_day() -> ResponseReturnValue:
    form = RosterDayForm(formdata=request.args)
    roster = roster_for_day(db.session(), current_actor(), _picked_day(form))
    link_for, link = pop_calendar_link()
    return render_template(
        "rosters/roster_day.html",
        roster=roster,
        form=form,
        feed_form=CalendarFeedForm(),
        calendar_link=link,
        calendar_link_for=link_for,
        provider_alerts=open_provider_alerts(db.session(), current_actor()),
    )


@bp.route("/roster/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def alert_acknowledge(alert_id: int) -> ResponseReturnValue:
    session = db.session()
    acknowledge_alert(session, current_actor(), alert_id, utcnow())
    session.commit()
    return redirect(url_for("rosters.roster_day"))


@bp.route("/roster/week", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_week() -> ResponseReturnValue:
    form = RosterDayForm(formdata=request.args)
    week = roster_for_week(db.session(), current_actor(), _picked_day(form))
    return render_template("rosters/roster_week.html", week=week, form=form)


@bp.route("/roster/visits/<int:visit_id>", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_detail(visit_id: int) -> ResponseReturnValue:
    detail = roster_visit(db.session(), current_actor(), visit_id)
    return _render_visit(detail, _move_form(detail))


@bp.route("/roster/visits/<int:visit_id>/move", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_move(visit_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    detail = roster_visit(session, actor, visit_id)
    form, status = _move_form(detail), 400
    if form.validate_on_submit():
        try:
            move_visit(
                session, actor, visit_id, form.caregiver_id.data, form.start.data, utcnow(),
                current_app.config["TRAVEL_SPEED_KMH"],
            )  # fmt: skip
        except CareappError as error:
            session.rollback()
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            session.commit()
            flash(_("The visit was moved."), "success")
            return redirect(url_for("rosters.roster_visit_detail", visit_id=visit_id))
        detail = roster_visit(session, actor, visit_id)
    return _render_visit(detail, form, status)


def _move_form(detail: RosterVisitDetail) -> MoveVisitForm:
    visit = detail.visit
    form = MoveVisitForm(
        data={
            "caregiver_id": visit.caregiver_id,
            "start": (visit.planned_start or visit.window_start).time(),
        }
    )
    form.caregiver_id.choices = [SelectChoice(cid, name) for cid, name in detail.caregiver_choices]
    return form


def _render_visit(
    detail: RosterVisitDetail, form: MoveVisitForm, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "rosters/roster_visit.html", detail=detail, flag_labels=FLAG_LABELS, move_form=form
    ), status


@bp.route("/roster/caregivers/<int:caregiver_id>/map.svg", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def caregiver_map(caregiver_id: int) -> ResponseReturnValue:
    day = _picked_day(RosterDayForm(formdata=request.args))
    svg = caregiver_route_map(db.session(), current_actor(), caregiver_id, day)
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/roster/export.csv", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_csv_export() -> ResponseReturnValue:
    session, form = db.session(), RosterExportForm(formdata=request.args)
    day = _picked_day(form)
    first, last = day, day
    if form.span.data == "week":
        first = week_start(day)
        last = first + dt.timedelta(days=6)
    body = roster_csv(session, current_actor(), first, last, utcnow())
    session.commit()  # the export's audit event
    name = f"roster-{first.isoformat()}" + (f"-{last.isoformat()}" if last != first else "")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.route("/roster/day-sheet.pdf", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def day_sheet() -> ResponseReturnValue:
    session, form = db.session(), RosterExportForm(formdata=request.args)
    day = _picked_day(form)
    body = day_sheet_pdf(session, current_actor(), day, form.caregiver_id.data, utcnow())
    session.commit()  # the print's audit event
    suffix = f"-{form.caregiver_id.data}" if form.caregiver_id.data else ""
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="day-sheet-{day}{suffix}.pdf"'},
    )


@bp.route("/roster/caregivers/<int:caregiver_id>/calendar", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def calendar_feed_create(caregiver_id: int) -> ResponseReturnValue:
    session, form = db.session(), CalendarFeedForm()
    if not form.validate_on_submit():
        raise InvalidInputError(_("The form expired. Please go back and try again."))
    token = create_calendar_feed(session, current_actor(), caregiver_id, utcnow())
    session.commit()
    cookie_session[CALENDAR_LINK_KEY] = {"caregiver_id": caregiver_id, "token": token}
    flash(_("A new calendar link was created; the previous one no longer works."), "success")
    return redirect(url_for("rosters.roster_day", day=request.args.get("day")))


@bp.route("/roster/caregivers/<int:caregiver_id>/calendar/revoke", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def calendar_feed_revoke(caregiver_id: int) -> ResponseReturnValue:
    session, form = db.session(), CalendarFeedForm()
    if not form.validate_on_submit():
        raise InvalidInputError(_("The form expired. Please go back and try again."))
    revoke_calendar_feed(session, current_actor(), caregiver_id, utcnow())
    session.commit()
    flash(_("The calendar link was revoked."), "success")
    return redirect(url_for("rosters.roster_day", day=request.args.get("day")))


@bp.route("/calendar/<token>.ics", methods=["GET"])
def calendar_feed_ics(token: str) -> ResponseReturnValue:
    """The caregiver's feed; the secret token is the only key (a phone cannot log in)."""
    body = calendar_feed(db.session(), token, utcnow())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"},
    )
