"""The one home of what the blueprints' forms share: the base form every form derives from, the
button form, the checkbox-list field and the select coercions."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    SelectMultipleField,
)
from wtforms.fields import Field
from wtforms.widgets import CheckboxInput, ListWidget

from careapp.core.errors import CareappError
from careapp.web.params import MAX_ID, MAX_NUMBER, day_in_range


class CareappForm(FlaskForm):
    """The base of every form: it shows a service's error on the field the error names, or else
    on the form as a whole (`form_errors`, shown by the `form_errors` macro of
    _macros/forms.html).

    Every number and date field is bounded here, whatever its own validators say: a whole
    number (an IntegerField's, or a select's coerced id) within ±MAX_ID, a decimal within
    ±MAX_NUMBER (and finite), a date or date-time between MIN_DAY and MAX_DAY
    (careapp.web.params). Out of range is a field error in the user's language, never a value
    handed on to the database or to date arithmetic."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self._fields.values():
            message = _out_of_range(field)
            if message is not None and not field.errors:
                field.errors = [*field.errors, str(message)]
                valid = False
        return valid

    def show_error(self, error: CareappError) -> None:
        field = self._fields.get(error.field) if error.field else None
        if field is None:
            self.form_errors.append(error.message)
        else:
            field.errors = [*field.errors, error.message]


def _out_of_range(field: Field) -> Any:
    """The bound's error message for a field whose value is out of range, else None."""
    data = field.data
    if data is None:
        return None
    values = data if isinstance(data, list) else [data]  # a select's ids are ints too
    if any(isinstance(value, int) and abs(value) > MAX_ID for value in values):
        return _l("This number is too large.")
    decimal_field = isinstance(field, (DecimalField, FloatField))
    if decimal_field and isinstance(data, (decimal.Decimal, float)) and not _sane_number(data):
        return _l("This number is too large.")
    if isinstance(field, (DateField, DateTimeField)) and isinstance(data, dt.date):
        day = data.date() if isinstance(data, dt.datetime) else data
        if not day_in_range(day):
            return _l("Give a date between 1900 and 2100.")
    return None


def _sane_number(value: decimal.Decimal | float) -> bool:
    """Finite (no NaN nor infinity, which DecimalField lets through) and within ±MAX_NUMBER."""
    if isinstance(value, decimal.Decimal):
        return value.is_finite() and abs(value) <= MAX_NUMBER
    return math.isfinite(value) and abs(value) <= MAX_NUMBER


class ConfirmForm(CareappForm):
    """A button that needs only the CSRF token (confirm, accept, cancel, create or revoke)."""


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (one per choice) instead of a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def optional_choice_id(value: Any) -> int | None:
    """Coerce a select's id: empty is None, anything not a number is -1, never a choice, so the
    field refuses it with its own message (with `validate_choice=True`)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def optional_int(value: Any) -> int | None:
    """Coerce a select's optional id: empty is None; anything not a number raises, so the field
    refuses it as a value it could not coerce."""
    if value in (None, "", "None"):
        return None
    return int(value)
