"""The home page: each role's starting points."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template("main/index.html", role=current_user.role.value)
