"""Forms of the user pages (shape only; careapp.services.users checks the rules)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from wtforms import FloatField, IntegerField, PasswordField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from careapp.core.passwords import MAX_LENGTH
from careapp.models.providers import Qualification
from careapp.models.users import Role
from careapp.services.users import ADMIN_GIVES, NewCaregiver, NewUser, UserChange
from careapp.web.display import weekday_name
from careapp.web.forms import CareappForm, MultiCheckboxField, optional_int
from careapp.web.labels import choices, label

# Longer than any policy allows, so the service (not the form) says what the limit is.
PASSWORD_FIELD_MAX = MAX_LENGTH * 4
PHONE = Regexp(r"^[0-9+\-() ]{5,30}$", message=_l("Enter a phone number (digits)."))
NEW_PASSWORD = {"autocomplete": "new-password", "spellcheck": "false", "data-password": "new"}
USERNAME_ATTRS = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


def set_role_choices(
    role: SelectField, provider_id: SelectField, providers: Sequence[tuple[int, str]]
) -> None:
    """The roles an administrator gives, and the providers a manager may belong to."""
    role.choices = [SelectChoice(r.value, label(r)) for r in ADMIN_GIVES]
    provider_id.choices = [
        SelectChoice("", _l("None")),
        *(SelectChoice(pid, name) for pid, name in providers),
    ]


class UserForm(CareappForm):
    """An administrator's new account (administrator, assessor, provider manager)."""

    username = StringField(
        _l("Username"), validators=[DataRequired(), Length(max=64)], render_kw=USERNAME_ATTRS
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])
    provider_id = SelectField(
        _l("Provider (provider managers only)"), coerce=optional_int, validators=[Optional()]
    )
    password = PasswordField(
        _l("Temporary password (optional)"),
        validators=[Optional(strip_whitespace=False), Length(max=PASSWORD_FIELD_MAX)],
        render_kw=NEW_PASSWORD,
    )

    def set_choices(self, providers: Sequence[tuple[int, str]]) -> None:
        set_role_choices(self.role, self.provider_id, providers)

    def to_input(self) -> NewUser:
        return NewUser(
            username=self.username.data or "",
            display_name=self.display_name.data or "",
            role=Role(self.role.data),
            provider_id=self.provider_id.data,
            password=self.password.data or "",
        )


class CaregiverForm(CareappForm):
    """A provider manager's new caregiver: the login and what dispatch needs."""

    username = StringField(
        _l("Username"), validators=[DataRequired(), Length(max=64)], render_kw=USERNAME_ATTRS
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    id_number = StringField(
        _l("Resident ID number"),
        validators=[DataRequired(), Length(max=30)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30), PHONE])
    qualifications = MultiCheckboxField(_l("Qualifications"), choices=[])
    work_days = MultiCheckboxField(_l("Working days"), coerce=int, choices=[])
    work_start = TimeField(_l("Working day starts"), validators=[InputRequired()])
    work_end = TimeField(_l("Working day ends"), validators=[InputRequired()])
    base_lat = FloatField(
        _l("Base latitude"), validators=[InputRequired(), NumberRange(min=-90, max=90)]
    )
    base_lon = FloatField(
        _l("Base longitude"), validators=[InputRequired(), NumberRange(min=-180, max=180)]
    )
    max_visits_per_day = IntegerField(
        _l("Most visits a day"), default=8, validators=[InputRequired(), NumberRange(1, 30)]
    )
    password = PasswordField(
        _l("Temporary password (optional)"),
        validators=[Optional(strip_whitespace=False), Length(max=PASSWORD_FIELD_MAX)],
        render_kw=NEW_PASSWORD,
    )

    def set_choices(self) -> None:
        self.qualifications.choices = choices(Qualification)
        self.work_days.choices = [
            SelectChoice(day, weekday_name(day, "wide")) for day in range(1, 8)
        ]

    def to_input(self) -> NewCaregiver:
        return NewCaregiver(
            username=self.username.data or "",
            name=self.name.data or "",
            id_number=self.id_number.data or "",
            phone=self.phone.data or None,
            qualifications=list(self.qualifications.data or []),
            work_days=list(self.work_days.data or []),
            work_start=self.work_start.data,
            work_end=self.work_end.data,
            base_lat=float(self.base_lat.data or 0),
            base_lon=float(self.base_lon.data or 0),
            max_visits_per_day=int(self.max_visits_per_day.data or 0),
            password=self.password.data or "",
        )


class UserEditForm(CareappForm):
    """The name; for an administrator editing another staff account, the role and provider."""

    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[], validators=[Optional()])
    provider_id = SelectField(
        _l("Provider (provider managers only)"), coerce=optional_int, validators=[Optional()]
    )

    def set_choices(self, providers: Sequence[tuple[int, str]], *, with_role: bool) -> None:
        if not with_role:
            del self.role
            del self.provider_id
            return
        set_role_choices(self.role, self.provider_id, providers)

    def to_change(self) -> UserChange:
        role = getattr(self, "role", None)
        provider = getattr(self, "provider_id", None)
        return UserChange(
            display_name=self.display_name.data or "",
            role=Role(role.data) if role is not None and role.data else None,
            provider_id=provider.data if provider is not None else None,
        )


class ResetPasswordForm(CareappForm):
    password = PasswordField(
        _l("Temporary password (optional)"),
        validators=[Optional(strip_whitespace=False), Length(max=PASSWORD_FIELD_MAX)],
        render_kw=NEW_PASSWORD,
    )


class PasswordChangeForm(CareappForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX)],
        render_kw=NEW_PASSWORD,
    )
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
