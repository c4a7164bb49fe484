"""Claim flags: administrators review them (clear or uphold); a provider's manager reads the
flags on their own company's visits."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.claims.forms import FlagFilterForm, ReviewForm
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.claims import ClaimFlagStatus
from careapp.models.users import Role
from careapp.services.claims import (
    FlagFilter,
    ReviewDecision,
    flag_filter_providers,
    get_claim_flag,
    list_claim_flags,
    review_claim_flag,
)
from careapp.web import labels
from careapp.web.access import current_actor, role_required
from careapp.web.wording import explain

bp = Blueprint("claims", __name__)

PAGE_SIZE = 50


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "explain": explain,
        "kind_labels": labels.CLAIM_FLAG_KIND_LABELS,
        "status_labels": labels.CLAIM_FLAG_STATUS_LABELS,
        "status_badges": labels.CLAIM_FLAG_STATUS_BADGES,
        "status_meanings": labels.CLAIM_FLAG_STATUS_MEANINGS,
    }


@bp.route("/claims", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def flag_list() -> ResponseReturnValue:
    session, actor = db.session(), current_actor()
    form = FlagFilterForm(formdata=request.args)
    form.set_providers(flag_filter_providers(session, actor))
    valid = form.validate()
    filters = form.to_filter() if valid else FlagFilter()
    page = list_claim_flags(
        session, actor, filters, offset=(form.offset.data or 0) if valid else 0, limit=PAGE_SIZE
    )
    args = {k: v for k, v in request.args.items() if k != "offset" and v}
    return render_template(
        "claims/flag_list.html", page=page, form=form, args=args, is_admin=actor.is_role(Role.ADMIN)
    ), (200 if valid else 400)


@bp.route("/claims/<int:flag_id>", methods=["GET"])
@role_required(Role.ADMIN, Role.PROVIDER_MANAGER)
def flag_detail(flag_id: int) -> ResponseReturnValue:
    detail = get_claim_flag(db.session(), current_actor(), flag_id)
    return render_template("claims/flag_detail.html", detail=detail, form=ReviewForm())


@bp.route("/claims/<int:flag_id>/review", methods=["POST"])
@role_required(Role.ADMIN)
def flag_review(flag_id: int) -> ResponseReturnValue:
    session, actor, form = db.session(), current_actor(), ReviewForm()
    status = 400
    if form.validate_on_submit():
        try:
            flag = review_claim_flag(
                session, actor, flag_id, ReviewDecision(form.decision.data), form.note.data,
                utcnow(),
            )  # fmt: skip
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_review_message(flag.status), "success")
            return redirect(url_for("claims.flag_detail", flag_id=flag_id))
    detail = get_claim_flag(session, actor, flag_id)
    return render_template("claims/flag_detail.html", detail=detail, form=form), status


def _review_message(status: ClaimFlagStatus) -> str:
    if status is ClaimFlagStatus.CLEARED:
        return _("The flag was cleared: the visit can be paid.")
    return _("The flag was upheld: the visit will not be paid.")
