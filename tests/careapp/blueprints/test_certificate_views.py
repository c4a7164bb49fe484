"""Decision notices and benefit certificates as sealed PDFs, the public verification page and
batch printing from the UI and the command line."""

from __future__ import annotations

import datetime as dt
import io
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


def test_verify_page_genuine_and_valid_without_login(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, entitlement.decision_id)
    client.post("/logout")
    response = client.get(f"/verify/{number}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-result="valid"' in html
    assert "钱**" in html
    assert entitlement.person.id_number_masked in html
    assert "钱桂兰" not in html
    assert QIAN_ID_NUMBER not in html
    assert "2028-11-20" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_verify_page_not_valid_for_an_ended_entitlement(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    entitlement = institution_entitlement()
    client = login_as(UserFactory(admin=True))
    number = _issue_benefit(client, entitlement.decision_id)
    entitlement.status = EntitlementStatus.ENDED
    entitlement.ends_on = dt.date(2026, 12, 1)
    db_session.flush()
    client.post("/logout")
    html = client.get(f"/verify/{number}").get_data(as_text=True)
    assert 'data-result="not_valid"' in html
    assert "2026-12-01" in html


def test_verify_page_unknown_number_shows_nothing_more(
    client: FlaskClient, db_session: Session
) -> None:
    for number in ("DY-2026-424242", "<b>x<b>"):
        response = client.get(f"/verify/{number}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'data-result="unknown"' in html
        assert "masked-id" not in html
        assert "<b>x<b>" not in html


def test_verify_form_leads_to_the_number(client: FlaskClient, db_session: Session) -> None:
    assert client.get("/verify").status_code == 200
    response = client.get("/verify?number=+dy-2026-000001+")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/verify/DY-2026-000001")
    assert client.get("/verify?number=").status_code == 400


def test_verify_page_is_rate_limited(app: Flask, client: FlaskClient, db_session: Session) -> None:
    app.config["VERIFY_MAX_PER_MINUTE"] = 2
    try:
        statuses = [client.get("/verify/DY-2026-424242").status_code for _ in range(3)]
    finally:
        app.config["VERIFY_MAX_PER_MINUTE"] = 30
    assert statuses == [200, 200, 429]
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.verify")
    ).all()
    assert len(events) == 2


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
    assert "https://ltc.example.cn/verify/" in flat(pdftotext(pdf, tmp_path))


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
