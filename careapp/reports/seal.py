"""The electronic seal (电子签章): a PDF digital signature made with the scheme's key (pyHanko).

The key and its self-signed X.509 certificate are created once at set-up
(`careapp create-signing-key`, or `python -m careapp.secrets` used by `make run`) and are never
committed. Signing is an incremental update of the finished PDF, so any change to the signed
bytes afterwards makes the signature fail to verify.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from careapp.clock import utcnow

SIGNATURE_FIELD = "CareInsuranceSeal"
SIGNER_NAME = "长期护理保险经办机构"
KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
CERT_VALID_YEARS = 10
# Room for the CMS signature (P-256 signature, certificate, signed attributes: about 1.5 KB).
# Given explicitly, pyHanko skips signing a dummy document to estimate it (half its work).
SIGNATURE_BYTES = 8192


T = TypeVar("T")


def _outside_event_loop(work: Callable[[], T]) -> T:
    """Run pyHanko's synchronous API, which calls `asyncio.run`, even where this thread already
    runs an event loop (an async host, Playwright's sync API in the browser tests): then the work
    goes to a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


class SealError(RuntimeError):
    """The signing key is missing or unusable: no document can be issued without the seal."""


@dataclass(frozen=True)
class SigningFiles:
    key_path: Path
    cert_path: Path


def create_signing_key(
    directory: Path,
    *,
    common_name: str = SIGNER_NAME,
    now: dt.datetime | None = None,
    overwrite: bool = False,
) -> SigningFiles:
    """Write a new P-256 key (mode 0600) and a self-signed certificate for it to `directory`.

    Existing files are kept unless `overwrite` (a new key would leave the printed certificates
    verifiable only against the old certificate).
    """
    files = SigningFiles(directory / KEY_FILE, directory / CERT_FILE)
    if not overwrite and (files.key_path.exists() or files.cert_path.exists()):
        raise FileExistsError(f"{files.key_path} or {files.cert_path} already exists")
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    moment = now or utcnow()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - dt.timedelta(days=1))
        .not_valid_after(moment + dt.timedelta(days=365 * CERT_VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: a seal, not just authentication
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    files.key_path.touch(mode=0o600, exist_ok=True)
    files.key_path.chmod(0o600)
    files.key_path.write_bytes(key_pem)
    files.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return files


_signers: dict[tuple[str, str, float, float], signers.SimpleSigner] = {}
_signers_lock = threading.Lock()


def load_signer(key_path: str | Path | None, cert_path: str | Path | None) -> signers.SimpleSigner:
    """The signer of the configured key and certificate (cached per file version)."""
    if not key_path or not cert_path:
        raise SealError("no signing key is configured (SIGNING_KEY_PATH, SIGNING_CERT_PATH)")
    key, cert = Path(key_path), Path(cert_path)
    try:
        cache_key = (str(key), str(cert), key.stat().st_mtime, cert.stat().st_mtime)
    except OSError as error:
        raise SealError(f"the signing key or certificate cannot be read: {error}") from error
    with _signers_lock:
        signer = _signers.get(cache_key)
        if signer is None:
            loaded = signers.SimpleSigner.load(str(key), str(cert))
            if loaded is None:
                raise SealError(f"the signing key {key} or certificate {cert} is not usable")
            signer = loaded
            _signers[cache_key] = signer
    return signer


def _metadata() -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        name=SIGNER_NAME,
        reason="长期护理保险电子签章",
        location="中国",
    )


def seal_pdf(data: bytes, signer: signers.SimpleSigner) -> bytes:
    """The PDF `data` with the seal appended (an incremental update holding the signature)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    output = io.BytesIO()
    _outside_event_loop(
        lambda: signers.sign_pdf(
            writer, _metadata(), signer=signer, output=output, bytes_reserved=SIGNATURE_BYTES
        )
    )
    return output.getvalue()


def seal_pdf_file(path: Path, signer: signers.SimpleSigner) -> None:
    """Seal the PDF at `path` in place; the file is streamed, never read whole into memory."""
    with path.open("rb+") as stream:
        writer = IncrementalPdfFileWriter(stream, strict=False)
        _outside_event_loop(
            lambda: signers.sign_pdf(
                writer, _metadata(), signer=signer, in_place=True, bytes_reserved=SIGNATURE_BYTES
            )
        )


@dataclass(frozen=True)
class SealStatus:
    """What validating the seal of a PDF found."""

    is_signed: bool
    is_intact: bool  # the signed bytes are unchanged and the signature matches them
    is_trusted: bool  # the signer's certificate chains to the trusted certificate
    covers_whole_file: bool  # nothing was appended after the signature

    @property
    def is_valid(self) -> bool:
        return self.is_signed and self.is_intact and self.is_trusted and self.covers_whole_file


def check_seal(data: bytes | IO[bytes], trusted_cert_path: str | Path) -> SealStatus:
    """Validate the (last) seal of a PDF against the scheme's certificate as the trust root."""
    stream: Any = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        reader = PdfFileReader(stream, strict=False)
        signatures = reader.embedded_signatures
    except Exception:
        return SealStatus(False, False, False, False)
    if not signatures:
        return SealStatus(False, False, False, False)
    root = load_cert_from_pemder(str(trusted_cert_path))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    try:
        status = _outside_event_loop(lambda: validate_pdf_signature(signatures[-1], context))
    except Exception:
        return SealStatus(True, False, False, False)
    return SealStatus(
        is_signed=True,
        is_intact=bool(status.intact and status.valid),
        is_trusted=bool(status.trusted),
        covers_whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
    )
