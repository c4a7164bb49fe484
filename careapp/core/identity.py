"""Resident ID numbers (GB 11643-1999): validation, facts derived from them, and masking (of
the number and of the name printed beside it).

Pure functions. Built on python-stdnum's `stdnum.cn.ric` for the check character and the birth
date. Its region check is *not* used as is: it requires the county code to have existed in the
birth year, which rejects most elderly people (a number's region is where it was issued, often
decades after birth). Here a region code is valid when it was ever a county of the registry.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

ID_LENGTH = 18
REGION_LENGTH = 6  # the region (county) code: shown by the mask
HIDDEN_LENGTH = 11  # the birth date (8) and the sequence (3): hidden by the mask


class IdProblem(enum.Enum):
    LENGTH = "length"
    NON_DIGITS = "non_digits"
    BIRTH_DATE = "birth_date"
    FUTURE_BIRTH_DATE = "future_birth_date"
    REGION = "region"
    CHECK_CHARACTER = "check_character"


class InvalidIdNumberError(ValueError):
    def __init__(self, problem: IdProblem, expected_check: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.expected_check = expected_check


@dataclass(frozen=True)
class ResidentId:
    number: str  # normalised: 18 characters, upper-case X
    region_code: str
    born_on: dt.date
    is_male: bool

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def parse_resident_id(raw: str, *, today: dt.date) -> ResidentId:
    """Validate a resident ID number and return its facts, or raise InvalidIdNumberError."""
    number = ric.compact(raw).upper()
    if len(number) != 18:
        raise InvalidIdNumberError(IdProblem.LENGTH)
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdNumberError(IdProblem.NON_DIGITS)
    try:
        born_on = ric.get_birth_date(number)
    except ValidationError:
        raise InvalidIdNumberError(IdProblem.BIRTH_DATE) from None
    if born_on > today:
        raise InvalidIdNumberError(IdProblem.FUTURE_BIRTH_DATE)
    if not is_known_region(number[:6]):
        raise InvalidIdNumberError(IdProblem.REGION)
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise InvalidIdNumberError(IdProblem.CHECK_CHARACTER, expected_check=expected)
    return ResidentId(
        number=number, region_code=number[:6], born_on=born_on, is_male=int(number[16]) % 2 == 1
    )


def is_known_region(code: str) -> bool:
    """True when `code` is (or was) a county-level region code."""
    info = {key for _part, props in numdb.get("cn/loc").info(code) for key in props}
    return "county" in info


def make_resident_id(region_code: str, born_on: dt.date, sequence: int) -> str:
    """Build a valid ID number (for demo data and tests). Odd sequence = male."""
    body = f"{region_code}{born_on:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a check slot


def mask_id_number(number: str) -> str:
    """Show the region (first 6) and the check character only: 320602***********3.

    The 8 birth-date digits and the 3 sequence digits are hidden, so that a birth year (or an
    age) printed beside the mask still leaves thousands of candidate numbers (registry spec,
    Personal-data protection; the arithmetic is in docs/security/masking.md). Anything that is
    not an 18-character number is hidden whole.
    """
    if len(number) != ID_LENGTH:
        return "*" * len(number)
    return number[:REGION_LENGTH] + "*" * HIDDEN_LENGTH + number[-1]


def mask_name(name: str) -> str:
    """The family name only: 张三丰 -> 张**, 张三 -> 张*, 欧阳娜娜 -> 欧***, 张 -> *.

    One rule for every page, export, calendar feed and public document. It is the rule that
    reveals less (showing the last character too, 张*丰, narrows the people a masked line can be):
    the registry spec has roles see the minimum, and counts the name among what a reader of a
    page may combine with the masked ID number. A one-character name is hidden whole; a blank
    name stays blank.
    """
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)
