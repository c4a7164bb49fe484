"""Staff accounts, their roles and the login attempts that throttle them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.db import Base, created_at, intpk

if TYPE_CHECKING:
    from careapp.models.providers import Provider


class Role(enum.Enum):
    ADMIN = "admin"
    ASSESSOR = "assessor"
    PROVIDER_MANAGER = "provider_manager"
    CAREGIVER = "caregiver"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role]
    # Provider managers and caregivers belong to exactly one provider.
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Raised to end every session of the user at once (logout, a new password, disabling):
    # a session carries the version it was opened under and dies when it differs.
    session_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Set when an account is created or its password reset by someone else: until the user
    # chooses a password of their own, every page leads to "change my password"
    # (careapp.blueprints.users). Demo accounts and test factories leave it false.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[created_at]
    # The TOTP second factor (careapp.services.two_factor): the secret, encrypted with the data
    # key; set but not enrolled while the user is confirming it with a first code.
    totp_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled_at: Mapped[dt.datetime | None]
    # The last 30-second time step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]

    provider: Mapped[Provider | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.is_enabled

    def get_id(self) -> str:
        """What the session (and a remember cookie) stores: the id and the session version, so
        raising the version ends the sessions opened before (careapp.web.sessions)."""
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def has_two_factor(self) -> bool:
        """Whether the user has a confirmed TOTP second factor."""
        return self.totp_enrolled_at is not None and self.totp_secret_ciphertext is not None

    @property
    def requires_two_factor(self) -> bool:
        """Whether the user may log in only with a second factor: whoever has one, and every
        administrator (who must set one up first)."""
        return self.has_two_factor or self.role is Role.ADMIN


class RecoveryCode(Base):
    """One of a user's single-use recovery codes for the second factor, stored salted and
    hashed (`careapp.services.two_factor`)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class LoginAttempt(Base):
    """One try at logging in; failures within a window throttle the account and the address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "attempted_at"),
        Index("ix_login_attempts_address_at", "address", "attempted_at"),
    )

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[dt.datetime]
    is_success: Mapped[bool]
    # When an administrator unlocked the account (careapp.services.users.unlock_user): a
    # cleared failure no longer counts towards the throttle, and stays on record.
    cleared_at: Mapped[dt.datetime | None]
