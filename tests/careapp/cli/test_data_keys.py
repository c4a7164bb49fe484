"""`careapp generate-data-key` and `careapp rotate-data-key` (the rotation itself:
tests/careapp/services/test_data_keys.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.cli.secrets import add_data_key, write_secrets
from careapp.config import TestConfig
from careapp.models import AuditEvent
from careapp.security import DataProtector, new_data_key, parse_key_ring
from tests.factories import TEST_PROTECTOR, PersonFactory

ID = "110101194001010018"


def _settings(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_add_data_key_heads_the_ring_and_pins_the_index_key(tmp_path: Path) -> None:
    env = tmp_path / "careapp.env"
    write_secrets(env)
    first = _settings(env)
    before = DataProtector(first["CAREAPP_DATA_KEY"])

    assert add_data_key(env) == 2
    assert add_data_key(env) == 3

    settings = _settings(env)
    ring = settings["CAREAPP_DATA_KEY"].split(",")
    assert len(ring) == 3
    assert ring[2] == first["CAREAPP_DATA_KEY"]
    assert len(parse_key_ring(settings["CAREAPP_DATA_KEY"])) == 3
    assert settings["CAREAPP_SECRET_KEY"] == first["CAREAPP_SECRET_KEY"]
    after = DataProtector(settings["CAREAPP_DATA_KEY"], settings["CAREAPP_INDEX_KEY"])
    assert after.blind_index(ID) == before.blind_index(ID)
    assert after.decrypt(before.encrypt(ID)) == ID
    assert env.read_text().count("CAREAPP_INDEX_KEY=") == 1
    assert env.stat().st_mode & 0o777 == 0o600


def test_add_data_key_refuses_a_file_without_a_valid_key(tmp_path: Path) -> None:
    env = tmp_path / "careapp.env"
    env.write_text("CAREAPP_SECRET_KEY=x\n")
    with pytest.raises(ValueError, match="has no CAREAPP_DATA_KEY"):
        add_data_key(env)
    env.write_text("CAREAPP_DATA_KEY=short\n")
    with pytest.raises(ValueError, match="must be 32 bytes"):
        add_data_key(env)
    assert env.read_text() == "CAREAPP_DATA_KEY=short\n"


def test_generate_data_key_prints_a_key_or_writes_the_file(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture
    printed = runner.invoke(args=["generate-data-key"])
    assert printed.exit_code == 0, printed.output
    assert len(parse_key_ring(printed.stdout.strip())) == 1
    # The suite's config has no index key: the one in use is shown, to pin beside the ring.
    assert f"CAREAPP_INDEX_KEY={TEST_PROTECTOR.index_key_setting()}" in printed.stderr

    env = tmp_path / "careapp.env"
    write_secrets(env)
    written = runner.invoke(args=["generate-data-key", "--env-file", str(env)])
    assert written.exit_code == 0, written.output
    assert "(2 keys)" in written.output
    assert _settings(env)["CAREAPP_DATA_KEY"] not in written.output  # never printed
    missing = runner.invoke(args=["generate-data-key", "--env-file", str(tmp_path / "none")])
    assert missing.exit_code != 0


def test_rotate_command_dry_run_then_rotation(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    PersonFactory.create_batch(3)
    ring = DataProtector(
        f"{new_data_key()},{TestConfig.DATA_KEY}", TEST_PROTECTOR.index_key_setting()
    )
    monkeypatch.setitem(app.extensions, "careapp.protector", ring)
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture

    dry = runner.invoke(args=["rotate-data-key", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "people.id_number: 0 under the newest key, 3 under older keys, 0 unreadable" in (
        dry.output
    )
    assert db_session.scalars(select(AuditEvent)).first() is None

    done = runner.invoke(args=["rotate-data-key", "--batch-size", "2"])
    assert done.exit_code == 0, done.output
    assert "people.id_number: 2 rows scanned, 2 re-encrypted" in done.output
    assert "people.id_number: 3 rows scanned, 3 re-encrypted" in done.output
    assert "done: 3 values re-encrypted" in done.output
    again = runner.invoke(args=["rotate-data-key", "--dry-run"])
    assert "people.id_number: 3 under the newest key, 0 under older keys" in again.output

    assert runner.invoke(args=["rotate-data-key", "--batch-size", "0"]).exit_code == 2


def test_rotate_command_reports_an_unreadable_value(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    PersonFactory(id_number_ciphertext=DataProtector(new_data_key()).encrypt(ID))
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture

    dry = runner.invoke(args=["rotate-data-key", "--dry-run"])
    assert dry.exit_code == 1
    assert "1 unreadable" in dry.output
    failed = runner.invoke(args=["rotate-data-key"])
    assert failed.exit_code == 1
    assert "no key of CAREAPP_DATA_KEY reads it; stopped" in failed.output
