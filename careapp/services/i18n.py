"""Domain data carries its own wording in both languages (`name_zh`/`name_en`, `label_zh`/
`label_en`, …): the one place that picks the request's language, Chinese unless English is chosen.

Services word their messages with it and the pages use it as the `localized` template filter
(registered in careapp.web), so a district, a device or an instrument reads the same everywhere.
"""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import get_locale


class Names(NamedTuple):
    """A name in both languages, kept apart from the row it was read from."""

    name_zh: str
    name_en: str


def localized(thing: object, attribute: str = "name") -> str:
    """`thing.<attribute>_en` on an English page, else `thing.<attribute>_zh`."""
    locale = get_locale()
    language = "en" if locale is not None and locale.language == "en" else "zh"
    return str(getattr(thing, f"{attribute}_{language}"))
