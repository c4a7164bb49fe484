"""The assessment conclusion PDF: pure rendering, checked with pypdf, pdftotext and pdftoppm."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from careapp.reports.pdf import (
    FONT_NAME,
    ItemRow,
    render_assessment_conclusion,
    zh_date,
)
from tests.careapp.reports.pdf_checks import run_tool
from tests.factories import CONCLUSION_DATA

FULL_ID = "320602194003010019"
MASKED_ID = "320602***********9"


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_assessment_conclusion(CONCLUSION_DATA)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _fonts(pdf: bytes) -> list[DictionaryObject]:
    fonts: list[DictionaryObject] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        fonts.extend(font.get_object() for font in resources["/Font"].values())
    return fonts


def _descriptor(font: DictionaryObject) -> DictionaryObject:
    if "/DescendantFonts" in font:  # a Type0 (composite) font
        font = font["/DescendantFonts"][0].get_object()
    descriptor: DictionaryObject = font["/FontDescriptor"].get_object()
    return descriptor


def test_render_assessment_conclusion_returns_a_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_render_assessment_conclusion_text_has_the_conclusion(pdf: bytes) -> None:
    text = _text(pdf)
    for expected in (
        "评估结论书",
        "PG-2026-000123",
        "张秀英",
        MASKED_ID,
        "女",
        "1940年",
        "崇川区",
        "Barthel指数",
        "上下楼梯",
        "需极大帮助或完全依赖",
        "重度依赖",
        "评估员甲",
        "评估员乙",
        "王小明（儿子）",
        zh_date(CONCLUSION_DATA.assessed_on),
    ):
        assert expected in text, expected
    assert FULL_ID not in text


def test_render_assessment_conclusion_prints_the_appeal_rights(pdf: bytes) -> None:
    text = "".join(_text(pdf).split())  # the sentence wraps over lines
    assert "30日内" in text
    assert "2026年12月23日" in text
    assert "申请复评" in text


def test_render_assessment_conclusion_appeal_days_are_passed_in() -> None:
    data = dataclasses.replace(
        CONCLUSION_DATA, appeal_days=15, appeal_deadline=dt.date(2026, 12, 8)
    )
    text = "".join(_text(render_assessment_conclusion(data)).split())
    assert "15日内" in text
    assert "2026年12月8日" in text
    assert "30日内" not in text


def test_render_assessment_conclusion_numbers_pages() -> None:
    many = tuple(ItemRow(f"项目{n}", "需部分帮助", 5) for n in range(60))
    pdf = render_assessment_conclusion(dataclasses.replace(CONCLUSION_DATA, items=many, total=300))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    last = len(reader.pages)
    assert f"第 1 页 / 共 {last} 页" in reader.pages[0].extract_text()
    assert f"第 {last} 页 / 共 {last} 页" in reader.pages[-1].extract_text()
    assert "项目59" in _text(pdf)


def test_render_assessment_conclusion_prints_user_text_literally() -> None:
    data = dataclasses.replace(
        CONCLUSION_DATA, person_name="李<b>四</b> & 子", family_member_present="<i>"
    )
    text = _text(render_assessment_conclusion(data))
    assert "李<b>四</b> & 子" in text
    assert "<i>" in text


def test_render_assessment_conclusion_embeds_its_only_font(pdf: bytes) -> None:
    fonts = _fonts(pdf)
    assert fonts
    for font in fonts:  # no Standard-14 or CID font that a viewer would have to supply
        assert FONT_NAME in str(font["/BaseFont"])
        assert "/FontFile2" in _descriptor(font)
    assert "STSong" not in pdf.decode("latin-1")


def test_render_assessment_conclusion_pdftotext_reads_chinese(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "conclusion.pdf"
    path.write_bytes(pdf)
    text = run_tool("pdftotext", "-enc", "UTF-8", str(path), "-").decode("utf-8")
    assert "评估结论书" in text
    assert "重度依赖" in text
    assert "张秀英" in text
    assert MASKED_ID in text


def test_render_assessment_conclusion_first_page_is_not_blank(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "conclusion.pdf"
    path.write_bytes(pdf)
    run_tool(
        "pdftoppm",
        "-png",
        "-r",
        "50",
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        str(path),
        str(tmp_path / "page"),
    )
    with Image.open(tmp_path / "page.png") as image:
        grey = image.convert("L")
        assert grey.size[0] < grey.size[1]  # portrait A4
        assert ImageStat.Stat(grey).var[0] > 200
        dark = sum(grey.histogram()[:128])
        assert dark > 0.005 * grey.size[0] * grey.size[1]


def test_zh_date_formats_without_leading_zeros() -> None:
    assert zh_date(dt.date(2026, 3, 5)) == "2026年3月5日"


def test_render_assessment_conclusion_has_the_verification_qr_code(pdf: bytes) -> None:
    text = "".join(_text(pdf).split())
    assert "真伪核验" in text
    assert "https://ltc.example.cn/verify/PG-2026-000123" in text
    assert "电子签章" in text


def test_render_assessment_conclusion_before_the_decision_has_no_deadline_date() -> None:
    data = dataclasses.replace(CONCLUSION_DATA, appeal_deadline=None)
    text = "".join(_text(render_assessment_conclusion(data)).split())
    assert "自资格认定决定之日起30日内" in text
    assert "截至" not in text
