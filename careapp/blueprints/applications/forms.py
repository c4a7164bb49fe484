"""Forms of application intake and assessor assignment (shape only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from careapp.blueprints.applications.labels import choices
from careapp.blueprints.registry.forms import DomainErrorForm
from careapp.clock import CITY_TZ, to_city
from careapp.models.assessment import Applicant, CareSetting
from careapp.models.users import User
from careapp.services.applications import ApplicationInput


class ApplicationForm(DomainErrorForm):
    applicant = SelectField(_l("Applicant"), choices=choices(Applicant), default="family")
    applicant_name = StringField(
        _l("Name of the family member or institution"), validators=[Optional(), Length(max=100)]
    )
    disability_since = DateField(_l("Disabled since"), validators=[DataRequired()])
    evidence_note = TextAreaField(
        _l("Medical evidence (document, hospital, date)"),
        validators=[DataRequired(), Length(max=500)],
        render_kw={"rows": 3},
    )
    requested_setting = SelectField(
        _l("Requested care setting"), choices=choices(CareSetting), default="home_service"
    )

    def to_input(self) -> ApplicationInput:
        return ApplicationInput(
            applicant=Applicant(self.applicant.data),
            applicant_name=self.applicant_name.data or None,
            disability_since=self.disability_since.data,
            evidence_note=self.evidence_note.data or "",
            requested_setting=CareSetting(self.requested_setting.data),
        )


class AssignAssessorsForm(DomainErrorForm):
    assessor_1_id = SelectField(_l("First assessor"), coerce=int, validators=[DataRequired()])
    assessor_2_id = SelectField(_l("Second assessor"), coerce=int, validators=[DataRequired()])
    appointment_at = DateTimeLocalField(
        _l("Appointment (city time)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )

    def set_assessors(self, assessors: Iterable[User]) -> None:
        options = [SelectChoice(user.id, user.display_name) for user in assessors]
        self.assessor_1_id.choices = options
        self.assessor_2_id.choices = options

    def prefill(
        self,
        assessor_1_id: int | None,
        assessor_2_id: int | None,
        appointment_at: dt.datetime | None,
    ) -> None:
        if assessor_1_id is not None:
            self.assessor_1_id.data = assessor_1_id
        if assessor_2_id is not None:
            self.assessor_2_id.data = assessor_2_id
        if appointment_at is not None:
            self.appointment_at.data = to_city(appointment_at).replace(tzinfo=None)

    def appointment_utc(self) -> dt.datetime:
        """The wall-clock time entered, read in the city's zone, as an aware UTC datetime."""
        entered: dt.datetime = self.appointment_at.data
        return entered.replace(tzinfo=CITY_TZ).astimezone(dt.UTC)
