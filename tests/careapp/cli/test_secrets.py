"""`python -m careapp.cli.secrets`: the env file and the electronic seal's key, created once."""

from __future__ import annotations

from pathlib import Path

from careapp.cli.secrets import write_secrets, write_signing_key
from careapp.reports.pdf import render_assessment_conclusion
from careapp.reports.seal import check_seal, load_signer, seal_pdf
from tests.factories import CONCLUSION_DATA


def test_write_signing_key_creates_the_key_once_and_records_its_paths(tmp_path: Path) -> None:
    env = tmp_path / "careapp.env"
    assert write_secrets(env)
    assert write_signing_key(env)
    settings = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    key, cert = settings["CAREAPP_SIGNING_KEY_PATH"], settings["CAREAPP_SIGNING_CERT_PATH"]
    assert Path(key).is_file()
    assert Path(cert).is_file()
    assert "CAREAPP_SECRET_KEY" in settings
    before = Path(key).read_bytes()
    assert not write_signing_key(env)  # a second `make run` keeps the key
    assert Path(key).read_bytes() == before
    assert env.read_text().count("CAREAPP_SIGNING_KEY_PATH=") == 1
    sealed = seal_pdf(render_assessment_conclusion(CONCLUSION_DATA), load_signer(key, cert))
    assert check_seal(sealed, cert).is_valid


def test_write_signing_key_reuses_existing_files(tmp_path: Path) -> None:
    env = tmp_path / "careapp.env"
    env.write_text("CAREAPP_SECRET_KEY=x")  # no final newline
    assert write_signing_key(env)
    (tmp_path / "other.env").write_text("")
    assert not write_signing_key(tmp_path / "other.env")  # the files exist: only recorded
    assert "CAREAPP_SIGNING_KEY_PATH=" in (tmp_path / "other.env").read_text()
    assert env.read_text().startswith("CAREAPP_SECRET_KEY=x\nCAREAPP_SIGNING_KEY_PATH=")


def test_test_config_makes_a_throwaway_seal_key(app) -> None:  # type: ignore[no-untyped-def]  # the session app sets the database URL
    from careapp import create_app
    from careapp.config import Config, TestConfig

    fresh = create_app(TestConfig)
    key, cert = fresh.config["SIGNING_KEY_PATH"], fresh.config["SIGNING_CERT_PATH"]
    assert Path(key).is_file()
    sealed = seal_pdf(render_assessment_conclusion(CONCLUSION_DATA), load_signer(key, cert))
    assert check_seal(sealed, cert).is_valid
    assert Config.SIGNING_KEY_EPHEMERAL is False  # production never invents a key
    fresh.extensions["careapp.engine"].dispose()
