"""Assistive devices (administrators): the catalogue, a person's loans, loans by status, returns."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.devices.forms import (
    ActiveForm,
    DeviceFiguresForm,
    DeviceTypeForm,
    LoanForm,
    ReturnForm,
    yuan_text,
)
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services import devices
from careapp.services.devices import LoanFilter
from careapp.services.i18n import localized
from careapp.web.access import current_actor, role_required
from careapp.web.params import parse_offset

bp = Blueprint("devices", __name__)

PAGE_SIZE = 50


@bp.route("/devices", methods=["GET"])
@role_required(Role.ADMIN)
def catalogue_list() -> ResponseReturnValue:
    rows = devices.list_device_catalogue(db.session(), current_actor())
    return render_template("devices/catalogue_list.html", rows=rows, active_form=ActiveForm())


@bp.route("/devices/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def device_type_new() -> ResponseReturnValue:
    session = db.session()
    form = DeviceTypeForm()
    if form.validate_on_submit():
        try:
            device = devices.create_device_type(session, current_actor(), form.to_input(), utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return render_template("devices/device_type_form.html", form=form), error.status_code
        session.commit()
        flash(_("%(device)s is in the catalogue.", device=localized(device)), "success")
        return redirect(url_for("devices.catalogue_list"))
    status = 400 if form.is_submitted() else 200
    return render_template("devices/device_type_form.html", form=form), status


@bp.route("/devices/<int:device_type_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def device_type_edit(device_type_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    device = devices.get_device_type(session, actor, device_type_id)
    form = DeviceFiguresForm(
        data={
            "name_zh": device.name_zh,
            "name_en": device.name_en,
            "subsidy_yuan": yuan_text(device.subsidy_fen),
            "max_loan_days": device.max_loan_days,
            "stock": device.stock,
        }
    )
    page = {"form": form, "device": device}
    if form.validate_on_submit():
        figures = form.figures(device.code, device.provision)
        try:
            devices.update_device_type(session, actor, device_type_id, figures, utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return render_template("devices/device_type_form.html", **page), error.status_code
        session.commit()
        flash(_("The device type is saved."), "success")
        return redirect(url_for("devices.catalogue_list"))
    status = 400 if form.is_submitted() else 200
    return render_template("devices/device_type_form.html", **page), status


@bp.route("/devices/<int:device_type_id>/active", methods=["POST"])
@role_required(Role.ADMIN)
def device_type_active(device_type_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_("The request was incomplete; nothing was changed."), "error")
        return redirect(url_for("devices.catalogue_list"))
    is_active = form.is_active.data == "1"
    device = devices.set_device_type_active(
        session, current_actor(), device_type_id, is_active, utcnow()
    )
    session.commit()
    name = localized(device)
    if is_active:
        flash(_("%(device)s is offered again.", device=name), "success")
    else:
        flash(_("%(device)s is no longer offered for new loans.", device=name), "success")
    return redirect(url_for("devices.catalogue_list"))


@bp.route("/device-loans", methods=["GET"])
@role_required(Role.ADMIN)
def loan_list() -> ResponseReturnValue:
    try:
        status = LoanFilter(request.args.get("status", LoanFilter.OPEN.value))
    except ValueError:
        status = LoanFilter.OPEN
    offset = parse_offset(request.args.get("offset"))
    page = devices.list_device_loans(
        db.session(), current_actor(), status, utcnow(), limit=PAGE_SIZE, offset=offset
    )
    return render_template(
        "devices/loan_list.html", page=page, status=status, filters=list(LoanFilter)
    )


@bp.route("/people/<int:person_id>/devices", methods=["GET"])
@role_required(Role.ADMIN)
def person_devices(person_id: int) -> ResponseReturnValue:
    found = devices.person_devices(db.session(), current_actor(), person_id, utcnow())
    return render_template("devices/person_devices.html", found=found)


@bp.route("/people/<int:person_id>/devices/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def loan_new(person_id: int) -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    found = devices.person_devices(session, actor, person_id, now)
    form = LoanForm(data={"starts_on": city_today(now)})
    form.set_devices(devices.list_device_catalogue(session, actor, active_only=True))
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            devices.record_device_loan(session, actor, person_id, form.to_input(), now)
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The device is recorded."), "success")
            return redirect(url_for("devices.person_devices", person_id=person_id))
    return render_template("devices/loan_new.html", form=form, found=found), status


@bp.route("/device-loans/<int:loan_id>/return", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def loan_return(loan_id: int) -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    loan = devices.get_device_loan(session, actor, loan_id)
    form = ReturnForm(data={"returned_on": city_today(now)})
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            devices.record_device_return(session, actor, loan_id, form.to_input(), now)
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The return is recorded."), "success")
            return redirect(url_for("devices.person_devices", person_id=loan.person_id))
    return render_template("devices/loan_return.html", form=form, loan=loan), status
