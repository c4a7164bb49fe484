"""The registry of insured persons: enrolment, search and guarded access to full ID numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.core.identity import IdProblem, InvalidIdNumberError, ResidentId, parse_resident_id
from careapp.models.people import (
    District,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Sex,
)
from careapp.models.users import Role
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.i18n import localized

# Who may enrol, search and read people in this foundation.
REGISTRY_ROLES = (Role.ADMIN,)
# Who may, with a reason, see a full ID number.
FULL_ID_ROLES = (Role.ADMIN,)
MIN_REVEAL_REASON_LENGTH = 4
MAX_PAGE_SIZE = 100

_ID_SHAPED = re.compile(r"^\d{17}[\dXx]$")


@dataclass(frozen=True)
class PersonInput:
    id_number: str
    name: str
    phone: str | None
    address: str
    district_code: str
    township: str | None
    home_lat: float | None
    home_lon: float | None
    household_type: HouseholdType
    insurance_scheme: InsuranceScheme
    insurance_status: InsuranceStatus
    insured_from: dt.date
    insured_until: dt.date | None
    guardian_name: str | None
    guardian_phone: str | None


@dataclass(frozen=True)
class PeoplePage:
    people: list[Person]
    offset: int
    limit: int
    has_more: bool


def scheme_name(scheme: InsuranceScheme) -> str:
    if scheme is InsuranceScheme.EMPLOYEE:
        return gettext("employees' medical insurance")
    return gettext("urban and rural residents' medical insurance")


def id_number_message(error: InvalidIdNumberError, actor: Actor) -> str:
    """Explain an invalid ID number; only administrators are told the expected check character."""
    if error.problem is IdProblem.LENGTH:
        return gettext("A resident ID number has 18 characters.")
    if error.problem is IdProblem.NON_DIGITS:
        return gettext("A resident ID number is 17 digits followed by a digit or X.")
    if error.problem is IdProblem.BIRTH_DATE:
        return gettext("The birth date in this ID number (characters 7 to 14) is not a real date.")
    if error.problem is IdProblem.FUTURE_BIRTH_DATE:
        return gettext("The birth date in this ID number is in the future.")
    if error.problem is IdProblem.REGION:
        return gettext("The first 6 digits of this ID number are not a known region code.")
    if actor.is_role(Role.ADMIN) and error.expected_check:
        return gettext(
            "The check character (the last one) is wrong: %(expected)s was expected. "
            "Please check the number.",
            expected=error.expected_check,
        )
    return gettext("The check character (the last one) is wrong. Please check the number.")


def validate_id_number(actor: Actor, raw: str, *, today: dt.date) -> ResidentId:
    """Parse an ID number or raise InvalidInputError on the id_number field."""
    try:
        return parse_resident_id(raw, today=today)
    except InvalidIdNumberError as error:
        raise InvalidInputError(id_number_message(error, actor), field="id_number") from None


def register_person(
    session: Session, actor: Actor, data: PersonInput, protector: DataProtector, now: dt.datetime
) -> Person:
    """Enrol an insured person; the ID number is stored encrypted with a blind index."""
    actor.require(*REGISTRY_ROLES)
    resident = validate_id_number(actor, data.id_number, today=city_today(now))
    _check_person_input(data)
    index = protector.blind_index(resident.number)
    existing = _person_by_index(session, index)
    if existing is not None:
        raise _duplicate_error(existing)
    if session.get(District, data.district_code) is None:
        raise InvalidInputError(gettext("Choose a district of the city."), field="district_code")
    person = Person(
        id_number_ciphertext=protector.encrypt(resident.number),
        id_number_index=index,
        id_number_masked=resident.masked,
        name=data.name.strip(),
        sex=Sex.MALE if resident.is_male else Sex.FEMALE,
        born_on=resident.born_on,
        phone=_blank_to_none(data.phone),
        address=data.address.strip(),
        district_code=data.district_code,
        township=_blank_to_none(data.township),
        home_lat=data.home_lat,
        home_lon=data.home_lon,
        household_type=data.household_type,
        insurance_scheme=data.insurance_scheme,
        insurance_status=data.insurance_status,
        insured_from=data.insured_from,
        insured_until=data.insured_until,
        guardian_name=_blank_to_none(data.guardian_name),
        guardian_phone=_blank_to_none(data.guardian_phone),
    )
    try:
        with session.begin_nested():  # the unique index decides a race between two clerks
            session.add(person)
            session.flush()
    except IntegrityError:
        existing = _person_by_index(session, index)
        if existing is None:
            raise
        raise _duplicate_error(existing) from None
    record_event(
        session,
        actor,
        "create",
        "person",
        person.id,
        now=now,
        detail={"district": person.district_code, "scheme": person.insurance_scheme.value},
    )
    return person


def find_people(
    session: Session,
    query: str,
    protector: DataProtector,
    limit: int = 50,
    offset: int = 0,
) -> PeoplePage:
    """Search by exact ID number (through its blind index) or by part of the name."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    text = query.strip()
    statement = select(Person).options(joinedload(Person.district))
    if is_id_number_query(text):
        statement = statement.where(Person.id_number_index == protector.blind_index(text.upper()))
    elif text:
        statement = statement.where(Person.name.contains(text, autoescape=True))
    rows = list(
        session.scalars(statement.order_by(Person.name, Person.id).offset(offset).limit(limit + 1))
    )
    return PeoplePage(people=rows[:limit], offset=offset, limit=limit, has_more=len(rows) > limit)


def is_id_number_query(query: str) -> bool:
    """True when a search text looks like a full ID number (searched by blind index)."""
    return _ID_SHAPED.match(query.strip()) is not None


def get_person(session: Session, actor: Actor, person_id: int) -> Person:
    actor.require(*REGISTRY_ROLES)
    person = session.get(Person, person_id, options=[joinedload(Person.district)])
    if person is None:
        raise NotFoundError(gettext("No such person."))
    return person


def reveal_id_number(
    session: Session,
    actor: Actor,
    person_id: int,
    reason: str,
    protector: DataProtector,
    now: dt.datetime,
) -> str:
    """Return the full ID number to an administrator who gives a reason; the read is audited."""
    actor.require(*FULL_ID_ROLES)
    reason = reason.strip()
    if len(reason) < MIN_REVEAL_REASON_LENGTH:
        raise InvalidInputError(
            gettext(
                "Give the reason for seeing the full ID number (at least %(count)d characters).",
                count=MIN_REVEAL_REASON_LENGTH,
            ),
            field="reason",
        )
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError(gettext("No such person."))
    record_event(
        session, actor, "read_full_id", "person", person.id, now=now, detail={"reason": reason}
    )
    session.flush()
    return protector.decrypt(person.id_number_ciphertext)


def _check_person_input(data: PersonInput) -> None:
    if not data.name.strip():
        raise InvalidInputError(gettext("Enter the person's name."), field="name")
    if not data.address.strip():
        raise InvalidInputError(gettext("Enter the home address."), field="address")
    if data.insured_until is not None and data.insured_until < data.insured_from:
        raise InvalidInputError(
            gettext("The end of insurance cannot be before its start."), field="insured_until"
        )
    if (data.home_lat is None) != (data.home_lon is None):
        raise InvalidInputError(
            gettext("Give both latitude and longitude of the home, or neither."),
            field="home_lon",
        )


def _person_by_index(session: Session, index: str) -> Person | None:
    return session.scalar(
        select(Person).options(joinedload(Person.district)).where(Person.id_number_index == index)
    )


def _duplicate_error(existing: Person) -> ConflictError:
    return ConflictError(
        gettext(
            "This ID number is already registered (district: %(district)s, scheme: %(scheme)s). "
            "A person has one record whatever the scheme or district.",
            district=localized(existing.district),
            scheme=scheme_name(existing.insurance_scheme),
        ),
        field="id_number",
    )


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
