"""The city's satisfaction figure by provider and month, and exact percentages."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.ratings import (
    SatisfactionTable,
    Tally,
    month_range,
    percent_text,
    satisfaction_share,
    satisfaction_table,
)

OCT, NOV, DEC = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def test_satisfaction_table_by_provider_and_month() -> None:
    rows = [
        ("A", dt.date(2026, 10, 3), 5, 2),
        ("A", dt.date(2026, 10, 20), 3, 1),
        ("B", dt.date(2026, 10, 9), 4, 1),
        ("A", dt.date(2026, 11, 2), 1, 1),
        ("B", dt.date(2026, 9, 30), 5, 7),  # before the range: left out
        ("C", dt.date(2027, 1, 1), 5, 7),  # after it
    ]
    table = satisfaction_table(rows, (OCT, NOV))
    assert table.providers == ("A", "B")
    assert table.cell("A", OCT) == Tally(3, 2)
    assert table.cell("A", OCT).share == Fraction(2, 3)
    assert table.cell("B", NOV) == Tally()
    assert table.cell("B", NOV).share is None
    assert table.provider_total("A") == Tally(4, 2)
    assert table.city(OCT) == Tally(4, 3)
    assert table.city(NOV) == Tally(1, 0)
    assert table.city_total == Tally(5, 3)


def test_satisfaction_table_refuses_impossible_rows() -> None:
    with pytest.raises(ValueError, match="stars"):
        satisfaction_table([("A", OCT, 6, 1)], (OCT,))
    with pytest.raises(ValueError, match="negative"):
        satisfaction_table([("A", OCT, 5, -1)], (OCT,))


def test_month_range() -> None:
    assert month_range(dt.date(2026, 10, 15), dt.date(2026, 12, 2)) == (OCT, NOV, DEC)
    assert month_range(NOV, NOV) == (NOV,)
    assert month_range(DEC, NOV) == ()
    assert len(month_range(dt.date(2025, 1, 1), dt.date(2026, 12, 1))) == 24


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (Fraction(2, 3), "66.7"),
        (Fraction(1, 1), "100.0"),
        (Fraction(0), "0.0"),
        (Fraction(1, 2000), "0.1"),  # 0.05 % rounds half up, exactly
        (Fraction(1, 2001), "0.0"),
        (Fraction(19, 20), "95.0"),
        (Fraction(9499, 10000), "95.0"),
        (Fraction(9494, 10000), "94.9"),
        (None, ""),
    ],
)
def test_percent_text_is_exact_with_one_decimal(share: Fraction | None, text: str) -> None:
    assert percent_text(share) == text


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from([OCT, NOV, DEC]),
            st.integers(1, 5),
        ),
        max_size=60,
    )
)
def test_table_agrees_with_satisfaction_share(rows: list[tuple[str, dt.date, int]]) -> None:
    table: SatisfactionTable[str] = satisfaction_table(
        [(p, m, stars, 1) for p, m, stars in rows], (OCT, NOV, DEC)
    )
    for month in (OCT, NOV, DEC):
        stars = [s for _p, m, s in rows if m == month]
        assert table.city(month).share == satisfaction_share(stars)
        for provider in "ABC":
            cell = [s for p, m, s in rows if (p, m) == (provider, month)]
            assert table.cell(provider, month).share == satisfaction_share(cell)
    assert table.city_total.rated == len(rows)
