"""Policy versions: the default version holds the spec's figures; later ones are data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models.assessment import CareSetting
from careapp.models.eligibility import BenefitCategory, PolicyRate, PolicyVersion

# Daily rates in fen (1 yuan = 100 fen); None = paid per visit within the monthly budget.
DEFAULT_RATES_FEN: dict[tuple[BenefitCategory, CareSetting], int | None] = {
    (BenefitCategory.SEVERE, CareSetting.MEDICAL_CARE_INSTITUTION): 5000,  # Nantong 2017
    (BenefitCategory.SEVERE, CareSetting.ELDERLY_CARE_INSTITUTION): 4000,  # Nantong 2017
    (BenefitCategory.SEVERE, CareSetting.HOME_SERVICE): None,  # up to 1,200 yuan/month of visits
    (BenefitCategory.SEVERE, CareSetting.HOME_CASH): 1500,  # configurable, unconfirmed
    (BenefitCategory.MODERATE, CareSetting.MEDICAL_CARE_INSTITUTION): 1000,  # Nantong 2017
    (BenefitCategory.MODERATE, CareSetting.ELDERLY_CARE_INSTITUTION): 1000,
    (BenefitCategory.MODERATE, CareSetting.HOME_SERVICE): 1000,
    (BenefitCategory.MODERATE, CareSetting.HOME_CASH): 1000,
}
DEFAULT_EFFECTIVE_ON = dt.date(2016, 1, 1)


def build_default_policy(effective_on: dt.date = DEFAULT_EFFECTIVE_ON) -> PolicyVersion:
    """A new (unsaved) policy version with the spec's default figures."""
    return PolicyVersion(
        name="Default (spec figures)",
        effective_on=effective_on,
        min_disability_months=6,
        barthel_severe_max=40,
        barthel_moderate_max=60,
        home_service_monthly_budget_fen=120_000,
        rates=[
            PolicyRate(category=category, care_setting=setting, daily_fen=fen)
            for (category, setting), fen in DEFAULT_RATES_FEN.items()
        ],
    )


def ensure_default_policy(session: Session) -> PolicyVersion:
    """Load the default version unless one is already in force from its date."""
    existing = session.scalar(
        select(PolicyVersion).where(PolicyVersion.effective_on == DEFAULT_EFFECTIVE_ON)
    )
    if existing is not None:
        return existing
    policy = build_default_policy()
    session.add(policy)
    session.flush()
    return policy


def policy_in_force(session: Session, on: dt.date) -> PolicyVersion | None:
    """The latest version whose effective date is on or before `on`."""
    return session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.effective_on <= on)
        .order_by(PolicyVersion.effective_on.desc())
        .limit(1)
    )
