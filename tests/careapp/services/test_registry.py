"""The registry service: enrolment with an encrypted ID, search, guarded full-ID access."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.core.identity import IdProblem, InvalidIdNumberError, make_resident_id
from careapp.models import (
    AuditEvent,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Role,
    Sex,
)
from careapp.security import DataProtector
from careapp.services import registry
from careapp.services.actor import Actor
from careapp.services.registry import (
    PersonInput,
    find_people,
    get_person,
    id_number_message,
    register_person,
    reveal_id_number,
    validate_id_number,
)
from tests.factories import NOW, TODAY, PersonFactory, UserFactory

ELDER_ID = make_resident_id("320602", dt.date(1935, 5, 1), 9)  # its check character is X


def admin_actor() -> Actor:
    return Actor(user_id=UserFactory(admin=True).id, role=Role.ADMIN, address="10.0.0.1")


def person_input(**changes: object) -> PersonInput:
    data = PersonInput(
        id_number=make_resident_id("320682", dt.date(1942, 8, 15), 24),
        name="陈桂英",
        phone="13912345678",
        address="如皋市如城街道大司马路8号",
        district_code="320682",
        township="如城街道",
        home_lat=32.39,
        home_lon=120.57,
        household_type=HouseholdType.RURAL,
        insurance_scheme=InsuranceScheme.RESIDENT,
        insurance_status=InsuranceStatus.ACTIVE,
        insured_from=dt.date(2012, 1, 1),
        insured_until=None,
        guardian_name="陈明",
        guardian_phone="13700001111",
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]  # test helper


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.usefixtures("districts")
def test_register_person_derives_sex_and_birth_date_and_masks(
    db_session: Session, protector: DataProtector
) -> None:
    data = person_input()

    person = register_person(db_session, admin_actor(), data, protector, NOW)

    assert person.id is not None
    assert person.sex is Sex.FEMALE  # sequence 024 is even
    assert person.born_on == dt.date(1942, 8, 15)
    assert person.id_number_masked == data.id_number[:6] + "*" * 11 + data.id_number[-1]
    assert person.district_code == "320682"
    assert person.household_type is HouseholdType.RURAL


@pytest.mark.usefixtures("districts")
def test_register_person_encrypts_the_id_number_at_rest(
    db_session: Session, protector: DataProtector
) -> None:
    data = person_input()
    person = register_person(db_session, admin_actor(), data, protector, NOW)
    db_session.flush()

    row = db_session.execute(text("SELECT * FROM people WHERE id = :id"), {"id": person.id}).one()

    raw = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
    assert data.id_number.encode() not in raw
    assert data.id_number[6:14].encode() not in bytes(row.id_number_ciphertext)
    assert row.id_number_index == protector.blind_index(data.id_number)
    assert protector.decrypt(bytes(row.id_number_ciphertext)) == data.id_number


@pytest.mark.usefixtures("districts")
def test_register_person_stores_lower_case_x_as_upper_case(
    db_session: Session, protector: DataProtector
) -> None:
    assert ELDER_ID.endswith("X")
    person = register_person(
        db_session,
        admin_actor(),
        person_input(id_number=ELDER_ID.lower(), district_code="320602"),
        protector,
        NOW,
    )
    assert protector.decrypt(person.id_number_ciphertext) == ELDER_ID
    assert person.id_number_index == protector.blind_index(ELDER_ID)
    assert person.born_on == dt.date(1935, 5, 1)


@pytest.mark.usefixtures("districts")
def test_register_person_writes_an_audit_event_without_the_number(
    db_session: Session, protector: DataProtector
) -> None:
    actor = admin_actor()
    data = person_input()
    person = register_person(db_session, actor, data, protector, NOW)

    event = db_session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "person", AuditEvent.action == "create")
    ).one()

    assert (event.object_id, event.actor_id, event.at) == (person.id, actor.user_id, NOW)
    assert event.address == "10.0.0.1"
    assert data.id_number not in str(event.detail)


@pytest.mark.usefixtures("districts")
def test_register_person_refuses_duplicate_naming_district_and_scheme(
    db_session: Session, protector: DataProtector
) -> None:
    data = person_input()
    register_person(db_session, admin_actor(), data, protector, NOW)
    before = count(db_session, Person)

    other_scheme = person_input(
        id_number=data.id_number.lower(),
        name="陈桂英（职工）",
        district_code="320602",
        insurance_scheme=InsuranceScheme.EMPLOYEE,
    )
    with pytest.raises(ConflictError) as caught:
        register_person(db_session, admin_actor(), other_scheme, protector, NOW)

    assert caught.value.field == "id_number"
    assert "如皋市" in caught.value.message  # the existing record's district
    assert "城乡居民" in caught.value.message  # and its scheme
    assert count(db_session, Person) == before


@pytest.mark.usefixtures("districts")
def test_register_person_duplicate_names_the_employee_scheme(
    db_session: Session, protector: DataProtector
) -> None:
    data = person_input(insurance_scheme=InsuranceScheme.EMPLOYEE, district_code="320614")
    register_person(db_session, admin_actor(), data, protector, NOW)
    with pytest.raises(ConflictError, match="职工基本医疗保险") as caught:
        register_person(db_session, admin_actor(), person_input(), protector, NOW)
    assert "海门区" in caught.value.message


@pytest.mark.usefixtures("districts")
def test_register_person_stores_blank_optional_fields_as_none(
    db_session: Session, protector: DataProtector
) -> None:
    person = register_person(
        db_session,
        admin_actor(),
        person_input(phone=None, township="  ", guardian_name="", guardian_phone=None),
        protector,
        NOW,
    )
    assert (person.phone, person.township, person.guardian_name, person.guardian_phone) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.usefixtures("districts")
def test_register_person_turns_a_unique_index_race_into_the_same_conflict(
    db_session: Session, protector: DataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = person_input()
    register_person(db_session, admin_actor(), data, protector, NOW)
    real_lookup = registry._person_by_index
    calls: list[str] = []

    def lookup_missing_the_first_time(session: Session, index: str) -> Person | None:
        calls.append(index)
        return None if len(calls) == 1 else real_lookup(session, index)

    monkeypatch.setattr(registry, "_person_by_index", lookup_missing_the_first_time)

    with pytest.raises(ConflictError, match="如皋市"):
        register_person(db_session, admin_actor(), data, protector, NOW)

    assert len(calls) == 2
    assert count(db_session, Person) == 1  # the session is still usable after the savepoint


@pytest.mark.usefixtures("districts")
def test_register_person_reraises_an_integrity_error_that_is_not_a_duplicate(
    db_session: Session, protector: DataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = admin_actor()
    # A district that passes the existence check but is gone at insert time (foreign key).
    monkeypatch.setattr(db_session, "get", lambda *args, **kwargs: object())
    with pytest.raises(IntegrityError):
        register_person(db_session, actor, person_input(district_code="999999"), protector, NOW)


@pytest.mark.usefixtures("districts")
def test_register_person_refuses_unknown_district(
    db_session: Session, protector: DataProtector
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        register_person(
            db_session, admin_actor(), person_input(district_code="320500"), protector, NOW
        )
    assert caught.value.field == "district_code"
    assert count(db_session, Person) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"address": ""}, "address"),
        ({"insured_until": dt.date(2011, 12, 31)}, "insured_until"),
        ({"home_lon": None}, "home_lon"),
    ],
)
@pytest.mark.usefixtures("districts")
def test_register_person_refuses_bad_input(
    db_session: Session, protector: DataProtector, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        register_person(db_session, admin_actor(), person_input(**changes), protector, NOW)
    assert caught.value.field == field
    assert count(db_session, Person) == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("32068219420815", "18"),
        ("32068219420815002Y", "17"),
        (make_resident_id("320682", dt.date(1942, 2, 1), 2)[:10] + "0230" + "0024", "日期"),
        (make_resident_id("320682", TODAY + dt.timedelta(days=3), 2), "未来"),
        (make_resident_id("320699", dt.date(1942, 2, 1), 2), "地区"),
    ],
)
@pytest.mark.usefixtures("districts")
def test_register_person_refuses_invalid_id_numbers_in_chinese(
    db_session: Session, protector: DataProtector, raw: str, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        register_person(db_session, admin_actor(), person_input(id_number=raw), protector, NOW)
    assert caught.value.field == "id_number"
    assert expected in caught.value.message
    assert count(db_session, Person) == 0


@pytest.mark.usefixtures("districts")
def test_register_person_tells_an_admin_the_expected_check_character(
    db_session: Session, protector: DataProtector
) -> None:
    good = make_resident_id("320682", dt.date(1942, 8, 15), 24)
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    with pytest.raises(InvalidInputError) as caught:
        register_person(db_session, admin_actor(), person_input(id_number=bad), protector, NOW)
    assert f"{good[17]}" in caught.value.message
    assert "校验" in caught.value.message


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER])
def test_id_number_message_hides_the_expected_check_character_from_non_admins(
    db_session: Session, role: Role
) -> None:
    error = InvalidIdNumberError(IdProblem.CHECK_CHARACTER, expected_check="7")
    hidden = id_number_message(error, Actor(user_id=1, role=role))
    shown = id_number_message(error, Actor(user_id=1, role=Role.ADMIN))
    assert "7" not in hidden
    assert "7" in shown
    assert hidden != shown


def test_validate_id_number_returns_the_parsed_number(db_session: Session) -> None:
    number = make_resident_id("320623", dt.date(1950, 1, 2), 3)
    assert validate_id_number(Actor(1, Role.ADMIN), number, today=TODAY).number == number


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
@pytest.mark.usefixtures("districts")
def test_register_person_is_for_admins_only(
    db_session: Session, protector: DataProtector, role: Role | None
) -> None:
    with pytest.raises(PermissionDeniedError):
        register_person(db_session, Actor(user_id=None, role=role), person_input(), protector, NOW)
    assert count(db_session, Person) == 0


def test_find_people_looks_up_an_id_number_through_the_blind_index(
    db_session: Session, protector: DataProtector, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = PersonFactory(name="王秀兰")
    PersonFactory(name="王秀英")
    number = protector.decrypt(wanted.id_number_ciphertext)
    seen: list[str] = []
    real_blind_index = protector.blind_index
    monkeypatch.setattr(protector, "blind_index", lambda v: seen.append(v) or real_blind_index(v))

    page = find_people(db_session, f" {number.lower()} ", protector, limit=10)

    assert [p.id for p in page.people] == [wanted.id]
    assert seen == [number]  # normalised, then hashed: never compared in plain text


def test_find_people_with_an_unknown_id_number_finds_no_one(
    db_session: Session, protector: DataProtector
) -> None:
    PersonFactory()
    other = make_resident_id("320681", dt.date(1960, 1, 1), 5)
    assert find_people(db_session, other, protector).people == []


def test_find_people_by_part_of_the_name(db_session: Session, protector: DataProtector) -> None:
    PersonFactory(name="周秀兰")
    PersonFactory(name="李秀兰")
    PersonFactory(name="李建国")
    PersonFactory(name="100%_张")

    found = find_people(db_session, "秀兰", protector).people
    assert sorted(p.name for p in found) == sorted(["周秀兰", "李秀兰"])
    assert [p.name for p in find_people(db_session, "%_", protector).people] == ["100%_张"]


def test_find_people_paginates_with_a_bounded_page(
    db_session: Session, protector: DataProtector
) -> None:
    for n in range(5):
        PersonFactory(name=f"赵{n}")

    first = find_people(db_session, "", protector, limit=2)
    last = find_people(db_session, "", protector, limit=2, offset=4)
    huge = find_people(db_session, "", protector, limit=10_000, offset=-3)

    assert [p.name for p in first.people] == ["赵0", "赵1"]
    assert first.has_more
    assert [p.name for p in last.people] == ["赵4"]
    assert not last.has_more
    assert (huge.limit, huge.offset, len(huge.people)) == (registry.MAX_PAGE_SIZE, 0, 5)


def test_get_person_returns_the_person_to_an_admin(db_session: Session) -> None:
    person = PersonFactory()
    assert get_person(db_session, Actor(1, Role.ADMIN), person.id) is person


def test_get_person_unknown_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        get_person(db_session, Actor(1, Role.ADMIN), 987_654)


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER])
def test_get_person_is_refused_to_other_roles(db_session: Session, role: Role) -> None:
    person = PersonFactory()
    with pytest.raises(PermissionDeniedError):
        get_person(db_session, Actor(1, role), person.id)


def test_reveal_id_number_returns_it_and_audits_the_reason(
    db_session: Session, protector: DataProtector
) -> None:
    person = PersonFactory()
    actor = admin_actor()

    number = reveal_id_number(db_session, actor, person.id, "  核对医保卡信息 ", protector, NOW)

    assert number == protector.decrypt(person.id_number_ciphertext)
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "read_full_id")).one()
    assert (event.object_type, event.object_id, event.actor_id) == (
        "person",
        person.id,
        actor.user_id,
    )
    assert event.detail == {"reason": "核对医保卡信息"}


@pytest.mark.parametrize("reason", ["", "   ", "查看"])
def test_reveal_id_number_requires_a_reason(
    db_session: Session, protector: DataProtector, reason: str
) -> None:
    person = PersonFactory()
    with pytest.raises(InvalidInputError) as caught:
        reveal_id_number(db_session, admin_actor(), person.id, reason, protector, NOW)
    assert caught.value.field == "reason"
    assert count(db_session, AuditEvent) == 0


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_reveal_id_number_is_for_admins_only(
    db_session: Session, protector: DataProtector, role: Role | None
) -> None:
    person = PersonFactory()
    with pytest.raises(PermissionDeniedError):
        reveal_id_number(
            db_session, Actor(user_id=None, role=role), person.id, "核对身份信息", protector, NOW
        )
    assert count(db_session, AuditEvent) == 0


def test_reveal_id_number_unknown_person_is_not_found(
    db_session: Session, protector: DataProtector
) -> None:
    with pytest.raises(NotFoundError):
        reveal_id_number(db_session, admin_actor(), 987_654, "核对身份信息", protector, NOW)
