"""Calendar arithmetic in a time zone, the way the rules count: months, day ends, midnights."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, tzinfo


def add_months(t: datetime, months: int, tz: tzinfo) -> datetime:
    """The same clock time ``months`` calendar months later in ``tz``; a day the month lacks
    becomes its last day (31 December + 2 → 28 or 29 February)."""
    local = t.astimezone(tz)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The end of ``day``: the next midnight in ``tz``."""
    return datetime.combine(day + timedelta(days=1), time(0), tz)


def last_midnight_before(t: datetime, tz: tzinfo) -> datetime:
    local = t.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=1) if midnight == local else midnight


def crossed_midnight(before: datetime | None, after: datetime | None, tz: tzinfo) -> bool:
    """Whether stream time moving from ``before`` to ``after`` passed a midnight of ``tz``."""
    if after is None or before == after:
        return False
    return before is None or last_midnight_before(after, tz) >= before


def calendar_days(start: datetime, end: datetime, tz: tzinfo) -> int:
    """Calendar dates from ``start`` to ``end`` in ``tz`` (18 → 28 April is 10)."""
    return (end.astimezone(tz).date() - start.astimezone(tz).date()).days
