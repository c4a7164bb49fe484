"""The family's rating form and the phone-survey entry form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import Optional

from careapp.web.forms import CareappForm

STARS_MESSAGE = _l("Choose from 1 to 5 stars.")


class RatingForm(CareappForm):
    stars = RadioField(
        _l("How satisfied are you with this visit?"),
        choices=[
            SelectChoice("1", _l("Very dissatisfied")),
            SelectChoice("2", _l("Dissatisfied")),
            SelectChoice("3", _l("Neutral")),
            SelectChoice("4", _l("Satisfied")),
            SelectChoice("5", _l("Very satisfied")),
        ],
        coerce=int,
        # A missing, non-numeric or out-of-range value gets the same plain message.
        invalid_value_message=STARS_MESSAGE,
        invalid_choice_message=STARS_MESSAGE,
    )
    # Its length is checked by the service (one rule, one message).
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional()])


class PhoneRatingForm(RatingForm):
    """The same answers, entered by survey staff during the call."""
