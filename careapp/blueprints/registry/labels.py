"""Translated labels of the registry's enums, for selects and pages."""

from __future__ import annotations

import enum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from careapp.models.people import HouseholdType, InsuranceScheme, InsuranceStatus, Sex

LABELS: dict[enum.Enum, LazyString] = {
    HouseholdType.URBAN: _l("Urban household"),
    HouseholdType.RURAL: _l("Rural household"),
    HouseholdType.OTHER_CITY: _l("Household of another city"),
    InsuranceScheme.EMPLOYEE: _l("Employees' medical insurance"),
    InsuranceScheme.RESIDENT: _l("Urban and rural residents' medical insurance"),
    InsuranceStatus.ACTIVE: _l("Active"),
    InsuranceStatus.SUSPENDED: _l("Suspended"),
    InsuranceStatus.ENDED: _l("Ended"),
    Sex.MALE: _l("Male"),
    Sex.FEMALE: _l("Female"),
}


def choices(enum_cls: type[enum.Enum]) -> list[SelectChoice]:
    """Select choices (value, translated label) for every member of `enum_cls`."""
    return [SelectChoice(str(member.value), LABELS[member]) for member in enum_cls]
