"""Translated labels of visit statuses and check-in flags, for the caregiver's pages (and the
manager's and reviewer's pages of the same visit)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import LazyString, gettext
from flask_babel import lazy_gettext as _l

from scheduling.visits import VisitStatus

STATUS_LABELS: dict[str, LazyString] = {
    VisitStatus.UNASSIGNED.value: _l("Not assigned"),
    VisitStatus.ASSIGNED.value: _l("To do"),
    VisitStatus.CONFIRMED.value: _l("Confirmed"),
    VisitStatus.CHECKED_IN.value: _l("In progress"),
    VisitStatus.COMPLETED.value: _l("Done"),
    VisitStatus.MISSED.value: _l("Missed"),
    VisitStatus.CANCELLED.value: _l("Cancelled"),
}

# Badge colours of the statuses (classes of static/css/app.css).
STATUS_BADGES: dict[str, str] = {
    VisitStatus.CHECKED_IN.value: "badge-warn",
    VisitStatus.COMPLETED.value: "badge-good",
    VisitStatus.MISSED.value: "badge-bad",
    VisitStatus.CANCELLED.value: "badge-bad",
}

FLAG_LABELS: dict[str, LazyString] = {
    "far_from_home": _l("Far from the home"),
    "outside_window": _l("Outside the time window"),
    "no_location": _l("No location"),
}


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
