"""Value types of assessment instruments: an instrument is data, grading is a pure function.

An `Instrument` lists its `Item`s, each with the `Option`s an assessor may choose (points and
wording in Chinese and English), and the `Band`s that map a total to a grade. Bands are ordered
from the most severe grade (lowest totals) to the least severe (highest totals), so a band's
position is its severity rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Reason codes of `InvalidAnswersError.problems`.
MISSING = "missing"  # an item of the instrument has no answer
UNKNOWN_ITEM = "unknown_item"  # an answer names no item of the instrument
INVALID_OPTION = "invalid_option"  # the value is not one of the item's options

# Reason codes of `InvalidBandsError.reason`.
NO_BANDS = "no_bands"
EMPTY_BAND = "empty_band"
DUPLICATE_GRADE = "duplicate_grade"
NOT_FROM_MINIMUM = "not_from_minimum"
GAP_OR_OVERLAP = "gap_or_overlap"
NOT_TO_MAXIMUM = "not_to_maximum"


@dataclass(frozen=True)
class Option:
    """One allowed answer of an item."""

    points: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Item:
    """One question of an instrument; its options run from best to worst."""

    code: str
    label_zh: str
    label_en: str
    help_zh: str
    help_en: str
    options: tuple[Option, ...]

    def option_for(self, points: int) -> Option | None:
        """The option worth `points`, or None if the item has no such option."""
        return next((option for option in self.options if option.points == points), None)

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)

    @property
    def min_points(self) -> int:
        return min(option.points for option in self.options)


@dataclass(frozen=True)
class Band:
    """The grade of every total from `min_total` to `max_total`, both included."""

    grade_code: str
    label_zh: str
    label_en: str
    min_total: int
    max_total: int

    def covers(self, total: int) -> bool:
        return self.min_total <= total <= self.max_total


@dataclass(frozen=True)
class Instrument:
    code: str
    version: str
    name_zh: str
    name_en: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]  # default bands, most severe first

    @property
    def min_total(self) -> int:
        return sum(item.min_points for item in self.items)

    @property
    def max_total(self) -> int:
        return sum(item.max_points for item in self.items)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def band(self, grade_code: str) -> Band | None:
        """The default band of a grade code (for its labels), or None if there is none."""
        return next((band for band in self.bands if band.grade_code == grade_code), None)


@dataclass(frozen=True)
class Grade:
    total: int
    grade_code: str
    label_zh: str
    label_en: str


class InvalidAnswersError(ValueError):
    """A set of answers that cannot be graded; `problems` names every bad item at once."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems: Mapping[str, str] = MappingProxyType(dict(problems))
        listed = ", ".join(f"{code}: {reason}" for code, reason in sorted(self.problems.items()))
        super().__init__(f"invalid answers ({listed})")


class InvalidBandsError(ValueError):
    """Bands that do not cover an instrument's totals exactly once each."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid bands: {reason}")
