"""A provider's monthly settlement statement (结算单): a sealed PDF and a CSV, from plain data.

Persons are printed masked (name and ID number), as on every document that leaves the office.
The PDF carries the statement's number and a QR code to its public verification page.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from careapp.core.money import format_yuan
from careapp.reports.pdf import (
    _CONTENT_WIDTH,
    _GRID,
    _MARGIN,
    _SHADE,
    FONT_NAME,
    _NumberedCanvas,
    _p,
    _styles,
    a4_document,
    number_line,
    sign_off,
)
from careapp.reports.spreadsheet import excel_csv

# The Chinese wording of each outcome (settlement Outcome values, and bed-days).
OUTCOME_ZH = {
    "paid": "已结算",
    "held_flag": "待审核暂缓",
    "rejected_flag": "审核不予支付",
    "in_hospital": "住院期间",
    "not_benefit_day": "非待遇日",
    "over_budget": "超出月度限额",
    "no_budget": "无月度限额",
    "volunteer": "志愿服务",
    "not_home_care": "非居家服务机构",
    "not_completed": "未完成",
    "bed_days": "床日",
}


@dataclass(frozen=True)
class StatementRow:
    person_name_masked: str
    id_number_masked: str
    kind: str  # "visit" or "bed_days"
    visit_on: dt.date | None
    item_codes: str
    item_names_zh: str
    days: int
    value_fen: int
    amount_fen: int
    outcome: str


@dataclass(frozen=True)
class StatementData:
    number: str
    provider_name: str
    month: dt.date  # first day
    sequence: int
    issued_on: dt.date
    visits_paid: int
    visits_paid_fen: int
    visits_held: int
    visits_held_fen: int
    bed_days: int
    bed_days_fen: int
    total_fen: int
    rows: tuple[StatementRow, ...]
    verify_url: str
    check_code: str  # printed beside the number; /verify needs both

    @property
    def title_zh(self) -> str:
        kind = "补充结算单" if self.sequence > 1 else "结算单"
        return f"长期护理保险服务费用{kind}"

    @property
    def month_zh(self) -> str:
        return f"{self.month.year}年{self.month.month}月"


def render_statement(data: StatementData) -> bytes:
    """The statement as an A4 PDF (unsealed: the caller seals it)."""
    styles = _styles()
    buffer = io.BytesIO()
    doc = a4_document(buffer, f"结算单 {data.number}", data.title_zh)
    meta = number_line(data.number, data.check_code, data.issued_on)
    if data.sequence > 1:
        meta += f"　　第 {data.sequence} 份（补充）"
    story: list[Flowable] = [
        _p("长期护理保险", styles.subtitle),
        _p(data.title_zh, styles.title),
        Spacer(1, 2 * mm),
        _p(meta, styles.meta),
        Spacer(1, 4 * mm),
        _table(
            [
                ("服务机构", data.provider_name, "结算月份", data.month_zh),
                (
                    "上门服务（已结算）",
                    f"{data.visits_paid} 次　{format_yuan(data.visits_paid_fen)} 元",
                    "暂缓（待审核）",
                    f"{data.visits_held} 次　{format_yuan(data.visits_held_fen)} 元",
                ),
                (
                    "机构床日",
                    f"{data.bed_days} 床日　{format_yuan(data.bed_days_fen)} 元",
                    "本单合计",
                    f"{format_yuan(data.total_fen)} 元",
                ),
            ],
            [33 * mm, 52 * mm, 33 * mm, _CONTENT_WIDTH - 118 * mm],
        ),
        _p("明细", styles.heading),
        _rows_table(data.rows),
        Spacer(1, 6 * mm),
        sign_off(data.number, data.check_code, data.verify_url, data.issued_on, styles),
    ]

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(_MARGIN, 10 * mm, f"结算单 {data.number}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def _table(rows: Sequence[tuple[str, str, str, str]], widths: list[float]) -> Table:
    s = _styles()
    table = Table(
        [
            [_p(a, s.cell_label), _p(b, s.cell), _p(c, s.cell_label), _p(d, s.cell)]
            for a, b, c, d in rows
        ],
        colWidths=widths,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
                ("BACKGROUND", (0, 0), (0, -1), _SHADE),
                ("BACKGROUND", (2, 0), (2, -1), _SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _rows_table(rows: Sequence[StatementRow]) -> Table:
    s = _styles()
    header = ["姓名", "身份证号", "日期／床日", "服务项目", "价值（元）", "本单支付（元）", "结果"]
    body: list[list[Any]] = [[_p(text, s.cell_label) for text in header]]
    for row in rows:
        when = row.visit_on.isoformat() if row.visit_on is not None else f"{row.days} 床日"
        body.append(
            [
                _p(row.person_name_masked, s.cell),
                _p(row.id_number_masked, s.cell),
                _p(when, s.cell),
                _p(row.item_names_zh or row.item_codes, s.cell),
                _p(format_yuan(row.value_fen), s.cell_number),
                _p(format_yuan(row.amount_fen), s.cell_number),
                _p(OUTCOME_ZH.get(row.outcome, row.outcome), s.cell),
            ]
        )
    if not rows:
        body.append([_p("（无）", s.cell), "", "", "", "", "", ""])
    widths = [16 * mm, 41 * mm, 25 * mm, 0.0, 19 * mm, 19 * mm, 22 * mm]
    widths[3] = _CONTENT_WIDTH - sum(widths)
    table = Table(body, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


CSV_HEADER = (
    "结算单编号",
    "服务机构",
    "结算月份",
    "姓名",
    "身份证号",
    "类型",
    "服务日期",
    "床日",
    "服务项目",
    "项目代码",
    "价值（分）",
    "本单支付（分）",
    "结果",
)


def statement_csv(data: StatementData) -> bytes:
    """The statement's lines as CSV for Excel (amounts in fen, exact)."""
    month = f"{data.month.year}-{data.month.month:02d}"
    return excel_csv(
        CSV_HEADER,
        (
            (
                data.number,
                data.provider_name,
                month,
                row.person_name_masked,
                row.id_number_masked,
                "上门服务" if row.kind == "visit" else "机构床日",
                row.visit_on.isoformat() if row.visit_on is not None else None,
                row.days,
                row.item_names_zh,
                row.item_codes,
                row.value_fen,
                row.amount_fen,
                OUTCOME_ZH.get(row.outcome, row.outcome),
            )
            for row in data.rows
        ),
    )
