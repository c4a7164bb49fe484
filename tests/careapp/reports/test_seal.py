"""The electronic seal: key set-up, signing, and validation against the scheme's certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from careapp.reports.pdf import SEAL_ANCHOR, SEAL_SIZE, render_assessment_conclusion
from careapp.reports.seal import (
    SealError,
    check_seal,
    create_signing_key,
    load_signer,
    seal_artwork,
    seal_pdf,
    seal_pdf_file,
)
from tests.careapp.reports.pdf_checks import flat, pdftotext, run_tool
from tests.factories import CONCLUSION_DATA, NOW


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]  # SigningFiles
    return create_signing_key(tmp_path_factory.mktemp("seal"))


@pytest.fixture(scope="module")
def sealed(keys) -> bytes:  # type: ignore[no-untyped-def]
    return seal_pdf(
        render_assessment_conclusion(CONCLUSION_DATA), load_signer(keys.key_path, keys.cert_path)
    )


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
    status = check_seal(render_assessment_conclusion(CONCLUSION_DATA), keys.cert_path)
    assert not status.is_signed
    assert not status.is_valid
    assert not check_seal(b"not a pdf", keys.cert_path).is_valid


def test_seal_pdf_file_seals_in_place(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.pdf"
    original = render_assessment_conclusion(CONCLUSION_DATA)
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
        sealed = seal_pdf(render_assessment_conclusion(CONCLUSION_DATA), signer)
        return check_seal(sealed, keys.cert_path).is_valid

    # In a thread of its own: this test may itself run under Playwright's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result()


# --- the visible seal: a round red stamp as the signature's own appearance -----------------

OFFICE = "南通市长期护理保险经办中心"


def _signature_widget(pdf: bytes) -> tuple[int, Any]:
    """The page index and the widget annotation of the seal's signature field."""
    reader = PdfReader(io.BytesIO(pdf))
    for index, page in enumerate(reader.pages):
        for annotation in page.get("/Annots", []):
            annotation = annotation.get_object()
            if annotation.get("/FT") == "/Sig":
                return index, annotation
    raise AssertionError("no signature widget")


def _red_share(pdf: bytes, tmp_path: Path, page: int, box: tuple[float, ...]) -> float:
    """The share of clearly red pixels inside `box` (PDF points) of a page rendered at 72 dpi."""
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    number = str(page + 1)
    run_tool(
        "pdftoppm", "-png", "-r", "72", "-f", number, "-l", number, str(path), str(tmp_path / "s")
    )
    (image_path,) = tmp_path.glob("s-*.png")
    with Image.open(image_path) as image:
        rgb = image.convert("RGB")
        left, bottom, right, top = box
        height = rgb.size[1]
        crop = rgb.crop((int(left), int(height - top), int(right), int(height - bottom)))
        width, rows = crop.size
        pixels = [crop.getpixel((x, y)) for x in range(width) for y in range(rows)]
    red = sum(1 for r, g, b in pixels if r > 180 and g < 110 and b < 110)  # type: ignore[misc]  # RGB tuples
    return red / len(pixels)


def test_the_seal_is_visible_in_the_reserved_place(keys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = render_assessment_conclusion(CONCLUSION_DATA)
    sealed = seal_pdf(pdf, load_signer(keys.key_path, keys.cert_path), office_name=OFFICE)
    page, widget = _signature_widget(sealed)
    left, bottom, right, top = (float(v) for v in widget["/Rect"])
    assert right - left == pytest.approx(SEAL_SIZE, abs=2)  # visible: a real box, not 0 x 0
    assert top - bottom == pytest.approx(SEAL_SIZE, abs=2)
    appearance = widget["/AP"]["/N"].get_object()
    assert appearance.get_data()  # the stamp's appearance stream draws the seal
    # Where the document reserved it: the sign-off's link to the verification page.
    reserved = next(
        a.get_object()
        for a in PdfReader(io.BytesIO(pdf)).pages[page]["/Annots"]
        if a.get_object().get("/NM") == SEAL_ANCHOR
    )
    assert [round(float(v)) for v in reserved["/Rect"]] == [
        round(left),
        round(bottom),
        round(right),
        round(top),
    ]
    assert reserved["/A"]["/URI"] == CONCLUSION_DATA.verify_url
    assert _red_share(sealed, tmp_path, page, (left, bottom, right, top)) > 0.08
    assert check_seal(sealed, keys.cert_path).is_valid  # the visible seal is the signature


def test_the_unsealed_document_shows_no_seal(tmp_path: Path) -> None:
    """The red seal comes with the signature only: the document alone has none to copy."""
    pdf = render_assessment_conclusion(CONCLUSION_DATA)
    reader = PdfReader(io.BytesIO(pdf))
    reserved = next(
        a.get_object() for a in reader.pages[-1]["/Annots"] if a.get_object().get("/NM")
    )
    box = tuple(float(v) for v in reserved["/Rect"])
    assert _red_share(pdf, tmp_path, len(reader.pages) - 1, box) == 0


def test_seal_artwork_is_a_red_ring_with_the_office_name(tmp_path: Path) -> None:
    artwork = seal_artwork(OFFICE)
    text = flat(pdftotext(artwork, tmp_path))
    for character in OFFICE + "电子印章":
        assert character in text
    assert _red_share(artwork, tmp_path, 0, (0, 0, SEAL_SIZE, SEAL_SIZE)) > 0.08


def test_a_pdf_without_a_reserved_place_is_sealed_on_its_last_page(keys) -> None:  # type: ignore[no-untyped-def]
    canvas_buffer = io.BytesIO()
    canvas = Canvas(canvas_buffer)
    canvas.drawString(100, 700, "one")
    canvas.showPage()
    canvas.drawString(100, 700, "two")
    canvas.showPage()
    canvas.save()
    sealed = seal_pdf(canvas_buffer.getvalue(), load_signer(keys.key_path, keys.cert_path))
    page, widget = _signature_widget(sealed)
    assert page == 1
    left, bottom, right, top = (float(v) for v in widget["/Rect"])
    assert right > left
    assert top > bottom
    assert check_seal(sealed, keys.cert_path).is_valid
