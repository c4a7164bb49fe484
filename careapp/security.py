"""Secrets handling: password hashing, field encryption and the blind index for ID numbers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet
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


class DataProtector:
    """Encrypts sensitive fields and computes their keyed-hash lookup index.

    Both keys are derived from one master key (CAREAPP_DATA_KEY) with HKDF, so that the
    encryption key and the index key are independent.
    """

    def __init__(self, master_key: str) -> None:
        raw = base64.urlsafe_b64decode(master_key.encode())
        if len(raw) != 32:
            raise ValueError("CAREAPP_DATA_KEY must be 32 bytes, urlsafe-base64 encoded")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(raw, b"careapp field encryption")))
        self._index_key = _derive(raw, b"careapp blind index")

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        return self._fernet.decrypt(ciphertext).decode()

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()


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
