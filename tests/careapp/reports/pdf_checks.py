"""Checks shared by the PDF tests: text through poppler's pdftotext, pages through pdftoppm."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageStat
from pypdf import PdfReader


def run_tool(tool: str, *args: str) -> bytes:
    path = shutil.which(tool)
    # `make test` installs poppler-utils: a missing tool fails, never skips, the PDF checks.
    assert path is not None, f"{tool} (poppler-utils) is not installed: run `make system-deps`"
    return subprocess.run([path, *args], check=True, capture_output=True, timeout=120).stdout


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return run_tool("pdftotext", "-enc", "UTF-8", str(path), "-").decode("utf-8")


def flat(text: str) -> str:
    """Text without whitespace (sentences wrap over lines)."""
    return "".join(text.split())


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def assert_pages_not_blank(pdf: bytes, tmp_path: Path, pages: int = 1) -> None:
    """Render the first `pages` pages at 40 dpi and check each has real ink on it."""
    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    run_tool(
        "pdftoppm", "-png", "-r", "40", "-f", "1", "-l", str(pages), str(path), str(tmp_path / "p")
    )
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == pages
    for image_path in images:
        with Image.open(image_path) as image:
            grey = image.convert("L")
            assert grey.size[0] < grey.size[1]  # portrait A4
            assert ImageStat.Stat(grey).var[0] > 200
            dark = sum(grey.histogram()[:128])
            assert dark > 0.005 * grey.size[0] * grey.size[1]
