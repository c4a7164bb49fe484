"""Forms of the claim-flag pages: the list's filter (GET, no CSRF token) and the review."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from careapp.models.claims import ClaimFlagStatus
from careapp.services.claims import MAX_NOTE_LENGTH, FlagFilter, ReviewDecision
from careapp.web.forms import CareappForm, optional_choice_id
from careapp.web.labels import CLAIM_FLAG_KIND_LABELS, CLAIM_FLAG_STATUS_LABELS
from scheduling.claims import ClaimFlagKind


class FlagFilterForm(CareappForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any status")),
            *(SelectChoice(s.value, CLAIM_FLAG_STATUS_LABELS[s.value]) for s in ClaimFlagStatus),
        ],
        default="",
        validators=[Optional()],
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("", _l("Any kind")),
            *(SelectChoice(k.value, CLAIM_FLAG_KIND_LABELS[k.value]) for k in ClaimFlagKind),
        ],
        default="",
        validators=[Optional()],
    )
    provider_id = SelectField(
        _l("Provider"), coerce=optional_choice_id, validators=[Optional()], validate_choice=True
    )
    month = StringField(
        _l("Month of the visits"),
        validators=[
            Optional(),
            Regexp(r"^(19\d\d|20\d\d|2100)-(0[1-9]|1[0-2])$", message=_l("A month like 2026-11.")),
        ],
        render_kw={"placeholder": "2026-11", "inputmode": "numeric"},
    )
    offset = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def set_providers(self, providers: list[tuple[int, str]]) -> None:
        self.provider_id.choices = [
            SelectChoice("", _l("Any provider")),
            *(SelectChoice(provider_id, name) for provider_id, name in providers),
        ]

    def to_filter(self) -> FlagFilter:
        month = self.month.data
        return FlagFilter(
            status=ClaimFlagStatus(self.status.data) if self.status.data else None,
            kind=ClaimFlagKind(self.kind.data) if self.kind.data else None,
            provider_id=self.provider_id.data,
            month=dt.date.fromisoformat(f"{month}-01") if month else None,
        )


class ReviewForm(CareappForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice(
                ReviewDecision.CLEAR.value, _l("Clear: the visit is accepted and can be paid")
            ),
            SelectChoice(
                ReviewDecision.UPHOLD.value, _l("Uphold: the visit is refused and never paid")
            ),
        ],
        validators=[InputRequired(message=_l("Choose clear or uphold."))],
    )
    note = TextAreaField(
        _l("Note (why)"),
        validators=[
            InputRequired(message=_l("Say why.")),
            Length(max=MAX_NOTE_LENGTH),
        ],
        render_kw={"rows": 3},
    )
