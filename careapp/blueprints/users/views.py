"""Users: administrators manage accounts, provider managers their caregivers, and everyone
changes their own password. Until a user with a temporary password has chosen their own, every
page leads to the password page (`must_change_password_first`)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from careapp import db
from careapp.blueprints.users.forms import (
    CaregiverForm,
    PasswordChangeForm,
    ResetPasswordForm,
    UserEditForm,
    UserForm,
)
from careapp.core.clock import utcnow
from careapp.core.errors import CareappError
from careapp.core.passwords import PasswordPolicy
from careapp.models.users import Role, User
from careapp.security import protector
from careapp.services import users
from careapp.web import wants_json
from careapp.web.access import current_actor, role_required
from careapp.web.forms import ConfirmForm
from careapp.web.params import parse_offset
from careapp.web.sessions import start_session

bp = Blueprint("users", __name__)

PAGE_SIZE = 100
MANAGERS = (Role.ADMIN, Role.PROVIDER_MANAGER)
# What a user who must change their password may still open: that page, the pages of logging
# in and out (a second factor's included), the language switch, the static files, and the
# probes and metrics (`monitoring.*`: they never ask who is logged in).
OPEN_BEFORE_CHANGE = frozenset(
    {"users.password_change", "static", "set_language", "assessments.service_worker"}
)


@bp.before_app_request
def must_change_password_first() -> ResponseReturnValue | None:
    endpoint = request.endpoint or ""
    if endpoint in OPEN_BEFORE_CHANGE or endpoint.startswith(("auth.", "monitoring.")):
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if wants_json():
        message = _("Choose a new password first.")
        return jsonify(error=message, status=403), 403
    return redirect(url_for("users.password_change"))


def _policy() -> PasswordPolicy:
    return users.password_policy(current_app.config)


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])


@bp.route("/users", methods=["GET"])
@role_required(*MANAGERS)
def user_list() -> ResponseReturnValue:
    offset = parse_offset(request.args.get("offset"))
    rows = users.list_users(db.session(), current_actor(), limit=PAGE_SIZE + 1, offset=offset)
    return render_template(
        "users/user_list.html",
        rows=rows[:PAGE_SIZE],
        has_more=len(rows) > PAGE_SIZE,
        offset=offset,
        limit=PAGE_SIZE,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_new() -> ResponseReturnValue:
    session = db.session()
    form = UserForm()
    form.set_choices(users.provider_choices(session))
    if form.validate_on_submit():
        try:
            made = users.create_user(session, current_actor(), form.to_input(), _policy(), utcnow())
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return render_template("users/user_new.html", form=form), error.status_code
        session.commit()
        return _created(made)
    status = 400 if form.is_submitted() else 200
    return render_template("users/user_new.html", form=form), status


@bp.route("/users/caregivers/new", methods=["GET", "POST"])
@role_required(Role.PROVIDER_MANAGER)
def caregiver_new() -> ResponseReturnValue:
    session = db.session()
    form = CaregiverForm()
    form.set_choices()
    if form.validate_on_submit():
        try:
            made = users.create_caregiver(
                session, current_actor(), form.to_input(), _policy(), protector(), utcnow()
            )
        except CareappError as error:
            session.rollback()
            form.show_error(error)
            return render_template("users/caregiver_new.html", form=form), error.status_code
        session.commit()
        return _created(made)
    status = 400 if form.is_submitted() else 200
    return render_template("users/caregiver_new.html", form=form), status


def _created(made: users.Credentials) -> ResponseReturnValue:
    """The new account's page; a generated password is shown on it, this once, never put in
    the URL or the session cookie."""
    flash(_("The account %(username)s is created.", username=made.user.username), "success")
    if made.temporary_password is None:
        return redirect(url_for("users.user_detail", user_id=made.user.id))
    return _detail(made.user.id, temporary_password=made.temporary_password)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(*MANAGERS)
def user_detail(user_id: int) -> ResponseReturnValue:
    if request.method == "GET":
        return _detail(user_id)
    session = db.session()
    actor = current_actor()
    user = users.get_user(session, actor, user_id)
    form = _edit_form(user)
    if not form.validate_on_submit():
        return _detail(user_id, edit_form=form, status=400)
    try:
        users.update_user(session, actor, user_id, form.to_change(), utcnow())
    except CareappError as error:
        session.rollback()
        form.show_error(error)
        return _detail(user_id, edit_form=form, status=error.status_code)
    session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("users.user_detail", user_id=user_id))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@role_required(*MANAGERS)
def user_disable(user_id: int) -> ResponseReturnValue:
    return _confirmed_action(user_id, users.disable_account, _("The account is disabled."))


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@role_required(*MANAGERS)
def user_enable(user_id: int) -> ResponseReturnValue:
    return _confirmed_action(user_id, users.enable_account, _("The account is enabled."))


def _confirmed_action(user_id: int, action: users.AccountAction, done: str) -> ResponseReturnValue:
    session = db.session()
    if not ConfirmForm().validate_on_submit():
        return _detail(user_id, status=400)
    try:
        action(session, current_actor(), user_id, utcnow())
    except CareappError as error:
        session.rollback()
        flash(error.message, "error")
        return _detail(user_id, status=error.status_code)
    session.commit()
    flash(done, "success")
    return redirect(url_for("users.user_detail", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required(Role.ADMIN)
def user_reset_password(user_id: int) -> ResponseReturnValue:
    session = db.session()
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _detail(user_id, reset_form=form, status=400)
    try:
        made = users.reset_password(
            session, current_actor(), user_id, form.password.data or "", _policy(), utcnow()
        )
    except CareappError as error:
        session.rollback()
        form.show_error(error)
        return _detail(user_id, reset_form=form, status=error.status_code)
    session.commit()
    flash(_("The password is reset; the user's sessions have ended."), "success")
    if made.temporary_password is None:
        return redirect(url_for("users.user_detail", user_id=user_id))
    return _detail(user_id, temporary_password=made.temporary_password)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@role_required(Role.ADMIN)
def user_unlock(user_id: int) -> ResponseReturnValue:
    session = db.session()
    if not ConfirmForm().validate_on_submit():
        return _detail(user_id, status=400)
    cleared = users.unlock_user(session, current_actor(), user_id, now=utcnow(), window=_window())
    session.commit()
    flash(_("Unlocked: %(count)d failed logins cleared.", count=cleared), "success")
    return redirect(url_for("users.user_detail", user_id=user_id))


def _edit_form(user: User, *, formdata: bool = True) -> UserEditForm:
    """The edit form of `user`: role and provider only for an administrator editing another
    staff account."""
    actor = current_actor()
    with_role = (
        actor.is_role(Role.ADMIN) and user.id != actor.user_id and user.role in users.ADMIN_GIVES
    )
    if formdata:
        form = UserEditForm()
    else:
        form = UserEditForm(
            formdata=None,
            display_name=user.display_name,
            role=user.role.value,
            provider_id=user.provider_id,
        )
    form.set_choices(users.provider_choices(db.session()) if with_role else [], with_role=with_role)
    return form


def _detail(
    user_id: int,
    *,
    edit_form: UserEditForm | None = None,
    reset_form: ResetPasswordForm | None = None,
    temporary_password: str | None = None,
    status: int = 200,
) -> Response:
    session = db.session()
    actor = current_actor()
    user = users.get_user(session, actor, user_id)
    failures = None
    if actor.is_role(Role.ADMIN):
        failures = users.login_failures(session, actor, user, now=utcnow(), window=_window())
    page = render_template(
        "users/user_detail.html",
        user=user,
        edit_form=edit_form or _edit_form(user, formdata=False),
        reset_form=reset_form or ResetPasswordForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        failures=failures,
        max_failures=current_app.config["LOGIN_MAX_FAILURES"],
        temporary_password=temporary_password,
        is_self=user.id == actor.user_id,
    )
    return make_response(page, status)


@bp.route("/account/password", methods=["GET", "POST"])
@role_required(*Role)
def password_change() -> ResponseReturnValue:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        session = db.session()
        now = utcnow()
        try:
            user = users.change_own_password(
                session,
                current_actor(),
                form.current_password.data or "",
                form.new_password.data or "",
                _policy(),
                now,
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window=_window(),
            )
        except CareappError as error:
            session.commit()  # a wrong current password counts as a failed login; nothing else
            form.show_error(error)
            return _password_page(form, error.status_code)
        session.commit()
        start_session(user, now)  # every session ended; this browser stays logged in
        flash(_("Your password is changed. Your other sessions have ended."), "success")
        return redirect(url_for("main.index"))
    return _password_page(form, 400 if form.is_submitted() else 200)


def _password_page(form: PasswordChangeForm, status: int) -> tuple[str, int]:
    policy = _policy()
    page = render_template(
        "users/password_change.html",
        form=form,
        min_length=policy.min_length,
        max_length=policy.max_length,
    )
    return page, status
