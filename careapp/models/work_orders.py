"""Work orders: which home-care company serves a beneficiary, offered one company at a time.

A work order (new client, a move, or the exit of their provider) is offered to one provider at
a time; each offer is answered (accepted, refused) or expires at its deadline and the next is
offered. The database keeps two rules whatever the code does: an order is never offered twice to
the same provider, and it has at most one pending offer (a partial unique index).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.eligibility import Entitlement
    from careapp.models.people import Person
    from careapp.models.providers import Provider
    from careapp.models.users import User
    from careapp.models.visit import CarePlan


class WorkOrderReason(enum.Enum):
    NEW_CLIENT = "new_client"
    MOVE = "move"
    PROVIDER_EXIT = "provider_exit"


class WorkOrderStatus(enum.Enum):
    OPEN = "open"  # an offer is pending (or about to be made)
    ACCEPTED = "accepted"
    ESCALATED = "escalated"  # nobody left to offer it to: an administrator must act
    CANCELLED = "cancelled"


class OfferBasis(enum.Enum):
    FAMILY_CHOICE = "family_choice"
    ROTATION = "rotation"
    ADMINISTRATOR = "administrator"


class OfferStatus(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_status", "status"),)

    id: Mapped[intpk]
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    reason: Mapped[WorkOrderReason]
    status: Mapped[WorkOrderStatus] = mapped_column(default=WorkOrderStatus.OPEN)
    family_choice_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    # A provider exit: the provider leaving and the care plan the new provider takes over.
    from_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    care_plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plans.id"), index=True)
    accepted_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    # The plan made from this order (the successor plan of an exit); set on acceptance.
    new_care_plan_id: Mapped[int | None] = mapped_column(ForeignKey("care_plans.id"))
    handover_on: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    entitlement: Mapped[Entitlement] = relationship()
    person: Mapped[Person] = relationship()
    family_choice_provider: Mapped[Provider | None] = relationship(
        foreign_keys=[family_choice_provider_id]
    )
    from_provider: Mapped[Provider | None] = relationship(foreign_keys=[from_provider_id])
    accepted_provider: Mapped[Provider | None] = relationship(foreign_keys=[accepted_provider_id])
    care_plan: Mapped[CarePlan | None] = relationship(foreign_keys=[care_plan_id])
    new_care_plan: Mapped[CarePlan | None] = relationship(foreign_keys=[new_care_plan_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    offers: Mapped[list[WorkOrderOffer]] = relationship(
        back_populates="work_order", order_by="WorkOrderOffer.position"
    )


class WorkOrderOffer(Base):
    __tablename__ = "work_order_offers"
    __table_args__ = (
        # Never offered twice to one provider; positions 1, 2, ... once each.
        UniqueConstraint(
            "work_order_id", "provider_id", name="uq_work_order_offers_work_order_id_provider_id"
        ),
        UniqueConstraint(
            "work_order_id", "position", name="uq_work_order_offers_work_order_id_position"
        ),
        # At most one pending offer per order.
        Index(
            "uq_work_order_offers_one_pending",
            "work_order_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_work_order_offers_provider_status", "provider_id", "status"),
    )

    id: Mapped[intpk]
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    position: Mapped[int]  # 1, 2, ... in the order the offers were made
    basis: Mapped[OfferBasis]
    offered_at: Mapped[dt.datetime]
    deadline_at: Mapped[dt.datetime]
    status: Mapped[OfferStatus] = mapped_column(default=OfferStatus.PENDING)
    answered_at: Mapped[dt.datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refusal_reason: Mapped[str | None] = mapped_column(String(500))

    work_order: Mapped[WorkOrder] = relationship(back_populates="offers")
    provider: Mapped[Provider] = relationship()
    answered_by: Mapped[User | None] = relationship()
