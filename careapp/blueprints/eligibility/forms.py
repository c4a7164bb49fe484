"""Forms of the eligibility pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from careapp.models.assessment import CareSetting
from careapp.web.forms import CareappForm
from careapp.web.labels import CARE_SETTING_LABELS


class DecisionForm(CareappForm):
    care_setting = SelectField(
        _l("Care setting"),
        choices=[
            SelectChoice(setting.value, CARE_SETTING_LABELS[setting]) for setting in CareSetting
        ],
        validators=[InputRequired()],
    )

    @property
    def chosen_setting(self) -> CareSetting:
        return CareSetting(self.care_setting.data)
