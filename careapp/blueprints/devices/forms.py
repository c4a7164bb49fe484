"""Forms of the device pages: they check shape only; the service checks the rules."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, Regexp

from careapp.core.money import format_yuan
from careapp.models.devices import DeviceProvision
from careapp.services.devices import (
    CODE_MAX,
    CONDITION_MAX,
    NAME_MAX,
    SERIAL_MAX,
    CatalogueRow,
    DeviceTypeInput,
    LoanInput,
    ReturnInput,
    describe_device,
)
from careapp.web.forms import CareappForm

YUAN = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
COUNT_MAX = 100_000


def yuan_to_fen(text: str | None) -> int | None:
    """`"300"` -> 30000, `"12.5"` -> 1250 (exact, no float); None if it is not an amount."""
    value = (text or "").strip()
    if not YUAN.match(value):
        return None
    whole, _, cents = value.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0"))


class DeviceFiguresForm(CareappForm):
    """What an administrator may change on a device type: names and figures."""

    name_zh = StringField(_l("Chinese name"), validators=[InputRequired(), Length(max=NAME_MAX)])
    name_en = StringField(_l("English name"), validators=[InputRequired(), Length(max=NAME_MAX)])
    subsidy_yuan = StringField(
        _l("Subsidy (yuan)"),
        validators=[
            InputRequired(),
            Regexp(YUAN.pattern, message=_l("Enter an amount in yuan, e.g. 300 or 300.50.")),
        ],
        render_kw={"inputmode": "decimal"},
    )
    max_loan_days = IntegerField(
        _l("Longest loan (days)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
        render_kw={"inputmode": "numeric"},
    )
    stock = IntegerField(
        _l("Devices in stock"),
        validators=[Optional(), NumberRange(min=0, max=COUNT_MAX)],
        render_kw={"inputmode": "numeric"},
    )

    def figures(self, code: str, provision: DeviceProvision) -> DeviceTypeInput:
        return DeviceTypeInput(
            code=code,
            name_zh=self.name_zh.data or "",
            name_en=self.name_en.data or "",
            provision=provision,
            subsidy_fen=yuan_to_fen(self.subsidy_yuan.data),
            max_loan_days=self.max_loan_days.data,
            stock=self.stock.data,
        )


class DeviceTypeForm(DeviceFiguresForm):
    """A new device type: its code and how it is provided are fixed from then on."""

    code = StringField(
        _l("Code"),
        validators=[InputRequired(), Length(max=CODE_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    provision = SelectField(
        _l("Provided as"),
        choices=[
            SelectChoice(DeviceProvision.LOAN.value, _l("Loan")),
            SelectChoice(DeviceProvision.PURCHASE_SUBSIDY.value, _l("Purchase subsidy")),
        ],
        default=DeviceProvision.LOAN.value,
    )

    def to_input(self) -> DeviceTypeInput:
        return self.figures(self.code.data or "", DeviceProvision(self.provision.data))


class ActiveForm(CareappForm):
    is_active = HiddenField(validators=[InputRequired(), AnyOf(["0", "1"])])


class LoanForm(CareappForm):
    device_type_id = SelectField(_l("Device"), coerce=int, validators=[InputRequired()])
    starts_on = DateField(_l("Start date (or date granted)"), validators=[InputRequired()])
    due_on = DateField(_l("Due back on"), validators=[Optional()])
    serial_number = StringField(
        _l("Serial number (optional)"),
        validators=[Optional(), Length(max=SERIAL_MAX)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    def set_devices(self, rows: Iterable[CatalogueRow]) -> None:
        self.device_type_id.choices = [
            SelectChoice(row.device.id, describe_device(row.device, row.available)) for row in rows
        ]

    def to_input(self) -> LoanInput:
        return LoanInput(
            device_type_id=self.device_type_id.data,
            starts_on=self.starts_on.data,
            due_on=self.due_on.data,
            serial_number=self.serial_number.data or None,
        )


class ReturnForm(CareappForm):
    returned_on = DateField(_l("Returned on"), validators=[InputRequired()])
    condition = TextAreaField(
        _l("Condition of the device"),
        validators=[InputRequired(), Length(max=CONDITION_MAX)],
        render_kw={"rows": 2},
    )

    def to_input(self) -> ReturnInput:
        return ReturnInput(returned_on=self.returned_on.data, condition=self.condition.data or "")


def yuan_text(fen: int) -> str:
    """An amount as the subsidy field shows it (`30000` -> `"300.00"`, no thousands separator)."""
    return format_yuan(fen).replace(",", "")
