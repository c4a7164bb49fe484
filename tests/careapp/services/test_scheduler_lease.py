"""The scheduler's lease in the database: acquire, renew, stand by, take over, release."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import careapp.services.scheduler_lease as leases
from careapp.core import clock as app_clock
from careapp.core.lease import LeaseDecision, LeaseHolder, LeaseState
from careapp.core.liveness import Runner
from careapp.models import SchedulerLease
from careapp.services.scheduler_lease import (
    claim_lease,
    current_holder,
    database_now,
    holds_lease,
    release_lease,
)
from tests.factories import NOW

DURATION = dt.timedelta(seconds=30)
SECOND = dt.timedelta(seconds=1)
FIRST = LeaseHolder(Runner("sched-1", 4101), "1111aaaa")
SECOND_ONE = LeaseHolder(Runner("sched-2", 4202), "2222bbbb")


def _row(session: Session) -> SchedulerLease:
    session.expire_all()
    row = session.scalars(select(SchedulerLease).where(SchedulerLease.name == "scheduler")).one()
    return row


def test_the_first_claim_takes_the_free_lease_and_stores_its_holder(db_session: Session) -> None:
    claim = claim_lease(db_session, FIRST, NOW, DURATION)

    assert claim.decision is LeaseDecision.ACQUIRE_FREE
    assert claim.is_held
    assert claim.previous is None
    row = _row(db_session)
    assert (row.holder_host, row.holder_pid, row.holder_instance) == ("sched-1", 4101, "1111aaaa")
    assert (row.acquired_at, row.heartbeat_at, row.expires_at) == (NOW, NOW, NOW + DURATION)
    assert row.version == 1


def test_a_second_process_stands_by_while_the_holder_renews(db_session: Session) -> None:
    claim_lease(db_session, FIRST, NOW, DURATION)

    standby = claim_lease(db_session, SECOND_ONE, NOW + 5 * SECOND, DURATION)
    assert standby.decision is LeaseDecision.STANDBY
    assert not standby.is_held
    assert standby.state is not None
    assert standby.state.holder == FIRST

    renewed = claim_lease(db_session, FIRST, NOW + 10 * SECOND, DURATION)
    assert renewed.decision is LeaseDecision.RENEW
    assert renewed.is_held
    row = _row(db_session)
    assert row.acquired_at == NOW  # since when it leads
    assert (row.heartbeat_at, row.expires_at) == (NOW + 10 * SECOND, NOW + 40 * SECOND)
    assert row.version == 2  # the standby wrote nothing

    # just before the renewed expiry, still the holder's
    late = claim_lease(db_session, SECOND_ONE, NOW + 39 * SECOND, DURATION)
    assert late.decision is LeaseDecision.STANDBY


def test_a_standby_takes_over_an_expired_lease_and_the_old_holder_then_stands_by(
    db_session: Session,
) -> None:
    claim_lease(db_session, FIRST, NOW, DURATION)

    takeover = claim_lease(db_session, SECOND_ONE, NOW + DURATION, DURATION)
    assert takeover.decision is LeaseDecision.ACQUIRE_EXPIRED
    assert takeover.is_held
    assert takeover.previous is not None
    assert takeover.previous.holder == FIRST
    assert takeover.previous.heartbeat_at == NOW  # the dead leader's last sign of life
    row = _row(db_session)
    assert (row.holder_host, row.holder_pid) == ("sched-2", 4202)
    assert row.acquired_at == NOW + DURATION

    # the old holder comes back (it was only cut off): the lease is not its own any more
    back = claim_lease(db_session, FIRST, NOW + DURATION + SECOND, DURATION)
    assert back.decision is LeaseDecision.STANDBY
    assert not back.is_held
    assert not holds_lease(db_session, FIRST, NOW + DURATION + SECOND)
    assert holds_lease(db_session, SECOND_ONE, NOW + DURATION + SECOND)


def test_a_released_lease_is_free_at_once(db_session: Session) -> None:
    claim_lease(db_session, FIRST, NOW, DURATION)
    assert not release_lease(db_session, SECOND_ONE, NOW + SECOND)  # not its to release
    assert holds_lease(db_session, FIRST, NOW + SECOND)

    assert release_lease(db_session, FIRST, NOW + 2 * SECOND)
    row = _row(db_session)
    assert (row.holder_host, row.holder_pid, row.holder_instance) == (None, None, None)
    assert row.heartbeat_at == NOW + 2 * SECOND  # when it was let go
    assert not holds_lease(db_session, FIRST, NOW + 2 * SECOND)
    assert not release_lease(db_session, FIRST, NOW + 3 * SECOND)  # released already

    taken = claim_lease(db_session, SECOND_ONE, NOW + 3 * SECOND, DURATION)  # long before expiry
    assert taken.decision is LeaseDecision.ACQUIRE_FREE
    assert taken.is_held
    assert taken.previous == LeaseState(None, None, NOW + 2 * SECOND, NOW + 2 * SECOND)


def test_holds_lease_is_false_once_the_lease_has_expired(db_session: Session) -> None:
    assert not holds_lease(db_session, FIRST, NOW)  # no row yet
    claim_lease(db_session, FIRST, NOW, DURATION)
    assert holds_lease(db_session, FIRST, NOW + DURATION - SECOND)
    assert not holds_lease(db_session, FIRST, NOW + DURATION)
    assert not holds_lease(db_session, SECOND_ONE, NOW)


def test_a_claim_that_loses_the_race_between_read_and_write_stands_by(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process writes the row after this one read it: the compare-and-set finds a newer
    version and writes nothing, and the claim reports the winner."""
    claim_lease(db_session, FIRST, NOW, DURATION)
    decide = leases.decide_lease

    def decide_then_lose(state: LeaseState | None, now: dt.datetime, instance: str):  # type: ignore[no-untyped-def]  # the patched rule
        decision = decide(state, now, instance)
        monkeypatch.setattr(leases, "decide_lease", decide)
        claim_lease(db_session, SECOND_ONE, now, DURATION)  # the other process, in between
        return decision

    monkeypatch.setattr(leases, "decide_lease", decide_then_lose)
    third = LeaseHolder(Runner("sched-3", 4303), "3333cccc")
    lost = claim_lease(db_session, third, NOW + DURATION, DURATION)

    assert lost.decision is LeaseDecision.ACQUIRE_EXPIRED  # what it decided on what it read
    assert not lost.is_held
    assert lost.state is not None
    assert lost.state.holder == SECOND_ONE
    assert _row(db_session).holder_instance == SECOND_ONE.instance


def test_the_first_row_inserted_by_another_in_between_makes_a_standby(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = leases.decide_lease

    def decide_then_lose(state: LeaseState | None, now: dt.datetime, instance: str):  # type: ignore[no-untyped-def]  # the patched rule
        decision = decide(state, now, instance)
        monkeypatch.setattr(leases, "decide_lease", decide)
        claim_lease(db_session, SECOND_ONE, now, DURATION)
        return decision

    monkeypatch.setattr(leases, "decide_lease", decide_then_lose)
    lost = claim_lease(db_session, FIRST, NOW, DURATION)

    assert lost.decision is LeaseDecision.ACQUIRE_FREE
    assert not lost.is_held
    assert lost.state is not None
    assert lost.state.holder == SECOND_ONE


def test_current_holder(db_session: Session) -> None:
    nobody = current_holder(db_session, NOW)
    assert (nobody.holder, nobody.heartbeat_age, nobody.state) == (None, None, None)

    claim_lease(db_session, FIRST, NOW, DURATION)
    leading = current_holder(db_session, NOW + 12 * SECOND)
    assert leading.holder == FIRST
    assert leading.heartbeat_age == 12 * SECOND

    expired = current_holder(db_session, NOW + DURATION)
    assert expired.holder is None  # it stopped renewing: nobody leads
    assert expired.heartbeat_age == DURATION
    assert expired.state is not None
    assert expired.state.holder == FIRST  # who it was

    release_lease(db_session, FIRST, NOW + DURATION + SECOND)
    free = current_holder(db_session, NOW + DURATION + 3 * SECOND)
    assert free.holder is None
    assert free.heartbeat_age == 2 * SECOND


def test_current_holder_defaults_to_the_database_clock(db_session: Session) -> None:
    now = database_now(db_session)
    claim_lease(db_session, FIRST, now, DURATION)
    found = current_holder(db_session)
    assert found.holder == FIRST
    assert found.heartbeat_age is not None
    assert dt.timedelta(0) <= found.heartbeat_age < 5 * SECOND
    assert found.now >= now


def test_database_now_is_the_database_servers_clock_not_the_pinned_one(
    db_session: Session,
) -> None:
    """The suite pins the app's clock to NOW; the lease's clock is the database's (here the
    same machine's system clock), which the pin does not move."""
    try:
        app_clock.unpin()
        before = app_clock.utcnow()
        moment = database_now(db_session)
        after = app_clock.utcnow()
    finally:
        app_clock.pin(NOW)
    assert moment.tzinfo is not None
    assert moment.utcoffset() == dt.timedelta(0)
    assert before - SECOND <= moment <= after + SECOND
    assert database_now(db_session) >= moment
