"""Money typed by people: yuan text -> exact integer fen (pure, no app, no database)."""

from __future__ import annotations

import pytest

from careapp.core.money import (
    AMOUNT_TOO_LARGE,
    NEGATIVE_AMOUNT,
    NOT_AN_AMOUNT,
    TOO_MANY_DECIMALS,
    InvalidAmountError,
    check_fen,
    format_yuan,
    parse_yuan,
    yuan_text,
)

MAX = 100_000  # 1,000 yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("50", 5_000),
        ("50.00", 5_000),
        ("12.5", 1_250),
        ("0.01", 1),
        (".5", 50),
        ("7.", 700),
        ("0", 0),
        ("-0", 0),
        ("+15", 1_500),
        (" 15.10 ", 1_510),
        ("1.500", 150),  # trailing zeros are still whole fen
        ("0.1", 10),  # a float would make this 10.000000000000002
        ("1000", MAX),  # the maximum itself
        ("１２．５", 1_250),  # full-width digits and point from a Chinese input method
    ],
)
def test_parse_yuan_is_exact(text: str, fen: int) -> None:
    assert parse_yuan(text, MAX) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", NOT_AN_AMOUNT),
        ("   ", NOT_AN_AMOUNT),
        ("abc", NOT_AN_AMOUNT),
        ("1,200", NOT_AN_AMOUNT),
        ("1e3", NOT_AN_AMOUNT),
        ("NaN", NOT_AN_AMOUNT),
        ("Infinity", NOT_AN_AMOUNT),
        ("12.5元", NOT_AN_AMOUNT),
        (".", NOT_AN_AMOUNT),
        ("٣", NOT_AN_AMOUNT),  # Arabic-Indic digit: not ours to guess
        ("-1", NEGATIVE_AMOUNT),
        ("-0.01", NEGATIVE_AMOUNT),
        ("12.345", TOO_MANY_DECIMALS),
        ("0.001", TOO_MANY_DECIMALS),
        ("1000.01", AMOUNT_TOO_LARGE),
        ("99999999999999999999999999999999999.999", AMOUNT_TOO_LARGE),
    ],
)
def test_parse_yuan_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmountError) as raised:
        parse_yuan(text, MAX)
    assert raised.value.reason == reason
    assert raised.value.maximum_fen == (MAX if reason == AMOUNT_TOO_LARGE else None)


@pytest.mark.parametrize(("fen", "reason"), [(-1, NEGATIVE_AMOUNT), (MAX + 1, AMOUNT_TOO_LARGE)])
def test_check_fen_refuses_out_of_range(fen: int, reason: str) -> None:
    with pytest.raises(InvalidAmountError) as raised:
        check_fen(fen, MAX)
    assert raised.value.reason == reason


def test_check_fen_keeps_the_range_ends() -> None:
    assert (check_fen(0, MAX), check_fen(MAX, MAX)) == (0, MAX)


@pytest.mark.parametrize("fen", [0, 1, 5_000, 120_000, 123_456_789])
def test_yuan_text_parses_back_to_the_same_fen(fen: int) -> None:
    assert parse_yuan(yuan_text(fen), 10**12) == fen
    assert yuan_text(120_000) == "1200.00"
    assert format_yuan(120_000) == "1,200.00"
