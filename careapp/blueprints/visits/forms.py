"""Check-in and check-out forms of the caregiver's phone pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from careapp.services.registry import is_id_number_query
from careapp.services.visit_search import RatingFilter, VisitFilter
from careapp.web.forms import CareappForm, MultiCheckboxField, optional_choice_id
from careapp.web.labels import VISIT_STATUS_LABELS
from scheduling.visits import VisitStatus

MAX_NAME_QUERY = 50


def _position_fields() -> tuple[FloatField, FloatField]:
    """Hidden latitude/longitude, filled by static/js/geolocation.js when the phone allows."""
    return (
        FloatField(widget=HiddenInput(), validators=[Optional()]),
        FloatField(widget=HiddenInput(), validators=[Optional()]),
    )


class CheckInForm(CareappForm):
    lat, lon = _position_fields()
    location_note = StringField(
        _l("Location unavailable — reason"),
        validators=[Optional(), Length(max=200)],
    )


class CheckOutForm(CareappForm):
    # The service checks the ticked items against the visit (one message for every mistake).
    done_item_codes = MultiCheckboxField(
        _l("Service items done"), choices=[], validate_choice=False
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
    lat, lon = _position_fields()


def _not_an_id_number(form: FlaskForm, field: Field) -> None:
    """An ID number would be kept in the address bar and the logs: search it on the People page."""
    if field.data and is_id_number_query(field.data):
        raise ValidationError(
            _l("Search by name here; find a person by ID number on the People page.")
        )


class VisitFilterForm(CareappForm):
    """The administrators' visit list filter (GET, no CSRF token)."""

    class Meta:
        csrf = False

    person = StringField(
        _l("Beneficiary's name"),
        validators=[Optional(), Length(max=MAX_NAME_QUERY), _not_an_id_number],
    )
    provider_id = SelectField(
        _l("Provider"), coerce=optional_choice_id, validators=[Optional()], validate_choice=True
    )
    caregiver = StringField(
        _l("Caregiver's name"), validators=[Optional(), Length(max=MAX_NAME_QUERY)]
    )
    first_day = DateField(_l("From"), validators=[Optional()])
    last_day = DateField(_l("Until"), validators=[Optional()])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any status")),
            *(SelectChoice(s.value, VISIT_STATUS_LABELS[s.value]) for s in VisitStatus),
        ],
        default="",
        validators=[Optional()],
    )
    rating = SelectField(
        _l("Rating"),
        choices=[
            SelectChoice("", _l("Rated or not")),
            SelectChoice(RatingFilter.TO_RATE.value, _l("Done, not rated yet")),
            SelectChoice(RatingFilter.RATED.value, _l("Rated")),
        ],
        default="",
        validators=[Optional()],
    )
    offset = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def set_providers(self, providers: list[tuple[int, str]]) -> None:
        self.provider_id.choices = [
            SelectChoice("", _l("Any provider")),
            *(SelectChoice(provider_id, name) for provider_id, name in providers),
        ]

    def validate_last_day(self, field: DateField) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The period ends before it starts."))

    def to_filter(self) -> VisitFilter:
        return VisitFilter(
            person_name=(self.person.data or "").strip() or None,
            provider_id=self.provider_id.data,
            caregiver_name=(self.caregiver.data or "").strip() or None,
            first_day=self.first_day.data,
            last_day=self.last_day.data,
            status=VisitStatus(self.status.data) if self.status.data else None,
            rating=RatingFilter(self.rating.data) if self.rating.data else None,
        )
