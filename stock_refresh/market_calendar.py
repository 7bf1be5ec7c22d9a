"""When market data is worth fetching: only after an NYSE session has closed since the last
market-data refresh (weekends and holidays bring nothing new). Fundamentals ignore this."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import pandas as pd

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
REGULAR_OPEN = dt.time(9, 30)
REGULAR_CLOSE = dt.time(16, 0)


@functools.lru_cache(maxsize=4)
def _calendar(year: int):
    """XNYS for year-1 .. year+1: building the default 20-year window costs seconds."""
    import exchange_calendars

    return exchange_calendars.get_calendar(
        "XNYS", start=f"{year - 1}-01-01", end=f"{year + 1}-12-31"
    )


def _utc(moment: dt.datetime | str) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _et(ts: pd.Timestamp, with_date: bool = True) -> str:
    return ts.tz_convert(NEW_YORK).strftime("%Y-%m-%d %H:%M ET" if with_date else "%H:%M ET")


def _close_label(close: pd.Timestamp, with_date: bool = True) -> str:
    early = close.tz_convert(NEW_YORK).time() != REGULAR_CLOSE
    return _et(close, with_date) + (" (early close)" if early else "")


@functools.lru_cache(maxsize=4)
def _holiday_names(year: int) -> dict:
    """Date -> name of the regular NYSE holidays the calendar for `year` covers; pandas works
    these out slowly, so once."""
    cal = _calendar(year)
    named = cal.regular_holidays.holidays(cal.first_session, cal.last_session, return_name=True)
    return {pd.Timestamp(day): name for day, name in named.items()}


def _why_nothing_closed(cal, last_close: pd.Timestamp, now: pd.Timestamp) -> str:
    """Weekend, holiday and/or today's session still to close, for the days after last_close."""
    first = last_close.tz_convert(NEW_YORK).date() + dt.timedelta(days=1)
    today = now.tz_convert(NEW_YORK).date()
    days = pd.date_range(first, today, freq="D")
    names = _holiday_names(now.year)
    parts = []
    if any(d.weekday() >= 5 for d in days):
        parts.append("weekend")
    for d in days:
        if d.weekday() < 5 and not cal.is_session(d):
            parts.append(
                f"NYSE holiday {names[d]} ({d:%Y-%m-%d})"
                if d in names
                else f"NYSE closed ({d:%Y-%m-%d})"
            )
    if cal.is_session(pd.Timestamp(today)):
        close = cal.session_close(pd.Timestamp(today))
        if close > now:
            parts.append("today's session closes at " + _close_label(close, False))
    return "; ".join(parts) or "already refreshed after that close"


def market_data_due(
    now_utc: dt.datetime | str, last_market_refresh_utc: dt.datetime | str | None
) -> tuple[bool, str]:
    """(due, reason): due when an NYSE session has closed after the last market-data refresh,
    judged with the calendar's real close times (early closes included)."""
    if last_market_refresh_utc is None:
        return True, "no earlier market-data refresh"
    now, last = _utc(now_utc), _utc(last_market_refresh_utc)
    cal = _calendar(now.year)
    closes = cal.closes
    position = int(closes.searchsorted(now, side="right")) - 1
    session, last_close = closes.index[position], closes.iloc[position]
    if last_close > last:
        return True, (
            f"NYSE session of {session:%Y-%m-%d} closed at "
            f"{_close_label(last_close, False)} after the last market-data refresh "
            f"at {_et(last)}"
        )
    return False, (
        f"no NYSE session closed since {_close_label(last_close)}: "
        f"{_why_nothing_closed(cal, last_close, now)}"
    )


def market_open_now(now_utc: dt.datetime | str) -> bool:
    """True during an NYSE session (early closes included): prices fetched now are intraday."""
    now = _utc(now_utc)
    return bool(_calendar(now.year).is_open_on_minute(now.floor("min")))


def run_time_in_market_hours(run_time: str, timezone: str, today: dt.date) -> bool:
    """True when run_time in timezone lands within regular NYSE hours (09:30-16:00 New York) on
    some weekday of the year from `today`; every Wednesday is tried because the two zones may
    change to and from daylight saving time on different dates."""
    hour, minute = (int(part) for part in run_time.split(":"))
    zone = zoneinfo.ZoneInfo(timezone)
    day = today + dt.timedelta(days=(2 - today.weekday()) % 7)
    for week in range(53):
        local = dt.datetime.combine(
            day + dt.timedelta(weeks=week), dt.time(hour, minute), tzinfo=zone
        )
        ny = local.astimezone(NEW_YORK)
        if ny.weekday() < 5 and REGULAR_OPEN <= ny.time() < REGULAR_CLOSE:
            return True
    return False
