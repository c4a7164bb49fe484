"""Who is acting: the Actor every service receives (no Flask objects)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from flask_babel.speaklater import LazyString

from careapp.core.errors import PermissionDeniedError
from careapp.models.users import Role


@dataclass(frozen=True)
class Actor:
    """The user behind an action, as services see it (no Flask objects)."""

    user_id: int | None
    role: Role | None
    provider_id: int | None = None
    address: str | None = None

    def is_role(self, *roles: Role) -> bool:
        return self.role in roles

    def require(self, *roles: Role, message: LazyString | None = None) -> int:
        """The acting user's id when they are logged in with one of `roles`.

        Anyone else (another role, or no user at all, like the scheduler) gets a
        PermissionDeniedError with `message`, by default "You do not have permission to do this."
        `message` is a lazy_gettext string: translated only when the check fails (a gettext
        called outside a request would fix the locale of the app context for later requests).
        """
        if self.user_id is None or self.role not in roles:
            raise PermissionDeniedError(
                str(message)
                if message is not None
                else gettext("You do not have permission to do this.")
            )
        return self.user_id

    def provider_scope(self) -> int | None:
        """Which provider's records the actor sees: None (every provider) for an administrator,
        their own provider's id for a provider manager; anyone else gets a PermissionDeniedError."""
        if self.is_role(Role.ADMIN):
            return None
        if self.is_role(Role.PROVIDER_MANAGER) and self.provider_id is not None:
            return self.provider_id
        raise PermissionDeniedError(gettext("You do not have permission to do this."))

    def require_provider(self) -> int:
        """The id of the provider the acting provider manager runs.

        Anyone else (another role, a manager of no provider, no user at all) gets a
        PermissionDeniedError.
        """
        self.require(Role.PROVIDER_MANAGER)
        if self.provider_id is None:
            raise PermissionDeniedError(gettext("You do not have permission to do this."))
        return self.provider_id
