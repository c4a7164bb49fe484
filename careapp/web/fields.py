"""Field helpers shared by the blueprints' forms."""

from __future__ import annotations

from typing import Any


def optional_choice_id(value: Any) -> int | None:
    """Coerce a select's id: empty is None, anything not a number is -1, never a choice, so the
    field refuses it with its own message (with `validate_choice=True`)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
