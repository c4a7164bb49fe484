"""Providers' quality: the administrators' list and provider pages (evaluations, status history,
alerts, complaints, lifting a suspension), the manager's own quality page, and the city's
satisfaction report (page and CSV)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from careapp import db
from careapp.blueprints.providers.forms import (
    ComplaintForm,
    LiftSuspensionForm,
    ResolveComplaintForm,
)
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError, InvalidInputError, NotFoundError
from careapp.models.quality import ComplaintStatus
from careapp.models.users import Role
from careapp.reports.spreadsheet import excel_csv
from careapp.services import complaints, providers
from careapp.services.ratings import SatisfactionReport, satisfaction_report
from careapp.web import labels, wording
from careapp.web.access import current_actor, role_required
from careapp.web.presenters import parse_month
from scheduling.months import previous_month
from scheduling.ratings import percent_text

bp = Blueprint("providers", __name__)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "status_label": labels.provider_status_label,
        "kind_label": labels.provider_kind_label,
        "problem_label": labels.quality_problem_label,
        "alert_kind_label": labels.alert_kind_label,
        "share_text": wording.share_text,
        "share_percent": wording.share_percent,
        "threshold_lines": wording.threshold_lines,
        "percent_text": percent_text,
    }


@bp.route("/providers", methods=["GET"])
@role_required(Role.ADMIN)
def provider_list() -> ResponseReturnValue:
    rows = providers.list_providers(db.session(), current_actor())
    return render_template("providers/provider_list.html", rows=rows)


@bp.route("/providers/<int:provider_id>", methods=["GET"])
@role_required(Role.ADMIN)
def provider_detail(provider_id: int) -> ResponseReturnValue:
    return _quality_page(provider_id, lift_form=LiftSuspensionForm())


@bp.route("/my-provider/quality", methods=["GET"])
@role_required(Role.PROVIDER_MANAGER)
def my_quality() -> ResponseReturnValue:
    if current_user.provider_id is None:
        raise NotFoundError(_("Provider not found."))
    return _quality_page(current_user.provider_id)


@bp.route("/providers/<int:provider_id>/lift-suspension", methods=["POST"])
@role_required(Role.ADMIN)
def lift_suspension(provider_id: int) -> ResponseReturnValue:
    session, form = db.session(), LiftSuspensionForm()
    if form.validate_on_submit():
        try:
            providers.lift_suspension(
                session, current_actor(), provider_id, form.reason.data or "", utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return _quality_page(provider_id, lift_form=form, status=error.status_code)
        session.commit()
        flash(_("The suspension is lifted; the provider is active again."), "success")
        return redirect(url_for("providers.provider_detail", provider_id=provider_id))
    return _quality_page(provider_id, lift_form=form, status=400)


@bp.route("/providers/<int:provider_id>/complaints/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def complaint_new(provider_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    page = providers.provider_quality(session, actor, provider_id, months=0)
    form = ComplaintForm()
    if request.method == "GET":
        form.received_on.data = city_today(utcnow())
    status = 200
    if form.validate_on_submit():
        try:
            complaints.record_complaint(session, actor, form.to_input(provider_id), utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The complaint is recorded."), "success")
            return redirect(url_for("providers.provider_detail", provider_id=provider_id))
    elif form.is_submitted():
        status = 400
    return render_template(
        "providers/complaint_new.html", form=form, provider=page.provider
    ), status


@bp.route("/complaints/<int:complaint_id>/resolve", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def complaint_resolve(complaint_id: int) -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    form = ResolveComplaintForm()
    status = 200
    if form.validate_on_submit():
        try:
            complaint = complaints.resolve_complaint(
                session, actor, complaint_id, ComplaintStatus(form.outcome.data),
                form.note.data or "", utcnow(),
            )  # fmt: skip
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("The complaint is resolved."), "success")
            return redirect(url_for("providers.provider_detail", provider_id=complaint.provider_id))
    elif form.is_submitted():
        status = 400
    complaint = complaints.get_complaint(session, actor, complaint_id)
    return render_template(
        "providers/complaint_resolve.html", form=form, complaint=complaint
    ), status


@bp.route("/quality/satisfaction", methods=["GET"])
@role_required(Role.ADMIN)
def satisfaction_page() -> ResponseReturnValue:
    first, last, error = _report_range()
    report = None
    if error is None:
        try:
            report = satisfaction_report(db.session(), current_actor(), first, last)
        except InvalidInputError as problem:
            error = problem.message
    return render_template(
        "providers/satisfaction_report.html",
        report=report,
        error=error,
        first=f"{first:%Y-%m}",
        last=f"{last:%Y-%m}",
    ), (200 if error is None else 400)


@bp.route("/quality/satisfaction.csv", methods=["GET"])
@role_required(Role.ADMIN)
def satisfaction_csv() -> ResponseReturnValue:
    first, last, error = _report_range()
    if error is not None:
        raise InvalidInputError(error, field="from")
    report = satisfaction_report(db.session(), current_actor(), first, last)
    body = excel_csv(*_csv_rows(report))
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="satisfaction-{first:%Y-%m}-{last:%Y-%m}.csv"'
            )
        },
    )


def _quality_page(
    provider_id: int, lift_form: LiftSuspensionForm | None = None, status: int = 200
) -> ResponseReturnValue:
    page = providers.provider_quality(db.session(), current_actor(), provider_id)
    return render_template(
        "providers/provider_quality.html", page=page, lift_form=lift_form
    ), status


def _report_range() -> tuple[dt.date, dt.date, str | None]:
    """The months asked for (?from=YYYY-MM&to=YYYY-MM), by default the last six months."""
    today = city_today(utcnow())
    last_default = previous_month(today)
    first_default = last_default
    for _step in range(5):
        first_default = previous_month(first_default)
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    try:
        first = parse_month(raw_from.strip(), today) if raw_from else first_default
        last = parse_month(raw_to.strip(), today) if raw_to else last_default
    except InvalidInputError:
        return first_default, last_default, _("Give months as YYYY-MM, e.g. 2026-10.")
    return first, last, None


def _csv_rows(report: SatisfactionReport) -> tuple[list[str], list[list[str | int | None]]]:
    table = report.table
    header = [_("Provider")]
    for month in table.months:
        header += [f"{month:%Y-%m} " + _("rated"), f"{month:%Y-%m} " + _("satisfied"),
                   f"{month:%Y-%m} %"]  # fmt: skip
    header += [_("Total rated"), _("Total satisfied"), _("Total %")]

    def cells(tallies: list[Any]) -> list[str | int | None]:
        out: list[str | int | None] = []
        for tally in tallies:
            out += [tally.rated, tally.satisfied, percent_text(tally.share)]
        return out

    rows: list[list[str | int | None]] = []
    for provider in table.providers:
        tallies = [table.cell(provider, m) for m in table.months]
        rows.append(
            [report.provider_names.get(provider, str(provider)),
             *cells([*tallies, table.provider_total(provider)])]
        )  # fmt: skip
    city = [table.city(m) for m in table.months]
    rows.append([_("City total"), *cells([*city, table.city_total])])
    return header, rows
