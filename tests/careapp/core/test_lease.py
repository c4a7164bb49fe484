"""The one rule of a lease: acquire it when free or expired, renew our own, else stand by."""

from __future__ import annotations

import datetime as dt

import pytest

from careapp.core.lease import (
    FREE,
    LeaseDecision,
    LeaseHolder,
    LeaseState,
    LeaseTiming,
    catch_up_from,
    decide_lease,
    lease_after,
    new_holder,
    released,
)
from careapp.core.liveness import Runner

NOW = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
DURATION = dt.timedelta(seconds=30)
ME = LeaseHolder(Runner("sched-1", 100), "aaaa")
OTHER = LeaseHolder(Runner("sched-2", 200), "bbbb")
# The same host and process id as ME, but another start of it (a restart recycling the pid).
MY_PREDECESSOR = LeaseHolder(Runner("sched-1", 100), "cccc")


def held(holder: LeaseHolder, *, expires_in: dt.timedelta, beat: dt.timedelta) -> LeaseState:
    return LeaseState(holder, NOW - dt.timedelta(hours=1), NOW - beat, NOW + expires_in)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, LeaseDecision.ACQUIRE_FREE),  # no row yet
        (FREE, LeaseDecision.ACQUIRE_FREE),
        (  # released by its last holder a moment ago
            LeaseState(None, None, NOW - SECOND, NOW - SECOND),
            LeaseDecision.ACQUIRE_FREE,
        ),
        (held(ME, expires_in=20 * SECOND, beat=10 * SECOND), LeaseDecision.RENEW),
        # ours even once expired: nobody else has held it since, as it still names us
        (held(ME, expires_in=-5 * SECOND, beat=35 * SECOND), LeaseDecision.RENEW),
        (held(OTHER, expires_in=20 * SECOND, beat=10 * SECOND), LeaseDecision.STANDBY),
        (held(OTHER, expires_in=SECOND, beat=29 * SECOND), LeaseDecision.STANDBY),
        # expired from its expiry on
        (held(OTHER, expires_in=0 * SECOND, beat=30 * SECOND), LeaseDecision.ACQUIRE_EXPIRED),
        (held(OTHER, expires_in=-SECOND, beat=31 * SECOND), LeaseDecision.ACQUIRE_EXPIRED),
        (
            held(OTHER, expires_in=-dt.timedelta(days=2), beat=DURATION),
            LeaseDecision.ACQUIRE_EXPIRED,
        ),
        # a restarted process is not its predecessor, though host and pid are the same
        (
            held(MY_PREDECESSOR, expires_in=20 * SECOND, beat=10 * SECOND),
            LeaseDecision.STANDBY,
        ),
        # a holder whose heartbeat looks from the future (its writer's view) is still live
        (held(OTHER, expires_in=45 * SECOND, beat=-15 * SECOND), LeaseDecision.STANDBY),
    ],
)
def test_decide_lease(state: LeaseState | None, expected: LeaseDecision) -> None:
    assert decide_lease(state, NOW, ME.instance) is expected
    assert expected.is_held_after is (expected is not LeaseDecision.STANDBY)


def test_a_lease_taken_starts_now_and_lasts_its_duration() -> None:
    for previous in (None, FREE, held(OTHER, expires_in=-SECOND, beat=31 * SECOND)):
        decision = decide_lease(previous, NOW, ME.instance)
        assert lease_after(previous, decision, ME, NOW, DURATION) == LeaseState(
            ME, NOW, NOW, NOW + DURATION
        )


def test_a_renewal_keeps_since_when_and_moves_the_heartbeat_and_expiry() -> None:
    mine = held(ME, expires_in=20 * SECOND, beat=10 * SECOND)
    assert lease_after(mine, LeaseDecision.RENEW, ME, NOW, DURATION) == LeaseState(
        ME, mine.acquired_at, NOW, NOW + DURATION
    )


def test_a_standby_writes_nothing() -> None:
    theirs = held(OTHER, expires_in=20 * SECOND, beat=10 * SECOND)
    assert lease_after(theirs, LeaseDecision.STANDBY, ME, NOW, DURATION) is None


def test_only_the_holder_releases_and_a_released_lease_is_free_at_once() -> None:
    mine = held(ME, expires_in=20 * SECOND, beat=10 * SECOND)
    free = released(mine, ME, NOW)
    assert free == LeaseState(None, None, NOW, NOW)
    assert decide_lease(free, NOW, OTHER.instance) is LeaseDecision.ACQUIRE_FREE
    assert not free.is_live(NOW)
    assert released(mine, OTHER, NOW) is None
    assert released(mine, MY_PREDECESSOR, NOW) is None
    assert released(None, ME, NOW) is None
    assert released(FREE, ME, NOW) is None


def test_liveness_and_heartbeat_age() -> None:
    theirs = held(OTHER, expires_in=20 * SECOND, beat=10 * SECOND)
    assert theirs.is_live(NOW)
    assert not theirs.is_live(NOW + 20 * SECOND)
    assert theirs.heartbeat_age(NOW) == 10 * SECOND
    assert FREE.heartbeat_age(NOW) is None
    assert not FREE.is_live(NOW)


LOCAL = dt.datetime(2026, 12, 8, 1, 0, 7, tzinfo=dt.UTC)  # this process's clock, 7 s ahead
GRACE = dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    ("previous", "decision", "expected"),
    [
        # the dead leader's last heartbeat was 35 s ago (database clock): jobs since are ours
        (
            held(OTHER, expires_in=-5 * SECOND, beat=35 * SECOND),
            LeaseDecision.ACQUIRE_EXPIRED,
            LOCAL - 35 * SECOND,
        ),
        # released 2 s ago (a graceful stop): the jobs it ran are not run again
        (
            LeaseState(None, None, NOW - 2 * SECOND, NOW - 2 * SECOND),
            LeaseDecision.ACQUIRE_FREE,
            LOCAL - 2 * SECOND,
        ),
        # a lease dead for a day: nothing older than the misfire grace
        (
            held(OTHER, expires_in=-dt.timedelta(days=1), beat=dt.timedelta(days=1)),
            LeaseDecision.ACQUIRE_EXPIRED,
            LOCAL - GRACE,
        ),
        # a heartbeat from the future (clock trouble): from now
        (
            held(OTHER, expires_in=-SECOND, beat=-10 * SECOND),
            LeaseDecision.ACQUIRE_EXPIRED,
            LOCAL,
        ),
        (None, LeaseDecision.ACQUIRE_FREE, None),  # never held by anyone
        (FREE, LeaseDecision.ACQUIRE_FREE, None),
        (held(ME, expires_in=-SECOND, beat=31 * SECOND), LeaseDecision.RENEW, None),
        (held(OTHER, expires_in=SECOND, beat=SECOND), LeaseDecision.STANDBY, None),
    ],
)
def test_catch_up_from(
    previous: LeaseState | None, decision: LeaseDecision, expected: dt.datetime | None
) -> None:
    found = catch_up_from(previous, decision, now=NOW, local_now=LOCAL, misfire_grace=GRACE)
    assert found == expected


@pytest.mark.parametrize(
    ("duration", "renew", "error"),
    [
        (30, 10, None),
        (3, 1, None),
        (30, 11, "three renewal intervals"),
        (30, 0, "positive"),
        (30, -1, "positive"),
    ],
)
def test_lease_timing(duration: float, renew: float, error: str | None) -> None:
    if error is not None:
        with pytest.raises(ValueError, match=error):
            LeaseTiming(duration * SECOND, renew * SECOND)
        return
    timing = LeaseTiming(duration * SECOND, renew * SECOND)
    assert timing.leading_for == (duration - renew) * SECOND
    assert timing.takeover_within == (duration + renew) * SECOND


def test_default_timing_takes_over_within_a_minute() -> None:
    from careapp.config import Config

    timing = LeaseTiming(
        Config.SCHEDULER_LEASE_SECONDS * SECOND, Config.SCHEDULER_RENEW_SECONDS * SECOND
    )
    assert timing.takeover_within <= dt.timedelta(minutes=1)


def test_new_holders_are_this_process_under_a_fresh_instance() -> None:
    first, second = new_holder(), new_holder()
    assert first.runner == second.runner
    assert first.instance != second.instance
    assert str(ME) == "sched-1:100"
