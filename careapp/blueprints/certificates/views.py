"""Certificates printed by administrators, as PDFs."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask.typing import ResponseReturnValue

from careapp import db
from careapp.access import current_actor, role_required
from careapp.clock import utcnow
from careapp.models.users import Role
from careapp.reports.pdf import render_assessment_conclusion
from careapp.services.certificates import issue_assessment_conclusion

bp = Blueprint("certificates", __name__)


@bp.route("/assessments/<int:assessment_id>/conclusion.pdf", methods=["GET"])
@role_required(Role.ADMIN)
def assessment_conclusion_pdf(assessment_id: int) -> ResponseReturnValue:
    """Issue a numbered assessment conclusion (评估结论书) and show it inline."""
    session = db.session()
    certificate, data = issue_assessment_conclusion(
        session,
        current_actor(),
        assessment_id,
        utcnow(),
        appeal_days=current_app.config["ASSESSMENT_APPEAL_DAYS"],
    )
    body = render_assessment_conclusion(data)  # before the commit: no number without a PDF
    session.commit()
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{certificate.number}.pdf"'
    response.headers["Cache-Control"] = "no-store"  # personal data: never cached
    return response
