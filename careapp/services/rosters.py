"""A provider manager's roster: each caregiver's route of a day, and the visits left unassigned.

The provider always comes from the actor; another provider's visit never appears.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import get_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from careapp.access import Actor
from careapp.clock import to_city
from careapp.errors import NotFoundError, PermissionDeniedError
from careapp.models.providers import Caregiver, Provider, ServiceItem
from careapp.models.users import Role
from careapp.models.visit import Visit, VisitStatus
from careapp.services.dispatch import unassigned_reason_label


@dataclass(frozen=True)
class RosterVisit:
    visit_id: int
    route_order: int | None
    window_start: dt.datetime  # city time
    window_end: dt.datetime
    planned_start: dt.datetime | None  # city time
    planned_end: dt.datetime | None
    travel_minutes: int | None
    beneficiary_name: str
    address: str
    service_items: tuple[str, ...]
    status: VisitStatus
    status_label: str
    reason: str | None  # why it is unassigned, translated
    is_hand_edited: bool


@dataclass(frozen=True)
class CaregiverRoute:
    caregiver_id: int
    name: str
    visits: tuple[RosterVisit, ...]  # in route order

    @property
    def travel_minutes(self) -> int:
        return sum(v.travel_minutes or 0 for v in self.visits)


@dataclass(frozen=True)
class RosterDay:
    day: dt.date
    provider_name: str
    routes: tuple[CaregiverRoute, ...]
    unassigned: tuple[RosterVisit, ...]

    @property
    def previous_day(self) -> dt.date:
        return self.day - dt.timedelta(days=1)

    @property
    def next_day(self) -> dt.date:
        return self.day + dt.timedelta(days=1)

    @property
    def visit_count(self) -> int:
        return sum(len(route.visits) for route in self.routes) + len(self.unassigned)


def visit_status_label(status: VisitStatus) -> str:
    labels = {
        VisitStatus.UNASSIGNED: gettext("Unassigned"),
        VisitStatus.ASSIGNED: gettext("Assigned"),
        VisitStatus.CONFIRMED: gettext("Confirmed"),
        VisitStatus.CHECKED_IN: gettext("Checked in"),
        VisitStatus.COMPLETED: gettext("Completed"),
        VisitStatus.MISSED: gettext("Missed"),
        VisitStatus.CANCELLED: gettext("Cancelled"),
    }
    return labels[status]


def roster_for_day(session: Session, actor: Actor, day: dt.date) -> RosterDay:
    """The roster of the actor's provider on `day` (provider managers only)."""
    if not actor.is_role(Role.PROVIDER_MANAGER) or actor.provider_id is None:
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
    provider = session.get(Provider, actor.provider_id)
    if provider is None:
        raise NotFoundError(gettext("Not found."))
    visits = list(
        session.scalars(
            select(Visit)
            .where(
                Visit.provider_id == provider.id,
                Visit.visit_on == day,
                Visit.status != VisitStatus.CANCELLED,
            )
            .options(joinedload(Visit.person))
            .order_by(Visit.window_start, Visit.id)
        )
    )
    caregivers = list(
        session.scalars(
            select(Caregiver).where(Caregiver.provider_id == provider.id).order_by(Caregiver.name)
        )
    )
    codes = {code for visit in visits for code in visit.service_item_codes}
    names = _service_item_names(session, codes)
    by_caregiver: dict[int, list[RosterVisit]] = {c.id: [] for c in caregivers}
    unassigned = []
    for visit in visits:
        row = _roster_visit(visit, names)
        if visit.caregiver_id is not None and visit.caregiver_id in by_caregiver:
            by_caregiver[visit.caregiver_id].append(row)
        else:
            unassigned.append(row)
    routes = tuple(
        CaregiverRoute(c.id, c.name, tuple(sorted(by_caregiver[c.id], key=_route_key)))
        for c in caregivers
        if c.is_enabled or by_caregiver[c.id]
    )
    return RosterDay(day, provider.name, routes, tuple(unassigned))


@dataclass(frozen=True)
class RosterVisitDetail:
    visit: RosterVisit
    day: dt.date
    caregiver_name: str | None
    checked_in_at: dt.datetime | None  # city time
    checked_out_at: dt.datetime | None
    check_in_flags: tuple[str, ...]
    note: str | None


def roster_visit(session: Session, actor: Actor, visit_id: int) -> RosterVisitDetail:
    """One visit of the actor's provider; another provider's visit is NotFoundError (a 404)."""
    if not actor.is_role(Role.PROVIDER_MANAGER) or actor.provider_id is None:
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
    visit = session.scalar(
        select(Visit)
        .where(Visit.id == visit_id, Visit.provider_id == actor.provider_id)
        .options(joinedload(Visit.person), joinedload(Visit.caregiver))
    )
    if visit is None:
        raise NotFoundError(gettext("Visit not found."))
    names = _service_item_names(session, set(visit.service_item_codes))
    return RosterVisitDetail(
        visit=_roster_visit(visit, names),
        day=visit.visit_on,
        caregiver_name=visit.caregiver.name if visit.caregiver else None,
        checked_in_at=to_city(visit.checked_in_at) if visit.checked_in_at else None,
        checked_out_at=to_city(visit.checked_out_at) if visit.checked_out_at else None,
        check_in_flags=tuple(visit.check_in_flags or ()),
        note=visit.note,
    )


def _route_key(visit: RosterVisit) -> tuple[bool, int, dt.datetime, int]:
    return (
        visit.route_order is None,
        visit.route_order or 0,
        visit.planned_start or visit.window_start,
        visit.visit_id,
    )


def _service_item_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    english = (locale := get_locale()) is not None and locale.language == "en"
    items = session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))
    return {item.code: item.name_en if english else item.name_zh for item in items}


def _roster_visit(visit: Visit, names: dict[str, str]) -> RosterVisit:
    has_reason = visit.caregiver_id is None and visit.status is VisitStatus.UNASSIGNED
    return RosterVisit(
        visit_id=visit.id,
        route_order=visit.route_order,
        window_start=to_city(visit.window_start),
        window_end=to_city(visit.window_end),
        planned_start=to_city(visit.planned_start) if visit.planned_start else None,
        planned_end=to_city(visit.planned_end) if visit.planned_end else None,
        travel_minutes=visit.travel_minutes,
        beneficiary_name=visit.person.name,
        address=visit.person.address,
        service_items=tuple(names.get(code, code) for code in visit.service_item_codes),
        status=visit.status,
        status_label=visit_status_label(visit.status),
        reason=unassigned_reason_label(visit.unassigned_reason) if has_reason else None,
        is_hand_edited=visit.is_hand_edited,
    )
