"""Issued certificates, each with a unique number, and the batches that print them in bulk."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.users import User


class CertificateKind(enum.Enum):
    ASSESSMENT_CONCLUSION = "assessment_conclusion"  # 评估结论书
    BENEFIT = "benefit"  # 待遇资格证明
    DECISION_NOTICE = "decision_notice"  # 决定通知书
    SETTLEMENT_STATEMENT = "settlement_statement"  # 结算单 (a provider's monthly statement)


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[CertificateKind]
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("entitlements.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("eligibility_decisions.id"))
    # The validity printed on a benefit certificate (None on the other kinds).
    valid_from: Mapped[dt.date | None]
    valid_until: Mapped[dt.date | None]
    # Issued inside a batch: genuine only once the batch's PDF was completed.
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"), index=True)
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class PrintBatchStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PrintBatch(Base):
    """One PDF of a week's decision notices and benefit certificates, built in the background."""

    __tablename__ = "print_batches"

    id: Mapped[intpk]
    week_starts_on: Mapped[dt.date]  # a Monday; the batch covers Monday..Sunday
    status: Mapped[PrintBatchStatus] = mapped_column(default=PrintBatchStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)  # decisions to print
    done: Mapped[int] = mapped_column(default=0)  # decisions printed so far
    file_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(500))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]

    requested_by: Mapped[User] = relationship()
