"""Monthly settlement statements to providers: issued once, never changed.

A provider's month has one main statement (sequence 1) and, when visits held at that time are
cleared later (or the ledger of the month changes), supplementary statements (2, 3, ...) that pay
only what the earlier ones did not.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.certificate import Certificate
    from careapp.models.providers import Provider
    from careapp.models.users import User


class StatementLineKind(enum.Enum):
    VISIT = "visit"  # one home-care visit
    BED_DAYS = "bed_days"  # one resident's bed-days in an institution


class SettlementStatement(Base):
    __tablename__ = "settlement_statements"
    __table_args__ = (
        UniqueConstraint(
            "provider_id", "month", "sequence", name="uq_settlement_statements_provider_month_seq"
        ),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
    )

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(32), unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    month: Mapped[dt.date]  # the first day of the month settled
    sequence: Mapped[int]  # 1: the main statement; 2, 3, ...: supplementary
    provider_name: Mapped[str] = mapped_column(String(100))  # as at issue
    visits_paid: Mapped[int]
    visits_paid_fen: Mapped[int]
    visits_held: Mapped[int]
    visits_held_fen: Mapped[int]  # the value of the visits held at issue (not paid)
    bed_days: Mapped[int]
    bed_days_fen: Mapped[int]
    total_fen: Mapped[int]
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    issued_by: Mapped[User] = relationship()
    certificate: Mapped[Certificate] = relationship()  # its number's check code
    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="statement",
        cascade="all, delete-orphan",
        order_by="SettlementLine.position",
    )

    @property
    def is_supplementary(self) -> bool:
        return self.sequence > 1


class SettlementLine(Base):
    """One visit (its outcome and amount) or one resident's bed-days on a statement; names and
    ID numbers are stored masked, as printed."""

    __tablename__ = "settlement_lines"

    id: Mapped[intpk]
    statement_id: Mapped[int] = mapped_column(ForeignKey("settlement_statements.id"), index=True)
    position: Mapped[int]
    kind: Mapped[StatementLineKind]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlements.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    person_name_masked: Mapped[str] = mapped_column(String(100))
    id_number_masked: Mapped[str] = mapped_column(String(32))
    visit_on: Mapped[dt.date | None]
    item_codes: Mapped[str | None] = mapped_column(String(300))  # comma-separated, as done
    item_names_zh: Mapped[str | None] = mapped_column(String(300))  # the same items, in Chinese
    days: Mapped[int] = mapped_column(default=0)  # bed-days (0 on a visit line)
    value_fen: Mapped[int]  # the visit's value, or the bed-days' amount
    amount_fen: Mapped[int]  # what this statement pays (a supplementary: only the new part)
    outcome: Mapped[str] = mapped_column(String(32))  # settlement Outcome, or "bed_days"

    statement: Mapped[SettlementStatement] = relationship(back_populates="lines")
