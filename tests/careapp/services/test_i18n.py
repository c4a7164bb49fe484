"""The one choice of a thing's Chinese or English wording by the request's language."""

from __future__ import annotations

from flask import Flask

from careapp.models import District
from careapp.services.i18n import localized


def test_localized_name_follows_the_language(app: Flask) -> None:
    district = District(code="320682", name_zh="如皋市", name_en="Rugao City")
    with app.test_request_context():
        assert localized(district) == "如皋市"
    with app.test_request_context("/?lang=en"):
        assert localized(district) == "Rugao City"
