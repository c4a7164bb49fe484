"""Grading: ONE pure function of an instrument, a complete set of answers and grading rules.

Rules are data (`BandRules`, `CombinationRules`): `rules_to_data` / `rules_from_data` turn them
into JSON-safe dictionaries and back (for a policy version, or for a form's JavaScript), and
`check_rules` refuses rules that do not cover every total exactly once, whose combination table is
incomplete, or that are not monotone (a worse answer must never give a less severe grade).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from assessments.instruments.barthel import BARTHEL
from assessments.instruments.national_2021 import NATIONAL_2021
from assessments.types import (
    DUPLICATE_GRADE,
    DUPLICATE_LEVEL,
    EMPTY_BAND,
    GAP_OR_OVERLAP,
    INDICATORS_MISMATCH,
    INVALID_OPTION,
    LEVELS_NOT_MONOTONE,
    MALFORMED,
    MISSING,
    NO_BANDS,
    NO_GRADES,
    NO_LEVELS,
    NOT_FROM_MINIMUM,
    NOT_TO_MAXIMUM,
    TABLE_NOT_MONOTONE,
    TABLE_SHAPE,
    UNKNOWN_GRADE,
    UNKNOWN_ITEM,
    UNKNOWN_LEVEL,
    WRONG_KIND,
    Band,
    BandRules,
    CombinationRules,
    Grade,
    GradingRules,
    IndicatorBands,
    IndicatorResult,
    Instrument,
    InvalidAnswersError,
    InvalidBandsError,
    InvalidRulesError,
    Label,
)

INSTRUMENTS: dict[str, Instrument] = {
    BARTHEL.code: BARTHEL,
    NATIONAL_2021.code: NATIONAL_2021,
}

BANDS_KIND = "bands"
COMBINATION_KIND = "combination"


def get_instrument(code: str) -> Instrument:
    """The instrument stored under `code`; KeyError (a LookupError) if there is none."""
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise KeyError(f"unknown instrument: {code!r}") from None


def default_rules(instrument: Instrument) -> GradingRules:
    """The rules the instrument ships with (a policy version may replace them)."""
    return instrument.default_rules


def answer_problems(instrument: Instrument, answers: Mapping[str, object]) -> dict[str, str]:
    """Every problem of `answers`, item code -> reason code (empty when they can be graded)."""
    problems: dict[str, str] = {}
    for item in instrument.items:
        if item.code not in answers:
            problems[item.code] = MISSING
            continue
        value = answers[item.code]
        # bool is an int subclass: False must not pass for 0 points.
        if type(value) is not int or item.option_for(value) is None:
            problems[item.code] = INVALID_OPTION
    for code in answers:
        if instrument.item(code) is None:
            problems[code] = UNKNOWN_ITEM
    return problems


# --- checking rules --------------------------------------------------------------------------


def _check_bands_over(
    bands: Sequence[Band], minimum: int, maximum: int, indicator: str | None
) -> None:
    """Raise InvalidBandsError unless `bands` (lowest totals first) cover minimum..maximum once."""
    if not bands:
        raise InvalidBandsError(NO_BANDS, indicator=indicator)
    if len({band.grade_code for band in bands}) != len(bands):
        raise InvalidBandsError(DUPLICATE_GRADE, indicator=indicator)
    for band in bands:
        if band.min_total > band.max_total:
            raise InvalidBandsError(EMPTY_BAND, indicator=indicator, band=band.grade_code)
    if bands[0].min_total != minimum:
        raise InvalidBandsError(
            NOT_FROM_MINIMUM, indicator=indicator, band=bands[0].grade_code, minimum=minimum
        )
    for lower, upper in pairwise(bands):
        if upper.min_total != lower.max_total + 1:
            raise InvalidBandsError(GAP_OR_OVERLAP, indicator=indicator, band=upper.grade_code)
    if bands[-1].max_total != maximum:
        raise InvalidBandsError(
            NOT_TO_MAXIMUM, indicator=indicator, band=bands[-1].grade_code, maximum=maximum
        )


def check_bands(instrument: Instrument, bands: Sequence[Band]) -> None:
    """Raise InvalidBandsError unless `bands` (most severe first) cover every total once."""
    _check_bands_over(bands, instrument.min_total, instrument.max_total, None)


def _check_labels(labels: Sequence[Label], empty: str, duplicate: str) -> None:
    if not labels:
        raise InvalidRulesError(empty)
    seen: set[str] = set()
    for label in labels:
        if label.code in seen:
            raise InvalidRulesError(duplicate, code=label.code)
        seen.add(label.code)


def _check_combination(instrument: Instrument, rules: CombinationRules) -> None:
    if not instrument.indicators:
        raise InvalidRulesError(WRONG_KIND, instrument=instrument.code)
    _check_labels(rules.levels, NO_LEVELS, DUPLICATE_LEVEL)
    _check_labels(rules.grades, NO_GRADES, DUPLICATE_GRADE)
    codes = [indicator.code for indicator in instrument.indicators]
    axes = [rules.row_indicator, *rules.column_indicators]
    banded = [ib.indicator for ib in rules.indicator_bands]
    if not rules.column_indicators or sorted(axes) != sorted(codes):
        raise InvalidRulesError(INDICATORS_MISMATCH, where="table")
    if sorted(banded) != sorted(codes):
        raise InvalidRulesError(INDICATORS_MISMATCH, where="bands")
    level_rank = {level.code: rank for rank, level in enumerate(rules.levels)}
    for code in codes:
        bands = rules.bands_of(code)
        _check_bands_over(
            bands, instrument.indicator_min_total(code), instrument.indicator_max_total(code), code
        )
        for band in bands:
            if band.grade_code not in level_rank:
                raise InvalidRulesError(UNKNOWN_LEVEL, indicator=code, level=band.grade_code)
        for lower, upper in pairwise(bands):
            # Bands run from the lowest totals up: each must be less impaired than the one below.
            if level_rank[upper.grade_code] >= level_rank[lower.grade_code]:
                raise InvalidRulesError(LEVELS_NOT_MONOTONE, indicator=code, level=upper.grade_code)
    size = len(rules.levels)
    if len(rules.table) != size:
        raise InvalidRulesError(TABLE_SHAPE, rows=len(rules.table), expected=size)
    for row, cells in zip(rules.levels, rules.table, strict=True):
        if len(cells) != size:
            raise InvalidRulesError(TABLE_SHAPE, row=row.code, columns=len(cells), expected=size)
    grade_rank = {label.code: rank for rank, label in enumerate(rules.grades)}
    for r, cells in enumerate(rules.table):
        for c, cell in enumerate(cells):
            where = {"row": rules.levels[r].code, "column": rules.levels[c].code, "grade": cell}
            if cell not in grade_rank:
                raise InvalidRulesError(UNKNOWN_GRADE, **where)
            above = rules.table[r - 1][c] if r > 0 else None
            if above is not None and grade_rank[cell] < grade_rank[above]:
                raise InvalidRulesError(
                    TABLE_NOT_MONOTONE, **where, than_row=rules.levels[r - 1].code, than=above
                )
            left = cells[c - 1] if c > 0 else None
            if left is not None and grade_rank[cell] < grade_rank[left]:
                raise InvalidRulesError(
                    TABLE_NOT_MONOTONE, **where, than_column=rules.levels[c - 1].code, than=left
                )


def check_rules(instrument: Instrument, rules: GradingRules) -> None:
    """Raise InvalidRulesError (naming what is wrong and where) unless `rules` can grade.

    Bands must cover every total of the instrument (or of each indicator) exactly once; the
    combination table needs one cell per pair of levels, each naming a grade of the rules; and
    the rules must be monotone: a more impaired level never sits at higher totals, and a cell is
    never less severe than the cell above it or to its left.
    """
    if isinstance(rules, BandRules):
        check_bands(instrument, rules.bands)
    else:
        _check_combination(instrument, rules)


# --- grading ---------------------------------------------------------------------------------


def _as_rules(instrument: Instrument, rules: GradingRules | Sequence[Band] | None) -> GradingRules:
    if rules is None:
        return instrument.default_rules
    if isinstance(rules, BandRules | CombinationRules):
        return rules
    return BandRules(tuple(rules))  # a plain sequence of bands over the total


def grade(
    instrument: Instrument,
    answers: Mapping[str, int],
    rules: GradingRules | Sequence[Band] | None = None,
) -> Grade:
    """Grade a complete set of answers (item code -> points) under `rules`.

    `rules` defaults to the instrument's own; a plain sequence of bands (most severe first) is
    read as `BandRules`. Raises InvalidAnswersError naming every missing, unknown or invalid
    answer, and InvalidRulesError (InvalidBandsError for bands) if the rules cannot grade.
    """
    problems = answer_problems(instrument, answers)
    if problems:
        raise InvalidAnswersError(problems)
    used = _as_rules(instrument, rules)
    check_rules(instrument, used)
    total = sum(answers[item.code] for item in instrument.items)
    if isinstance(used, BandRules):
        # check_rules guarantees exactly one band covers every total from min to max.
        index, band = next((i, b) for i, b in enumerate(used.bands) if b.covers(total))
        return Grade(
            total=total,
            grade_code=band.grade_code,
            label_zh=band.label_zh,
            label_en=band.label_en,
            severity=len(used.bands) - 1 - index,
        )
    levels = {level.code: (rank, level) for rank, level in enumerate(used.levels)}
    ranks: dict[str, int] = {}
    results = []
    for indicator in instrument.indicators:
        subtotal = sum(answers[item.code] for item in instrument.items_of(indicator.code))
        band = next(b for b in used.bands_of(indicator.code) if b.covers(subtotal))
        rank, level = levels[band.grade_code]
        ranks[indicator.code] = rank
        results.append(
            IndicatorResult(
                code=indicator.code,
                label_zh=indicator.label_zh,
                label_en=indicator.label_en,
                total=subtotal,
                level_code=level.code,
                level_zh=level.label_zh,
                level_en=level.label_en,
            )
        )
    row = ranks[used.row_indicator]
    column = max(ranks[code] for code in used.column_indicators)
    cell = used.table[row][column]
    severity, label = next((i, g) for i, g in enumerate(used.grades) if g.code == cell)
    return Grade(
        total=total,
        grade_code=label.code,
        label_zh=label.label_zh,
        label_en=label.label_en,
        severity=severity,
        indicators=tuple(results),
    )


def severity_rank(bands: Sequence[Band], grade_code: str) -> int:
    """0 for the most severe band, rising towards the least severe; ValueError if unknown."""
    for rank, band in enumerate(bands):
        if band.grade_code == grade_code:
            return rank
    raise ValueError(f"no band with grade code {grade_code!r}")


# --- rules as data ---------------------------------------------------------------------------


def _label_data(label: Label) -> dict[str, str]:
    return {"code": label.code, "label_zh": label.label_zh, "label_en": label.label_en}


def rules_to_data(rules: GradingRules) -> dict[str, Any]:
    """JSON-safe data of `rules` (plain dicts, lists, strings and ints); see `rules_from_data`."""
    if isinstance(rules, BandRules):
        return {
            "kind": BANDS_KIND,
            "source": rules.source,
            "bands": [
                {
                    "grade": band.grade_code,
                    "label_zh": band.label_zh,
                    "label_en": band.label_en,
                    "min": band.min_total,
                    "max": band.max_total,
                }
                for band in rules.bands
            ],
        }
    return {
        "kind": COMBINATION_KIND,
        "source": rules.source,
        "levels": [_label_data(level) for level in rules.levels],
        "grades": [_label_data(label) for label in rules.grades],
        "indicator_bands": [
            {
                "indicator": ib.indicator,
                "bands": [
                    {"level": band.grade_code, "min": band.min_total, "max": band.max_total}
                    for band in ib.bands
                ],
            }
            for ib in rules.indicator_bands
        ],
        "row_indicator": rules.row_indicator,
        "column_indicators": list(rules.column_indicators),
        "table": [list(row) for row in rules.table],
    }


def _malformed(path: str) -> InvalidRulesError:
    return InvalidRulesError(MALFORMED, path=path)


def _dict(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _malformed(path)
    return value


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise _malformed(path)
    return list(value)


def _str(data: Mapping[str, object], key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _malformed(f"{path}.{key}")
    return value


def _int(data: Mapping[str, object], key: str, path: str) -> int:
    value = data.get(key)
    if type(value) is not int:  # bool is not a total
        raise _malformed(f"{path}.{key}")
    return value


def _labels(data: Mapping[str, object], key: str) -> tuple[Label, ...]:
    labels = []
    for i, entry in enumerate(_list(data.get(key), key)):
        path = f"{key}[{i}]"
        row = _dict(entry, path)
        labels.append(
            Label(_str(row, "code", path), _str(row, "label_zh", path), _str(row, "label_en", path))
        )
    return tuple(labels)


def _band_rules_from(data: Mapping[str, object]) -> BandRules:
    bands = []
    for i, entry in enumerate(_list(data.get("bands"), "bands")):
        path = f"bands[{i}]"
        row = _dict(entry, path)
        bands.append(
            Band(
                grade_code=_str(row, "grade", path),
                label_zh=_str(row, "label_zh", path),
                label_en=_str(row, "label_en", path),
                min_total=_int(row, "min", path),
                max_total=_int(row, "max", path),
            )
        )
    return BandRules(bands=tuple(bands), source=_str(data, "source", "rules"))


def _combination_rules_from(data: Mapping[str, object]) -> CombinationRules:
    levels = _labels(data, "levels")
    names = {level.code: level for level in levels}
    indicator_bands = []
    for i, entry in enumerate(_list(data.get("indicator_bands"), "indicator_bands")):
        path = f"indicator_bands[{i}]"
        row = _dict(entry, path)
        bands = []
        for j, band_entry in enumerate(_list(row.get("bands"), f"{path}.bands")):
            band_path = f"{path}.bands[{j}]"
            band = _dict(band_entry, band_path)
            code = _str(band, "level", band_path)
            level = names.get(code, Label(code, code, code))
            bands.append(
                Band(
                    code,
                    level.label_zh,
                    level.label_en,
                    _int(band, "min", band_path),
                    _int(band, "max", band_path),
                )
            )
        indicator_bands.append(IndicatorBands(_str(row, "indicator", path), tuple(bands)))
    columns = []
    for i, entry in enumerate(_list(data.get("column_indicators"), "column_indicators")):
        if not isinstance(entry, str):
            raise _malformed(f"column_indicators[{i}]")
        columns.append(entry)
    table = []
    for r, entry in enumerate(_list(data.get("table"), "table")):
        cells = []
        for c, cell in enumerate(_list(entry, f"table[{r}]")):
            if not isinstance(cell, str):
                raise _malformed(f"table[{r}][{c}]")
            cells.append(cell)
        table.append(tuple(cells))
    return CombinationRules(
        levels=levels,
        indicator_bands=tuple(indicator_bands),
        row_indicator=_str(data, "row_indicator", "rules"),
        column_indicators=tuple(columns),
        table=tuple(table),
        grades=_labels(data, "grades"),
        source=_str(data, "source", "rules"),
    )


def rules_from_data(instrument: Instrument, data: object) -> GradingRules:
    """Rules from `rules_to_data` output, checked against `instrument` (InvalidRulesError)."""
    root = _dict(data, "rules")
    kind = root.get("kind")
    rules: GradingRules
    if kind == BANDS_KIND:
        rules = _band_rules_from(root)
    elif kind == COMBINATION_KIND:
        rules = _combination_rules_from(root)
    else:
        raise _malformed("rules.kind")
    check_rules(instrument, rules)
    return rules
