"""The assessment conclusion PDF view: admins only, issues and commits a numbered certificate."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import AuditEvent, Certificate
from tests.factories import AssessmentFactory, UserFactory


def test_assessment_conclusion_pdf_for_an_admin(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(admin=True)
    assessment = AssessmentFactory()
    response = login_as(admin).get(f"/assessments/{assessment.id}/conclusion.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    certificate = db_session.scalars(
        select(Certificate).where(Certificate.assessment_id == assessment.id)
    ).one()
    assert re.fullmatch(r"PG-\d{4}-\d{6,}", certificate.number)
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="{certificate.number}.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert certificate.number in text
    assert "重度依赖" in text
    assert assessment.application.person.id_number_masked in text
    actions = db_session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.actor_id == admin.id, AuditEvent.action != "login"
        )
    ).all()
    assert sorted(actions) == ["create", "read"]


def test_assessment_conclusion_pdf_printed_again_keeps_its_number(
    db_session: Session,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    client = login_as(UserFactory(admin=True))
    assessment = AssessmentFactory()
    url = f"/assessments/{assessment.id}/conclusion.pdf"
    names = {client.get(url).headers["Content-Disposition"] for _ in range(2)}
    assert len(names) == 1
    assert len(db_session.scalars(select(Certificate)).all()) == 1


@pytest.mark.parametrize("trait", ["assessor", "manager", "caregiver"])
def test_assessment_conclusion_pdf_forbidden_for_other_roles(
    db_session: Session,
    login_as,
    trait: str,  # type: ignore[no-untyped-def]
) -> None:
    assessment = AssessmentFactory()
    response = login_as(UserFactory(**{trait: True})).get(
        f"/assessments/{assessment.id}/conclusion.pdf"
    )
    assert response.status_code == 403
    assert db_session.scalars(select(Certificate)).all() == []


def test_assessment_conclusion_pdf_missing_assessment(db_session: Session, login_as) -> None:  # type: ignore[no-untyped-def]
    response = login_as(UserFactory(admin=True)).get("/assessments/987654/conclusion.pdf")
    assert response.status_code == 404
    assert "该评估不存在" in response.get_data(as_text=True)
    assert db_session.scalars(select(Certificate)).all() == []


def test_assessment_conclusion_pdf_requires_login(client: FlaskClient, db_session: Session) -> None:
    assessment = AssessmentFactory()
    response = client.get(f"/assessments/{assessment.id}/conclusion.pdf")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
