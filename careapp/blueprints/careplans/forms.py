"""Forms of the care-plan pages (shape only; the service checks the rules)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from careapp.core.money import format_yuan
from careapp.services.careplans import CarePlanInput, CarePlanOptions
from careapp.services.i18n import localized
from careapp.web.display import weekday_name
from careapp.web.forms import CareappForm, MultiCheckboxField, optional_int
from careapp.web.labels import label


class CarePlanForm(CareappForm):
    provider_id = SelectField(_l("Provider"), coerce=int, validators=[InputRequired()])
    service_item_ids = MultiCheckboxField(_l("Service items"), coerce=int)
    weekdays = MultiCheckboxField(_l("Days of the week"), coerce=int)
    window_start = TimeField(_l("Window starts"), validators=[InputRequired()])
    window_end = TimeField(_l("Window ends"), validators=[InputRequired()])
    preferred_caregiver_id = SelectField(
        _l("Preferred caregiver (optional)"), coerce=optional_int, validators=[Optional()]
    )

    def set_choices(self, options: CarePlanOptions) -> None:
        self.provider_id.choices = [SelectChoice(p.id, p.name) for p in options.providers]
        self.weekdays.choices = [
            SelectChoice(day, weekday_name(day, "wide")) for day in range(1, 8)
        ]
        self.service_item_ids.choices = [
            SelectChoice(
                item.id,
                _(
                    "%(name)s — %(minutes)d min, %(price)s yuan, %(qualification)s",
                    name=localized(item),
                    minutes=item.duration_minutes,
                    price=format_yuan(item.unit_price_fen),
                    qualification=label(item.qualification),
                ),
            )
            for item in options.service_items
        ]
        # Caregivers of every eligible provider, grouped by provider; the service checks the match.
        self.preferred_caregiver_id.choices = [
            SelectChoice("", _("No preference")),
            *(
                SelectChoice(caregiver.id, caregiver.name, optgroup=provider.name)
                for provider in options.providers
                for caregiver in provider.caregivers
                if caregiver.is_enabled
            ),
        ]

    def to_input(self) -> CarePlanInput:
        return CarePlanInput(
            provider_id=self.provider_id.data,
            service_item_ids=tuple(self.service_item_ids.data or ()),
            weekdays=tuple(self.weekdays.data or ()),
            window_start=self.window_start.data,
            window_end=self.window_end.data,
            preferred_caregiver_id=self.preferred_caregiver_id.data,
        )
