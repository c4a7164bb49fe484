"""Applications for care insurance and the assessments that grade them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk

if TYPE_CHECKING:
    from careapp.models.people import Person
    from careapp.models.users import User


class CareSetting(enum.Enum):
    MEDICAL_CARE_INSTITUTION = "medical_care_institution"  # 医疗照护机构
    ELDERLY_CARE_INSTITUTION = "elderly_care_institution"  # 养老机构
    HOME_SERVICE = "home_service"  # 居家, door-to-door service from a contracted company
    HOME_CASH = "home_cash"  # 居家, no door-to-door service: cash subsidy


class ApplicationStatus(enum.Enum):
    SUBMITTED = "submitted"
    ASSESSING = "assessing"  # two assessors assigned, appointment made
    ASSESSED = "assessed"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


OPEN_APPLICATION_STATUSES = ("submitted", "assessing", "assessed")


class Applicant(enum.Enum):
    SELF = "self"
    FAMILY = "family"
    INSTITUTION = "institution"


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # One open application per person, enforced by the database.
        Index(
            "uq_applications_one_open_per_person",
            "person_id",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'assessing', 'assessed')"),
            postgresql_where=text("status IN ('submitted', 'assessing', 'assessed')"),
        ),
    )

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(default=ApplicationStatus.SUBMITTED)
    applied_on: Mapped[dt.date]
    applicant: Mapped[Applicant]
    applicant_name: Mapped[str | None] = mapped_column(String(100))
    disability_since: Mapped[dt.date]
    evidence_note: Mapped[str] = mapped_column(String(500))
    requested_setting: Mapped[CareSetting]
    assessor_1_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessor_2_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    appointment_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]

    person: Mapped[Person] = relationship()
    assessor_1: Mapped[User | None] = relationship(foreign_keys=[assessor_1_id])
    assessor_2: Mapped[User | None] = relationship(foreign_keys=[assessor_2_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="application", order_by="Assessment.version"
    )

    def is_assessor(self, user_id: int) -> bool:
        return user_id in (self.assessor_1_id, self.assessor_2_id)


class Assessment(Base):
    """A submitted, immutable assessment; a correction is a new version."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("application_id", "version"),)

    id: Mapped[intpk]
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    instrument: Mapped[str] = mapped_column(String(40))  # e.g. "barthel"
    instrument_version: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, Any]]  # item code -> points chosen
    total: Mapped[int]
    grade: Mapped[str] = mapped_column(String(40))  # the instrument's grade code, e.g. "severe"
    assessed_on: Mapped[dt.date]
    assessor_1_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assessor_2_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    family_member_present: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(1000))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime]

    application: Mapped[Application] = relationship(back_populates="assessments")
    assessor_1: Mapped[User] = relationship(foreign_keys=[assessor_1_id])
    assessor_2: Mapped[User] = relationship(foreign_keys=[assessor_2_id])
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
