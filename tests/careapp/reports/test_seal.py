"""The electronic seal: key set-up, signing, and validation against the scheme's certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509

from careapp.reports.pdf import render_assessment_conclusion
from careapp.reports.seal import (
    SealError,
    check_seal,
    create_signing_key,
    load_signer,
    seal_pdf,
    seal_pdf_file,
)
from tests.careapp.reports.test_pdf import DATA
from tests.conftest import NOW


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]  # SigningFiles
    return create_signing_key(tmp_path_factory.mktemp("seal"))


@pytest.fixture(scope="module")
def sealed(keys) -> bytes:  # type: ignore[no-untyped-def]
    return seal_pdf(render_assessment_conclusion(DATA), load_signer(keys.key_path, keys.cert_path))


def test_create_signing_key_writes_a_private_key_and_a_self_signed_certificate(keys) -> None:  # type: ignore[no-untyped-def]
    assert stat.S_IMODE(keys.key_path.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(keys.cert_path.read_bytes())
    assert certificate.issuer == certificate.subject
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert certificate.not_valid_after_utc > NOW + dt.timedelta(days=3000)


def test_create_signing_key_never_replaces_a_key_unless_forced(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = keys.key_path.read_bytes()
    with pytest.raises(FileExistsError):
        create_signing_key(keys.key_path.parent)
    assert keys.key_path.read_bytes() == before
    fresh = create_signing_key(tmp_path)
    replaced = create_signing_key(tmp_path, overwrite=True)
    assert replaced.key_path == fresh.key_path


def test_seal_verifies_against_the_scheme_certificate(sealed: bytes, keys) -> None:  # type: ignore[no-untyped-def]
    status = check_seal(sealed, keys.cert_path)
    assert status.is_signed
    assert status.is_intact
    assert status.is_trusted
    assert status.covers_whole_file
    assert status.is_valid


def test_seal_is_not_trusted_under_another_certificate(sealed: bytes, tmp_path: Path) -> None:
    other = create_signing_key(tmp_path)
    status = check_seal(sealed, other.cert_path)
    assert status.is_intact  # the bytes are unchanged ...
    assert not status.is_trusted  # ... but another key made the seal
    assert not status.is_valid


def test_one_changed_byte_in_the_content_breaks_the_seal(sealed: bytes, keys) -> None:  # type: ignore[no-untyped-def]
    position = sealed.index(b"stream") + 40  # inside the first content stream
    tampered = bytearray(sealed)
    tampered[position] ^= 0x01
    assert bytes(tampered) != sealed
    status = check_seal(bytes(tampered), keys.cert_path)
    assert not status.is_intact
    assert not status.is_valid


def test_one_changed_byte_anywhere_in_the_signed_range_breaks_the_seal(
    sealed: bytes,
    keys,  # type: ignore[no-untyped-def]
) -> None:
    position = sealed.index(b"ReportLab Generated PDF document")  # a comment near the top
    tampered = sealed[:position] + b"r" + sealed[position + 1 :]
    assert len(tampered) == len(sealed)
    assert not check_seal(tampered, keys.cert_path).is_valid


def test_an_unsigned_pdf_has_no_valid_seal(keys) -> None:  # type: ignore[no-untyped-def]
    status = check_seal(render_assessment_conclusion(DATA), keys.cert_path)
    assert not status.is_signed
    assert not status.is_valid
    assert not check_seal(b"not a pdf", keys.cert_path).is_valid


def test_seal_pdf_file_seals_in_place(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.pdf"
    original = render_assessment_conclusion(DATA)
    path.write_bytes(original)
    seal_pdf_file(path, load_signer(keys.key_path, keys.cert_path))
    data = path.read_bytes()
    assert data.startswith(original)  # an incremental update: the original bytes are kept
    assert check_seal(data, keys.cert_path).is_valid


@pytest.mark.parametrize(
    ("key", "cert"), [(None, None), ("", "x"), ("/nonexistent/key.pem", "/nonexistent/c.pem")]
)
def test_load_signer_refuses_a_missing_key(key: str | None, cert: str | None) -> None:
    with pytest.raises(SealError):
        load_signer(key, cert)


def test_load_signer_refuses_an_unreadable_key(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_text("not a key")
    cert.write_text("not a certificate")
    with pytest.raises(SealError):
        load_signer(key, cert)


def test_seal_and_check_work_inside_a_running_event_loop(keys) -> None:  # type: ignore[no-untyped-def]
    """pyHanko's sync API calls asyncio.run; a host already running a loop must still seal."""
    signer = load_signer(keys.key_path, keys.cert_path)

    async def inside_a_loop() -> bool:
        sealed = seal_pdf(render_assessment_conclusion(DATA), signer)
        return check_seal(sealed, keys.cert_path).is_valid

    # In a thread of its own: this test may itself run under Playwright's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result()
