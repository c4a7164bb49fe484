"""How many resident ID numbers fit what a page, export or PDF shows about a person.

The registry spec's rule (Personal-data protection): someone who knows everything one document
shows (the masked ID number, sex, a birth date, birth year or age, address, district) and the
public list of region codes must be left with at least `MIN_CANDIDATES` numbers. This module
counts them exactly, for any mask (`*` marks a hidden character).

An ID number is region (6) + birth date (8) + sequence (3, the last digit odd for men) + check
character. The check character is python-stdnum's (`stdnum.cn.ric`): `(1 - 2 * S) mod 11` with
`S = int(first 17 digits, base 13)`, so `S mod 11` is the sum of the residues of the region,
date and sequence parts. Counting is therefore done per residue class, never per number: the
regions and the dates that fit are grouped by their residue (11 classes each), the sequences by
theirs, and the check character picks the combinations that give it. A century of dates and
every region of the country take well under a second.

Pure: no clock (the caller gives the latest possible birth date), no I/O beyond stdnum's data.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric

from careapp.core.identity import ID_LENGTH

MIN_CANDIDATES = 1000
HIDDEN = "*"
# The earliest birth date considered when a document shows nothing about it.
EARLIEST_BIRTH = dt.date(1900, 1, 1)
_MODULUS = 11
_BASE = 13  # stdnum reads the first 17 digits as a base-13 number
_SEQUENCE_DIGITS = 3
_DATE_DIGITS = 8


@dataclass(frozen=True)
class ShownFacts:
    """What one document shows about a person's ID number.

    `masked` is the ID number as shown (18 characters, `*` for hidden ones). The birth facts are
    all optional: a full date, a birth year, an age in whole years on a given day. `latest` is
    the latest possible birth date (the document's date: no one is born after it).
    """

    masked: str
    latest: dt.date
    is_male: bool | None = None
    born_on: dt.date | None = None
    birth_year: int | None = None
    age_on: tuple[int, dt.date] | None = None  # (age in whole years, on this day)
    earliest: dt.date = EARLIEST_BIRTH


def age_on(born_on: dt.date, day: dt.date) -> int:
    """Age in whole years on `day` (a 29 February birthday counts from 1 March)."""
    had_birthday = (day.month, day.day) >= (born_on.month, born_on.day)
    return day.year - born_on.year - (0 if had_birthday else 1)


@functools.cache
def region_codes() -> frozenset[str]:
    """Every county-level region code that ever was (the public list, from stdnum's data)."""
    return frozenset(_counties(numdb.get("cn/loc").prefixes, ""))


def _counties(prefixes: Iterable[tuple], parent: str) -> Iterator[str]:  # type: ignore[type-arg]
    for length, low, high, props, children in prefixes:
        for value in range(int(low), int(high) + 1):
            code = parent + f"{value:0{length}d}"
            if len(code) == 6 and "county" in props:
                yield code
            if len(code) < 6:
                yield from _counties(children, code)


def count_candidates(facts: ShownFacts, regions: Collection[str] | None = None) -> int:
    """The number of valid ID numbers consistent with `facts`; `regions` is the public list of
    region codes (stdnum's list of every county that ever was, by default)."""
    masked = facts.masked.upper()
    if len(masked) != ID_LENGTH:
        raise ValueError("an ID number, masked or not, has 18 characters")
    known = region_codes() if regions is None else regions
    region_classes = _classes(known, masked[:6], weight_of=_DATE_DIGITS + _SEQUENCE_DIGITS)
    date_classes = _classes(
        (f"{day:%Y%m%d}" for day in _birth_dates(facts)), masked[6:14], weight_of=_SEQUENCE_DIGITS
    )
    sequences = (
        f"{n:03d}" for n in range(1000) if facts.is_male is None or (n % 2 == 1) == facts.is_male
    )
    sequence_classes = _classes(sequences, masked[14:17], weight_of=0)
    check = masked[17]
    total = 0
    for region_residue, region_count in region_classes.items():
        for date_residue, date_count in date_classes.items():
            for sequence_residue, sequence_count in sequence_classes.items():
                residue = (region_residue + date_residue + sequence_residue) % _MODULUS
                if check == HIDDEN or _check_character(residue) == check:
                    total += region_count * date_count * sequence_count
    return total


def is_consistent(number: str, facts: ShownFacts, regions: Collection[str] | None = None) -> bool:
    """True when the full `number` is one of the candidates of `facts`."""
    number = number.upper()
    if len(number) != ID_LENGTH or len(facts.masked) != ID_LENGTH:
        return False
    if not all(_fits(m, c) for m, c in zip(facts.masked.upper(), number, strict=True)):
        return False
    if number[:6] not in (region_codes() if regions is None else regions):
        return False
    if not number[:17].isdigit() or ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        born_on = ric.get_birth_date(number)
    except ValueError:
        return False
    if facts.is_male is not None and (int(number[16]) % 2 == 1) != facts.is_male:
        return False
    return _allows(facts, born_on)


def _fits(shown: str, actual: str) -> bool:
    return shown in (HIDDEN, actual)


def _classes(parts: Iterable[str], pattern: str, *, weight_of: int) -> Counter[int]:
    """How many of `parts` match `pattern`, by their residue in the check character's sum
    (a part followed by `weight_of` more digits weighs 13**weight_of)."""
    weight = pow(_BASE, weight_of, _MODULUS)
    return Counter(
        int(part, _BASE) * weight % _MODULUS
        for part in parts
        if len(part) == len(pattern) and all(map(_fits, pattern, part))
    )


def _allows(facts: ShownFacts, born_on: dt.date) -> bool:
    """True when a person born on `born_on` fits every birth fact shown."""
    if not facts.earliest <= born_on <= facts.latest:
        return False
    if facts.born_on is not None and born_on != facts.born_on:
        return False
    if facts.birth_year is not None and born_on.year != facts.birth_year:
        return False
    if facts.age_on is not None:
        age, day = facts.age_on
        return age_on(born_on, day) == age
    return True


def _birth_dates(facts: ShownFacts) -> Iterator[dt.date]:
    """Every birth date the facts allow."""
    first, last = facts.earliest, facts.latest
    if facts.born_on is not None:
        first, last = max(first, facts.born_on), min(last, facts.born_on)
    if facts.birth_year is not None:
        first = max(first, dt.date(facts.birth_year, 1, 1))
        last = min(last, dt.date(facts.birth_year, 12, 31))
    if facts.age_on is not None:  # born in the year `age` or `age + 1` years before the day
        age, day = facts.age_on
        first = max(first, dt.date(max(1, day.year - age - 1), 1, 1))
        last = min(last, dt.date(max(1, min(9999, day.year - age)), 12, 31))
    day = first
    while day <= last:
        if _allows(facts, day):
            yield day
        day += dt.timedelta(days=1)


@functools.cache
def _check_character(residue: int) -> str:
    """The check character of a body whose first 17 digits have `residue` (stdnum's rule):
    computed by stdnum on a body with that residue (`1` followed by zeros is 13**16, so the
    residue is reached by adding a digit pair in the last two places)."""
    for tens in range(10):
        for units in range(10):
            body = "0" * 15 + f"{tens}{units}"
            if int(body, _BASE) % _MODULUS == residue:
                return str(ric.calc_check_digit(body + "0"))
    raise AssertionError("every residue is reachable")  # pragma: no cover
