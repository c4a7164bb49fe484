"""Leases: which process runs a singleton's work now (careapp.core.lease)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from careapp.db import Base


class SchedulerLease(Base):
    """One row per lease name ("scheduler"): its holder, or none while it is free.

    Every instant is the database's clock. `version` grows at each write; a write is made only
    if the row still has the version the writer read (compare-and-set), so two processes that
    decide at once cannot both take the lease.
    """

    __tablename__ = "scheduler_leases"
    __table_args__ = (
        # A holder is all three (host, pid, instance) or none, and a held lease has its times.
        CheckConstraint(
            "(holder_host IS NULL AND holder_pid IS NULL AND holder_instance IS NULL) OR "
            "(holder_host IS NOT NULL AND holder_pid IS NOT NULL AND holder_instance IS NOT NULL "
            "AND acquired_at IS NOT NULL AND heartbeat_at IS NOT NULL AND expires_at IS NOT NULL)",
            name="holder_complete",
        ),
    )

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder_host: Mapped[str | None] = mapped_column(String(255))
    holder_pid: Mapped[int | None]
    holder_instance: Mapped[str | None] = mapped_column(String(32))
    acquired_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]  # or, while free, when its last holder let it go
    expires_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=0)
