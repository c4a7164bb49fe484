"""Policy versions (administrators): list them; create a new one from the version in force."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from careapp import db
from careapp.blueprints.policy.forms import build_policy_form
from careapp.core.clock import city_today, utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role
from careapp.services import policy
from careapp.web.access import current_actor, role_required
from careapp.web.presenters import version_views

bp = Blueprint("policy", __name__)


@bp.route("/policy", methods=["GET"])
@role_required(Role.ADMIN)
def policy_list() -> ResponseReturnValue:
    versions = policy.list_policy_versions(db.session(), current_actor())
    return render_template(
        "policy/policy_list.html", versions=version_views(versions, city_today(utcnow()))
    )


@bp.route("/policy/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def policy_new() -> ResponseReturnValue:
    session, actor, now = db.session(), current_actor(), utcnow()
    form = build_policy_form(policy.policy_base(session, actor, now), city_today(now))
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            version = policy.create_policy_version(session, actor, form.to_draft(), now)
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            flash(
                _("Policy version “%(name)s” is stored.", name=version.name),
                "success",
            )
            return redirect(url_for("policy.policy_list"))
    return render_template("policy/policy_new.html", form=form), status
