"""Forms of the certificate pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from careapp.web.forms import CareappForm


class PrintBatchForm(CareappForm):
    week = DateField(
        _l("A day of the week to print (Monday to Sunday)"), validators=[InputRequired()]
    )


class RestartBatchForm(CareappForm):
    """Restart an abandoned print batch (a button: nothing to fill in but the CSRF token)."""


class VerifyForm(CareappForm):
    class Meta:
        csrf = False  # a public look-up by GET: it changes nothing

    number = StringField(_l("Certificate number"), validators=[InputRequired(), Length(max=40)])
    code = StringField(_l("Check code"), validators=[InputRequired(), Length(max=40)])


class ReissueForm(CareappForm):
    reason = TextAreaField(
        _l("Reason for the re-issue"), validators=[InputRequired(), Length(max=500)]
    )
    confirm = BooleanField(
        _l("I understand that the earlier number will show as superseded when verified."),
        validators=[InputRequired()],
    )
