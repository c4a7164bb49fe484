"""Satisfaction ratings: what a valid rating is, and the satisfaction share of a provider."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from fractions import Fraction

MIN_STARS = 1
MAX_STARS = 5
SATISFIED_STARS = 4  # 4 or 5 stars count as satisfied
MAX_COMMENT_LENGTH = 500


class RatingProblem(enum.StrEnum):
    STARS_OUT_OF_RANGE = "stars_out_of_range"
    COMMENT_TOO_LONG = "comment_too_long"


def rating_problems(stars: int, comment: str | None) -> tuple[str, ...]:
    """Why a rating cannot be recorded (empty when it can)."""
    problems: list[str] = []
    if not MIN_STARS <= stars <= MAX_STARS:
        problems.append(RatingProblem.STARS_OUT_OF_RANGE.value)
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        problems.append(RatingProblem.COMMENT_TOO_LONG.value)
    return tuple(problems)


def satisfaction_share(stars: Iterable[int]) -> Fraction | None:
    """The share of rated visits with 4 or 5 stars; None when nothing was rated."""
    rated = 0
    satisfied = 0
    for value in stars:
        if not MIN_STARS <= value <= MAX_STARS:
            raise ValueError(f"stars must be {MIN_STARS}–{MAX_STARS}, got {value}")
        rated += 1
        if value >= SATISFIED_STARS:
            satisfied += 1
    if rated == 0:
        return None
    return Fraction(satisfied, rated)


# Two-character Chinese surnames (复姓) that are common enough to matter on a rating page.
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文"}
)


def caregiver_first_name(full_name: str) -> str:
    """The given name alone, so a family knows who came without learning the full name.

    "Anna Smith" → "Anna"; "王小明" → "小明"; "欧阳娜娜" → "娜娜". A one-character or
    unparseable name is returned as it is.
    """
    name = full_name.strip()
    if " " in name:
        return name.split()[0]
    if len(name) >= 2 and all(unicodedata.name(char, "").startswith("CJK") for char in name):
        surname_length = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[surname_length:]
    return name
