"""Check codes: random, readable, and read back however they are typed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careapp.core.check_codes import (
    ALPHABET,
    BITS,
    LENGTH,
    UNMATCHABLE,
    check_code_matches,
    format_check_code,
    new_check_code,
    normalise_check_code,
)


def test_a_code_has_at_least_forty_bits_in_an_unambiguous_alphabet() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert BITS == LENGTH * math.log2(len(ALPHABET)) >= 40
    assert not set("ILOU") & set(ALPHABET)  # nothing to confuse with 1, 0 or V
    codes = {new_check_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == LENGTH and set(code) <= set(ALPHABET) for code in codes)
    # every character turns up (secrets.choice over the whole alphabet)
    assert set("".join(codes)) == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("K7QF3-M9DXA", "K7QF3M9DXA"),
        ("k7qf3 m9dxa", "K7QF3M9DXA"),
        ("  K7QF3M9DXA ", "K7QF3M9DXA"),
        ("K7QF3—M9DXA", "K7QF3M9DXA"),  # an em dash from a Chinese input method
        ("Ｋ７ＱＦ３－Ｍ９ＤＸＡ", "K7QF3M9DXA"),  # full-width characters
        ("IOLo1-00000", "1010100000"),  # I and L read as 1, O as 0
        ("K7QF3.M9D_XA", "K7QF3M9DXA"),
        ("K7QF3-M9DX", None),  # too short
        ("K7QF3-M9DXAB", None),  # too long
        ("K7QF3-M9DXU", None),  # U is not in the alphabet
        ("K7QF3-M9DX!", None),
        ("", None),
        (None, None),
        ("K" * 10_000, None),
    ],
)
def test_normalise_check_code(typed: str | None, code: str | None) -> None:
    assert normalise_check_code(typed) == code


@given(st.text(max_size=80))
def test_normalise_check_code_never_fails_and_gives_a_code_or_none(typed: str) -> None:
    code = normalise_check_code(typed)
    assert code is None or (len(code) == LENGTH and set(code) <= set(ALPHABET))


def test_format_check_code_prints_two_groups_that_read_back() -> None:
    code = new_check_code()
    printed = format_check_code(code)
    assert printed == f"{code[:5]}-{code[5:]}"
    assert normalise_check_code(printed) == normalise_check_code(printed.lower()) == code


def test_check_code_matches_only_the_same_code() -> None:
    code = new_check_code()
    assert check_code_matches(code, code)
    assert not check_code_matches(code, None)
    assert not check_code_matches(code, "")
    assert not check_code_matches(code, code[:-1])
    other = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not check_code_matches(code, other)
    # The stand-in compared against for an unknown number matches nothing that can be typed.
    assert normalise_check_code(UNMATCHABLE) is None
    assert not check_code_matches(UNMATCHABLE, code)
