"""Who is acting: the Actor passed to services, and role checks for views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from careapp.extensions import login_manager
from careapp.models.users import Role

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Actor:
    """The user behind an action, as services see it (no Flask objects)."""

    user_id: int | None
    role: Role | None
    provider_id: int | None = None
    address: str | None = None

    def is_role(self, *roles: Role) -> bool:
        return self.role in roles


ANONYMOUS = Actor(user_id=None, role=None)


def current_actor() -> Actor:
    address = request.remote_addr if request else None
    if not current_user.is_authenticated:
        return Actor(user_id=None, role=None, address=address)
    return Actor(
        user_id=current_user.id,
        role=current_user.role,
        provider_id=current_user.provider_id,
        address=address,
    )


def role_required(*roles: Role) -> Callable[[F], F]:
    """Require a logged-in user holding one of `roles` (403 otherwise)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]  # functools.wraps keeps the signature

    return decorator
