"""Forms of the provider pages: they check shape only; the services check the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from careapp.models.quality import ComplaintChannel, ComplaintStatus
from careapp.services.complaints import ComplaintInput
from careapp.web.forms import CareappForm
from careapp.web.labels import COMPLAINT_STATUS_LABELS, choices

ID_RANGE = NumberRange(min=1, max=2**31 - 1, message=_l("Enter a number."))


class ComplaintForm(CareappForm):
    received_on = DateField(
        _l("Received on"), validators=[InputRequired(message=_l("Enter a date."))]
    )
    channel = SelectField(
        _l("How it was received"),
        choices=choices(ComplaintChannel),
        validators=[InputRequired()],
    )
    summary = TextAreaField(_l("What the complaint is about"))
    person_id = IntegerField(_l("Person number (optional)"), validators=[Optional(), ID_RANGE])
    visit_id = IntegerField(_l("Visit number (optional)"), validators=[Optional(), ID_RANGE])

    def to_input(self, provider_id: int) -> ComplaintInput:
        assert self.received_on.data is not None  # noqa: S101 - InputRequired  # nosec B101
        return ComplaintInput(
            provider_id=provider_id,
            received_on=self.received_on.data,
            channel=ComplaintChannel(self.channel.data),
            summary=self.summary.data or "",
            person_id=self.person_id.data,
            visit_id=self.visit_id.data,
        )


class ResolveComplaintForm(CareappForm):
    outcome = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice(status.value, COMPLAINT_STATUS_LABELS[status])
            for status in (ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED)
        ],
        validators=[InputRequired(message=_l("Choose upheld or dismissed."))],
    )
    note = TextAreaField(_l("Resolution note"))


class LiftSuspensionForm(CareappForm):
    reason = TextAreaField(_l("Why the suspension is lifted"))
