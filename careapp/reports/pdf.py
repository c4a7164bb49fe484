"""PDF documents built with ReportLab: a frozen dataclass in, bytes out; no database, no Flask.

Chinese text is set in WenQuanYi Micro Hei, vendored in `fonts/` (a TrueType collection) and
embedded as a subset into every PDF, so the document renders on a machine without CJK fonts.
ReportLab's built-in `STSong-Light` is deliberately not used: it is never embedded, and poppler
draws it as empty boxes where no CJK font is installed.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape  # escapes text, parses nothing  # nosec B406

import qrcode
import qrcode.constants
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFString
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FONT_NAME = "WenQuanYiMicroHei"
FONT_PATH = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"
_font_lock = threading.Lock()
_font_registered = False


def register_fonts() -> str:
    """Register the embedded CJK font with ReportLab once per process; return its name."""
    global _font_registered
    if _font_registered:
        return FONT_NAME
    with _font_lock:
        if not _font_registered:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0))
            # One weight only: map bold/italic markup onto the same face instead of failing.
            pdfmetrics.registerFontFamily(
                FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME
            )
            _font_registered = True
    return FONT_NAME


@dataclass(frozen=True)
class ItemRow:
    """One answered item of the instrument, as printed."""

    label_zh: str
    answer_zh: str
    points: int


@dataclass(frozen=True)
class AssessmentConclusionData:
    """Everything printed on an assessment conclusion (评估结论书). The ID is masked only."""

    certificate_number: str
    issued_on: dt.date
    person_name: str
    id_number_masked: str
    sex_zh: str
    # The year only, never the date or an age beside it: with the masked ID number, a full date
    # (or a year and an age) would narrow the number down (docs/security/masking.md).
    birth_year: int
    district_zh: str
    instrument_zh: str
    items: tuple[ItemRow, ...]
    total: int
    grade_zh: str  # e.g. 重度依赖
    assessed_on: dt.date
    assessor_1_name: str
    assessor_2_name: str
    family_member_present: str
    appeal_days: int
    # The procedure's deadline: `appeal_days` after the eligibility decision on this result
    # (None while the case is not decided yet: the period has not started).
    appeal_deadline: dt.date | None
    verify_url: str
    check_code: str  # printed beside the number; /verify needs both

    @property
    def appeal_note(self) -> str:
        """The appeal-rights sentence printed at the foot of the conclusion."""
        if self.appeal_deadline is None:
            period = f"可自资格认定决定之日起{self.appeal_days}日内"
        else:
            period = (
                f"可自资格认定决定之日起{self.appeal_days}日内"
                f"（截至{zh_date(self.appeal_deadline)}）"
            )
        return (
            f"如对本评估结论有异议，{period}向长期护理保险经办机构书面申请复评；"
            "复评由未参与本次评估的两名评估人员进行，以复评结论为准。"
        )


def zh_date(day: dt.date) -> str:
    """2026年11月23日"""
    return f"{day.year}年{day.month}月{day.day}日"


def number_line(number: str, check_code: str, issued_on: dt.date) -> str:
    """The line under every document's title: its number, its check code beside it (what
    /verify asks for with the number) and its issue date."""
    return f"编号：{number}　　核验码：{check_code}　　签发日期：{zh_date(issued_on)}"


# --- styles ---------------------------------------------------------------------------------

_PAGE_WIDTH, _PAGE_HEIGHT = A4
_MARGIN = 20 * mm
_CONTENT_WIDTH = _PAGE_WIDTH - 2 * _MARGIN
_GRID = colors.HexColor("#555555")
_SHADE = colors.HexColor("#eeeeee")


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    meta: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle
    cell_label: ParagraphStyle
    cell_number: ParagraphStyle
    result: ParagraphStyle
    body: ParagraphStyle


def _styles() -> _Styles:
    font = register_fonts()
    cell = ParagraphStyle("cell", fontName=font, fontSize=10.5, leading=14, wordWrap="CJK")
    return _Styles(
        title=ParagraphStyle(
            "title", fontName=font, fontSize=20, leading=26, alignment=TA_CENTER, spaceAfter=2
        ),
        subtitle=ParagraphStyle(
            "subtitle", fontName=font, fontSize=11, leading=15, alignment=TA_CENTER
        ),
        meta=ParagraphStyle("meta", fontName=font, fontSize=9.5, leading=13, alignment=TA_RIGHT),
        heading=ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4
        ),
        cell=cell,
        cell_label=ParagraphStyle("cell_label", parent=cell, textColor=colors.HexColor("#333333")),
        cell_number=ParagraphStyle("cell_number", parent=cell, alignment=TA_RIGHT),
        result=ParagraphStyle("result", fontName=font, fontSize=14, leading=20, wordWrap="CJK"),
        body=ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK"),
    )


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain (user-supplied) text: escaped so that `<` or `&` print as such."""
    return Paragraph(escape(text), style)


# --- the QR code and the seal note, on every certificate ------------------------------------

QR_SIZE = 30 * mm
SEAL_NOTE = "本文书加盖长期护理保险经办机构电子签章（数字签名），内容被改动后签章即失效。"


class QrCode(Flowable):
    """A vector QR code of `data` (error correction M), `size` points square.

    The matrix comes from the `qrcode` package (several times faster than ReportLab's own
    encoder); each row's runs of dark modules are drawn as one filled rectangle.
    """

    def __init__(self, data: str, size: float = QR_SIZE) -> None:
        super().__init__()
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
        code.add_data(data)
        code.make(fit=True)
        self.matrix: list[list[bool]] = code.get_matrix()
        self.width = self.height = size

    def wrap(self, _available_width: float, _available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        modules = len(self.matrix)
        cell = self.width / modules
        path = self.canv.beginPath()
        for row_number, row in enumerate(self.matrix):
            y = self.height - (row_number + 1) * cell
            column = 0
            while column < modules:
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < modules and row[column]:
                    column += 1
                path.rect(start * cell, y, (column - start) * cell, cell)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


# --- the place of the seal ----------------------------------------------------------------

SEAL_ANCHOR = "careapp-seal"  # the /NM of the link annotation that marks the seal's place
SEAL_SIZE = 40 * mm


class SealPlace(Flowable):
    """The sign-off (落款): the issue date at the right, and above it the place of the round red
    seal that the signature itself draws over it (its visible appearance, `reports.seal`).

    The place is marked in the PDF by a link annotation named SEAL_ANCHOR to the verification
    page (clicking the seal opens it); the sealing finds the first such mark.
    """

    def __init__(self, issued_on: dt.date, verify_url: str) -> None:
        super().__init__()
        self.issued_on = issued_on
        self.verify_url = verify_url
        self.width = SEAL_SIZE + 6 * mm
        self.height = SEAL_SIZE + 2 * mm

    def wrap(self, _available_width: float, _available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        centre = self.width / 2
        bottom = 2 * mm
        self.canv.saveState()
        self.canv.setFont(FONT_NAME, 11)
        self.canv.setFillColor(colors.black)
        # The seal covers the date's upper half, as a stamp over the sign-off does.
        self.canv.drawCentredString(centre, bottom + SEAL_SIZE * 0.1, zh_date(self.issued_on))
        self.canv.restoreState()
        box = (centre - SEAL_SIZE / 2, bottom, centre + SEAL_SIZE / 2, bottom + SEAL_SIZE)
        self.canv.linkURL(self.verify_url, box, relative=1, thickness=0, NM=PDFString(SEAL_ANCHOR))


def sign_off(number: str, check_code: str, url: str, issued_on: dt.date, s: _Styles) -> Table:
    """The foot of every document: the verification block, and beside it the sign-off date
    under the place of the seal."""
    seal = SealPlace(issued_on, url)
    table = Table(
        [[_verify_block(number, check_code, url, s, _CONTENT_WIDTH - seal.width), seal]],
        colWidths=[_CONTENT_WIDTH - seal.width, seal.width],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _verify_block(
    number: str, check_code: str, url: str, s: _Styles, width: float = _CONTENT_WIDTH
) -> Table:
    """The QR code (the address with the number and the check code) and beside it the address
    of the number and the check code to type there."""
    text = [
        _p("真伪核验", s.heading),
        _p("扫描二维码，或访问下列地址并输入核验码：", s.body),
        _p(url.split("?", 1)[0], s.cell),
        _p(f"核验码：{check_code}", s.cell),
        Spacer(1, 2 * mm),
        _p(SEAL_NOTE, s.cell_label),
    ]
    table = Table(
        [[QrCode(url), text]],
        colWidths=[QR_SIZE + 6 * mm, width - QR_SIZE - 6 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.6, _GRID),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def a4_document(buffer: io.BytesIO, title: str, subject: str) -> SimpleDocTemplate:
    """An A4 document of the scheme's office, with the margins every certificate uses."""
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="长期护理保险经办机构",
        subject=subject,
    )


# --- the assessment conclusion ----------------------------------------------------------------


def render_assessment_conclusion(data: AssessmentConclusionData) -> bytes:
    """Build the assessment conclusion (评估结论书) as an A4 PDF."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = a4_document(
        buffer, f"评估结论书 {data.certificate_number}", "长期护理保险失能等级评估结论书"
    )
    story: list[Flowable] = [
        _p("长期护理保险", styles.subtitle),
        _p("失能等级评估结论书", styles.title),
        Spacer(1, 2 * mm),
        _p(number_line(data.certificate_number, data.check_code, data.issued_on), styles.meta),
        Spacer(1, 4 * mm),
        _header_table(data, styles),
        _p("评估项目及得分", styles.heading),
        _items_table(data, styles),
        Spacer(1, 5 * mm),
        _result_box(data, styles),
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                _p("签字确认", styles.heading),
                _signatures_table(data, styles),
                Spacer(1, 6 * mm),
                _p("申请复评的权利", styles.heading),
                _p(data.appeal_note, styles.body),
            ]
        ),
        Spacer(1, 6 * mm),
        sign_off(data.certificate_number, data.check_code, data.verify_url, data.issued_on, styles),
    ]

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(_MARGIN, 10 * mm, f"评估结论书 {data.certificate_number}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def label_grid(rows: list[tuple[str, str, str, str]], s: _Styles) -> Table:
    """Two label-value pairs a row, labels shaded: the head of every certificate."""
    cells = [
        [_p(a, s.cell_label), _p(b, s.cell), _p(c, s.cell_label), _p(d, s.cell)]
        for a, b, c, d in rows
    ]
    width = _CONTENT_WIDTH
    table = Table(cells, colWidths=[0.15 * width, 0.35 * width, 0.15 * width, 0.35 * width])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
                ("BACKGROUND", (0, 0), (0, -1), _SHADE),
                ("BACKGROUND", (2, 0), (2, -1), _SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _header_table(data: AssessmentConclusionData, s: _Styles) -> Table:
    rows = [
        ("姓名", data.person_name, "性别", data.sex_zh),
        ("身份证号", data.id_number_masked, "出生年份", f"{data.birth_year}年"),
        ("所属区县", data.district_zh, "评估日期", zh_date(data.assessed_on)),
        ("评估工具", data.instrument_zh, "在场家属", data.family_member_present),
    ]
    return label_grid(rows, s)


def _items_table(data: AssessmentConclusionData, s: _Styles) -> Table:
    cells: list[list[Paragraph | str]] = [
        [
            _p("序号", s.cell_label),
            _p("评估项目", s.cell_label),
            _p("评估结果", s.cell_label),
            _p("得分", s.cell_number),
        ]
    ]
    for number, row in enumerate(data.items, start=1):
        cells.append(
            [
                _p(str(number), s.cell),
                _p(row.label_zh, s.cell),
                _p(row.answer_zh, s.cell),
                _p(str(row.points), s.cell_number),
            ]
        )
    cells.append([_p("合计", s.cell_label), "", "", _p(str(data.total), s.cell_number)])
    width = _CONTENT_WIDTH
    table = Table(
        cells,
        colWidths=[0.08 * width, 0.27 * width, 0.53 * width, 0.12 * width],
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
                ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                ("BACKGROUND", (0, -1), (-1, -1), _SHADE),
                ("SPAN", (0, -1), (2, -1)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _result_box(data: AssessmentConclusionData, s: _Styles) -> Table:
    cells = [
        [
            _p(f"评估总分：{data.total}分", s.result),
            _p(f"评估结论：{data.grade_zh}", s.result),
        ]
    ]
    table = Table(cells, colWidths=[0.4 * _CONTENT_WIDTH, 0.6 * _CONTENT_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("BOX", (0, 0), (-1, -1), 1.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f5f5f5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return table


def _signatures_table(data: AssessmentConclusionData, s: _Styles) -> Table:
    line = "签字：________________"
    rows = [
        ("评估人员", data.assessor_1_name, line),
        ("评估人员", data.assessor_2_name, line),
        ("在场家属", data.family_member_present, line),
    ]
    cells = [[_p(a, s.cell_label), _p(b, s.cell), _p(c, s.cell)] for a, b, c in rows]
    width = _CONTENT_WIDTH
    table = Table(cells, colWidths=[0.18 * width, 0.40 * width, 0.42 * width])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("TOPPADDING", (0, 0), (-1, -1), 10),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LINEBELOW", (0, -1), (-1, -1), 0.4, _GRID),
            ]
        )
    )
    return table


class _NumberedCanvas(Canvas):
    """A canvas that prints 第 x 页 / 共 y 页 once the total number of pages is known."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Start every page in our font, so that no unembedded Helvetica is referenced.
        kwargs["initialFontName"] = register_fonts()
        super().__init__(*args, **kwargs)
        self._page_states: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's method name
        self._page_states.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # ReportLab's page reset, not in the stubs

    def save(self) -> None:
        total = len(self._page_states)
        for state in self._page_states:
            self.__dict__.update(state)
            self.saveState()
            self.setFont(FONT_NAME, 8.5)
            self.setFillColor(colors.HexColor("#666666"))
            self.drawRightString(
                _PAGE_WIDTH - _MARGIN, 10 * mm, f"第 {self.getPageNumber()} 页 / 共 {total} 页"
            )
            self.restoreState()
            super().showPage()
        super().save()
