"""Pure rules of satisfaction ratings."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scheduling.ratings import caregiver_first_name, rating_problems, satisfaction_share


@pytest.mark.parametrize(
    ("stars", "comment", "expected"),
    [
        (1, None, ()),
        (5, "很好", ()),
        (3, "x" * 500, ()),
        (0, None, ("stars_out_of_range",)),
        (6, None, ("stars_out_of_range",)),
        (4, "x" * 501, ("comment_too_long",)),
        (-1, "x" * 501, ("stars_out_of_range", "comment_too_long")),
    ],
)
def test_rating_problems(stars: int, comment: str | None, expected: tuple[str, ...]) -> None:
    assert rating_problems(stars, comment) == expected


@pytest.mark.parametrize(
    ("stars", "expected"),
    [
        ([], None),
        ([5], Fraction(1)),
        ([1, 2, 3], Fraction(0)),
        ([5, 4, 3], Fraction(2, 3)),
        ([4, 4, 4, 2] * 25, Fraction(3, 4)),
    ],
)
def test_satisfaction_share_counts_four_and_five_stars(
    stars: list[int], expected: Fraction | None
) -> None:
    assert satisfaction_share(stars) == expected
    assert satisfaction_share(iter(stars)) == expected  # any iterable, read once


@pytest.mark.parametrize("bad", [0, 6])
def test_satisfaction_share_refuses_impossible_stars(bad: int) -> None:
    with pytest.raises(ValueError, match="stars must be"):
        satisfaction_share([5, bad])


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("王小明", "小明"),
        ("李四", "四"),
        ("  张三丰 ", "三丰"),
        ("欧阳娜娜", "娜娜"),
        ("欧阳", "阳"),
        ("王", "王"),
        ("Anna Smith", "Anna"),
        ("护理员3", "护理员3"),
        ("", ""),
    ],
)
def test_caregiver_first_name_leaves_out_the_surname(full_name: str, expected: str) -> None:
    assert caregiver_first_name(full_name) == expected
