"""One stock's data, EDGAR first and Yahoo second, returned as plain data; nothing is written.

EDGAR gives the filed figures (earnings history from companyfacts, the filings list from
submissions, the newest 10-K/10-Q sections from the primary documents). Yahoo gives what EDGAR
does not have (price, P/E, market cap, dividend yield, institutional ownership, sector...), and
its statements fill in only the years EDGAR lacks when EDGAR has fewer than five. Yahoo's
snapshot does not depend on anything EDGAR says, so during a run it is fetched beside the
EDGAR requests: a stock's chain of requests is then as long as the longer of the two.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from stock_refresh import edgar, filings
from stock_refresh.http import Malformed, NotFound, Upstreams
from stock_refresh.models import StockData
from stock_refresh.parsing import Parser
from stock_refresh.plan import ALL_KINDS, EDGAR_KINDS
from stock_refresh.yahoo import Yahoo

log = logging.getLogger(__name__)

MIN_EDGAR_YEARS = 5
SECTION_FORMS = {"10-K": "sections_accession_10k", "10-Q": "sections_accession_10q"}


@dataclass
class Sources:
    """The upstream clients one run shares between its workers; `side` runs each stock's Yahoo
    snapshot beside its EDGAR requests (None: one after the other)."""

    upstreams: Upstreams
    ciks: edgar.CikMap
    yahoo: Yahoo
    parser: Parser
    side: ThreadPoolExecutor | None = None

    @classmethod
    def create(cls, upstreams: Upstreams, workers: int = 0) -> "Sources":
        side = ThreadPoolExecutor(workers, thread_name_prefix="yahoo") if workers else None
        return cls(upstreams, edgar.CikMap(upstreams), Yahoo(upstreams), Parser(), side)

    def close(self) -> None:
        if self.side:
            self.side.shutdown(wait=True, cancel_futures=True)
        self.parser.close()


def fetch_stock_data(
    symbol: str, sources: Sources, kinds=ALL_KINDS, known: dict | None = None
) -> StockData:
    """Fetch the data `kinds` of one stock; `known` is its stored state (for sections)."""
    data = StockData(symbol=symbol, cik=sources.ciks.cik(symbol))
    snapshot = None
    if kinds & {"market", "profile"} and sources.side:  # Yahoo's answer does not wait on EDGAR's
        snapshot = sources.side.submit(sources.yahoo.snapshot, symbol)
    facts_unchanged = False
    if data.cik and kinds & EDGAR_KINDS:
        try:
            facts_unchanged = fetch_edgar(data, sources, kinds, known or {})
        except NotFound as error:  # listed in company_tickers.json, yet SEC has no such CIK
            data.notes.append(f"EDGAR has no data for CIK {data.cik} ({error}); Yahoo only")
            data.filings, data.earnings, data.sections = [], [], []
            data.kinds -= EDGAR_KINDS
    edgar_years = sum(1 for row in data.earnings if row["period"] == "annual")
    need_statements = (
        "fundamentals" in kinds and not facts_unchanged and edgar_years < MIN_EDGAR_YEARS
    )
    if kinds & {"market", "profile"} or need_statements:
        fetch_yahoo(data, sources.yahoo, kinds, need_statements, snapshot)
    data.profile["cik"] = data.cik
    latest_d_e = latest_debt_to_equity(data.earnings)
    if latest_d_e is not None and "fundamentals" in data.kinds:
        data.metrics["debt_to_equity"] = latest_d_e
    return data


def fetch_market_data(symbols: list[str], sources: Sources) -> list[StockData]:
    """Nightly market data for many stocks at once; symbols Yahoo does not know are left out."""
    quotes = sources.yahoo.quotes(symbols)
    return [
        StockData(symbol=symbol, metrics=quotes[symbol], kinds={"market"})
        for symbol in symbols
        if symbol in quotes
    ]


def fetch_edgar(data: StockData, sources: Sources, kinds, known: dict) -> bool:
    """Filings always (they tell whether anything changed); companyfacts only after a new
    filing. True when the facts were left alone because no new filing appeared."""
    upstreams = sources.upstreams
    submissions = edgar.fetch_submissions(upstreams, data.cik)
    since = (sources.today - timedelta(days=365 * MIN_EDGAR_YEARS)).isoformat()
    pages = [
        edgar.fetch_submissions_page(upstreams, name)
        for name in filings.older_pages_needed(submissions, since)
    ]
    data.filings, notes = filings.filing_rows(submissions, pages)
    data.notes += notes
    data.kinds.add("filings")
    newest = max(
        data.filings, key=lambda f: (f["filing_date"], f["accession_number"]), default=None
    )
    unchanged = newest is not None and newest["accession_number"] == known.get(
        "latest_filing_accession"
    )
    if "fundamentals" in kinds and not unchanged:
        url = edgar.COMPANYFACTS_URL.format(cik=data.cik)
        for attempt in upstreams.retrying("edgar"):  # a cut-off body is worth another try
            with attempt:
                body = edgar.fetch_companyfacts(upstreams, data.cik)
                try:
                    data.earnings, notes = sources.parser.earnings(*body)
                except ValueError as error:
                    raise Malformed(f"{url}: {error}") from None
        data.notes += notes
        data.kinds.add("fundamentals")
    if "sections" in kinds:
        fetch_sections(data, sources, known)
    return unchanged


def fetch_sections(data: StockData, sources: Sources, known: dict) -> None:
    """Sections of the newest 10-K and 10-Q, only when newer than the stored ones."""
    for form, state_key in SECTION_FORMS.items():
        newest = next(
            (
                f
                for f in sorted(data.filings, key=lambda f: f["filing_date"], reverse=True)
                if f["filing_type"] == form
            ),
            None,
        )
        if newest is None or newest["accession_number"] == known.get(state_key):
            continue
        try:
            body = edgar.fetch_document(sources.upstreams, newest["document_url"])
            rows, notes = sources.parser.sections(*body, form)
        except NotFound as error:
            data.notes.append(f"{form} {newest['accession_number']}: document missing ({error})")
            continue
        except ValueError as error:
            data.notes.append(f"{form} {newest['accession_number']}: document unreadable ({error})")
            continue
        data.notes += notes
        for row in rows:
            row.update(
                filing_type=form,
                filing_date=newest["filing_date"],
                accession_number=newest["accession_number"],
            )
        data.sections += rows
    data.kinds.add("sections")


def fetch_yahoo(
    data: StockData, yahoo: Yahoo, kinds, need_statements: bool, snapshot: Future | None = None
) -> None:
    """Profile and market data (from `snapshot` when it was started earlier), and Yahoo's
    statements when EDGAR has too few years."""
    try:
        if kinds & {"market", "profile"}:
            data.profile, data.metrics = (
                snapshot.result() if snapshot else yahoo.snapshot(data.symbol)
            )
            data.kinds |= kinds & {"market", "profile"}
        if need_statements:
            have = {(row["year"], row["period"]) for row in data.earnings}
            data.earnings += [
                row
                for row in yahoo.statements(data.symbol)
                if (row["year"], row["period"]) not in have
            ]
            data.kinds.add("fundamentals")
    except NotFound:
        if not data.cik:
            raise NotFound(f"unknown symbol {data.symbol}: no CIK at SEC and unknown to Yahoo")
        data.notes.append(f"{data.symbol}: unknown to Yahoo; EDGAR data only")


def latest_debt_to_equity(earnings: list[dict]) -> float | None:
    """D/E of the newest balance sheet that has equity, so the metric and the history agree."""
    dated = [
        row
        for row in earnings
        if row.get("shareholder_equity") is not None and row.get("fiscal_end")
    ]
    return max(dated, key=lambda row: row["fiscal_end"]).get("debt_to_equity") if dated else None
