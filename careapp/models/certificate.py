"""Issued certificates, each with a unique number."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from careapp.db import Base, intpk


class CertificateKind(enum.Enum):
    ASSESSMENT_CONCLUSION = "assessment_conclusion"  # 评估结论书
    BENEFIT = "benefit"  # 待遇资格证明


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[CertificateKind]
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    entitlement_id: Mapped[int | None] = mapped_column(ForeignKey("entitlements.id"))
    issued_at: Mapped[dt.datetime]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
