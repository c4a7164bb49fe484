"""Domain errors raised by services; views map them to form errors, flashes or 4xx responses."""

from __future__ import annotations


class CareappError(Exception):
    """Base of every error a user can cause. `message` is already translated for the user."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(CareappError):
    """The object does not exist, or the actor may not know that it does."""

    status_code = 404


class PermissionDeniedError(CareappError):
    status_code = 403


class ConflictError(CareappError):
    """The action clashes with the current state (a duplicate, a double booking, a wrong state)."""

    status_code = 409


class InvalidInputError(CareappError):
    status_code = 400


class ThrottledError(CareappError):
    status_code = 429
