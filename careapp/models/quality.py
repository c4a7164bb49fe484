"""Provider quality: monthly evaluations (the exit mechanism) and alerts to providers' managers."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk
from careapp.models.providers import ProviderStatus

if TYPE_CHECKING:
    from careapp.models.providers import Provider
    from careapp.models.visit import Visit


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
    # Problem codes of scheduling.quality.QualityProblem; empty when the month passed.
    problems: Mapped[list[Any]] = mapped_column(default=list)
    is_failing: Mapped[bool]
    status_before: Mapped[ProviderStatus]
    status_after: Mapped[ProviderStatus]
    # The thresholds in force, as exact fractions ("19/20"), so the decision can be re-read.
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evaluated_at: Mapped[dt.datetime]

    provider: Mapped[Provider] = relationship()


class AlertKind(enum.Enum):
    MISSED_VISIT = "missed_visit"
    QUALITY_WARNING = "quality_warning"
    QUALITY_SUSPENSION = "quality_suspension"
    QUALITY_EXIT = "quality_exit"


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
