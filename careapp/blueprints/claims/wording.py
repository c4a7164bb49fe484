"""Each flag in a full sentence (zh/en) from its kind and the facts it recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from careapp.core.clock import to_city
from careapp.models.claims import ClaimFlagKind, ClaimFlagStatus
from careapp.services.claims import FlagRow

KIND_LABELS: dict[str, LazyString] = {
    ClaimFlagKind.OVERLAPPING_VISITS.value: _l("Two homes at once"),
    ClaimFlagKind.IMPOSSIBLE_TRAVEL.value: _l("Impossible travel"),
    ClaimFlagKind.DURING_HOSPITAL_STAY.value: _l("During a hospital stay"),
    ClaimFlagKind.FAR_FROM_HOME.value: _l("Far from the home"),
    ClaimFlagKind.MANUAL_ENTRY.value: _l("Entered by hand"),
    ClaimFlagKind.SHORT_VISIT.value: _l("Visit too short"),
}

STATUS_LABELS: dict[str, LazyString] = {
    ClaimFlagStatus.OPEN.value: _l("Awaiting review"),
    ClaimFlagStatus.CLEARED.value: _l("Cleared"),
    ClaimFlagStatus.UPHELD.value: _l("Refused (flag upheld)"),
}

STATUS_MEANINGS: dict[str, LazyString] = {
    ClaimFlagStatus.OPEN.value: _l("The visit is not paid until an administrator reviews it."),
    ClaimFlagStatus.CLEARED.value: _l("Accepted: the visit can be paid."),
    ClaimFlagStatus.UPHELD.value: _l("Refused: the visit is never paid."),
}

STATUS_BADGES: dict[str, str] = {
    ClaimFlagStatus.OPEN.value: "badge-warn",
    ClaimFlagStatus.CLEARED.value: "badge-good",
    ClaimFlagStatus.UPHELD.value: "badge-bad",
}

PLACE_LABELS: dict[str, LazyString] = {
    "check_in": _l("its check-in position"),
    "check_out": _l("its check-out position"),
    "home": _l("the home"),
}


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
            "place": PLACE_LABELS.get(str(detail.get("from_place")), "?"),
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
