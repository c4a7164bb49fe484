"""Sentences and names built from stored facts, in the user's language: eligibility rules and
reasons, instruments and grades, claim flags, check-ins, quality figures and rules' sources. The
certificate services and the print-batch job take the eligibility wording as `WORDING`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from assessments.grading import INSTRUMENTS
from assessments.instruments import barthel, national_2021
from careapp.core.clock import to_city
from careapp.models.assessment import CareSetting
from careapp.models.people import InsuranceScheme
from careapp.services.certificates import Wording
from careapp.services.claims import FlagRow
from careapp.services.i18n import localized
from careapp.web.labels import (
    CARE_SETTING_LABELS,
    CLAIM_FLAG_PLACE_LABELS,
    INSURANCE_SCHEME_LABELS,
    category_label,
)
from scheduling.claims import ClaimFlagKind
from scheduling.ratings import percent_text

RULE_LABELS: Mapping[str, LazyString] = {
    "insured": _l("Insured on the decision date"),
    "disability_duration": _l("Duration of the disability"),
    "assessment_category": _l("Assessment gives a benefit category"),
    "no_open_entitlement": _l("No open entitlement"),
}


def instrument_name(code: str) -> str:
    """The instrument's own name in the user's language (its code if it is not known here)."""
    instrument = INSTRUMENTS.get(code)
    if instrument is None:
        return code
    return localized(instrument)


def grade_label(instrument_code: str, grade: str) -> str:
    """The wording of an instrument's grade code, e.g. "severe" -> 重度依赖."""
    instrument = INSTRUMENTS.get(instrument_code)
    band = instrument.band(grade) if instrument is not None else None
    if band is None:
        return grade
    return localized(band, "label")


def _scheme_label(value: str | None) -> str:
    return str(INSURANCE_SCHEME_LABELS[InsuranceScheme(value)]) if value else ""


def describe_reason(reason: Mapping[str, Any]) -> str:
    """One stored rule result ({rule, passed, reason_code, params}) as a sentence."""
    code = reason.get("reason_code", "")
    p: Mapping[str, Any] = reason.get("params") or {}
    if code == "insured":
        return gettext(
            "Insured on %(on)s (%(scheme)s)", on=p["on"], scheme=_scheme_label(p["scheme"])
        )
    if code == "not_insured":
        return gettext("Not insured in either medical-insurance scheme on %(on)s", on=p["on"])
    if code == "disability_long_enough":
        return gettext(
            "Disability has lasted %(months)d months (at least %(required)d required)",
            months=p["months"],
            required=p["required"],
        )
    if code == "disability_too_short":
        return gettext(
            "Disability has lasted only %(months)d months (at least %(required)d required)",
            months=p["months"],
            required=p["required"],
        )
    if code == "barthel_severe":
        return gettext(
            "Barthel Index total %(total)d is at most %(max)d: %(category)s",
            total=p["total"],
            max=p["severe_max"],
            category=category_label(p["category"]),
        )
    if code == "barthel_moderate":
        return gettext(
            "Barthel Index total %(total)d is between %(low)d and %(high)d: %(category)s",
            total=p["total"],
            low=p["severe_max"] + 1,
            high=p["moderate_max"],
            category=category_label(p["category"]),
        )
    if code == "barthel_above_bands":
        return gettext(
            "Barthel Index total %(total)d is above %(max)d: no benefit category",
            total=p["total"],
            max=p["moderate_max"],
        )
    if code == "grade_category":
        return gettext(
            "%(instrument)s grade “%(grade)s” (total %(total)s): %(category)s",
            instrument=instrument_name(p["instrument"]),
            grade=grade_label(p["instrument"], p["grade"]),
            total=p["total"],
            category=category_label(p["category"]),
        )
    if code == "grade_no_category":
        return gettext(
            "%(instrument)s grade “%(grade)s” (total %(total)s) gives no benefit category",
            instrument=instrument_name(p["instrument"]),
            grade=grade_label(p["instrument"], p["grade"]),
            total=p["total"],
        )
    if code == "national_grade":
        return gettext(
            "National standard disability grade %(grade)d: %(category)s",
            grade=p["grade_number"],
            category=category_label(p["category"]),
        )
    if code == "national_grade_too_low":
        return gettext(
            "National standard disability grade %(grade)d gives no benefit category",
            grade=p["grade_number"],
        )
    if code == "total_missing":
        return gettext("The assessment has no total")
    if code == "grade_unrecognised":
        return gettext("The assessment grade %(grade)s is not recognised", grade=p.get("grade"))
    if code == "instrument_unknown":
        return gettext(
            "The instrument %(instrument)s gives no benefit category under this policy",
            instrument=p.get("instrument"),
        )
    if code == "no_open_entitlement":
        return gettext("The person has no open entitlement")
    if code == "open_entitlement":
        return gettext("The person already has an open entitlement")
    return str(code)


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return str(label) if label is not None else rule


def _care_setting(setting: CareSetting) -> str:
    return str(CARE_SETTING_LABELS[setting])


WORDING = Wording(
    rule=rule_label,
    reason=describe_reason,
    category=category_label,
    care_setting=_care_setting,
)


def _time(value: Any) -> str:
    if not value:
        return "?"
    return f"{to_city(dt.datetime.fromisoformat(str(value))):%H:%M}"


def _number(value: Any) -> str:
    return f"{float(value):g}" if value is not None else "?"


def explain(row: FlagRow) -> str:
    """The sentence a reviewer (or the provider's manager) reads for this flag."""
    flag, visit = row.flag, row.flag.visit
    detail: dict[str, Any] = flag.detail or {}
    caregiver = row.caregiver_name or gettext("(no caregiver)")
    kind = flag.kind
    if kind is ClaimFlagKind.OVERLAPPING_VISITS:
        values = {
            "caregiver": caregiver,
            "visit": detail.get("other_visit_id"),
            "start": _time(detail.get("other_checked_in_at")),
            "end": _time(detail.get("other_checked_out_at")),
            "minutes": _number(detail.get("overlap_minutes")),
        }
        if detail.get("same_caregiver"):
            return gettext(
                "Caregiver %(caregiver)s was also checked in at another home (visit %(visit)s, "
                "%(start)s–%(end)s) at the same time, for %(minutes)s minutes.",
                **values,
            )
        if detail.get("other_provider_id") != visit.provider_id:
            return gettext(
                "Caregiver %(caregiver)s (the same person, by ID number, also works for another "
                "provider) was checked in at another home for that provider (visit %(visit)s, "
                "%(start)s–%(end)s) at the same time, for %(minutes)s minutes.",
                **values,
            )
        return gettext(
            "Caregiver %(caregiver)s (the same person, by ID number, as another caregiver record "
            "of this provider) was checked in at another home (visit %(visit)s, "
            "%(start)s–%(end)s) at the same time, for %(minutes)s minutes.",
            **values,
        )
    if kind is ClaimFlagKind.IMPOSSIBLE_TRAVEL:
        values = {
            "caregiver": caregiver,
            "km": f"{float(detail.get('distance_m') or 0) / 1000:.1f}",
            "previous": detail.get("previous_visit_id"),
            "place": CLAIM_FLAG_PLACE_LABELS.get(str(detail.get("from_place")), "?"),
            "left": _time(detail.get("left_at")),
            "arrived": _time(detail.get("arrived_at")),
            "minutes": _number(detail.get("minutes")),
            "speed": _number(detail.get("speed_kmh")),
            "limit": _number(detail.get("max_speed_kmh")),
        }
        if detail.get("speed_kmh") is None:
            return gettext(
                "Caregiver %(caregiver)s checked in here at %(arrived)s, %(km)s km from "
                "visit %(previous)s (%(place)s), which they only left at %(left)s: nobody can "
                "be in both places.",
                **values,
            )
        return gettext(
            "Caregiver %(caregiver)s checked in here at %(arrived)s, %(km)s km from visit "
            "%(previous)s (%(place)s) left at %(left)s: %(minutes)s minutes means "
            "%(speed)s km/h, faster than the %(limit)s km/h possible.",
            **values,
        )
    if kind is ClaimFlagKind.DURING_HOSPITAL_STAY:
        if detail.get("discharged_on"):
            return gettext(
                "The visit on %(day)s falls in the beneficiary's hospital stay (admitted on "
                "%(admitted)s, discharged on %(discharged)s), when the benefit is suspended.",
                day=detail.get("visit_on"),
                admitted=detail.get("admitted_on"),
                discharged=detail.get("discharged_on"),
            )
        return gettext(
            "The visit on %(day)s falls in the beneficiary's hospital stay (admitted on "
            "%(admitted)s, not yet discharged), when the benefit is suspended.",
            day=detail.get("visit_on"),
            admitted=detail.get("admitted_on"),
        )
    if kind is ClaimFlagKind.FAR_FROM_HOME:
        if detail.get("distance_m") is None:
            return gettext(
                "The check-in was recorded as far from the home; the distance cannot be "
                "measured now (the home or the position has no coordinates)."
            )
        return gettext(
            "Caregiver %(caregiver)s checked in %(distance)s m from the home, more than the "
            "%(limit)s m allowed.",
            caregiver=caregiver,
            distance=detail.get("distance_m"),
            limit=_number(detail.get("max_distance_m")),
        )
    if kind is ClaimFlagKind.SHORT_VISIT:
        return gettext(
            "Caregiver %(caregiver)s checked out after %(actual)s minutes (%(start)s–%(end)s), "
            "less than the %(minimum)s minutes required of the %(planned)s minutes of service "
            "items planned.",
            caregiver=caregiver,
            actual=_number(detail.get("actual_minutes")),
            start=_time(detail.get("checked_in_at")),
            end=_time(detail.get("checked_out_at")),
            minimum=_number(detail.get("min_minutes")),
            planned=detail.get("planned_minutes"),
        )
    return gettext(
        "The visit was entered by hand afterwards (%(start)s–%(end)s) instead of being verified "
        "on the caregiver's phone at the home.",
        start=_time(detail.get("checked_in_at")),
        end=_time(detail.get("checked_out_at")),
    )


def distance_text(metres: int) -> str:
    """350 m, or 6.6 km from a kilometre up."""
    if metres < 1000:
        return gettext("%(metres)d m", metres=metres)
    return gettext("%(km)s km", km=f"{metres / 1000:.1f}")


def check_in_place(flags: Sequence[str] | None, distance_m: int | None) -> str:
    """Where the caregiver checked in, as every page of the visit says it: never "at the
    client's home" when the check-in was flagged far from it or had no position."""
    flags = flags or ()
    if "no_location" in flags:
        return gettext("Checked in without a location from the phone — flagged")
    if "far_from_home" in flags:
        if distance_m is None:
            return gettext("Checked in far from the client's home — flagged")
        return gettext(
            "Checked in %(distance)s from the client's home — flagged",
            distance=distance_text(distance_m),
        )
    if distance_m is None:
        return gettext("Checked in on the phone (the home has no map location to compare)")
    return gettext(
        "Checked in at the client's home (%(distance)s away)", distance=distance_text(distance_m)
    )


def share_percent(part: int, whole: int) -> str:
    """The share as a percentage with one decimal ("80.0"), exactly; "" for nothing."""
    return percent_text(Fraction(part, whole)) if whole else ""


def share_text(part: int, whole: int) -> str:
    """ "12 / 15 (80.0 %)", or "–" when there is nothing to share."""
    if not whole:
        return "–"
    return f"{part} / {whole} ({percent_text(Fraction(part, whole))} %)"


def threshold_lines(thresholds: dict[str, str]) -> list[str]:
    """The thresholds stored on an evaluation, one readable line each."""
    lines = []
    for name, text in sorted(thresholds.items()):
        value = Fraction(text)
        if name == "min_satisfaction":
            lines.append(gettext("Satisfaction at least %(p)s %%", p=percent_text(value)))
        elif name == "max_missed_share":
            lines.append(gettext("Missed visits at most %(p)s %%", p=percent_text(value)))
        elif name == "max_complaints_per_100":
            lines.append(
                gettext("At most %(n)s complaints per 100 visits", n=percent_text(value / 100))
            )
        elif name == "min_phone_verified":
            lines.append(gettext("Verified on the phone at least %(p)s %%", p=percent_text(value)))
    return lines


# Where each instrument's default figures come from: stored (in English) with the rules of
# every policy version that keeps them, worded here in the user's language. A source an
# administrator wrote is shown as written.
DEFAULT_SOURCES = {
    barthel.SOURCE: _l(
        "Mahoney & Barthel 1965; bands of the common Chinese form 日常生活能力评定量表: "
        "≤40 severe, 41–60 moderate, 61–99 mild, 100 independent."
    ),
    national_2021.SOURCE: _l(
        "《长期护理失能等级评估标准（试行）》医保办发〔2021〕37号 (2021-08-03). "
        "Default level bands and combination table as published in implementations; "
        "the C2/C3 bands and the table cells were not checked against the official annex: "
        "correct them in a policy version if they differ."
    ),
}


def source_text(source: str) -> str:
    """A rules' source as shown: an instrument's default one in the user's language."""
    return str(DEFAULT_SOURCES.get(source, source))
