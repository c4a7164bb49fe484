"""The fund's spending by month: the benefit ledger, and the place where other spending joins.

`fund_spending_lines` is the one list of what the fund pays. Benefits come from the ledger
(`careapp.services.ledger`: daily amounts, and home-care visits as settled per visit),
assistive-device subsidies from `careapp.services.devices`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy.orm import Session

from careapp.eligibility import ledger
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.devices import device_subsidies_between
from careapp.services.ledger import MonthLedger, ledgers_for_months

CHART_MONTHS = 12


@dataclass(frozen=True)
class SpendingLine:
    """One kind of spending of the fund, in fen per month (first day of the month -> fen)."""

    code: str  # "benefits", "devices", ...
    label: str
    by_month: Mapping[dt.date, int]


@dataclass(frozen=True)
class FundOverview:
    month: dt.date
    ledger: MonthLedger  # the chosen month's benefit ledger (by category, setting, district)
    months: list[dt.date]  # the chart's months, oldest first (the chosen month last)
    lines: list[SpendingLine]

    def total_of(self, month: dt.date) -> int:
        return sum(line.by_month.get(month, 0) for line in self.lines)

    @property
    def total_fen(self) -> int:
        return self.total_of(self.month)


def benefit_line(ledgers: Mapping[dt.date, MonthLedger]) -> SpendingLine:
    return SpendingLine(
        "benefits",
        gettext("Care benefits"),
        {month: found.total_fen for month, found in ledgers.items()},
    )


def fund_spending_lines(
    session: Session, months: Sequence[dt.date], ledgers: Mapping[dt.date, MonthLedger]
) -> list[SpendingLine]:
    """Every line of the fund's spending in `months` (first days).

    Care benefits come from the ledger, assistive-device subsidies from the devices service. The
    fund page shows every line, stacks them in the chart and sums them into the month's
    expenditure.
    """
    return [benefit_line(ledgers), device_line(session, months)]


def device_line(session: Session, months: Sequence[dt.date]) -> SpendingLine:
    """Assistive-device subsidies, counted in the month the loan or purchase subsidy starts."""
    by_month = dict.fromkeys(months, 0)
    if months:
        _, last_day = ledger.month_bounds(months[-1])
        for line in device_subsidies_between(session, months[0], last_day + dt.timedelta(days=1)):
            by_month[line.on.replace(day=1)] += line.amount_fen
    return SpendingLine("devices", gettext("Assistive devices"), by_month)


def fund_overview(session: Session, actor: Actor, month: dt.date) -> FundOverview:
    """The month's spending (by category, care setting and district) and the last 12 months."""
    actor.require(Role.ADMIN)
    months = ledger.months_back(month, CHART_MONTHS)
    ledgers = ledgers_for_months(session, months)
    return FundOverview(
        month=months[-1],
        ledger=ledgers[months[-1]],
        months=months,
        lines=fund_spending_lines(session, months, ledgers),
    )
