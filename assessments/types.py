"""Value types of assessment instruments: an instrument is data, grading is a pure function.

An `Instrument` lists its `Item`s (in form order), each with the `Option`s an assessor may choose
(points and wording in Chinese and English), optionally grouped into `Indicator`s. How totals map
to a grade is `GradingRules` data, so that a policy can change it without a code change:

- `BandRules`: the grade is the `Band` of the instrument's total (the Barthel Index). Bands are
  ordered from the most severe grade (lowest totals) to the least severe (highest totals), so a
  band's position is its severity rank.
- `CombinationRules`: each indicator's total gives a level through its own bands, and a table
  combines the row indicator's level with the worst level of the column indicators into a grade
  (the 2021 national standard). Levels and grades are listed from the least to the most severe.

Every `Grade` carries a `severity`: 0 for the least severe grade of its rules, rising with severity,
so that "a worse answer never lowers the grade" can be stated for any rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Reason codes of `InvalidAnswersError.problems`.
MISSING = "missing"  # an item of the instrument has no answer
UNKNOWN_ITEM = "unknown_item"  # an answer names no item of the instrument
INVALID_OPTION = "invalid_option"  # the value is not one of the item's options

# Reason codes of `InvalidRulesError.reason` (and of its subclass `InvalidBandsError`).
NO_BANDS = "no_bands"
EMPTY_BAND = "empty_band"
DUPLICATE_GRADE = "duplicate_grade"
NOT_FROM_MINIMUM = "not_from_minimum"
GAP_OR_OVERLAP = "gap_or_overlap"
NOT_TO_MAXIMUM = "not_to_maximum"
MALFORMED = "malformed"  # stored data of the wrong shape
WRONG_KIND = "wrong_kind"  # rules of a kind the instrument cannot use
NO_LEVELS = "no_levels"
DUPLICATE_LEVEL = "duplicate_level"
NO_GRADES = "no_grades"
INDICATORS_MISMATCH = "indicators_mismatch"  # bands or table axes do not match the indicators
UNKNOWN_LEVEL = "unknown_level"
LEVELS_NOT_MONOTONE = "levels_not_monotone"  # a higher total gives a more impaired level
TABLE_SHAPE = "table_shape"  # not one row and one column per level
UNKNOWN_GRADE = "unknown_grade"  # a table cell names no grade of the rules
TABLE_NOT_MONOTONE = "table_not_monotone"  # a more impaired level gives a lower grade


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
    indicator: str | None = None  # the code of the instrument's indicator the item belongs to

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
class Indicator:
    """A first-level indicator: a group of items whose total gives a level."""

    code: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Label:
    """A named grade or level: its code and its wording in Chinese and English."""

    code: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Band:
    """The grade (or level) of every total from `min_total` to `max_total`, both included."""

    grade_code: str
    label_zh: str
    label_en: str
    min_total: int
    max_total: int

    def covers(self, total: int) -> bool:
        return self.min_total <= total <= self.max_total


@dataclass(frozen=True)
class BandRules:
    """The grade is the band of the instrument's total; bands most severe (lowest totals) first."""

    bands: tuple[Band, ...]
    source: str = ""  # where the figures come from

    @property
    def grades(self) -> tuple[Label, ...]:
        """The grades from the least to the most severe."""
        return tuple(Label(b.grade_code, b.label_zh, b.label_en) for b in reversed(self.bands))


@dataclass(frozen=True)
class IndicatorBands:
    """The level of each total of one indicator; bands lowest totals (most impaired) first.

    A band's `grade_code` is a level code of the rules; its labels are the level's labels.
    """

    indicator: str
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class CombinationRules:
    """Levels per indicator, combined by a table into a grade (组合法).

    `table[r][c]` is the grade code for row level `levels[r]` of `row_indicator` and column level
    `levels[c]`, the more impaired of the levels of the `column_indicators`.
    """

    levels: tuple[Label, ...]  # least to most impaired
    indicator_bands: tuple[IndicatorBands, ...]
    row_indicator: str
    column_indicators: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    grades: tuple[Label, ...]  # least to most severe
    source: str = ""

    def level(self, code: str) -> Label | None:
        return next((level for level in self.levels if level.code == code), None)

    def bands_of(self, indicator: str) -> tuple[Band, ...]:
        """The bands of an indicator (empty if the rules have none for it)."""
        return next((ib.bands for ib in self.indicator_bands if ib.indicator == indicator), ())


GradingRules = BandRules | CombinationRules


@dataclass(frozen=True)
class Instrument:
    code: str
    version: str
    name_zh: str
    name_en: str
    items: tuple[Item, ...]  # every item, in form order
    default_rules: GradingRules
    indicators: tuple[Indicator, ...] = ()  # in form order; empty when items are not grouped

    @property
    def min_total(self) -> int:
        return sum(item.min_points for item in self.items)

    @property
    def max_total(self) -> int:
        return sum(item.max_points for item in self.items)

    @property
    def grades(self) -> tuple[Label, ...]:
        """The default grades, least severe first."""
        return self.default_rules.grades

    @property
    def bands(self) -> tuple[Band, ...]:
        """The default bands over the total (empty when the default rules are not bands)."""
        rules = self.default_rules
        return rules.bands if isinstance(rules, BandRules) else ()

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def indicator(self, code: str) -> Indicator | None:
        return next((ind for ind in self.indicators if ind.code == code), None)

    def items_of(self, indicator: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.indicator == indicator)

    def indicator_min_total(self, indicator: str) -> int:
        return sum(item.min_points for item in self.items_of(indicator))

    def indicator_max_total(self, indicator: str) -> int:
        return sum(item.max_points for item in self.items_of(indicator))

    def band(self, grade_code: str) -> Label | None:
        """The default wording of a grade code, or None if there is none."""
        return next((label for label in self.grades if label.code == grade_code), None)

    grade_label = band


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator's total and the level it gives."""

    code: str
    label_zh: str
    label_en: str
    total: int
    level_code: str
    level_zh: str
    level_en: str


@dataclass(frozen=True)
class Grade:
    total: int  # the sum of every item's points
    grade_code: str
    label_zh: str
    label_en: str
    severity: int = 0  # 0 = the least severe grade of the rules used
    indicators: tuple[IndicatorResult, ...] = ()  # per indicator, in the instrument's order

    def indicator(self, code: str) -> IndicatorResult | None:
        return next((result for result in self.indicators if result.code == code), None)


class InvalidAnswersError(ValueError):
    """A set of answers that cannot be graded; `problems` names every bad item at once."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems: Mapping[str, str] = MappingProxyType(dict(problems))
        listed = ", ".join(f"{code}: {reason}" for code, reason in sorted(self.problems.items()))
        super().__init__(f"invalid answers ({listed})")


class InvalidRulesError(ValueError):
    """Grading rules that cannot be used; `reason` is a code, `params` name where it is wrong."""

    def __init__(self, reason: str, **params: str | int | None) -> None:
        self.reason = reason
        self.params: Mapping[str, str | int | None] = MappingProxyType(dict(params))
        where = ", ".join(f"{key}={value}" for key, value in sorted(self.params.items()))
        super().__init__(f"invalid rules: {reason}" + (f" ({where})" if where else ""))


class InvalidBandsError(InvalidRulesError):
    """Bands that do not cover a range of totals exactly once each."""
