"""Who is acting in a request: the logged-in user as an Actor, and role checks for views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user

from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


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
