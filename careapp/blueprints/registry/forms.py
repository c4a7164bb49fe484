"""Forms of the registry: they check shape only; the service checks the rules."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FloatField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from careapp.models.people import District, HouseholdType, InsuranceScheme, InsuranceStatus
from careapp.services.i18n import localized
from careapp.services.registry import PersonInput
from careapp.web.forms import CareappForm
from careapp.web.labels import choices

PHONE = Regexp(r"^[0-9+\-() ]{5,30}$", message=_l("Enter a phone number (digits)."))


class PersonForm(CareappForm):
    id_number = StringField(
        _l("Resident ID number"),
        validators=[DataRequired(), Length(max=30)],
        render_kw={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"},
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30), PHONE])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    district_code = SelectField(_l("District or county"), validators=[DataRequired()])
    township = StringField(_l("Township or street"), validators=[Optional(), Length(max=60)])
    home_lat = FloatField(
        _l("Home latitude"), validators=[Optional(), NumberRange(min=-90, max=90)]
    )
    home_lon = FloatField(
        _l("Home longitude"), validators=[Optional(), NumberRange(min=-180, max=180)]
    )
    household_type = SelectField(
        _l("Household registration"), choices=choices(HouseholdType), default="urban"
    )
    insurance_scheme = SelectField(
        _l("Medical insurance scheme"), choices=choices(InsuranceScheme), default="resident"
    )
    insurance_status = SelectField(
        _l("Insurance status"), choices=choices(InsuranceStatus), default="active"
    )
    insured_from = DateField(_l("Insured from"), validators=[DataRequired()])
    insured_until = DateField(_l("Insured until"), validators=[Optional()])
    guardian_name = StringField(
        _l("Guardian or family contact"), validators=[Optional(), Length(max=100)]
    )
    guardian_phone = StringField(
        _l("Guardian's phone"), validators=[Optional(), Length(max=30), PHONE]
    )

    def set_districts(self, districts: Iterable[District]) -> None:
        self.district_code.choices = [SelectChoice(d.code, localized(d)) for d in districts]

    def to_input(self) -> PersonInput:
        return PersonInput(
            id_number=self.id_number.data or "",
            name=self.name.data or "",
            phone=self.phone.data or None,
            address=self.address.data or "",
            district_code=self.district_code.data or "",
            township=self.township.data or None,
            home_lat=self.home_lat.data,
            home_lon=self.home_lon.data,
            household_type=HouseholdType(self.household_type.data),
            insurance_scheme=InsuranceScheme(self.insurance_scheme.data),
            insurance_status=InsuranceStatus(self.insurance_status.data),
            insured_from=self.insured_from.data,
            insured_until=self.insured_until.data,
            guardian_name=self.guardian_name.data or None,
            guardian_phone=self.guardian_phone.data or None,
        )


class RevealIdForm(CareappForm):
    reason = TextAreaField(
        _l("Reason for seeing the full ID number"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"rows": 2},
    )


class PersonSearchForm(CareappForm):
    q = StringField(_l("Search"), validators=[Length(max=100)])
