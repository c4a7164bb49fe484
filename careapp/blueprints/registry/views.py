"""The registry of insured persons (administrators only)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.registry.forms import PersonForm, PersonSearchForm, RevealIdForm
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.core.identity import mask_id_number
from careapp.models.users import Role
from careapp.security import protector
from careapp.services.applications import list_applications
from careapp.services.reference import list_districts
from careapp.services.registry import (
    find_people,
    get_person,
    is_id_number_query,
    register_person,
    reveal_id_number,
)
from careapp.web.access import current_actor, role_required
from careapp.web.params import parse_offset

bp = Blueprint("registry", __name__)

PAGE_SIZE = 50


@bp.route("/people", methods=["GET"])
@role_required(Role.ADMIN)
def person_list() -> ResponseReturnValue:
    query = request.args.get("q", "", type=str)[:100]
    offset = parse_offset(request.args.get("offset"))
    page = find_people(db.session(), query, protector(), limit=PAGE_SIZE, offset=offset)
    return render_template(
        "registry/person_list.html", page=page, query=query, search_form=PersonSearchForm()
    )


@bp.route("/people/search", methods=["POST"])
@role_required(Role.ADMIN)
def person_search() -> ResponseReturnValue:
    """Search posted so that a full ID number never appears in a URL, a log or the history."""
    form = PersonSearchForm()
    query = (form.q.data or "").strip() if form.validate_on_submit() else ""
    if not is_id_number_query(query):
        return redirect(url_for("registry.person_list", q=query or None))
    page = find_people(db.session(), query, protector(), limit=PAGE_SIZE)
    return render_template(
        "registry/person_list.html",
        page=page,
        query="",
        searched_id=mask_id_number(query.upper()),
        search_form=PersonSearchForm(formdata=None),
    )


@bp.route("/people/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def person_new() -> ResponseReturnValue:
    session = db.session()
    form = PersonForm()
    form.set_districts(list_districts(session))
    if form.validate_on_submit():
        try:
            person = register_person(
                session, current_actor(), form.to_input(), protector(), utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return render_template("registry/person_new.html", form=form), error.status_code
        session.commit()
        flash(_("%(name)s is registered.", name=person.name), "success")
        return redirect(url_for("registry.person_detail", person_id=person.id))
    status = 400 if form.is_submitted() else 200
    return render_template("registry/person_new.html", form=form), status


@bp.route("/people/<int:person_id>", methods=["GET"])
@role_required(Role.ADMIN)
def person_detail(person_id: int) -> ResponseReturnValue:
    return _render_detail(person_id, RevealIdForm(formdata=None))


@bp.route("/people/<int:person_id>/reveal-id", methods=["POST"])
@role_required(Role.ADMIN)
def person_reveal_id(person_id: int) -> ResponseReturnValue:
    session = db.session()
    form = RevealIdForm()
    if not form.validate_on_submit():
        return _render_detail(person_id, form, status=400)
    try:
        full_id = reveal_id_number(
            session, current_actor(), person_id, form.reason.data or "", protector(), utcnow()
        )
    except CareappError as error:
        session.rollback()
        form.show_error(error)
        return _render_detail(person_id, form, status=error.status_code)
    session.commit()
    response = _render_detail(person_id, RevealIdForm(formdata=None), full_id=full_id)
    return response


def _render_detail(
    person_id: int, reveal_form: RevealIdForm, *, full_id: str | None = None, status: int = 200
) -> Response:
    session = db.session()
    person = get_person(session, current_actor(), person_id)
    applications = list_applications(session, person_id=person.id)
    page = render_template(
        "registry/person_detail.html",
        person=person,
        applications=applications,
        reveal_form=reveal_form,
        full_id=full_id,
    )
    return make_response(page, status)
