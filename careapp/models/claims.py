"""Audit of claims: flags on visits that look wrong, held out of settlement until reviewed."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.visit import Visit


class ClaimFlagKind(enum.Enum):
    # One caregiver (the same person, even under two providers) in two homes at once.
    OVERLAPPING_VISITS = "overlapping_visits"
    # Consecutive check-ins further apart than anyone could travel in the time between them.
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    # A visit on a day the beneficiary was in hospital (the benefit is suspended).
    DURING_HOSPITAL_STAY = "during_hospital_stay"
    # Checked in further from the home than the configured distance.
    FAR_FROM_HOME = "far_from_home"
    # Entered by hand afterwards instead of verified on the phone at the home.
    MANUAL_ENTRY = "manual_entry"
    # Checked out after far fewer minutes than the visit's service items take.
    SHORT_VISIT = "short_visit"


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
