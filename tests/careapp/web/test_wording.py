"""Reason codes of stored decisions, told as sentences in the user's language."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from careapp.core.money import format_yuan
from careapp.web.labels import category_label
from careapp.web.wording import describe_reason, grade_label, instrument_name, rule_label


def reason(code: str, **params: Any) -> dict[str, Any]:
    return {"rule": "x", "passed": True, "reason_code": code, "params": params}


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("stored", "sentence"),
    [
        (
            reason("insured", on="2026-11-23", scheme="employee"),
            "Insured on 2026-11-23 (Employees' medical insurance)",
        ),
        (
            reason("not_insured", on="2026-11-23", scheme=None),
            "Not insured in either medical-insurance scheme on 2026-11-23",
        ),
        (
            reason("disability_long_enough", months=22, required=6),
            "Disability has lasted 22 months (at least 6 required)",
        ),
        (
            reason("disability_too_short", months=3, required=6),
            "Disability has lasted only 3 months (at least 6 required)",
        ),
        (
            reason("barthel_severe", total=30, severe_max=40, moderate_max=60, category="severe"),
            "Barthel Index total 30 is at most 40: Severe disability",
        ),
        (
            reason(
                "barthel_moderate", total=55, severe_max=40, moderate_max=60, category="moderate"
            ),
            "Barthel Index total 55 is between 41 and 60: Moderate disability",
        ),
        (
            reason("barthel_above_bands", total=75, severe_max=40, moderate_max=60),
            "Barthel Index total 75 is above 60: no benefit category",
        ),
        (
            reason("national_grade", grade="4", grade_number=4, category="severe"),
            "National standard disability grade 4: Severe disability",
        ),
        (
            reason("national_grade_too_low", grade="1", grade_number=1),
            "National standard disability grade 1 gives no benefit category",
        ),
        (
            reason(
                "grade_category", instrument="barthel", total=30, grade="severe", category="severe"
            ),
            "Barthel Index of activities of daily living grade “Severe dependency” (total 30): "
            "Severe disability",
        ),
        (
            reason(
                "grade_category",
                instrument="national_2021",
                total=50,
                grade="2",
                category="moderate",
            ),
            "National long-term care disability grading standard (2021, trial) grade "
            "“Moderate disability” (total 50): Moderate disability",
        ),
        (
            reason("grade_no_category", instrument="national_2021", total=110, grade="1"),
            "National long-term care disability grading standard (2021, trial) grade "
            "“Mild disability” (total 110) gives no benefit category",
        ),
        (reason("total_missing"), "The assessment has no total"),
        (
            reason("grade_unrecognised", grade="x"),
            "The assessment grade x is not recognised",
        ),
        (
            reason("instrument_unknown", instrument="nba"),
            "The instrument nba gives no benefit category under this policy",
        ),
        (reason("no_open_entitlement"), "The person has no open entitlement"),
        (reason("open_entitlement"), "The person already has an open entitlement"),
        (reason("something_new"), "something_new"),
    ],
)
def test_describe_reason(stored: dict[str, Any], sentence: str) -> None:
    assert describe_reason(stored) == sentence


@pytest.mark.usefixtures("english")
def test_labels() -> None:
    assert rule_label("insured") == "Insured on the decision date"
    assert rule_label("unknown_rule") == "unknown_rule"
    assert category_label(None) == "none"
    assert category_label("moderate") == "Moderate disability"


def test_describe_reason_in_chinese(app: Flask) -> None:
    with app.test_request_context("/"):
        text = describe_reason(reason("disability_long_enough", months=22, required=6))
    assert text == "失能已持续 22 个月（至少需 6 个月）"


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (4000, "40.00"),
        (120_000, "1,200.00"),
        (-150, "-1.50"),
        (None, "—"),
    ],
)
def test_format_yuan(fen: int | None, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.usefixtures("english")
def test_instrument_and_grade_labels_come_from_the_instrument() -> None:
    assert instrument_name("barthel") == "Barthel Index of activities of daily living"
    assert instrument_name("unknown") == "unknown"
    assert grade_label("barthel", "severe") == "Severe dependency"
    assert grade_label("barthel", "no_such_grade") == "no_such_grade"
    assert grade_label("unknown", "3") == "3"


def test_grade_label_in_chinese(app: Flask) -> None:
    with app.test_request_context("/"):
        assert grade_label("barthel", "severe") == "重度依赖"
