"""The family's one-time rating link (public, no login) and phone-survey entry by staff."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.ratings.forms import PhoneRatingForm, RatingForm
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError, ConflictError, InvalidInputError
from careapp.models.users import Role
from careapp.services.ratings import (
    get_visit_rating,
    rating_visit_for_token,
    record_phone_rating,
    submit_rating,
)
from careapp.web.access import current_actor, role_required
from scheduling.ratings import caregiver_first_name

bp = Blueprint("ratings", __name__)


@bp.after_request
def _private(response: Response) -> Response:
    """Rating pages carry a secret in their URL: never index them, never send it on as a Referer
    (careapp.web makes every such response no-store)."""
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/rate/<token>", methods=["GET", "POST"])
def rate_visit(token: str) -> ResponseReturnValue:
    session, now = db.session(), utcnow()
    try:
        visit = rating_visit_for_token(session, token, now)
    except CareappError as error:
        return _unavailable(error)
    form = RatingForm()
    if form.validate_on_submit():
        try:
            submit_rating(session, token, form.stars.data or 0, form.comment.data, now)
        except InvalidInputError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        except CareappError as error:
            session.rollback()
            return _unavailable(error)
        else:
            session.commit()
            return render_template("ratings/rating_thanks.html")
    else:
        status = 400 if form.errors else 200
    caregiver = caregiver_first_name(visit.caregiver.name) if visit.caregiver else None
    return render_template(
        "ratings/rate_visit.html", form=form, visit=visit, caregiver_name=caregiver
    ), status


@bp.route("/visits/<int:visit_id>/phone-rating", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def phone_rating(visit_id: int) -> ResponseReturnValue:
    session, form = db.session(), PhoneRatingForm()
    if form.validate_on_submit():
        try:
            record_phone_rating(
                session, current_actor(), visit_id, form.stars.data or 0, form.comment.data,
                utcnow(),
            )  # fmt: skip
        except (InvalidInputError, ConflictError) as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(_("Phone-survey rating recorded."), "success")
            return redirect(url_for("ratings.phone_rating", visit_id=visit_id))
    else:
        status = 400 if form.errors else 200
    visit, rating = get_visit_rating(session, current_actor(), visit_id)
    return render_template(
        "ratings/phone_rating.html", form=form, visit=visit, rating=rating
    ), status


def _unavailable(error: CareappError) -> ResponseReturnValue:
    db.session().rollback()
    return render_template(
        "ratings/rating_unavailable.html", message=error.message, code=error.status_code
    ), error.status_code
