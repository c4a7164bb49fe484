"""The eligibility pages' wording of rules, reasons, categories and care settings, handed to
the certificate services (which print it in Chinese)."""

from __future__ import annotations

from careapp.blueprints.eligibility import presenters
from careapp.models.assessment import CareSetting
from careapp.services.certificates import Wording


def _care_setting(setting: CareSetting) -> str:
    return str(presenters.CARE_SETTING_LABELS[setting])


WORDING = Wording(
    rule=presenters.rule_label,
    reason=presenters.describe_reason,
    category=presenters.category_label,
    care_setting=_care_setting,
)
