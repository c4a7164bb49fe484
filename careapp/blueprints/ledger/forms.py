"""Forms of the entitlement and fund pages (shape only; the service checks the dates)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from careapp.models.assessment import CareSetting
from careapp.models.providers import Provider
from careapp.services.ledger import END_REASONS, NOTE_MAX
from careapp.web.forms import CareappForm
from careapp.web.labels import CARE_SETTING_LABELS, END_REASON_LABELS


class EventForm(CareappForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])


class MoveForm(EventForm):
    moved_on = DateField(_l("Moved on"), validators=[InputRequired(_l("Enter a date."))])
    care_setting = SelectField(
        _l("New care setting"),
        choices=[SelectChoice(s.value, CARE_SETTING_LABELS[s]) for s in CareSetting],
        validators=[InputRequired()],
    )
    provider_id = SelectField(_l("Institution or home-care company"), validators=[Optional()])

    def set_providers(self, providers: list[Provider]) -> None:
        self.provider_id.choices = [SelectChoice("", _l("None"))] + [
            SelectChoice(str(p.id), p.name) for p in providers
        ]

    @property
    def chosen_setting(self) -> CareSetting:
        return CareSetting(self.care_setting.data)

    @property
    def chosen_provider(self) -> int | None:
        return int(self.provider_id.data) if self.provider_id.data else None


class HospitalStayForm(EventForm):
    admitted_on = DateField(_l("Admitted on"), validators=[InputRequired(_l("Enter a date."))])
    discharged_on = DateField(
        _l("Discharged on (empty: still in hospital)"), validators=[Optional()]
    )


class DischargeForm(EventForm):
    discharged_on = DateField(_l("Discharged on"), validators=[InputRequired(_l("Enter a date."))])


class EndForm(EventForm):
    ends_on = DateField(
        _l("End date (this day is not paid)"), validators=[InputRequired(_l("Enter a date."))]
    )
    reason = SelectField(
        _l("Reason"),
        choices=[SelectChoice(code, END_REASON_LABELS[code]) for code in END_REASONS],
        validators=[InputRequired()],
    )
