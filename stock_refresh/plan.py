"""Which data kinds of which stock are stale tonight, and why.

- market data: once an NYSE session has closed since it was last fetched;
- profile (name, sector, industry, country, ownership): weekly;
- filings, facts and sections: only for companies SEC's daily index shows filing since the last
  run (when the index could not be read, every company's submissions are asked instead, and the
  submissions answer decides whether facts and sections are fetched, see fetch.py);
- a stock never refreshed, one whose last attempt failed, or `--force`: everything.
"""

from collections import Counter
from datetime import datetime, timedelta
from functools import lru_cache

from . import market_calendar

ALL_KINDS = frozenset({"market", "profile", "fundamentals", "filings", "sections"})
EDGAR_KINDS = frozenset({"fundamentals", "filings", "sections"})
YAHOO_KINDS = frozenset({"market", "profile"})
MARKET_ONLY = frozenset({"market"})
PROFILE_MAX_AGE = timedelta(days=7)


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
    profile_at = state.get("profile_refreshed_at")
    profile_due = not profile_at or now - datetime.fromisoformat(profile_at) >= PROFILE_MAX_AGE
    if state.get("cik") is None:
        if profile_due:  # a Yahoo-only stock: look for it at SEC once a week
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
    if profile_due:
        kinds.add("profile")
        reasons.append("profile older than 7 days")
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
