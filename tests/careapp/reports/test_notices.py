"""The benefit certificate, the decision notice and batch printing: pure rendering."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pytest
import qrcode
from pypdf import PdfReader

from careapp.reports.notices import (
    BatchItem,
    BenefitCertificateData,
    DecisionNoticeData,
    RateText,
    RuleLine,
    render_benefit_certificate,
    render_decision_notice,
    write_batch,
)
from careapp.reports.pdf import QrCode
from tests.careapp.reports.pdf_checks import assert_pages_not_blank, flat, page_count, pdftotext

FULL_ID = "320602194003010019"
MASKED_ID = "320602***********9"
DAY = dt.date(2026, 11, 23)

CERTIFICATE = BenefitCertificateData(
    certificate_number="DY-2026-000007",
    issued_on=DAY,
    person_name="张秀英",
    id_number_masked=MASKED_ID,
    sex_zh="女",
    birth_year=1940,
    district_zh="崇川区",
    category_zh="重度失能",
    care_setting_zh="医疗照护机构",
    rate=RateText(daily_rate_fen=5000, monthly_budget_fen=None),
    valid_from=dt.date(2026, 11, 21),
    valid_until=dt.date(2028, 11, 20),
    valid_until_reason_zh="下次定期复评",
    policy_name="南通市长期照护保险政策（2016）",
    policy_effective_on=dt.date(2016, 1, 1),
    decided_on=dt.date(2026, 11, 21),
    verify_url="https://ltc.example.cn/verify/DY-2026-000007?code=7TQ2M-XH4PA",
    check_code="7TQ2M-XH4PA",
)

NOTICE = DecisionNoticeData(
    certificate_number="JD-2026-000008",
    issued_on=DAY,
    person_name="张秀英",
    id_number_masked=MASKED_ID,
    district_zh="崇川区",
    application_id=41,
    decided_on=dt.date(2026, 11, 21),
    decided_by_name="管理员甲",
    is_eligible=True,
    rules=(
        RuleLine("认定日参加基本医疗保险", True, "2026-11-21 参加城乡居民医保"),
        RuleLine("失能持续时间", True, "失能已持续 22 个月（至少需 6 个月）"),
        RuleLine("评估结果对应待遇类别", True, "Barthel 指数总分 30，不高于 40：重度失能"),
        RuleLine("无未结束的待遇资格", True, "该人员没有未结束的待遇资格"),
    ),
    category_zh="重度失能",
    care_setting_zh="医疗照护机构",
    rate=RateText(daily_rate_fen=5000, monthly_budget_fen=None),
    starts_on=dt.date(2026, 11, 21),
    policy_name="南通市长期照护保险政策（2016）",
    appeal_days=30,
    appeal_deadline=dt.date(2026, 12, 21),
    verify_url="https://ltc.example.cn/verify/JD-2026-000008?code=R3VW9-0KCNE",
    check_code="R3VW9-0KCNE",
)

REFUSED = dataclasses.replace(
    NOTICE,
    certificate_number="JD-2026-000009",
    is_eligible=False,
    rules=(
        RuleLine("认定日参加基本医疗保险", True, "2026-11-21 参加城乡居民医保"),
        RuleLine("失能持续时间", False, "失能仅持续 3 个月（至少需 6 个月）"),
    ),
    starts_on=None,
    rate=RateText(None, None),
)


@pytest.mark.parametrize(
    ("fen", "budget", "expected"),
    [
        (5000, None, "50.00元/日"),
        (1505, None, "15.05元/日"),
        (None, 120_000, "上门服务按次结算，每月服务限额1,200.00元"),
        (None, None, "—"),
    ],
)
def test_rate_text_is_exact_yuan_from_fen(
    fen: int | None, budget: int | None, expected: str
) -> None:
    assert RateText(fen, budget).zh == expected


def test_render_benefit_certificate_fields(tmp_path: Path) -> None:
    pdf = render_benefit_certificate(CERTIFICATE)
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == 1
    text = flat(pdftotext(pdf, tmp_path))
    for expected in (
        "待遇资格证明",
        "DY-2026-000007",
        "张秀英",
        MASKED_ID,
        "重度失能",
        "医疗照护机构",
        "50.00元/日",
        "2026年11月21日至2028年11月20日",
        "下次定期复评",
        "南通市长期照护保险政策（2016）",
        "https://ltc.example.cn/verify/DY-2026-000007",
    ):
        assert expected in text, expected
    assert FULL_ID not in text
    assert FULL_ID.encode() not in pdf
    assert_pages_not_blank(pdf, tmp_path)


def test_render_decision_notice_lists_every_rule_with_its_reason(tmp_path: Path) -> None:
    pdf = render_decision_notice(NOTICE)
    text = flat(pdftotext(pdf, tmp_path))
    for expected in (
        "待遇资格认定决定通知书",
        "JD-2026-000008",
        MASKED_ID,
        "符合待遇享受条件",
        "认定日参加基本医疗保险",
        "失能已持续22个月（至少需6个月）",
        "Barthel指数总分30，不高于40：重度失能",
        "自决定之日起30日内（截至2026年12月21日）",
        "管理员甲",
    ):
        assert expected in text, expected
    assert FULL_ID not in text
    assert_pages_not_blank(pdf, tmp_path)


def test_render_decision_notice_refusal_shows_the_failed_rule(tmp_path: Path) -> None:
    text = flat(pdftotext(render_decision_notice(REFUSED), tmp_path))
    assert "不符合待遇享受条件" in text
    assert "失能仅持续3个月（至少需6个月）" in text
    assert "不符合" in text
    assert "待遇起始" not in text  # no benefit: no rate, no start


def test_documents_text_through_pypdf() -> None:
    reader = PdfReader(io.BytesIO(render_benefit_certificate(CERTIFICATE)))
    text = flat(reader.pages[0].extract_text())
    assert "待遇资格证明" in text
    assert MASKED_ID in text


def test_qr_code_draws_the_matrix_of_the_verification_address() -> None:
    flowable = QrCode(CERTIFICATE.verify_url)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(CERTIFICATE.verify_url)
    code.make(fit=True)
    assert flowable.matrix == code.get_matrix()
    assert any(any(row) for row in flowable.matrix)


def test_write_batch_is_one_pdf_with_every_document(tmp_path: Path) -> None:
    items = [BatchItem(NOTICE, CERTIFICATE), BatchItem(REFUSED), BatchItem(NOTICE, CERTIFICATE)]
    seen: list[int] = []
    target = tmp_path / "batch.pdf"
    write_batch(target, iter(items), "批量打印", on_item=seen.append)
    pdf = target.read_bytes()
    assert page_count(pdf) == 5  # notice + certificate, notice, notice + certificate
    assert seen == [1, 2, 3]
    pages = [flat(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    assert "JD-2026-000008" in pages[0]
    assert "待遇资格证明" in pages[1]
    assert "DY-2026-000007" in pages[1]  # the footer names each page's own document
    assert "JD-2026-000009" in pages[2]
    assert_pages_not_blank(pdf, tmp_path, pages=3)


def test_write_batch_pulls_one_item_at_a_time(tmp_path: Path) -> None:
    """The next item is only fetched once the previous one is laid out (bounded memory)."""
    fetched: list[int] = []
    reported: list[int] = []

    def items():  # type: ignore[no-untyped-def]
        for number in range(1, 5):
            fetched.append(number)
            assert len(fetched) - len(reported) == 1  # never more than one item ahead
            yield BatchItem(NOTICE)

    write_batch(tmp_path / "b.pdf", items(), "批量打印", on_item=reported.append)
    assert reported == [1, 2, 3, 4]


def test_write_batch_with_no_item_says_so(tmp_path: Path) -> None:
    target = tmp_path / "empty.pdf"
    write_batch(target, iter([]), "批量打印")
    pdf = target.read_bytes()
    assert page_count(pdf) == 1
    assert "本周没有待打印的决定" in flat(pdftotext(pdf, tmp_path))
