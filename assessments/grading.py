"""Grading: a pure function of an instrument, a complete set of answers and (optionally) bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from assessments.instruments.barthel import BARTHEL
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
    Grade,
    Instrument,
    InvalidAnswersError,
    InvalidBandsError,
)

INSTRUMENTS: dict[str, Instrument] = {BARTHEL.code: BARTHEL}


def get_instrument(code: str) -> Instrument:
    """The instrument stored under `code`; KeyError (a LookupError) if there is none."""
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise KeyError(f"unknown instrument: {code!r}") from None


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


def check_bands(instrument: Instrument, bands: Sequence[Band]) -> None:
    """Raise InvalidBandsError unless `bands` (most severe first) cover every total once."""
    if not bands:
        raise InvalidBandsError(NO_BANDS)
    if len({band.grade_code for band in bands}) != len(bands):
        raise InvalidBandsError(DUPLICATE_GRADE)
    if any(band.min_total > band.max_total for band in bands):
        raise InvalidBandsError(EMPTY_BAND)
    if bands[0].min_total != instrument.min_total:
        raise InvalidBandsError(NOT_FROM_MINIMUM)
    for lower, upper in pairwise(bands):
        if upper.min_total != lower.max_total + 1:
            raise InvalidBandsError(GAP_OR_OVERLAP)
    if bands[-1].max_total != instrument.max_total:
        raise InvalidBandsError(NOT_TO_MAXIMUM)


def grade(
    instrument: Instrument,
    answers: Mapping[str, int],
    bands: Sequence[Band] | None = None,
) -> Grade:
    """Total the answers and find the band of the total.

    Raises InvalidAnswersError naming every missing, unknown or invalid answer, and
    InvalidBandsError if override `bands` do not cover the instrument's totals exactly once.
    """
    problems = answer_problems(instrument, answers)
    if problems:
        raise InvalidAnswersError(problems)
    scale = instrument.bands if bands is None else tuple(bands)
    check_bands(instrument, scale)
    total = sum(answers[item.code] for item in instrument.items)
    # check_bands guarantees exactly one band covers every total from min to max.
    band = next(band for band in scale if band.covers(total))
    return Grade(
        total=total, grade_code=band.grade_code, label_zh=band.label_zh, label_en=band.label_en
    )


def severity_rank(bands: Sequence[Band], grade_code: str) -> int:
    """0 for the most severe band, rising towards the least severe; ValueError if unknown."""
    for rank, band in enumerate(bands):
        if band.grade_code == grade_code:
            return rank
    raise ValueError(f"no band with grade code {grade_code!r}")
