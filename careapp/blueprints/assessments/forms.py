"""The assessment form, built from the instrument's data (shape only), and display helpers."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from assessments.types import INVALID_OPTION, MISSING, Instrument, Item
from careapp.core.errors import CareappError
from careapp.services.assessments import (
    FAMILY_MEMBER_MAX,
    ITEM_NOTE_MAX,
    NOTE_MAX,
    AssessmentAnswersError,
)
from careapp.services.i18n import localized
from careapp.web.forms import CareappForm

NOTE_SUFFIX = "__note"


class AssessmentForm(CareappForm):
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
    confirmed = BooleanField(
        _l("I confirm these answers."),
        validators=[DataRequired(message=_l("Confirm the answers."))],
    )
    # Generated per submission attempt (by the page's script; this default without scripts):
    # a repeated submission with the same key returns the first one.
    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)
    # The draft revision the page last saw (set by the script; absent without it).
    draft_revision = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=0)])

    items: tuple[Item, ...] = ()

    def item_fields(self) -> list[tuple[Item, RadioField, TextAreaField]]:
        return [(item, self[item.code], self[item.code + NOTE_SUFFIX]) for item in self.items]

    def item_notes(self) -> dict[str, str]:
        """The note of each item that has one."""
        return {item.code: note.data for item, _, note in self.item_fields() if note.data}

    def answers(self) -> dict[str, int]:
        """The chosen points by item code (unanswered items are left out)."""
        return {
            item.code: field.data for item, field, _ in self.item_fields() if field.data is not None
        }

    def show_error(self, error: CareappError) -> None:
        """Put each unanswered or invalid item's problem on its radio; other errors as usual."""
        if not isinstance(error, AssessmentAnswersError):
            super().show_error(error)
            return
        messages = {MISSING: _("Choose one answer."), INVALID_OPTION: _("Not one of the answers.")}
        item_codes = {item.code for item in self.items}
        for code, reason in error.problems.items():
            if code in item_codes and code in self._fields:
                self[code].errors = [*self[code].errors, messages.get(reason, error.message)]
            elif error.message not in self.form_errors:
                self.form_errors.append(error.message)


class CorrectionForm(AssessmentForm):
    """A correction of a submitted assessment: the same answers, and why they change."""

    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[
            DataRequired(message=_l("Give the reason for the correction.")),
            Length(max=NOTE_MAX),
        ],
        render_kw={"rows": 2},
    )


def build_assessment_form(
    instrument: Instrument,
    assessor_names: tuple[str, str],
    *,
    base: type[AssessmentForm] = AssessmentForm,
    data: dict[str, Any] | None = None,
) -> AssessmentForm:
    """A form with one required radio group and an optional note per item, in the user's language.

    `data` prefills it (a correction starts from the version it corrects).
    """
    fields: dict[str, Any] = {"items": instrument.items}
    for item in instrument.items:
        for name in (item.code, item.code + NOTE_SUFFIX):
            if hasattr(base, name):
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
        fields[item.code + NOTE_SUFFIX] = TextAreaField(
            _l("Note on this item (optional)"),
            validators=[Optional(), Length(max=ITEM_NOTE_MAX)],
            render_kw={"rows": 2},
        )
    form_class = type(f"{instrument.code.title()}{base.__name__}", (base,), fields)
    form: AssessmentForm = form_class(data=data)
    form.confirmed.label.text = _(
        "I confirm these answers. The other assessor (%(first)s / %(second)s) confirms them "
        "from their own login.",
        first=assessor_names[0],
        second=assessor_names[1],
    )
    return form
