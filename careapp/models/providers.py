"""Care providers (home-care companies and institutions), their caregivers and services."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, LargeBinary, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk, str100
from scheduling.quality import ProviderStatus

if TYPE_CHECKING:
    from careapp.models.people import District
    from careapp.models.users import User


class ProviderKind(enum.Enum):
    HOME_CARE = "home_care"
    ELDERLY_CARE_INSTITUTION = "elderly_care_institution"
    MEDICAL_CARE_INSTITUTION = "medical_care_institution"
    VOLUNTEER = "volunteer"


class Qualification(enum.Enum):
    DAILY_CARE = "daily_care"  # 生活照料
    NURSING = "nursing"  # 医疗护理
    REHABILITATION = "rehabilitation"  # 康复


provider_districts = Table(
    "provider_districts",
    Base.metadata,
    Column("provider_id", ForeignKey("providers.id"), primary_key=True),
    Column("district_code", ForeignKey("districts.code"), primary_key=True),
)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[intpk]
    name: Mapped[str100]
    licence_number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[ProviderKind]
    status: Mapped[ProviderStatus] = mapped_column(default=ProviderStatus.ACTIVE)
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contract_from: Mapped[dt.date]
    contract_until: Mapped[dt.date | None]

    districts: Mapped[list[District]] = relationship(secondary=provider_districts)
    caregivers: Mapped[list[Caregiver]] = relationship(back_populates="provider")


class Caregiver(Base):
    """A care worker of one provider, with a base where the working day starts and ends."""

    __tablename__ = "caregivers"

    id: Mapped[intpk]
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str100]
    phone: Mapped[str | None] = mapped_column(String(30))
    # Qualification values, e.g. ["daily_care", "nursing"].
    qualifications: Mapped[list[Any]] = mapped_column(default=list)
    # ISO weekdays worked, 1 = Monday, e.g. [1, 2, 3, 4, 5].
    work_days: Mapped[list[Any]] = mapped_column(default=list)
    work_start: Mapped[dt.time]
    work_end: Mapped[dt.time]
    base_lat: Mapped[float]
    base_lon: Mapped[float]
    max_visits_per_day: Mapped[int] = mapped_column(default=8)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # The resident ID number, encrypted, with its keyed hash (blind index) and masked form. Not
    # unique: the same person may work for two providers (one caregiver row each), and the
    # index is how the audit of claims finds them. Empty for rows from before it was recorded.
    id_number_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))

    provider: Mapped[Provider] = relationship(back_populates="caregivers")
    user: Mapped[User | None] = relationship()


class ServiceItem(Base):
    """A catalogue entry: what a visit can include, how long it takes, who may do it, its price."""

    __tablename__ = "service_items"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    duration_minutes: Mapped[int]
    qualification: Mapped[Qualification]
    unit_price_fen: Mapped[int]
