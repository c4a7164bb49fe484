"""Logging in and out."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from careapp import db
from careapp.blueprints.auth.forms import LoginForm
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.users import User
from careapp.services.auth import authenticate
from careapp.services.sessions import end_sessions
from careapp.web.access import current_actor
from careapp.web.sessions import end_session, start_pending_login, start_session

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        session = db.session()
        try:
            user = authenticate(
                session,
                form.username.data or "",
                form.password.data or "",
                address=request.remote_addr or "unknown",
                now=utcnow(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window=dt.timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]),
            )
        except CareappError as error:
            session.commit()  # the failed attempt counts towards throttling
            form.show_error(error)
            return render_template("auth/login.html", form=form), error.status_code
        session.commit()
        next_url = _safe_next(request.args.get("next"))
        if user.requires_two_factor:  # not logged in yet: the second factor comes first
            start_pending_login(user, utcnow(), next_url)
            step = "auth.two_factor" if user.has_two_factor else "auth.two_factor_enrol"
            return redirect(url_for(step))
        start_session(user, utcnow())
        return redirect(next_url)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Log out here and end every other session of the user (a copied cookie included)."""
    if current_user.is_authenticated:
        user: User = current_user._get_current_object()
        session = db.session()
        end_sessions(session, current_actor(), user, now=utcnow())
        session.commit()
    end_session()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("main.index")


# The second factor's pages (they register on `bp`).
from careapp.blueprints.auth import two_factor as _two_factor  # noqa: E402, F401
