"""Check-in and check-out forms of the caregiver's phone pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (one per choice) instead of a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _position_fields() -> tuple[FloatField, FloatField]:
    """Hidden latitude/longitude, filled by static/js/geolocation.js when the phone allows."""
    return (
        FloatField(widget=HiddenInput(), validators=[Optional()]),
        FloatField(widget=HiddenInput(), validators=[Optional()]),
    )


class CheckInForm(FlaskForm):
    lat, lon = _position_fields()
    location_note = StringField(
        _l("Location unavailable — reason"),
        validators=[Optional(), Length(max=200)],
    )


class CheckOutForm(FlaskForm):
    # The service checks the ticked items against the visit (one message for every mistake).
    done_item_codes = MultiCheckboxField(
        _l("Service items done"), choices=[], validate_choice=False
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
    lat, lon = _position_fields()
