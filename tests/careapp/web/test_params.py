"""The bounded parser of ids, offsets and form numbers and dates (careapp.web.params)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DecimalField, IntegerField, SelectField

from careapp.web.forms import CareappForm, optional_int
from careapp.web.params import MAX_ID, MAX_OFFSET, parse_offset
from tests import factories as f


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (None, 0),
        ("", 0),
        ("40", 40),
        (str(MAX_OFFSET), MAX_OFFSET),
        (str(MAX_OFFSET + 1), 0),
        ("9" * 300, 0),
        ("-5", 0),
        ("1e3", 0),
        ("junk", 0),
        ("٣", 0),  # a digit, but not an ASCII one
    ],
)
def test_offset_is_a_small_whole_number_or_the_first_page(raw: str | None, offset: int) -> None:
    assert parse_offset(raw) == offset


@pytest.mark.parametrize("value", [MAX_ID + 1, 10**300])
def test_a_path_id_too_big_for_the_database_is_404(
    client: FlaskClient,
    login_as,  # type: ignore[no-untyped-def]
    value: int,
) -> None:
    login_as(f.UserFactory(admin=True))
    assert client.get(f"/people/{value}").status_code == 404
    assert client.get("/people?offset=" + "9" * 300).status_code == 200


class _Bounded(CareappForm):
    count = IntegerField()
    amount = DecimalField()
    day = DateField()
    choice = SelectField(coerce=optional_int, validate_choice=False)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("count", str(MAX_ID + 1)),
        ("count", "-" + "9" * 300),
        ("amount", "1e309"),
        ("amount", "NaN"),
        ("amount", "12345678901234"),
        ("day", "9999-12-31"),
        ("day", "0001-01-01"),
        ("choice", "9" * 300),
    ],
)
def test_every_form_bounds_its_numbers_and_dates(app: Flask, name: str, raw: str) -> None:
    good = {"count": "3", "amount": "12.50", "day": "2026-11-24", "choice": "7"}
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert _Bounded(formdata=MultiDict(good), meta={"csrf": False}).validate()
        form = _Bounded(formdata=MultiDict({**good, name: raw}), meta={"csrf": False})
        assert not form.validate()
        assert form.errors[name]
