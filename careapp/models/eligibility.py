"""Policy versions (rates as data), eligibility decisions and entitlements."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk
from careapp.eligibility.rules import BenefitCategory
from careapp.models.assessment import CareSetting

if TYPE_CHECKING:
    from careapp.models.assessment import Application, Assessment
    from careapp.models.people import Person
    from careapp.models.providers import Provider
    from careapp.models.users import User


class EntitlementStart(enum.Enum):
    """The date an entitlement starts on."""

    DECISION = "decision"  # the decision date (the spec's default)
    APPLICATION = "application"  # the date the application was lodged


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
    entitlement_starts_from: Mapped[EntitlementStart] = mapped_column(
        default=EntitlementStart.DECISION, server_default=EntitlementStart.DECISION.value
    )
    # The procedure's windows: days to appeal after a decision, working days of publicity (公示),
    # months between scheduled re-assessments.
    appeal_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    publicity_working_days: Mapped[int] = mapped_column(default=5, server_default=text("5"))
    reassessment_interval_months: Mapped[int] = mapped_column(default=24, server_default=text("24"))
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
    events: Mapped[list[EntitlementEvent]] = relationship(
        back_populates="entitlement",
        order_by="(EntitlementEvent.occurs_on, EntitlementEvent.id)",
        cascade="all, delete-orphan",
    )


class EntitlementEventKind(enum.Enum):
    START = "start"  # the first day of benefit, in its first care setting
    MOVE = "move"  # a change of care setting, applying from `occurs_on`
    HOSPITAL_STAY = "hospital_stay"  # admitted on `occurs_on`, discharged on `discharged_on`
    END = "end"  # the end date (not paid): death, end of insurance, moving away, re-assessment


class EntitlementEvent(Base):
    """A dated change of an entitlement; the benefit days are computed from these."""

    __tablename__ = "entitlement_events"
    __table_args__ = (
        Index(
            "uq_entitlement_events_one_start",
            "entitlement_id",
            unique=True,
            sqlite_where=text("kind = 'start'"),
            postgresql_where=text("kind = 'start'"),
        ),
        Index(
            "uq_entitlement_events_one_end",
            "entitlement_id",
            unique=True,
            sqlite_where=text("kind = 'end'"),
            postgresql_where=text("kind = 'end'"),
        ),
        CheckConstraint(
            "(kind IN ('start', 'move')) = (care_setting IS NOT NULL)", name="setting_of_placement"
        ),
        CheckConstraint("(kind = 'end') = (end_reason IS NOT NULL)", name="reason_of_end"),
        CheckConstraint(
            "discharged_on IS NULL OR (kind = 'hospital_stay' AND discharged_on >= occurs_on)",
            name="discharge_after_admission",
        ),
    )

    id: Mapped[intpk]
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), index=True)
    kind: Mapped[EntitlementEventKind]
    occurs_on: Mapped[dt.date]
    care_setting: Mapped[CareSetting | None]
    # The institution (institution settings) or home-care company the person is placed with.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    discharged_on: Mapped[dt.date | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]

    entitlement: Mapped[Entitlement] = relationship(back_populates="events")
    provider: Mapped[Provider | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()
