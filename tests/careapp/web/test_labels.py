"""Each enum's labels: one table per enum, a distinct label for each member."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from careapp.models import DispatchRunStatus
from careapp.web.labels import label, visit_status_label
from scheduling.visits import VisitStatus


def test_visit_status_label_names_every_status(app: Flask) -> None:
    with app.app_context(), force_locale("en"):
        labels = {visit_status_label(status) for status in VisitStatus}
    assert len(labels) == len(VisitStatus)


def test_a_dispatch_run_status_reads_in_chinese(app: Flask) -> None:
    with app.app_context(), force_locale("zh"):
        assert label(DispatchRunStatus.COMPLETED) == "已完成"
