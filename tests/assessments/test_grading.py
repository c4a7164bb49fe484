"""Pure tests of the Barthel Index instrument and of grading (no app, no database)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments.grading import (
    INSTRUMENTS,
    answer_problems,
    check_bands,
    get_instrument,
    grade,
    severity_rank,
)
from assessments.instruments.barthel import BARTHEL, barthel_bands
from assessments.types import (
    DUPLICATE_GRADE,
    EMPTY_BAND,
    GAP_OR_OVERLAP,
    INVALID_OPTION,
    MISSING,
    NO_BANDS,
    NOT_FROM_MINIMUM,
    NOT_TO_MAXIMUM,
    UNKNOWN_ITEM,
    Band,
    Instrument,
    InvalidAnswersError,
    InvalidBandsError,
)
from tests.factories import SEVERE_BARTHEL_ANSWERS

# Spec §1: item code -> points, best to worst.
SPEC_POINTS = {
    "feeding": (10, 5, 0),
    "bathing": (5, 0),
    "grooming": (5, 0),
    "dressing": (10, 5, 0),
    "bowels": (10, 5, 0),
    "bladder": (10, 5, 0),
    "toilet_use": (10, 5, 0),
    "transfer": (15, 10, 5, 0),
    "mobility": (15, 10, 5, 0),
    "stairs": (10, 5, 0),
}

BEST = {item.code: item.max_points for item in BARTHEL.items}
WORST = {item.code: item.min_points for item in BARTHEL.items}


def answers_for_total(instrument: Instrument, total: int) -> dict[str, int]:
    """A complete answer set worth `total` (every Barthel option is a 5-point step from 0)."""
    answers: dict[str, int] = {}
    remaining = total
    for item in instrument.items:
        points = max(o.points for o in item.options if o.points <= remaining)
        answers[item.code] = points
        remaining -= points
    assert remaining == 0, f"total {total} is not reachable"
    return answers


def reachable_totals(instrument: Instrument) -> set[int]:
    totals = {0}
    for item in instrument.items:
        totals = {t + o.points for t in totals for o in item.options}
    return totals


# --- the instrument as data ------------------------------------------------------------------


def test_barthel_items_have_the_spec_codes_and_points_best_to_worst() -> None:
    assert {item.code: tuple(o.points for o in item.options) for item in BARTHEL.items} == (
        SPEC_POINTS
    )
    assert [item.code for item in BARTHEL.items] == list(SPEC_POINTS)


def test_barthel_every_item_and_option_has_wording_in_both_languages() -> None:
    assert BARTHEL.name_zh
    assert BARTHEL.name_en
    for item in BARTHEL.items:
        assert item.label_zh
        assert item.label_en
        assert item.help_zh
        assert item.help_en
        for option in item.options:
            assert option.label_zh
            assert option.label_en


def test_barthel_help_says_supervision_is_not_independent() -> None:
    for item in BARTHEL.items:
        assert "supervision" in item.help_en
        assert "监护" in item.help_zh


def test_barthel_totals_run_from_0_to_100_in_steps_of_5() -> None:
    assert BARTHEL.min_total == 0
    assert BARTHEL.max_total == 100
    assert reachable_totals(BARTHEL) == set(range(0, 101, 5))


def test_barthel_default_bands_are_the_common_chinese_form() -> None:
    assert [(b.grade_code, b.label_zh, b.min_total, b.max_total) for b in BARTHEL.bands] == [
        ("severe", "重度依赖", 0, 40),
        ("moderate", "中度依赖", 41, 60),
        ("mild", "轻度依赖", 61, 99),
        ("independent", "无需依赖", 100, 100),
    ]
    check_bands(BARTHEL, BARTHEL.bands)


def test_factories_severe_answers_grade_as_documented() -> None:
    result = grade(BARTHEL, SEVERE_BARTHEL_ANSWERS)
    assert (result.total, result.grade_code) == (30, "severe")


# --- band edges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "grade_code", "label_zh", "label_en"),
    [
        (0, "severe", "重度依赖", "Severe dependency"),
        (40, "severe", "重度依赖", "Severe dependency"),
        (45, "moderate", "中度依赖", "Moderate dependency"),
        (60, "moderate", "中度依赖", "Moderate dependency"),
        (65, "mild", "轻度依赖", "Mild dependency"),
        (95, "mild", "轻度依赖", "Mild dependency"),
        (100, "independent", "无需依赖", "Independent"),
    ],
)
def test_grade_default_band_edges(
    total: int, grade_code: str, label_zh: str, label_en: str
) -> None:
    result = grade(BARTHEL, answers_for_total(BARTHEL, total))
    assert result.total == total
    assert result.grade_code == grade_code
    assert (result.label_zh, result.label_en) == (label_zh, label_en)


def test_grade_unreachable_totals_between_edges_do_not_exist() -> None:
    # 41-44, 61-64 and 96-99 fall inside bands but no answer set reaches them.
    assert not {41, 44, 61, 64, 96, 99} & reachable_totals(BARTHEL)


@pytest.mark.parametrize(
    ("total", "grade_code"),
    [(45, "severe"), (50, "moderate"), (70, "moderate"), (75, "mild"), (100, "independent")],
)
def test_grade_policy_bands_override_the_defaults(total: int, grade_code: str) -> None:
    bands = barthel_bands(severe_max=45, moderate_max=70)
    assert grade(BARTHEL, answers_for_total(BARTHEL, total), bands).grade_code == grade_code


def test_grade_civil_affairs_bands_match_the_default_on_reachable_totals() -> None:
    # MZ/T 039-2013: 100 / 65-95 / 45-60 / <=40.
    mzt = (
        Band("severe", "重度", "Severe", 0, 40),
        Band("moderate", "中度", "Moderate", 41, 64),
        Band("mild", "轻度", "Mild", 65, 99),
        Band("independent", "能力完好", "Intact", 100, 100),
    )
    for total in sorted(reachable_totals(BARTHEL)):
        answers = answers_for_total(BARTHEL, total)
        assert grade(BARTHEL, answers, mzt).grade_code == grade(BARTHEL, answers).grade_code


def test_grade_accepts_entirely_custom_bands() -> None:
    bands = [
        Band("dependent", "失能", "Dependent", 0, 55),
        Band("not_dependent", "非失能", "Not dependent", 56, 100),
    ]
    assert grade(BARTHEL, answers_for_total(BARTHEL, 55), bands).label_en == "Dependent"
    assert grade(BARTHEL, answers_for_total(BARTHEL, 60), bands).label_zh == "非失能"


# --- invalid answers -------------------------------------------------------------------------


def test_grade_names_one_missing_item() -> None:
    answers = dict(BEST)
    del answers["stairs"]
    with pytest.raises(InvalidAnswersError) as raised:
        grade(BARTHEL, answers)
    assert dict(raised.value.problems) == {"stairs": MISSING}


def test_grade_names_every_missing_item_of_an_empty_form() -> None:
    with pytest.raises(InvalidAnswersError) as raised:
        grade(BARTHEL, {})
    assert dict(raised.value.problems) == dict.fromkeys(SPEC_POINTS, MISSING)


@pytest.mark.parametrize("value", [7, 20, -5, 15, True, False, "5", 5.0, None])
def test_grade_refuses_a_value_that_is_not_an_option(value: object) -> None:
    answers: dict[str, object] = dict(BEST)
    answers["bathing"] = value  # bathing allows 5 or 0 only
    with pytest.raises(InvalidAnswersError) as raised:
        grade(BARTHEL, answers)  # type: ignore[arg-type]  # bad input on purpose
    assert dict(raised.value.problems) == {"bathing": INVALID_OPTION}


def test_grade_refuses_an_unknown_item() -> None:
    with pytest.raises(InvalidAnswersError) as raised:
        grade(BARTHEL, {**BEST, "cooking": 5})
    assert dict(raised.value.problems) == {"cooking": UNKNOWN_ITEM}


def test_grade_names_every_problem_at_once() -> None:
    answers = {**WORST, "feeding": 7, "transfer": 20, "cooking": 5, "shopping": 0}
    del answers["stairs"]
    del answers["bowels"]
    with pytest.raises(InvalidAnswersError) as raised:
        grade(BARTHEL, answers)
    assert dict(raised.value.problems) == {
        "feeding": INVALID_OPTION,
        "transfer": INVALID_OPTION,
        "stairs": MISSING,
        "bowels": MISSING,
        "cooking": UNKNOWN_ITEM,
        "shopping": UNKNOWN_ITEM,
    }
    assert "stairs: missing" in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_answer_problems_is_empty_for_a_complete_form() -> None:
    assert answer_problems(BARTHEL, BEST) == {}


def test_invalid_answers_error_problems_are_read_only() -> None:
    error = InvalidAnswersError({"stairs": MISSING})
    with pytest.raises(TypeError):
        error.problems["stairs"] = INVALID_OPTION  # type: ignore[index]  # read-only on purpose


# --- bands that do not fit -------------------------------------------------------------------


def _band(code: str, low: int, high: int) -> Band:
    return Band(code, code, code, low, high)


@pytest.mark.parametrize(
    ("bands", "reason"),
    [
        ([], NO_BANDS),
        ([_band("a", 0, 50), _band("a", 51, 100)], DUPLICATE_GRADE),
        ([_band("a", 0, 50), _band("b", 60, 59), _band("c", 60, 100)], EMPTY_BAND),
        ([_band("a", 5, 50), _band("b", 51, 100)], NOT_FROM_MINIMUM),
        ([_band("a", 0, 50), _band("b", 55, 100)], GAP_OR_OVERLAP),
        ([_band("a", 0, 50), _band("b", 50, 100)], GAP_OR_OVERLAP),
        ([_band("a", 51, 100), _band("b", 0, 50)], NOT_FROM_MINIMUM),
        ([_band("a", 0, 50), _band("b", 51, 95)], NOT_TO_MAXIMUM),
        ([_band("a", 0, 50), _band("b", 51, 105)], NOT_TO_MAXIMUM),
    ],
)
def test_check_bands_refuses_bands_that_do_not_cover_every_total_once(
    bands: list[Band], reason: str
) -> None:
    with pytest.raises(InvalidBandsError) as raised:
        check_bands(BARTHEL, bands)
    assert raised.value.reason == reason


def test_grade_refuses_override_bands_that_do_not_fit() -> None:
    with pytest.raises(InvalidBandsError):
        grade(BARTHEL, BEST, barthel_bands(severe_max=40, moderate_max=100))


# --- registry and lookups --------------------------------------------------------------------


def test_get_instrument_finds_barthel() -> None:
    assert get_instrument("barthel") is BARTHEL
    assert INSTRUMENTS["barthel"].version == "1965"


def test_get_instrument_refuses_an_unknown_code() -> None:
    with pytest.raises(LookupError, match="nbi"):
        get_instrument("nbi")


def test_lookups_return_none_for_unknown_codes() -> None:
    feeding = BARTHEL.item("feeding")
    assert feeding is not None
    assert feeding.option_for(5) is not None
    assert feeding.option_for(7) is None
    assert BARTHEL.item("cooking") is None
    band = BARTHEL.band("mild")
    assert band is not None
    assert band.label_zh == "轻度依赖"
    assert BARTHEL.band("unknown") is None
    assert BARTHEL.grade_label("severe") == BARTHEL.band("severe")
    assert BARTHEL.indicator("adl") is None
    assert BARTHEL.indicators == ()


def test_barthel_grades_run_from_least_to_most_severe() -> None:
    assert [label.code for label in BARTHEL.grades] == [
        "independent",
        "mild",
        "moderate",
        "severe",
    ]


@pytest.mark.parametrize(
    ("total", "severity"), [(100, 0), (95, 1), (65, 1), (60, 2), (45, 2), (40, 3), (0, 3)]
)
def test_grade_severity_rises_with_dependency(total: int, severity: int) -> None:
    result = grade(BARTHEL, answers_for_total(BARTHEL, total))
    assert result.severity == severity
    assert result.indicators == ()
    assert result.indicator("adl") is None


def test_severity_rank_orders_bands_most_severe_first() -> None:
    assert [severity_rank(BARTHEL.bands, b.grade_code) for b in BARTHEL.bands] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown"):
        severity_rank(BARTHEL.bands, "unknown")


# --- properties ------------------------------------------------------------------------------

complete_answers = st.fixed_dictionaries(
    {item.code: st.sampled_from([o.points for o in item.options]) for item in BARTHEL.items}
)


@st.composite
def policy_bands(draw: st.DrawFn) -> tuple[Band, ...]:
    severe_max = draw(st.integers(min_value=0, max_value=97))
    moderate_max = draw(st.integers(min_value=severe_max + 1, max_value=98))
    return barthel_bands(severe_max, moderate_max)


@given(answers=complete_answers, bands=st.one_of(st.none(), policy_bands()))
def test_grade_every_complete_answer_set_grades(
    answers: Mapping[str, int], bands: tuple[Band, ...] | None
) -> None:
    result = grade(BARTHEL, answers, bands)
    assert 0 <= result.total <= 100
    assert result.total == sum(answers.values())
    scale = bands or BARTHEL.bands
    assert next(b for b in scale if b.grade_code == result.grade_code).covers(result.total)


@given(data=st.data(), answers=complete_answers, bands=st.one_of(st.none(), policy_bands()))
def test_grade_a_worse_answer_never_lowers_the_severity(
    data: st.DataObject, answers: Mapping[str, int], bands: tuple[Band, ...] | None
) -> None:
    item = data.draw(st.sampled_from(BARTHEL.items))
    worse_points = [o.points for o in item.options if o.points < answers[item.code]]
    if not worse_points:
        worse_points = [item.min_points]
    worse = {**answers, item.code: data.draw(st.sampled_from(worse_points))}
    scale = bands or BARTHEL.bands
    before = grade(BARTHEL, answers, bands)
    after = grade(BARTHEL, worse, bands)
    assert after.total <= before.total
    assert severity_rank(scale, after.grade_code) <= severity_rank(scale, before.grade_code)
    assert after.severity >= before.severity
