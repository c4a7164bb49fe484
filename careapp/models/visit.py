"""Care plans, the visits generated from them, and dispatch runs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, ForeignKey, Index, String, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk
from scheduling.visits import VisitStatus

if TYPE_CHECKING:
    from careapp.models.eligibility import Entitlement
    from careapp.models.people import Person
    from careapp.models.providers import Caregiver, Provider, ServiceItem


class CarePlan(Base):
    """What a beneficiary at home receives: items, visits a week, days and a time window."""

    __tablename__ = "care_plans"

    id: Mapped[intpk]
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    preferred_caregiver_id: Mapped[int | None] = mapped_column(ForeignKey("caregivers.id"))
    # ISO weekdays of the visits, 1 = Monday.
    weekdays: Mapped[list[Any]]
    window_start: Mapped[dt.time]
    window_end: Mapped[dt.time]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    # Why an ended plan ended: "provider_exit", "transferred", "entitlement_ended", ...
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[created_at]

    entitlement: Mapped[Entitlement] = relationship()
    person: Mapped[Person] = relationship()
    provider: Mapped[Provider] = relationship()
    preferred_caregiver: Mapped[Caregiver | None] = relationship()
    items: Mapped[list[CarePlanItem]] = relationship(
        back_populates="care_plan", cascade="all, delete-orphan"
    )


class CarePlanItem(Base):
    __tablename__ = "care_plan_items"
    __table_args__ = (UniqueConstraint("care_plan_id", "service_item_id"),)

    id: Mapped[intpk]
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"))
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"))

    care_plan: Mapped[CarePlan] = relationship(back_populates="items")
    service_item: Mapped[ServiceItem] = relationship()


class VerificationMethod(enum.Enum):
    """How a visit's check-in and check-out were recorded."""

    PHONE = "phone"  # by the caregiver's phone at the home (electronic visit verification)
    MANUAL = "manual"  # entered by hand afterwards by the provider's manager (a paper record)


# Statuses in which a visit occupies its caregiver's time.
BOOKED_STATUSES = ("assigned", "confirmed", "checked_in", "completed")


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        # One planned visit per plan and day; a visit rescheduled from a missed one is extra.
        Index(
            "uq_visits_care_plan_id_visit_on",
            "care_plan_id",
            "visit_on",
            unique=True,
            postgresql_where=text("rescheduled_from_id IS NULL"),
            sqlite_where=text("rescheduled_from_id IS NULL"),
        ),
        Index("ix_visits_provider_day", "provider_id", "visit_on"),
        Index("ix_visits_caregiver_day", "caregiver_id", "visit_on"),
    )

    id: Mapped[intpk]
    care_plan_id: Mapped[int] = mapped_column(ForeignKey("care_plans.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    caregiver_id: Mapped[int | None] = mapped_column(ForeignKey("caregivers.id"))
    visit_on: Mapped[dt.date]
    window_start: Mapped[dt.datetime]
    window_end: Mapped[dt.datetime]
    duration_minutes: Mapped[int]
    service_item_codes: Mapped[list[Any]]
    required_qualifications: Mapped[list[Any]]
    planned_start: Mapped[dt.datetime | None]
    planned_end: Mapped[dt.datetime | None]
    route_order: Mapped[int | None]
    travel_minutes: Mapped[int | None]  # from the previous stop (or the base)
    status: Mapped[VisitStatus] = mapped_column(default=VisitStatus.UNASSIGNED)
    unassigned_reason: Mapped[str | None] = mapped_column(String(200))
    is_hand_edited: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[dt.datetime | None]
    checked_out_at: Mapped[dt.datetime | None]
    check_in_lat: Mapped[float | None]
    check_in_lon: Mapped[float | None]
    check_out_lat: Mapped[float | None]
    check_out_lon: Mapped[float | None]
    location_note: Mapped[str | None] = mapped_column(String(200))
    # Review flags of an accepted check-in: "far_from_home", "outside_window", "no_location".
    check_in_flags: Mapped[list[Any] | None]
    done_item_codes: Mapped[list[Any] | None]
    note: Mapped[str | None] = mapped_column(String(500))
    rating_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    rating_token_expires_at: Mapped[dt.datetime | None]
    # Set when the visit is checked in (phone) or entered by hand (manual).
    verification: Mapped[VerificationMethod | None]
    # The missed visit this one makes up for (a manager's reschedule); at most one each.
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), unique=True)
    # Why the provider's manager entered the visit by hand (verification MANUAL).
    manual_entry_reason: Mapped[str | None] = mapped_column(String(200))
    # Why the provider's manager cancelled the visit before it started.
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    care_plan: Mapped[CarePlan] = relationship()
    person: Mapped[Person] = relationship()
    provider: Mapped[Provider] = relationship()
    caregiver: Mapped[Caregiver | None] = relationship()


class DispatchRunStatus(enum.Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class DispatchRun(Base):
    __tablename__ = "dispatch_runs"

    id: Mapped[intpk]
    first_day: Mapped[dt.date]
    last_day: Mapped[dt.date]
    status: Mapped[DispatchRunStatus] = mapped_column(default=DispatchRunStatus.RUNNING)
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visits_created: Mapped[int] = mapped_column(default=0)
    visits_assigned: Mapped[int] = mapped_column(default=0)
    visits_unassigned: Mapped[int] = mapped_column(default=0)


# The database makes a caregiver's double booking impossible.
NO_DOUBLE_BOOKING_DDL = {
    "postgresql": [
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        """
        ALTER TABLE visits ADD CONSTRAINT visits_no_double_booking EXCLUDE USING gist (
            caregiver_id WITH =, tstzrange(planned_start, planned_end) WITH &&
        ) WHERE (caregiver_id IS NOT NULL AND planned_start IS NOT NULL
                 AND status IN ('assigned', 'confirmed', 'checked_in', 'completed'))
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER visits_no_double_booking_OP BEFORE OP ON visits
        WHEN NEW.caregiver_id IS NOT NULL AND NEW.planned_start IS NOT NULL
             AND NEW.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
        BEGIN
            SELECT RAISE(ABORT, 'visits_no_double_booking')
            WHERE EXISTS (
                SELECT 1 FROM visits AS other
                WHERE other.caregiver_id = NEW.caregiver_id
                  AND other.id IS NOT NEW.id
                  AND other.planned_start IS NOT NULL
                  AND other.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
                  AND julianday(other.planned_start) < julianday(NEW.planned_end)
                  AND julianday(NEW.planned_start) < julianday(other.planned_end)
            );
        END
        """.replace("OP", op)  # constant DDL text; op is INSERT or UPDATE  # nosec B608
        for op in ("INSERT", "UPDATE")
    ],
}

for _dialect, _statements in NO_DOUBLE_BOOKING_DDL.items():
    for _statement in _statements:
        event.listen(Visit.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
