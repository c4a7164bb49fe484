"""Audit of claims: flags on visits that look wrong, held out of settlement until reviewed."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk
from scheduling.claims import ClaimFlagKind

if TYPE_CHECKING:
    from careapp.models.visit import Visit


class ClaimFlagStatus(enum.Enum):
    OPEN = "open"  # waiting for an administrator: the visit is held out of settlement
    CLEARED = "cleared"  # reviewed and accepted: the visit can be paid
    UPHELD = "upheld"  # reviewed and refused: the visit is never paid


# A visit with a flag in one of these statuses is not paid.
HOLDING_FLAG_STATUSES = (ClaimFlagStatus.OPEN, ClaimFlagStatus.UPHELD)


class ClaimFlag(Base):
    """One reason to doubt one visit's claim, with what tripped it (`detail`), and its review.

    Unique per visit and kind, so auditing a day again raises nothing new.
    """

    __tablename__ = "claim_flags"
    __table_args__ = (
        UniqueConstraint("visit_id", "kind", name="uq_claim_flags_visit_id_kind"),
        Index("ix_claim_flags_status", "status"),
    )

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[ClaimFlagKind]
    # The facts behind the flag, e.g. {"other_visit_id": 12, "distance_m": 2400, ...}.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raised_at: Mapped[dt.datetime]
    status: Mapped[ClaimFlagStatus] = mapped_column(default=ClaimFlagStatus.OPEN)
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(String(500))

    visit: Mapped[Visit] = relationship()
