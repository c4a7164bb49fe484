"""Turning stored decisions into sentences and labels in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from assessments.grading import INSTRUMENTS
from careapp.eligibility.rules import BenefitCategory
from careapp.models.assessment import CareSetting
from careapp.models.people import InsuranceScheme

CARE_SETTING_LABELS: Mapping[CareSetting, LazyString] = {
    CareSetting.MEDICAL_CARE_INSTITUTION: _l("Medical nursing institution"),
    CareSetting.ELDERLY_CARE_INSTITUTION: _l("Elderly-care institution"),
    CareSetting.HOME_SERVICE: _l("At home, with door-to-door service"),
    CareSetting.HOME_CASH: _l("At home, cash subsidy"),
}

CATEGORY_LABELS: Mapping[BenefitCategory, LazyString] = {
    BenefitCategory.SEVERE: _l("Severe disability"),
    BenefitCategory.MODERATE: _l("Moderate disability"),
}

SCHEME_LABELS: Mapping[InsuranceScheme, LazyString] = {
    InsuranceScheme.EMPLOYEE: _l("employees' scheme"),
    InsuranceScheme.RESIDENT: _l("residents' scheme"),
}

RULE_LABELS: Mapping[str, LazyString] = {
    "insured": _l("Insured on the decision date"),
    "disability_duration": _l("Duration of the disability"),
    "assessment_category": _l("Assessment gives a benefit category"),
    "no_open_entitlement": _l("No open entitlement"),
}


def _is_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def instrument_name(code: str) -> str:
    """The instrument's own name in the user's language (its code if it is not known here)."""
    instrument = INSTRUMENTS.get(code)
    if instrument is None:
        return code
    return instrument.name_en if _is_english() else instrument.name_zh


def grade_label(instrument_code: str, grade: str) -> str:
    """The wording of an instrument's grade code, e.g. "severe" -> 重度依赖."""
    instrument = INSTRUMENTS.get(instrument_code)
    band = instrument.band(grade) if instrument is not None else None
    if band is None:
        return grade
    return band.label_en if _is_english() else band.label_zh


def category_label(value: str | None) -> str:
    if value is None:
        return _("none")
    return str(CATEGORY_LABELS[BenefitCategory(value)])


def _scheme_label(value: str | None) -> str:
    return str(SCHEME_LABELS[InsuranceScheme(value)]) if value else ""


def describe_reason(reason: Mapping[str, Any]) -> str:
    """One stored rule result ({rule, passed, reason_code, params}) as a sentence."""
    code = reason.get("reason_code", "")
    p: Mapping[str, Any] = reason.get("params") or {}
    if code == "insured":
        return _("Insured on %(on)s (%(scheme)s)", on=p["on"], scheme=_scheme_label(p["scheme"]))
    if code == "not_insured":
        return _("Not insured in either medical-insurance scheme on %(on)s", on=p["on"])
    if code == "disability_long_enough":
        return _(
            "Disability has lasted %(months)d months (at least %(required)d required)",
            months=p["months"],
            required=p["required"],
        )
    if code == "disability_too_short":
        return _(
            "Disability has lasted only %(months)d months (at least %(required)d required)",
            months=p["months"],
            required=p["required"],
        )
    if code == "barthel_severe":
        return _(
            "Barthel Index total %(total)d is at most %(max)d: %(category)s",
            total=p["total"],
            max=p["severe_max"],
            category=category_label(p["category"]),
        )
    if code == "barthel_moderate":
        return _(
            "Barthel Index total %(total)d is between %(low)d and %(high)d: %(category)s",
            total=p["total"],
            low=p["severe_max"] + 1,
            high=p["moderate_max"],
            category=category_label(p["category"]),
        )
    if code == "barthel_above_bands":
        return _(
            "Barthel Index total %(total)d is above %(max)d: no benefit category",
            total=p["total"],
            max=p["moderate_max"],
        )
    if code == "grade_category":
        return _(
            "%(instrument)s grade “%(grade)s” (total %(total)s): %(category)s",
            instrument=instrument_name(p["instrument"]),
            grade=grade_label(p["instrument"], p["grade"]),
            total=p["total"],
            category=category_label(p["category"]),
        )
    if code == "grade_no_category":
        return _(
            "%(instrument)s grade “%(grade)s” (total %(total)s) gives no benefit category",
            instrument=instrument_name(p["instrument"]),
            grade=grade_label(p["instrument"], p["grade"]),
            total=p["total"],
        )
    if code == "national_grade":
        return _(
            "National standard disability grade %(grade)d: %(category)s",
            grade=p["grade_number"],
            category=category_label(p["category"]),
        )
    if code == "national_grade_too_low":
        return _(
            "National standard disability grade %(grade)d gives no benefit category",
            grade=p["grade_number"],
        )
    if code == "total_missing":
        return _("The assessment has no total")
    if code == "grade_unrecognised":
        return _("The assessment grade %(grade)s is not recognised", grade=p.get("grade"))
    if code == "instrument_unknown":
        return _(
            "The instrument %(instrument)s gives no benefit category under this policy",
            instrument=p.get("instrument"),
        )
    if code == "no_open_entitlement":
        return _("The person has no open entitlement")
    if code == "open_entitlement":
        return _("The person already has an open entitlement")
    return str(code)


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return str(label) if label is not None else rule
