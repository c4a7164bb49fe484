"""The device pages: catalogue, a person's devices, loans by status, record a loan and a return."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.blueprints.devices.forms import yuan_to_fen
from careapp.models import AuditEvent, DeviceLoan, DeviceType
from tests.conftest import Statements
from tests.factories import (
    TODAY,
    DeviceLoanFactory,
    DeviceTypeFactory,
    EntitlementFactory,
    PersonFactory,
    UserFactory,
)


@pytest.fixture
def wheelchair(db_session: Session) -> DeviceType:
    device: DeviceType = DeviceTypeFactory(stock=1)
    return device


def loans(db_session: Session) -> list[DeviceLoan]:
    return list(db_session.scalars(select(DeviceLoan)))


def audit_count(db_session: Session) -> int:
    return len(db_session.scalars(select(AuditEvent)).all())


@pytest.mark.parametrize(
    ("text", "fen"),
    [("300", 30_000), ("12.5", 1250), ("0.05", 5), (" 1200.00 ", 120_000), ("0", 0)],
)
def test_yuan_to_fen_is_exact(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", None, "-1", "1.234", "1e3", "abc", "1,000"])
def test_yuan_to_fen_refuses_non_amounts(text: str | None) -> None:
    assert yuan_to_fen(text) is None


@pytest.mark.usefixtures("english")
def test_catalogue_lists_devices_with_stock(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    DeviceLoanFactory(device_type=wheelchair)
    DeviceTypeFactory(purchase=True)
    html = admin_client.get("/devices").get_data(as_text=True)
    assert "轮椅 · Wheelchair" in html
    assert "Commode chair" in html
    assert "Purchase subsidy" in html
    assert "300.00" in html
    assert 'class="badge badge-warn">0</span> / 1' in html  # the only wheelchair is out


def test_catalogue_in_chinese(db_session: Session, login_as: Any, wheelchair: DeviceType) -> None:
    client = login_as(UserFactory(admin=True))
    client.post("/lang/zh")
    refresh()
    html = client.get("/devices").get_data(as_text=True)
    assert "辅助器具目录" in html
    assert "借用" in html


@pytest.mark.usefixtures("english")
def test_new_device_type_is_stored(db_session: Session, admin_client: FlaskClient) -> None:
    response = admin_client.post(
        "/devices/new",
        data={
            "code": "shower_chair",
            "name_zh": "洗澡椅",
            "name_en": "Shower chair",
            "provision": "loan",
            "subsidy_yuan": "120.50",
            "max_loan_days": "90",
            "stock": "4",
        },
    )
    assert response.status_code == 302
    device = db_session.scalar(select(DeviceType).where(DeviceType.code == "shower_chair"))
    assert device is not None
    assert (device.subsidy_fen, device.max_loan_days, device.stock) == (12_050, 90, 4)


@pytest.mark.usefixtures("english")
def test_new_device_type_shows_the_services_refusal_on_its_field(
    db_session: Session, admin_client: FlaskClient
) -> None:
    data = {
        "code": "shower_chair",
        "name_zh": "洗澡椅",
        "name_en": "Shower chair",
        "provision": "loan",
        "subsidy_yuan": "120",
        "stock": "4",
    }
    response = admin_client.post("/devices/new", data=data)
    assert response.status_code == 400
    assert "A lent device needs a maximum loan duration" in response.get_data(as_text=True)
    bad_amount = admin_client.post("/devices/new", data=data | {"subsidy_yuan": "12.345"})
    assert bad_amount.status_code == 400
    assert "Enter an amount in yuan" in bad_amount.get_data(as_text=True)
    assert db_session.scalar(select(DeviceType).where(DeviceType.code == "shower_chair")) is None


@pytest.mark.usefixtures("english")
def test_edit_device_type_keeps_past_loans(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair)
    page = admin_client.get(f"/devices/{wheelchair.id}/edit").get_data(as_text=True)
    assert 'value="300.00"' in page
    response = admin_client.post(
        f"/devices/{wheelchair.id}/edit",
        data={
            "name_zh": "轮椅",
            "name_en": "Wheelchair",
            "subsidy_yuan": "450",
            "max_loan_days": "180",
            "stock": "3",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert wheelchair.subsidy_fen == 45_000
    assert db_session.get(DeviceLoan, loan.id).subsidy_fen == 30_000  # type: ignore[union-attr]  # it exists


@pytest.mark.usefixtures("english")
def test_edit_device_type_refuses_stock_below_loans(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    DeviceLoanFactory(device_type=wheelchair)
    response = admin_client.post(
        f"/devices/{wheelchair.id}/edit",
        data={
            "name_zh": "轮椅",
            "name_en": "Wheelchair",
            "subsidy_yuan": "300",
            "max_loan_days": "180",
            "stock": "0",
        },
    )
    assert response.status_code == 400
    assert "out on loan; the stock cannot be lower" in response.get_data(as_text=True)
    db_session.expire_all()
    assert wheelchair.stock == 1


@pytest.mark.usefixtures("english")
def test_withdraw_and_offer_again(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    response = admin_client.post(f"/devices/{wheelchair.id}/active", data={"is_active": "0"})
    assert response.status_code == 302
    db_session.expire_all()
    assert wheelchair.is_active is False
    assert "no longer offered" in admin_client.get("/devices").get_data(as_text=True)
    admin_client.post(f"/devices/{wheelchair.id}/active", data={"is_active": "1"})
    db_session.expire_all()
    assert wheelchair.is_active is True
    bad = admin_client.post(f"/devices/{wheelchair.id}/active", data={"is_active": "maybe"})
    assert bad.status_code == 302
    assert "nothing was changed" in admin_client.get("/devices").get_data(as_text=True)


@pytest.mark.usefixtures("english")
def test_person_page_links_to_devices(db_session: Session, admin_client: FlaskClient) -> None:
    entitlement = EntitlementFactory()
    html = admin_client.get(f"/people/{entitlement.person_id}").get_data(as_text=True)
    assert f'href="/people/{entitlement.person_id}/devices"' in html


@pytest.mark.usefixtures("english")
def test_record_a_loan_then_its_return(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    entitlement = EntitlementFactory()
    DeviceTypeFactory(purchase=True)
    DeviceTypeFactory(code="walker", name_en="Walker", is_active=False)
    url = f"/people/{entitlement.person_id}/devices/new"
    form = admin_client.get(url).get_data(as_text=True)
    assert "Wheelchair — loan up to 180 days, subsidy 300.00 yuan, 1 in stock" in form
    assert "Commode chair — purchase subsidy 200.00 yuan" in form
    assert "Walker" not in form  # withdrawn: not offered
    response = admin_client.post(
        url,
        data={
            "device_type_id": str(wheelchair.id),
            "starts_on": TODAY.isoformat(),
            "due_on": "",
            "serial_number": "WC-77",
        },
    )
    assert response.status_code == 302
    [loan] = loans(db_session)
    assert (loan.due_on, loan.subsidy_fen) == (TODAY + dt.timedelta(days=180), 30_000)
    page = admin_client.get(f"/people/{entitlement.person_id}/devices").get_data(as_text=True)
    assert "WC-77" in page
    assert f"/device-loans/{loan.id}/return" in page
    returned = admin_client.post(
        f"/device-loans/{loan.id}/return",
        data={"returned_on": TODAY.isoformat(), "condition": "完好"},
    )
    assert returned.status_code == 302
    db_session.expire_all()
    assert loan.returned_on == TODAY
    again = admin_client.get(f"/device-loans/{loan.id}/return").get_data(as_text=True)
    assert "This device was returned on" in again


@pytest.mark.parametrize(
    ("setup", "changes", "message", "status"),
    [
        ("no_entitlement", {}, "has no active entitlement", 409),
        ("out_of_stock", {}, "is left in stock", 409),
        ("already_on_loan", {}, "already has a Wheelchair on loan", 409),
        ("", {"due_on": "2026-11-01"}, "The due date cannot be before the start date.", 400),
        ("", {"due_on": "2027-12-01"}, "longer than this device type allows", 400),
        ("", {"starts_on": ""}, "This field is required.", 400),
    ],
)
@pytest.mark.usefixtures("english")
def test_record_loan_refusals_write_nothing(
    db_session: Session,
    admin_client: FlaskClient,
    wheelchair: DeviceType,
    setup: str,
    changes: dict[str, str],
    message: str,
    status: int,
) -> None:
    person_id = EntitlementFactory().person_id
    if setup == "no_entitlement":
        person_id = PersonFactory().id
    elif setup == "out_of_stock":
        DeviceLoanFactory(device_type=wheelchair)
    elif setup == "already_on_loan":
        wheelchair.stock = 5
        person_id = DeviceLoanFactory(device_type=wheelchair).person_id
    before = (len(loans(db_session)), audit_count(db_session))
    data = {
        "device_type_id": str(wheelchair.id),
        "starts_on": TODAY.isoformat(),
        "due_on": "",
        "serial_number": "",
    }
    response = admin_client.post(f"/people/{person_id}/devices/new", data=data | changes)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert (len(loans(db_session)), audit_count(db_session)) == before


@pytest.mark.usefixtures("english")
def test_record_return_refusals(db_session: Session, admin_client: FlaskClient) -> None:
    loan = DeviceLoanFactory()  # started 2026-11-21
    # Made before any request: the test client's requests share one session and transaction.
    bought = DeviceLoanFactory(device_type=DeviceTypeFactory(purchase=True))
    url = f"/device-loans/{loan.id}/return"
    before = admin_client.post(url, data={"returned_on": "2026-11-20", "condition": "完好"})
    assert before.status_code == 400
    assert "before the loan started" in before.get_data(as_text=True)
    future = admin_client.post(url, data={"returned_on": "2026-12-01", "condition": "完好"})
    assert "cannot be in the future" in future.get_data(as_text=True)
    empty = admin_client.post(url, data={"returned_on": TODAY.isoformat(), "condition": ""})
    assert empty.status_code == 400
    db_session.expire_all()
    assert loan.returned_on is None
    page = admin_client.get(f"/device-loans/{bought.id}/return").get_data(as_text=True)
    assert "A purchase subsidy is not returned." in page
    refused = admin_client.post(
        f"/device-loans/{bought.id}/return",
        data={"returned_on": TODAY.isoformat(), "condition": "完好"},
    )
    assert refused.status_code == 409
    assert admin_client.get("/device-loans/999999/return").status_code == 404


@pytest.mark.usefixtures("english")
def test_loan_list_filters_and_marks_overdue(
    db_session: Session, admin_client: FlaskClient, wheelchair: DeviceType
) -> None:
    wheelchair.stock = 10
    late = DeviceLoanFactory(device_type=wheelchair, due_on=dt.date(2026, 11, 22))
    current = DeviceLoanFactory(device_type=wheelchair)
    back = DeviceLoanFactory(device_type=wheelchair, returned=True)
    open_page = admin_client.get("/device-loans").get_data(as_text=True)
    assert f'data-testid="loan-{late.id}"' in open_page
    assert f'data-testid="loan-{current.id}"' in open_page
    assert f'data-testid="loan-{back.id}"' not in open_page
    assert open_page.count(">Overdue</span>") == 1
    overdue = admin_client.get("/device-loans?status=overdue").get_data(as_text=True)
    assert f'data-testid="loan-{late.id}"' in overdue
    assert f'data-testid="loan-{current.id}"' not in overdue
    returned = admin_client.get("/device-loans?status=returned").get_data(as_text=True)
    assert f'data-testid="loan-{back.id}"' in returned
    assert "完好" in returned
    unknown = admin_client.get("/device-loans?status=nonsense").get_data(as_text=True)
    assert f'data-testid="loan-{current.id}"' in unknown  # falls back to the open loans


@pytest.mark.usefixtures("english")
def test_loan_list_queries_are_bounded(
    db_session: Session,
    admin_client: FlaskClient,
    wheelchair: DeviceType,
    count_queries: Statements,
) -> None:
    wheelchair.stock = 50

    def queries(url: str) -> int:
        with count_queries.counted() as sent:
            assert admin_client.get(url).status_code == 200
        return len(sent)

    for _ in range(7):
        DeviceLoanFactory(device_type=wheelchair)
    queries("/device-loans")  # warm up: the first request also loads the user
    seven = queries("/device-loans")
    assert seven <= 6
    for _ in range(5):
        DeviceLoanFactory(device_type=wheelchair)
    assert queries("/device-loans") == seven


@pytest.mark.parametrize(
    "url",
    ["/devices", "/devices/new", "/device-loans"],
)
def test_other_roles_get_403(db_session: Session, login_as: Any, url: str) -> None:
    client = login_as(UserFactory(assessor=True))
    assert client.get(url).status_code == 403


def test_other_roles_cannot_record(
    db_session: Session, login_as: Any, wheelchair: DeviceType
) -> None:
    loan = DeviceLoanFactory(device_type=wheelchair)
    client = login_as(UserFactory(manager=True))
    data = {"device_type_id": str(wheelchair.id), "starts_on": TODAY.isoformat()}
    assert client.post(f"/people/{loan.person_id}/devices/new", data=data).status_code == 403
    returned = {"returned_on": TODAY.isoformat(), "condition": "完好"}
    assert client.post(f"/device-loans/{loan.id}/return", data=returned).status_code == 403
    assert (
        client.post(f"/devices/{wheelchair.id}/active", data={"is_active": "0"}).status_code == 403
    )
    db_session.expire_all()
    assert loan.returned_on is None
    assert wheelchair.is_active
