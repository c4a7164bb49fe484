"""Satisfaction ratings: what a valid rating is, and the satisfaction share of a provider."""

from __future__ import annotations

import datetime as dt
import enum
import math
import unicodedata
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic, TypeVar

from scheduling.months import month_of, next_month

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


P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True)
class Tally:
    """Rated visits and those with 4 or 5 stars."""

    rated: int = 0
    satisfied: int = 0

    @property
    def share(self) -> Fraction | None:
        """The satisfaction share, exactly; None when nothing was rated."""
        return Fraction(self.satisfied, self.rated) if self.rated else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.rated + other.rated, self.satisfied + other.satisfied)


@dataclass(frozen=True)
class SatisfactionTable(Generic[P]):
    """Satisfaction by provider and month, with the city's total per month."""

    months: tuple[dt.date, ...]
    providers: tuple[P, ...]
    cells: dict[tuple[P, dt.date], Tally] = field(default_factory=dict)

    def cell(self, provider: P, month: dt.date) -> Tally:
        return self.cells.get((provider, month), Tally())

    def provider_total(self, provider: P) -> Tally:
        return sum((self.cell(provider, month) for month in self.months), Tally())

    def city(self, month: dt.date) -> Tally:
        return sum((self.cell(provider, month) for provider in self.providers), Tally())

    @property
    def city_total(self) -> Tally:
        return sum((self.city(month) for month in self.months), Tally())


def month_range(first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """The first days of the months from `first`'s month to `last`'s month, both included."""
    months = []
    month = month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return tuple(months)


def satisfaction_table(
    rows: Iterable[tuple[P, dt.date, int, int]], months: tuple[dt.date, ...]
) -> SatisfactionTable[P]:
    """Tally (provider, month, stars, count) rows: `count` ratings of `stars` stars.

    Rows outside `months` are left out; providers are listed in the order first seen.
    """
    wanted = set(months)
    cells: dict[tuple[P, dt.date], Tally] = {}
    providers: dict[P, None] = {}
    for provider, month, stars, count in rows:
        if not MIN_STARS <= stars <= MAX_STARS:
            raise ValueError(f"stars must be {MIN_STARS}–{MAX_STARS}, got {stars}")
        if count < 0:
            raise ValueError("a count cannot be negative")
        first = month.replace(day=1)
        if first not in wanted:
            continue
        providers.setdefault(provider, None)
        satisfied = count if stars >= SATISFIED_STARS else 0
        cells[(provider, first)] = cells.get((provider, first), Tally()) + Tally(count, satisfied)
    return SatisfactionTable(months, tuple(providers), cells)


def percent_text(share: Fraction | None) -> str:
    """A share as a percentage with one decimal, rounded half up exactly: 2/3 → "66.7"."""
    if share is None:
        return ""
    tenths = math.floor(share * 1000 + Fraction(1, 2))
    return f"{tenths // 10}.{tenths % 10}"


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
