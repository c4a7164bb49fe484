"""The roster's day picker (a GET form: no CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional


class RosterDayForm(FlaskForm):
    class Meta:
        csrf = False

    day = DateField(
        _l("Day"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
