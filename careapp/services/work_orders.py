"""Work orders: offer a beneficiary's home care to one provider at a time until one accepts.

An administrator opens a work order for a home-service entitlement (a new client, or a move),
optionally with the family's choice; the provider-quality job opens one for every active care
plan of a provider that exits. The first offer is made at once (`scheduling.work_orders` picks
whom: the family's choice when eligible, else the fair rotation weighted by quality) with a
deadline in working days. The provider's manager accepts or refuses (with a reason); a refusal,
or the `work-order-deadlines` job finding the deadline passed, offers it to the next. When
nobody is left the order is **escalated**: it heads the administrator's list, and the
administrator can assign a provider directly (an `administrator` offer, accepted at once).

Locks: every change of an order locks its row first (then its offers), so an acceptance, a
refusal, an expiry and an administrator's assignment of one order are serialised; the database
also refuses a second pending offer for one order and a second offer to one provider.

Acceptance of an order that carries a care plan (a provider exit, or a move) hands the plan
over: the old plan ends the day before the handover day (the day after acceptance, city date),
a copy starts with the new provider on the handover day, and every visit of the old plan on or
after that day that has not started moves to the copy, unassigned, for the next dispatch.
Nothing is cancelled or deleted. Until a provider accepts, the exited provider keeps its plan
and visits (it keeps serving during the handover).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from careapp.core.clock import city_datetime, city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.eligibility import Entitlement
from careapp.models.people import Person
from careapp.models.providers import Caregiver, Provider, ProviderKind
from careapp.models.quality import AlertKind, ProviderAlert, ProviderQualityEvaluation
from careapp.models.users import Role
from careapp.models.visit import CarePlan, CarePlanItem, Visit
from careapp.models.work_orders import (
    OfferBasis,
    OfferStatus,
    WorkOrder,
    WorkOrderOffer,
    WorkOrderReason,
    WorkOrderStatus,
)
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.eligibility import care_plan_refusal
from careapp.services.quality import (
    QualityOutcome,
    evaluate_provider_quality,
    thresholds_from_config,
)
from scheduling.visits import VisitStatus
from scheduling.work_orders import (
    SERVING,
    Candidate,
    Ineligibility,
    RotationRules,
    ineligibility,
    next_offer,
    offer_deadline_day,
)

REASON_MAX = 500
# Visits not yet started: they move to the new provider on a handover.
MOVABLE_STATUSES = (VisitStatus.UNASSIGNED, VisitStatus.ASSIGNED, VisitStatus.CONFIRMED)
LIVE_STATUSES = (WorkOrderStatus.OPEN, WorkOrderStatus.ESCALATED)


@dataclass(frozen=True)
class WorkOrderRules:
    deadline_working_days: int = 2
    public_holidays: frozenset[dt.date] = frozenset()
    rotation: RotationRules = field(default_factory=RotationRules)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkOrderRules:
        return cls(
            deadline_working_days=int(config["WORK_ORDER_DEADLINE_WORKING_DAYS"]),
            public_holidays=frozenset(
                dt.date.fromisoformat(str(day)) for day in config["PUBLIC_HOLIDAYS"]
            ),
            rotation=RotationRules(
                clients_per_caregiver=int(config["WORK_ORDER_CLIENTS_PER_CAREGIVER"])
            ),
        )


@dataclass(frozen=True)
class DeadlineOutcome:
    expired: int
    reoffered: int
    escalated: int

    @property
    def summary(self) -> str:
        return (
            f"work-order deadlines: {self.expired} offers expired, {self.reoffered} re-offered, "
            f"{self.escalated} escalated"
        )


@dataclass(frozen=True)
class ProviderOption:
    provider: Provider
    problem: Ineligibility | None  # None: eligible for this order now


# --- opening ------------------------------------------------------------------------------


def open_work_order(
    session: Session,
    actor: Actor,
    entitlement_id: int,
    rules: WorkOrderRules,
    now: dt.datetime,
    *,
    reason: WorkOrderReason = WorkOrderReason.NEW_CLIENT,
    family_choice_provider_id: int | None = None,
) -> WorkOrder:
    """An administrator opens a work order (new client or move) and the first offer is made."""
    actor.require(Role.ADMIN)
    if reason is WorkOrderReason.PROVIDER_EXIT:
        raise InvalidInputError(gettext("Choose a reason."), field="reason")
    entitlement = session.scalar(
        select(Entitlement)
        .where(Entitlement.id == entitlement_id)
        .options(selectinload(Entitlement.person))
        .with_for_update()
    )
    if entitlement is None:
        raise NotFoundError(gettext("Not found."))
    refusal = care_plan_refusal(entitlement)  # the order ends in a paid plan: it needs a budget
    if refusal is not None:
        raise ConflictError(refusal)
    if _live_order_id(session, entitlement.id) is not None:
        raise ConflictError(gettext("This beneficiary already has an open work order."))
    plan_id = session.scalar(
        select(CarePlan.id)
        .join(Provider, Provider.id == CarePlan.provider_id)
        .where(
            CarePlan.entitlement_id == entitlement.id,
            CarePlan.is_active.is_(True),
            Provider.kind == ProviderKind.HOME_CARE,  # not a volunteer organisation's plan
        )
        .limit(1)
    )
    if reason is WorkOrderReason.NEW_CLIENT and plan_id is not None:
        raise ConflictError(
            gettext("This beneficiary already has a care plan; open a move instead.")
        )
    if reason is WorkOrderReason.MOVE and plan_id is None:
        raise ConflictError(gettext("A move needs an active care plan to hand over."))
    if (
        family_choice_provider_id is not None
        and session.get(Provider, family_choice_provider_id) is None
    ):
        raise InvalidInputError(gettext("Choose a provider."), field="family_choice_provider_id")
    plan = session.get(CarePlan, plan_id) if plan_id is not None else None
    order = _new_order(
        session,
        actor,
        entitlement,
        reason,
        now,
        family_choice_provider_id=family_choice_provider_id,
        care_plan=plan,
    )
    _offer_next(session, actor, order, rules, now)
    return order


def open_exit_work_orders(
    session: Session,
    actor: Actor,
    provider_ids: Iterable[int],
    rules: WorkOrderRules,
    now: dt.datetime,
) -> list[WorkOrder]:
    """One provider-exit work order per active care plan of these (exited) providers.

    Idempotent: a plan that already has a provider-exit order gets no second one.
    """
    ids = list(provider_ids)
    if not ids:
        return []
    plans = session.scalars(
        select(CarePlan)
        .where(CarePlan.provider_id.in_(ids), CarePlan.is_active.is_(True))
        .options(selectinload(CarePlan.entitlement).selectinload(Entitlement.person))
        .order_by(CarePlan.id)
    ).all()
    covered = set(
        session.scalars(
            select(WorkOrder.care_plan_id).where(
                WorkOrder.reason == WorkOrderReason.PROVIDER_EXIT,
                WorkOrder.care_plan_id.in_([p.id for p in plans]),
            )
        )
    )
    orders = []
    for plan in plans:
        if plan.id in covered:
            continue
        order = _new_order(
            session, actor, plan.entitlement, WorkOrderReason.PROVIDER_EXIT, now, care_plan=plan
        )
        _offer_next(session, actor, order, rules, now)
        orders.append(order)
    return orders


def evaluate_quality_and_hand_over(
    session: Session,
    actor: Actor,
    month: dt.date,
    now: dt.datetime,
    config: Mapping[str, Any],
) -> tuple[QualityOutcome, list[WorkOrder]]:
    """The month's quality evaluation, then a provider_exit work order for every client of each
    provider that exited (the first offers made at once): what the first of a month brings."""
    outcome = evaluate_provider_quality(session, actor, month, now, thresholds_from_config(config))
    orders = open_exit_work_orders(
        session, actor, outcome.exited, WorkOrderRules.from_config(config), now
    )
    return outcome, orders


def _new_order(
    session: Session,
    actor: Actor,
    entitlement: Entitlement,
    reason: WorkOrderReason,
    now: dt.datetime,
    *,
    family_choice_provider_id: int | None = None,
    care_plan: CarePlan | None = None,
) -> WorkOrder:
    order = WorkOrder(
        entitlement_id=entitlement.id,
        person_id=entitlement.person_id,
        reason=reason,
        status=WorkOrderStatus.OPEN,
        family_choice_provider_id=family_choice_provider_id,
        from_provider_id=care_plan.provider_id if care_plan is not None else None,
        care_plan_id=care_plan.id if care_plan is not None else None,
        created_at=now,
        created_by_id=actor.user_id,
    )
    session.add(order)
    session.flush()
    record_event(
        session,
        actor,
        "work_order.open",
        "work_order",
        order.id,
        now=now,
        detail={
            "entitlement_id": entitlement.id,
            "reason": reason.value,
            "family_choice_provider_id": family_choice_provider_id,
            "care_plan_id": order.care_plan_id,
            "from_provider_id": order.from_provider_id,
        },
    )
    return order


# --- offering -----------------------------------------------------------------------------


def _candidates(session: Session, district_code: str) -> list[Candidate]:
    """Every home-care provider serving the district, as the pure rules see it."""
    providers = session.scalars(
        select(Provider)
        .where(Provider.kind == ProviderKind.HOME_CARE)
        .options(selectinload(Provider.districts))
        .order_by(Provider.id)
    ).all()
    providers = [p for p in providers if district_code in {d.code for d in p.districts}]
    ids = [p.id for p in providers]
    if not ids:
        return []
    caregivers: dict[int, int] = dict(
        session.execute(
            select(Caregiver.provider_id, func.count())
            .where(Caregiver.provider_id.in_(ids), Caregiver.is_enabled.is_(True))
            .group_by(Caregiver.provider_id)
        ).all()
    )
    plans: dict[int, int] = dict(
        session.execute(
            select(CarePlan.provider_id, func.count())
            .where(CarePlan.provider_id.in_(ids), CarePlan.is_active.is_(True))
            .group_by(CarePlan.provider_id)
        ).all()
    )
    offers = {
        provider_id: (int(pending), int(rotation))
        for provider_id, pending, rotation in session.execute(
            select(
                WorkOrderOffer.provider_id,
                func.coalesce(
                    func.sum(case((WorkOrderOffer.status == OfferStatus.PENDING, 1), else_=0)), 0
                ),
                func.coalesce(
                    func.sum(case((WorkOrderOffer.basis == OfferBasis.ROTATION, 1), else_=0)), 0
                ),
            )
            .where(WorkOrderOffer.provider_id.in_(ids))
            .group_by(WorkOrderOffer.provider_id)
        )
    }
    last: dict[int, ProviderQualityEvaluation] = {}
    for row in session.scalars(
        select(ProviderQualityEvaluation)
        .where(ProviderQualityEvaluation.provider_id.in_(ids))
        .order_by(ProviderQualityEvaluation.month.desc())
    ):
        last.setdefault(row.provider_id, row)
    result = []
    for provider in providers:
        pending, rotation = offers.get(provider.id, (0, 0))
        evaluation = last.get(provider.id)
        result.append(
            Candidate(
                provider_id=provider.id,
                is_home_care=provider.kind is ProviderKind.HOME_CARE,
                standing=provider.status,
                districts=frozenset(d.code for d in provider.districts),
                caregivers=int(caregivers.get(provider.id, 0)),
                clients=int(plans.get(provider.id, 0)) + pending,
                rated=evaluation.rated if evaluation else 0,
                satisfied=evaluation.satisfied if evaluation else 0,
                rotation_offers=rotation,
            )
        )
    return result


def _already_offered(order: WorkOrder) -> set[int]:
    offered = {offer.provider_id for offer in order.offers}
    if order.from_provider_id is not None:
        offered.add(order.from_provider_id)  # never back to the provider being left
    return offered


def _offer_next(
    session: Session, actor: Actor, order: WorkOrder, rules: WorkOrderRules, now: dt.datetime
) -> WorkOrderOffer | None:
    """Offer the order to the next provider, or escalate it when nobody is left."""
    session.flush()
    session.refresh(order, ["offers"])
    district = order.person.district_code
    choice = next_offer(
        _candidates(session, district),
        district,
        _already_offered(order),
        order.family_choice_provider_id,
        rules.rotation,
    )
    if choice is None:
        order.status = WorkOrderStatus.ESCALATED
        record_event(
            session,
            actor,
            "work_order.escalate",
            "work_order",
            order.id,
            now=now,
            detail={"offers": len(order.offers)},
        )
        session.flush()
        return None
    basis = OfferBasis.FAMILY_CHOICE if choice.is_family_choice else OfferBasis.ROTATION
    return _make_offer(session, actor, order, choice.provider_id, basis, rules, now)


def _make_offer(
    session: Session,
    actor: Actor,
    order: WorkOrder,
    provider_id: int,
    basis: OfferBasis,
    rules: WorkOrderRules,
    now: dt.datetime,
    *,
    accepted: bool = False,
) -> WorkOrderOffer:
    deadline_day = offer_deadline_day(
        city_today(now), rules.deadline_working_days, rules.public_holidays
    )
    offer = WorkOrderOffer(
        work_order=order,
        provider_id=provider_id,
        position=len(order.offers) + 1,
        basis=basis,
        offered_at=now,
        deadline_at=city_datetime(deadline_day + dt.timedelta(days=1), dt.time(0, 0)).astimezone(
            dt.UTC
        ),
        status=OfferStatus.ACCEPTED if accepted else OfferStatus.PENDING,
        answered_at=now if accepted else None,
        answered_by_id=actor.user_id if accepted else None,
    )
    session.add(offer)
    order.status = WorkOrderStatus.OPEN
    session.flush()
    record_event(
        session,
        actor,
        "work_order.offer",
        "work_order",
        order.id,
        now=now,
        detail={
            "offer_id": offer.id,
            "provider_id": provider_id,
            "position": offer.position,
            "basis": basis.value,
            "deadline_at": offer.deadline_at.isoformat(),
        },
    )
    if not accepted:
        session.add(
            ProviderAlert(
                provider_id=provider_id,
                kind=AlertKind.WORK_ORDER_OFFER,
                raised_at=now,
                detail={
                    "work_order_id": order.id,
                    "offer_id": offer.id,
                    "deadline_on": deadline_day.isoformat(),
                },
            )
        )
        session.flush()
    return offer


def _resolve_offer_alert(
    session: Session, actor: Actor, offer: WorkOrderOffer, now: dt.datetime
) -> None:
    """The offer is no longer waiting for an answer: its reminder leaves the roster page.

    Whether it was accepted, refused, expired or withdrawn, there is nothing left to answer;
    the alert is kept for the record, marked done at `now`.
    """
    alerts = session.scalars(
        select(ProviderAlert).where(
            ProviderAlert.provider_id == offer.provider_id,
            ProviderAlert.kind == AlertKind.WORK_ORDER_OFFER,
            ProviderAlert.acknowledged_at.is_(None),
        )
    )
    for alert in alerts:
        if (alert.detail or {}).get("offer_id") == offer.id:
            alert.acknowledged_at = now
            alert.acknowledged_by_id = actor.user_id


# --- answers ------------------------------------------------------------------------------


def answer_offer(
    session: Session,
    actor: Actor,
    offer_id: int,
    *,
    accept: bool,
    refusal_reason: str | None,
    rules: WorkOrderRules,
    now: dt.datetime,
) -> WorkOrderOffer:
    """The provider's manager accepts or refuses an offer made to their provider."""
    provider_id = actor.require_provider()
    order_id = session.scalar(
        select(WorkOrderOffer.work_order_id).where(
            WorkOrderOffer.id == offer_id, WorkOrderOffer.provider_id == provider_id
        )
    )
    if order_id is None:  # another company's offer is as unknown as a made-up one
        raise NotFoundError(gettext("Not found."))
    order = _lock_order(session, order_id)
    offer = next(o for o in order.offers if o.id == offer_id)
    if offer.status is not OfferStatus.PENDING:
        raise ConflictError(gettext("This offer has already been answered or withdrawn."))
    if offer.deadline_at <= now:
        raise ConflictError(gettext("The deadline to answer this offer has passed."))
    if accept:
        provider = session.get(Provider, provider_id)
        if provider is None or provider.status not in SERVING:
            raise ConflictError(gettext("A suspended provider cannot take new clients."))
        offer.status = OfferStatus.ACCEPTED
        offer.answered_at = now
        offer.answered_by_id = actor.user_id
        _resolve_offer_alert(session, actor, offer, now)
        _accept(session, actor, order, offer, now)
        return offer
    reason = (refusal_reason or "").strip()
    if not reason:
        raise InvalidInputError(gettext("Give the reason for refusing."), field="refusal_reason")
    if len(reason) > REASON_MAX:
        raise InvalidInputError(
            gettext("At most %(count)d characters.", count=REASON_MAX), field="refusal_reason"
        )
    offer.status = OfferStatus.REFUSED
    offer.answered_at = now
    offer.answered_by_id = actor.user_id
    offer.refusal_reason = reason
    _resolve_offer_alert(session, actor, offer, now)
    record_event(
        session,
        actor,
        "work_order.refuse",
        "work_order",
        order.id,
        now=now,
        detail={"offer_id": offer.id, "provider_id": offer.provider_id, "reason": reason},
    )
    _offer_next(session, actor, order, rules, now)
    return offer


def expire_overdue_offers(
    session: Session, actor: Actor, rules: WorkOrderRules, now: dt.datetime
) -> DeadlineOutcome:
    """Pending offers past their deadline expire; each order goes to the next provider."""
    order_ids = session.scalars(
        select(WorkOrderOffer.work_order_id)
        .where(WorkOrderOffer.status == OfferStatus.PENDING, WorkOrderOffer.deadline_at <= now)
        .order_by(WorkOrderOffer.deadline_at, WorkOrderOffer.id)
    ).all()
    expired = reoffered = escalated = 0
    for order_id in order_ids:
        order = _lock_order(session, order_id)
        pending = [o for o in order.offers if o.status is OfferStatus.PENDING]
        if not pending or pending[0].deadline_at > now:
            continue  # answered meanwhile
        offer = pending[0]
        offer.status = OfferStatus.EXPIRED
        offer.answered_at = now
        _resolve_offer_alert(session, actor, offer, now)
        expired += 1
        record_event(
            session,
            actor,
            "work_order.expire",
            "work_order",
            order.id,
            now=now,
            detail={"offer_id": offer.id, "provider_id": offer.provider_id},
        )
        if _offer_next(session, actor, order, rules, now) is None:
            escalated += 1
        else:
            reoffered += 1
    return DeadlineOutcome(expired, reoffered, escalated)


# --- administrator's actions --------------------------------------------------------------


def record_family_choice(
    session: Session,
    actor: Actor,
    order_id: int,
    provider_id: int | None,
    rules: WorkOrderRules,
    now: dt.datetime,
) -> WorkOrderOffer:
    """The family chose a provider: the pending offer is withdrawn and the choice is offered."""
    actor.require(Role.ADMIN)
    order = _lock_order(session, order_id)
    _require_live(order)
    provider = _eligible_provider(session, order, provider_id, rules, check_capacity=True)
    _withdraw_pending(session, actor, order, now)
    order.family_choice_provider_id = provider.id
    record_event(
        session,
        actor,
        "work_order.family_choice",
        "work_order",
        order.id,
        now=now,
        detail={"provider_id": provider.id},
    )
    return _make_offer(session, actor, order, provider.id, OfferBasis.FAMILY_CHOICE, rules, now)


def assign_provider(
    session: Session,
    actor: Actor,
    order_id: int,
    provider_id: int | None,
    rules: WorkOrderRules,
    now: dt.datetime,
) -> WorkOrderOffer:
    """An administrator assigns a provider directly (capacity is theirs to judge)."""
    actor.require(Role.ADMIN)
    order = _lock_order(session, order_id)
    _require_live(order)
    current = pending_offer(order)
    if current is not None and current.provider_id == provider_id:
        # The provider holding the offer agreed with the administrator: accepted on its behalf.
        current.status = OfferStatus.ACCEPTED
        current.answered_at = now
        current.answered_by_id = actor.user_id
        _accept(session, actor, order, current, now)
        return current
    provider = _eligible_provider(session, order, provider_id, rules, check_capacity=False)
    _withdraw_pending(session, actor, order, now)
    offer = _make_offer(
        session, actor, order, provider.id, OfferBasis.ADMINISTRATOR, rules, now, accepted=True
    )
    _accept(session, actor, order, offer, now)
    return offer


def cancel_work_order(session: Session, actor: Actor, order_id: int, now: dt.datetime) -> WorkOrder:
    actor.require(Role.ADMIN)
    order = _lock_order(session, order_id)
    _require_live(order)
    _withdraw_pending(session, actor, order, now)
    order.status = WorkOrderStatus.CANCELLED
    order.closed_at = now
    order.closed_by_id = actor.user_id
    record_event(session, actor, "work_order.cancel", "work_order", order.id, now=now)
    session.flush()
    return order


def _eligible_provider(
    session: Session,
    order: WorkOrder,
    provider_id: int | None,
    rules: WorkOrderRules,
    *,
    check_capacity: bool,
) -> Provider:
    provider = session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        raise InvalidInputError(gettext("Choose a provider."), field="provider_id")
    district = order.person.district_code
    candidate = next(
        (c for c in _candidates(session, district) if c.provider_id == provider.id), None
    )
    problem = (
        Ineligibility.OTHER_DISTRICT
        if candidate is None
        else ineligibility(candidate, district, _already_offered(order), rules.rotation)
    )
    if problem is Ineligibility.FULL and not check_capacity:
        problem = None
    if provider.kind is not ProviderKind.HOME_CARE:
        problem = Ineligibility.NOT_HOME_CARE
    if problem is not None:
        raise InvalidInputError(ineligibility_message(problem, provider.name), field="provider_id")
    return provider


def ineligibility_message(problem: Ineligibility, name: str) -> str:
    messages = {
        Ineligibility.NOT_HOME_CARE: gettext("%(name)s is not a home-care company.", name=name),
        Ineligibility.NOT_SERVING: gettext(
            "%(name)s is suspended or has left the scheme.", name=name
        ),
        Ineligibility.OTHER_DISTRICT: gettext("%(name)s does not serve this district.", name=name),
        Ineligibility.FULL: gettext("%(name)s has no capacity for another client.", name=name),
        Ineligibility.ALREADY_OFFERED: gettext(
            "%(name)s has already been offered this work order.", name=name
        ),
    }
    return messages[problem]


def _withdraw_pending(session: Session, actor: Actor, order: WorkOrder, now: dt.datetime) -> None:
    for offer in order.offers:
        if offer.status is OfferStatus.PENDING:
            offer.status = OfferStatus.WITHDRAWN
            offer.answered_at = now
            offer.answered_by_id = actor.user_id
            _resolve_offer_alert(session, actor, offer, now)
            record_event(
                session,
                actor,
                "work_order.withdraw",
                "work_order",
                order.id,
                now=now,
                detail={"offer_id": offer.id, "provider_id": offer.provider_id},
            )
    session.flush()  # the pending slot is free before the next offer is inserted


# --- acceptance and handover --------------------------------------------------------------


def _accept(
    session: Session, actor: Actor, order: WorkOrder, offer: WorkOrderOffer, now: dt.datetime
) -> None:
    order.status = WorkOrderStatus.ACCEPTED
    order.accepted_provider_id = offer.provider_id
    order.closed_at = now
    order.closed_by_id = actor.user_id
    session.flush()
    record_event(
        session,
        actor,
        "work_order.accept",
        "work_order",
        order.id,
        now=now,
        detail={"offer_id": offer.id, "provider_id": offer.provider_id, "basis": offer.basis.value},
    )
    if order.care_plan_id is not None:
        _hand_over(session, actor, order, offer.provider_id, now)


def _hand_over(
    session: Session, actor: Actor, order: WorkOrder, provider_id: int, now: dt.datetime
) -> None:
    """The accepted provider takes over the order's care plan and its future visits."""
    old = session.scalar(
        select(CarePlan)
        .where(CarePlan.id == order.care_plan_id)
        .options(selectinload(CarePlan.items))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if old is None or not old.is_active:
        raise ConflictError(gettext("The care plan to hand over has already ended."))
    handover = city_today(now) + dt.timedelta(days=1)
    if old.ends_on is not None and old.ends_on < handover:
        raise ConflictError(gettext("The care plan to hand over has already ended."))
    new = CarePlan(
        entitlement_id=old.entitlement_id,
        person_id=old.person_id,
        provider_id=provider_id,
        preferred_caregiver_id=None,
        weekdays=list(old.weekdays),
        window_start=old.window_start,
        window_end=old.window_end,
        starts_on=max(handover, old.starts_on),
        ends_on=old.ends_on,
        is_active=True,
        items=[CarePlanItem(service_item_id=item.service_item_id) for item in old.items],
    )
    old.ends_on = handover - dt.timedelta(days=1)
    old.is_active = False
    old.ended_reason = (
        "provider_exit" if order.reason is WorkOrderReason.PROVIDER_EXIT else "transferred"
    )
    session.add(new)
    session.flush()
    visits = session.scalars(
        select(Visit)
        .where(
            Visit.care_plan_id == old.id,
            Visit.visit_on >= handover,
            Visit.status.in_(MOVABLE_STATUSES),
        )
        .order_by(Visit.visit_on, Visit.id)
        .with_for_update()
    ).all()
    for visit in visits:
        visit.care_plan_id = new.id
        visit.provider_id = provider_id
        visit.caregiver_id = None
        visit.planned_start = None
        visit.planned_end = None
        visit.route_order = None
        visit.travel_minutes = None
        visit.status = VisitStatus.UNASSIGNED
        visit.unassigned_reason = None
        visit.is_hand_edited = False
    order.new_care_plan_id = new.id
    order.handover_on = handover
    session.flush()
    record_event(
        session,
        actor,
        "careplan.hand_over",
        "care_plan",
        old.id,
        now=now,
        detail={
            "work_order_id": order.id,
            "new_care_plan_id": new.id,
            "from_provider_id": old.provider_id,
            "to_provider_id": provider_id,
            "handover_on": handover.isoformat(),
            "visits_moved": len(visits),
        },
    )


# --- reading ------------------------------------------------------------------------------


def list_work_orders(session: Session, actor: Actor, now: dt.datetime) -> list[WorkOrder]:
    """Live orders first (escalated, then overdue, then open), then the latest closed ones."""
    actor.require(Role.ADMIN)
    orders = session.scalars(
        select(WorkOrder)
        .options(
            selectinload(WorkOrder.person),
            selectinload(WorkOrder.offers).selectinload(WorkOrderOffer.provider),
            selectinload(WorkOrder.accepted_provider),
        )
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
        .limit(300)
    ).all()

    def rank(order: WorkOrder) -> int:
        if order.status is WorkOrderStatus.ESCALATED:
            return 0
        if order.status is WorkOrderStatus.OPEN:
            return 1 if is_overdue(order, now) else 2
        return 3

    return sorted(orders, key=rank)


def is_overdue(order: WorkOrder, now: dt.datetime) -> bool:
    pending = pending_offer(order)
    return pending is not None and pending.deadline_at <= now


def pending_offer(order: WorkOrder) -> WorkOrderOffer | None:
    return next((o for o in order.offers if o.status is OfferStatus.PENDING), None)


def get_work_order(session: Session, actor: Actor, order_id: int) -> WorkOrder:
    actor.require(Role.ADMIN)
    order = session.scalar(
        select(WorkOrder)
        .where(WorkOrder.id == order_id)
        .options(
            selectinload(WorkOrder.person).selectinload(Person.district),
            selectinload(WorkOrder.offers).selectinload(WorkOrderOffer.provider),
            selectinload(WorkOrder.offers).selectinload(WorkOrderOffer.answered_by),
            selectinload(WorkOrder.family_choice_provider),
            selectinload(WorkOrder.from_provider),
            selectinload(WorkOrder.accepted_provider),
        )
    )
    if order is None:
        raise NotFoundError(gettext("Not found."))
    return order


def provider_options(
    session: Session, actor: Actor, order: WorkOrder, rules: WorkOrderRules
) -> list[ProviderOption]:
    """The home-care providers of the order's district, each with why it may not be offered."""
    actor.require(Role.ADMIN)
    district = order.person.district_code
    candidates = {c.provider_id: c for c in _candidates(session, district)}
    offered = _already_offered(order)
    providers = session.scalars(
        select(Provider).where(Provider.id.in_(candidates)).order_by(Provider.name, Provider.id)
    ).all()
    return [
        ProviderOption(p, ineligibility(candidates[p.id], district, offered, rules.rotation))
        for p in providers
    ]


def provider_offers(session: Session, actor: Actor) -> list[WorkOrderOffer]:
    """The offers made to the manager's provider: pending first, then the latest answered."""
    provider_id = actor.require_provider()
    offers = session.scalars(
        select(WorkOrderOffer)
        .where(WorkOrderOffer.provider_id == provider_id)
        .options(
            selectinload(WorkOrderOffer.work_order)
            .selectinload(WorkOrder.person)
            .selectinload(Person.district),
            selectinload(WorkOrderOffer.work_order).selectinload(WorkOrder.care_plan),
        )
        .order_by(WorkOrderOffer.offered_at.desc(), WorkOrderOffer.id.desc())
        .limit(200)
    ).all()
    return sorted(offers, key=lambda o: o.status is not OfferStatus.PENDING)


def accepted_new_client_order(session: Session, entitlement_id: int) -> WorkOrder | None:
    """The accepted new-client order of this entitlement still waiting for its care plan."""
    return session.scalar(
        select(WorkOrder)
        .where(
            WorkOrder.entitlement_id == entitlement_id,
            WorkOrder.status == WorkOrderStatus.ACCEPTED,
            WorkOrder.reason == WorkOrderReason.NEW_CLIENT,
            WorkOrder.new_care_plan_id.is_(None),
        )
        .options(selectinload(WorkOrder.accepted_provider))
        .order_by(WorkOrder.closed_at.desc(), WorkOrder.id.desc())
        .limit(1)
    )


def check_plan_provider(
    session: Session, entitlement_id: int, provider_id: int
) -> WorkOrder | None:
    """The care plan of an entitlement with an accepted work order goes to the accepted provider.

    Returns that order (the caller links the new plan to it with `link_care_plan`).
    """
    order = accepted_new_client_order(session, entitlement_id)
    if order is not None and order.accepted_provider_id != provider_id:
        raise InvalidInputError(
            gettext(
                "%(name)s accepted this client's work order; the plan is theirs.",
                name=order.accepted_provider.name if order.accepted_provider else "",
            ),
            field="provider_id",
        )
    return order


def link_care_plan(order: WorkOrder, plan: CarePlan) -> None:
    order.new_care_plan_id = plan.id


def live_work_order_id(session: Session, entitlement_id: int) -> int | None:
    return _live_order_id(session, entitlement_id)


# --- helpers ------------------------------------------------------------------------------


def _require_live(order: WorkOrder) -> None:
    if order.status not in LIVE_STATUSES:
        raise ConflictError(gettext("This work order is closed."))


def _lock_order(session: Session, order_id: int) -> WorkOrder:
    order = session.scalar(
        select(WorkOrder)
        .where(WorkOrder.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFoundError(gettext("Not found."))
    # Lock the offers too (after the order: one lock order everywhere), fresh from the database.
    session.scalars(
        select(WorkOrderOffer)
        .where(WorkOrderOffer.work_order_id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    session.refresh(order, ["offers", "person"])
    return order


def _live_order_id(session: Session, entitlement_id: int) -> int | None:
    return session.scalar(
        select(WorkOrder.id)
        .where(WorkOrder.entitlement_id == entitlement_id, WorkOrder.status.in_(LIVE_STATUSES))
        .limit(1)
    )


@dataclass(frozen=True)
class NewWorkOrderOptions:
    entitlement: Entitlement
    providers: list[Provider]  # home-care providers serving the district, not suspended
    live_order_id: int | None


def new_work_order_options(
    session: Session, actor: Actor, entitlement_id: int
) -> NewWorkOrderOptions:
    actor.require(Role.ADMIN)
    entitlement = session.scalar(
        select(Entitlement)
        .where(Entitlement.id == entitlement_id)
        .options(selectinload(Entitlement.person).selectinload(Person.district))
    )
    if entitlement is None:
        raise NotFoundError(gettext("Not found."))
    district = entitlement.person.district_code
    serving = [
        c.provider_id
        for c in _candidates(session, district)
        if c.standing in SERVING and c.is_home_care
    ]
    providers = list(
        session.scalars(
            select(Provider).where(Provider.id.in_(serving)).order_by(Provider.name, Provider.id)
        )
    )
    return NewWorkOrderOptions(entitlement, providers, _live_order_id(session, entitlement.id))
