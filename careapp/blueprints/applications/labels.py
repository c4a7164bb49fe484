"""Translated labels of the application enums (reusable by other blueprints)."""

from __future__ import annotations

import enum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from careapp.blueprints.registry.labels import LABELS as REGISTRY_LABELS
from careapp.models.assessment import Applicant, ApplicationKind, ApplicationStatus, CareSetting
from careapp.models.procedure import ObjectionSource, ObjectionStatus

LABELS: dict[enum.Enum, LazyString] = {
    **REGISTRY_LABELS,
    Applicant.SELF: _l("The insured person"),
    Applicant.FAMILY: _l("Family member"),
    Applicant.INSTITUTION: _l("Caring institution"),
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.ASSESSING: _l("Assessing"),
    ApplicationStatus.ASSESSED: _l("Assessed"),
    ApplicationStatus.PUBLICITY: _l("Publicity"),
    ApplicationStatus.DECIDED: _l("Decided"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
    ApplicationKind.INITIAL: _l("First application"),
    ApplicationKind.APPEAL: _l("Appeal"),
    ApplicationKind.REASSESSMENT: _l("Re-assessment"),
    ObjectionSource.APPLICANT: _l("The applicant or family"),
    ObjectionSource.PUBLIC: _l("A member of the public"),
    ObjectionStatus.OPEN: _l("Open"),
    ObjectionStatus.DISMISSED: _l("Dismissed"),
    ObjectionStatus.UPHELD: _l("Upheld"),
    CareSetting.MEDICAL_CARE_INSTITUTION: _l("Medical care institution"),
    CareSetting.ELDERLY_CARE_INSTITUTION: _l("Elderly care institution"),
    CareSetting.HOME_SERVICE: _l("Care at home by a contracted company"),
    CareSetting.HOME_CASH: _l("Care at home by the family (cash subsidy)"),
}

STATUS_BADGES: dict[ApplicationStatus, str] = {
    ApplicationStatus.SUBMITTED: "badge",
    ApplicationStatus.ASSESSING: "badge badge-warn",
    ApplicationStatus.ASSESSED: "badge badge-warn",
    ApplicationStatus.PUBLICITY: "badge badge-warn",
    ApplicationStatus.DECIDED: "badge badge-good",
    ApplicationStatus.WITHDRAWN: "badge badge-bad",
}


def label(member: enum.Enum) -> str:
    """The label of an enum member in the user's language (its value if none is defined)."""
    found = LABELS.get(member)
    return str(found) if found is not None else str(member.value)


def choices(enum_cls: type[enum.Enum]) -> list[SelectChoice]:
    return [SelectChoice(str(member.value), LABELS[member]) for member in enum_cls]
