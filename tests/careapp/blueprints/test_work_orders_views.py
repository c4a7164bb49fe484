"""Work-order pages: the administrator opens, follows and settles orders; managers answer."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import (
    CarePlan,
    OfferBasis,
    OfferStatus,
    ServiceItem,
    WorkOrder,
    WorkOrderOffer,
    WorkOrderStatus,
)
from careapp.services.catalogue import ensure_service_catalogue
from scheduling.quality import ProviderStatus
from tests.factories import CaregiverFactory, EntitlementFactory, ProviderFactory, UserFactory


def home_provider(**overrides: Any) -> Any:
    provider = ProviderFactory(**overrides)
    CaregiverFactory(provider=provider)
    return provider


def the_order(db_session: Session) -> WorkOrder:
    db_session.expire_all()
    return db_session.scalars(select(WorkOrder)).one()


def pending(db_session: Session, order: WorkOrder) -> WorkOrderOffer:
    return db_session.scalars(
        select(WorkOrderOffer).where(
            WorkOrderOffer.work_order_id == order.id, WorkOrderOffer.status == OfferStatus.PENDING
        )
    ).one()


@pytest.mark.usefixtures("english")
def test_new_client_from_offer_to_care_plan(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    ensure_service_catalogue(db_session)
    chosen, other = home_provider(name="甲公司"), home_provider(name="乙公司")
    entitlement = EntitlementFactory()
    admin = UserFactory(admin=True)
    login_as(admin)
    page = client.get(f"/entitlements/{entitlement.id}/care-plan/new").get_data(as_text=True)
    assert "Find a provider" in page
    page = client.get(f"/entitlements/{entitlement.id}/work-orders/new").get_data(as_text=True)
    assert "甲公司" in page
    response = client.post(
        f"/entitlements/{entitlement.id}/work-orders/new",
        data={"reason": "new_client", "family_choice_provider_id": str(chosen.id)},
    )
    assert response.status_code == 302
    order = the_order(db_session)
    offer = pending(db_session, order)
    assert (offer.provider_id, offer.basis) == (chosen.id, OfferBasis.FAMILY_CHOICE)
    # A second "new" lands on the open order.
    again = client.get(f"/entitlements/{entitlement.id}/work-orders/new")
    assert again.headers["Location"].endswith(f"/work-orders/{order.id}")

    # The chosen company's manager refuses, first without a reason.
    login_as(UserFactory(manager=True, provider=chosen))
    page = client.get("/my-offers").get_data(as_text=True)
    assert f'data-testid="offer-{offer.id}"' in page
    response = client.post(f"/my-offers/{offer.id}/refuse", data={"refusal_reason": ""})
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)
    response = client.post(f"/my-offers/{offer.id}/refuse", data={"refusal_reason": "No staff"})
    assert response.status_code == 302
    second = pending(db_session, the_order(db_session))
    assert second.provider_id == other.id
    # Another company's offer is not theirs to answer.
    assert client.post(f"/my-offers/{second.id}/accept").status_code == 404
    assert f'data-testid="offer-{second.id}"' not in client.get("/my-offers").get_data(as_text=True)

    login_as(UserFactory(manager=True, provider=other))
    assert client.post(f"/my-offers/{second.id}/accept").status_code == 302
    response = client.post(f"/my-offers/{second.id}/accept")  # twice: a form error, not a 500
    assert response.status_code == 409
    assert 'data-testid="offer-error"' in response.get_data(as_text=True)
    assert the_order(db_session).status is WorkOrderStatus.ACCEPTED

    login_as(admin)
    page = client.get(f"/work-orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="make-plan"' in page
    assert "No staff" in page
    page = client.get(f"/entitlements/{entitlement.id}/care-plan/new").get_data(as_text=True)
    assert "乙公司" in page
    assert "甲公司" not in page  # the accepted provider only
    item = db_session.scalars(select(ServiceItem).order_by(ServiceItem.id)).first()
    data = {
        "provider_id": str(other.id),
        "service_item_ids": [str(item.id)],
        "weekdays": ["1", "3"],
        "window_start": "09:00",
        "window_end": "11:30",
        "preferred_caregiver_id": "",
    }
    response = client.post(f"/entitlements/{entitlement.id}/care-plan/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = db_session.scalars(select(CarePlan)).one()
    assert plan.provider_id == other.id
    assert the_order(db_session).new_care_plan_id == plan.id


@pytest.mark.usefixtures("english")
def test_care_plan_for_another_provider_than_the_accepted_one_is_a_form_error(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    ensure_service_catalogue(db_session)
    accepted, other = home_provider(), home_provider()
    entitlement = EntitlementFactory()
    login_as(UserFactory(admin=True))
    client.post(f"/entitlements/{entitlement.id}/work-orders/new", data={"reason": "new_client"})
    order = the_order(db_session)
    client.post(f"/work-orders/{order.id}/assign", data={"assign-provider_id": str(accepted.id)})
    assert the_order(db_session).accepted_provider_id == accepted.id
    item = db_session.scalars(select(ServiceItem).order_by(ServiceItem.id)).first()
    response = client.post(
        f"/entitlements/{entitlement.id}/care-plan/new",
        data={
            "provider_id": str(other.id),
            "service_item_ids": [str(item.id)],
            "weekdays": ["1"],
            "window_start": "09:00",
            "window_end": "11:30",
            "preferred_caregiver_id": "",
        },
    )
    assert response.status_code == 400
    assert db_session.scalars(select(CarePlan)).all() == []


@pytest.mark.usefixtures("english")
def test_escalated_order_heads_the_list_and_is_assigned_directly(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    suspended = home_provider(status=ProviderStatus.SUSPENDED, name="停业公司")
    login_as(UserFactory(admin=True))
    older = EntitlementFactory()
    client.post(f"/entitlements/{older.id}/work-orders/new", data={"reason": "new_client"})
    [order] = db_session.scalars(select(WorkOrder)).all()
    assert order.status is WorkOrderStatus.ESCALATED  # nobody serves
    page = client.get(f"/work-orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="escalated"' in page
    assert "停业公司" in page
    response = client.post(
        f"/work-orders/{order.id}/assign", data={"assign-provider_id": str(suspended.id)}
    )
    assert response.status_code == 400
    assert "suspended" in response.get_data(as_text=True)
    assert client.post(f"/work-orders/{order.id}/assign", data={}).status_code == 400
    response = client.post(
        f"/work-orders/{order.id}/family-choice", data={"choice-provider_id": str(suspended.id)}
    )
    assert response.status_code == 400
    active = home_provider(name="新公司")
    response = client.post(
        f"/work-orders/{order.id}/assign", data={"assign-provider_id": str(active.id)}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert order.status is WorkOrderStatus.ACCEPTED
    assert order.offers[0].basis is OfferBasis.ADMINISTRATOR
    page = client.get("/work-orders").get_data(as_text=True)
    assert f'data-testid="work-order-{order.id}"' in page
    # A closed order takes no more actions: a form error, not a 500.
    assert client.post(f"/work-orders/{order.id}/cancel").status_code == 409


def test_family_choice_and_cancel_from_the_detail_page_in_chinese(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    home_provider()
    entitlement = EntitlementFactory()
    login_as(UserFactory(admin=True))
    client.post(f"/entitlements/{entitlement.id}/work-orders/new", data={"reason": "new_client"})
    order = the_order(db_session)
    first = pending(db_session, order)
    chosen = home_provider(name="家属选择公司")
    page = client.get(f"/work-orders/{order.id}")
    assert page.status_code == 200
    assert "家属选择公司" in page.get_data(as_text=True)
    response = client.post(
        f"/work-orders/{order.id}/family-choice", data={"choice-provider_id": str(chosen.id)}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert first.status is OfferStatus.WITHDRAWN
    assert pending(db_session, order).provider_id == chosen.id
    assert client.post(f"/work-orders/{order.id}/cancel").status_code == 302
    assert the_order(db_session).status is WorkOrderStatus.CANCELLED
    assert client.get("/work-orders/999999").status_code == 404


@pytest.mark.parametrize("path", ["/work-orders", "/my-offers"])
def test_pages_render_for_their_role_with_no_orders(
    db_session: Session, client: FlaskClient, login_as: Any, path: str
) -> None:
    user = UserFactory(admin=True) if path == "/work-orders" else UserFactory(manager=True)
    login_as(user)
    assert client.get(path).status_code == 200


@pytest.mark.usefixtures("english")
def test_roster_page_alerts_the_manager_of_an_offer(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    provider = home_provider()
    login_as(UserFactory(admin=True))
    entitlement = EntitlementFactory()
    client.post(f"/entitlements/{entitlement.id}/work-orders/new", data={"reason": "new_client"})
    login_as(UserFactory(manager=True, provider=provider))
    page = client.get("/roster").get_data(as_text=True)
    assert "A new client is offered to you" in page
    assert 'data-testid="answer-offer-' in page


@pytest.mark.usefixtures("english")
def test_refusing_an_answered_offer_shows_the_error(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    provider = home_provider()
    login_as(UserFactory(admin=True))
    entitlement = EntitlementFactory()
    client.post(f"/entitlements/{entitlement.id}/work-orders/new", data={"reason": "new_client"})
    offer = pending(db_session, the_order(db_session))
    login_as(UserFactory(manager=True, provider=provider))
    assert client.post(f"/my-offers/{offer.id}/accept").status_code == 302
    response = client.post(f"/my-offers/{offer.id}/refuse", data={"refusal_reason": "late"})
    assert response.status_code == 409
    assert "already been answered" in response.get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_the_offer_reminder_leaves_the_roster_page_once_accepted(
    db_session: Session, client: FlaskClient, login_as: Any
) -> None:
    provider = home_provider()
    login_as(UserFactory(admin=True))
    entitlement = EntitlementFactory()
    client.post(f"/entitlements/{entitlement.id}/work-orders/new", data={"reason": "new_client"})
    offer = pending(db_session, the_order(db_session))
    login_as(UserFactory(manager=True, provider=provider))
    assert "A new client is offered to you" in client.get("/roster").get_data(as_text=True)
    assert client.post(f"/my-offers/{offer.id}/accept").status_code == 302
    page = client.get("/roster").get_data(as_text=True)
    assert "A new client is offered to you" not in page
    assert 'data-testid="answer-offer-' not in page
