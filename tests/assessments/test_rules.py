"""Grading rules as data: checking (coverage, completeness, monotony) and JSON round trips."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments.grading import check_rules, grade, rules_from_data, rules_to_data
from assessments.instruments.barthel import BARTHEL, barthel_bands
from assessments.instruments.barthel import DEFAULT_RULES as BARTHEL_RULES
from assessments.instruments.national_2021 import (
    DEFAULT_RULES,
    GRADES,
    LEVELS,
    NATIONAL_2021,
    level_bands,
)
from assessments.types import (
    DUPLICATE_GRADE,
    DUPLICATE_LEVEL,
    EMPTY_BAND,
    GAP_OR_OVERLAP,
    INDICATORS_MISMATCH,
    LEVELS_NOT_MONOTONE,
    MALFORMED,
    NO_BANDS,
    NO_GRADES,
    NO_LEVELS,
    NOT_FROM_MINIMUM,
    NOT_TO_MAXIMUM,
    TABLE_NOT_MONOTONE,
    TABLE_SHAPE,
    UNKNOWN_GRADE,
    UNKNOWN_LEVEL,
    WRONG_KIND,
    Band,
    BandRules,
    CombinationRules,
    IndicatorBands,
    InvalidBandsError,
    InvalidRulesError,
    Label,
)


def replace(**changes: Any) -> CombinationRules:
    return dataclasses.replace(DEFAULT_RULES, **changes)


def with_cell(row: int, column: int, value: str) -> CombinationRules:
    table = [list(cells) for cells in DEFAULT_RULES.table]
    table[row][column] = value
    return replace(table=tuple(tuple(cells) for cells in table))


def with_bands(indicator: str, bands: tuple[Band, ...]) -> CombinationRules:
    return replace(
        indicator_bands=tuple(
            IndicatorBands(ib.indicator, bands) if ib.indicator == indicator else ib
            for ib in DEFAULT_RULES.indicator_bands
        )
    )


def _level(code: str, low: int, high: int) -> Band:
    return Band(code, code, code, low, high)


def test_default_rules_pass_the_check() -> None:
    check_rules(NATIONAL_2021, DEFAULT_RULES)
    check_rules(BARTHEL, BARTHEL_RULES)


# --- combination rules that cannot grade: each refused with what and where ---------------


@pytest.mark.parametrize(
    ("rules", "reason", "params"),
    [
        (replace(levels=()), NO_LEVELS, {}),
        (replace(levels=(*LEVELS, LEVELS[0])), DUPLICATE_LEVEL, {"code": "intact"}),
        (replace(grades=()), NO_GRADES, {}),
        (replace(grades=(*GRADES, GRADES[2])), DUPLICATE_GRADE, {"code": "2"}),
        (replace(column_indicators=()), INDICATORS_MISMATCH, {"where": "table"}),
        (replace(column_indicators=("cognition",)), INDICATORS_MISMATCH, {"where": "table"}),
        (replace(row_indicator="cognition"), INDICATORS_MISMATCH, {"where": "table"}),
        (
            replace(indicator_bands=DEFAULT_RULES.indicator_bands[:2]),
            INDICATORS_MISMATCH,
            {"where": "bands"},
        ),
        (with_bands("cognition", ()), NO_BANDS, {"indicator": "cognition"}),
        (
            with_bands("sensory", (*level_bands(3, 7, 11, 12)[:3], _level("intact", 11, 12))),
            GAP_OR_OVERLAP,
            {"indicator": "sensory", "band": "intact"},
        ),
        (
            with_bands("adl", level_bands(40, 60, 99, 95)),
            EMPTY_BAND,
            {"indicator": "adl", "band": "intact"},
        ),
        (
            with_bands("cognition", level_bands(3, 11, 15, 17)),
            NOT_TO_MAXIMUM,
            {"indicator": "cognition", "band": "intact", "maximum": 16},
        ),
        (
            with_bands("cognition", (_level("severe", 1, 3), *level_bands(3, 11, 15, 16)[1:])),
            NOT_FROM_MINIMUM,
            {"indicator": "cognition", "band": "severe", "minimum": 0},
        ),
        (
            with_bands("sensory", (*level_bands(3, 7, 11, 12)[:3], _level("perfect", 12, 12))),
            UNKNOWN_LEVEL,
            {"indicator": "sensory", "level": "perfect"},
        ),
        (
            # A HIGHER cognition total gives a MORE impaired level: not monotone.
            with_bands(
                "cognition",
                (
                    _level("severe", 0, 3),
                    _level("mild", 4, 11),
                    _level("moderate", 12, 15),
                    _level("intact", 16, 16),
                ),
            ),
            LEVELS_NOT_MONOTONE,
            {"indicator": "cognition", "level": "moderate"},
        ),
        (replace(table=DEFAULT_RULES.table[:3]), TABLE_SHAPE, {"rows": 3, "expected": 4}),
        (
            replace(table=(*DEFAULT_RULES.table[:3], ("3", "3", "4"))),
            TABLE_SHAPE,
            {"row": "severe", "columns": 3, "expected": 4},
        ),
        (
            with_cell(2, 1, "6"),
            UNKNOWN_GRADE,
            {"row": "moderate", "column": "mild", "grade": "6"},
        ),
        (
            with_cell(2, 1, ""),
            UNKNOWN_GRADE,
            {"row": "moderate", "column": "mild", "grade": ""},
        ),
        (
            # ADL severe x column intact would be grade 1, below the moderate row's 2.
            with_cell(3, 0, "1"),
            TABLE_NOT_MONOTONE,
            {
                "row": "severe",
                "column": "intact",
                "grade": "1",
                "than_row": "moderate",
                "than": "2",
            },
        ),
        (
            # Lowering a cell below its left neighbour (same row, better column).
            with_cell(0, 3, "0"),
            TABLE_NOT_MONOTONE,
            {
                "row": "intact",
                "column": "severe",
                "grade": "0",
                "than_column": "moderate",
                "than": "1",
            },
        ),
    ],
)
def test_check_rules_refuses_combination_rules_naming_the_problem(
    rules: CombinationRules, reason: str, params: Mapping[str, object]
) -> None:
    with pytest.raises(InvalidRulesError) as raised:
        check_rules(NATIONAL_2021, rules)
    assert raised.value.reason == reason
    for key, value in params.items():
        assert raised.value.params[key] == value
    assert reason in str(raised.value)


def test_check_rules_names_the_exact_offending_cell_for_a_raised_cell() -> None:
    # Raising the top-left cell to 2 makes the cell to its right (0) lower than it.
    with pytest.raises(InvalidRulesError) as raised:
        check_rules(NATIONAL_2021, with_cell(0, 0, "2"))
    assert dict(raised.value.params) == {
        "row": "intact",
        "column": "mild",
        "grade": "0",
        "than_column": "intact",
        "than": "2",
    }


def test_check_rules_bands_errors_are_invalid_bands_errors() -> None:
    with pytest.raises(InvalidBandsError):
        check_rules(NATIONAL_2021, with_bands("adl", ()))
    with pytest.raises(InvalidBandsError) as raised:
        check_rules(BARTHEL, BandRules(barthel_bands(40, 100)))
    assert raised.value.reason in {GAP_OR_OVERLAP, EMPTY_BAND}


def test_combination_rules_need_an_instrument_with_indicators() -> None:
    with pytest.raises(InvalidRulesError) as raised:
        check_rules(BARTHEL, DEFAULT_RULES)
    assert (raised.value.reason, dict(raised.value.params)) == (
        WRONG_KIND,
        {"instrument": "barthel"},
    )


def test_band_rules_grade_the_national_total_too() -> None:
    bands = BandRules((Band("low", "低", "Low", 0, 63), Band("high", "高", "High", 64, 128)))
    answers = {item.code: item.max_points for item in NATIONAL_2021.items}
    result = grade(NATIONAL_2021, answers, bands)
    assert (result.total, result.grade_code, result.severity, result.indicators) == (
        128,
        "high",
        0,
        (),
    )


def test_grade_under_corrected_table_uses_the_correction() -> None:
    # An administrator corrects a cell: ADL mild x column moderate -> 2 (was 1).
    corrected = with_cell(1, 2, "2")
    check_rules(NATIONAL_2021, corrected)
    answers = {item.code: item.max_points for item in NATIONAL_2021.items}
    answers |= {"feeding": 5, "dressing": 5, "stairs": 5, "memory": 1, "place_orientation": 1}
    assert grade(NATIONAL_2021, answers).grade_code == "1"
    assert grade(NATIONAL_2021, answers, corrected).grade_code == "2"


def test_grade_refuses_rules_that_cannot_grade() -> None:
    answers = {item.code: item.max_points for item in NATIONAL_2021.items}
    with pytest.raises(InvalidRulesError):
        grade(NATIONAL_2021, answers, with_cell(3, 3, "0"))


# --- rules as data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "rules"),
    [(BARTHEL, BARTHEL_RULES), (NATIONAL_2021, DEFAULT_RULES)],
)
def test_rules_data_round_trip_through_json(instrument: Any, rules: Any) -> None:
    data = rules_to_data(rules)
    assert json.loads(json.dumps(data)) == data
    assert rules_from_data(instrument, json.loads(json.dumps(data))) == rules


def test_rules_to_data_national_shape() -> None:
    data = rules_to_data(DEFAULT_RULES)
    assert data["kind"] == "combination"
    assert data["table"][3] == ["3", "3", "4", "5"]
    assert data["indicator_bands"][0] == {
        "indicator": "adl",
        "bands": [
            {"level": "severe", "min": 0, "max": 40},
            {"level": "moderate", "min": 41, "max": 60},
            {"level": "mild", "min": 61, "max": 99},
            {"level": "intact", "min": 100, "max": 100},
        ],
    }
    assert data["levels"][0] == {"code": "intact", "label_zh": "能力完好", "label_en": "Intact"}
    assert "37号" in data["source"]


def test_rules_to_data_barthel_shape() -> None:
    data = rules_to_data(BARTHEL_RULES)
    assert data["kind"] == "bands"
    assert data["bands"][0] == {
        "grade": "severe",
        "label_zh": "重度依赖",
        "label_en": "Severe dependency",
        "min": 0,
        "max": 40,
    }


def _national() -> dict[str, Any]:
    return json.loads(json.dumps(rules_to_data(DEFAULT_RULES)))  # type: ignore[no-any-return]  # JSON


def _barthel() -> dict[str, Any]:
    return json.loads(json.dumps(rules_to_data(BARTHEL_RULES)))  # type: ignore[no-any-return]  # JSON


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([], "rules"),
        ({"kind": "nba"}, "rules.kind"),
        (_set(_barthel(), ("bands",), {}), "bands"),
        (_set(_barthel(), ("bands", 0), "severe"), "bands[0]"),
        (_set(_barthel(), ("bands", 1, "min"), "41"), "bands[1].min"),
        (_set(_barthel(), ("bands", 1, "max"), True), "bands[1].max"),
        (_set(_barthel(), ("bands", 2, "grade"), 3), "bands[2].grade"),
        (_set(_barthel(), ("source",), None), "rules.source"),
        (_set(_national(), ("levels",), None), "levels"),
        (_set(_national(), ("levels", 1, "label_en"), 1), "levels[1].label_en"),
        (_set(_national(), ("grades", 0), ["0"]), "grades[0]"),
        (_set(_national(), ("indicator_bands",), "adl"), "indicator_bands"),
        (_set(_national(), ("indicator_bands", 1), []), "indicator_bands[1]"),
        (_set(_national(), ("indicator_bands", 1, "bands"), None), "indicator_bands[1].bands"),
        (
            _set(_national(), ("indicator_bands", 1, "bands", 2), 7),
            "indicator_bands[1].bands[2]",
        ),
        (
            _set(_national(), ("indicator_bands", 1, "bands", 2, "min"), 1.5),
            "indicator_bands[1].bands[2].min",
        ),
        (_set(_national(), ("indicator_bands", 2, "indicator"), None), "indicator_bands[2]"),
        (_set(_national(), ("column_indicators",), "cognition"), "column_indicators"),
        (_set(_national(), ("column_indicators", 1), 2), "column_indicators[1]"),
        (_set(_national(), ("row_indicator",), None), "rules.row_indicator"),
        (_set(_national(), ("table",), None), "table"),
        (_set(_national(), ("table", 2), "2223"), "table[2]"),
        (_set(_national(), ("table", 2, 3), 3), "table[2][3]"),
    ],
)
def test_rules_from_data_refuses_malformed_data_naming_the_path(data: Any, path: str) -> None:
    is_bands = isinstance(data, dict) and data.get("kind") == "bands"
    instrument = BARTHEL if is_bands else NATIONAL_2021
    with pytest.raises(InvalidRulesError) as raised:
        rules_from_data(instrument, data)
    assert raised.value.reason == MALFORMED
    assert str(raised.value.params["path"]).startswith(path)


def test_rules_from_data_checks_the_rules() -> None:
    data = _set(_national(), ("table", 3, 0), "0")
    with pytest.raises(InvalidRulesError) as raised:
        rules_from_data(NATIONAL_2021, data)
    assert raised.value.reason == TABLE_NOT_MONOTONE
    data = _set(_national(), ("indicator_bands", 0, "bands", 0, "level"), "awful")
    with pytest.raises(InvalidRulesError) as raised:
        rules_from_data(NATIONAL_2021, data)
    assert (raised.value.reason, raised.value.params["level"]) == (UNKNOWN_LEVEL, "awful")
    with pytest.raises(InvalidRulesError) as raised:
        rules_from_data(BARTHEL, _national())
    assert raised.value.reason == WRONG_KIND


def test_rules_from_data_accepts_corrected_labels_and_source() -> None:
    data = _set(_national(), ("grades", 5, "label_en"), "Severe disability, grade III")
    data["source"] = "Corrected from the official annex, 2026"
    rules = rules_from_data(NATIONAL_2021, data)
    assert isinstance(rules, CombinationRules)
    assert rules.grades[5].label_en == "Severe disability, grade III"
    assert rules.source.startswith("Corrected")


# --- properties: any valid monotone rules grade monotonically and survive JSON -------------


@st.composite
def cut_points(draw: st.DrawFn, maximum: int) -> tuple[int, int, int]:
    """Three increasing upper limits below `maximum`: severe, moderate, mild."""
    values = sorted(draw(st.sets(st.integers(0, maximum - 1), min_size=3, max_size=3)))
    return values[0], values[1], values[2]


@st.composite
def monotone_rules(draw: st.DrawFn) -> CombinationRules:
    bands = []
    for code, maximum in (("adl", 100), ("cognition", 16), ("sensory", 12)):
        severe, moderate, mild = draw(cut_points(maximum))
        bands.append(IndicatorBands(code, level_bands(severe, moderate, mild, maximum)))
    row = st.lists(st.integers(0, 5), min_size=4, max_size=4)
    raw = draw(st.lists(row, min_size=4, max_size=4))
    # Make the table monotone: each cell at least the cell above and the cell to its left.
    for r in range(4):
        for c in range(4):
            above = raw[r - 1][c] if r else 0
            left = raw[r][c - 1] if c else 0
            raw[r][c] = max(raw[r][c], above, left)
    table = tuple(tuple(str(cell) for cell in row) for row in raw)
    return replace(indicator_bands=tuple(bands), table=table)


complete_answers = st.fixed_dictionaries(
    {item.code: st.sampled_from([o.points for o in item.options]) for item in NATIONAL_2021.items}
)


@given(rules=monotone_rules())
def test_any_monotone_rules_pass_the_check_and_survive_json(rules: CombinationRules) -> None:
    check_rules(NATIONAL_2021, rules)
    data = json.loads(json.dumps(rules_to_data(rules)))
    assert rules_from_data(NATIONAL_2021, data) == rules


@given(data=st.data(), rules=monotone_rules(), answers=complete_answers)
def test_under_any_monotone_rules_a_worse_answer_never_lowers_the_grade(
    data: st.DataObject, rules: CombinationRules, answers: Mapping[str, int]
) -> None:
    item = data.draw(st.sampled_from(NATIONAL_2021.items))
    worse_points = [o.points for o in item.options if o.points <= answers[item.code]]
    worse = {**answers, item.code: data.draw(st.sampled_from(worse_points))}
    before = grade(NATIONAL_2021, answers, rules)
    assert grade(NATIONAL_2021, worse, rules).severity >= before.severity


@given(rules=monotone_rules(), row=st.integers(0, 3), column=st.integers(0, 3))
def test_lowering_a_cell_below_a_neighbour_is_refused_naming_that_cell(
    rules: CombinationRules, row: int, column: int
) -> None:
    neighbours = []
    if row:
        neighbours.append(int(rules.table[row - 1][column]))
    if column:
        neighbours.append(int(rules.table[row][column - 1]))
    floor = max(neighbours, default=0)
    if floor == 0:
        return  # nothing lower than the neighbours exists
    table = [list(cells) for cells in rules.table]
    table[row][column] = str(floor - 1)
    broken = dataclasses.replace(rules, table=tuple(tuple(cells) for cells in table))
    with pytest.raises(InvalidRulesError) as raised:
        check_rules(NATIONAL_2021, broken)
    assert raised.value.reason == TABLE_NOT_MONOTONE
    # Cells are checked in reading order, so the first offending cell is the lowered one.
    assert (raised.value.params["row"], raised.value.params["column"]) == (
        LEVELS[row].code,
        LEVELS[column].code,
    )


def test_label_type_is_plain_data() -> None:
    assert Label("0", "基本正常", "Basically normal") == GRADES[0]
