"""Benefit days (pure): day conventions, hand-worked months, properties of random histories."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careapp.eligibility.ledger import (
    ADMISSION_BEFORE_START,
    DISCHARGE_BEFORE_ADMISSION,
    END_BEFORE_START,
    EVENT_AFTER_END,
    NO_POLICY,
    NO_START_PLACEMENT,
    NOT_A_MOVE,
    PLACEMENTS_NOT_IN_ORDER,
    STAYS_OVERLAP,
    UNKNOWN_SETTING,
    DayStatus,
    EntitlementHistory,
    HospitalStay,
    LedgerError,
    Payee,
    Placement,
    RateTable,
    benefit_days,
    benefit_segments,
    check_history,
    month_bounds,
    months_back,
    split_by_month,
    total_fen,
    version_on,
)
from careapp.eligibility.rules import (
    CARE_SETTINGS,
    ELDERLY_CARE_INSTITUTION,
    HOME_CASH,
    HOME_SERVICE,
    MEDICAL_CARE_INSTITUTION,
    BenefitCategory,
)

D = dt.date
RATES = {
    ("severe", MEDICAL_CARE_INSTITUTION): 5000,
    ("severe", ELDERLY_CARE_INSTITUTION): 4000,
    ("severe", HOME_SERVICE): None,
    ("severe", HOME_CASH): 1500,
    ("moderate", MEDICAL_CARE_INSTITUTION): 1000,
    ("moderate", ELDERLY_CARE_INSTITUTION): 1000,
    ("moderate", HOME_SERVICE): 1000,
    ("moderate", HOME_CASH): 1000,
}
V1 = RateTable(1, D(2016, 1, 1), RATES)
HOME = Placement(D(2026, 3, 10), HOME_CASH)


def history(**changes: object) -> EntitlementHistory:
    values: dict[str, object] = {
        "category": BenefitCategory.SEVERE,
        "starts_on": D(2026, 3, 10),
        "placements": (HOME,),
    }
    values.update(changes)
    return EntitlementHistory(**values)  # type: ignore[arg-type]  # test helper


def month(year: int, number: int, h: EntitlementHistory, versions=(V1,)):  # type: ignore[no-untyped-def]  # test helper
    first, last = month_bounds(D(year, number, 1))
    return benefit_segments(h, list(versions), first, last)


# --- the day conventions ------------------------------------------------------------------


def test_days_run_from_the_start_to_the_day_before_the_end() -> None:
    h = history(end_on=D(2026, 3, 20))  # died on the 20th: not paid
    segments = month(2026, 3, h)
    assert [(s.first, s.last, s.days) for s in segments] == [(D(2026, 3, 10), D(2026, 3, 19), 10)]
    assert total_fen(segments) == 10 * 1500
    assert h.last_day == D(2026, 3, 19)


def test_an_entitlement_ended_on_its_first_day_pays_nothing() -> None:
    h = history(end_on=D(2026, 3, 10))
    check_history(h)
    assert month(2026, 3, h) == []


def test_a_move_mid_month_applies_from_the_day_of_the_move() -> None:
    h = history(
        placements=(HOME, Placement(D(2026, 3, 16), ELDERLY_CARE_INSTITUTION, provider_id=7))
    )
    segments = month(2026, 3, h)
    assert [(s.first, s.last, s.care_setting, s.rate_fen, s.payee) for s in segments] == [
        (D(2026, 3, 10), D(2026, 3, 15), HOME_CASH, 1500, Payee.BENEFICIARY),
        (D(2026, 3, 16), D(2026, 3, 31), ELDERLY_CARE_INSTITUTION, 4000, Payee.INSTITUTION),
    ]
    assert segments[1].provider_id == 7
    assert total_fen(segments) == 6 * 1500 + 16 * 4000


def test_a_hospital_stay_across_a_month_end_suspends_admission_to_the_day_before_discharge() -> (
    None
):
    h = history(stays=(HospitalStay(D(2026, 3, 29), D(2026, 4, 3)),))
    march, april = month(2026, 3, h), month(2026, 4, h)
    assert [(s.first, s.last, s.status) for s in march] == [
        (D(2026, 3, 10), D(2026, 3, 28), DayStatus.PAID),
        (D(2026, 3, 29), D(2026, 3, 31), DayStatus.SUSPENDED),
    ]
    assert [(s.first, s.last, s.status) for s in april] == [
        (D(2026, 4, 1), D(2026, 4, 2), DayStatus.SUSPENDED),
        (D(2026, 4, 3), D(2026, 4, 30), DayStatus.PAID),  # the discharge day is paid
    ]
    assert total_fen(march) == 19 * 1500
    assert total_fen(april) == 28 * 1500


def test_discharge_into_a_new_setting_pays_the_discharge_day_there() -> None:
    h = history(
        placements=(HOME, Placement(D(2026, 3, 20), MEDICAL_CARE_INSTITUTION, provider_id=3)),
        stays=(HospitalStay(D(2026, 3, 15), D(2026, 3, 20)),),
    )
    segments = month(2026, 3, h)
    assert [(s.first, s.status, s.care_setting) for s in segments] == [
        (D(2026, 3, 10), DayStatus.PAID, HOME_CASH),
        (D(2026, 3, 15), DayStatus.SUSPENDED, HOME_CASH),
        (D(2026, 3, 20), DayStatus.PAID, MEDICAL_CARE_INSTITUTION),
    ]


def test_an_open_hospital_stay_suspends_every_day_from_admission() -> None:
    h = history(stays=(HospitalStay(D(2026, 3, 25)),))
    assert [(s.first, s.last, s.status) for s in month(2026, 4, h)] == [
        (D(2026, 4, 1), D(2026, 4, 30), DayStatus.SUSPENDED)
    ]


def test_a_rate_change_mid_month_splits_the_month_and_each_day_records_its_version() -> None:
    v2 = RateTable(2, D(2026, 3, 16), RATES | {("severe", HOME_CASH): 1800})
    segments = month(2026, 3, history(), versions=(V1, v2))
    assert [(s.first, s.last, s.version_id, s.rate_fen) for s in segments] == [
        (D(2026, 3, 10), D(2026, 3, 15), 1, 1500),
        (D(2026, 3, 16), D(2026, 3, 31), 2, 1800),
    ]
    assert total_fen(segments) == 6 * 1500 + 16 * 1800
    days = benefit_days(segments)
    assert {d.version_id for d in days if d.day < D(2026, 3, 16)} == {1}
    assert {d.version_id for d in days if d.day >= D(2026, 3, 16)} == {2}


def test_severe_home_service_days_are_counted_without_a_daily_amount() -> None:
    h = history(placements=(Placement(D(2026, 3, 10), HOME_SERVICE, provider_id=4),))
    (segment,) = month(2026, 3, h)
    assert (segment.days, segment.payee, segment.daily_amount_fen, segment.amount_fen) == (
        22,
        Payee.PER_VISIT,
        None,
        0,
    )


def test_moderate_at_home_is_paid_to_the_beneficiary() -> None:
    h = history(
        category=BenefitCategory.MODERATE, placements=(Placement(D(2026, 3, 10), HOME_SERVICE),)
    )
    (segment,) = month(2026, 3, h)
    assert (segment.payee, segment.amount_fen) == (Payee.BENEFICIARY, 22 * 1000)


def test_suspended_days_pay_nothing() -> None:
    h = history(stays=(HospitalStay(D(2026, 3, 12), D(2026, 3, 14)),))
    suspended = [s for s in month(2026, 3, h) if s.status is DayStatus.SUSPENDED]
    assert [(s.days, s.daily_amount_fen, s.amount_fen) for s in suspended] == [(2, 0, 0)]


def test_a_day_before_every_policy_version_is_refused() -> None:
    late = RateTable(1, D(2026, 3, 15), RATES)
    with pytest.raises(LedgerError) as caught:
        month(2026, 3, history(), versions=(late,))
    assert (caught.value.reason, caught.value.day) == (NO_POLICY, D(2026, 3, 10))
    assert version_on([V1, late], D(2026, 3, 15)) is late


def test_a_window_outside_the_entitlement_is_empty() -> None:
    h = history(end_on=D(2026, 4, 1))
    assert month(2026, 2, h) == []
    assert month(2026, 4, h) == []


@pytest.mark.parametrize(
    ("changes", "reason", "day"),
    [
        ({"end_on": D(2026, 3, 9)}, END_BEFORE_START, D(2026, 3, 9)),
        ({"placements": ()}, NO_START_PLACEMENT, D(2026, 3, 10)),
        (
            {"placements": (Placement(D(2026, 3, 11), HOME_CASH),)},
            NO_START_PLACEMENT,
            D(2026, 3, 10),
        ),
        ({"placements": (Placement(D(2026, 3, 10), "hospital"),)}, UNKNOWN_SETTING, D(2026, 3, 10)),
        (
            {"placements": (HOME, Placement(D(2026, 3, 10), HOME_SERVICE))},
            PLACEMENTS_NOT_IN_ORDER,
            D(2026, 3, 10),
        ),
        ({"placements": (HOME, Placement(D(2026, 3, 12), HOME_CASH))}, NOT_A_MOVE, D(2026, 3, 12)),
        (
            {"placements": (HOME, Placement(D(2026, 4, 1), HOME_SERVICE)), "end_on": D(2026, 4, 1)},
            EVENT_AFTER_END,
            D(2026, 4, 1),
        ),
        ({"stays": (HospitalStay(D(2026, 3, 9)),)}, ADMISSION_BEFORE_START, D(2026, 3, 9)),
        (
            {"stays": (HospitalStay(D(2026, 4, 2)),), "end_on": D(2026, 4, 2)},
            EVENT_AFTER_END,
            D(2026, 4, 2),
        ),
        (
            {"stays": (HospitalStay(D(2026, 3, 15), D(2026, 3, 14)),)},
            DISCHARGE_BEFORE_ADMISSION,
            D(2026, 3, 14),
        ),
        (
            {"stays": (HospitalStay(D(2026, 3, 15), D(2026, 3, 20)), HospitalStay(D(2026, 3, 19)))},
            STAYS_OVERLAP,
            D(2026, 3, 19),
        ),
        (
            {"stays": (HospitalStay(D(2026, 3, 25), D(2026, 3, 27)), HospitalStay(D(2026, 3, 15)))},
            STAYS_OVERLAP,
            D(2026, 3, 25),
        ),
    ],
)
def test_impossible_histories_are_refused(
    changes: dict[str, object], reason: str, day: dt.date
) -> None:
    with pytest.raises(LedgerError) as caught:
        check_history(history(**changes))
    assert (caught.value.reason, caught.value.day) == (reason, day)


def test_readmission_on_the_discharge_day_is_allowed() -> None:
    h = history(stays=(HospitalStay(D(2026, 3, 15), D(2026, 3, 20)), HospitalStay(D(2026, 3, 20))))
    check_history(h)
    assert month(2026, 3, h)[-1].first == D(2026, 3, 15)  # one suspended run to the month end


def test_month_helpers() -> None:
    assert month_bounds(D(2028, 2, 14)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert month_bounds(D(2026, 12, 31)) == (D(2026, 12, 1), D(2026, 12, 31))
    assert months_back(D(2026, 2, 10), 3) == [D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1)]


def test_the_history_has_no_household_registration() -> None:
    names = {f.name for f in dataclasses.fields(EntitlementHistory)}
    names |= {f.name for f in dataclasses.fields(Placement)}
    assert not any("household" in name or "hukou" in name for name in names)


# --- properties of random histories ---------------------------------------------------------

START = D(2025, 12, 20)
HORIZON = 200  # days after the start the strategies reach


@st.composite
def histories(draw: st.DrawFn) -> EntitlementHistory:
    """A random, possible history: moves, non-overlapping stays (maybe one open), maybe an end."""
    end_offset = draw(st.one_of(st.none(), st.integers(0, HORIZON)))
    limit = HORIZON if end_offset is None else end_offset
    placements = [
        Placement(START, draw(st.sampled_from(CARE_SETTINGS)), draw(st.sampled_from([None, 1])))
    ]
    for offset in sorted(draw(st.sets(st.integers(1, HORIZON), max_size=5))):
        if offset >= limit:
            break
        setting = draw(st.sampled_from(CARE_SETTINGS))
        provider = draw(st.sampled_from([None, 1, 2]))
        if (setting, provider) == (placements[-1].care_setting, placements[-1].provider_id):
            continue
        placements.append(Placement(START + dt.timedelta(days=offset), setting, provider))
    stays: list[HospitalStay] = []
    cursor = 0
    for _ in range(draw(st.integers(0, 4))):
        admitted = cursor + draw(st.integers(0, 30))
        if admitted >= limit:
            break
        if draw(st.booleans()) and not draw(st.integers(0, 3)):
            stays.append(HospitalStay(START + dt.timedelta(days=admitted)))
            break
        length = draw(st.integers(0, 40))
        stays.append(
            HospitalStay(
                START + dt.timedelta(days=admitted),
                START + dt.timedelta(days=admitted + length),
            )
        )
        cursor = admitted + length
    return EntitlementHistory(
        category=draw(st.sampled_from(list(BenefitCategory))),
        starts_on=START,
        placements=tuple(placements),
        stays=tuple(stays),
        end_on=None if end_offset is None else START + dt.timedelta(days=end_offset),
    )


@st.composite
def rate_tables(draw: st.DrawFn) -> list[RateTable]:
    """One version from before the start, then up to three later ones with random rates."""
    rate = st.one_of(st.none(), st.integers(0, 10_000))
    offsets = sorted(draw(st.sets(st.integers(-10, HORIZON), max_size=3)))
    tables = [RateTable(1, D(2016, 1, 1), RATES)]
    for number, offset in enumerate(offsets, start=2):
        rates = {key: draw(rate) for key in RATES}
        tables.append(RateTable(number, START + dt.timedelta(days=offset), rates))
    return tables


def expected_day(h: EntitlementHistory, tables: list[RateTable], day: dt.date) -> tuple:  # type: ignore[type-arg]  # test oracle
    """The conventions applied naively to one day (the oracle of the properties)."""
    placement = [p for p in h.placements if p.on <= day][-1]
    table = [t for t in tables if t.effective_on <= day][-1]
    suspended = any(
        s.admitted_on <= day and (s.discharged_on is None or day < s.discharged_on) for s in h.stays
    )
    return (
        placement.care_setting,
        suspended,
        table.version_id,
        table.rates[(h.category.value, placement.care_setting)],
    )


WINDOW_FIRST = D(2025, 12, 1)
WINDOW_LAST = START + dt.timedelta(days=HORIZON + 20)


@settings(max_examples=300, deadline=None)
@given(h=histories(), tables=rate_tables())
def test_every_benefit_day_is_counted_exactly_once_as_the_conventions_say(
    h: EntitlementHistory, tables: list[RateTable]
) -> None:
    check_history(h)
    segments = benefit_segments(h, tables, WINDOW_FIRST, WINDOW_LAST)
    days = benefit_days(segments)
    dates = [d.day for d in days]
    assert len(dates) == len(set(dates))  # never twice
    last = WINDOW_LAST if h.last_day is None else h.last_day
    expected_count = max(0, (last - h.starts_on).days + 1)
    assert dates == [h.starts_on + dt.timedelta(days=i) for i in range(expected_count)]
    for d in days:  # paid or suspended, in the right setting, at the version in force that day
        setting, suspended, version_id, rate = expected_day(h, tables, d.day)
        assert (d.care_setting, d.status is DayStatus.SUSPENDED, d.version_id, d.rate_fen) == (
            setting,
            suspended,
            version_id,
            rate,
        )
    # The ledger equals the sum of the daily rates of the paid days.
    assert total_fen(segments) == sum(d.amount_fen for d in days)
    assert total_fen(segments) == sum(
        d.rate_fen for d in days if d.status is DayStatus.PAID and d.rate_fen is not None
    )


@settings(max_examples=200, deadline=None)
@given(h=histories(), tables=rate_tables())
def test_months_add_up_to_the_whole_and_match_a_window_per_month(
    h: EntitlementHistory, tables: list[RateTable]
) -> None:
    whole = benefit_segments(h, tables, WINDOW_FIRST, WINDOW_LAST)
    by_month = split_by_month(whole)
    assert sum(total_fen(s) for s in by_month.values()) == total_fen(whole)
    for first in months_back(WINDOW_LAST, 9):
        lo, hi = month_bounds(first)
        per_month = benefit_segments(h, tables, lo, min(hi, WINDOW_LAST))
        assert total_fen(per_month) == total_fen(by_month.get(first, []))
        assert benefit_days(per_month) == benefit_days(by_month.get(first, []))
