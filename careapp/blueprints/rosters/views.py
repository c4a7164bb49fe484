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
from wtforms import SelectChoice, SelectField

from careapp import db
from careapp.blueprints.rosters.forms import (
    CancelVisitForm,
    ManualEntryForm,
    MoveVisitForm,
    RescheduleVisitForm,
    RosterDayForm,
    RosterExportForm,
)
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError, InvalidInputError
from careapp.models.users import Role
from careapp.services.alerts import acknowledge_alert, open_provider_alerts
from careapp.services.claims import claim_audit_settings
from careapp.services.rosters import (
    LongTravelError,
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
from careapp.services.visit_records import (
    ManualEntryInput,
    RescheduleInput,
    VisitRecordOptions,
    cancel_visit,
    record_manual_entry,
    reschedule_missed_visit,
    visit_record_options,
)
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm
from careapp.web.labels import unassigned_reason_label, visit_status_label
from careapp.web.qr import qr_svg

bp = Blueprint("rosters", __name__)

# The plain token of a link just created, shown once after the redirect (the DB keeps a hash).
CALENDAR_LINK_KEY = "calendar_link"
# Likewise the family's rating token of a visit just entered by hand.
MANUAL_ENTRY_KEY = "manual_entry_receipt"


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
        feed_form=ConfirmForm(),
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


@bp.route("/roster/visits/<int:visit_id>/manual-entry", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_manual_entry(visit_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    detail = roster_visit(session, actor, visit_id)
    form, status = ManualEntryForm(), 400
    _manual_choices(form, detail, visit_record_options(session, actor, visit_id, utcnow()))
    if form.validate_on_submit():
        data = ManualEntryInput(
            form.check_in_time.data, form.check_out_time.data, form.done_item_codes.data or [],
            form.reason.data, form.note.data, form.caregiver_id.data, form.check_out_next_day.data,
        )  # fmt: skip
        valid_for = dt.timedelta(days=current_app.config["RATING_LINK_VALID_DAYS"])
        try:
            entry = record_manual_entry(
                session,
                actor,
                visit_id,
                data,
                utcnow(),
                valid_for=valid_for,
                claim_settings=claim_audit_settings(current_app.config),
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            cookie_session[MANUAL_ENTRY_KEY] = {"visit_id": visit_id, "token": entry.rating_token}
            return redirect(url_for("rosters.roster_visit_manual_entry_done", visit_id=visit_id))
        detail = roster_visit(session, actor, visit_id)
    return _render_visit(detail, _move_form(detail), manual_form=form, status=status)


@bp.route("/roster/visits/<int:visit_id>/manual-entry/done", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_manual_entry_done(visit_id: int) -> ResponseReturnValue:
    """The entered visit with the family's rating link and QR code (shown this once)."""
    detail = roster_visit(db.session(), current_actor(), visit_id)
    saved = cookie_session.get(MANUAL_ENTRY_KEY) or {}
    token = saved.get("token") if saved.get("visit_id") == visit_id else None
    if token is not None:
        cookie_session.pop(MANUAL_ENTRY_KEY, None)  # the plain token is shown this once
    rating_url = url_for("ratings.rate_visit", token=token, _external=True) if token else None
    qr = qr_svg(rating_url, _("QR code of the rating link")) if rating_url else None
    return render_template(
        "rosters/visit_manual_entry_done.html", detail=detail, rating_url=rating_url, qr=qr
    )


@bp.route("/roster/visits/<int:visit_id>/reschedule", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_reschedule(visit_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    detail = roster_visit(session, actor, visit_id)
    form, status, travel = RescheduleVisitForm(), 400, None
    _caregiver_choices(form.caregiver_id, detail, _("Leave it to dispatch"))
    if form.validate_on_submit():
        data = RescheduleInput(
            form.day.data, form.window_start.data, form.window_end.data,
            form.caregiver_id.data, form.start.data, form.accepted_travel_minutes.data,
        )  # fmt: skip
        try:
            visit = reschedule_missed_visit(
                session, actor, visit_id, data, utcnow(), current_app.config["TRAVEL_SPEED_KMH"],
                confirm_travel_over=current_app.config["ROSTER_MOVE_CONFIRM_TRAVEL_MINUTES"],
            )  # fmt: skip
        except LongTravelError as error:  # the manager sees the minutes and may confirm
            session.rollback()
            travel, status = error, error.status_code
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The missed visit was rescheduled."), "success")
            return redirect(url_for("rosters.roster_visit_detail", visit_id=visit.id))
        detail = roster_visit(session, actor, visit_id)
    return _render_visit(
        detail, _move_form(detail), reschedule_form=form, status=status, reschedule_travel=travel
    )


@bp.route("/roster/visits/<int:visit_id>/cancel", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_cancel(visit_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    detail = roster_visit(session, actor, visit_id)
    form, status = CancelVisitForm(), 400
    if form.validate_on_submit():
        try:
            cancel_visit(session, actor, visit_id, form.reason.data, utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The visit was cancelled."), "success")
            return redirect(url_for("rosters.roster_day", day=detail.day.isoformat()))
        detail = roster_visit(session, actor, visit_id)
    return _render_visit(detail, _move_form(detail), cancel_form=form, status=status)


def _caregiver_choices(field: SelectField, detail: RosterVisitDetail, empty: str) -> None:
    field.choices = [
        SelectChoice("", empty),
        *(SelectChoice(cid, name) for cid, name in detail.caregiver_choices),
    ]


def _manual_choices(
    form: ManualEntryForm, detail: RosterVisitDetail, options: VisitRecordOptions
) -> None:
    _caregiver_choices(form.caregiver_id, detail, _("The visit's caregiver"))
    names = detail.visit.service_items  # in the order of the codes
    form.done_item_codes.choices = [
        SelectChoice(code, name)
        for code, name in zip(options.service_item_codes, names, strict=True)
    ]


@bp.route("/roster/visits/<int:visit_id>/move", methods=["POST"])
@role_required(Role.PROVIDER_MANAGER)
def roster_visit_move(visit_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    detail = roster_visit(session, actor, visit_id)
    form, status, travel = _move_form(detail), 400, None
    if form.validate_on_submit():
        try:
            move_visit(
                session, actor, visit_id, form.caregiver_id.data, form.start.data, utcnow(),
                current_app.config["TRAVEL_SPEED_KMH"],
                confirm_travel_over=current_app.config["ROSTER_MOVE_CONFIRM_TRAVEL_MINUTES"],
                accepted_travel_minutes=form.accepted_travel_minutes.data,
            )  # fmt: skip
        except LongTravelError as error:  # the manager sees the minutes and may confirm
            session.rollback()
            travel, status = error, error.status_code
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The visit was moved."), "success")
            return redirect(url_for("rosters.roster_visit_detail", visit_id=visit_id))
        detail = roster_visit(session, actor, visit_id)
    return _render_visit(detail, form, status, move_travel=travel)


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
    detail: RosterVisitDetail,
    form: MoveVisitForm,
    status: int = 200,
    *,
    manual_form: ManualEntryForm | None = None,
    reschedule_form: RescheduleVisitForm | None = None,
    cancel_form: CancelVisitForm | None = None,
    move_travel: LongTravelError | None = None,
    reschedule_travel: LongTravelError | None = None,
) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    options: VisitRecordOptions = visit_record_options(
        session, actor, detail.visit.visit_id, utcnow()
    )
    if manual_form is None:
        visit = detail.visit
        start = visit.planned_start or visit.window_start
        end = visit.planned_end or visit.window_end
        manual_form = ManualEntryForm(
            formdata=None,
            data={
                "caregiver_id": visit.caregiver_id,
                "check_in_time": start.time(),
                "check_out_time": end.time(),
                "done_item_codes": list(options.service_item_codes),
            },
        )
        _manual_choices(manual_form, detail, options)
    if reschedule_form is None:
        visit = detail.visit
        reschedule_form = RescheduleVisitForm(
            formdata=None,
            data={
                "day": max(city_today(utcnow()), detail.day),
                "window_start": visit.window_start.time(),
                "window_end": visit.window_end.time(),
                "caregiver_id": None,  # by default the next dispatch run assigns it
            },
        )
        _caregiver_choices(reschedule_form.caregiver_id, detail, _("Leave it to dispatch"))
    cancel_form = cancel_form or CancelVisitForm(formdata=None)
    # A refusal of an action the page no longer offers (a race, a stale page) shows at the top.
    refused = [
        message
        for action_form, offered in (
            (manual_form, options.can_enter_by_hand),
            (reschedule_form, options.can_reschedule),
            (cancel_form, options.can_cancel),
        )
        if not offered
        for message in action_form.form_errors
    ]
    return render_template(
        "rosters/roster_visit.html",
        detail=detail,
        move_form=form,
        move_travel=move_travel,
        reschedule_travel=reschedule_travel,
        options=options,
        refused=refused,
        manual_form=manual_form,
        reschedule_form=reschedule_form,
        cancel_form=cancel_form,
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
    body = roster_csv(
        session,
        current_actor(),
        first,
        last,
        utcnow(),
        status_label=visit_status_label,
        reason_label=unassigned_reason_label,
    )
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
    body = day_sheet_pdf(
        session,
        current_actor(),
        day,
        form.caregiver_id.data,
        utcnow(),
        status_label=visit_status_label,
        reason_label=unassigned_reason_label,
    )
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
    session, form = db.session(), ConfirmForm()
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
    session, form = db.session(), ConfirmForm()
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
        headers={"Referrer-Policy": "no-referrer"},  # no-store: careapp.web
    )
