"""Policy versions (rates as data), eligibility decisions and entitlements."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk
from careapp.models.assessment import CareSetting

if TYPE_CHECKING:
    from careapp.models.assessment import Application, Assessment
    from careapp.models.people import Person
    from careapp.models.users import User


class BenefitCategory(enum.Enum):
    SEVERE = "severe"
    MODERATE = "moderate"


class PolicyVersion(Base):
    """Every figure of the benefit rules, effective from a date; never edited once in force."""

    __tablename__ = "policy_versions"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100))
    effective_on: Mapped[dt.date] = mapped_column(unique=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    min_disability_months: Mapped[int] = mapped_column(default=6)
    # The assessment instrument in force (an `assessments.grading.INSTRUMENTS` code).
    instrument_code: Mapped[str] = mapped_column(String(40), default="barthel")
    # Instrument code -> `assessments.grading.rules_to_data(rules)`: bands, level bands, table.
    grading_rules: Mapped[dict[str, Any]]
    # Instrument code -> grade code -> "severe" | "moderate" | None (no benefit category).
    grade_categories: Mapped[dict[str, Any]]
    home_service_monthly_budget_fen: Mapped[int] = mapped_column(default=120_000)
    created_at: Mapped[created_at]

    rates: Mapped[list[PolicyRate]] = relationship(
        back_populates="policy_version", cascade="all, delete-orphan"
    )
    approved_by: Mapped[User | None] = relationship()


class PolicyRate(Base):
    """The daily benefit of one category in one care setting, in fen (None: paid per visit)."""

    __tablename__ = "policy_rates"
    __table_args__ = (UniqueConstraint("policy_version_id", "category", "care_setting"),)

    id: Mapped[intpk]
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    category: Mapped[BenefitCategory]
    care_setting: Mapped[CareSetting]
    daily_fen: Mapped[int | None]

    policy_version: Mapped[PolicyVersion] = relationship(back_populates="rates")


class EligibilityDecision(Base):
    __tablename__ = "eligibility_decisions"

    id: Mapped[intpk]
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    decided_on: Mapped[dt.date]
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_eligible: Mapped[bool]
    category: Mapped[BenefitCategory | None]
    care_setting: Mapped[CareSetting]
    daily_rate_fen: Mapped[int | None]
    # [{"rule": "insured", "passed": true, "reason_code": "insured", "params": {...}}, ...]
    reasons: Mapped[list[Any]]
    created_at: Mapped[created_at]

    application: Mapped[Application] = relationship()
    assessment: Mapped[Assessment] = relationship()
    policy_version: Mapped[PolicyVersion] = relationship()
    decided_by: Mapped[User] = relationship()


class EntitlementStatus(enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"


class Entitlement(Base):
    __tablename__ = "entitlements"
    __table_args__ = (
        # One person, one open entitlement.
        Index(
            "uq_entitlements_one_active_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("eligibility_decisions.id"), unique=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    category: Mapped[BenefitCategory]
    care_setting: Mapped[CareSetting]
    daily_rate_fen: Mapped[int | None]
    monthly_budget_fen: Mapped[int | None]
    status: Mapped[EntitlementStatus] = mapped_column(default=EntitlementStatus.ACTIVE)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))

    person: Mapped[Person] = relationship()
    decision: Mapped[EligibilityDecision] = relationship()
    policy_version: Mapped[PolicyVersion] = relationship()
