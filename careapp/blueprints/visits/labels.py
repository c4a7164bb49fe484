"""Translated labels of visit statuses and check-in flags, for the caregiver's pages."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from careapp.models.visit import VisitStatus

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
