"""Reference data: Nantong's districts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.identity import is_known_region
from careapp.models import District, DistrictKind
from careapp.services.reference import (
    NANTONG_DISTRICTS,
    ensure_districts,
    list_districts,
)
from tests.factories import DistrictFactory


@pytest.mark.parametrize("seed", NANTONG_DISTRICTS, ids=lambda seed: seed.code)
def test_nantong_district_codes_are_known_regions(seed) -> None:  # type: ignore[no-untyped-def]
    assert is_known_region(seed.code)
    assert seed.code.startswith("3206")


def test_nantong_districts_are_unique_and_classified() -> None:
    codes = [seed.code for seed in NANTONG_DISTRICTS]
    assert len(codes) == len(set(codes)) == 7
    kinds = {seed.code: seed.kind for seed in NANTONG_DISTRICTS}
    assert kinds["320602"] is DistrictKind.URBAN
    assert kinds["320685"] is DistrictKind.RURAL


def test_ensure_districts_is_idempotent_and_keeps_existing_rows(db_session: Session) -> None:
    DistrictFactory(code="320602", name_zh="崇川区", name_en="Chongchuan District")

    first = ensure_districts(db_session)
    second = ensure_districts(db_session)

    assert [d.code for d in first] == [seed.code for seed in NANTONG_DISTRICTS]
    assert first == second
    assert db_session.scalar(select(func.count()).select_from(District)) == 7
    assert db_session.get(District, "320623").name_zh == "如东县"  # type: ignore[union-attr]


def test_list_districts_by_code(db_session: Session) -> None:
    ensure_districts(db_session)
    assert [d.code for d in list_districts(db_session)] == sorted(
        seed.code for seed in NANTONG_DISTRICTS
    )
