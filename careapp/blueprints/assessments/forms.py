"""The assessment form, built from the instrument's data (shape only), and display helpers."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from assessments.types import INVALID_OPTION, MISSING, Instrument, Item
from careapp.errors import CareappError
from careapp.services.assessments import FAMILY_MEMBER_MAX, NOTE_MAX, AssessmentAnswersError


def current_language() -> str:
    """ "en" when the user chose English, else "zh" (instrument data carries both)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def localized(obj: Any, attribute: str) -> str:
    """`obj.<attribute>_zh` or `obj.<attribute>_en`, in the user's language."""
    return str(getattr(obj, f"{attribute}_{current_language()}"))


class AssessmentForm(FlaskForm):
    """The fields every instrument shares; `build_assessment_form` adds one radio per item."""

    family_member_present = StringField(
        _l("Family member present (name and relation)"),
        validators=[
            DataRequired(message=_l("Record the family member present.")),
            Length(max=FAMILY_MEMBER_MAX),
        ],
    )
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )
    both_confirmed = BooleanField(
        _l("Both assessors confirm these answers."),
        validators=[DataRequired(message=_l("Both assessors must confirm the answers."))],
    )

    items: tuple[Item, ...] = ()

    def item_fields(self) -> list[tuple[Item, RadioField]]:
        return [(item, self[item.code]) for item in self.items]

    def answers(self) -> dict[str, int]:
        """The chosen points by item code (unanswered items are left out)."""
        return {
            item.code: field.data for item, field in self.item_fields() if field.data is not None
        }

    def show_error(self, error: CareappError) -> None:
        """Put a domain error on the field it names, or on the form as a whole."""
        if isinstance(error, AssessmentAnswersError):
            messages = {
                MISSING: _("Choose one answer."),
                INVALID_OPTION: _("Not one of the answers."),
            }
            item_codes = {item.code for item in self.items}
            for code, reason in error.problems.items():
                if code in item_codes:
                    self[code].errors = [*self[code].errors, messages.get(reason, error.message)]
                elif error.message not in self.form_errors:
                    self.form_errors.append(error.message)
        elif error.field is not None and error.field in self._fields:
            self[error.field].errors = [*self[error.field].errors, error.message]
        else:
            self.form_errors.append(error.message)


def build_assessment_form(
    instrument: Instrument, assessor_names: tuple[str, str]
) -> AssessmentForm:
    """A form with one required radio group per item, labelled in the user's language."""
    fields: dict[str, Any] = {"items": instrument.items}
    for item in instrument.items:
        if hasattr(AssessmentForm, item.code):
            raise ValueError(f"item code {item.code!r} clashes with a form attribute")
        fields[item.code] = RadioField(
            localized(item, "label"),
            choices=[
                SelectChoice(str(option.points), localized(option, "label"))
                for option in item.options
            ],
            coerce=int,
            validators=[InputRequired(message=_l("Choose one answer."))],
            invalid_value_message=_l("Not one of the answers."),
            invalid_choice_message=_l("Not one of the answers."),
        )
    form_class = type(f"{instrument.code.title()}AssessmentForm", (AssessmentForm,), fields)
    form: AssessmentForm = form_class()
    form.both_confirmed.label.text = _(
        "Both assessors, %(first)s and %(second)s, confirm these answers.",
        first=assessor_names[0],
        second=assessor_names[1],
    )
    return form
