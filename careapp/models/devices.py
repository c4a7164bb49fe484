"""Assistive devices (辅助器具): the catalogue of device types, and loans and purchase subsidies.

A loan copies the catalogue's figures it used (provision, subsidy, maximum loan duration), so
editing the catalogue never rewrites a past loan.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk

if TYPE_CHECKING:
    from careapp.models.eligibility import Entitlement
    from careapp.models.people import Person
    from careapp.models.users import User


class DeviceProvision(enum.Enum):
    """How the scheme provides a device type."""

    LOAN = "loan"  # 借用: lent from the scheme's stock and returned
    PURCHASE_SUBSIDY = "purchase_subsidy"  # 购置补贴: a subsidy towards buying one


class DeviceType(Base):
    """One entry of the device catalogue; administrators edit it, loans copy its figures."""

    __tablename__ = "device_types"
    __table_args__ = (
        CheckConstraint("subsidy_fen >= 0", name="subsidy_not_negative"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint(
            "max_loan_days IS NULL OR max_loan_days > 0", name="max_loan_days_positive"
        ),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    provision: Mapped[DeviceProvision]
    subsidy_fen: Mapped[int]
    # Lent devices only: the longest loan in days and the number of devices the scheme owns.
    max_loan_days: Mapped[int | None]
    stock: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    loans: Mapped[list[DeviceLoan]] = relationship(back_populates="device_type")


class DeviceLoan(Base):
    """A device lent to a beneficiary (returned later), or a purchase subsidy granted once.

    For a purchase subsidy `starts_on` is the day it was granted; it has no due or return date.
    """

    __tablename__ = "device_loans"
    __table_args__ = (
        # One open loan per person and device type.
        Index(
            "uq_device_loans_one_open_per_person_type",
            "person_id",
            "device_type_id",
            unique=True,
            sqlite_where=text("provision = 'loan' AND returned_on IS NULL"),
            postgresql_where=text("provision = 'loan' AND returned_on IS NULL"),
        ),
        CheckConstraint("due_on IS NULL OR due_on >= starts_on", name="due_not_before_start"),
        CheckConstraint(
            "returned_on IS NULL OR returned_on >= starts_on", name="return_not_before_start"
        ),
        CheckConstraint("subsidy_fen >= 0", name="subsidy_not_negative"),
    )

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"), index=True)
    device_type_id: Mapped[int] = mapped_column(ForeignKey("device_types.id"), index=True)
    # Copied from the catalogue when recorded.
    provision: Mapped[DeviceProvision]
    subsidy_fen: Mapped[int]
    max_loan_days: Mapped[int | None]
    starts_on: Mapped[dt.date] = mapped_column(index=True)
    due_on: Mapped[dt.date | None]
    serial_number: Mapped[str | None] = mapped_column(String(60))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]
    returned_on: Mapped[dt.date | None]
    return_condition: Mapped[str | None] = mapped_column(String(200))
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship()
    entitlement: Mapped[Entitlement] = relationship()
    device_type: Mapped[DeviceType] = relationship(back_populates="loans")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])

    @property
    def is_open(self) -> bool:
        """A lent device not yet returned."""
        return self.provision is DeviceProvision.LOAN and self.returned_on is None
