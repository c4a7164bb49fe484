"""The roster's forms: the day picker and exports (GET, no CSRF token) and the move (POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, TimeField
from wtforms.validators import DataRequired, InputRequired, Optional


class RosterDayForm(FlaskForm):
    class Meta:
        csrf = False

    day = DateField(
        _l("Day"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )


class RosterExportForm(RosterDayForm):
    """Which days (one day or its week) and, for the day sheet, which caregiver."""

    span = SelectField(
        _l("Days"),
        choices=[SelectChoice("day", _l("Day")), SelectChoice("week", _l("Week"))],
        default="day",
        validators=[Optional()],
    )
    caregiver_id = IntegerField(_l("Caregiver"), validators=[Optional()])


class MoveVisitForm(FlaskForm):
    """Give a visit to another caregiver and/or another start time within its window."""

    caregiver_id = SelectField(
        _l("Caregiver"), coerce=int, validators=[InputRequired(_l("Choose a caregiver."))]
    )
    start = TimeField(_l("Start"), validators=[DataRequired(_l("Give the start time."))])


class CalendarFeedForm(FlaskForm):
    """The create/revoke buttons of a calendar link (a CSRF token only)."""
