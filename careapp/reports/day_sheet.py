"""The printable day sheet (派工单): each caregiver's route of a day, one caregiver per page.

A frozen dataclass in, PDF bytes out; the Chinese font is embedded (see `reports.pdf`).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape  # escapes text, parses nothing  # nosec B406

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from careapp.reports.pdf import _NumberedCanvas, register_fonts, zh_date


@dataclass(frozen=True)
class DaySheetStop:
    order: str  # "1", "2"… or "" for a visit not yet in a route
    time: str  # "09:00–10:00"
    travel: str  # "12 分钟"
    beneficiary: str
    address: str
    service_items: str
    status: str
    note: str = ""  # e.g. why the visit is unassigned


@dataclass(frozen=True)
class DaySheetRoute:
    title: str  # the caregiver's name, or "未派工"
    summary: str  # "4 次上门 · 路程 38 分钟"
    stops: tuple[DaySheetStop, ...]


@dataclass(frozen=True)
class DaySheetData:
    provider_name: str
    day: dt.date
    printed_at: dt.datetime  # city time
    headings: tuple[str, ...]  # the column titles, translated
    routes: tuple[DaySheetRoute, ...]
    empty_text: str  # printed for a route without visits


_MARGIN = 14 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_COLUMNS = (8, 24, 16, 22, 46, 36, 18)  # millimetres, scaled to the page below


def render_day_sheet(data: DaySheetData) -> bytes:
    font = register_fonts()
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    meta = ParagraphStyle("meta", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=f"{data.provider_name} {zh_date(data.day)}",
        author=data.provider_name,
    )
    scale = _WIDTH / (sum(_COLUMNS) * mm)
    widths = [w * mm * scale for w in _COLUMNS]
    story: list[Flowable] = []
    for index, route in enumerate(data.routes):
        if index:
            story.append(PageBreak())
        story.append(Paragraph(escape(f"{route.title} · {zh_date(data.day)}"), title))
        story.append(
            Paragraph(
                escape(
                    f"{data.provider_name} · {route.summary} · "
                    f"{data.printed_at.strftime('%Y-%m-%d %H:%M')}"
                ),
                meta,
            )
        )
        story.append(Spacer(1, 4 * mm))
        if not route.stops:
            story.append(Paragraph(escape(data.empty_text), cell))
            continue
        rows = [[Paragraph(escape(h), cell) for h in data.headings]]
        for stop in route.stops:
            items = stop.service_items + (f"（{stop.note}）" if stop.note else "")
            rows.append(
                [
                    Paragraph(escape(text), cell)
                    for text in (
                        stop.order,
                        stop.time,
                        stop.travel,
                        stop.beneficiary,
                        stop.address,
                        items,
                        stop.status,
                    )
                ]
            )
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    if not data.routes:
        story.append(Paragraph(escape(data.empty_text), cell))
    document.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
