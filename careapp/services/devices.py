"""Assistive devices (辅助器具): the catalogue, loans to beneficiaries, returns, device spending.

The default catalogue follows the spec's examples (`benefits.md`: wheelchairs, care beds,
commodes); the figures are configurable data (placeholders, not official prices). Administrators
edit the catalogue; a loan copies the figures it used, so an edit never rewrites a past loan.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select
from sqlalchemy.sql.base import ExecutableOption

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.core.money import format_yuan
from careapp.eligibility.devices import (
    DUE_BEFORE_START,
    RETURN_BEFORE_START,
    available_stock,
    check_loan_dates,
    check_return_date,
    default_due_on,
    is_overdue,
    stock_covers_loans,
)
from careapp.models.devices import DeviceLoan, DeviceProvision, DeviceType
from careapp.models.eligibility import Entitlement, EntitlementStatus
from careapp.models.people import Person
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.i18n import localized
from scheduling.months import next_month

CODE_MAX = 40
NAME_MAX = 100
SERIAL_MAX = 60
CONDITION_MAX = 200


@dataclass(frozen=True)
class DeviceTypeSpec:
    code: str
    name_zh: str
    name_en: str
    provision: DeviceProvision
    subsidy_fen: int
    max_loan_days: int | None = None
    stock: int | None = None


LOAN = DeviceProvision.LOAN
PURCHASE = DeviceProvision.PURCHASE_SUBSIDY

DEFAULT_DEVICE_TYPES: tuple[DeviceTypeSpec, ...] = (
    DeviceTypeSpec("wheelchair", "轮椅", "Wheelchair", LOAN, 30_000, 180, 20),
    DeviceTypeSpec("care_bed", "护理床", "Care bed", LOAN, 80_000, 365, 10),
    DeviceTypeSpec("walker", "助行器", "Walker", LOAN, 10_000, 180, 15),
    DeviceTypeSpec("commode", "坐便椅", "Commode chair", PURCHASE, 20_000),
    DeviceTypeSpec(
        "anti_pressure_mattress",
        "防褥疮垫",
        "Anti-pressure-sore mattress",
        PURCHASE,
        30_000,
    ),
)


def ensure_device_catalogue(session: Session) -> list[DeviceType]:
    """Add the default device types that are missing (by code); existing ones stay as they are."""
    existing = {device.code: device for device in session.scalars(select(DeviceType))}
    for spec in DEFAULT_DEVICE_TYPES:
        if spec.code not in existing:
            device = DeviceType(
                code=spec.code,
                name_zh=spec.name_zh,
                name_en=spec.name_en,
                provision=spec.provision,
                subsidy_fen=spec.subsidy_fen,
                max_loan_days=spec.max_loan_days,
                stock=spec.stock,
                is_active=True,
            )
            session.add(device)
            existing[spec.code] = device
    session.flush()
    return sorted(existing.values(), key=lambda device: device.id)


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueRow:
    device: DeviceType
    on_loan: int
    available: int | None  # lent devices only


@dataclass(frozen=True)
class DeviceTypeInput:
    code: str
    name_zh: str
    name_en: str
    provision: DeviceProvision
    subsidy_fen: int | None
    max_loan_days: int | None
    stock: int | None


def _on_loan_counts(session: Session, device_type_ids: list[int] | None = None) -> dict[int, int]:
    query = (
        select(DeviceLoan.device_type_id, func.count())
        .where(DeviceLoan.provision == DeviceProvision.LOAN, DeviceLoan.returned_on.is_(None))
        .group_by(DeviceLoan.device_type_id)
    )
    if device_type_ids is not None:
        query = query.where(DeviceLoan.device_type_id.in_(device_type_ids))
    return {row[0]: row[1] for row in session.execute(query)}


def _row(device: DeviceType, on_loan: int) -> CatalogueRow:
    available = None
    if device.provision is DeviceProvision.LOAN:
        available = available_stock(device.stock or 0, on_loan)
    return CatalogueRow(device, on_loan, available)


def list_device_catalogue(
    session: Session, actor: Actor, *, active_only: bool = False
) -> list[CatalogueRow]:
    """Every device type with the devices out on loan and those left to lend (two queries)."""
    actor.require(Role.ADMIN)
    query = select(DeviceType).order_by(DeviceType.is_active.desc(), DeviceType.id)
    if active_only:
        query = query.where(DeviceType.is_active.is_(True))
    devices = list(session.scalars(query))
    counts = _on_loan_counts(session)
    return [_row(device, counts.get(device.id, 0)) for device in devices]


def get_device_type(session: Session, actor: Actor, device_type_id: int) -> DeviceType:
    actor.require(Role.ADMIN)
    device = session.get(DeviceType, device_type_id)
    if device is None:
        raise NotFoundError(gettext("No such device type."))
    return device


def _check_device_input(data: DeviceTypeInput) -> DeviceTypeInput:
    """The input with names trimmed; each refusal names its field."""
    code = data.code.strip().lower()
    is_word = all(c.isascii() and (c.isalnum() or c == "_") for c in code)
    if not code or len(code) > CODE_MAX or not is_word:
        raise InvalidInputError(
            gettext("The code is letters, digits and underscores (at most 40)."), field="code"
        )
    name_zh, name_en = data.name_zh.strip(), data.name_en.strip()
    if not name_zh or len(name_zh) > NAME_MAX:
        raise InvalidInputError(gettext("Give the Chinese name."), field="name_zh")
    if not name_en or len(name_en) > NAME_MAX:
        raise InvalidInputError(gettext("Give the English name."), field="name_en")
    if data.subsidy_fen is None or data.subsidy_fen < 0:
        raise InvalidInputError(
            gettext("Give the subsidy in yuan (0 or more)."), field="subsidy_yuan"
        )
    max_days, stock = data.max_loan_days, data.stock
    if data.provision is DeviceProvision.LOAN:
        if max_days is None or max_days < 1:
            raise InvalidInputError(
                gettext("A lent device needs a maximum loan duration of at least one day."),
                field="max_loan_days",
            )
        if stock is None or stock < 0:
            raise InvalidInputError(
                gettext("A lent device needs a stock count (0 or more)."), field="stock"
            )
    else:  # a purchase subsidy is neither lent nor kept in stock
        max_days, stock = None, None
    return DeviceTypeInput(
        code, name_zh, name_en, data.provision, data.subsidy_fen, max_days, stock
    )


def _device_detail(device: DeviceType) -> dict[str, object]:
    return {
        "code": device.code,
        "name_zh": device.name_zh,
        "name_en": device.name_en,
        "provision": device.provision.value,
        "subsidy_fen": device.subsidy_fen,
        "max_loan_days": device.max_loan_days,
        "stock": device.stock,
        "is_active": device.is_active,
    }


def _code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(DeviceType.id).where(DeviceType.code == code)) is not None


def create_device_type(
    session: Session, actor: Actor, data: DeviceTypeInput, now: dt.datetime
) -> DeviceType:
    """Add a device type to the catalogue (its code is unique)."""
    actor.require(Role.ADMIN)
    checked = _check_device_input(data)
    if _code_taken(session, checked.code):
        raise ConflictError(
            gettext("A device type with the code “%(code)s” exists.", code=checked.code),
            field="code",
        )
    device = DeviceType(
        code=checked.code,
        name_zh=checked.name_zh,
        name_en=checked.name_en,
        provision=checked.provision,
        subsidy_fen=checked.subsidy_fen,
        max_loan_days=checked.max_loan_days,
        stock=checked.stock,
        is_active=True,
    )
    try:
        with session.begin_nested():
            session.add(device)
            session.flush()
    except IntegrityError:  # the same code stored at the same moment
        raise ConflictError(
            gettext("A device type with the code “%(code)s” exists.", code=checked.code),
            field="code",
        ) from None
    record_event(
        session,
        actor,
        "device_type.create",
        "device_type",
        device.id,
        now=now,
        detail=_device_detail(device),
    )
    return device


def update_device_type(
    session: Session, actor: Actor, device_type_id: int, data: DeviceTypeInput, now: dt.datetime
) -> DeviceType:
    """Change names and figures; the code and the provision stay. Past loans keep theirs."""
    actor.require(Role.ADMIN)
    device = session.scalar(
        select(DeviceType).where(DeviceType.id == device_type_id).with_for_update()
    )
    if device is None:
        raise NotFoundError(gettext("No such device type."))
    checked = _check_device_input(
        DeviceTypeInput(
            device.code,
            data.name_zh,
            data.name_en,
            device.provision,
            data.subsidy_fen,
            data.max_loan_days,
            data.stock,
        )
    )
    on_loan = _on_loan_counts(session, [device.id]).get(device.id, 0)
    if checked.stock is not None and not stock_covers_loans(checked.stock, on_loan):
        raise InvalidInputError(
            gettext(
                "%(count)d of these devices are out on loan; the stock cannot be lower.",
                count=on_loan,
            ),
            field="stock",
        )
    before = _device_detail(device)
    device.name_zh = checked.name_zh
    device.name_en = checked.name_en
    device.subsidy_fen = checked.subsidy_fen or 0
    device.max_loan_days = checked.max_loan_days
    device.stock = checked.stock
    session.flush()
    after = _device_detail(device)
    changes = {key: [before[key], value] for key, value in after.items() if before[key] != value}
    record_event(
        session, actor, "device_type.update", "device_type", device.id, now=now, detail=changes
    )
    return device


def set_device_type_active(
    session: Session, actor: Actor, device_type_id: int, is_active: bool, now: dt.datetime
) -> DeviceType:
    """Withdraw a device type from new loans (open loans run on), or offer it again."""
    actor.require(Role.ADMIN)
    device = session.get(DeviceType, device_type_id)
    if device is None:
        raise NotFoundError(gettext("No such device type."))
    if device.is_active is not is_active:
        device.is_active = is_active
        session.flush()
        record_event(
            session,
            actor,
            "device_type.activate" if is_active else "device_type.deactivate",
            "device_type",
            device.id,
            now=now,
        )
    return device


# --- loans -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanInput:
    device_type_id: int | None
    starts_on: dt.date | None
    due_on: dt.date | None  # None: as long as the catalogue allows
    serial_number: str | None


@dataclass(frozen=True)
class ReturnInput:
    returned_on: dt.date | None
    condition: str


@dataclass(frozen=True)
class PersonDevices:
    person: Person
    entitlement: Entitlement | None  # the active one, if any
    loans: list[DeviceLoan]  # newest first
    today: dt.date

    def overdue(self, loan: DeviceLoan) -> bool:
        return is_overdue(loan.due_on, loan.returned_on, self.today)


def _get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(gettext("No such person."))
    return person


def _entitlement_on(session: Session, person_id: int, day: dt.date) -> Entitlement | None:
    """The person's active entitlement, if it covers `day`."""
    return session.scalar(
        select(Entitlement).where(
            Entitlement.person_id == person_id,
            Entitlement.status == EntitlementStatus.ACTIVE,
            Entitlement.starts_on <= day,
            (Entitlement.ends_on.is_(None)) | (Entitlement.ends_on > day),
        )
    )


def _active_entitlement(session: Session, person_id: int) -> Entitlement | None:
    return session.scalar(
        select(Entitlement).where(
            Entitlement.person_id == person_id, Entitlement.status == EntitlementStatus.ACTIVE
        )
    )


def _loan_options() -> tuple[ExecutableOption, ...]:
    return (
        selectinload(DeviceLoan.person).selectinload(Person.district),
        selectinload(DeviceLoan.device_type),
    )


def person_devices(
    session: Session, actor: Actor, person_id: int, now: dt.datetime
) -> PersonDevices:
    """A person's loans and purchase subsidies, newest first, with their active entitlement."""
    actor.require(Role.ADMIN)
    person = _get_person(session, person_id)
    loans = list(
        session.scalars(
            select(DeviceLoan)
            .where(DeviceLoan.person_id == person_id)
            .options(selectinload(DeviceLoan.device_type))
            .order_by(DeviceLoan.starts_on.desc(), DeviceLoan.id.desc())
        )
    )
    return PersonDevices(person, _active_entitlement(session, person_id), loans, city_today(now))


def _refuse_dates(reason: str) -> InvalidInputError:
    if reason == DUE_BEFORE_START:
        return InvalidInputError(
            gettext("The due date cannot be before the start date."), field="due_on"
        )
    return InvalidInputError(  # LONGER_THAN_ALLOWED
        gettext("The loan is longer than this device type allows."), field="due_on"
    )


def record_device_loan(
    session: Session, actor: Actor, person_id: int, data: LoanInput, now: dt.datetime
) -> DeviceLoan:
    """Lend a device (or grant a purchase subsidy) to a beneficiary; each refusal says why."""
    user_id = actor.require(Role.ADMIN)
    person = _get_person(session, person_id)
    if data.device_type_id is None:
        raise InvalidInputError(gettext("Choose a device type."), field="device_type_id")
    if data.starts_on is None:
        raise InvalidInputError(gettext("Give the start date."), field="starts_on")
    # Locked so that two administrators cannot lend the last device at the same moment.
    device = session.scalar(
        select(DeviceType).where(DeviceType.id == data.device_type_id).with_for_update()
    )
    if device is None:
        raise InvalidInputError(gettext("Choose a device type."), field="device_type_id")
    if not device.is_active:
        raise ConflictError(
            gettext("%(device)s is no longer offered.", device=localized(device)),
            field="device_type_id",
        )
    entitlement = _entitlement_on(session, person.id, data.starts_on)
    if entitlement is None:
        raise ConflictError(
            gettext(
                "%(name)s has no active entitlement on %(day)s; devices go to beneficiaries only.",
                name=person.name,
                day=data.starts_on.isoformat(),
            ),
            field="starts_on",
        )
    due_on = None
    serial = (data.serial_number or "").strip() or None
    if serial is not None and len(serial) > SERIAL_MAX:
        raise InvalidInputError(
            gettext("The serial number is at most %(count)d characters.", count=SERIAL_MAX),
            field="serial_number",
        )
    if device.provision is DeviceProvision.LOAN:
        max_days = device.max_loan_days or 0
        due_on = data.due_on or default_due_on(data.starts_on, max_days)
        reason = check_loan_dates(data.starts_on, due_on, max_days)
        if reason is not None:
            raise _refuse_dates(reason)
        if _open_loan_id(session, person.id, device.id) is not None:
            raise ConflictError(
                gettext(
                    "%(name)s already has a %(device)s on loan.",
                    name=person.name,
                    device=localized(device),
                ),
                field="device_type_id",
            )
        on_loan = _on_loan_counts(session, [device.id]).get(device.id, 0)
        if available_stock(device.stock or 0, on_loan) < 1:
            raise ConflictError(
                gettext("No %(device)s is left in stock.", device=localized(device)),
                field="device_type_id",
            )
    loan = DeviceLoan(
        person_id=person.id,
        entitlement_id=entitlement.id,
        device_type_id=device.id,
        provision=device.provision,
        subsidy_fen=device.subsidy_fen,
        max_loan_days=device.max_loan_days,
        starts_on=data.starts_on,
        due_on=due_on,
        serial_number=serial,
        recorded_by_id=user_id,
        recorded_at=now,
    )
    try:
        with session.begin_nested():
            session.add(loan)
            session.flush()
    except IntegrityError:  # the same device lent to the same person at the same moment
        raise ConflictError(
            gettext(
                "%(name)s already has a %(device)s on loan.",
                name=person.name,
                device=localized(device),
            ),
            field="device_type_id",
        ) from None
    record_event(
        session,
        actor,
        "device_loan.create",
        "device_loan",
        loan.id,
        now=now,
        detail={
            "person_id": person.id,
            "entitlement_id": entitlement.id,
            "device_type": device.code,
            "provision": device.provision.value,
            "subsidy_fen": loan.subsidy_fen,
            "starts_on": loan.starts_on.isoformat(),
            "due_on": due_on.isoformat() if due_on else None,
            "serial_number": serial,
        },
    )
    return loan


def _open_loan_id(session: Session, person_id: int, device_type_id: int) -> int | None:
    return session.scalar(
        select(DeviceLoan.id)
        .where(
            DeviceLoan.person_id == person_id,
            DeviceLoan.device_type_id == device_type_id,
            DeviceLoan.provision == DeviceProvision.LOAN,
            DeviceLoan.returned_on.is_(None),
        )
        .limit(1)
    )


def get_device_loan(session: Session, actor: Actor, loan_id: int) -> DeviceLoan:
    actor.require(Role.ADMIN)
    loan = session.scalar(
        select(DeviceLoan).where(DeviceLoan.id == loan_id).options(*_loan_options())
    )
    if loan is None:
        raise NotFoundError(gettext("No such loan."))
    return loan


def record_device_return(
    session: Session, actor: Actor, loan_id: int, data: ReturnInput, now: dt.datetime
) -> DeviceLoan:
    """Take a lent device back, with the date and its condition; it returns to stock."""
    user_id = actor.require(Role.ADMIN)
    loan = session.scalar(select(DeviceLoan).where(DeviceLoan.id == loan_id).with_for_update())
    if loan is None:
        raise NotFoundError(gettext("No such loan."))
    if loan.provision is not DeviceProvision.LOAN:
        raise ConflictError(gettext("A purchase subsidy is not returned."))
    if loan.returned_on is not None:
        raise ConflictError(
            gettext("This device was returned on %(day)s.", day=loan.returned_on.isoformat())
        )
    if data.returned_on is None:
        raise InvalidInputError(gettext("Give the return date."), field="returned_on")
    condition = data.condition.strip()
    if not condition or len(condition) > CONDITION_MAX:
        raise InvalidInputError(
            gettext(
                "Describe the condition of the device (at most %(count)d characters).",
                count=CONDITION_MAX,
            ),
            field="condition",
        )
    reason = check_return_date(loan.starts_on, data.returned_on, city_today(now))
    if reason == RETURN_BEFORE_START:
        raise InvalidInputError(
            gettext(
                "The return date cannot be before the loan started (%(day)s).",
                day=loan.starts_on.isoformat(),
            ),
            field="returned_on",
        )
    if reason is not None:  # RETURN_IN_FUTURE
        raise InvalidInputError(
            gettext("The return date cannot be in the future."), field="returned_on"
        )
    loan.returned_on = data.returned_on
    loan.return_condition = condition
    loan.returned_by_id = user_id
    loan.returned_at = now
    session.flush()
    record_event(
        session,
        actor,
        "device_loan.return",
        "device_loan",
        loan.id,
        now=now,
        detail={
            "returned_on": data.returned_on.isoformat(),
            "condition": condition,
            "overdue": is_overdue(loan.due_on, None, data.returned_on),
        },
    )
    return loan


class LoanFilter(enum.Enum):
    OPEN = "open"
    OVERDUE = "overdue"
    RETURNED = "returned"
    PURCHASE = "purchase"


@dataclass(frozen=True)
class LoanPage:
    loans: list[DeviceLoan]
    offset: int
    has_more: bool
    today: dt.date

    def overdue(self, loan: DeviceLoan) -> bool:
        return is_overdue(loan.due_on, loan.returned_on, self.today)


def _filtered(query: Select[DeviceLoan], status: LoanFilter, today: dt.date) -> Select[DeviceLoan]:
    is_loan = DeviceLoan.provision == DeviceProvision.LOAN
    if status is LoanFilter.PURCHASE:
        return query.where(DeviceLoan.provision == DeviceProvision.PURCHASE_SUBSIDY).order_by(
            DeviceLoan.starts_on.desc(), DeviceLoan.id.desc()
        )
    if status is LoanFilter.RETURNED:
        return query.where(is_loan, DeviceLoan.returned_on.is_not(None)).order_by(
            DeviceLoan.returned_on.desc(), DeviceLoan.id.desc()
        )
    query = query.where(is_loan, DeviceLoan.returned_on.is_(None))
    if status is LoanFilter.OVERDUE:
        query = query.where(DeviceLoan.due_on < today)
    return query.order_by(DeviceLoan.due_on, DeviceLoan.id)


def list_device_loans(
    session: Session,
    actor: Actor,
    status: LoanFilter,
    now: dt.datetime,
    *,
    limit: int = 50,
    offset: int = 0,
) -> LoanPage:
    """Loans by status: open and overdue by due date (soonest first), returned newest first."""
    actor.require(Role.ADMIN)
    today = city_today(now)
    offset = max(offset, 0)
    query = _filtered(select(DeviceLoan).options(*_loan_options()), status, today)
    rows = list(session.scalars(query.limit(limit + 1).offset(offset)))
    return LoanPage(rows[:limit], offset, len(rows) > limit, today)


def overdue_device_loans(session: Session, actor: Actor, now: dt.datetime) -> list[DeviceLoan]:
    """Every loan still out after its due date, longest overdue first."""
    actor.require(Role.ADMIN)
    query = _filtered(
        select(DeviceLoan).options(*_loan_options()), LoanFilter.OVERDUE, city_today(now)
    )
    return list(session.scalars(query))


# --- spending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceSubsidyLine:
    """One subsidy the fund pays, counted in the month the loan starts or the subsidy is granted."""

    loan_id: int
    person_id: int
    district_code: str
    device_type_code: str
    provision: DeviceProvision
    amount_fen: int
    on: dt.date


def device_subsidies_for_month(
    session: Session, month_first_day: dt.date
) -> list[DeviceSubsidyLine]:
    """Every device subsidy of the month starting `month_first_day`, by date then loan."""
    if month_first_day.day != 1:
        raise ValueError(f"{month_first_day} is not the first day of a month")
    return device_subsidies_between(session, month_first_day, next_month(month_first_day))


def device_subsidies_between(
    session: Session, first_day: dt.date, stop_day: dt.date
) -> list[DeviceSubsidyLine]:
    """Every device subsidy starting on `first_day` up to the day before `stop_day`."""
    rows = session.execute(
        select(
            DeviceLoan.id,
            DeviceLoan.person_id,
            Person.district_code,
            DeviceType.code,
            DeviceLoan.provision,
            DeviceLoan.subsidy_fen,
            DeviceLoan.starts_on,
        )
        .join(Person, Person.id == DeviceLoan.person_id)
        .join(DeviceType, DeviceType.id == DeviceLoan.device_type_id)
        .where(DeviceLoan.starts_on >= first_day, DeviceLoan.starts_on < stop_day)
        .order_by(DeviceLoan.starts_on, DeviceLoan.id)
    )
    return [DeviceSubsidyLine(*row) for row in rows]


def describe_device(device: DeviceType, available: int | None) -> str:
    """A device type as offered on the loan form: name, provision, subsidy, stock left."""
    if device.provision is DeviceProvision.LOAN:
        return gettext(
            "%(name)s — loan up to %(days)d days, subsidy %(amount)s yuan, %(left)d in stock",
            name=localized(device),
            days=device.max_loan_days or 0,
            amount=format_yuan(device.subsidy_fen),
            left=available or 0,
        )
    return gettext(
        "%(name)s — purchase subsidy %(amount)s yuan",
        name=localized(device),
        amount=format_yuan(device.subsidy_fen),
    )
