"""The candidate counter: exact (checked against stdnum by brute force), and it shows why the old
mask failed and the new one holds."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum.cn import ric

from careapp.core.id_candidates import (
    MIN_CANDIDATES,
    ShownFacts,
    age_on,
    count_candidates,
    is_consistent,
    region_codes,
)
from careapp.core.identity import is_known_region, make_resident_id, mask_id_number

TODAY = dt.date(2026, 12, 7)
BORN = dt.date(1941, 5, 17)
NUMBER = make_resident_id("320602", BORN, 26)  # a woman (even sequence)
OLD_MASK = NUMBER[:6] + "*" * 8 + NUMBER[-4:]  # the mask before issue 13


def _brute_force(facts: ShownFacts, dates: list[dt.date], regions: list[str]) -> int:
    """Every number of these regions and dates, checked one by one (stdnum's check character,
    not the counter's residue arithmetic)."""
    found = 0
    for region in regions:
        for day in dates:
            for sequence in range(1000):
                number = make_resident_id(region, day, sequence)
                assert ric.calc_check_digit(number) == number[-1]
                found += is_consistent(number, facts, regions)
    return found


def test_the_old_mask_with_the_birth_date_beside_it_leaves_one_number() -> None:
    """What the person page, the conclusion and the certificate used to show: undone."""
    facts = ShownFacts(OLD_MASK, latest=TODAY, is_male=False, born_on=BORN)
    assert count_candidates(facts) == 1
    assert is_consistent(NUMBER, facts)


def test_the_new_mask_with_a_full_birth_date_is_still_too_few() -> None:
    """Why the date itself may never be shown beside a masked ID: about 500 / 11 are left."""
    facts = ShownFacts(mask_id_number(NUMBER), latest=TODAY, is_male=False, born_on=BORN)
    assert 30 < count_candidates(facts) < 60 < MIN_CANDIDATES


@pytest.mark.parametrize(
    "shown",
    [
        {"birth_year": 1941},
        {"age_on": (age_on(BORN, TODAY), TODAY)},
        {},
    ],
    ids=["birth year", "age today", "nothing about birth"],
)
def test_the_new_mask_with_a_year_or_an_age_leaves_thousands(shown: dict[str, object]) -> None:
    facts = ShownFacts(mask_id_number(NUMBER), latest=TODAY, is_male=False, **shown)  # type: ignore[arg-type]
    count = count_candidates(facts)
    assert count >= 16_000  # about 365 days x 500 sequences / 11 check characters
    assert is_consistent(NUMBER, facts)


def test_a_year_and_an_age_together_can_narrow_the_date_too_far() -> None:
    """Born in 1941 and 85 on 5 January 2027: born 1 to 5 January 1941, a few hundred numbers."""
    day = dt.date(2027, 1, 5)
    facts = ShownFacts(
        mask_id_number(make_resident_id("320602", dt.date(1941, 1, 3), 26)),
        latest=day,
        is_male=False,
        birth_year=1941,
        age_on=(86, day),
    )
    assert count_candidates(facts) < MIN_CANDIDATES


def test_the_count_matches_stdnum_number_by_number() -> None:
    """A pattern with digits hidden in every part, over two regions and a week of dates."""
    regions = ["320602", "320611"]
    dates = [dt.date(1941, 5, 14) + dt.timedelta(days=n) for n in range(7)]
    facts = ShownFacts(
        "3206**19410*1**2*7", latest=dates[-1], is_male=False, earliest=dates[0], birth_year=1941
    )
    assert count_candidates(facts, regions) == _brute_force(facts, dates, regions)
    assert count_candidates(facts, regions) > 0


def test_the_count_matches_stdnum_with_the_check_character_hidden_and_any_sex() -> None:
    regions = ["320602"]
    facts = ShownFacts("320602194105171***", latest=TODAY, born_on=BORN)
    assert count_candidates(facts, regions) == _brute_force(facts, [BORN], regions) == 100


@pytest.mark.parametrize(
    ("born_on", "day", "age"),
    [
        (dt.date(1940, 3, 1), dt.date(2026, 2, 28), 85),
        (dt.date(1940, 3, 1), dt.date(2026, 3, 1), 86),
        (dt.date(1940, 2, 29), dt.date(2026, 2, 28), 85),
        (dt.date(1940, 2, 29), dt.date(2026, 3, 1), 86),
        (dt.date(1940, 12, 31), dt.date(2026, 12, 30), 85),
    ],
)
def test_age_on_counts_whole_years(born_on: dt.date, day: dt.date, age: int) -> None:
    assert age_on(born_on, day) == age


def test_an_age_allows_a_year_of_birth_dates() -> None:
    """85 on 7 December 2026: born 8 December 1940 to 7 December 1941, 365 days."""
    facts = ShownFacts("320602" + "*" * 12, latest=TODAY, age_on=(85, TODAY))
    per_day = count_candidates(ShownFacts("320602" + "*" * 12, latest=BORN, born_on=BORN))
    assert per_day == 1000
    assert count_candidates(facts) == 365 * 1000


def test_the_region_list_is_stdnums() -> None:
    codes = region_codes()
    assert len(codes) > 3000
    assert {"320602", "320611", "110101"} <= codes
    assert all(is_known_region(code) for code in sorted(codes)[::97])
    assert "320699" not in codes


def test_a_hidden_region_counts_every_region_of_the_list() -> None:
    shown = ShownFacts("******194105170267", latest=TODAY, born_on=BORN)
    count = count_candidates(shown)
    assert 0 < count < len(region_codes())  # only the regions giving check character 7
    assert is_consistent(NUMBER, shown)


def test_a_mask_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="18 characters"):
        count_candidates(ShownFacts("320602****", latest=TODAY))
