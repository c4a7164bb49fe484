"""Pure tests of resident ID parsing and masking (GB 11643-1999)."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import ric

from careapp.core.identity import (
    IdProblem,
    InvalidIdNumberError,
    ResidentId,
    is_known_region,
    make_resident_id,
    mask_id_number,
    mask_name,
    parse_resident_id,
)

TODAY = dt.date(2026, 11, 23)

# The spec's check-character algorithm, written out independently of stdnum.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"


def spec_check_character(body17: str) -> str:
    return CHECK_MAP[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def with_check(body17: str) -> str:
    return body17 + spec_check_character(body17)


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def test_parse_resident_id_returns_the_facts_of_a_valid_number() -> None:
    number = with_check("32062319500607002")

    parsed = parse_resident_id(number, today=TODAY)

    assert parsed == ResidentId(
        number=number, region_code="320623", born_on=dt.date(1950, 6, 7), is_male=False
    )
    assert parsed.masked == "320623***********" + number[-1]


def test_parse_resident_id_odd_sequence_is_male() -> None:
    parsed = parse_resident_id(with_check("32068119621105013"), today=TODAY)
    assert parsed.is_male is True


def test_parse_resident_id_normalises_lower_case_x_to_upper_case() -> None:
    number = make_resident_id("320602", dt.date(1935, 5, 1), 9)
    assert number.endswith("X")  # this sequence happens to give the check character X

    parsed = parse_resident_id(number.lower(), today=TODAY)

    assert parsed.number == number
    assert parsed.number.endswith("X")


def test_parse_resident_id_strips_surrounding_whitespace() -> None:
    number = with_check("32060219401010001")
    assert parse_resident_id(f"  {number} ", today=TODAY).number == number


def test_parse_resident_id_accepts_elderly_person_whose_district_postdates_birth() -> None:
    # 320602 (崇川区) dates from 1983; python-stdnum's own check rejects people born before.
    number = make_resident_id("320602", dt.date(1935, 5, 1), 13)
    assert not ric.is_valid(number)

    parsed = parse_resident_id(number, today=TODAY)

    assert parsed.born_on == dt.date(1935, 5, 1)
    assert parsed.region_code == "320602"


def test_make_resident_id_agrees_with_the_spec_algorithm() -> None:
    for sequence in (1, 2, 9, 13, 500, 999):
        number = make_resident_id("320685", dt.date(1948, 2, 29), sequence)
        assert number[17] == spec_check_character(number[:17])
        assert parse_resident_id(number, today=TODAY).is_male is (sequence % 2 == 1)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "32060219401010001",  # 17 characters
        "3206021940101000123",  # 19 characters
        "320602401010001",  # old 15-digit numbers are not accepted
    ],
)
def test_parse_resident_id_refuses_wrong_length(raw: str) -> None:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(raw, today=TODAY)
    assert caught.value.problem is IdProblem.LENGTH
    assert caught.value.expected_check is None


@pytest.mark.parametrize(
    "raw",
    [
        "32060219401010A013",  # letter inside the digits
        "X20602194010100013",  # X anywhere but last
        "3206021940101000-1",  # a stray separator
        "32060219401010001Y",  # last character neither a digit nor X
    ],
)
def test_parse_resident_id_refuses_non_digits(raw: str) -> None:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(raw, today=TODAY)
    assert caught.value.problem is IdProblem.NON_DIGITS


@pytest.mark.parametrize(
    "body",
    [
        "32060219400230001",  # 30 February
        "32060219411301001",  # month 13
        "32060219410000001",  # day 0
        "32060200000101001",  # year 0
    ],
)
def test_parse_resident_id_refuses_impossible_birth_date(body: str) -> None:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(with_check(body), today=TODAY)
    assert caught.value.problem is IdProblem.BIRTH_DATE


def test_parse_resident_id_refuses_birth_date_in_the_future() -> None:
    tomorrow = make_resident_id("320602", TODAY + dt.timedelta(days=1), 1)
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(tomorrow, today=TODAY)
    assert caught.value.problem is IdProblem.FUTURE_BIRTH_DATE


def test_parse_resident_id_accepts_birth_today() -> None:
    born_today = make_resident_id("320602", TODAY, 2)
    assert parse_resident_id(born_today, today=TODAY).born_on == TODAY


@pytest.mark.parametrize("region", ["999999", "320699", "000000"])
def test_parse_resident_id_refuses_unknown_region(region: str) -> None:
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(with_check(f"{region}19400101001"), today=TODAY)
    assert caught.value.problem is IdProblem.REGION


def test_parse_resident_id_refuses_wrong_check_character_naming_the_expected_one() -> None:
    number = with_check("32068219550312004")
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(wrong_check(number), today=TODAY)
    assert caught.value.problem is IdProblem.CHECK_CHARACTER
    assert caught.value.expected_check == number[17]


def test_parse_resident_id_refuses_x_where_a_digit_is_expected() -> None:
    number = with_check("32060219401010001")
    assert number[17] != "X"
    with pytest.raises(InvalidIdNumberError) as caught:
        parse_resident_id(number[:17] + "x", today=TODAY)
    assert caught.value.problem is IdProblem.CHECK_CHARACTER
    assert caught.value.expected_check == number[17]


def test_invalid_id_number_error_message_is_the_problem_code() -> None:
    assert str(InvalidIdNumberError(IdProblem.REGION)) == "region"


@pytest.mark.parametrize(
    ("code", "known"),
    [
        ("320602", True),
        ("320612", True),
        ("320685", True),
        ("320699", False),
        ("999999", False),
    ],
)
def test_is_known_region(code: str, known: bool) -> None:
    assert is_known_region(code) is known


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("32060219350501013X", "320602***********X"),
        ("320602193505010137", "320602***********7"),
        ("12345678901", "***********"),  # not an ID number: hidden whole
        ("1234567890", "**********"),
        ("", ""),
    ],
)
def test_mask_id_number_shows_the_region_and_the_check_character_only(
    number: str, masked: str
) -> None:
    assert mask_id_number(number) == masked
    assert len(mask_id_number(number)) == len(number)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧***"),
        ("张", "*"),
        ("王", "*"),
        (" ", ""),
        ("", ""),
    ],
)
def test_mask_name_keeps_the_family_name_only(name: str, masked: str) -> None:
    assert mask_name(name) == masked
