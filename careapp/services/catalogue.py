"""The service catalogue: what a visit can include, how long it takes, who may do it, its price.

The default items follow the spec's list (`dispatch.md`, care plans); durations and prices are
configurable data (placeholders in the range of published city catalogues, not official figures).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models.providers import Qualification, ServiceItem


@dataclass(frozen=True)
class ServiceItemSpec:
    code: str
    name_zh: str
    name_en: str
    duration_minutes: int
    qualification: Qualification
    unit_price_fen: int


DEFAULT_SERVICE_ITEMS: tuple[ServiceItemSpec, ...] = (
    ServiceItemSpec("bathing", "助浴", "Bathing", 60, Qualification.DAILY_CARE, 8000),
    ServiceItemSpec("hair_washing", "洗头", "Hair washing", 30, Qualification.DAILY_CARE, 2000),
    ServiceItemSpec("oral_care", "口腔护理", "Oral care", 30, Qualification.DAILY_CARE, 2000),
    ServiceItemSpec("feeding_help", "协助进食", "Feeding help", 30, Qualification.DAILY_CARE, 2500),
    ServiceItemSpec(
        "turning_positioning",
        "翻身拍背",
        "Turning and positioning",
        30,
        Qualification.DAILY_CARE,
        2500,
    ),
    ServiceItemSpec(
        "pressure_sore_care", "压疮护理", "Pressure-sore care", 45, Qualification.NURSING, 6000
    ),
    ServiceItemSpec(
        "catheter_care", "导尿管护理", "Catheter care", 45, Qualification.NURSING, 6000
    ),
    ServiceItemSpec(
        "rehabilitation_exercise",
        "康复训练",
        "Rehabilitation exercise",
        60,
        Qualification.REHABILITATION,
        8000,
    ),
    ServiceItemSpec(
        "companionship", "陪护聊天", "Companionship", 60, Qualification.DAILY_CARE, 3000
    ),
)


def ensure_service_catalogue(session: Session) -> list[ServiceItem]:
    """Add the default items that are missing (by code); existing items are left as they are."""
    existing = {item.code: item for item in session.scalars(select(ServiceItem))}
    for spec in DEFAULT_SERVICE_ITEMS:
        if spec.code not in existing:
            item = ServiceItem(
                code=spec.code,
                name_zh=spec.name_zh,
                name_en=spec.name_en,
                duration_minutes=spec.duration_minutes,
                qualification=spec.qualification,
                unit_price_fen=spec.unit_price_fen,
            )
            session.add(item)
            existing[spec.code] = item
    session.flush()
    return sorted(existing.values(), key=lambda item: item.id)


def list_service_items(session: Session) -> list[ServiceItem]:
    """Every catalogue item, in catalogue order."""
    return list(session.scalars(select(ServiceItem).order_by(ServiceItem.id)))
