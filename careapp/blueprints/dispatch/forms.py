"""The administrator's dispatch form: which days to plan."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from careapp.web.forms import CareappForm

MAX_DAYS = 14


class DispatchRunForm(CareappForm):
    first_day = DateField(
        _l("First day"),
        validators=[InputRequired(_l("Choose the first day."))],
        format="%Y-%m-%d",
    )
    days = IntegerField(
        _l("Number of days"),
        validators=[
            InputRequired(_l("Enter the number of days.")),
            NumberRange(1, MAX_DAYS, _l("Between 1 and %(max)d days.", max=MAX_DAYS)),
        ],
    )
