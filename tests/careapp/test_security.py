"""The data key ring (careapp.security.DataProtector): encrypt with the newest key, read with any,
a blind index that never changes with the data key, and clear errors for a malformed ring."""

from __future__ import annotations

import pytest
from cryptography.fernet import InvalidToken

from careapp import create_app
from careapp.config import ConfigError, TestConfig
from careapp.security import DataKeyError, DataProtector, new_data_key

OLD, NEW = new_data_key(), new_data_key()
ID = "110101194001010018"


def test_one_key_reads_and_indexes_as_before() -> None:
    """A single key (every installation so far) keeps its ciphertexts and its index."""
    protector = DataProtector(TestConfig.DATA_KEY)
    token = protector.encrypt(ID)
    assert protector.decrypt(token) == ID
    assert protector.is_current(token)
    assert protector.key_count == 1
    assert DataProtector(TestConfig.DATA_KEY).blind_index(ID) == protector.blind_index(ID)


def test_ring_encrypts_with_the_newest_key_and_reads_every_key() -> None:
    old = DataProtector(OLD)
    ring = DataProtector(f"{NEW}, {OLD}", old.index_key_setting())
    under_old = old.encrypt(ID)
    assert ring.decrypt(under_old) == ID
    assert not ring.is_current(under_old)
    rotated = ring.rotate(under_old)
    assert ring.is_current(rotated)
    assert ring.decrypt(rotated) == ID
    # After the rotation the new key alone reads it, and the old key no longer does.
    new_alone = DataProtector(NEW, old.index_key_setting())
    assert new_alone.decrypt(rotated) == ID
    assert new_alone.decrypt(ring.encrypt(ID)) == ID
    with pytest.raises(InvalidToken):
        old.decrypt(rotated)


def test_blind_index_stays_when_the_data_key_changes() -> None:
    old = DataProtector(OLD)
    pinned = old.index_key_setting()
    assert DataProtector(f"{NEW},{OLD}", pinned).blind_index(ID) == old.blind_index(ID)
    assert DataProtector(NEW, pinned).blind_index(ID) == old.blind_index(ID)
    assert DataProtector(NEW).blind_index(ID) != old.blind_index(ID)  # why it is pinned


def test_rotate_refuses_a_value_under_no_key_of_the_ring() -> None:
    stranger = DataProtector(new_data_key()).encrypt(ID)
    with pytest.raises(InvalidToken):
        DataProtector(OLD).rotate(stranger)


@pytest.mark.parametrize(
    ("data_keys", "index_key", "message"),
    [
        ("", None, "CAREAPP_DATA_KEY is empty"),
        ("not-a-key", None, "CAREAPP_DATA_KEY must be 32 bytes"),
        (f"{NEW},short", "x", r"CAREAPP_DATA_KEY \(key 2\) must be 32 bytes"),
        (f"{NEW},{NEW}", None, "the same key twice"),
        (f"{NEW},{OLD}", None, "holds 2 keys: set CAREAPP_INDEX_KEY"),
        (NEW, "dG9vIHNob3J0", "CAREAPP_INDEX_KEY must be 32 bytes"),
    ],
)
def test_malformed_ring_is_refused_without_showing_a_key(
    data_keys: str, index_key: str | None, message: str
) -> None:
    with pytest.raises(DataKeyError, match=message) as raised:
        DataProtector(data_keys, index_key)
    assert NEW not in str(raised.value)
    assert OLD not in str(raised.value)


def test_app_refuses_to_start_with_a_ring_and_no_index_key(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("CAREAPP_DATABASE_URL", database_url)
    monkeypatch.setenv("CAREAPP_DATA_KEY", f"{NEW},{OLD}")
    with pytest.raises(ConfigError, match="CAREAPP_INDEX_KEY"):
        create_app(TestConfig)
    monkeypatch.setenv("CAREAPP_INDEX_KEY", DataProtector(OLD).index_key_setting())
    app = create_app(TestConfig)
    assert app.extensions["careapp.protector"].key_count == 2
    app.extensions["careapp.engine"].dispose()
