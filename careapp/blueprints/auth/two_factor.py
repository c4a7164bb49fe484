"""The second factor's pages: the second step of a login, the administrators' mandatory set-up
before their first session, and each user's own two-factor page (set up, new recovery codes,
turn off)."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from careapp import db
from careapp.blueprints.auth.forms import CodeForm
from careapp.blueprints.auth.views import bp
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.models.users import Role, User
from careapp.security import protector
from careapp.services.actor import Actor
from careapp.services.two_factor import (
    Attempt,
    confirm_enrolment,
    disable_two_factor,
    pending_secret,
    provisioning_uri,
    regenerate_recovery_codes,
    unused_recovery_codes,
    verify_login,
)
from careapp.web.access import current_actor
from careapp.web.qr import qr_svg
from careapp.web.sessions import (
    PENDING_USER,
    pending_login_next,
    pending_login_user,
    start_session,
)


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor() -> ResponseReturnValue:
    """The second step of a login: the code from the app, or a recovery code."""
    user = _pending_user()
    if user is None:
        return _not_pending()
    if not user.has_two_factor:
        return redirect(url_for("auth.two_factor_enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        session = db.session()
        try:
            verify_login(session, user, form.code.data or "", protector(), _attempt())
        except CareappError as error:
            session.commit()  # the wrong code counts towards throttling
            form.show_error(error)
            return render_template("auth/two_factor.html", form=form), error.status_code
        session.commit()
        next_url = pending_login_next() or url_for("main.index")
        start_session(user, utcnow())
        return redirect(next_url)
    return render_template("auth/two_factor.html", form=form)


@bp.route("/login/two-factor/enrol", methods=["GET", "POST"])
def two_factor_enrol() -> ResponseReturnValue:
    """An administrator without a second factor sets one up before their first session."""
    user = _pending_user()
    if user is None:
        return _not_pending()
    if user.has_two_factor:
        return redirect(url_for("auth.two_factor"))
    actor = Actor(
        user_id=user.id, role=user.role, provider_id=user.provider_id, address=request.remote_addr
    )
    return _enrol(user, actor, pending_login_next() or url_for("main.index"))


@bp.route("/account/two-factor")
@login_required
def account_two_factor() -> ResponseReturnValue:
    """The user's own second factor: whether it is on, and what they can do with it."""
    return _account_page(CodeForm(prefix="renew"), CodeForm(prefix="off"))


@bp.route("/account/two-factor/enrol", methods=["GET", "POST"])
@login_required
def account_two_factor_enrol() -> ResponseReturnValue:
    user = _current_user()
    if user.has_two_factor:
        return redirect(url_for("auth.account_two_factor"))
    return _enrol(user, current_actor(), url_for("auth.account_two_factor"))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@login_required
def account_recovery_codes() -> ResponseReturnValue:
    """New recovery codes (the old ones stop working), against a current code."""
    user = _current_user()
    form = CodeForm(prefix="renew")
    if not form.validate_on_submit():
        return _account_page(form, CodeForm(prefix="off"), status=400)
    session = db.session()
    try:
        codes = regenerate_recovery_codes(
            session, current_actor(), user, form.code.data or "", protector(), _attempt()
        )
    except CareappError as error:
        session.commit()  # the wrong code counts towards throttling
        form.show_error(error)
        return _account_page(form, CodeForm(prefix="off"), status=error.status_code)
    session.commit()
    return render_template(
        "auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account_two_factor")
    )


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
def account_two_factor_disable() -> ResponseReturnValue:
    """Turn the second factor off (not for administrators), against a current code."""
    user = _current_user()
    form = CodeForm(prefix="off")
    if not form.validate_on_submit():
        return _account_page(CodeForm(prefix="renew"), form, status=400)
    session = db.session()
    try:
        disable_two_factor(
            session, current_actor(), user, form.code.data or "", protector(), _attempt()
        )
    except CareappError as error:
        session.commit()  # the wrong code counts towards throttling
        form.show_error(error)
        return _account_page(CodeForm(prefix="renew"), form, status=error.status_code)
    session.commit()
    flash(_("Two-factor authentication is turned off."), "success")
    return redirect(url_for("auth.account_two_factor"))


def _enrol(user: User, actor: Actor, next_url: str) -> ResponseReturnValue:
    """Show the secret (QR code and text) and confirm it with a first code; then start a new
    session and show the recovery codes, once."""
    session = db.session()
    secret = pending_secret(session, user, protector())
    session.commit()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = confirm_enrolment(
                session, actor, user, form.code.data or "", protector(), _attempt()
            )
        except CareappError as error:
            session.commit()  # the wrong code counts towards throttling
            form.show_error(error)
            status = error.status_code
        else:
            session.commit()
            start_session(user, utcnow())  # enrolment ended every session, this one too
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
    uri = provisioning_uri(secret, user.username)
    page = render_template(
        "auth/two_factor_enrol.html",
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr=qr_svg(uri, _("QR code for the authenticator app")),
        required=user.role is Role.ADMIN,
    )
    return page, status


def _account_page(renew: CodeForm, off: CodeForm, status: int = 200) -> ResponseReturnValue:
    user = _current_user()
    left = unused_recovery_codes(db.session(), user) if user.has_two_factor else 0
    page = render_template(
        "auth/account_two_factor.html",
        user=user,
        codes_left=left,
        renew=renew,
        off=off,
        may_disable=user.role is not Role.ADMIN,
    )
    return page, status


def _pending_user() -> User | None:
    waited = PENDING_USER in flask_session
    user = pending_login_user(utcnow())
    if user is None and waited:
        flash(_("Your login has expired. Please log in again."), "error")
    return user


def _not_pending() -> ResponseReturnValue:
    """No password was just accepted in this browser: home if logged in, else the login page."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return redirect(url_for("auth.login"))


def _current_user() -> User:
    found: User = current_user._get_current_object()
    return found


def _attempt() -> Attempt:
    return Attempt(
        address=request.remote_addr or "unknown",
        now=utcnow(),
        max_failures=current_app.config["LOGIN_MAX_FAILURES"],
        window=dt.timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]),
    )
