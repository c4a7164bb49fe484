"""Assistive devices on the database: catalogue, loans, returns, overdue loans, spending."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import (
    AuditEvent,
    DeviceLoan,
    DeviceProvision,
    DeviceType,
    EntitlementStatus,
    Role,
)
from careapp.services import devices as svc
from careapp.services.actor import Actor
from careapp.services.devices import (
    DEFAULT_DEVICE_TYPES,
    DeviceTypeInput,
    LoanFilter,
    LoanInput,
    ReturnInput,
)
from tests.factories import (
    NOW,
    TODAY,
    DeviceLoanFactory,
    DeviceTypeFactory,
    DistrictFactory,
    EntitlementFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def assessor(db_session: Session) -> Actor:
    user = UserFactory(assessor=True)
    return Actor(user_id=user.id, role=Role.ASSESSOR, address="127.0.0.1")


@pytest.fixture
def wheelchair(db_session: Session) -> DeviceType:
    device: DeviceType = DeviceTypeFactory(stock=2)
    return device


@pytest.fixture
def entitlement(db_session: Session) -> Any:
    return EntitlementFactory()  # active since 2026-11-21


def loan_input(device: DeviceType, **changes: Any) -> LoanInput:
    values: dict[str, Any] = {
        "device_type_id": device.id,
        "starts_on": TODAY,
        "due_on": None,
        "serial_number": "WC-0001",
    }
    return LoanInput(**(values | changes))


def device_input(**changes: Any) -> DeviceTypeInput:
    values: dict[str, Any] = {
        "code": "shower_chair",
        "name_zh": "洗澡椅",
        "name_en": "Shower chair",
        "provision": DeviceProvision.LOAN,
        "subsidy_fen": 12_050,
        "max_loan_days": 90,
        "stock": 4,
    }
    return DeviceTypeInput(**(values | changes))


def events(db_session: Session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- catalogue -------------------------------------------------------------------------------


def test_ensure_device_catalogue_loads_the_defaults_once(db_session: Session) -> None:
    first = svc.ensure_device_catalogue(db_session)
    assert [d.code for d in first] == [spec.code for spec in DEFAULT_DEVICE_TYPES]
    first[0].subsidy_fen = 1  # an administrator's edit survives a second load
    second = svc.ensure_device_catalogue(db_session)
    assert [d.id for d in second] == [d.id for d in first]
    assert second[0].subsidy_fen == 1
    by_code = {d.code: d for d in second}
    assert by_code["wheelchair"].provision is DeviceProvision.LOAN
    assert by_code["wheelchair"].stock is not None
    assert by_code["commode"].provision is DeviceProvision.PURCHASE_SUBSIDY
    assert by_code["commode"].stock is None
    assert {"care_bed", "anti_pressure_mattress", "walker"} <= set(by_code)


def test_list_device_catalogue_counts_loans_and_stock_left(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    commode = DeviceTypeFactory(purchase=True)
    withdrawn = DeviceTypeFactory(code="walker", is_active=False)
    DeviceLoanFactory(device_type=wheelchair)
    DeviceLoanFactory(device_type=wheelchair, returned=True)
    rows = {row.device.code: row for row in svc.list_device_catalogue(db_session, admin_actor)}
    assert (rows["wheelchair"].on_loan, rows["wheelchair"].available) == (1, 1)
    assert rows["commode"].available is None
    assert rows["walker"].device is withdrawn
    active = svc.list_device_catalogue(db_session, admin_actor, active_only=True)
    assert {row.device.code for row in active} == {"wheelchair", commode.code}


def test_create_device_type_stores_and_audits(db_session: Session, admin_actor: Actor) -> None:
    device = svc.create_device_type(
        db_session, admin_actor, device_input(code=" Shower_Chair "), NOW
    )
    assert (device.code, device.subsidy_fen, device.max_loan_days, device.stock) == (
        "shower_chair",
        12_050,
        90,
        4,
    )
    [event] = events(db_session, "device_type.create")
    assert event.object_id == device.id
    assert event.detail["subsidy_fen"] == 12_050


def test_create_purchase_subsidy_has_no_loan_duration_or_stock(
    db_session: Session, admin_actor: Actor
) -> None:
    device = svc.create_device_type(
        db_session, admin_actor, device_input(provision=DeviceProvision.PURCHASE_SUBSIDY), NOW
    )
    assert (device.max_loan_days, device.stock) == (None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "带中文"}, "code"),
        ({"code": "with space"}, "code"),
        ({"code": "x" * 41}, "code"),
        ({"name_zh": "  "}, "name_zh"),
        ({"name_en": ""}, "name_en"),
        ({"subsidy_fen": None}, "subsidy_yuan"),
        ({"subsidy_fen": -1}, "subsidy_yuan"),
        ({"max_loan_days": None}, "max_loan_days"),
        ({"max_loan_days": 0}, "max_loan_days"),
        ({"stock": None}, "stock"),
        ({"stock": -1}, "stock"),
    ],
)
def test_create_device_type_refuses_bad_input(
    db_session: Session, admin_actor: Actor, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        svc.create_device_type(db_session, admin_actor, device_input(**changes), NOW)
    assert caught.value.field == field
    assert db_session.scalar(select(DeviceType).where(DeviceType.name_zh == "洗澡椅")) is None


def test_create_device_type_refuses_a_used_code(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    with pytest.raises(ConflictError, match="wheelchair"):
        svc.create_device_type(db_session, admin_actor, device_input(code="wheelchair"), NOW)


def test_create_device_type_same_code_at_the_same_moment_is_a_conflict(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two administrators saving the same code at once: the unique constraint decides."""
    monkeypatch.setattr(svc, "_code_taken", lambda session, code: False)
    with pytest.raises(ConflictError, match="wheelchair"):
        svc.create_device_type(db_session, admin_actor, device_input(code="wheelchair"), NOW)
    assert events(db_session, "device_type.create") == []
    assert wheelchair.stock == 2  # the session is still usable


def test_update_device_type_changes_figures_but_not_past_loans(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair)
    changed = device_input(
        code="ignored",
        provision=DeviceProvision.PURCHASE_SUBSIDY,  # ignored too: fixed once created
        name_zh="轮椅（新）",
        subsidy_fen=45_000,
        max_loan_days=200,
        stock=9,
    )
    device = svc.update_device_type(db_session, admin_actor, wheelchair.id, changed, NOW)
    assert (device.code, device.provision) == ("wheelchair", DeviceProvision.LOAN)
    assert (device.name_zh, device.subsidy_fen, device.max_loan_days, device.stock) == (
        "轮椅（新）",
        45_000,
        200,
        9,
    )
    db_session.expire_all()
    assert db_session.get(DeviceLoan, loan.id).subsidy_fen == 30_000  # type: ignore[union-attr]  # it exists
    [event] = events(db_session, "device_type.update")
    assert event.detail["subsidy_fen"] == [30_000, 45_000]
    assert "code" not in event.detail


def test_update_device_type_refuses_stock_below_the_devices_on_loan(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    DeviceLoanFactory(device_type=wheelchair)
    DeviceLoanFactory(device_type=wheelchair)
    with pytest.raises(InvalidInputError, match="2 of these devices") as caught:
        svc.update_device_type(db_session, admin_actor, wheelchair.id, device_input(stock=1), NOW)
    assert caught.value.field == "stock"


def test_update_and_get_unknown_device_type_is_not_found(
    db_session: Session, admin_actor: Actor
) -> None:
    with pytest.raises(NotFoundError):
        svc.update_device_type(db_session, admin_actor, 999_999, device_input(), NOW)
    with pytest.raises(NotFoundError):
        svc.get_device_type(db_session, admin_actor, 999_999)
    with pytest.raises(NotFoundError):
        svc.set_device_type_active(db_session, admin_actor, 999_999, False, NOW)


def test_deactivate_and_reactivate_are_audited_once(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    svc.set_device_type_active(db_session, admin_actor, wheelchair.id, False, NOW)
    svc.set_device_type_active(db_session, admin_actor, wheelchair.id, False, NOW)  # no change
    assert wheelchair.is_active is False
    assert len(events(db_session, "device_type.deactivate")) == 1
    svc.set_device_type_active(db_session, admin_actor, wheelchair.id, True, NOW)
    assert wheelchair.is_active is True
    assert len(events(db_session, "device_type.activate")) == 1


# --- loans -----------------------------------------------------------------------------------


def test_record_device_loan_copies_the_catalogue_and_audits(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType, entitlement: Any
) -> None:
    loan = svc.record_device_loan(
        db_session, admin_actor, entitlement.person_id, loan_input(wheelchair), NOW
    )
    assert loan.entitlement_id == entitlement.id
    assert loan.provision is DeviceProvision.LOAN
    assert (loan.subsidy_fen, loan.max_loan_days) == (30_000, 180)
    assert loan.due_on == TODAY + dt.timedelta(days=180)
    assert loan.serial_number == "WC-0001"
    assert loan.recorded_by_id == admin_actor.user_id
    assert loan.is_open
    [event] = events(db_session, "device_loan.create")
    assert event.object_id == loan.id
    assert event.detail["subsidy_fen"] == 30_000
    assert event.detail["device_type"] == "wheelchair"
    # The catalogue changes afterwards; the loan keeps what it was given.
    svc.update_device_type(db_session, admin_actor, wheelchair.id, device_input(subsidy_fen=1), NOW)
    db_session.expire_all()
    assert db_session.get(DeviceLoan, loan.id).subsidy_fen == 30_000  # type: ignore[union-attr]  # it exists


def test_record_device_loan_with_a_due_date_and_no_serial(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType, entitlement: Any
) -> None:
    due = TODAY + dt.timedelta(days=30)
    loan = svc.record_device_loan(
        db_session,
        admin_actor,
        entitlement.person_id,
        loan_input(wheelchair, due_on=due, serial_number="  "),
        NOW,
    )
    assert (loan.due_on, loan.serial_number) == (due, None)


def test_purchase_subsidy_has_no_due_date_and_no_stock(
    db_session: Session, admin_actor: Actor, entitlement: Any
) -> None:
    commode = DeviceTypeFactory(purchase=True)
    loan = svc.record_device_loan(
        db_session, admin_actor, entitlement.person_id, loan_input(commode, due_on=TODAY), NOW
    )
    assert loan.provision is DeviceProvision.PURCHASE_SUBSIDY
    assert (loan.due_on, loan.subsidy_fen, loan.is_open) == (None, 20_000, False)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"due_on": TODAY - dt.timedelta(days=1)}, "due_on", "before the start"),
        ({"due_on": TODAY + dt.timedelta(days=181)}, "due_on", "longer than"),
        ({"device_type_id": None}, "device_type_id", "Choose a device"),
        ({"device_type_id": 999_999}, "device_type_id", "Choose a device"),
        ({"starts_on": None}, "starts_on", "start date"),
        ({"serial_number": "S" * 61}, "serial_number", "at most 60"),
    ],
)
def test_record_device_loan_refuses_bad_input(
    db_session: Session,
    admin_actor: Actor,
    wheelchair: DeviceType,
    entitlement: Any,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        svc.record_device_loan(
            db_session, admin_actor, entitlement.person_id, loan_input(wheelchair, **changes), NOW
        )
    assert caught.value.field == field
    assert db_session.scalars(select(DeviceLoan)).all() == []


def test_record_device_loan_refuses_without_an_active_entitlement(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    person = PersonFactory()
    with pytest.raises(ConflictError, match="no active entitlement"):
        svc.record_device_loan(db_session, admin_actor, person.id, loan_input(wheelchair), NOW)
    ended = EntitlementFactory(status=EntitlementStatus.ENDED, ends_on=TODAY)
    with pytest.raises(ConflictError, match="no active entitlement"):
        svc.record_device_loan(
            db_session, admin_actor, ended.person_id, loan_input(wheelchair), NOW
        )


def test_refusals_are_translated(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    open_loan = DeviceLoanFactory(device_type=wheelchair)
    with force_locale("zh"), pytest.raises(ConflictError) as caught:
        svc.record_device_loan(
            db_session, admin_actor, open_loan.person_id, loan_input(wheelchair), NOW
        )
    assert caught.value.message == f"{open_loan.person.name}已借用一件轮椅，尚未归还。"


def test_record_device_loan_refuses_a_start_outside_the_entitlement(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    entitlement = EntitlementFactory(ends_on=dt.date(2026, 12, 31))
    before = loan_input(wheelchair, starts_on=entitlement.starts_on - dt.timedelta(days=1))
    with pytest.raises(ConflictError) as caught:
        svc.record_device_loan(db_session, admin_actor, entitlement.person_id, before, NOW)
    assert caught.value.field == "starts_on"
    after = loan_input(wheelchair, starts_on=dt.date(2026, 12, 31))
    with pytest.raises(ConflictError):
        svc.record_device_loan(db_session, admin_actor, entitlement.person_id, after, NOW)
    last_day = loan_input(wheelchair, starts_on=dt.date(2026, 12, 30))
    assert svc.record_device_loan(db_session, admin_actor, entitlement.person_id, last_day, NOW).id


def test_record_device_loan_refuses_when_out_of_stock(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    DeviceLoanFactory(device_type=wheelchair)
    DeviceLoanFactory(device_type=wheelchair)  # stock 2: both out
    entitlement = EntitlementFactory()
    with pytest.raises(ConflictError, match="No Wheelchair is left in stock") as caught:
        svc.record_device_loan(
            db_session, admin_actor, entitlement.person_id, loan_input(wheelchair), NOW
        )
    assert caught.value.field == "device_type_id"


def test_a_returned_device_can_be_lent_again(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    first = DeviceLoanFactory(device_type=wheelchair)
    DeviceLoanFactory(device_type=wheelchair)
    svc.record_device_return(db_session, admin_actor, first.id, ReturnInput(TODAY, "完好"), NOW)
    entitlement = EntitlementFactory()
    loan = svc.record_device_loan(
        db_session, admin_actor, entitlement.person_id, loan_input(wheelchair), NOW
    )
    assert loan.is_open


def test_record_device_loan_refuses_the_same_device_type_twice(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    open_loan = DeviceLoanFactory(device_type=wheelchair)
    with pytest.raises(ConflictError, match="already has") as caught:
        svc.record_device_loan(
            db_session, admin_actor, open_loan.person_id, loan_input(wheelchair), NOW
        )
    assert caught.value.field == "device_type_id"
    # Another device type is fine.
    bed = DeviceTypeFactory(code="care_bed", name_zh="护理床", name_en="Care bed")
    assert svc.record_device_loan(
        db_session, admin_actor, open_loan.person_id, loan_input(bed), NOW
    )


def test_same_device_lent_twice_at_the_same_moment_is_a_conflict(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check passed in both sessions: the partial unique index refuses the second loan."""
    open_loan = DeviceLoanFactory(device_type=wheelchair)
    monkeypatch.setattr(svc, "_open_loan_id", lambda session, person_id, type_id: None)
    with pytest.raises(ConflictError, match="already has"):
        svc.record_device_loan(
            db_session, admin_actor, open_loan.person_id, loan_input(wheelchair), NOW
        )
    assert events(db_session, "device_loan.create") == []
    assert len(db_session.scalars(select(DeviceLoan)).all()) == 1


def test_record_device_loan_refuses_a_withdrawn_device_type(
    db_session: Session, admin_actor: Actor, entitlement: Any
) -> None:
    withdrawn = DeviceTypeFactory(is_active=False)
    with pytest.raises(ConflictError, match="no longer offered"):
        svc.record_device_loan(
            db_session, admin_actor, entitlement.person_id, loan_input(withdrawn), NOW
        )


def test_record_device_loan_for_an_unknown_person_is_not_found(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    with pytest.raises(NotFoundError):
        svc.record_device_loan(db_session, admin_actor, 999_999, loan_input(wheelchair), NOW)


def test_database_allows_one_open_loan_per_person_and_device_type(
    db_session: Session, wheelchair: DeviceType
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair, returned=True)
    DeviceLoanFactory(device_type=wheelchair, entitlement=loan.entitlement)  # after a return: ok
    with pytest.raises(IntegrityError), db_session.begin_nested():
        DeviceLoanFactory(device_type=wheelchair, entitlement=loan.entitlement)


def test_database_refuses_a_due_date_before_the_start(
    db_session: Session, wheelchair: DeviceType
) -> None:
    with pytest.raises(IntegrityError), db_session.begin_nested():
        DeviceLoanFactory(device_type=wheelchair, due_on=dt.date(2026, 11, 20))


# --- returns ---------------------------------------------------------------------------------


def test_record_device_return_closes_the_loan_and_audits(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair, due_on=dt.date(2026, 11, 22))
    svc.record_device_return(
        db_session, admin_actor, loan.id, ReturnInput(TODAY, " 扶手松动 "), NOW
    )
    assert (loan.returned_on, loan.return_condition) == (TODAY, "扶手松动")
    assert loan.returned_by_id == admin_actor.user_id
    assert not loan.is_open
    [event] = events(db_session, "device_loan.return")
    assert event.detail == {"returned_on": "2026-11-23", "condition": "扶手松动", "overdue": True}


@pytest.mark.parametrize(
    ("returned_on", "condition", "field", "message"),
    [
        (dt.date(2026, 11, 20), "完好", "returned_on", "before the loan started"),
        (TODAY + dt.timedelta(days=1), "完好", "returned_on", "future"),
        (None, "完好", "returned_on", "return date"),
        (TODAY, "   ", "condition", "condition"),
        (TODAY, "x" * 201, "condition", "condition"),
    ],
)
def test_record_device_return_refuses_bad_input(
    db_session: Session,
    admin_actor: Actor,
    returned_on: dt.date | None,
    condition: str,
    field: str,
    message: str,
) -> None:
    loan = DeviceLoanFactory()  # started 2026-11-21
    with pytest.raises(InvalidInputError, match=message) as caught:
        svc.record_device_return(
            db_session, admin_actor, loan.id, ReturnInput(returned_on, condition), NOW
        )
    assert caught.value.field == field
    assert loan.returned_on is None


def test_record_device_return_refuses_twice_a_purchase_and_unknown(
    db_session: Session, admin_actor: Actor
) -> None:
    returned = DeviceLoanFactory(returned=True)
    with pytest.raises(ConflictError, match="returned on 2026-11-22"):
        svc.record_device_return(
            db_session, admin_actor, returned.id, ReturnInput(TODAY, "好"), NOW
        )
    bought = DeviceLoanFactory(device_type=DeviceTypeFactory(purchase=True))
    with pytest.raises(ConflictError, match="not returned"):
        svc.record_device_return(db_session, admin_actor, bought.id, ReturnInput(TODAY, "好"), NOW)
    with pytest.raises(NotFoundError):
        svc.record_device_return(db_session, admin_actor, 999_999, ReturnInput(TODAY, "好"), NOW)
    with pytest.raises(NotFoundError):
        svc.get_device_loan(db_session, admin_actor, 999_999)


# --- lists -----------------------------------------------------------------------------------


@pytest.fixture
def loans(db_session: Session, wheelchair: DeviceType) -> dict[str, DeviceLoan]:
    wheelchair.stock = 10
    bed = DeviceTypeFactory(code="care_bed", name_zh="护理床", name_en="Care bed")
    return {
        "open": DeviceLoanFactory(device_type=wheelchair),
        "overdue": DeviceLoanFactory(device_type=bed, due_on=dt.date(2026, 11, 22)),
        "due_today": DeviceLoanFactory(device_type=wheelchair, due_on=TODAY),
        "returned": DeviceLoanFactory(device_type=wheelchair, returned=True),
        "purchase": DeviceLoanFactory(device_type=DeviceTypeFactory(purchase=True)),
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (LoanFilter.OPEN, ["overdue", "due_today", "open"]),  # soonest due first
        (LoanFilter.OVERDUE, ["overdue"]),
        (LoanFilter.RETURNED, ["returned"]),
        (LoanFilter.PURCHASE, ["purchase"]),
    ],
)
def test_list_device_loans_by_status(
    db_session: Session,
    admin_actor: Actor,
    loans: dict[str, DeviceLoan],
    status: LoanFilter,
    expected: list[str],
) -> None:
    page = svc.list_device_loans(db_session, admin_actor, status, NOW)
    assert [loan.id for loan in page.loans] == [loans[name].id for name in expected]
    assert page.has_more is False
    assert [page.overdue(loan) for loan in page.loans] == [name == "overdue" for name in expected]


def test_list_device_loans_pages(
    db_session: Session, admin_actor: Actor, loans: dict[str, DeviceLoan]
) -> None:
    first = svc.list_device_loans(db_session, admin_actor, LoanFilter.OPEN, NOW, limit=2)
    second = svc.list_device_loans(db_session, admin_actor, LoanFilter.OPEN, NOW, limit=2, offset=2)
    assert (len(first.loans), first.has_more) == (2, True)
    assert (len(second.loans), second.has_more) == (1, False)


def test_overdue_device_loans(
    db_session: Session, admin_actor: Actor, loans: dict[str, DeviceLoan]
) -> None:
    assert svc.overdue_device_loans(db_session, admin_actor, NOW) == [loans["overdue"]]


def test_person_devices_lists_newest_first_with_the_entitlement(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    old = DeviceLoanFactory(device_type=wheelchair, returned=True)
    new = DeviceLoanFactory(
        device_type=wheelchair,
        entitlement=old.entitlement,
        starts_on=dt.date(2026, 11, 22),
        due_on=dt.date(2026, 11, 22),
    )
    found = svc.person_devices(db_session, admin_actor, old.person_id, NOW)
    assert found.loans == [new, old]
    assert found.entitlement is old.entitlement
    assert found.overdue(new)
    assert not found.overdue(old)
    with pytest.raises(NotFoundError):
        svc.person_devices(db_session, admin_actor, 999_999, NOW)


# --- spending --------------------------------------------------------------------------------


def test_device_subsidies_for_month_counts_the_start_month(
    db_session: Session, admin_actor: Actor, wheelchair: DeviceType
) -> None:
    district = DistrictFactory(code="320623", name_zh="如东县", name_en="Rudong County")
    entitlement = EntitlementFactory(
        decision__assessment__application__person__district=district,
        starts_on=dt.date(2026, 10, 1),
    )
    wheelchair.stock = 10
    october = DeviceLoanFactory(device_type=wheelchair, starts_on=dt.date(2026, 10, 31))
    first = DeviceLoanFactory(
        device_type=wheelchair, entitlement=entitlement, starts_on=dt.date(2026, 11, 1)
    )
    bought = DeviceLoanFactory(
        device_type=DeviceTypeFactory(purchase=True),
        entitlement=entitlement,
        starts_on=dt.date(2026, 11, 30),
    )
    returned = DeviceLoanFactory(device_type=wheelchair, returned=True)  # 11-21, counted too
    DeviceLoanFactory(device_type=wheelchair, starts_on=dt.date(2026, 12, 1))
    wheelchair.subsidy_fen = 1  # a later catalogue edit changes nothing already recorded
    lines = svc.device_subsidies_for_month(db_session, dt.date(2026, 11, 1))
    assert [line.loan_id for line in lines] == [first.id, returned.id, bought.id]
    head = lines[0]
    assert (head.person_id, head.district_code, head.device_type_code) == (
        entitlement.person_id,
        "320623",
        "wheelchair",
    )
    assert (head.amount_fen, head.on, head.provision) == (
        30_000,
        dt.date(2026, 11, 1),
        DeviceProvision.LOAN,
    )
    assert lines[2].amount_fen == 20_000
    assert sum(line.amount_fen for line in lines) == 80_000
    october_lines = svc.device_subsidies_for_month(db_session, dt.date(2026, 10, 1))
    assert [line.loan_id for line in october_lines] == [october.id]


def test_device_subsidies_for_month_crosses_the_year(
    db_session: Session, wheelchair: DeviceType
) -> None:
    entitlement = EntitlementFactory(starts_on=dt.date(2026, 12, 1))
    december = DeviceLoanFactory(
        device_type=wheelchair, entitlement=entitlement, starts_on=dt.date(2026, 12, 31)
    )
    assert [
        line.loan_id for line in svc.device_subsidies_for_month(db_session, dt.date(2026, 12, 1))
    ] == [december.id]
    assert svc.device_subsidies_for_month(db_session, dt.date(2027, 1, 1)) == []


def test_device_subsidies_for_month_wants_the_first_day(db_session: Session) -> None:
    with pytest.raises(ValueError, match="first day"):
        svc.device_subsidies_for_month(db_session, dt.date(2026, 11, 2))


# --- roles -----------------------------------------------------------------------------------


def test_only_administrators_manage_devices(
    db_session: Session, assessor: Actor, wheelchair: DeviceType, entitlement: Any
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair)
    calls = [
        lambda: svc.list_device_catalogue(db_session, assessor),
        lambda: svc.get_device_type(db_session, assessor, wheelchair.id),
        lambda: svc.create_device_type(db_session, assessor, device_input(), NOW),
        lambda: svc.update_device_type(db_session, assessor, wheelchair.id, device_input(), NOW),
        lambda: svc.set_device_type_active(db_session, assessor, wheelchair.id, False, NOW),
        lambda: svc.person_devices(db_session, assessor, entitlement.person_id, NOW),
        lambda: svc.record_device_loan(
            db_session, assessor, entitlement.person_id, loan_input(wheelchair), NOW
        ),
        lambda: svc.get_device_loan(db_session, assessor, loan.id),
        lambda: svc.record_device_return(
            db_session, assessor, loan.id, ReturnInput(TODAY, "好"), NOW
        ),
        lambda: svc.list_device_loans(db_session, assessor, LoanFilter.OPEN, NOW),
        lambda: svc.overdue_device_loans(db_session, assessor, NOW),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError):
            call()
    assert wheelchair.is_active
    assert loan.returned_on is None
