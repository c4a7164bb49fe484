"""The assigned assessor sees the home-visit contact (address, phone, family) on the queue and
the form header; nobody else does, and every read is audited."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models import Application, ApplicationStatus, AuditEvent, Role
from careapp.services.actor import Actor
from careapp.services.assessments import read_home_visit_contacts
from tests.factories import NOW, ApplicationFactory, PersonFactory, UserFactory

CONTACT = {
    "address": "崇川区虹桥路12号3单元",
    "township": "虹桥街道",
    "phone": "13912345678",
    "guardian_name": "李娟",
    "guardian_phone": "13787654321",
}


def home_visit(assessor: Any = None, **person: Any) -> Application:
    values: dict[str, Any] = {"assigned": True, "person": PersonFactory(**(CONTACT | person))}
    if assessor is not None:
        values["assessor_2"] = assessor
    application: Application = ApplicationFactory(**values)
    return application


def contact_reads(session: Session) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read_contact").order_by(AuditEvent.id)
        )
    )


def assert_contact_shown(page: str) -> None:
    assert 'data-testid="home-visit-contact"' in page
    assert "崇川区虹桥路12号3单元 (虹桥街道)" in page
    assert 'href="tel:13912345678"' in page
    assert "李娟" in page
    assert 'href="tel:13787654321"' in page


def test_queue_shows_the_assigned_assessor_the_contact_and_audits_each_read(
    db_session: Session, login_as: Any
) -> None:
    assessor = UserFactory(assessor=True)
    mine = home_visit(assessor)
    ApplicationFactory(assigned=True, person__phone="13600000000", person__name="别人家")

    client: FlaskClient = login_as(assessor)
    page = client.get("/assessments").get_data(as_text=True)

    assert_contact_shown(page)
    assert "13600000000" not in page
    [read] = contact_reads(db_session)
    assert (read.actor_id, read.object_type, read.object_id) == (
        assessor.id,
        "person",
        mine.person_id,
    )
    assert read.detail == {"application_id": mine.id, "purpose": "home_assessment"}
    client.get("/assessments")
    assert len(contact_reads(db_session)) == 2  # every access, not only the first


def test_form_header_shows_the_contact_in_english_and_audits_the_read(
    db_session: Session, login_as: Any
) -> None:
    application = home_visit()
    client: FlaskClient = login_as(application.assessor_1)
    client.post("/lang/en")
    page = client.get(f"/applications/{application.id}/assessment").get_data(as_text=True)
    assert_contact_shown(page)
    assert "Family contact" in page
    [read] = contact_reads(db_session)
    assert read.object_id == application.person_id


def test_form_header_in_chinese(db_session: Session, login_as: Any) -> None:
    application = home_visit()
    page = login_as(application.assessor_1).get(f"/applications/{application.id}/assessment")
    html = page.get_data(as_text=True)
    assert "家属联系人" in html
    assert "住址" in html


def test_form_re_shown_after_an_error_still_has_the_contact(
    db_session: Session, login_as: Any
) -> None:
    application = home_visit()
    client: FlaskClient = login_as(application.assessor_1)
    response = client.post(
        f"/applications/{application.id}/assessment", data={"family_member_present": ""}
    )
    assert response.status_code == 400
    assert_contact_shown(response.get_data(as_text=True))


def test_missing_contact_fields_show_a_dash(db_session: Session, login_as: Any) -> None:
    application = home_visit(phone=None, guardian_name=None, guardian_phone=None, township=None)
    page = login_as(application.assessor_1).get(f"/applications/{application.id}/assessment")
    html = page.get_data(as_text=True)
    assert "崇川区虹桥路12号3单元" in html
    assert "tel:" not in html


def test_the_offline_copy_of_the_form_has_no_contact(db_session: Session, login_as: Any) -> None:
    application = home_visit()
    page = login_as(application.assessor_1).get("/assessment-shell").get_data(as_text=True)
    assert "13912345678" not in page
    assert CONTACT["address"] not in page
    assert contact_reads(db_session) == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ASSESSOR])
def test_read_home_visit_contacts_only_for_the_assigned_assessors(
    db_session: Session, role: Role
) -> None:
    application = home_visit()
    other = Actor(user_id=UserFactory(**{role.value: True}).id, role=role)
    assert read_home_visit_contacts(db_session, other, [application], NOW) == {}
    assert contact_reads(db_session) == []


def test_read_home_visit_contacts_not_once_the_assessment_is_over(db_session: Session) -> None:
    application = home_visit()
    application.status = ApplicationStatus.ASSESSED
    actor = Actor(user_id=application.assessor_1_id, role=Role.ASSESSOR)
    assert read_home_visit_contacts(db_session, actor, [application], NOW) == {}
    application.status = ApplicationStatus.ASSESSING
    contacts = read_home_visit_contacts(db_session, actor, [application], NOW)
    assert contacts[application.id].family_phone == "13787654321"
    assert len(contact_reads(db_session)) == 1
