"""Secrets handling: password hashing, field encryption and the blind index for ID numbers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_password_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to compare against when the user does not exist, so timing does not reveal it.
DUMMY_PASSWORD_HASH = _password_hasher.hash(secrets.token_urlsafe(16))


class DataKeyError(ValueError):
    """CAREAPP_DATA_KEY or CAREAPP_INDEX_KEY is malformed (the message never shows a key)."""


class DataProtector:
    """Encrypts sensitive fields and computes their keyed-hash lookup index.

    `data_keys` is the data key ring, CAREAPP_DATA_KEY: one key, or several separated by commas,
    newest first (each 32 bytes, urlsafe-base64). Each key's Fernet key is derived from it with
    HKDF; the ring is a `MultiFernet`: new values are encrypted under the newest key, values under
    any key of the ring are read (docs/operations.md, "Rotating the data key").

    The blind index must not change when the data key does (every stored index would stop
    matching), so its key is CAREAPP_INDEX_KEY when set, else derived (HKDF) from the ring's
    only key, as it always was; a ring of several keys needs CAREAPP_INDEX_KEY.
    """

    def __init__(self, data_keys: str, index_key: str | None = None) -> None:
        masters = parse_key_ring(data_keys)
        self._fernets = [
            Fernet(base64.urlsafe_b64encode(_derive(raw, b"careapp field encryption")))
            for raw in masters
        ]
        self._ring = MultiFernet(self._fernets)
        if index_key:
            self._index_key = _decode_key(index_key, "CAREAPP_INDEX_KEY")
        elif len(masters) == 1:
            self._index_key = derived_index_key(masters[0])
        else:
            raise DataKeyError(
                f"CAREAPP_DATA_KEY holds {len(masters)} keys: set CAREAPP_INDEX_KEY too (the "
                "lookup index of ID numbers must not change with the data key; "
                "`careapp generate-data-key --env-file FILE` writes both)"
            )

    @property
    def key_count(self) -> int:
        return len(self._fernets)

    def encrypt(self, plaintext: str) -> bytes:
        return self._ring.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        return self._ring.decrypt(ciphertext).decode()

    def is_current(self, ciphertext: bytes) -> bool:
        """Whether `ciphertext` is under the newest key (Fernet tokens name no key: try it)."""
        try:
            self._fernets[0].decrypt(ciphertext)
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: bytes) -> bytes:
        """The same value encrypted under the newest key (InvalidToken if no key reads it)."""
        return self._ring.rotate(ciphertext)

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()

    def index_key_setting(self) -> str:
        """The blind index's key as a CAREAPP_INDEX_KEY value (to pin it before a rotation)."""
        return base64.urlsafe_b64encode(self._index_key).decode()


def parse_key_ring(data_keys: str) -> list[bytes]:
    """The raw keys of CAREAPP_DATA_KEY, newest first; DataKeyError names the faulty one."""
    parts = [part.strip() for part in data_keys.split(",")]
    if not any(parts):
        raise DataKeyError("CAREAPP_DATA_KEY is empty")
    masters = []
    for position, part in enumerate(parts, start=1):
        name = "CAREAPP_DATA_KEY" if len(parts) == 1 else f"CAREAPP_DATA_KEY (key {position})"
        masters.append(_decode_key(part, name))
    if len(set(masters)) != len(masters):
        raise DataKeyError("CAREAPP_DATA_KEY holds the same key twice")
    return masters


def derived_index_key(master: bytes) -> bytes:
    return _derive(master, b"careapp blind index")


def _decode_key(text: str, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise DataKeyError(f"{name} must be 32 bytes, urlsafe-base64 encoded")
    return raw


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def new_data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def new_token() -> str:
    """A URL-safe one-time token (e.g. for rating links); store only its hash."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def protector() -> DataProtector:
    """The app's DataProtector (for views and jobs; services receive it as an argument)."""
    from flask import current_app

    found: DataProtector = current_app.extensions["careapp.protector"]
    return found
