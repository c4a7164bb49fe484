"""The registry: districts and insured persons."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk, str100, str200


class DistrictKind(enum.Enum):
    URBAN = "urban"
    RURAL = "rural"


class HouseholdType(enum.Enum):
    """Household registration (户籍): recorded for statistics only, never used by a decision."""

    URBAN = "urban"
    RURAL = "rural"
    OTHER_CITY = "other_city"


class InsuranceScheme(enum.Enum):
    EMPLOYEE = "employee"  # 职工基本医疗保险
    RESIDENT = "resident"  # 城乡居民基本医疗保险


class InsuranceStatus(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Sex(enum.Enum):
    MALE = "male"
    FEMALE = "female"


class District(Base):
    """A district or county of the city; its kind sets the travel speed."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    kind: Mapped[DistrictKind]


class Person(Base):
    """An insured person. The ID number is stored encrypted; lookups use its keyed hash."""

    __tablename__ = "people"

    id: Mapped[intpk]
    id_number_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str100]
    sex: Mapped[Sex]
    born_on: Mapped[dt.date]
    phone: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str200]
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    township: Mapped[str | None] = mapped_column(String(60))
    home_lat: Mapped[float | None]
    home_lon: Mapped[float | None]
    household_type: Mapped[HouseholdType]
    insurance_scheme: Mapped[InsuranceScheme]
    insurance_status: Mapped[InsuranceStatus]
    insured_from: Mapped[dt.date]
    insured_until: Mapped[dt.date | None]
    guardian_name: Mapped[str | None] = mapped_column(String(100))
    guardian_phone: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[created_at]

    district: Mapped[District] = relationship()

    def is_insured_on(self, day: dt.date) -> bool:
        if self.insurance_status is not InsuranceStatus.ACTIVE:
            return False
        if day < self.insured_from:
            return False
        return self.insured_until is None or day <= self.insured_until
