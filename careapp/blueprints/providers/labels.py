"""Translated labels of statuses, problems, channels and thresholds for the provider pages."""

from __future__ import annotations

from fractions import Fraction

from flask_babel import gettext as _
from flask_babel import pgettext

from scheduling.ratings import percent_text


def status_label(value: str) -> str:
    return {
        "active": pgettext("provider status", "Active"),
        "warned": _("Warned"),
        "suspended": _("Suspended"),
        "exited": _("Exited"),
    }.get(value, value)


def kind_label(value: str) -> str:
    return {
        "home_care": _("Home care"),
        "elderly_care_institution": _("Elderly-care institution"),
        "medical_care_institution": _("Medical-care institution"),
        "volunteer": _("Volunteer organisation"),
    }.get(value, value)


def problem_label(value: str) -> str:
    return {
        "low_satisfaction": _("Satisfaction below the threshold"),
        "too_many_missed": _("Too many missed visits"),
        "too_many_complaints": _("Too many complaints"),
        "too_few_phone_verified": _("Too few visits verified on the phone"),
    }.get(value, value)


def channel_label(value: str) -> str:
    return {
        "phone": _("By phone"),
        "in_person": _("In person"),
        "letter": _("By letter"),
        "online": _("Online"),
    }.get(value, value)


def complaint_status_label(value: str) -> str:
    return {"open": _("Not yet resolved"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(
        value, value
    )


def alert_kind_label(value: str) -> str:
    return {
        "missed_visit": _("Missed visit"),
        "quality_warning": _("Quality warning"),
        "quality_suspension": _("Suspension"),
        "quality_exit": _("Exit"),
        "work_order_offer": _("Work order offer"),
    }.get(value, value)


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
            lines.append(_("Satisfaction at least %(p)s %%", p=percent_text(value)))
        elif name == "max_missed_share":
            lines.append(_("Missed visits at most %(p)s %%", p=percent_text(value)))
        elif name == "max_complaints_per_100":
            lines.append(_("At most %(n)s complaints per 100 visits", n=percent_text(value / 100)))
        elif name == "min_phone_verified":
            lines.append(_("Verified on the phone at least %(p)s %%", p=percent_text(value)))
    return lines
