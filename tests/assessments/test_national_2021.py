"""Pure tests of the 2021 national standard: items as data, golden grades, properties."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments.grading import INSTRUMENTS, default_rules, get_instrument, grade
from assessments.instruments.national_2021 import DEFAULT_RULES, NATIONAL_2021
from assessments.types import (
    INVALID_OPTION,
    MISSING,
    UNKNOWN_ITEM,
    CombinationRules,
    InvalidAnswersError,
)
from tests.factories import SEVERE_NATIONAL_ANSWERS

# Spec §2: indicator -> item code -> points, best to worst (form order).
SPEC_POINTS: dict[str, dict[str, tuple[int, ...]]] = {
    "adl": {
        "feeding": (10, 5, 0),
        "dressing": (10, 5, 0),
        "face_mouth_cleaning": (5, 0),
        "bowels": (10, 5, 0),
        "bladder": (10, 5, 0),
        "toilet_use": (10, 5, 0),
        "walking": (15, 10, 5, 0),
        "transfer": (15, 10, 5, 0),
        "stairs": (10, 5, 0),
        "bathing": (5, 0),
    },
    "cognition": {
        "time_orientation": (4, 3, 2, 1, 0),
        "person_orientation": (4, 3, 2, 1, 0),
        "place_orientation": (4, 3, 2, 1, 0),
        "memory": (4, 3, 2, 1, 0),
    },
    "sensory": {
        "vision": (4, 3, 2, 1, 0),
        "hearing": (4, 3, 2, 1, 0),
        "communication": (4, 3, 2, 1, 0),
    },
}
ZH_ITEMS = [
    "进食",
    "穿衣",
    "面部与口腔清洁",
    "大便控制",
    "小便控制",
    "用厕",
    "平地行走",
    "床椅转移",
    "上下楼梯",
    "洗澡",
    "时间定向",
    "人物定向",
    "空间定向",
    "记忆力",
    "视力",
    "听力",
    "沟通能力",
]
# Spec §2 combination table, written out independently of the shipped data.
LEVELS = ("intact", "mild", "moderate", "severe")
SPEC_TABLE = {
    "intact": ("0", "0", "1", "1"),
    "mild": ("1", "1", "1", "2"),
    "moderate": ("2", "2", "2", "3"),
    "severe": ("3", "3", "4", "5"),
}
GRADE_LABELS = {
    "0": ("基本正常", "Basically normal"),
    "1": ("轻度失能", "Mild disability"),
    "2": ("中度失能", "Moderate disability"),
    "3": ("重度失能Ⅰ级", "Severe disability I"),
    "4": ("重度失能Ⅱ级", "Severe disability II"),
    "5": ("重度失能Ⅲ级", "Severe disability III"),
}
# A total of each indicator for each level (used for the table cells).
LEVEL_TOTALS = {
    "adl": {"intact": 100, "mild": 80, "moderate": 50, "severe": 20},
    "cognition": {"intact": 16, "mild": 13, "moderate": 8, "severe": 2},
    "sensory": {"intact": 12, "mild": 9, "moderate": 5, "severe": 1},
}


def indicator_answers(indicator: str, total: int) -> dict[str, int]:
    """Answers of one indicator's items worth `total` (greedy: best options first)."""
    answers: dict[str, int] = {}
    remaining = total
    for code, points in SPEC_POINTS[indicator].items():
        answers[code] = max(p for p in points if p <= remaining)
        remaining -= answers[code]
    assert remaining == 0, f"{indicator} total {total} is not reachable"
    return answers


def answers_for(adl: int, cognition: int, sensory: int) -> dict[str, int]:
    return (
        indicator_answers("adl", adl)
        | indicator_answers("cognition", cognition)
        | indicator_answers("sensory", sensory)
    )


# --- the instrument as data ------------------------------------------------------------------


def test_national_items_have_the_spec_codes_points_and_indicators_in_form_order() -> None:
    expected = [
        (indicator, code, points)
        for indicator, items in SPEC_POINTS.items()
        for code, points in items.items()
    ]
    got = [
        (item.indicator, item.code, tuple(o.points for o in item.options))
        for item in NATIONAL_2021.items
    ]
    assert got == expected
    assert [item.label_zh for item in NATIONAL_2021.items] == ZH_ITEMS
    assert len(NATIONAL_2021.items) == 17


def test_national_indicators_and_their_ranges() -> None:
    assert [(i.code, i.label_zh) for i in NATIONAL_2021.indicators] == [
        ("adl", "日常生活活动能力"),
        ("cognition", "认知能力"),
        ("sensory", "感知觉与沟通能力"),
    ]
    ranges = {
        code: (NATIONAL_2021.indicator_min_total(code), NATIONAL_2021.indicator_max_total(code))
        for code in SPEC_POINTS
    }
    assert ranges == {"adl": (0, 100), "cognition": (0, 16), "sensory": (0, 12)}
    assert (NATIONAL_2021.min_total, NATIONAL_2021.max_total) == (0, 128)
    assert [item.code for item in NATIONAL_2021.items_of("sensory")] == [
        "vision",
        "hearing",
        "communication",
    ]
    indicator = NATIONAL_2021.indicator("cognition")
    assert indicator is not None
    assert indicator.label_en == "Cognition"
    assert NATIONAL_2021.indicator("nba") is None


def test_national_every_item_and_option_has_wording_in_both_languages() -> None:
    assert NATIONAL_2021.name_zh == "长期护理失能等级评估标准（试行）"
    assert NATIONAL_2021.name_en
    for item in NATIONAL_2021.items:
        assert item.label_zh
        assert item.label_en
        assert item.help_zh
        assert item.help_en
        for option in item.options:
            assert option.label_zh
            assert option.label_en
        assert len({o.label_zh for o in item.options}) == len(item.options)


def test_national_feeding_tube_scores_zero() -> None:
    feeding = NATIONAL_2021.item("feeding")
    assert feeding is not None
    worst = feeding.option_for(0)
    assert worst is not None
    assert "营养管" in worst.label_zh
    assert "feeding tube" in feeding.help_en


def test_national_default_rules_are_the_spec_tables_with_a_note_naming_the_document() -> None:
    rules = default_rules(NATIONAL_2021)
    assert rules is DEFAULT_RULES
    assert isinstance(rules, CombinationRules)
    assert "医保办发〔2021〕37号" in rules.source
    assert "长期护理失能等级评估标准" in rules.source
    assert [level.code for level in rules.levels] == list(LEVELS)
    assert [level.label_zh for level in rules.levels] == [
        "能力完好",
        "轻度受损",
        "中度受损",
        "重度受损",
    ]
    assert dict(zip(LEVELS, rules.table, strict=True)) == SPEC_TABLE
    assert {g.code: (g.label_zh, g.label_en) for g in rules.grades} == GRADE_LABELS
    assert [g.code for g in NATIONAL_2021.grades] == ["0", "1", "2", "3", "4", "5"]
    assert (rules.row_indicator, rules.column_indicators) == ("adl", ("cognition", "sensory"))
    assert rules.level("mild") is not None
    assert rules.level("unknown") is None
    assert rules.bands_of("unknown") == ()
    assert NATIONAL_2021.bands == ()
    label = NATIONAL_2021.band("3")
    assert label is not None
    assert label.label_zh == "重度失能Ⅰ级"


def test_registry_holds_both_instruments() -> None:
    assert get_instrument("national_2021") is NATIONAL_2021
    assert set(INSTRUMENTS) == {"barthel", "national_2021"}


# --- golden: every level edge of every indicator -----------------------------------------


@pytest.mark.parametrize(
    ("indicator", "total", "level"),
    [
        ("adl", 100, "intact"),
        ("adl", 95, "mild"),
        ("adl", 65, "mild"),
        ("adl", 60, "moderate"),
        ("adl", 45, "moderate"),
        ("adl", 40, "severe"),
        ("adl", 0, "severe"),
        ("cognition", 16, "intact"),
        ("cognition", 15, "mild"),
        ("cognition", 12, "mild"),
        ("cognition", 11, "moderate"),
        ("cognition", 4, "moderate"),
        ("cognition", 3, "severe"),
        ("cognition", 0, "severe"),
        ("sensory", 12, "intact"),
        ("sensory", 11, "mild"),
        ("sensory", 8, "mild"),
        ("sensory", 7, "moderate"),
        ("sensory", 4, "moderate"),
        ("sensory", 3, "severe"),
        ("sensory", 0, "severe"),
    ],
)
def test_grade_indicator_level_edges(indicator: str, total: int, level: str) -> None:
    totals = {"adl": 100, "cognition": 16, "sensory": 12} | {indicator: total}
    result = grade(NATIONAL_2021, answers_for(**totals))
    found = result.indicator(indicator)
    assert found is not None
    assert (found.total, found.level_code) == (total, level)
    assert result.total == sum(totals.values())
    # The other indicators stay intact, so the grade is the table cell of this level.
    row, column = (level, "intact") if indicator == "adl" else ("intact", level)
    assert result.grade_code == SPEC_TABLE[row][LEVELS.index(column)]


# --- golden: one answer set per cell of the combination table -----------------------------


@pytest.mark.parametrize("adl_level", LEVELS)
@pytest.mark.parametrize("column_level", LEVELS)
@pytest.mark.parametrize("driver", ["cognition", "sensory"])
def test_grade_combination_table_cell(adl_level: str, column_level: str, driver: str) -> None:
    # `driver` carries the column level; the other column indicator is no worse than it.
    other = "sensory" if driver == "cognition" else "cognition"
    totals = {
        "adl": LEVEL_TOTALS["adl"][adl_level],
        driver: LEVEL_TOTALS[driver][column_level],
        other: LEVEL_TOTALS[other]["intact"],
    }
    result = grade(NATIONAL_2021, answers_for(**totals))
    expected = SPEC_TABLE[adl_level][LEVELS.index(column_level)]
    assert result.grade_code == expected
    assert (result.label_zh, result.label_en) == GRADE_LABELS[expected]
    assert result.severity == int(expected)
    assert [(r.code, r.total) for r in result.indicators] == [
        ("adl", totals["adl"]),
        ("cognition", totals["cognition"]),
        ("sensory", totals["sensory"]),
    ]


def test_grade_column_is_the_worse_of_cognition_and_sensory() -> None:
    # ADL severe; cognition moderate (8), sensory severe (1): the column is "severe" -> 5.
    result = grade(NATIONAL_2021, answers_for(adl=20, cognition=8, sensory=1))
    assert result.grade_code == "5"
    # Swap which one is worse: cognition severe (2), sensory moderate (5): still 5.
    assert grade(NATIONAL_2021, answers_for(adl=20, cognition=2, sensory=5)).grade_code == "5"
    # Both moderate -> 4.
    assert grade(NATIONAL_2021, answers_for(adl=20, cognition=8, sensory=5)).grade_code == "4"


# Hand-worked answer sets, every item written out.
HAND_WORKED = [
    (
        # A bed-bound person with dementia: ADL 0+0+0+0+0+0+0+0+0+0 = 0 (severe);
        # cognition 1+1+0+1 = 3 (severe); sensory 3+3+2 = 8 (mild) -> column severe -> 5.
        {
            "feeding": 0,
            "dressing": 0,
            "face_mouth_cleaning": 0,
            "bowels": 0,
            "bladder": 0,
            "toilet_use": 0,
            "walking": 0,
            "transfer": 0,
            "stairs": 0,
            "bathing": 0,
            "time_orientation": 1,
            "person_orientation": 1,
            "place_orientation": 0,
            "memory": 1,
            "vision": 3,
            "hearing": 3,
            "communication": 2,
        },
        {"adl": (0, "severe"), "cognition": (3, "severe"), "sensory": (8, "mild")},
        "5",
    ),
    (
        # After a stroke: ADL 5+5+0+10+5+5+10+10+5+0 = 55 (moderate);
        # cognition 4+4+3+3 = 14 (mild); sensory 4+3+4 = 11 (mild) -> column mild -> 2.
        {
            "feeding": 5,
            "dressing": 5,
            "face_mouth_cleaning": 0,
            "bowels": 10,
            "bladder": 5,
            "toilet_use": 5,
            "walking": 10,
            "transfer": 10,
            "stairs": 5,
            "bathing": 0,
            "time_orientation": 4,
            "person_orientation": 4,
            "place_orientation": 3,
            "memory": 3,
            "vision": 4,
            "hearing": 3,
            "communication": 4,
        },
        {"adl": (55, "moderate"), "cognition": (14, "mild"), "sensory": (11, "mild")},
        "2",
    ),
    (
        # Frail but independent: ADL 10+10+5+10+10+10+15+15+10+5 = 100 (intact);
        # cognition 3+3+2+2 = 10 (moderate); sensory 4+4+4 = 12 (intact) -> column moderate -> 1.
        {
            "feeding": 10,
            "dressing": 10,
            "face_mouth_cleaning": 5,
            "bowels": 10,
            "bladder": 10,
            "toilet_use": 10,
            "walking": 15,
            "transfer": 15,
            "stairs": 10,
            "bathing": 5,
            "time_orientation": 3,
            "person_orientation": 3,
            "place_orientation": 2,
            "memory": 2,
            "vision": 4,
            "hearing": 4,
            "communication": 4,
        },
        {"adl": (100, "intact"), "cognition": (10, "moderate"), "sensory": (12, "intact")},
        "1",
    ),
]


@pytest.mark.parametrize(("answers", "indicators", "grade_code"), HAND_WORKED)
def test_grade_hand_worked_answer_sets(
    answers: dict[str, int], indicators: dict[str, tuple[int, str]], grade_code: str
) -> None:
    result = grade(NATIONAL_2021, answers)
    assert {r.code: (r.total, r.level_code) for r in result.indicators} == indicators
    assert result.total == sum(total for total, _ in indicators.values())
    assert result.grade_code == grade_code
    levels = {r.code: (r.level_zh, r.level_en) for r in result.indicators}
    assert levels["adl"][0] in {"能力完好", "轻度受损", "中度受损", "重度受损"}
    assert all(label_en for _, label_en in levels.values())


# --- invalid answers -------------------------------------------------------------------------


def test_grade_names_every_bad_national_item() -> None:
    answers: dict[str, object] = dict(answers_for(100, 16, 12))
    del answers["memory"]
    answers["vision"] = 5
    answers["hearing"] = True
    answers["barthel_feeding"] = 10
    with pytest.raises(InvalidAnswersError) as raised:
        grade(NATIONAL_2021, answers)  # type: ignore[arg-type]  # bad input on purpose
    assert dict(raised.value.problems) == {
        "memory": MISSING,
        "vision": INVALID_OPTION,
        "hearing": INVALID_OPTION,
        "barthel_feeding": UNKNOWN_ITEM,
    }


def test_barthel_answers_do_not_grade_on_the_national_form() -> None:
    barthel_only = {"mobility": 15, "grooming": 5}
    with pytest.raises(InvalidAnswersError) as raised:
        grade(NATIONAL_2021, barthel_only)
    problems = dict(raised.value.problems)
    assert problems["mobility"] == UNKNOWN_ITEM
    assert problems["grooming"] == UNKNOWN_ITEM
    assert sum(reason == MISSING for reason in problems.values()) == 17


# --- properties ------------------------------------------------------------------------------

complete_answers = st.fixed_dictionaries(
    {item.code: st.sampled_from([o.points for o in item.options]) for item in NATIONAL_2021.items}
)


@given(answers=complete_answers)
def test_grade_every_complete_national_answer_set_grades_within_range(
    answers: Mapping[str, int],
) -> None:
    result = grade(NATIONAL_2021, answers)
    assert result.grade_code in GRADE_LABELS
    assert 0 <= result.total <= 128
    assert result.total == sum(answers.values())
    ranges = {"adl": (0, 100), "cognition": (0, 16), "sensory": (0, 12)}
    for indicator, (low, high) in ranges.items():
        found = result.indicator(indicator)
        assert found is not None
        assert low <= found.total <= high
        assert found.total == sum(answers[code] for code in SPEC_POINTS[indicator])
    # The grade is the spec table's cell of the levels found.
    levels = {r.code: LEVELS.index(r.level_code) for r in result.indicators}
    column = max(levels["cognition"], levels["sensory"])
    assert result.grade_code == SPEC_TABLE[LEVELS[levels["adl"]]][column]


@given(data=st.data(), answers=complete_answers)
def test_grade_a_worse_national_answer_never_lowers_the_grade(
    data: st.DataObject, answers: Mapping[str, int]
) -> None:
    item = data.draw(st.sampled_from(NATIONAL_2021.items))
    worse_points = [o.points for o in item.options if o.points <= answers[item.code]]
    worse = {**answers, item.code: data.draw(st.sampled_from(worse_points))}
    before = grade(NATIONAL_2021, answers)
    after = grade(NATIONAL_2021, worse)
    assert after.total <= before.total
    assert int(after.grade_code) >= int(before.grade_code)
    assert after.severity >= before.severity


@given(
    answers=complete_answers,
    missing=st.sets(st.sampled_from([item.code for item in NATIONAL_2021.items])),
    bad=st.dictionaries(
        st.sampled_from([item.code for item in NATIONAL_2021.items]),
        st.one_of(st.integers(min_value=5, max_value=9), st.just(-1), st.booleans(), st.none()),
    ),
    unknown=st.sets(st.sampled_from(["shopping", "cooking", "mobility"])),
)
def test_grade_invalid_national_sets_name_every_bad_item(
    answers: Mapping[str, int],
    missing: set[str],
    bad: dict[str, object],
    unknown: set[str],
) -> None:
    broken: dict[str, object] = {**answers, **bad}
    # 5-9 are valid on some ADL items: only count values that are not options there.
    expected: dict[str, str] = {}
    for code, value in bad.items():
        item = NATIONAL_2021.item(code)
        assert item is not None
        if type(value) is not int or item.option_for(value) is None:
            expected[code] = INVALID_OPTION
    for code in missing:
        del broken[code]
        expected[code] = MISSING
    for code in unknown:
        broken[code] = 0
        expected[code] = UNKNOWN_ITEM
    if not expected:
        assert grade(NATIONAL_2021, broken).grade_code in GRADE_LABELS  # type: ignore[arg-type]  # checked values
        return
    with pytest.raises(InvalidAnswersError) as raised:
        grade(NATIONAL_2021, broken)  # type: ignore[arg-type]  # bad input on purpose
    assert dict(raised.value.problems) == expected


def test_factories_severe_national_answers_grade_as_documented() -> None:
    result = grade(NATIONAL_2021, SEVERE_NATIONAL_ANSWERS)
    assert (result.total, result.grade_code) == (54, "3")
    assert [(r.total, r.level_code) for r in result.indicators] == [
        (30, "severe"),
        (12, "mild"),
        (12, "intact"),
    ]
