"""Satisfaction ratings of visits, one per visit."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.visit import Visit


class RatingChannel(enum.Enum):
    LINK = "link"  # the family, through the one-time link or QR code
    PHONE_SURVEY = "phone_survey"  # entered by survey staff


class SatisfactionRating(Base):
    __tablename__ = "satisfaction_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),)

    id: Mapped[intpk]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    stars: Mapped[int]
    comment: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[RatingChannel]
    rated_at: Mapped[dt.datetime]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Hash of the one-time link that was used (None for phone surveys): a reused link is
    # recognised as "already rated" after the visit's own token hash has been cleared.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    visit: Mapped[Visit] = relationship()
