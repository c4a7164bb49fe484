"""The assessment procedure around an application: reviews, publicity objections, assessors'
ties to care providers, and reminders of scheduled re-assessments."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk

if TYPE_CHECKING:
    from careapp.models.assessment import Application
    from careapp.models.eligibility import Entitlement
    from careapp.models.people import Person
    from careapp.models.providers import Provider
    from careapp.models.users import User


class ApplicationReview(Base):
    """An administrator's review of an assessment: approved for publicity, or sent back."""

    __tablename__ = "application_reviews"

    id: Mapped[intpk]
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    is_approved: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime]

    application: Mapped[Application] = relationship()
    reviewed_by: Mapped[User] = relationship()


class ObjectionSource(enum.Enum):
    APPLICANT = "applicant"  # the person or their family
    PUBLIC = "public"


class ObjectionStatus(enum.Enum):
    OPEN = "open"
    DISMISSED = "dismissed"
    UPHELD = "upheld"  # the application goes back to re-assessment


class Objection(Base):
    """An objection lodged during publicity, and how an administrator resolved it."""

    __tablename__ = "application_objections"

    id: Mapped[intpk]
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    source: Mapped[ObjectionSource]
    lodged_by_name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(1000))
    lodged_at: Mapped[dt.datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ObjectionStatus] = mapped_column(default=ObjectionStatus.OPEN)
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    application: Mapped[Application] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


class AssessorProviderTie(Base):
    """An assessor's tie to a care provider (employment, ownership, family), with its dates.

    While the tie lasts the assessor may not assess that provider's clients.
    """

    __tablename__ = "assessor_provider_ties"

    id: Mapped[intpk]
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date | None]
    created_at: Mapped[created_at]

    assessor: Mapped[User] = relationship()
    provider: Mapped[Provider] = relationship()


class ReminderStatus(enum.Enum):
    OPEN = "open"
    DONE = "done"  # a re-assessment was applied for
    SUSPENDED = "suspended"  # overdue; an administrator confirmed ending the benefit


class ReassessmentReminder(Base):
    """A beneficiary's scheduled re-assessment is due; one reminder per person and due date."""

    __tablename__ = "reassessment_reminders"
    __table_args__ = (UniqueConstraint("person_id", "due_on"),)

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), index=True)
    due_on: Mapped[dt.date]
    status: Mapped[ReminderStatus] = mapped_column(default=ReminderStatus.OPEN)
    created_at: Mapped[created_at]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship()
    entitlement: Mapped[Entitlement] = relationship()
    confirmed_by: Mapped[User | None] = relationship()
