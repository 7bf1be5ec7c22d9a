"""Which data kinds of which stock are stale tonight, and why.

- market data: once an NYSE session has closed since it was last fetched;
- profile (name, sector, industry, country, ownership): weekly, each stock on its own night of
  the week (a stable hash of its symbol), so the profiles of a cold start do not all fall due
  again on one night a week later;
- filings, facts and sections: only for companies SEC's daily index shows filing since the last
  run (when the index could not be read, every company's submissions are asked instead, and the
  submissions answer decides whether facts and sections are fetched, see fetch.py);
- a stock never refreshed, one whose last attempt failed, or `--force`: everything.
"""

import zlib
from collections import Counter
from datetime import date, datetime
from functools import lru_cache

from . import market_calendar

ALL_KINDS = frozenset({"market", "profile", "fundamentals", "filings", "sections"})
EDGAR_KINDS = frozenset({"fundamentals", "filings", "sections"})
YAHOO_KINDS = frozenset({"market", "profile"})
MARKET_ONLY = frozenset({"market"})
PROFILE_DAYS = 7


def night_of(moment: datetime) -> date:
    """The New York date of `moment`: the night the job runs in."""
    return moment.astimezone(market_calendar.NEW_YORK).date()


def profile_due(symbol: str, refreshed_at: str | None, now: datetime) -> bool:
    """Whether the stock's night of the week has come since its profile was fetched: at most
    PROFILE_DAYS old, and 1/PROFILE_DAYS of all stocks due on any night."""
    if not refreshed_at:
        return True
    night = zlib.crc32(symbol.encode()) % PROFILE_DAYS

    def week(day: date) -> int:
        return (day.toordinal() - night) // PROFILE_DAYS

    return week(night_of(now)) > week(night_of(datetime.fromisoformat(refreshed_at)))


@lru_cache(maxsize=4096)
def market_due(now: datetime, last: str | None) -> tuple[bool, str]:
    return market_calendar.market_data_due(now, datetime.fromisoformat(last) if last else None)


def stale_kinds(
    state: dict | None, now: datetime, force: bool, changed_ciks: set[int] | None = None
) -> tuple[frozenset, str]:
    """(kinds to fetch, the main reason); `changed_ciks` None = SEC's changes are unknown."""
    if force:
        return ALL_KINDS, "forced"
    if not state or not state.get("last_success"):
        return ALL_KINDS, "never refreshed"
    if state.get("attempts"):
        return ALL_KINDS, "last attempt failed"
    kinds, reasons = set(), []
    profile = profile_due(state["symbol"], state.get("profile_refreshed_at"), now)
    if state.get("cik") is None:
        if profile:  # a Yahoo-only stock: look for it at SEC once a week
            kinds |= EDGAR_KINDS
    elif (
        changed_ciks is None
        or not state.get("filings_refreshed_at")
        or state["cik"] in changed_ciks
    ):
        kinds |= EDGAR_KINDS
        reasons.append("new filing at SEC" if changed_ciks is not None else "SEC changes unknown")
    due, why_not = market_due(now, state.get("market_refreshed_at"))
    if due:
        kinds.add("market")
        reasons.append("market session closed")
    if profile:
        kinds.add("profile")
        reasons.append("profile's night of the week")
    return frozenset(kinds), ", ".join(reasons) or f"nothing stale ({why_not})"


def plan_run(
    symbols: list[str], states: dict, now: datetime, force: bool, changed_ciks: set[int] | None
) -> tuple[dict[str, frozenset], Counter]:
    """Kinds to fetch per symbol, and how many symbols are stale for each reason."""
    plans, reasons = {}, Counter()
    for symbol in symbols:
        plans[symbol], reason = stale_kinds(states.get(symbol), now, force, changed_ciks)
        reasons[reason] += 1
    return plans, reasons
