"""Reference data shared by the app, the demo loader and tests: Nantong's districts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models.people import District, DistrictKind


@dataclass(frozen=True)
class DistrictSeed:
    code: str  # GB/T 2260 county-level code (the first six digits of a resident ID)
    name_zh: str
    name_en: str
    kind: DistrictKind  # sets the travel speed used for visit routing


NANTONG_DISTRICTS: tuple[DistrictSeed, ...] = (
    DistrictSeed("320602", "崇川区", "Chongchuan District", DistrictKind.URBAN),
    DistrictSeed("320612", "通州区", "Tongzhou District", DistrictKind.URBAN),
    DistrictSeed("320614", "海门区", "Haimen District", DistrictKind.URBAN),
    DistrictSeed("320623", "如东县", "Rudong County", DistrictKind.RURAL),
    DistrictSeed("320681", "启东市", "Qidong City", DistrictKind.RURAL),
    DistrictSeed("320682", "如皋市", "Rugao City", DistrictKind.RURAL),
    DistrictSeed("320685", "海安市", "Hai'an City", DistrictKind.RURAL),
)


def ensure_districts(session: Session) -> list[District]:
    """Add any of Nantong's districts that are missing (idempotent); return all of them."""
    existing = {
        district.code: district
        for district in session.scalars(
            select(District).where(District.code.in_([seed.code for seed in NANTONG_DISTRICTS]))
        )
    }
    districts = []
    for seed in NANTONG_DISTRICTS:
        district = existing.get(seed.code)
        if district is None:
            district = District(
                code=seed.code, name_zh=seed.name_zh, name_en=seed.name_en, kind=seed.kind
            )
            session.add(district)
        districts.append(district)
    session.flush()
    return districts


def list_districts(session: Session) -> list[District]:
    """Every district of the registry, by code (a short list: the city's counties)."""
    return list(session.scalars(select(District).order_by(District.code)))
