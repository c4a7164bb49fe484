"""Issued certificates, each with a unique number, and the batches that print them in bulk."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.check_codes import new_check_code
from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.users import User


class CertificateKind(enum.Enum):
    ASSESSMENT_CONCLUSION = "assessment_conclusion"  # 评估结论书
    BENEFIT = "benefit"  # 待遇资格证明
    DECISION_NOTICE = "decision_notice"  # 决定通知书
    SETTLEMENT_STATEMENT = "settlement_statement"  # 结算单 (a provider's monthly statement)


# One current (not superseded) certificate per document: an assessment's conclusion, a decision's
# notice, a decision's benefit certificate. Two simultaneous openings cannot both number it.
_CURRENT = text("superseded_at IS NULL")


class Certificate(Base):
    """A numbered document. Reprinting the same content gives the same row (and number); new
    content, or an administrator's explicit re-issue, gives a new row and supersedes this one."""

    __tablename__ = "certificates"
    __table_args__ = (
        Index(
            "uq_certificates_current_assessment",
            "kind",
            "assessment_id",
            unique=True,
            postgresql_where=_CURRENT,
            sqlite_where=_CURRENT,
        ),
        Index(
            "uq_certificates_current_decision",
            "kind",
            "decision_id",
            unique=True,
            postgresql_where=_CURRENT,
            sqlite_where=_CURRENT,
        ),
    )

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # The secret printed beside the number and in the QR code (careapp.core.check_codes): /verify
    # answers only to number and code together. Kept as printed (a reprint prints it again);
    # what it unlocks is masked data of this same database (docs/security/certificates.md).
    check_code: Mapped[str] = mapped_column(String(16), default=new_check_code)
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
    # SHA-256 of what the document prints (its number, issue date and address aside): the
    # same content reprints under the same number. None: a settlement statement, or a row
    # issued before this was recorded (its next print gets a new number).
    content_digest: Mapped[str | None] = mapped_column(String(64))
    # Replaced by a later certificate of the same document (new content or a re-issue).
    superseded_at: Mapped[dt.datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # An administrator's re-issue: why (kept for the audit, never shown on /verify).
    supersede_reason: Mapped[str | None] = mapped_column(String(500))


class PrintBatchStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PrintBatch(Base):
    """One PDF of a week's decision notices and benefit certificates, built in the background."""

    __tablename__ = "print_batches"
    __table_args__ = (
        # One batch in progress per week (an abandoned one is failed before it is replaced).
        Index(
            "uq_print_batches_one_in_progress_per_week",
            "week_starts_on",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

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
    # Who builds it and when it last showed it was working (careapp.core.liveness); `attempt`
    # grows at each restart, and only the runner of the current attempt may write progress.
    attempt: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    runner_host: Mapped[str | None] = mapped_column(String(255))
    runner_pid: Mapped[int | None]
    heartbeat_at: Mapped[dt.datetime | None]

    requested_by: Mapped[User] = relationship()
