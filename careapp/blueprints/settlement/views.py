"""Monthly settlement per provider: the month's reconciliation with the ledger (administrators),
issuing statements, and the statements with their sealed PDF and CSV (administrators, and a
provider's manager for their own provider)."""

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
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.reports.seal import seal_pdf
from careapp.reports.statement import render_statement, statement_csv
from careapp.services import settlement
from careapp.services.certificates import certificate_signer, public_base_url
from careapp.web.access import current_actor, role_required
from careapp.web.labels import SETTLEMENT_OUTCOME_LABELS
from careapp.web.presenters import parse_month
from scheduling.months import previous_month

bp = Blueprint("settlement", __name__)


def _previous_month() -> dt.date:
    return previous_month(city_today(utcnow()))


def _month_or_default(value: str | None) -> dt.date:
    return parse_month(value, city_today(utcnow())) if value else _previous_month()


def _base_url() -> str:
    """Where printed QR codes point: PUBLIC_BASE_URL, never this request's Host header."""
    return public_base_url(current_app.config)


@bp.route("/settlement", methods=["GET"])
@role_required(Role.ADMIN)
def month_reconciliation() -> ResponseReturnValue:
    """The month's providers: ledger, statements, difference and held visits; a bad month shows
    last month with the message (400)."""
    error = None
    try:
        month = _month_or_default(request.args.get("month"))
    except CareappError as refused:
        error, month = refused.message, _previous_month()
    found = settlement.reconcile_month(db.session(), current_actor(), month, utcnow())
    page = render_template(
        "settlement/month.html",
        found=found,
        error=error,
        outcomes=SETTLEMENT_OUTCOME_LABELS,
    )
    return page, (400 if error else 200)


@bp.route("/settlement/<string:month>/issue", methods=["POST"])
@role_required(Role.ADMIN)
def issue_month(month: str) -> ResponseReturnValue:
    """Issue the month's statements (main or supplementary) for every provider that has any."""
    session = db.session()
    try:
        first = parse_month(month, city_today(utcnow()))
        issued = settlement.issue_month_statements(session, current_actor(), first, utcnow())
    except CareappError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("settlement.month_reconciliation", month=month)), 303
    session.commit()
    if issued:
        flash(_("%(count)d statements issued.", count=len(issued)), "success")
    else:
        flash(_("There is nothing new to settle for this month."), "info")
    return redirect(url_for("settlement.month_reconciliation", month=month)), 303


@bp.route("/settlement/<string:month>/providers/<int:provider_id>/issue", methods=["POST"])
@role_required(Role.ADMIN)
def issue_provider(month: str, provider_id: int) -> ResponseReturnValue:
    """Issue one provider's statement for the month."""
    session = db.session()
    try:
        first = parse_month(month, city_today(utcnow()))
        statement = settlement.issue_statement(
            session, current_actor(), provider_id, first, utcnow()
        )
    except CareappError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("settlement.month_reconciliation", month=month)), 303
    session.commit()
    flash(_("Statement %(number)s issued.", number=statement.number), "success")
    return redirect(url_for("settlement.statement_detail", statement_id=statement.id)), 303


@bp.route("/settlement/statements", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def statement_list() -> ResponseReturnValue:
    statements = settlement.list_statements(db.session(), current_actor())
    return render_template("settlement/statement_list.html", statements=statements)


@bp.route("/settlement/statements/<int:statement_id>", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def statement_detail(statement_id: int) -> ResponseReturnValue:
    session = db.session()
    statement = settlement.get_statement(session, current_actor(), statement_id, utcnow())
    session.commit()
    return render_template(
        "settlement/statement_detail.html",
        statement=statement,
        outcomes=SETTLEMENT_OUTCOME_LABELS,
    )


@bp.route("/settlement/statements/<int:statement_id>/statement.pdf", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def statement_pdf(statement_id: int) -> ResponseReturnValue:
    """The statement as a sealed PDF (rebuilt from its stored lines: it never changes)."""
    session = db.session()
    signer = certificate_signer(current_app.config)
    statement = settlement.get_statement(
        session, current_actor(), statement_id, utcnow(), purpose="pdf"
    )
    body = seal_pdf(
        render_statement(settlement.statement_data(statement, _base_url())),
        signer,
        office_name=str(current_app.config["SEAL_OFFICE_NAME"]),
    )
    session.commit()
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{statement.number}.pdf"'
    return response


@bp.route("/settlement/statements/<int:statement_id>/statement.csv", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def statement_csv_download(statement_id: int) -> ResponseReturnValue:
    session = db.session()
    statement = settlement.get_statement(
        session, current_actor(), statement_id, utcnow(), purpose="csv"
    )
    body = statement_csv(settlement.statement_data(statement, _base_url()))
    session.commit()
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{statement.number}.csv"'
    return response
