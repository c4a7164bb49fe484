"""Forms of application intake and assessor assignment (shape only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from careapp.core.clock import CITY_TZ, to_city
from careapp.models.assessment import Applicant, CareSetting
from careapp.models.procedure import ObjectionSource
from careapp.models.providers import Provider
from careapp.models.users import User
from careapp.services.applications import ApplicationInput, TieInput
from careapp.services.procedure import ObjectionInput
from careapp.web.forms import CareappForm
from careapp.web.labels import choices


class ApplicationForm(CareappForm):
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
    provider_id = SelectField(
        _l("Caring institution or company (if any)"), coerce=int, default=0, choices=[]
    )

    def set_providers(self, providers: Iterable[Provider]) -> None:
        self.provider_id.choices = [
            SelectChoice(0, _l("None")),
            *(SelectChoice(p.id, p.name) for p in providers),
        ]

    def to_input(self) -> ApplicationInput:
        return ApplicationInput(
            applicant=Applicant(self.applicant.data),
            applicant_name=self.applicant_name.data or None,
            disability_since=self.disability_since.data,
            evidence_note=self.evidence_note.data or "",
            requested_setting=CareSetting(self.requested_setting.data),
            provider_id=self.provider_id.data or None,
        )


class AssignAssessorsForm(CareappForm):
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


class ReviewForm(CareappForm):
    outcome = RadioField(
        _l("Review"),
        choices=[
            SelectChoice("approve", _l("Approve: make the assessment public")),
            SelectChoice("return", _l("Send back for re-assessment")),
        ],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Reason (required when sending back)"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 3},
    )

    @property
    def is_approved(self) -> bool:
        return bool(self.outcome.data == "approve")


class ObjectionForm(CareappForm):
    source = SelectField(_l("Lodged by"), choices=choices(ObjectionSource), default="applicant")
    lodged_by_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    text = TextAreaField(
        _l("Objection"), validators=[DataRequired(), Length(max=1000)], render_kw={"rows": 4}
    )

    def to_input(self) -> ObjectionInput:
        return ObjectionInput(
            source=ObjectionSource(self.source.data),
            lodged_by_name=self.lodged_by_name.data or "",
            text=self.text.data or "",
        )


class ResolveObjectionForm(CareappForm):
    outcome = RadioField(
        _l("Resolution"),
        choices=[
            SelectChoice("dismiss", _l("Dismiss the objection")),
            SelectChoice("uphold", _l("Uphold it: back to re-assessment")),
        ],
        validators=[DataRequired()],
    )
    note = TextAreaField(
        _l("Explanation"), validators=[DataRequired(), Length(max=500)], render_kw={"rows": 3}
    )


class ReassessmentRequestForm(CareappForm):
    kind = RadioField(
        _l("Request"),
        choices=[
            SelectChoice("appeal", _l("Appeal: re-assessment by two other assessors")),
            SelectChoice("reassessment", _l("Re-assessment (scheduled, or the condition changed)")),
        ],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=500)], render_kw={"rows": 3}
    )


class OversightForm(CareappForm):
    class Meta:
        csrf = False  # a GET filter

    first_day = DateField(_l("From"), validators=[DataRequired()])
    last_day = DateField(_l("Until"), validators=[DataRequired()])


class TieForm(CareappForm):
    assessor_id = SelectField(_l("Assessor"), coerce=int, validators=[DataRequired()])
    provider_id = SelectField(_l("Care provider"), coerce=int, validators=[DataRequired()])
    description = StringField(
        _l("Tie (employment, ownership, family)"), validators=[DataRequired(), Length(max=200)]
    )
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("Until (empty: still tied)"), validators=[Optional()])

    def to_input(self) -> TieInput:
        return TieInput(
            assessor_id=self.assessor_id.data,
            provider_id=self.provider_id.data,
            description=self.description.data or "",
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
        )

    def set_choices(self, assessors: Iterable[User], providers: Iterable[Provider]) -> None:
        self.assessor_id.choices = [SelectChoice(u.id, u.display_name) for u in assessors]
        self.provider_id.choices = [SelectChoice(p.id, p.name) for p in providers]
