"""The electronic seal (电子签章): a PDF digital signature made with the scheme's key (pyHanko).

The signature is visible: its field's appearance is the office's round red seal (电子印章: a
red ring, the office's name round the top, a star in the centre), drawn where the document
reserved it (`pdf.SealPlace`). Being the signature's own appearance, it cannot be copied apart
from the signature onto another document and still verify.

The key and its self-signed X.509 certificate are created once at set-up
(`careapp create-signing-key`, or `python -m careapp.cli.secrets` used by `make run`) and are never
committed. Signing is an incremental update of the finished PDF, so any change to the signed
bytes afterwards makes the signature fail to verify.
"""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import functools
import io
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from careapp.core.clock import utcnow
from careapp.reports.pdf import SEAL_ANCHOR, SEAL_SIZE, register_fonts

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


def _metadata(office_name: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        name=office_name,
        reason="长期护理保险电子签章",
        location="中国",
    )


# --- the seal's appearance ------------------------------------------------------------------

SEAL_RED = Color(0.85, 0.07, 0.09)  # 印泥红
SEAL_LABEL = "电子印章"
# Where the seal goes in a PDF that reserved no place: the last page's lower right corner.
_FALLBACK_BOX = (400, 70, 400 + round(SEAL_SIZE), 70 + round(SEAL_SIZE))


@functools.lru_cache(maxsize=8)
def seal_artwork(office_name: str) -> bytes:
    """A one-page PDF, SEAL_SIZE square: the round red seal of `office_name` (vector art, the
    embedded CJK font), imported as the signature field's appearance."""
    font = register_fonts()
    size = SEAL_SIZE
    buffer = io.BytesIO()
    options: dict[str, Any] = {"initialFontName": font}  # no unembedded Helvetica referenced
    canvas = Canvas(buffer, pagesize=(size, size), **options)
    centre = size / 2
    ring = 0.035 * size
    radius = size / 2 - ring / 2 - 0.5
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(ring)
    canvas.circle(centre, centre, radius, stroke=1, fill=0)
    # The five-pointed star in the centre.
    outer, inner = 0.17 * size, 0.17 * size * 0.382
    star = canvas.beginPath()
    for point in range(10):
        angle = math.pi / 2 + point * math.pi / 5
        reach = outer if point % 2 == 0 else inner
        x, y = centre + reach * math.cos(angle), centre + reach * math.sin(angle)
        if point == 0:
            star.moveTo(x, y)
        else:
            star.lineTo(x, y)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)
    # The office's name round the top, each character upright towards the ring.
    name = office_name.strip() or SIGNER_NAME
    font_size = 0.125 * size
    baseline = radius - ring / 2 - 0.02 * size - font_size * 0.86
    max_span = math.radians(250)
    step = font_size * 1.08 / baseline
    if step * (len(name) - 1) > max_span:  # a long name: smaller characters, closer together
        font_size *= max_span / (step * (len(name) - 1))
        baseline = radius - ring / 2 - 0.02 * size - font_size * 0.86
        step = max_span / (len(name) - 1)
    span = step * (len(name) - 1)
    canvas.setFont(font, font_size)
    for index, character in enumerate(name):
        angle = -span / 2 + index * step  # from the top, clockwise
        canvas.saveState()
        canvas.translate(centre + baseline * math.sin(angle), centre + baseline * math.cos(angle))
        canvas.rotate(-math.degrees(angle))
        canvas.drawCentredString(0, 0, character)
        canvas.restoreState()
    canvas.setFont(font, 0.085 * size)
    canvas.drawCentredString(centre, centre - 0.30 * size, SEAL_LABEL)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _SealArtwork(content.PdfContent):
    """The seal's artwork (a PDF page held in memory) as a form XObject of the signed file."""

    def __init__(self, artwork: bytes) -> None:
        super().__init__()
        self.artwork = artwork

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.artwork)), 0)
        name = "/Seal" + binascii.hexlify(uuid.uuid4().bytes).decode("ascii")
        self.resources.xobject[name] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name.encode("ascii") + b" Do"


def _stamp_style(office_name: str) -> StaticStampStyle:
    return StaticStampStyle(
        border_width=0,  # a round seal: no box round it
        background=_SealArtwork(seal_artwork(office_name)),
        background_opacity=0.9,  # the sign-off's date shows through, as under real ink
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )


def seal_place(writer: IncrementalPdfFileWriter) -> tuple[int, tuple[int, int, int, int]]:
    """The page and box the document reserved for its seal (the first link annotation named
    SEAL_ANCHOR); the last page's lower right corner when it reserved none."""
    for index, page in enumerate(_pages(writer.root["/Pages"])):
        for annotation in page.get("/Annots", generic.ArrayObject()):
            annotation = annotation.get_object()
            if str(annotation.get("/NM", "")) == SEAL_ANCHOR:
                left, bottom, right, top = (float(value) for value in annotation["/Rect"])
                return index, (round(left), round(bottom), round(right), round(top))
    return -1, _FALLBACK_BOX


def _pages(node: Any) -> Iterator[Any]:
    """The pages of a page tree, in order (lazily: the seal is usually on an early page)."""
    for kid in node["/Kids"]:
        page = kid.get_object()
        if page.get("/Type") == "/Pages":
            yield from _pages(page)
        else:
            yield page


def _pdf_signer(
    writer: IncrementalPdfFileWriter, signer: signers.SimpleSigner, office_name: str
) -> signers.PdfSigner:
    page, box = seal_place(writer)
    return signers.PdfSigner(
        _metadata(office_name),
        signer,
        stamp_style=_stamp_style(office_name),
        new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD, on_page=page, box=box),
    )


def seal_pdf(data: bytes, signer: signers.SimpleSigner, *, office_name: str = SIGNER_NAME) -> bytes:
    """The PDF `data` with the seal appended (an incremental update holding the signature and
    its visible appearance, the round seal of `office_name`)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    output = io.BytesIO()
    pdf_signer = _pdf_signer(writer, signer, office_name)
    _outside_event_loop(
        lambda: pdf_signer.sign_pdf(writer, bytes_reserved=SIGNATURE_BYTES, output=output)
    )
    return output.getvalue()


def seal_pdf_file(
    path: Path, signer: signers.SimpleSigner, *, office_name: str = SIGNER_NAME
) -> None:
    """Seal the PDF at `path` in place; the file is streamed, never read whole into memory."""
    with path.open("rb+") as stream:
        writer = IncrementalPdfFileWriter(stream, strict=False)
        pdf_signer = _pdf_signer(writer, signer, office_name)
        _outside_event_loop(
            lambda: pdf_signer.sign_pdf(writer, bytes_reserved=SIGNATURE_BYTES, in_place=True)
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
