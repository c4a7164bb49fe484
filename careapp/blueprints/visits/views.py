"""The caregiver's day on a phone: today's visits, check-in, check-out and the visit receipt."""

from __future__ import annotations

import datetime as dt
from itertools import chain
from typing import Any

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
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from careapp import db
from careapp.blueprints.visits.forms import CheckInForm, CheckOutForm, VisitFilterForm
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models.users import Role
from careapp.models.visit import Visit
from careapp.services.claims import check_in_distance_m, claim_audit_settings, short_visit
from careapp.services.i18n import localized
from careapp.services.rosters import (
    caregiver_route_map,
    create_calendar_feed,
    has_calendar_feed,
    own_caregiver_id,
    revoke_calendar_feed,
)
from careapp.services.visit_search import VisitFilter, search_visits, visit_filter_providers
from careapp.services.visits import (
    caregiver_day,
    caregiver_upcoming_days,
    check_in,
    check_out,
    get_visit_for_caregiver,
    service_items_by_code,
)
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm
from careapp.web.labels import VISIT_STATUS_BADGES, check_in_flag_label
from careapp.web.qr import qr_svg
from scheduling.visits import VisitStatus

bp = Blueprint("visits", __name__)

# The plain rating token lives only in the caregiver's signed session cookie, to show the
# receipt again after the redirect; the database keeps its hash.
RECEIPT_KEY = "visit_receipt"
# Likewise the plain token of the caregiver's calendar link, shown once after it is created.
CALENDAR_LINK_KEY = "my_calendar_link"


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"status_badges": VISIT_STATUS_BADGES}


@bp.route("/my-day", methods=["GET"])
@role_required(Role.CAREGIVER)
def my_day() -> ResponseReturnValue:
    session = db.session()
    day = city_today(utcnow())
    visits = caregiver_day(session, current_actor(), day)
    upcoming = caregiver_upcoming_days(
        session, current_actor(), day, current_app.config["DISPATCH_HORIZON_DAYS"]
    )
    every_visit = chain(visits, *(coming.visits for coming in upcoming))
    names = _item_names(session, chain.from_iterable(v.service_item_codes for v in every_visit))
    actor = current_actor()
    token = cookie_session.pop(CALENDAR_LINK_KEY, None)
    return render_template(
        "visits/visit_day.html",
        day=day,
        visits=visits,
        upcoming=upcoming,
        item_names=names,
        travel_minutes=sum(v.travel_minutes or 0 for v in visits),
        has_calendar_feed=has_calendar_feed(session, actor, own_caregiver_id(session, actor)),
        calendar_link=url_for("rosters.calendar_feed_ics", token=token, _external=True)
        if token
        else None,
        feed_form=ConfirmForm(),
    )


@bp.route("/my-day/map.svg", methods=["GET"])
@role_required(Role.CAREGIVER)
def my_day_map() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    day = city_today(utcnow())
    svg = caregiver_route_map(session, actor, own_caregiver_id(session, actor), day)
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/my-day/calendar", methods=["POST"])
@role_required(Role.CAREGIVER)
def my_calendar_create() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    if not ConfirmForm().validate_on_submit():
        raise InvalidInputError(_("The form expired. Please go back and try again."))
    token = create_calendar_feed(session, actor, own_caregiver_id(session, actor), utcnow())
    session.commit()
    cookie_session[CALENDAR_LINK_KEY] = token
    flash(_("A new calendar link was created; the previous one no longer works."), "success")
    return redirect(url_for("visits.my_day"))


@bp.route("/my-day/calendar/revoke", methods=["POST"])
@role_required(Role.CAREGIVER)
def my_calendar_revoke() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    if not ConfirmForm().validate_on_submit():
        raise InvalidInputError(_("The form expired. Please go back and try again."))
    revoke_calendar_feed(session, actor, own_caregiver_id(session, actor), utcnow())
    session.commit()
    flash(_("The calendar link was revoked."), "success")
    return redirect(url_for("visits.my_day"))


@bp.route("/visits/<int:visit_id>", methods=["GET"])
@role_required(Role.CAREGIVER)
def visit_detail(visit_id: int) -> ResponseReturnValue:
    session = db.session()
    visit = get_visit_for_caregiver(session, current_actor(), visit_id)
    return _render_detail(session, visit, CheckInForm(), CheckOutForm())


@bp.route("/visits/<int:visit_id>/check-in", methods=["POST"])
@role_required(Role.CAREGIVER)
def visit_check_in(visit_id: int) -> ResponseReturnValue:
    session, form, status = db.session(), CheckInForm(), 400
    if form.validate_on_submit():
        try:
            visit = check_in(
                session, current_actor(), visit_id, form.lat.data, form.lon.data,
                form.location_note.data, utcnow(),
                max_distance_m=current_app.config["CHECK_IN_MAX_DISTANCE_M"],
                max_outside_minutes=current_app.config["CHECK_IN_MAX_OUTSIDE_MINUTES"],
            )  # fmt: skip
        except (InvalidInputError, ConflictError) as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            _flash_check_in(visit)
            return redirect(url_for("visits.visit_detail", visit_id=visit_id))
    visit = get_visit_for_caregiver(session, current_actor(), visit_id)
    return _render_detail(session, visit, form, CheckOutForm(), status)


@bp.route("/visits/<int:visit_id>/check-out", methods=["POST"])
@role_required(Role.CAREGIVER)
def visit_check_out(visit_id: int) -> ResponseReturnValue:
    session, form, status = db.session(), CheckOutForm(), 400
    visit = get_visit_for_caregiver(session, current_actor(), visit_id)
    form.done_item_codes.choices = _item_choices(session, visit)
    if form.validate_on_submit():
        valid_for = dt.timedelta(days=current_app.config["RATING_LINK_VALID_DAYS"])
        settings = claim_audit_settings(current_app.config)
        try:
            token = check_out(
                session, current_actor(), visit_id, form.done_item_codes.data or [],
                form.note.data, form.lat.data, form.lon.data, utcnow(), valid_for=valid_for,
                claim_settings=settings,
            )  # fmt: skip
        except (InvalidInputError, ConflictError) as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            _flash_short_visit(short_visit(visit, settings))
            cookie_session[RECEIPT_KEY] = {"visit_id": visit_id, "token": token}
            return redirect(url_for("visits.visit_receipt", visit_id=visit_id))
    return _render_detail(session, visit, CheckInForm(), form, status)


@bp.route("/visits/<int:visit_id>/receipt", methods=["GET"])
@role_required(Role.CAREGIVER)
def visit_receipt(visit_id: int) -> ResponseReturnValue:
    session = db.session()
    visit = get_visit_for_caregiver(session, current_actor(), visit_id)
    if visit.status is not VisitStatus.COMPLETED:
        return redirect(url_for("visits.visit_detail", visit_id=visit_id))
    saved = cookie_session.get(RECEIPT_KEY) or {}
    token = saved.get("token") if saved.get("visit_id") == visit_id else None
    rating_url = url_for("ratings.rate_visit", token=token, _external=True) if token else None
    qr = qr_svg(rating_url, _("QR code of the rating link")) if rating_url else None
    names = _item_names(session, visit.service_item_codes)
    return render_template(
        "visits/visit_receipt.html", visit=visit, item_names=names, rating_url=rating_url, qr=qr
    )


def _render_detail(
    session: Session,
    visit: Visit,
    check_in_form: CheckInForm,
    check_out_form: CheckOutForm,
    status: int = 200,
) -> ResponseReturnValue:
    check_out_form.done_item_codes.choices = _item_choices(session, visit)
    return render_template(
        "visits/visit_detail.html",
        visit=visit,
        check_in_distance_m=check_in_distance_m(visit),
        item_names=_item_names(session, visit.service_item_codes),
        check_in_form=check_in_form,
        check_out_form=check_out_form,
        can_check_in=visit.status in (VisitStatus.ASSIGNED, VisitStatus.CONFIRMED),
        can_check_out=visit.status is VisitStatus.CHECKED_IN,
    ), status


def _item_names(session: Session, codes: Any) -> dict[str, str]:
    """Service item names in the user's language, by code."""
    items = service_items_by_code(session, codes)
    return {code: localized(item) for code, item in items.items()}


def _item_choices(session: Session, visit: Visit) -> list[SelectChoice]:
    names = _item_names(session, visit.service_item_codes)
    return [SelectChoice(code, names.get(code, code)) for code in visit.service_item_codes]


def _flash_short_visit(short: dict[str, Any] | None) -> None:
    """Warn the caregiver at once that a visit checked out too soon is held for review."""
    if short is None:
        return
    flash(
        _(
            "Checked out after %(actual)s minutes, far less than the %(planned)s minutes of "
            "service items planned: this visit will be reviewed before it is paid.",
            actual=f"{short['actual_minutes']:g}",
            planned=short["planned_minutes"],
        ),
        "warning",
    )


def _flash_check_in(visit: Visit) -> None:
    flags = visit.check_in_flags or []
    if flags:
        reasons = ", ".join(check_in_flag_label(flag) for flag in flags)
        flash(
            _("Checked in. This check-in will be reviewed: %(reasons)s.", reasons=reasons),
            "warning",
        )
    else:
        flash(_("Checked in."), "success")


# --- administrators: every visit, with the phone-survey action --------------------------------

LIST_PAGE_SIZE = 50


@bp.route("/visits", methods=["GET"])
@role_required(Role.ADMIN)
def visit_list() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    form = VisitFilterForm(formdata=request.args)
    form.set_providers(visit_filter_providers(session, actor))
    valid = form.validate()
    page = search_visits(
        session,
        actor,
        form.to_filter() if valid else VisitFilter(),
        offset=(form.offset.data or 0) if valid else 0,
        limit=LIST_PAGE_SIZE,
    )
    args = {k: v for k, v in request.args.items() if k != "offset" and v}
    return render_template("visits/visit_list.html", page=page, form=form, args=args), (
        200 if valid else 400
    )
