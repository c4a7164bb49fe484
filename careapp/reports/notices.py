"""The benefit certificate (待遇资格证明), the eligibility decision notice (决定通知书), the QR
code to the public verification page, and batch printing of many documents into one PDF.

As in `pdf.py`: frozen dataclasses in, PDF out; no database, no Flask. A batch is laid out
document by document from an iterator, so only one document's flowables exist at a time.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import asBytes
from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFName, PDFStream
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from careapp.core.money import format_yuan
from careapp.reports.pdf import (
    _CONTENT_WIDTH,
    _GRID,
    _MARGIN,
    _PAGE_HEIGHT,
    _PAGE_WIDTH,
    _SHADE,
    FONT_NAME,
    _NumberedCanvas,
    _p,
    _Styles,
    _styles,
    label_grid,
    number_line,
    register_fonts,
    sign_off,
    zh_date,
)


@dataclass(frozen=True)
class RateText:
    """How the benefit is paid, in fen: a daily rate, or a monthly budget of services."""

    daily_rate_fen: int | None
    monthly_budget_fen: int | None

    @property
    def zh(self) -> str:
        if self.daily_rate_fen is not None:
            return f"{format_yuan(self.daily_rate_fen)}元/日"
        if self.monthly_budget_fen is not None:
            return f"上门服务按次结算，每月服务限额{format_yuan(self.monthly_budget_fen)}元"
        return "—"


@dataclass(frozen=True)
class BenefitCertificateData:
    """Everything printed on a benefit certificate (待遇资格证明). The ID is masked only."""

    certificate_number: str
    issued_on: dt.date
    person_name: str
    id_number_masked: str
    sex_zh: str
    birth_year: int  # the year only, never the date (docs/security/masking.md)
    district_zh: str
    category_zh: str
    care_setting_zh: str
    rate: RateText
    valid_from: dt.date
    valid_until: dt.date
    valid_until_reason_zh: str  # 下次定期复评 / 待遇终止
    policy_name: str
    policy_effective_on: dt.date
    decided_on: dt.date
    verify_url: str
    check_code: str  # printed beside the number; /verify needs both


@dataclass(frozen=True)
class RuleLine:
    """One eligibility rule as printed: its name, pass/fail and the reason in words."""

    label_zh: str
    passed: bool
    reason_zh: str


@dataclass(frozen=True)
class DecisionNoticeData:
    """Everything printed on an eligibility decision notice (决定通知书)."""

    certificate_number: str
    issued_on: dt.date
    person_name: str
    id_number_masked: str
    district_zh: str
    application_id: int
    decided_on: dt.date
    decided_by_name: str
    is_eligible: bool
    rules: tuple[RuleLine, ...]
    category_zh: str
    care_setting_zh: str
    rate: RateText
    starts_on: dt.date | None
    policy_name: str
    appeal_days: int
    appeal_deadline: dt.date
    verify_url: str
    check_code: str  # printed beside the number; /verify needs both


@dataclass(frozen=True)
class BatchItem:
    """One decision of a batch: its notice and, when eligible, its benefit certificate."""

    notice: DecisionNoticeData
    certificate: BenefitCertificateData | None = None

    @property
    def documents(self) -> int:
        return 1 if self.certificate is None else 2


# --- shared pieces -----------------------------------------------------------------------


class _FooterMark(Flowable):
    """Invisible: tells the page footer which document the current page belongs to."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
        self.width = self.height = 0

    def wrap(self, _available_width: float, _available_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._careapp_footer = self.label  # type: ignore[attr-defined]  # our own slot


def _draw_footer(canvas: Canvas, _doc: Any) -> None:
    label = getattr(canvas, "_careapp_footer", "")
    canvas.saveState()
    canvas.setFont(FONT_NAME, 8.5)
    canvas.setFillColor(colors.HexColor("#666666"))
    canvas.drawString(_MARGIN, 10 * mm, label)
    canvas.restoreState()


# --- the documents --------------------------------------------------------------------------


def benefit_certificate_story(data: BenefitCertificateData, s: _Styles) -> list[Flowable]:
    rows = [
        ("姓名", data.person_name, "性别", data.sex_zh),
        ("身份证号", data.id_number_masked, "出生年份", f"{data.birth_year}年"),
        ("所属区县", data.district_zh, "认定日期", zh_date(data.decided_on)),
        ("待遇类别", data.category_zh, "照护方式", data.care_setting_zh),
        ("待遇标准", data.rate.zh, "政策版本", data.policy_name),
    ]
    validity = [
        (
            "有效期",
            f"{zh_date(data.valid_from)}至{zh_date(data.valid_until)}",
            "截止依据",
            data.valid_until_reason_zh,
        ),
    ]
    body = (
        f"经审核，{data.person_name}符合长期护理保险待遇享受条件，自{zh_date(data.valid_from)}起"
        f"按上述类别和标准享受长期护理保险待遇，有效期至{zh_date(data.valid_until)}。"
        f"待遇标准依据{data.policy_name}（自{zh_date(data.policy_effective_on)}起施行）。"
        "待遇的变更、中止或终止以经办机构的记录为准，请扫描二维码核验本证明是否仍然有效。"
    )
    return [
        _FooterMark(f"待遇资格证明 {data.certificate_number}"),
        _p("长期护理保险", s.subtitle),
        _p("待遇资格证明", s.title),
        Spacer(1, 2 * mm),
        _p(number_line(data.certificate_number, data.check_code, data.issued_on), s.meta),
        Spacer(1, 4 * mm),
        label_grid(rows, s),
        label_grid(validity, s),
        Spacer(1, 5 * mm),
        _p(body, s.body),
        Spacer(1, 8 * mm),
        sign_off(data.certificate_number, data.check_code, data.verify_url, data.issued_on, s),
    ]


def decision_notice_story(data: DecisionNoticeData, s: _Styles) -> list[Flowable]:
    outcome = "符合" if data.is_eligible else "不符合"
    rows = [
        ("姓名", data.person_name, "身份证号", data.id_number_masked),
        ("所属区县", data.district_zh, "申请编号", str(data.application_id)),
        ("决定日期", zh_date(data.decided_on), "经办人", data.decided_by_name),
        ("政策版本", data.policy_name, "认定结论", f"{outcome}待遇享受条件"),
    ]
    if data.is_eligible:
        rows.append(("待遇类别", data.category_zh, "照护方式", data.care_setting_zh))
        starts = zh_date(data.starts_on) if data.starts_on else "—"
        rows.append(("待遇标准", data.rate.zh, "待遇起始", starts))
    rule_cells: list[list[Paragraph]] = [
        [_p(label, s.cell_label) for label in ("序号", "认定条件", "结果", "理由")]
    ]
    for number, rule in enumerate(data.rules, start=1):
        rule_cells.append(
            [
                _p(str(number), s.cell),
                _p(rule.label_zh, s.cell),
                _p("符合" if rule.passed else "不符合", s.cell),
                _p(rule.reason_zh, s.cell),
            ]
        )
    width = _CONTENT_WIDTH
    rules_table = Table(
        rule_cells,
        colWidths=[0.08 * width, 0.27 * width, 0.11 * width, 0.54 * width],
        repeatRows=1,
    )
    rules_table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("GRID", (0, 0), (-1, -1), 0.6, _GRID),
                ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    if data.is_eligible:
        conclusion = (
            f"经审核，{data.person_name}符合长期护理保险待遇享受条件，"
            f"认定为{data.category_zh}，照护方式为{data.care_setting_zh}，待遇标准为{data.rate.zh}。"
        )
    else:
        conclusion = (
            f"经审核，{data.person_name}暂不符合长期护理保险待遇享受条件，"
            "理由见上表中不符合的条件。"
        )
    appeal = (
        f"如对本决定有异议，可自决定之日起{data.appeal_days}日内"
        f"（截至{zh_date(data.appeal_deadline)}）向长期护理保险经办机构书面申请复评；"
        "复评由未参与原评估的两名评估人员进行，以复评结论为准。"
    )
    return [
        _FooterMark(f"决定通知书 {data.certificate_number}"),
        _p("长期护理保险", s.subtitle),
        _p("待遇资格认定决定通知书", s.title),
        Spacer(1, 2 * mm),
        _p(number_line(data.certificate_number, data.check_code, data.issued_on), s.meta),
        Spacer(1, 4 * mm),
        label_grid(rows, s),
        _p("认定条件及理由", s.heading),
        rules_table,
        Spacer(1, 4 * mm),
        _p(conclusion, s.body),
        _p("申请复评的权利", s.heading),
        _p(appeal, s.body),
        Spacer(1, 6 * mm),
        sign_off(data.certificate_number, data.check_code, data.verify_url, data.issued_on, s),
    ]


# --- building ------------------------------------------------------------------------------


class _StreamingStory(list[Flowable]):
    """A story that pulls the next document's flowables only when the previous one is laid out.

    ReportLab's build loop asks `len(story)` before each flowable; when the list runs dry we
    extend it with the next document (after a page break), so a batch never holds more than
    one document's flowables, whatever its length.
    """

    def __init__(self, documents: Iterator[list[Flowable]]) -> None:
        super().__init__()
        self._documents = documents
        self._started = False

    def __len__(self) -> int:
        size = super().__len__()
        if size:
            return size
        following = next(self._documents, None)
        if following is None:
            return 0
        if self._started:
            self.append(PageBreak())
        self._started = True
        self.extend(following)
        return super().__len__()


class _BatchCanvas(Canvas):
    """Compresses each page's content as soon as the page is finished.

    ReportLab keeps every page until the file is written and only then compresses it; in a
    batch of thousands of pages that would hold all the uncompressed content at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["initialFontName"] = register_fonts()
        super().__init__(*args, **kwargs)

    def showPage(self) -> None:  # noqa: N802 - ReportLab's method name
        super().showPage()
        page = self._doc.Pages.pages[-1]  # type: ignore[attr-defined]  # ReportLab internals
        content = page.stream
        if content:
            stream = PDFStream(
                PDFDictionary({"Filter": PDFName("FlateDecode")}),
                zlib.compress(asBytes(content)),
            )
            stream.__Comment__ = "page stream"  # type: ignore[attr-defined]  # as ReportLab's
            page.Contents = stream
            page.stream = None


def _doc_template(target: str | BinaryIO, title: str) -> BaseDocTemplate:
    doc = BaseDocTemplate(
        target,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="长期护理保险经办机构",
        subject=title,
        pageCompression=1,
    )
    frame = Frame(_MARGIN, 18 * mm, _PAGE_WIDTH - 2 * _MARGIN, _PAGE_HEIGHT - 36 * mm, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=_draw_footer)])
    return doc


def _single(story: list[Flowable], title: str) -> bytes:
    buffer = io.BytesIO()
    _doc_template(buffer, title).build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def render_benefit_certificate(data: BenefitCertificateData) -> bytes:
    """Build the benefit certificate (待遇资格证明) as an A4 PDF (not yet sealed)."""
    story = benefit_certificate_story(data, _styles())
    return _single(story, f"待遇资格证明 {data.certificate_number}")


def render_decision_notice(data: DecisionNoticeData) -> bytes:
    """Build the eligibility decision notice (决定通知书) as an A4 PDF (not yet sealed)."""
    story = decision_notice_story(data, _styles())
    return _single(story, f"决定通知书 {data.certificate_number}")


def write_batch(
    target: Path | BinaryIO,
    items: Iterable[BatchItem],
    title: str,
    on_item: Callable[[int], None] | None = None,
) -> None:
    """Lay out every item (notice, then certificate) into one PDF, one item at a time.

    `on_item(n)` is called after the n-th item has been laid out (for a progress bar). With no
    item at all, the PDF holds one page saying so.
    """
    styles = _styles()

    def documents() -> Iterator[list[Flowable]]:
        for laid_out, item in enumerate(items, start=1):
            yield decision_notice_story(item.notice, styles)
            if item.certificate is not None:
                yield benefit_certificate_story(item.certificate, styles)
            # Asked for the next document: this item's pages are laid out.
            if on_item is not None:
                on_item(laid_out)

    story = _StreamingStory(documents())
    destination = str(target) if isinstance(target, Path) else target
    doc = _doc_template(destination, title)
    if not len(story):
        story.extend([_p(title, styles.title), _p("本周没有待打印的决定。", styles.body)])
    doc.build(story, canvasmaker=_BatchCanvas)
