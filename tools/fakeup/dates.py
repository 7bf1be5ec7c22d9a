"""Dates the fake needs: fiscal quarter ends, US federal holidays, business days, HTTP dates."""

import calendar
import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache


def month_end(year: int, month: int) -> dt.date:
    while month < 1:
        month += 12
        year -= 1
    while month > 12:
        month -= 12
        year += 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@lru_cache(maxsize=65536)
def quarter_end(fy: int, k: int, fye_month: int) -> dt.date:
    """End of fiscal quarter k (1..4) of fiscal year fy (the year the fiscal year ends in)."""
    return month_end(fy, fye_month - 3 * (4 - k))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    d = dt.date(year, month, 1)
    d += dt.timedelta(days=(weekday - d.weekday()) % 7)
    return d + dt.timedelta(weeks=n - 1)


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    d = month_end(year, month)
    return d - dt.timedelta(days=(d.weekday() - weekday) % 7)


def _observed(d: dt.date) -> dt.date:
    if d.weekday() == 5:
        return d - dt.timedelta(days=1)
    if d.weekday() == 6:
        return d + dt.timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset:
    """The federal holidays on which EDGAR does not disseminate filings."""
    fixed = [
        dt.date(year, 1, 1),
        dt.date(year, 6, 19),
        dt.date(year, 7, 4),
        dt.date(year, 11, 11),
        dt.date(year, 12, 25),
    ]
    days = {_observed(d) for d in fixed}
    days |= {
        _nth_weekday(year, 1, 0, 3),
        _nth_weekday(year, 2, 0, 3),
        _last_weekday(year, 5, 0),
        _nth_weekday(year, 9, 0, 1),
        _nth_weekday(year, 10, 0, 2),
        _nth_weekday(year, 11, 3, 4),
    }
    return frozenset(days)


def is_business_day(d: dt.date) -> bool:
    return d.weekday() < 5 and d not in federal_holidays(d.year)


def next_business_day(d: dt.date) -> dt.date:
    while not is_business_day(d):
        d += dt.timedelta(days=1)
    return d


def http_date(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.UTC), usegmt=True)


def parse_http_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def epoch(d: dt.date, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=dt.UTC).timestamp())
