"""Calendar feeds: a caregiver's visits at a secret, revocable iCalendar URL."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, intpk

if TYPE_CHECKING:
    from careapp.models.providers import Caregiver


class CalendarFeed(Base):
    """One subscription link of a caregiver. Only the token's SHA-256 hash is stored; a new
    link revokes the previous one, and a revoked link answers 404."""

    __tablename__ = "calendar_feeds"

    id: Mapped[intpk]
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None]

    caregiver: Mapped[Caregiver] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
