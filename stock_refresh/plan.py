"""Which data kinds of which stock are stale tonight.

Market data is due once an NYSE session has closed since it was last fetched; the profile
(name, sector, industry, country) weekly; the EDGAR kinds are always checked, but the
submissions answer decides whether companyfacts and sections are fetched (see data_fetcher).
"""
from datetime import datetime, timedelta
from functools import lru_cache

from . import market_calendar

ALL_KINDS = frozenset({"market", "profile", "fundamentals", "filings", "sections"})
EDGAR_KINDS = frozenset({"fundamentals", "filings", "sections"})
PROFILE_MAX_AGE = timedelta(days=7)


@lru_cache(maxsize=4096)
def market_due(now: datetime, last: str | None) -> tuple[bool, str]:
    return market_calendar.market_data_due(now, datetime.fromisoformat(last) if last else None)


def stale_kinds(state: dict | None, now: datetime, force: bool) -> tuple[frozenset, str | None]:
    """(kinds to fetch, why market data is skipped or None)."""
    if force or not state or not state.get("last_success"):
        return ALL_KINDS, None
    kinds = set(EDGAR_KINDS)
    due, reason = market_due(now, state.get("market_refreshed_at"))
    if due:
        kinds.add("market")
    profile_at = state.get("profile_refreshed_at")
    if not profile_at or now - datetime.fromisoformat(profile_at) >= PROFILE_MAX_AGE:
        kinds.add("profile")
    return frozenset(kinds), None if due else reason
