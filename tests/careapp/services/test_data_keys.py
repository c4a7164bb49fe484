"""Rotating the data key: every encrypted value re-encrypted under the newest key of the ring,
batch by batch, resumable, with lookups by ID number unchanged (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import LargeBinary, select
from sqlalchemy.orm import Session

from careapp.cli.data_keys import rotate_data_key
from careapp.config import TestConfig
from careapp.db import Base
from careapp.models import AuditEvent, Caregiver, Person, User
from careapp.security import DataProtector, new_data_key
from careapp.services import data_keys
from careapp.services.data_keys import (
    ENCRYPTED_COLUMNS,
    DataKeyRotationError,
    KeyCounts,
    count_by_key,
)
from careapp.services.registry import find_people
from tests.factories import (
    TEST_PROTECTOR,
    CaregiverFactory,
    PersonFactory,
    UserFactory,
    totp_secret,
)

NEW = new_data_key()
OLD_INDEX = TEST_PROTECTOR.index_key_setting()


def _ring() -> DataProtector:
    return DataProtector(f"{NEW},{TestConfig.DATA_KEY}", OLD_INDEX)


def _new_alone() -> DataProtector:
    return DataProtector(NEW, OLD_INDEX)


def _populate() -> tuple[list[Person], list[Caregiver], list[User]]:
    people = PersonFactory.create_batch(7)
    caregivers = [*CaregiverFactory.create_batch(3), CaregiverFactory(id_number=None)]
    users = [UserFactory(admin=True), UserFactory(two_factor=False)]
    return people, caregivers, users


def _values(session: Session, column: data_keys.EncryptedColumn) -> dict[int, bytes]:
    rows = session.execute(
        select(column.id, column.ciphertext).where(column.ciphertext.is_not(None))
    )
    return {row[0]: bytes(row[1]) for row in rows}


def test_every_encrypted_column_is_rotated() -> None:
    """A new encrypted column must join ENCRYPTED_COLUMNS, or a rotation would skip it."""
    encrypted = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    listed = {f"{c.model.__tablename__}.{c.ciphertext.key}" for c in ENCRYPTED_COLUMNS}
    assert listed == encrypted


def test_rotation_re_encrypts_everything_and_keeps_lookups(db_session: Session) -> None:
    people, _caregivers, _users = _populate()
    ring = _ring()
    numbers = {p.id: TEST_PROTECTOR.decrypt(p.id_number_ciphertext) for p in people}
    indexes = {p.id: p.id_number_index for p in people}
    assert count_by_key(db_session, ring)["people.id_number"] == KeyCounts(0, 7, 0)

    run = rotate_data_key(db_session, ring, batch_size=3, echo=lambda _line: None)

    assert run.rotated == {"people.id_number": 7, "caregivers.id_number": 3, "users.totp_secret": 1}
    assert run.batches == 3 + 1 + 1  # 7 people in threes; 3 caregivers; 1 TOTP secret
    db_session.expire_all()
    alone = _new_alone()
    for column in ENCRYPTED_COLUMNS:
        for token in _values(db_session, column).values():
            alone.decrypt(token)  # the new key alone reads every value
    for person in db_session.scalars(select(Person)):
        assert alone.decrypt(person.id_number_ciphertext) == numbers[person.id]
        assert person.id_number_index == indexes[person.id]
        found = find_people(db_session, numbers[person.id], alone).people
        assert [p.id for p in found] == [person.id]
    admin = db_session.scalars(select(User).where(User.totp_secret_ciphertext.is_not(None))).one()
    assert alone.decrypt(admin.totp_secret_ciphertext) == totp_secret(admin.username)
    assert all(
        counts == KeyCounts(counts.current, 0, 0)
        for counts in count_by_key(db_session, alone).values()
    )
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "data_key.rotate"))
    assert [(e.address, e.detail["finished"], e.detail["rotated"]) for e in event] == [
        ("cli", True, run.rotated)
    ]


def test_interrupted_rotation_is_readable_meanwhile_and_resumes(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    people, _caregivers, _users = _populate()
    ring = _ring()
    numbers = {p.id: TEST_PROTECTOR.decrypt(p.id_number_ciphertext) for p in people}
    real_batch = data_keys.rotate_batch
    calls = 0

    def failing_batch(*args: object, **kwargs: object) -> data_keys.Batch:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("killed")
        return real_batch(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(data_keys, "rotate_batch", failing_batch)
    with pytest.raises(RuntimeError, match="killed"):
        rotate_data_key(db_session, ring, batch_size=2, echo=lambda _line: None)
    monkeypatch.undo()

    db_session.expire_all()
    assert count_by_key(db_session, ring)["people.id_number"] == KeyCounts(4, 3, 0)
    # Meanwhile the app (with the ring) reads and finds every person, rotated or not ...
    for person_id, number in numbers.items():
        person = db_session.get(Person, person_id)
        assert person is not None
        assert ring.decrypt(person.id_number_ciphertext) == number
        assert [p.id for p in find_people(db_session, number, ring).people] == [person_id]
    # ... and a value it writes now is under the newest key, so the resumed run skips it.
    last = db_session.get(Person, max(numbers))
    assert last is not None
    last.id_number_ciphertext = ring.encrypt(numbers[last.id])
    db_session.flush()

    run = rotate_data_key(db_session, ring, batch_size=2, echo=lambda _line: None)

    assert run.rotated["people.id_number"] == 2  # 7 - 4 done before - 1 written by the app
    assert run.scanned["people.id_number"] == 7
    db_session.expire_all()
    alone = _new_alone()
    for person_id, number in numbers.items():
        person = db_session.get(Person, person_id)
        assert person is not None
        assert alone.decrypt(person.id_number_ciphertext) == number
    details = [
        e.detail
        for e in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data_key.rotate").order_by(AuditEvent.id)
        )
    ]
    assert [(d["finished"], d["rotated"]["people.id_number"]) for d in details] == [
        (False, 4),
        (True, 2),
    ]


def test_second_run_changes_nothing(db_session: Session) -> None:
    _populate()
    ring = _ring()
    rotate_data_key(db_session, ring, echo=lambda _line: None)
    db_session.expire_all()
    before = {c.name: _values(db_session, c) for c in ENCRYPTED_COLUMNS}

    run = rotate_data_key(db_session, ring, echo=lambda _line: None)

    assert set(run.rotated.values()) == {0}
    db_session.expire_all()
    assert {c.name: _values(db_session, c) for c in ENCRYPTED_COLUMNS} == before


def test_rotation_stops_at_a_value_no_key_reads(db_session: Session) -> None:
    people = PersonFactory.create_batch(3)
    stranger = DataProtector(new_data_key())
    people[2].id_number_ciphertext = stranger.encrypt("x")
    db_session.flush()
    ring = _ring()
    assert count_by_key(db_session, ring)["people.id_number"] == KeyCounts(0, 2, 1)

    with pytest.raises(DataKeyRotationError, match=f"people.id_number of row {people[2].id}"):
        rotate_data_key(db_session, ring, batch_size=2, echo=lambda _line: None)

    db_session.expire_all()
    assert count_by_key(db_session, ring)["people.id_number"] == KeyCounts(2, 0, 1)


def test_rotation_refuses_a_wrong_index_key(db_session: Session) -> None:
    """An index key that is not the one the stored index was made with would break every lookup
    by ID number: the run stops before writing anything."""
    PersonFactory.create_batch(2)
    db_session.commit()  # (the test's savepoint) the rows exist before the run

    wrong = DataProtector(f"{NEW},{TestConfig.DATA_KEY}", new_data_key())

    with pytest.raises(DataKeyRotationError, match="CAREAPP_INDEX_KEY"):
        rotate_data_key(db_session, wrong, echo=lambda _line: None)

    db_session.expire_all()
    assert count_by_key(db_session, _ring())["people.id_number"] == KeyCounts(0, 2, 0)


def test_the_app_serves_people_half_way_through_a_rotation(
    app: Flask,
    db_session: Session,
    login_as: Callable[[User], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the ring deployed, an administrator logs in (TOTP secret under the old key), finds
    each person by full ID number and reveals it, whichever key it is under."""
    people = PersonFactory.create_batch(2)
    numbers = [TEST_PROTECTOR.decrypt(p.id_number_ciphertext) for p in people]
    ring = _ring()
    data_keys.rotate_batch(
        db_session, ring, ENCRYPTED_COLUMNS[0], after_id=0, batch_size=1
    )  # the first person only
    db_session.flush()
    db_session.expire_all()
    assert [ring.is_current(p.id_number_ciphertext) for p in people] == [True, False]
    monkeypatch.setitem(app.extensions, "careapp.protector", ring)
    client = login_as(UserFactory(admin=True))

    for person, number in zip(people, numbers, strict=True):
        found = client.post("/people/search", data={"q": number})
        assert found.status_code == 200
        assert person.name in found.get_data(as_text=True)
        revealed = client.post(f"/people/{person.id}/reveal-id", data={"reason": "核对身份信息"})
        assert number in revealed.get_data(as_text=True)
