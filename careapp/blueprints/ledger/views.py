"""Entitlements (events and ledger by month), the month's ledger and the fund page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.ledger.forms import (
    DischargeForm,
    EndForm,
    EventForm,
    HospitalStayForm,
    MoveForm,
)
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services import fund, ledger
from careapp.services.applications import list_providers
from careapp.services.i18n import localized
from careapp.web import presenters
from careapp.web.access import current_actor, role_required
from careapp.web.labels import (
    CARE_SETTING_LABELS,
    END_REASON_LABELS,
    ENTITLEMENT_EVENT_KIND_LABELS,
    PAYEE_LABELS,
)

bp = Blueprint("ledger", __name__)

LABELS = {
    "care_setting": {setting.value: label for setting, label in CARE_SETTING_LABELS.items()},
    "payee": PAYEE_LABELS,
    "end_reason": END_REASON_LABELS,
    "event_kind": ENTITLEMENT_EVENT_KIND_LABELS,
}


@bp.route("/entitlements/<int:entitlement_id>", methods=["GET"])
@role_required(Role.ADMIN)
def entitlement_detail(entitlement_id: int) -> ResponseReturnValue:
    page = ledger.get_entitlement_page(
        db.session(), current_actor(), entitlement_id, city_today(utcnow())
    )
    return render_template("ledger/entitlement_detail.html", page=page, labels=LABELS)


def _record(form: EventForm, entitlement_id: int, title: str, action: Any) -> ResponseReturnValue:
    """Validate, call the service, commit once; a refusal is shown on the form (nothing kept)."""
    session = db.session()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            action(session)
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The change is recorded."), "success")
            return redirect(url_for("ledger.entitlement_detail", entitlement_id=entitlement_id))
    page = ledger.get_entitlement_page(
        session, current_actor(), entitlement_id, city_today(utcnow())
    )
    return render_template(
        "ledger/event_form.html", page=page, form=form, title=title, labels=LABELS
    ), status


@bp.route("/entitlements/<int:entitlement_id>/moves/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def entitlement_move(entitlement_id: int) -> ResponseReturnValue:
    form = MoveForm()
    form.set_providers(list_providers(db.session()))
    return _record(
        form,
        entitlement_id,
        _("Change of care setting"),
        lambda session: ledger.record_move(
            session,
            current_actor(),
            entitlement_id,
            ledger.MoveInput(
                form.moved_on.data, form.chosen_setting, form.chosen_provider, form.note.data or ""
            ),
            utcnow(),
        ),
    )


@bp.route("/entitlements/<int:entitlement_id>/hospital-stays/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def hospital_stay_new(entitlement_id: int) -> ResponseReturnValue:
    form = HospitalStayForm()
    return _record(
        form,
        entitlement_id,
        _("Acute hospital stay"),
        lambda session: ledger.record_hospital_stay(
            session,
            current_actor(),
            entitlement_id,
            ledger.AdmissionInput(
                form.admitted_on.data, form.discharged_on.data, form.note.data or ""
            ),
            utcnow(),
        ),
    )


@bp.route(
    "/entitlements/<int:entitlement_id>/hospital-stays/<int:event_id>/discharge",
    methods=["GET", "POST"],
)
@role_required(Role.ADMIN)
def hospital_discharge(entitlement_id: int, event_id: int) -> ResponseReturnValue:
    form = DischargeForm()
    return _record(
        form,
        entitlement_id,
        _("Discharge from hospital"),
        lambda session: ledger.record_discharge(
            session, current_actor(), entitlement_id, event_id, form.discharged_on.data, utcnow()
        ),
    )


@bp.route("/entitlements/<int:entitlement_id>/end", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def entitlement_end(entitlement_id: int) -> ResponseReturnValue:
    form = EndForm()
    return _record(
        form,
        entitlement_id,
        _("End of the entitlement"),
        lambda session: ledger.record_end(
            session,
            current_actor(),
            entitlement_id,
            ledger.EndInput(form.ends_on.data, form.reason.data or "", form.note.data or ""),
            utcnow(),
        ),
    )


def _month() -> tuple[dt.date, bool, str | None]:
    """The month asked for (this one if none or a bad one), whether it runs past today, and the
    error message of a bad one."""
    today = city_today(utcnow())
    try:
        month, error = presenters.parse_month(request.args.get("month"), today), None
    except CareappError as caught:
        month, error = today.replace(day=1), caught.message
    return month, presenters.is_projection(month, today), error


@bp.route("/fund", methods=["GET"])
@role_required(Role.ADMIN)
def fund_overview() -> ResponseReturnValue:
    month, projected, error = _month()
    overview = fund.fund_overview(db.session(), current_actor(), month)
    return render_template(
        "ledger/fund_overview.html",
        overview=overview,
        chart=presenters.fund_chart(overview),
        districts={
            code: localized(names) for code, names in overview.ledger.district_names().items()
        },
        error=error,
        projected=projected,
        labels=LABELS,
    ), (400 if error else 200)


@bp.route("/fund/ledger", methods=["GET"])
@role_required(Role.ADMIN)
def fund_ledger() -> ResponseReturnValue:
    month, projected, error = _month()
    found = ledger.month_ledger(db.session(), current_actor(), month)
    page = render_template(
        "ledger/fund_ledger.html",
        ledger=found,
        error=error,
        projected=projected,
        labels=LABELS,
    )
    return page, (400 if error else 200)
