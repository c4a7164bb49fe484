"""Each enum's labels: one table per enum, a distinct label for each member."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

from careapp.models import DispatchRunStatus
from careapp.services.dispatch import NO_HOME_LOCATION
from careapp.web.labels import label, unassigned_reason_label, visit_status_label
from scheduling.types import NO_CAREGIVER_WORKING, NO_QUALIFIED_CAREGIVER
from scheduling.visits import VisitStatus


def test_visit_status_label_names_every_status(app: Flask) -> None:
    with app.app_context(), force_locale("en"):
        labels = {visit_status_label(status) for status in VisitStatus}
    assert len(labels) == len(VisitStatus)


def test_a_dispatch_run_status_reads_in_chinese(app: Flask) -> None:
    with app.app_context(), force_locale("zh"):
        assert label(DispatchRunStatus.COMPLETED) == "已完成"


@pytest.mark.parametrize(
    "code", [NO_QUALIFIED_CAREGIVER, NO_CAREGIVER_WORKING, NO_HOME_LOCATION, None]
)
def test_unassigned_reason_label_is_human_text(app: Flask, code: str | None) -> None:
    with app.app_context():
        text = unassigned_reason_label(code)
        assert text
        assert text != code
        assert unassigned_reason_label("something_new") == "something_new"


def test_every_template_may_use_the_label_helpers(app: Flask) -> None:
    source = (
        "{{ label(run) }} · {{ visit_status_label(status) }} · {{ unassigned_reason_label(None) }}"
    )
    with app.test_request_context(), force_locale("en"):
        text = render_template_string(
            source, run=DispatchRunStatus.COMPLETED, status=VisitStatus.CHECKED_IN
        )
    assert text == "Completed · In progress · Not dispatched yet."
