"""Reprints through the pages keep their number; an administrator's re-issue supersedes it; the
address printed in the PDFs comes from the configuration, never from the request."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import Certificate, CertificateKind
from careapp.reports.seal import check_seal
from tests.careapp.reports.pdf_checks import flat, pdftotext
from tests.factories import AssessmentFactory, EntitlementFactory, UserFactory

PUBLIC = "https://ltc.example.cn"


@pytest.fixture
def public_address(app: Flask) -> Iterator[str]:
    default = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    yield PUBLIC
    app.config["PUBLIC_BASE_URL"] = default


def _filename(response) -> str:  # type: ignore[no-untyped-def]
    return response.headers["Content-Disposition"].split('"')[1].removesuffix(".pdf")


def _code(db_session: Session, number: str) -> str:
    """The check code printed beside `number` (as printed: two groups)."""
    code = db_session.scalars(select(Certificate.check_code).where(Certificate.number == number))
    stored = code.one()
    return f"{stored[:5]}-{stored[5:]}"


def _uris(pdf: bytes) -> list[str]:
    return [
        str(annotation.get_object()["/A"]["/URI"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for annotation in page.get("/Annots", [])
        if "/A" in annotation.get_object()
    ]


def test_a_forged_host_header_never_reaches_the_pdf(
    app: Flask, db_session: Session, login_as, public_address: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    # The browser sends its session cookie to the forged host too (a proxy passing it on).
    client.set_cookie(name, cookie.value, domain="evil.example")
    assessment = AssessmentFactory()
    response = client.get(
        f"/assessments/{assessment.id}/conclusion.pdf",
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    number = _filename(response)
    text = flat(pdftotext(response.data, tmp_path))
    code = _code(db_session, number)
    assert f"{PUBLIC}/verify/{number}核验码：{code}" in text  # printed beside the QR code
    assert "evil" not in text
    assert _uris(response.data) == [f"{PUBLIC}/verify/{number}?code={code}"]  # the seal's link
    assert b"evil" not in response.data


def test_opening_the_conclusion_again_gives_the_same_number(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    assessment = AssessmentFactory()
    first = client.get(f"/assessments/{assessment.id}/conclusion.pdf")
    second = client.get(f"/assessments/{assessment.id}/conclusion.pdf")
    assert first.status_code == second.status_code == 200
    assert _filename(first) == _filename(second)
    assert check_seal(second.data, app.config["SIGNING_CERT_PATH"]).is_valid
    rows = db_session.scalars(select(Certificate.number)).all()
    assert rows == [_filename(first)]


def test_reprinting_notices_and_certificates_gives_the_same_numbers(
    db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    decision_id = EntitlementFactory().decision_id
    for path in ("notice.pdf", "benefit-certificate.pdf"):
        first = client.post(f"/decisions/{decision_id}/{path}")
        second = client.post(f"/decisions/{decision_id}/{path}")
        assert first.status_code == second.status_code == 200
        assert _filename(first) == _filename(second)
    assert len(db_session.scalars(select(Certificate)).all()) == 2


def test_reissue_supersedes_the_earlier_number_on_verify(
    app: Flask, db_session: Session, login_as
) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    decision_id = EntitlementFactory().decision_id
    page = f"/certificates/benefit/{decision_id}/reissue"
    nothing = client.get(page)
    assert nothing.status_code == 200
    assert 'data-testid="reissue-none"' in nothing.get_data(as_text=True)
    earlier = _filename(client.post(f"/decisions/{decision_id}/benefit-certificate.pdf"))
    form = client.get(page).get_data(as_text=True)
    assert earlier in form
    unconfirmed = client.post(page, data={"reason": "原件遗失"})
    assert unconfirmed.status_code == 400
    assert len(db_session.scalars(select(Certificate)).all()) == 1
    response = client.post(page, data={"reason": "原件遗失", "confirm": "y"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert check_seal(response.data, app.config["SIGNING_CERT_PATH"]).is_valid
    later = _filename(response)
    assert later != earlier
    stored = db_session.scalars(select(Certificate).where(Certificate.number == earlier)).one()
    assert stored.supersede_reason == "原件遗失"

    earlier_code = _code(db_session, earlier)
    verify = app.test_client().get(f"/verify/{earlier}?code={earlier_code}").get_data(as_text=True)
    assert 'data-result="superseded"' in verify
    assert 'data-result="valid"' not in verify
    assert "已被取代" in verify
    assert "作废" in verify
    assert later in verify
    assert stored.superseded_at is not None
    assert "2026-11-23" in verify
    assert f"?code={_code(db_session, later)}" not in verify  # the later code is not handed out
    later_page = app.test_client().get(f"/verify/{later}?code={_code(db_session, later)}")
    assert 'data-result="valid"' in later_page.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["settlement_statement", "nonsense"])
def test_reissue_of_an_unknown_kind_is_not_found(login_as, kind: str) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(admin=True))
    assert client.get(f"/certificates/{kind}/1/reissue").status_code == 404


def test_reissue_is_for_administrators(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(UserFactory(assessor=True))
    kind = CertificateKind.ASSESSMENT_CONCLUSION.value
    assert client.get(f"/certificates/{kind}/1/reissue").status_code == 403
