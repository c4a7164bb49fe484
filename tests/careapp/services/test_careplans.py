"""Care plans and the service catalogue on the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import (
    AuditEvent,
    CarePlan,
    CareSetting,
    EntitlementStatus,
    ProviderKind,
    Role,
    ServiceItem,
)
from careapp.services.actor import Actor
from careapp.services.careplans import (
    CarePlanInput,
    care_plan_cost,
    care_plan_options,
    create_care_plan,
    get_care_plan,
    max_visit_days_in_month,
)
from careapp.services.catalogue import DEFAULT_SERVICE_ITEMS, ensure_service_catalogue
from scheduling.quality import ProviderStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    CarePlanFactory,
    DistrictFactory,
    EntitlementFactory,
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
)


@pytest.fixture
def entitlement(db_session: Session) -> Any:
    return EntitlementFactory()  # severe, home service, 1,200 yuan a month, district 320602


def plan_input(provider: Any, items: dict[str, ServiceItem], **changes: Any) -> CarePlanInput:
    base: dict[str, Any] = {
        "provider_id": provider.id,
        "service_item_ids": [items["hair_washing"].id, items["oral_care"].id],
        "weekdays": [1, 3, 5],
        "window_start": dt.time(9, 0),
        "window_end": dt.time(11, 0),
        "preferred_caregiver_id": None,
    }
    return CarePlanInput(**(base | changes))


def refusal(
    db_session: Session, admin_actor: Actor, entitlement: Any, data: CarePlanInput
) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        create_care_plan(db_session, admin_actor, entitlement.id, data, NOW)
    assert db_session.scalars(select(CarePlan)).all() == []
    return caught.value


# --- catalogue ------------------------------------------------------------------------------


def test_ensure_service_catalogue_is_idempotent(db_session: Session) -> None:
    first = ensure_service_catalogue(db_session)
    second = ensure_service_catalogue(db_session)
    assert [item.id for item in first] == [item.id for item in second]
    assert len(first) == len(DEFAULT_SERVICE_ITEMS) == 9
    codes = {item.code for item in first}
    assert {"bathing", "pressure_sore_care", "rehabilitation_exercise"} <= codes


def test_ensure_service_catalogue_keeps_existing_items(db_session: Session) -> None:
    existing = ServiceItemFactory(unit_price_fen=9900)  # code "bathing", as the factory makes it
    items = {item.code: item for item in ensure_service_catalogue(db_session)}
    assert items["bathing"] is existing
    assert items["bathing"].unit_price_fen == 9900


def test_default_service_items_are_sane() -> None:
    for spec in DEFAULT_SERVICE_ITEMS:
        assert 30 <= spec.duration_minutes <= 90
        assert 2000 <= spec.unit_price_fen <= 10000
        assert spec.name_zh
        assert spec.name_en


# --- visit days -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weekdays", "days"),
    [
        ([], 0),
        ([1], 5),
        ([7], 5),
        ([1, 3, 5], 14),
        ([1, 2, 3], 15),
        ([6, 7, 1], 15),
        ([2, 4, 6, 7], 18),
        ([1, 2, 3, 4, 5, 6, 7], 31),
    ],
)
def test_max_visit_days_in_month(weekdays: list[int], days: int) -> None:
    assert max_visit_days_in_month(weekdays) == days


# --- creating a plan --------------------------------------------------------------------------


def test_create_care_plan_stores_plan_and_audits(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    caregiver = CaregiverFactory(provider=provider, qualifications=["daily_care"])
    plan = create_care_plan(
        db_session,
        admin_actor,
        entitlement.id,
        plan_input(provider, items, weekdays=[5, 1, 3, 3], preferred_caregiver_id=caregiver.id),
        NOW,
    )
    assert plan.entitlement_id == entitlement.id
    assert plan.person_id == entitlement.person_id
    assert plan.provider_id == provider.id
    assert plan.preferred_caregiver_id == caregiver.id
    assert plan.weekdays == [1, 3, 5]
    assert plan.starts_on == TODAY
    assert plan.is_active
    assert sorted(entry.service_item.code for entry in plan.items) == ["hair_washing", "oral_care"]
    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "careplan.create")
    ).one()
    assert event.object_id == plan.id
    assert event.detail["monthly_fen"] == 4000 * 14
    cost = care_plan_cost(plan)
    assert (cost.per_visit_fen, cost.max_visit_days, cost.monthly_fen, cost.budget_fen) == (
        4000,
        14,
        56_000,
        120_000,
    )


def test_create_care_plan_starts_with_a_future_entitlement(
    db_session: Session, admin_actor: Actor, provider: Any, items: Any
) -> None:
    later = EntitlementFactory(starts_on=TODAY + dt.timedelta(days=10))
    plan = create_care_plan(db_session, admin_actor, later.id, plan_input(provider, items), NOW)
    assert plan.starts_on == TODAY + dt.timedelta(days=10)


def test_create_care_plan_over_budget_names_both_amounts(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    data = plan_input(
        provider, items, service_item_ids=[items["bathing"].id], weekdays=[1, 2, 3, 4, 5, 6, 7]
    )
    error = refusal(db_session, admin_actor, entitlement, data)
    assert error.field == "service_item_ids"
    assert "2,480.00" in error.message  # 31 visits x 80 yuan
    assert "1,200.00" in error.message


def test_create_care_plan_exactly_at_budget_is_accepted(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    # Bathing (80 yuan) on Mon-Wed: at most 15 visits, 1,200 yuan: exactly the budget.
    data = plan_input(provider, items, service_item_ids=[items["bathing"].id], weekdays=[1, 2, 3])
    plan = create_care_plan(db_session, admin_actor, entitlement.id, data, NOW)
    assert care_plan_cost(plan).monthly_fen == 120_000


def test_create_care_plan_budget_comes_from_entitlement(
    db_session: Session, admin_actor: Actor, provider: Any, items: Any
) -> None:
    small = EntitlementFactory(monthly_budget_fen=50_000)
    error = refusal(db_session, admin_actor, small, plan_input(provider, items))
    assert "560.00" in error.message
    assert "500.00" in error.message


def test_create_care_plan_provider_not_serving_district_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, items: Any
) -> None:
    elsewhere = ProviderFactory(
        districts=[DistrictFactory(code="320623", name_zh="如东县", name_en="Rudong County")]
    )
    error = refusal(db_session, admin_actor, entitlement, plan_input(elsewhere, items))
    assert error.field == "provider_id"
    assert "崇川区" in error.message


@pytest.mark.parametrize("status", [ProviderStatus.SUSPENDED, ProviderStatus.EXITED])
def test_create_care_plan_suspended_or_exited_provider_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, items: Any, status: ProviderStatus
) -> None:
    error = refusal(
        db_session, admin_actor, entitlement, plan_input(ProviderFactory(status=status), items)
    )
    assert error.field == "provider_id"


def test_create_care_plan_warned_provider_still_serves(
    db_session: Session, admin_actor: Actor, entitlement: Any, items: Any
) -> None:
    warned = ProviderFactory(status=ProviderStatus.WARNED)
    plan = create_care_plan(db_session, admin_actor, entitlement.id, plan_input(warned, items), NOW)
    assert plan.provider_id == warned.id


def test_create_care_plan_institution_provider_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, items: Any
) -> None:
    home = ProviderFactory(kind=ProviderKind.ELDERLY_CARE_INSTITUTION)
    error = refusal(db_session, admin_actor, entitlement, plan_input(home, items))
    assert error.field == "provider_id"


@pytest.mark.parametrize("provider_id", [None, 999_999])
def test_create_care_plan_missing_provider_is_refused(
    db_session: Session,
    admin_actor: Actor,
    entitlement: Any,
    provider: Any,
    items: Any,
    provider_id: int | None,
) -> None:
    error = refusal(
        db_session, admin_actor, entitlement, plan_input(provider, items, provider_id=provider_id)
    )
    assert error.field == "provider_id"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_item_ids": []}, "service_item_ids"),
        ({"service_item_ids": [999_999]}, "service_item_ids"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [0, 1]}, "weekdays"),
        ({"weekdays": [1, 8]}, "weekdays"),
        ({"window_start": None}, "window_start"),
        ({"window_end": None}, "window_end"),
        ({"window_start": dt.time(6, 30)}, "window_start"),
        ({"window_end": dt.time(20, 30)}, "window_end"),
        ({"window_start": dt.time(11, 0), "window_end": dt.time(11, 0)}, "window_end"),
        ({"window_start": dt.time(12, 0), "window_end": dt.time(11, 0)}, "window_end"),
        ({"window_start": dt.time(9, 0), "window_end": dt.time(9, 59)}, "window_end"),
    ],
)
def test_create_care_plan_bad_input_is_refused_on_its_field(
    db_session: Session,
    admin_actor: Actor,
    entitlement: Any,
    provider: Any,
    items: Any,
    changes: dict[str, Any],
    field: str,
) -> None:
    error = refusal(db_session, admin_actor, entitlement, plan_input(provider, items, **changes))
    assert error.field == field
    assert error.message


def test_create_care_plan_window_exactly_long_enough(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    data = plan_input(provider, items, window_start=dt.time(19, 0), window_end=dt.time(20, 0))
    assert create_care_plan(
        db_session, admin_actor, entitlement.id, data, NOW
    ).window_end == dt.time(20, 0)


def test_create_care_plan_window_too_short_names_minutes(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    data = plan_input(provider, items, window_start=dt.time(9, 0), window_end=dt.time(9, 45))
    error = refusal(db_session, admin_actor, entitlement, data)
    assert "60" in error.message
    assert "45" in error.message


def test_create_care_plan_caregiver_of_another_provider_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    stranger = CaregiverFactory()  # of another provider
    data = plan_input(provider, items, preferred_caregiver_id=stranger.id)
    assert refusal(db_session, admin_actor, entitlement, data).field == "preferred_caregiver_id"


def test_create_care_plan_unknown_caregiver_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    data = plan_input(provider, items, preferred_caregiver_id=999_999)
    assert refusal(db_session, admin_actor, entitlement, data).field == "preferred_caregiver_id"


def test_create_care_plan_caregiver_without_qualification_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    caregiver = CaregiverFactory(provider=provider, qualifications=["daily_care"])
    data = plan_input(
        provider,
        items,
        service_item_ids=[items["oral_care"].id, items["catheter_care"].id],
        preferred_caregiver_id=caregiver.id,
    )
    error = refusal(db_session, admin_actor, entitlement, data)
    assert error.field == "preferred_caregiver_id"
    assert caregiver.name in error.message


def test_create_care_plan_disabled_caregiver_is_refused(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    caregiver = CaregiverFactory(provider=provider, is_enabled=False)
    data = plan_input(provider, items, preferred_caregiver_id=caregiver.id)
    assert refusal(db_session, admin_actor, entitlement, data).field == "preferred_caregiver_id"


def test_create_care_plan_qualified_caregiver_for_nursing_items(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    nurse = CaregiverFactory(provider=provider, qualifications=["daily_care", "nursing"])
    data = plan_input(
        provider,
        items,
        service_item_ids=[items["pressure_sore_care"].id],
        preferred_caregiver_id=nurse.id,
    )
    assert create_care_plan(
        db_session, admin_actor, entitlement.id, data, NOW
    ).preferred_caregiver == (nurse)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": EntitlementStatus.ENDED, "ends_on": dt.date(2026, 11, 22)},
        {"care_setting": CareSetting.ELDERLY_CARE_INSTITUTION, "monthly_budget_fen": None},
        {"monthly_budget_fen": None},
    ],
)
def test_create_care_plan_entitlement_that_cannot_have_a_plan(
    db_session: Session, admin_actor: Actor, provider: Any, items: Any, changes: dict[str, Any]
) -> None:
    other = EntitlementFactory(**changes)
    with pytest.raises(ConflictError):
        create_care_plan(db_session, admin_actor, other.id, plan_input(provider, items), NOW)
    assert db_session.scalars(select(CarePlan)).all() == []


def test_create_care_plan_one_active_plan_per_entitlement(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    create_care_plan(db_session, admin_actor, entitlement.id, plan_input(provider, items), NOW)
    with pytest.raises(ConflictError):
        create_care_plan(db_session, admin_actor, entitlement.id, plan_input(provider, items), NOW)
    assert len(db_session.scalars(select(CarePlan)).all()) == 1


def test_create_care_plan_only_admins_and_known_entitlements(
    db_session: Session, entitlement: Any, provider: Any, items: Any
) -> None:
    manager = Actor(user_id=UserFactory(manager=True).id, role=Role.PROVIDER_MANAGER)
    with pytest.raises(PermissionDeniedError):
        create_care_plan(db_session, manager, entitlement.id, plan_input(provider, items), NOW)
    admin = Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN)
    with pytest.raises(NotFoundError):
        create_care_plan(db_session, admin, 999_999, plan_input(provider, items), NOW)


# --- reading --------------------------------------------------------------------------------


def test_care_plan_options_lists_only_eligible_providers(
    db_session: Session, admin_actor: Actor, entitlement: Any, provider: Any, items: Any
) -> None:
    warned = ProviderFactory(name="警告中", status=ProviderStatus.WARNED)
    CaregiverFactory(provider=warned, name="甲")
    ProviderFactory(status=ProviderStatus.SUSPENDED)
    ProviderFactory(kind=ProviderKind.MEDICAL_CARE_INSTITUTION)
    ProviderFactory(districts=[DistrictFactory(code="320623", name_zh="如东县", name_en="Rudong")])
    options = care_plan_options(db_session, admin_actor, entitlement.id)
    assert {p.id for p in options.providers} == {provider.id, warned.id}
    assert [c.name for p in options.providers if p is warned for c in p.caregivers] == ["甲"]
    assert len(options.service_items) == 9
    assert options.existing_plan_id is None
    assert options.entitlement is entitlement


def test_care_plan_options_points_to_existing_plan(
    db_session: Session, admin_actor: Actor, entitlement: Any
) -> None:
    plan = CarePlanFactory(entitlement=entitlement)
    assert care_plan_options(db_session, admin_actor, entitlement.id).existing_plan_id == plan.id


def test_care_plan_options_refuses_non_home_service(
    db_session: Session, admin_actor: Actor
) -> None:
    other = EntitlementFactory(care_setting=CareSetting.HOME_CASH, monthly_budget_fen=None)
    with pytest.raises(ConflictError):
        care_plan_options(db_session, admin_actor, other.id)


def test_get_care_plan(db_session: Session, admin_actor: Actor) -> None:
    plan = CarePlanFactory()
    assert get_care_plan(db_session, admin_actor, plan.id) is plan
    with pytest.raises(NotFoundError):
        get_care_plan(db_session, admin_actor, 999_999)
    with pytest.raises(PermissionDeniedError):
        get_care_plan(db_session, Actor(user_id=1, role=Role.CAREGIVER), plan.id)
