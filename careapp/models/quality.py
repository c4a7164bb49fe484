"""Provider quality: monthly evaluations (the exit mechanism) and alerts to providers' managers."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk
from scheduling.quality import ProviderStatus

if TYPE_CHECKING:
    from careapp.models.people import Person
    from careapp.models.providers import Provider
    from careapp.models.users import User
    from careapp.models.visit import Visit

COMPLAINT_SUMMARY_LENGTH = 500


class ProviderQualityEvaluation(Base):
    """One provider's month: the figures, whether it failed, and the status it led to.

    Unique per provider and month, so evaluating a month again changes nothing.
    """

    __tablename__ = "provider_quality_evaluations"
    __table_args__ = (UniqueConstraint("provider_id", "month"),)

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    month: Mapped[dt.date]  # the first day of the month evaluated
    planned: Mapped[int]
    completed: Mapped[int]
    missed: Mapped[int]
    late: Mapped[int]
    rated: Mapped[int]
    satisfied: Mapped[int]  # ratings with 4 or 5 stars
    flagged_check_ins: Mapped[int]
    # Complaints received in the month and not dismissed.
    complaints: Mapped[int] = mapped_column(default=0, server_default="0")
    # Completed visits verified on the caregiver's phone / entered by hand (verification manual).
    phone_verified: Mapped[int] = mapped_column(default=0, server_default="0")
    manual_entered: Mapped[int] = mapped_column(default=0, server_default="0")
    # Problem codes of scheduling.quality.QualityProblem; empty when the month passed.
    problems: Mapped[list[Any]] = mapped_column(default=list)
    is_failing: Mapped[bool]
    status_before: Mapped[ProviderStatus]
    status_after: Mapped[ProviderStatus]
    # The thresholds in force, as exact fractions ("19/20"), so the decision can be re-read;
    # the optional ones (max_complaints_per_100, min_phone_verified) only when configured.
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evaluated_at: Mapped[dt.datetime]

    provider: Mapped[Provider] = relationship()


class AlertKind(enum.Enum):
    MISSED_VISIT = "missed_visit"
    QUALITY_WARNING = "quality_warning"
    QUALITY_SUSPENSION = "quality_suspension"
    QUALITY_EXIT = "quality_exit"
    WORK_ORDER_OFFER = "work_order_offer"  # a client offered (careapp.services.work_orders)


class ProviderAlert(Base):
    """Something a provider's manager must see and act on (a missed visit, a quality step).

    At most one alert per kind and visit (a missed visit) or per kind and evaluation.
    """

    __tablename__ = "provider_alerts"
    __table_args__ = (
        UniqueConstraint("kind", "visit_id", name="uq_provider_alerts_kind_visit_id"),
        UniqueConstraint("kind", "evaluation_id", name="uq_provider_alerts_kind_evaluation_id"),
        Index("ix_provider_alerts_provider_open", "provider_id", "acknowledged_at"),
    )

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    kind: Mapped[AlertKind]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("provider_quality_evaluations.id"))
    raised_at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    visit: Mapped[Visit | None] = relationship()
    evaluation: Mapped[ProviderQualityEvaluation | None] = relationship()


class SuspensionLift(Base):
    """An administrator lifted a provider's suspension (suspended → active), with the reason."""

    __tablename__ = "provider_suspension_lifts"

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    lifted_at: Mapped[dt.datetime]
    lifted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(COMPLAINT_SUMMARY_LENGTH))

    provider: Mapped[Provider] = relationship()
    lifted_by: Mapped[User] = relationship()


class ComplaintChannel(enum.Enum):
    PHONE = "phone"
    IN_PERSON = "in_person"
    LETTER = "letter"
    ONLINE = "online"


class ComplaintStatus(enum.Enum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Complaint(Base):
    """A complaint about a provider, recorded and resolved by the administration.

    Counted in the provider's monthly evaluation (by `received_on`) unless dismissed.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_provider_received", "provider_id", "received_on"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_when_not_open"),
    )

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    received_on: Mapped[dt.date]
    channel: Mapped[ComplaintChannel]
    summary: Mapped[str] = mapped_column(String(COMPLAINT_SUMMARY_LENGTH))
    status: Mapped[ComplaintStatus] = mapped_column(default=ComplaintStatus.OPEN)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]
    resolution_note: Mapped[str | None] = mapped_column(String(COMPLAINT_SUMMARY_LENGTH))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]

    provider: Mapped[Provider] = relationship()
    person: Mapped[Person | None] = relationship()
    visit: Mapped[Visit | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
