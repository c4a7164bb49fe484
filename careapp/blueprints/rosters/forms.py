"""The roster's forms: the day picker and exports (GET, no CSRF token), the move, and the
manager's hand on a visit: manual entry, reschedule, cancel (POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from careapp.web.forms import CareappForm, MultiCheckboxField, optional_int


class RosterDayForm(CareappForm):
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


class MoveVisitForm(CareappForm):
    """Give a visit to another caregiver and/or another start time within its window."""

    caregiver_id = SelectField(
        _l("Caregiver"), coerce=int, validators=[InputRequired(_l("Choose a caregiver."))]
    )
    start = TimeField(_l("Start"), validators=[DataRequired(_l("Give the start time."))])
    # Sent by the "move anyway" button: the travel minutes the manager has seen and accepted.
    accepted_travel_minutes = IntegerField(validators=[Optional()])


class ManualEntryForm(CareappForm):
    """A visit entered by hand from the caregiver's paper record (city times)."""

    caregiver_id = SelectField(_l("Caregiver"), coerce=optional_int, validators=[Optional()])
    check_in_time = TimeField(
        _l("Check-in time"), validators=[InputRequired(_l("Give the check-in time."))]
    )
    check_out_time = TimeField(
        _l("Check-out time"), validators=[InputRequired(_l("Give the check-out time."))]
    )
    check_out_next_day = BooleanField(_l("Checked out after midnight (the next day)"))
    done_item_codes = MultiCheckboxField(_l("Service items done"))
    reason = StringField(
        _l("Why the phone was not used"),
        validators=[
            DataRequired(_l("Give the reason (at least 4 characters).")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=500, message=_l("Keep this under 500 characters."))],
    )


class RescheduleVisitForm(CareappForm):
    """A make-up visit for a missed one: a day, a window and optionally a caregiver."""

    day = DateField(
        _l("New day"), format="%Y-%m-%d", validators=[InputRequired(_l("Give the new day."))]
    )
    window_start = TimeField(
        _l("Window starts"), validators=[InputRequired(_l("Give the start of the time window."))]
    )
    window_end = TimeField(
        _l("Window ends"), validators=[InputRequired(_l("Give the end of the time window."))]
    )
    caregiver_id = SelectField(_l("Caregiver"), coerce=optional_int, validators=[Optional()])
    start = TimeField(_l("Start (with a caregiver)"), validators=[Optional()])
    accepted_travel_minutes = IntegerField(validators=[Optional()])


class CancelVisitForm(CareappForm):
    reason = StringField(
        _l("Why the visit is cancelled"),
        validators=[
            DataRequired(_l("Give the reason for the cancellation.")),
            Length(max=200, message=_l("Keep this under 200 characters.")),
        ],
    )
