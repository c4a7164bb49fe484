"""Forms of the work-order pages (shape only; the service checks the rules)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from careapp.models.providers import Provider
from careapp.models.work_orders import WorkOrderReason
from careapp.services.work_orders import REASON_MAX
from careapp.web.forms import CareappForm, optional_int
from careapp.web.labels import WORK_ORDER_REASON_LABELS


class WorkOrderForm(CareappForm):
    reason = SelectField(
        _l("Reason"),
        choices=[
            SelectChoice(reason.value, WORK_ORDER_REASON_LABELS[reason])
            for reason in (WorkOrderReason.NEW_CLIENT, WorkOrderReason.MOVE)
        ],
        validators=[InputRequired()],
    )
    family_choice_provider_id = SelectField(
        _l("The family's choice (optional)"), coerce=optional_int, validators=[Optional()]
    )

    def set_providers(self, providers: list[Provider]) -> None:
        self.family_choice_provider_id.choices = [
            SelectChoice("", _l("No choice: the rotation proposes one")),
            *(SelectChoice(p.id, p.name) for p in providers),
        ]


class ProviderChoiceForm(CareappForm):
    provider_id = SelectField(_l("Provider"), coerce=optional_int, validators=[InputRequired()])

    def set_providers(self, providers: list[Provider]) -> None:
        self.provider_id.choices = [
            SelectChoice("", _l("Choose a provider")),
            *(SelectChoice(p.id, p.name) for p in providers),
        ]


class RefuseForm(CareappForm):
    refusal_reason = TextAreaField(
        _l("Reason for refusing"), validators=[InputRequired(), Length(max=REASON_MAX)]
    )
