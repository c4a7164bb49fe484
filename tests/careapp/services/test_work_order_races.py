"""Races on PostgreSQL: managers and an administrator answering one work order at the same time.

Like the other race tests, these commit real rows in a database of their own (tests/races.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, InvalidInputError
from careapp.models import Role
from careapp.services.actor import Actor
from careapp.services.work_orders import (
    WorkOrderRules,
    answer_offer,
    assign_provider,
    open_exit_work_orders,
)
from scheduling.quality import ProviderStatus
from tests.factories import NOW, CaregiverFactory, ProviderFactory, UserFactory, provider_care_plan
from tests.races import attempt, race_engine_fixture, run_together, seeding

pytestmark = pytest.mark.postgres_only

RULES = WorkOrderRules()

race_engine = race_engine_fixture(pool_size=20)


def test_concurrent_answers_and_assignment_have_one_winner(app: Flask, race_engine: Engine) -> None:
    with seeding(race_engine) as session:
        leaving = ProviderFactory()
        CaregiverFactory(provider=leaving)
        taker = ProviderFactory()
        CaregiverFactory(provider=taker)
        other = ProviderFactory()
        CaregiverFactory(provider=other)
        plan = provider_care_plan(leaving)
        managers = [UserFactory(manager=True, provider=taker) for _ in range(4)]
        admin_id = UserFactory(admin=True).id
        session.flush()
        leaving.status = ProviderStatus.EXITED
        admin = Actor(user_id=admin_id, role=Role.ADMIN, address="race")
        with app.app_context():
            [order] = open_exit_work_orders(session, admin, [leaving.id], RULES, NOW)
        offer = order.offers[0]
        # The rotation (equal weights, ties by id) offers it to the taker first.
        assert offer.provider_id == taker.id
        ids = (order.id, offer.id, plan.id, other.id)
    order_id, offer_id, plan_id, other_id = ids

    def manager(user_id: int, accept: bool) -> Callable[[], str]:
        actor = Actor(user_id=user_id, role=Role.PROVIDER_MANAGER, provider_id=taker.id)

        def answer(session: Session) -> object:
            return answer_offer(
                session,
                actor,
                offer_id,
                accept=accept,
                refusal_reason="busy",
                rules=RULES,
                now=NOW,
            )

        return lambda: attempt(race_engine, answer, "accepted" if accept else "declined")

    def administrator() -> str:
        # Refused when closed, or when offered to `other` after a refusal.
        return attempt(
            race_engine,
            lambda s: assign_provider(s, admin, order_id, other_id, RULES, NOW),
            "assigned",
            refused=(ConflictError, InvalidInputError),
        )

    jobs = [manager(m.id, accept=i != 3) for i, m in enumerate(managers)] + [administrator]
    results = run_together(app, jobs)
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
