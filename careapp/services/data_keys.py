"""Data-key rotation: every encrypted column re-encrypted under the newest key of the ring.

The columns are listed once, in ENCRYPTED_COLUMNS (a new encrypted column must be added here, or
a rotation would leave it under a key about to be removed; a test checks the list against the
models). `rotate_batch` re-encrypts one batch of one column and flushes; the caller (`careapp
rotate-data-key`, careapp/cli/data_keys.py) commits after each batch, so a rotation is a run of
short transactions that the app's own writes interleave with, and that a second run resumes:
a value already under the newest key is left alone (docs/operations.md, "Rotating the data key").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from careapp.db import Base
from careapp.models.people import Person
from careapp.models.providers import Caregiver
from careapp.models.users import User
from careapp.security import DataProtector


class DataKeyRotationError(RuntimeError):
    """A stored value no key of the ring reads, or whose lookup index does not match."""


@dataclass(frozen=True)
class EncryptedColumn:
    name: str  # "<table>.<value>", as printed and audited
    model: type[Base]
    id: InstrumentedAttribute[int]
    ciphertext: InstrumentedAttribute[Any]  # bytes, or bytes | None
    index: InstrumentedAttribute[Any] | None  # the blind index of the same value, if any


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(
        "people.id_number", Person, Person.id, Person.id_number_ciphertext, Person.id_number_index
    ),
    EncryptedColumn(
        "caregivers.id_number",
        Caregiver,
        Caregiver.id,
        Caregiver.id_number_ciphertext,
        Caregiver.id_number_index,
    ),
    EncryptedColumn("users.totp_secret", User, User.id, User.totp_secret_ciphertext, None),
)


@dataclass(frozen=True)
class KeyCounts:
    """How many values of a column are under the newest key, under an older one, or unreadable."""

    current: int = 0
    stale: int = 0
    unreadable: int = 0


@dataclass(frozen=True)
class Batch:
    last_id: int | None  # None: the column has no rows after `after_id`
    scanned: int
    rotated: int


def _rows(
    session: Session, column: EncryptedColumn, after_id: int, limit: int, *, lock: bool
) -> list[Any]:
    columns = [column.id, column.ciphertext] + ([column.index] if column.index else [])
    statement = (
        select(*columns)
        .where(column.id > after_id, column.ciphertext.is_not(None))
        .order_by(column.id)
        .limit(limit)
    )
    if lock:  # PostgreSQL: the app's writes to these rows wait for the batch (a few ms)
        statement = statement.with_for_update()
    return list(session.execute(statement).all())


def count_by_key(
    session: Session, protector: DataProtector, *, batch_size: int = 500
) -> dict[str, KeyCounts]:
    """Each encrypted column's values by key (for `--dry-run`), read batch by batch."""
    counts: dict[str, KeyCounts] = {}
    for column in ENCRYPTED_COLUMNS:
        current = stale = unreadable = 0
        after_id = 0
        while rows := _rows(session, column, after_id, batch_size, lock=False):
            for row in rows:
                token = bytes(row[1])
                if protector.is_current(token):
                    current += 1
                else:
                    try:
                        protector.decrypt(token)
                    except InvalidToken:
                        unreadable += 1
                    else:
                        stale += 1
            after_id = rows[-1][0]
        counts[column.name] = KeyCounts(current, stale, unreadable)
    return counts


def rotate_batch(
    session: Session,
    protector: DataProtector,
    column: EncryptedColumn,
    *,
    after_id: int,
    batch_size: int,
) -> Batch:
    """Re-encrypt under the newest key the values of the next `batch_size` rows of `column` (by
    id, after `after_id`) that are under an older key; flush, never commit. Each value's blind
    index is checked against its plaintext first, so a wrong CAREAPP_INDEX_KEY stops the run
    before it writes anything."""
    rows = _rows(session, column, after_id, batch_size, lock=True)
    if not rows:
        return Batch(None, 0, 0)
    changes: list[dict[str, Any]] = []
    for row in rows:
        token = bytes(row[1])
        if protector.is_current(token):
            continue
        try:
            plaintext = protector.decrypt(token)
        except InvalidToken:
            raise DataKeyRotationError(
                f"{column.name} of row {row[0]}: no key of CAREAPP_DATA_KEY reads it"
            ) from None
        if column.index is not None and row[2] != protector.blind_index(plaintext):
            raise DataKeyRotationError(
                f"{column.name} of row {row[0]}: its lookup index does not match; "
                "CAREAPP_INDEX_KEY is not the key the index was made with"
            )
        changes.append({"id": row[0], column.ciphertext.key: protector.rotate(token)})
    if changes:
        session.execute(update(column.model), changes)
    return Batch(rows[-1][0], len(rows), len(changes))
