"""The measure a manager reads: reports per day and per month by side, the share settled at home
(user, home) against tickets (line, isp), and the top codes. Pure arithmetic over the per-day
counts the store returns."""
from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .. import sides
from ..exit_codes import ExitCode

SIDES = sides.NAMES                                                           # chart order
AT_HOME = tuple(s.name for s in sides.ALL if s.exit_code == ExitCode.FAULT_FIXABLE_AT_HOME)
TICKETS = tuple(s.name for s in sides.ALL if s.ticket)
DAYS = 30
MONTHS = 12


@dataclass
class Measure:
    days: list[tuple[datetime.date, dict[str, int]]] = field(default_factory=list)
    months: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    top_codes: list[tuple[str, int]] = field(default_factory=list)
    total_30d: int = 0
    at_home_30d: int = 0
    tickets_30d: int = 0

    def share(self, part: int) -> float:
        return part / self.total_30d if self.total_30d else 0.0


def first_day(today: datetime.date) -> datetime.date:
    """The first day the measure needs: the start of the month MONTHS-1 months ago."""
    year, month = today.year, today.month - (MONTHS - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return min(datetime.date(year, month, 1), today - datetime.timedelta(days=DAYS - 1))


def compute(rows, today: datetime.date) -> Measure:
    """rows: (day, side, code, reports) since first_day(today)."""
    by_day: dict[datetime.date, Counter] = defaultdict(Counter)
    by_month: dict[str, Counter] = defaultdict(Counter)
    codes: Counter = Counter()
    recent_start = today - datetime.timedelta(days=DAYS - 1)
    for day, side, code, count in rows:
        by_month[f"{day.year:04d}-{day.month:02d}"][side] += count
        if day >= recent_start:
            by_day[day][side] += count
            codes[code] += count
    result = Measure()
    result.days = [(recent_start + datetime.timedelta(days=n),
                    dict(by_day.get(recent_start + datetime.timedelta(days=n), {})))
                   for n in range(DAYS)]
    start = first_day(today)
    months = []
    year, month = start.year, start.month
    while (year, month) <= (today.year, today.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    result.months = [(name, dict(by_month.get(name, {}))) for name in months[-MONTHS:]]
    result.top_codes = codes.most_common(10)
    recent = Counter()
    for _, sides in result.days:
        recent.update(sides)
    result.total_30d = sum(recent.values())
    result.at_home_30d = sum(recent[side] for side in AT_HOME)
    result.tickets_30d = sum(recent[side] for side in TICKETS)
    return result
