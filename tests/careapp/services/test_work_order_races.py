"""Races on PostgreSQL: managers and an administrator answering one work order at the same time.

Like test_roster_races, these tests build their own database (committed rows seen by many
connections) and drop it afterwards.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from careapp.access import Actor
from careapp.db import Base
from careapp.errors import ConflictError, InvalidInputError
from careapp.models import ProviderStatus, Role
from careapp.services.work_orders import (
    WorkOrderRules,
    answer_offer,
    assign_provider,
    open_exit_work_orders,
)
from tests import factories
from tests.conftest import NOW
from tests.factories import CaregiverFactory, ProviderFactory, UserFactory, provider_care_plan

pytestmark = pytest.mark.postgres_only

RULES = WorkOrderRules()
ADMIN = Actor(user_id=None, role=Role.ADMIN, address="race")


@pytest.fixture
def race_engine(app: Flask) -> Iterator[Engine]:
    url = make_url(os.environ["CAREAPP_DATABASE_URL"])
    name = f"careapp_work_order_race_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name), pool_size=20, max_overflow=0)
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_together(app: Flask, jobs: list[Callable[[], str]]) -> list[str]:
    start = threading.Barrier(len(jobs))
    results = [""] * len(jobs)

    def worker(index: int) -> None:
        with app.app_context(), force_locale("en"):
            start.wait(timeout=30)
            try:
                results[index] = jobs[index]()
            except Exception as error:
                results[index] = f"unexpected {type(error).__name__}: {error}"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results


def test_concurrent_answers_and_assignment_have_one_winner(app: Flask, race_engine: Engine) -> None:
    with Session(race_engine, expire_on_commit=False) as session:
        factories.bind(session)
        try:
            leaving = ProviderFactory()
            CaregiverFactory(provider=leaving)
            taker = ProviderFactory()
            CaregiverFactory(provider=taker)
            other = ProviderFactory()
            CaregiverFactory(provider=other)
            plan = provider_care_plan(leaving)
            managers = [UserFactory(manager=True, provider=taker) for _ in range(4)]
            session.flush()
            leaving.status = ProviderStatus.EXITED
            with app.app_context():
                [order] = open_exit_work_orders(session, ADMIN, [leaving.id], RULES, NOW)
            offer = order.offers[0]
            # The rotation (equal weights, ties by id) offers it to the taker first.
            assert offer.provider_id == taker.id
            session.commit()
            ids = (order.id, offer.id, plan.id, other.id)
        finally:
            factories.bind(None)
    order_id, offer_id, plan_id, other_id = ids

    def manager(user_id: int, accept: bool) -> Callable[[], str]:
        actor = Actor(user_id=user_id, role=Role.PROVIDER_MANAGER, provider_id=taker.id)

        def run() -> str:
            with Session(race_engine) as session:
                try:
                    answer_offer(
                        session,
                        actor,
                        offer_id,
                        accept=accept,
                        refusal_reason="busy",
                        rules=RULES,
                        now=NOW,
                    )
                except ConflictError as error:
                    session.rollback()
                    return f"refused: {error.message}"
                session.commit()
                return "accepted" if accept else "declined"

        return run

    def administrator() -> str:
        with Session(race_engine) as session:
            try:
                assign_provider(session, ADMIN, order_id, other_id, RULES, NOW)
            except (ConflictError, InvalidInputError) as error:
                session.rollback()  # closed, or offered to `other` after a refusal
                return f"refused: {error.message}"
            session.commit()
            return "assigned"

    jobs = [manager(m.id, accept=i != 3) for i, m in enumerate(managers)] + [administrator]
    results = _run_together(app, jobs)
    assert [r for r in results if r.startswith("unexpected")] == []
    outcome = Counter(r.split(":")[0] for r in results)
    # The offer is answered once: an acceptance, or a refusal (then the order goes on to the
    # next provider), or the administrator's assignment first; never two winners.
    assert outcome["accepted"] + outcome["declined"] <= 1
    assert outcome["accepted"] + outcome["assigned"] <= 1
    assert outcome["accepted"] + outcome["declined"] + outcome["assigned"] >= 1
    assert (
        outcome["refused"]
        == len(jobs) - outcome["accepted"] - outcome["declined"] - outcome["assigned"]
    )
    with race_engine.connect() as connection:
        accepted = connection.scalar(
            text(
                "SELECT count(*) FROM work_order_offers WHERE work_order_id = :o "
                "AND status = 'accepted'"
            ),
            {"o": order_id},
        )
        pending = connection.scalar(
            text(
                "SELECT count(*) FROM work_order_offers WHERE work_order_id = :o "
                "AND status = 'pending'"
            ),
            {"o": order_id},
        )
        assert accepted == outcome["accepted"] + outcome["assigned"]
        assert accepted + pending == 1
        new_plans = connection.scalar(
            text(
                "SELECT count(*) FROM care_plans WHERE is_active AND entitlement_id = "
                "(SELECT entitlement_id FROM care_plans WHERE id = :p)"
            ),
            {"p": plan_id},
        )
        assert new_plans == 1  # the old plan or exactly one successor, never two
        if accepted:
            status = connection.scalar(
                text("SELECT status FROM work_orders WHERE id = :o"), {"o": order_id}
            )
            assert status == "accepted"
