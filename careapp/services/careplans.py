"""Care plans: a beneficiary at home, a provider of their district, items, days and a window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.core.money import format_yuan
from careapp.models.eligibility import Entitlement
from careapp.models.people import District, Person
from careapp.models.providers import (
    Caregiver,
    Provider,
    ProviderKind,
    ServiceItem,
)
from careapp.models.users import Role
from careapp.models.visit import CarePlan, CarePlanItem
from careapp.services import work_orders
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.catalogue import list_service_items
from careapp.services.eligibility import care_plan_refusal
from careapp.services.i18n import localized
from scheduling.quality import ProviderStatus

# Visits happen between these times (spec: time windows between 07:00 and 20:00).
EARLIEST_VISIT = dt.time(7, 0)
LATEST_VISIT = dt.time(20, 0)
# Providers that may take new clients (a warned provider still serves; suspended/exited do not).
SERVING_STATUSES = (ProviderStatus.ACTIVE, ProviderStatus.WARNED)
# Who runs a care plan: a home-care company (paid, one active plan per entitlement, within the
# monthly budget) or a volunteer organisation (unpaid visits, in addition to the paid plan).
PLAN_PROVIDER_KINDS = (ProviderKind.HOME_CARE, ProviderKind.VOLUNTEER)


@dataclass(frozen=True)
class CarePlanInput:
    provider_id: int | None
    service_item_ids: Sequence[int]
    weekdays: Sequence[int]  # ISO weekdays, 1 = Monday
    window_start: dt.time | None
    window_end: dt.time | None
    preferred_caregiver_id: int | None = None


@dataclass(frozen=True)
class CarePlanOptions:
    """What the new-plan page offers for one entitlement."""

    entitlement: Entitlement
    providers: list[Provider]  # eligible providers of the person's district, with caregivers
    service_items: list[ServiceItem]
    existing_plan_id: int | None  # the active paid plan
    is_volunteer: bool = False  # the page plans unpaid visits of a volunteer organisation


@dataclass(frozen=True)
class CarePlanCost:
    per_visit_fen: int
    max_visit_days: int
    monthly_fen: int
    budget_fen: int | None
    is_volunteer: bool = False  # unpaid visits: never settled, not charged to the budget


def max_visit_days_in_month(weekdays: Iterable[int]) -> int:
    """The most days on these ISO weekdays that any month can hold (a 31-day month, best start)."""
    chosen = set(weekdays)
    return max(
        sum(1 for offset in range(31) if (start + offset) % 7 + 1 in chosen) for start in range(7)
    )


def care_plan_cost(plan: CarePlan) -> CarePlanCost:
    per_visit = sum(item.service_item.unit_price_fen for item in plan.items)
    days = max_visit_days_in_month(plan.weekdays)
    return CarePlanCost(
        per_visit,
        days,
        per_visit * days,
        plan.entitlement.monthly_budget_fen,
        is_volunteer=is_volunteer_plan(plan),
    )


def is_volunteer_plan(plan: CarePlan) -> bool:
    """A volunteer organisation's plan: its visits are unpaid."""
    return plan.provider.kind is ProviderKind.VOLUNTEER


def care_plan_options(
    session: Session, actor: Actor, entitlement_id: int, *, volunteer: bool = False
) -> CarePlanOptions:
    """What the new-plan page offers: home-care companies (the paid plan) or, with
    `volunteer`, volunteer organisations (unpaid visits in addition to the paid plan)."""
    actor.require(Role.ADMIN)
    entitlement = _load_entitlement(session, entitlement_id)
    _check_plan_allowed(entitlement, is_paid=not volunteer)
    kind = ProviderKind.VOLUNTEER if volunteer else ProviderKind.HOME_CARE
    providers = list(
        session.scalars(
            select(Provider)
            .where(
                Provider.kind == kind,
                Provider.status.in_(SERVING_STATUSES),
                Provider.districts.any(District.code == entitlement.person.district_code),
            )
            .options(selectinload(Provider.caregivers))
            .order_by(Provider.name, Provider.id)
        )
    )
    accepted = None if volunteer else work_orders.accepted_new_client_order(session, entitlement.id)
    if accepted is not None:  # a provider accepted the client's work order: the plan is theirs
        providers = [p for p in providers if p.id == accepted.accepted_provider_id]
    return CarePlanOptions(
        entitlement=entitlement,
        providers=providers,
        service_items=list_service_items(session),
        existing_plan_id=_active_plan_id(session, entitlement.id),
        is_volunteer=volunteer,
    )


def create_care_plan(
    session: Session,
    actor: Actor,
    entitlement_id: int,
    data: CarePlanInput,
    now: dt.datetime,
) -> CarePlan:
    """Check every rule of a home-care plan (each refusal names its field) and store the plan.

    A home-care company's plan is paid: one active per entitlement, within the monthly budget.
    A volunteer organisation's plan is unpaid: it comes in addition to the paid plan (one per
    organisation) and has no budget check.
    """
    actor.require(Role.ADMIN)
    entitlement = _load_entitlement(session, entitlement_id, for_update=True)
    chosen = session.get(Provider, data.provider_id) if data.provider_id is not None else None
    is_volunteer = chosen is not None and chosen.kind is ProviderKind.VOLUNTEER
    _check_plan_allowed(entitlement, is_paid=not is_volunteer)
    budget = None if is_volunteer else entitlement.monthly_budget_fen
    if not is_volunteer and _active_plan_id(session, entitlement.id) is not None:
        raise ConflictError(gettext("This entitlement already has an active care plan."))
    provider = _check_provider(session, data.provider_id, entitlement.person)
    work_order = (
        None
        if is_volunteer
        else work_orders.check_plan_provider(session, entitlement.id, provider.id)
    )
    if is_volunteer and _active_plan_id(session, entitlement.id, provider.id) is not None:
        raise ConflictError(
            gettext("%(name)s already has an active plan for this beneficiary.", name=provider.name)
        )
    items = _check_items(session, data.service_item_ids)
    weekdays = _check_weekdays(data.weekdays)
    duration = sum(item.duration_minutes for item in items)
    window_start, window_end = _check_window(data.window_start, data.window_end, duration)
    caregiver = _check_caregiver(session, data.preferred_caregiver_id, provider, items)
    monthly = sum(item.unit_price_fen for item in items) * max_visit_days_in_month(weekdays)
    if budget is not None and monthly > budget:
        raise InvalidInputError(
            gettext(
                "In its costliest month this plan costs %(total)s yuan, more than the monthly "
                "budget of %(budget)s yuan. Choose fewer items or fewer days.",
                total=format_yuan(monthly),
                budget=format_yuan(budget),
            ),
            field="service_item_ids",
        )
    plan = CarePlan(
        entitlement=entitlement,
        person_id=entitlement.person_id,
        provider=provider,
        preferred_caregiver=caregiver,
        weekdays=weekdays,
        window_start=window_start,
        window_end=window_end,
        starts_on=max(city_today(now), entitlement.starts_on),
        ends_on=None,
        is_active=True,
        items=[CarePlanItem(service_item=item) for item in items],
    )
    session.add(plan)
    session.flush()
    if work_order is not None:
        work_orders.link_care_plan(work_order, plan)
    record_event(
        session,
        actor,
        "careplan.create",
        "care_plan",
        plan.id,
        now=now,
        detail={
            "entitlement_id": entitlement.id,
            "provider_id": provider.id,
            "service_items": [item.code for item in items],
            "weekdays": weekdays,
            "monthly_fen": monthly,
            "is_volunteer": is_volunteer,
        },
    )
    return plan


def get_care_plan(session: Session, actor: Actor, care_plan_id: int) -> CarePlan:
    actor.require(Role.ADMIN)
    plan = session.scalar(
        select(CarePlan)
        .where(CarePlan.id == care_plan_id)
        .options(
            selectinload(CarePlan.person).selectinload(Person.district),
            selectinload(CarePlan.provider),
            selectinload(CarePlan.preferred_caregiver),
            selectinload(CarePlan.entitlement),
            selectinload(CarePlan.items).selectinload(CarePlanItem.service_item),
        )
    )
    if plan is None:
        raise NotFoundError(gettext("Not found."))
    return plan


def _load_entitlement(
    session: Session, entitlement_id: int, *, for_update: bool = False
) -> Entitlement:
    query = (
        select(Entitlement)
        .where(Entitlement.id == entitlement_id)
        .options(selectinload(Entitlement.person).selectinload(Person.district))
    )
    if for_update:  # one plan per entitlement, even when two administrators save at once
        query = query.with_for_update()
    entitlement = session.scalar(query)
    if entitlement is None:
        raise NotFoundError(gettext("Not found."))
    return entitlement


def _check_plan_allowed(entitlement: Entitlement, *, is_paid: bool) -> None:
    """The entitlement may have this kind of care plan (the rule the pages offer it by)."""
    refusal = care_plan_refusal(entitlement, is_paid=is_paid)
    if refusal is not None:
        raise ConflictError(refusal)


def _active_plan_id(
    session: Session, entitlement_id: int, volunteer_provider_id: int | None = None
) -> int | None:
    """The entitlement's active paid plan, or its active plan with this volunteer provider."""
    query = (
        select(CarePlan.id)
        .join(CarePlan.provider)
        .where(CarePlan.entitlement_id == entitlement_id, CarePlan.is_active.is_(True))
    )
    if volunteer_provider_id is None:
        query = query.where(Provider.kind != ProviderKind.VOLUNTEER)
    else:
        query = query.where(CarePlan.provider_id == volunteer_provider_id)
    return session.scalar(query.order_by(CarePlan.id).limit(1))


def _check_provider(session: Session, provider_id: int | None, person: Person) -> Provider:
    provider = session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        raise InvalidInputError(gettext("Choose a provider."), field="provider_id")
    if provider.kind not in PLAN_PROVIDER_KINDS:
        raise InvalidInputError(
            gettext("%(name)s is not a home-care company.", name=provider.name),
            field="provider_id",
        )
    if provider.status not in SERVING_STATUSES:
        raise InvalidInputError(
            gettext("%(name)s is suspended or has left the scheme.", name=provider.name),
            field="provider_id",
        )
    if person.district_code not in {district.code for district in provider.districts}:
        raise InvalidInputError(
            gettext(
                "%(name)s does not serve %(district)s.",
                name=provider.name,
                district=localized(person.district),
            ),
            field="provider_id",
        )
    return provider


def _check_items(session: Session, item_ids: Sequence[int]) -> list[ServiceItem]:
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        raise InvalidInputError(
            gettext("Choose at least one service item."), field="service_item_ids"
        )
    found = {
        item.id: item
        for item in session.scalars(select(ServiceItem).where(ServiceItem.id.in_(wanted)))
    }
    if len(found) != len(wanted):
        raise InvalidInputError(
            gettext("A chosen service item does not exist."), field="service_item_ids"
        )
    return [found[item_id] for item_id in wanted]


def _check_weekdays(weekdays: Sequence[int]) -> list[int]:
    days = sorted(set(weekdays))
    if not days:
        raise InvalidInputError(gettext("Choose at least one day of the week."), field="weekdays")
    if days[0] < 1 or days[-1] > 7:
        raise InvalidInputError(gettext("Days of the week are 1 to 7."), field="weekdays")
    return days


def _check_window(
    start: dt.time | None, end: dt.time | None, duration_minutes: int
) -> tuple[dt.time, dt.time]:
    if start is None:
        raise InvalidInputError(gettext("Give the start of the time window."), field="window_start")
    if end is None:
        raise InvalidInputError(gettext("Give the end of the time window."), field="window_end")
    if start < EARLIEST_VISIT or end > LATEST_VISIT:
        raise InvalidInputError(
            gettext(
                "Visits take place between %(earliest)s and %(latest)s.",
                earliest=EARLIEST_VISIT.strftime("%H:%M"),
                latest=LATEST_VISIT.strftime("%H:%M"),
            ),
            field="window_start" if start < EARLIEST_VISIT else "window_end",
        )
    if start >= end:
        raise InvalidInputError(gettext("The window must end after it starts."), field="window_end")
    length = _minutes(end) - _minutes(start)
    if length < duration_minutes:
        raise InvalidInputError(
            gettext(
                "The chosen items take %(needed)d minutes but the window is only %(length)d "
                "minutes long.",
                needed=duration_minutes,
                length=length,
            ),
            field="window_end",
        )
    return start, end


def _check_caregiver(
    session: Session, caregiver_id: int | None, provider: Provider, items: list[ServiceItem]
) -> Caregiver | None:
    if caregiver_id is None:
        return None
    caregiver = session.get(Caregiver, caregiver_id)
    if caregiver is None or caregiver.provider_id != provider.id:
        raise InvalidInputError(
            gettext("The preferred caregiver must work for the chosen provider."),
            field="preferred_caregiver_id",
        )
    if not caregiver.is_enabled:
        raise InvalidInputError(
            gettext("%(name)s is not working at the moment.", name=caregiver.name),
            field="preferred_caregiver_id",
        )
    missing = [item for item in items if item.qualification.value not in caregiver.qualifications]
    if missing:
        raise InvalidInputError(
            gettext(
                "%(name)s lacks a qualification these items need (%(missing)s).",
                name=caregiver.name,
                missing=", ".join(localized(item) for item in missing),
            ),
            field="preferred_caregiver_id",
        )
    return caregiver


def _minutes(moment: dt.time) -> int:
    return moment.hour * 60 + moment.minute
