"""Properties every instrument's grading keeps, under its default rules (no app, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments.grading import INSTRUMENTS, grade
from assessments.types import (
    INVALID_OPTION,
    MISSING,
    UNKNOWN_ITEM,
    Instrument,
    InvalidAnswersError,
)

ALL = pytest.mark.parametrize("instrument", list(INSTRUMENTS.values()), ids=list(INSTRUMENTS))


def complete(instrument: Instrument) -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries(
        {item.code: st.sampled_from([o.points for o in item.options]) for item in instrument.items}
    )


@ALL
@given(data=st.data())
def test_every_complete_answer_set_grades_within_range(
    instrument: Instrument, data: st.DataObject
) -> None:
    answers = data.draw(complete(instrument))
    result = grade(instrument, answers)
    assert instrument.min_total <= result.total <= instrument.max_total
    assert result.total == sum(answers.values())
    assert result.grade_code in {label.code for label in instrument.grades}
    assert 0 <= result.severity < len(instrument.grades)
    assert instrument.grades[result.severity].code == result.grade_code
    for found in result.indicators:
        low = instrument.indicator_min_total(found.code)
        high = instrument.indicator_max_total(found.code)
        assert low <= found.total <= high


@ALL
@given(data=st.data())
def test_making_any_single_answer_worse_never_lowers_the_grade(
    instrument: Instrument, data: st.DataObject
) -> None:
    answers = data.draw(complete(instrument))
    item = data.draw(st.sampled_from(instrument.items))
    worse = data.draw(
        st.sampled_from([o.points for o in item.options if o.points <= answers[item.code]])
    )
    before = grade(instrument, answers)
    after = grade(instrument, {**answers, item.code: worse})
    assert after.total <= before.total
    assert after.severity >= before.severity


@ALL
@given(data=st.data())
def test_invalid_answer_sets_name_every_bad_item(
    instrument: Instrument, data: st.DataObject
) -> None:
    answers: dict[str, object] = dict(data.draw(complete(instrument)))
    codes = [item.code for item in instrument.items]
    missing = data.draw(st.sets(st.sampled_from(codes)))
    invalid = data.draw(st.sets(st.sampled_from(codes)).map(lambda s: s - missing))
    unknown = data.draw(st.sets(st.sampled_from(["cooking", "shopping", "driving"])))
    if not (missing or invalid or unknown):
        unknown = {"cooking"}
    bad_value = data.draw(st.sampled_from([-1, 1000, True, None, "5", 2.5]))
    for code in missing:
        del answers[code]
    for code in invalid:
        answers[code] = bad_value
    for code in unknown:
        answers[code] = 0
    with pytest.raises(InvalidAnswersError) as raised:
        grade(instrument, answers)  # type: ignore[arg-type]  # bad input on purpose
    expected = (
        dict.fromkeys(missing, MISSING)
        | dict.fromkeys(invalid, INVALID_OPTION)
        | dict.fromkeys(unknown, UNKNOWN_ITEM)
    )
    assert dict(raised.value.problems) == expected
