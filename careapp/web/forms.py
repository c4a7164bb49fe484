"""The one home of what the blueprints' forms share: the base form every form derives from, the
button form, the checkbox-list field and the select coercions."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from careapp.core.errors import CareappError


class CareappForm(FlaskForm):
    """The base of every form: it shows a service's error on the field the error names, or else
    on the form as a whole (`form_errors`, shown by the `form_errors` macro of
    _macros/forms.html)."""

    def show_error(self, error: CareappError) -> None:
        field = self._fields.get(error.field) if error.field else None
        if field is None:
            self.form_errors.append(error.message)
        else:
            field.errors = [*field.errors, error.message]


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
