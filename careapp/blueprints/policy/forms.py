"""The new-policy-version form: built from the rules of the version it starts from (shape only).

Every band limit is an integer field, every combination-table cell and every grade's benefit
category a select, every daily rate and the monthly budget a `YuanField` (yuan typed as text, exact
integer fen as data); `PolicyVersionForm.to_draft` turns the submitted values back into rules data
(the base version's labels and notes kept) and figures for the service to check and store.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Field, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from assessments.grading import INSTRUMENTS, rules_to_data
from assessments.types import BandRules, CombinationRules, Instrument
from careapp.core.money import InvalidAmountError, parse_yuan, yuan_text
from careapp.eligibility.rules import BenefitCategory
from careapp.models.assessment import CareSetting
from careapp.services.i18n import localized
from careapp.services.policy import (
    APPEAL_DAYS_RANGE,
    DAILY_RATE_MAX_FEN,
    MIN_DISABILITY_MONTHS_RANGE,
    MONTHLY_BUDGET_MAX_FEN,
    NAME_MAX,
    PER_VISIT_RATES,
    PUBLICITY_WORKING_DAYS_RANGE,
    RATE_KEYS,
    REASSESSMENT_INTERVAL_MONTHS_RANGE,
    PolicyDraft,
    PolicyRules,
    describe_amount_error,
    rate_field,
)
from careapp.web.forms import CareappForm
from careapp.web.labels import CARE_SETTING_LABELS, CATEGORY_LABELS, NO_BENEFIT_LABEL
from careapp.web.wording import source_text

NO_CATEGORY = "none"
CATEGORY_CHOICES = [(NO_CATEGORY, NO_BENEFIT_LABEL)] + [
    (category.value, label) for category, label in CATEGORY_LABELS.items()
]
LIMIT_MAX = 10_000
START_CHOICES = (
    ("decision", _l("The decision date")),
    ("application", _l("The application date")),
)


def _window_field(label: Any, bounds: tuple[int, int]) -> IntegerField:
    low, high = bounds
    return IntegerField(
        label,
        validators=[
            InputRequired(message=_l("Enter a whole number.")),
            NumberRange(
                min=low, max=high, message=_l("Enter a whole number from %(min)d to %(max)d.")
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )


class YuanField(StringField):
    """An amount of yuan typed as text (`"50"`, `"12.50"`); `data` is exact integer fen.

    Parsed with Decimal (`careapp.core.money.parse_yuan`): an empty, negative, fractional-fen or
    too large amount is a translated field error, and `data` stays None.
    """

    def __init__(self, label: Any = None, *, maximum_fen: int, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, **kwargs)
        self.maximum_fen = maximum_fen

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        try:
            self.data = parse_yuan(str(valuelist[0]) if valuelist else "", self.maximum_fen)
        except InvalidAmountError as error:
            raise ValueError(describe_amount_error(error)) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return yuan_text(self.data) if isinstance(self.data, int) else ""


@dataclass
class RateTable:
    """The daily rates: a row per care setting, a column per category (None: paid per visit)."""

    columns: list[str]
    rows: list[tuple[str, list[str | None]]] = field(default_factory=list)


@dataclass
class BandRow:
    label: str
    min_name: str
    max_name: str


@dataclass
class BandTable:
    title: str
    total_range: str
    rows: list[BandRow] = field(default_factory=list)


@dataclass
class CombinationTable:
    title: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]  # row label, cell field names
    legend: str  # every grade code with its wording


@dataclass
class InstrumentSection:
    code: str
    name: str
    source: str
    band_tables: list[BandTable]
    combination: CombinationTable | None
    categories: list[tuple[str, str]]  # grade label, field name


class PolicyVersionForm(CareappForm):
    """The fields every version has; `build_policy_form` adds the rules of every instrument."""

    name = StringField(
        _l("Name of the new version"),
        validators=[InputRequired(message=_l("Name the new version.")), Length(max=NAME_MAX)],
    )
    effective_on = DateField(
        _l("Effective from"),
        validators=[InputRequired(message=_l("Choose the date the version takes effect."))],
    )
    instrument_code = SelectField(
        _l("Assessment instrument in force"), validators=[InputRequired()]
    )
    entitlement_starts_from = SelectField(
        _l("Entitlements start on"),
        choices=[SelectChoice(value, label) for value, label in START_CHOICES],
        validators=[InputRequired()],
    )
    appeal_days = _window_field(_l("Days to appeal after a decision"), APPEAL_DAYS_RANGE)
    publicity_working_days = _window_field(
        _l("Working days of publicity"), PUBLICITY_WORKING_DAYS_RANGE
    )
    reassessment_interval_months = _window_field(
        _l("Months between scheduled re-assessments"), REASSESSMENT_INTERVAL_MONTHS_RANGE
    )
    min_disability_months = _window_field(
        _l("Months the disability must have lasted"), MIN_DISABILITY_MONTHS_RANGE
    )
    home_service_monthly_budget = YuanField(
        _l("Monthly budget of door-to-door services (yuan)"), maximum_fen=MONTHLY_BUDGET_MAX_FEN
    )

    sections: list[InstrumentSection]
    rate_table: RateTable
    base_data: dict[str, dict[str, Any]]

    def value(self, name: str) -> Any:
        field_: Field = self[name]
        return field_.data

    def to_draft(self) -> PolicyDraft:
        """The submitted version as rules data, for the service to check (shape is valid)."""
        rules: dict[str, Any] = {}
        categories: dict[str, dict[str, str | None]] = {}
        for code, data in self.base_data.items():
            edited = copy.deepcopy(data)
            if edited["kind"] == "bands":
                for band in edited["bands"]:
                    band["min"] = self.value(_limit(code, None, band["grade"], "min"))
                    band["max"] = self.value(_limit(code, None, band["grade"], "max"))
            else:
                for indicator in edited["indicator_bands"]:
                    for band in indicator["bands"]:
                        name = indicator["indicator"]
                        band["min"] = self.value(_limit(code, name, band["level"], "min"))
                        band["max"] = self.value(_limit(code, name, band["level"], "max"))
                levels = [level["code"] for level in edited["levels"]]
                edited["table"] = [
                    [self.value(_cell(code, row, column)) for column in levels] for row in levels
                ]
            rules[code] = edited
            categories[code] = {}
            for grade in edited.get("grades") or [{"code": b["grade"]} for b in edited["bands"]]:
                chosen = self.value(_category(code, grade["code"]))
                categories[code][grade["code"]] = None if chosen == NO_CATEGORY else chosen
        return PolicyDraft(
            name=self.name.data or "",
            effective_on=self.effective_on.data or dt.date.min,
            instrument_code=self.instrument_code.data or "",
            grading_rules=rules,
            grade_categories=categories,
            entitlement_starts_from=self.entitlement_starts_from.data or "",
            appeal_days=self.appeal_days.data or 0,
            publicity_working_days=self.publicity_working_days.data or 0,
            reassessment_interval_months=self.reassessment_interval_months.data or 0,
            daily_rates_fen={
                key: None if key in PER_VISIT_RATES else self.value(rate_field(*key))
                for key in RATE_KEYS
            },
            home_service_monthly_budget_fen=self.home_service_monthly_budget.data or 0,
            min_disability_months=self.min_disability_months.data or 0,
        )


def _limit(instrument: str, indicator: str | None, band: str, end: str) -> str:
    return f"limit__{instrument}__{indicator or 'total'}__{band}__{end}"


def _cell(instrument: str, row: str, column: str) -> str:
    return f"cell__{instrument}__{row}__{column}"


def _category(instrument: str, grade: str) -> str:
    return f"category__{instrument}__{grade}"


def _limit_field() -> IntegerField:
    return IntegerField(
        validators=[
            InputRequired(message=_l("Enter a whole number.")),
            NumberRange(min=0, max=LIMIT_MAX),
        ],
        render_kw={"inputmode": "numeric"},
    )


def build_policy_form(base: PolicyRules, today: dt.date) -> PolicyVersionForm:
    """A form prefilled with the base version's rules (request data wins when submitted)."""

    class Form(PolicyVersionForm):
        pass

    defaults: dict[str, Any] = {
        "name": "",
        "effective_on": max(today, base.version.effective_on),
        "instrument_code": base.version.instrument_code,
        "entitlement_starts_from": base.version.entitlement_starts_from.value,
        "appeal_days": base.version.appeal_days,
        "publicity_working_days": base.version.publicity_working_days,
        "reassessment_interval_months": base.version.reassessment_interval_months,
        "min_disability_months": base.version.min_disability_months,
        "home_service_monthly_budget": base.version.home_service_monthly_budget_fen,
    }
    rate_table = _add_rates(Form, defaults, base)
    sections: list[InstrumentSection] = []
    base_data: dict[str, dict[str, Any]] = {}
    for code, instrument in INSTRUMENTS.items():
        rules = base.rules[code]
        base_data[code] = rules_to_data(rules)
        section = InstrumentSection(
            code=code,
            name=localized(instrument, "name"),
            source=source_text(rules.source),
            band_tables=[],
            combination=None,
            categories=[],
        )
        if isinstance(rules, BandRules):
            section.band_tables.append(
                _band_table(Form, defaults, code, None, instrument, rules.bands)
            )
        else:
            _add_combination(Form, defaults, section, instrument, rules)
        for grade in rules.grades:
            name = _category(code, grade.code)
            setattr(
                Form,
                name,
                SelectField(
                    localized(grade, "label"),
                    choices=[SelectChoice(value, label) for value, label in CATEGORY_CHOICES],
                    validators=[InputRequired()],
                ),
            )
            chosen = base.categories.get(code, {}).get(grade.code)
            defaults[name] = chosen.value if chosen is not None else NO_CATEGORY
            section.categories.append((localized(grade, "label"), name))
        sections.append(section)
    Form.instrument_code = SelectField(
        _l("Assessment instrument in force"),
        choices=[SelectChoice(code, localized(inst, "name")) for code, inst in INSTRUMENTS.items()],
        validators=[InputRequired()],
    )
    form = Form(data=defaults)
    form.sections = sections
    form.rate_table = rate_table
    form.base_data = base_data
    return form


def _band_table(
    form_class: type[PolicyVersionForm],
    defaults: dict[str, Any],
    code: str,
    indicator: str | None,
    instrument: Instrument,
    bands: Any,
) -> BandTable:
    if indicator is None:
        title = _l("Grade bands over the total")
        low, high = instrument.min_total, instrument.max_total
    else:
        found = instrument.indicator(indicator)
        title = localized(found, "label") if found is not None else indicator
        low = instrument.indicator_min_total(indicator)
        high = instrument.indicator_max_total(indicator)
    table = BandTable(title=str(title), total_range=f"{low}–{high}")
    for band in bands:
        min_name = _limit(code, indicator, band.grade_code, "min")
        max_name = _limit(code, indicator, band.grade_code, "max")
        setattr(form_class, min_name, _limit_field())
        setattr(form_class, max_name, _limit_field())
        defaults[min_name] = band.min_total
        defaults[max_name] = band.max_total
        table.rows.append(BandRow(localized(band, "label"), min_name, max_name))
    return table


def _add_combination(
    form_class: type[PolicyVersionForm],
    defaults: dict[str, Any],
    section: InstrumentSection,
    instrument: Instrument,
    rules: CombinationRules,
) -> None:
    code = instrument.code
    for indicator_bands in rules.indicator_bands:
        section.band_tables.append(
            _band_table(
                form_class,
                defaults,
                code,
                indicator_bands.indicator,
                instrument,
                indicator_bands.bands,
            )
        )
    # Cells show the grade code only (four selects share a tablet row); the legend names them.
    choices = [SelectChoice(g.code, g.code) for g in rules.grades]
    rows = []
    for level, cells in zip(rules.levels, rules.table, strict=True):
        names = []
        for column, cell in zip(rules.levels, cells, strict=True):
            name = _cell(code, level.code, column.code)
            setattr(form_class, name, SelectField(choices=choices, validators=[InputRequired()]))
            defaults[name] = cell
            names.append(name)
        rows.append((localized(level, "label"), names))
    row = instrument.indicator(rules.row_indicator)
    section.combination = CombinationTable(
        title=localized(row, "label") if row is not None else rules.row_indicator,
        columns=[localized(level, "label") for level in rules.levels],
        rows=rows,
        legend=" · ".join(f"{g.code} {localized(g, 'label')}" for g in rules.grades),
    )


def _add_rates(
    form_class: type[PolicyVersionForm], defaults: dict[str, Any], base: PolicyRules
) -> RateTable:
    """A yuan field per daily rate, prefilled from the base version (the per-visit row has none)."""
    stored = {(r.category, r.care_setting): r.daily_fen for r in base.version.rates}
    table = RateTable(columns=[str(CATEGORY_LABELS[category]) for category in BenefitCategory])
    for setting in CareSetting:
        cells: list[str | None] = []
        for category in BenefitCategory:
            if (category, setting) in PER_VISIT_RATES:
                cells.append(None)
                continue
            name = rate_field(category, setting)
            setattr(
                form_class, name, YuanField(_l("Daily rate (yuan)"), maximum_fen=DAILY_RATE_MAX_FEN)
            )
            defaults[name] = stored.get((category, setting))
            cells.append(name)
        table.rows.append((str(CARE_SETTING_LABELS[setting]), cells))
    return table
