"""Decision notices and benefit certificates as sealed PDFs, the public verification page and
batch printing from the UI and the command line."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.jobs.print_batches import run_print_batch
from careapp.models import (
    AuditEvent,
    Certificate,
    CertificateKind,
    EntitlementStatus,
    PrintBatch,
    PrintBatchStatus,
)
from careapp.reports import pdf as pdf_module
from careapp.reports.seal import check_seal
from careapp.services.actor import Actor
from tests.careapp.reports.pdf_checks import assert_pages_not_blank, flat, pdftotext
from tests.factories import (
    NOW,
    QIAN_ID_NUMBER,
    AssessmentFactory,
    EligibilityDecisionFactory,
    EntitlementFactory,
    PrintBatchFactory,
    UserFactory,
    institution_entitlement,
)


def test_decision_notice_pdf_is_sealed_and_complete(
    app: Flask, db_session: Session, login_as, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    response = login_as(UserFactory(admin=True)).post(
        f"/decisions/{entitlement.decision_id}/notice.pdf"
    )
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    certificate = db_session.scalars(
        select(Certificate).where(Certificate.kind == CertificateKind.DECISION_NOTICE)
    ).one()
    assert certificate.number in response.headers["Content-Disposition"]
    assert check_seal(response.data, app.config["SIGNING_CERT_PATH"]).is_valid
    text = flat(pdftotext(response.data, tmp_path))
    for expected in (
        "待遇资格认定决定通知书",
        certificate.number,
        "钱桂兰",
        entitlement.person.id_number_masked,
        "失能已持续22个月（至少需6个月）",
        "养老机构",
        "40.00元/日",
        f"/verify/{certificate.number}",
    ):
        assert expected in text, expected
    assert QIAN_ID_NUMBER not in text
    assert_pages_not_blank(response.data, tmp_path)


def test_benefit_certificate_pdf_is_sealed_and_complete(
    app: Flask, db_session: Session, login_as, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    default = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = "https://ltc.example.cn"
    try:
        entitlement = institution_entitlement()
        response = login_as(UserFactory(admin=True)).post(
            f"/decisions/{entitlement.decision_id}/benefit-certificate.pdf"
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = default
    assert response.status_code == 200
    assert check_seal(response.data, app.config["SIGNING_CERT_PATH"]).is_valid
    certificate = db_session.scalars(
        select(Certificate).where(Certificate.kind == CertificateKind.BENEFIT)
    ).one()
    text = flat(pdftotext(response.data, tmp_path))
    for expected in (
        "待遇资格证明",
        certificate.number,
        entitlement.person.id_number_masked,
        "重度失能",
        "养老机构",
        "40.00元/日",
        "2026年11月21日至2028年11月20日",
        f"https://ltc.example.cn/verify/{certificate.number}",
    ):
        assert expected in text, expected
    assert QIAN_ID_NUMBER not in text
    assert QIAN_ID_NUMBER.encode() not in response.data
    assert_pages_not_blank(response.data, tmp_path)


def test_assessment_conclusion_pdf_is_sealed_with_a_qr_code(
    app: Flask, db_session: Session, login_as, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assessment = AssessmentFactory()
    response = login_as(UserFactory(admin=True)).get(f"/assessments/{assessment.id}/conclusion.pdf")
    assert response.status_code == 200
    assert check_seal(response.data, app.config["SIGNING_CERT_PATH"]).is_valid
    text = flat(pdftotext(response.data, tmp_path))
    assert "http://127.0.0.1:5000/verify/PG-" in text  # the configured default (the demo's)


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_certificate_pdfs_forbidden_for_other_roles(
    db_session: Session, login_as, trait: str
) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(**{trait: True}))
    for kind in ("notice", "benefit-certificate"):
        response = client.post(f"/decisions/{entitlement.decision_id}/{kind}.pdf")
        assert response.status_code == 403
    assert db_session.scalars(select(Certificate)).all() == []


def test_certificate_pdfs_of_an_unknown_decision(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    page = client.post("/decisions/987654/notice.pdf")
    assert page.status_code == 404
    assert "text/html" in page.content_type
    as_json = client.post(
        "/decisions/987654/benefit-certificate.pdf", headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 404
    assert as_json.get_json()["error"]
    assert db_session.scalars(select(Certificate)).all() == []


def test_benefit_certificate_of_a_refusal_is_a_conflict(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    decision = EligibilityDecisionFactory(is_eligible=False, category=None)
    response = login_as(UserFactory(admin=True)).post(
        f"/decisions/{decision.id}/benefit-certificate.pdf"
    )
    assert response.status_code == 409
    assert db_session.scalars(select(Certificate)).all() == []


def test_issuing_without_a_signing_key_fails_clearly(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    saved = app.config["SIGNING_KEY_PATH"]
    app.config["SIGNING_KEY_PATH"] = None
    try:
        response = client.post(f"/decisions/{entitlement.decision_id}/benefit-certificate.pdf")
        conclusion = client.get(f"/assessments/{entitlement.decision.assessment_id}/conclusion.pdf")
    finally:
        app.config["SIGNING_KEY_PATH"] = saved
    assert response.status_code == 503
    assert conclusion.status_code == 503
    assert response.mimetype == "text/html"
    assert "create-signing-key" in response.get_data(as_text=True)
    assert db_session.scalars(select(Certificate)).all() == []


def test_decision_page_offers_the_certificates(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    page = login_as(UserFactory(admin=True)).get(f"/decisions/{entitlement.decision_id}")
    html = page.get_data(as_text=True)
    assert f"/decisions/{entitlement.decision_id}/notice.pdf" in html
    assert f"/decisions/{entitlement.decision_id}/benefit-certificate.pdf" in html


# --- the public verification page ----------------------------------------------------------


def _issue_benefit(client: FlaskClient, decision_id: int) -> str:
    response = client.post(f"/decisions/{decision_id}/benefit-certificate.pdf")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    return disposition.split('filename="')[1].removesuffix('.pdf"')


def _code(db_session: Session, number: str) -> str:
    """The check code printed beside `number`, as printed (two groups)."""
    stored = db_session.scalars(
        select(Certificate.check_code).where(Certificate.number == number)
    ).one()
    return f"{stored[:5]}-{stored[5:]}"


def test_verify_page_genuine_and_valid_without_login(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, entitlement.decision_id)
    client.post("/logout")
    response = client.get(f"/verify/{number}?code={_code(db_session, number)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-result="valid"' in html
    assert "钱**" in html
    assert entitlement.person.id_number_masked in html
    assert "钱桂兰" not in html
    assert QIAN_ID_NUMBER not in html
    assert "2028-11-20" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the code stays on this page


def test_verify_page_not_valid_for_an_ended_entitlement(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, entitlement.decision_id)
    entitlement.status = EntitlementStatus.ENDED
    entitlement.ends_on = dt.date(2026, 12, 1)
    db_session.flush()
    client.post("/logout")
    html = client.get(f"/verify/{number}?code={_code(db_session, number)}").get_data(as_text=True)
    assert 'data-result="not_valid"' in html
    assert "2026-12-01" in html


def test_verify_page_unknown_number_shows_nothing_more(
    client: FlaskClient, db_session: Session
) -> None:
    for number in ("DY-2026-424242", "<b>x<b>"):
        response = client.get(f"/verify/{number}?code=K7QF3-M9DXA")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'data-result="unknown"' in html
        assert "masked-id" not in html
        assert "<b>x<b>" not in html


def _page(client: FlaskClient, number: str, code: str | None) -> tuple[int, str]:
    """The status and the body of a look-up, with the typed number and code taken out (the
    form shows them again) and the CSRF tokens of the language buttons (a new one each time)."""
    query = "" if code is None else f"?code={code}"
    response = client.get(f"/verify/{number}{query}")
    html = response.get_data(as_text=True).replace(number, "NUMBER")
    if code:
        html = html.replace(code, "CODE")
    return response.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def test_a_number_without_its_code_answers_as_an_unknown_number(
    db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    """No oracle: the number of a real certificate with a wrong code, a guessed code or a code
    of another certificate gives the very page an unknown number gives."""
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, institution_entitlement().decision_id)
    other = _issue_benefit(client, EntitlementFactory().decision_id)
    client.post("/logout")
    code = _code(db_session, number)
    unknown = "DY-2026-999999"
    wrong = "K7QF3-M9DXA" if code != "K7QF3-M9DXA" else "K7QF3-M9DXB"
    for typed in (wrong, _code(db_session, other), "", "X" * 40):
        assert _page(client, number, typed) == _page(client, unknown, typed), typed
    status, html = _page(client, number, wrong)
    assert status == 200
    assert 'data-result="unknown"' in html
    assert "钱" not in html
    # With no code at all nothing is looked up: the page asks for it, for every number alike.
    asked = _page(client, number, None)
    assert asked == _page(client, unknown, None)
    assert 'data-testid="verify-ask-code"' in asked[1]
    assert "data-result" not in asked[1]
    assert 'data-result="valid"' in _page(client, number, code)[1]


def test_enumerating_numbers_finds_nothing(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    """The probe of issue 13: every number in the sequence, with no code and with a guessed
    one, finds none of the certificates issued."""
    admin = UserFactory(admin=True)
    client = login_as(admin)
    numbers = [_issue_benefit(client, EntitlementFactory().decision_id) for _ in range(4)]
    client.post("/logout")
    first = min(int(number.rsplit("-", 1)[1]) for number in numbers)
    found = 0
    for n in range(max(1, first - 3), first + len(numbers) + 3):
        for query in ("", "?code=", "?code=00000-00000", "?code=K7QF3-M9DXA"):
            html = client.get(f"/verify/DY-2026-{n:06d}{query}").get_data(as_text=True)
            found += any(f'data-result="{r}"' in html for r in ("valid", "not_valid", "superseded"))
    assert found == 0
    assert all(
        'data-result="valid"'
        in client.get(f"/verify/{number}?code={_code(db_session, number)}").get_data(as_text=True)
        for number in numbers
    )


def test_the_qr_code_verifies_at_once(
    app: Flask, db_session: Session, login_as, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The QR code of a printed certificate holds its number and check code: scanning it (a GET
    of the address it encodes) verifies without typing anything."""
    encoded: list[str] = []

    class RecordedQrCode(pdf_module.QrCode):
        def __init__(self, data: str, *args: Any, **kwargs: Any) -> None:
            encoded.append(data)
            super().__init__(data, *args, **kwargs)

    monkeypatch.setattr(pdf_module, "QrCode", RecordedQrCode)
    client = login_as(UserFactory(admin=True))
    response = client.post(
        f"/decisions/{institution_entitlement().decision_id}/benefit-certificate.pdf"
    )
    number = response.headers["Content-Disposition"].split('filename="')[1].removesuffix('.pdf"')
    code = _code(db_session, number)
    base = app.config["PUBLIC_BASE_URL"]
    assert encoded == [f"{base}/verify/{number}?code={code}"]
    assert f"{number}核验码：{code}" in flat(pdftotext(response.data, tmp_path))
    client.post("/logout")
    scanned = client.get(encoded[0].removeprefix(base))
    assert 'data-result="valid"' in scanned.get_data(as_text=True)


def test_verify_form_leads_to_the_number_and_code(client: FlaskClient, db_session: Session) -> None:
    assert client.get("/verify").status_code == 200
    response = client.get("/verify?number=+dy-2026-000001+&code=k7qf3+m9dxa")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/verify/DY-2026-000001?code=K7QF3-M9DXA")
    assert client.get("/verify?number=").status_code == 400
    assert client.get("/verify?number=DY-2026-000001").status_code == 400  # the code too
    assert client.get("/verify?number=DY-2026-000001&code=").status_code == 400


def test_verify_page_is_rate_limited(app: Flask, client: FlaskClient, db_session: Session) -> None:
    app.config["VERIFY_MAX_PER_MINUTE"] = 2
    try:
        statuses = [
            client.get("/verify/DY-2026-424242?code=K7QF3-M9DXA").status_code for _ in range(3)
        ]
    finally:
        app.config["VERIFY_MAX_PER_MINUTE"] = 30
    assert statuses == [200, 200, 429]
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.verify")
    ).all()
    assert len(events) == 2


def test_failed_look_ups_count_and_the_limit_holds_for_the_right_code(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    """Guessing codes uses up the address's look-ups: once over the limit even the right code
    is refused for the rest of the minute."""
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, institution_entitlement().decision_id)
    client.post("/logout")
    app.config["VERIFY_MAX_PER_MINUTE"] = 3
    try:
        guesses = [client.get(f"/verify/{number}?code=0000{n}-00000").status_code for n in range(3)]
        right = client.get(f"/verify/{number}?code={_code(db_session, number)}")
    finally:
        app.config["VERIFY_MAX_PER_MINUTE"] = 30
    assert guesses == [200, 200, 200]
    assert right.status_code == 429
    failures = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.verify")
    ).all()
    assert [(event.object_id, event.detail) for event in failures] == [
        (None, {"result": "unknown"})
    ] * 3  # a failed look-up names no certificate, whether its number exists or not


# --- batch printing ----------------------------------------------------------------------------


@pytest.fixture
def inline_launcher(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Build batches in the request's thread (the test's connection is not shared)."""
    started: list[int] = []

    def launch(batch_id: int, actor: Actor, signer: Any, base_url: str) -> None:
        started.append(batch_id)
        run_print_batch(app, batch_id, actor, signer, base_url)

    monkeypatch.setitem(app.extensions, "careapp.print_batch_launcher", launch)
    return started


def test_batch_printing_from_the_ui(
    app: Flask, db_session: Session, login_as, inline_launcher: list[int]
) -> None:  # type: ignore[no-untyped-def]
    monday = dt.date(2026, 11, 16)
    for offset in (0, 2):
        EntitlementFactory(
            decision__decided_on=monday + dt.timedelta(days=offset),
            starts_on=monday + dt.timedelta(days=offset),
        )
    EligibilityDecisionFactory(decided_on=monday + dt.timedelta(days=5), is_eligible=False)
    client = login_as(UserFactory(admin=True))
    assert client.get("/certificates/batches").status_code == 200
    response = client.post("/certificates/batches", data={"week": "2026-11-19"})
    assert response.status_code == 302
    batch_id = inline_launcher[0]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "print-batch.js" in page.get_data(as_text=True)
    state = client.get(f"/certificates/batches/{batch_id}/status.json").get_json()
    assert state["status"] == "done"
    assert state["total"] == state["done"] == 3
    assert state["percent"] == 100
    download = client.get(state["download_url"])
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(download.data)).pages) == 5
    assert check_seal(download.data, app.config["SIGNING_CERT_PATH"]).is_valid
    download.close()


def test_batch_page_shows_a_failure(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    batch = PrintBatchFactory(status=PrintBatchStatus.FAILED, error="磁盘已满", total=4, done=2)
    client = login_as(UserFactory(admin=True))
    state = client.get(f"/certificates/batches/{batch.id}/status.json").get_json()
    assert state["status"] == "failed"
    assert state["error"] == "磁盘已满"
    assert state["download_url"] is None
    assert "磁盘已满" in client.get(f"/certificates/batches/{batch.id}").get_data(as_text=True)
    assert client.get(f"/certificates/batches/{batch.id}/download").status_code == 404


def test_batch_running_progress(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    batch = PrintBatchFactory(status=PrintBatchStatus.RUNNING, total=8, done=2)
    state = (
        login_as(UserFactory(admin=True))
        .get(f"/certificates/batches/{batch.id}/status.json")
        .get_json()
    )
    assert (state["status"], state["percent"], state["done"]) == ("running", 25, 2)


def test_batch_form_refusals(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    assert client.post("/certificates/batches", data={"week": "not a date"}).status_code == 400
    PrintBatchFactory(status=PrintBatchStatus.RUNNING, requested_at=NOW)
    assert len(db_session.scalars(select(PrintBatch)).all()) == 1
    response = client.post("/certificates/batches", data={"week": "2026-11-17"})
    assert response.status_code == 409
    assert "该周的决定正在批量打印中" in response.get_data(as_text=True)


def test_batch_pages_unknown_batch(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    assert client.get("/certificates/batches/987654").status_code == 404
    response = client.get(
        "/certificates/batches/987654/status.json", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_batch_pages_forbidden_for_other_roles(db_session: Session, login_as, trait: str) -> None:  # type: ignore[no-untyped-def]
    batch = PrintBatchFactory()
    client = login_as(UserFactory(**{trait: True}))
    assert client.post("/certificates/batches", data={"week": "2026-11-17"}).status_code == 403
    assert client.get(f"/certificates/batches/{batch.id}/status.json").status_code == 403


def test_print_decisions_command(app: Flask, db_session: Session, tmp_path: Path) -> None:
    admin = UserFactory(admin=True, username="cli-admin")
    monday = dt.date(2026, 11, 16)
    EntitlementFactory(decision__decided_on=monday, starts_on=monday)
    EligibilityDecisionFactory(decided_on=monday + dt.timedelta(days=1), is_eligible=False)
    db_session.commit()
    out = tmp_path / "decisions.pdf"
    result = app.test_cli_runner().invoke(
        args=[
            "print-decisions",
            "--week",
            "2026-11-16",
            "--out",
            str(out),
            "--as",
            admin.username,
            "--base-url",
            "https://ltc.example.cn",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    pdf = out.read_bytes()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    assert check_seal(pdf, app.config["SIGNING_CERT_PATH"]).is_valid
    text = flat(pdftotext(pdf, tmp_path))
    assert "https://ltc.example.cn/verify/" in text
    assert "核验码：" in text


def test_print_decisions_command_needs_a_public_address(app: Flask, db_session: Session) -> None:
    default = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = ""  # unset in the environment
    try:
        result = app.test_cli_runner().invoke(
            args=["print-decisions", "--week", "2026-11-16", "--out", "x.pdf"]
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = default
    assert result.exit_code != 0
    assert "PUBLIC_BASE_URL" in result.output


def test_create_signing_key_command(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-signing-key", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "signing-key.pem").exists()
    assert "CAREAPP_SIGNING_KEY_PATH=" in result.output
    again = runner.invoke(args=["create-signing-key", "--dir", str(tmp_path)])
    assert again.exit_code != 0
    assert "--force" in again.output


def test_batch_builds_in_a_background_thread(
    app: Flask, db_session: Session, login_as, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The real launcher starts a daemon thread running the batch with the request's actor."""
    import threading

    import careapp.jobs.print_batches

    calls: list[tuple[int, Actor, str]] = []
    finished = threading.Event()

    def fake_run(app_: Flask, batch_id: int, actor: Actor, signer: Any, base_url: str) -> bool:
        calls.append((batch_id, actor, threading.current_thread().name))
        finished.set()
        return True

    monkeypatch.setattr(careapp.jobs.print_batches, "run_print_batch", fake_run)
    admin = UserFactory(admin=True)
    response = login_as(admin).post("/certificates/batches", data={"week": "2026-11-18"})
    assert response.status_code == 302
    assert finished.wait(10)
    batch_id, actor, thread_name = calls[0]
    assert actor.user_id == admin.id
    assert thread_name == f"print-batch-{batch_id}"
    assert thread_name != threading.current_thread().name


def test_an_abandoned_batch_is_shown_as_such_in_chinese(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    abandoned = PrintBatchFactory(abandoned=True)
    client = login_as(UserFactory(admin=True))
    listing = client.get("/certificates/batches").get_data(as_text=True)
    assert "已中断" in listing
    page = client.get(f"/certificates/batches/{abandoned.id}").get_data(as_text=True)
    assert "已中断（长时间没有活动迹象），已打印 1 / 3 份决定" in page
    assert "立即重新开始此批次" in page
    assert 'id="print-batch-restart" method="post"' in page
    assert " hidden>" not in page.split('id="print-batch-restart"')[1].split("\n")[0]


def test_a_live_batch_cannot_be_restarted(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    live = PrintBatchFactory(status=PrintBatchStatus.RUNNING, total=8, done=2)
    client = login_as(UserFactory(admin=True))
    page = client.get(f"/certificates/batches/{live.id}").get_data(as_text=True)
    assert "已中断" not in page
    response = client.post(f"/certificates/batches/{live.id}/restart")
    assert response.status_code == 409
    assert "只有已中断的批次可以重新开始" in response.get_data(as_text=True)
    db_session.refresh(live)
    assert (live.status, live.attempt) == (PrintBatchStatus.RUNNING, 0)
    assert client.post("/certificates/batches/987654/restart").status_code == 404
