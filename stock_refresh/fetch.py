"""One stock's data, EDGAR first and Yahoo second, returned as plain data; nothing is written.

EDGAR gives the filed figures (earnings history from companyfacts, the filings list from
submissions, the newest 10-K/10-Q sections from the primary documents). Yahoo gives what EDGAR
does not have (price, P/E, market cap, dividend yield, institutional ownership, sector...), and
its statements fill in only the years EDGAR lacks when EDGAR has fewer than five.

`fetch_stock_data` fetches the kinds it is asked for of one stock (its Yahoo profile beside its
EDGAR requests when `Sources.side` is given): what a user script wants. A run fetches in parts
instead, so that what the screen reads lands first: `fetch_market_data` (many stocks in one
request), `fetch_stock_data` for filings and facts (or, on a cold start from SEC's archive, the
facts alone first and the filings later), `fetch_profile`, `fetch_filing_sections` (from a
filings list fetched earlier); `fetch_quote` when a stock's batch failed or left it out.

Each source's fetch returns what it got (`EdgarData`, `YahooData`); `fetch_stock_data` puts
them together into the `StockData` that the store saves. What the database already holds comes
in as a `Known`, so nothing here knows how the store keeps it.
"""

import dataclasses
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from . import clock, edgar, filings, yahoo
from .bulk import BulkFacts, FactsArchive
from .checks import Checks
from .forms import SECTION_FORMS
from .http import Incomplete, NotFound, UnknownSymbol, Upstreams
from .models import Known, StockData
from .parsing import Parser
from .plan import ALL_KINDS, EDGAR_KINDS, YAHOO_KINDS
from .yahoo import Yahoo

log = logging.getLogger(__name__)

MIN_EDGAR_YEARS = 5


@dataclass
class Sources:
    """The upstream clients one run shares between its workers; `side` runs each stock's Yahoo
    profile beside its EDGAR requests (None: one after the other). Close it when done (or use
    it in a `with` block): it holds the parsing helper process."""

    upstreams: Upstreams
    ciks: edgar.CikMap
    yahoo: Yahoo
    parser: Parser
    side: ThreadPoolExecutor | None = None
    bulk: BulkFacts | None = None  # SEC's companyfacts.zip, when a run fetches it

    @classmethod
    def create(cls, upstreams: Upstreams, workers: int = 0) -> "Sources":
        side = ThreadPoolExecutor(workers, thread_name_prefix="yahoo") if workers else None
        return cls(upstreams, edgar.CikMap(upstreams), Yahoo(upstreams), Parser(), side)

    @classmethod
    def from_config(cls, config, workers: int = 0) -> "Sources":
        """The clients a loaded config describes, with yfinance's caches set up beside it."""
        yahoo.configure(yahoo.default_cache_dir(config.path.parent))
        return cls.create(Upstreams.from_config(config), workers)

    def close(self) -> None:
        if self.side:
            self.side.shutdown(wait=True, cancel_futures=True)
        if self.bulk:
            self.bulk.close()
        self.parser.close()

    def __enter__(self) -> "Sources":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class EdgarData:
    """What EDGAR gave for one company; `facts_unchanged`: no filing newer than the stored one,
    so companyfacts was not asked."""

    filings: list[dict] = field(default_factory=list)
    earnings: list[dict] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    facts_unchanged: bool = False
    checks: Checks | None = None  # of the earnings rows, when companyfacts was read


@dataclass
class YahooData:
    """What Yahoo gave for one symbol; `found` is False when Yahoo does not know it."""

    profile: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    earnings: list[dict] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    found: bool = True


def fetch_stock_data(
    symbol: str, sources: Sources, kinds=ALL_KINDS, known: Known | None = None
) -> StockData:
    """Fetch the data `kinds` of one stock; `known` is what the database already holds of it."""
    cik = sources.ciks.cik(symbol)
    profile = None
    if "profile" in kinds and sources.side:  # Yahoo's answer does not wait on EDGAR's
        profile = sources.side.submit(sources.yahoo.profile, symbol)
    filed = EdgarData()
    if cik and kinds & EDGAR_KINDS:
        filed = fetch_edgar(cik, sources, kinds, known or Known())
    edgar_years = sum(1 for row in filed.earnings if row["period"] == "annual")
    need_statements = (
        "fundamentals" in kinds and not filed.facts_unchanged and edgar_years < MIN_EDGAR_YEARS
    )
    quoted = YahooData()
    if kinds & YAHOO_KINDS or need_statements:
        periods = {(row["year"], row["period"]) for row in filed.earnings}
        quoted = fetch_yahoo(
            symbol, sources.yahoo, kinds, periods if need_statements else None, profile
        )
        if not quoted.found:
            unknown_to_yahoo(symbol, cik)
    data = StockData(
        symbol=symbol,
        cik=cik,
        profile={**quoted.profile, "cik": cik},
        metrics=quoted.metrics,
        earnings=filed.earnings + quoted.earnings,
        filings=filed.filings,
        sections=filed.sections,
        kinds=filed.kinds | quoted.kinds,
        notes=filed.notes,
        checks=filed.checks.flagged if filed.checks else None,
        checks_run=filed.checks.run if filed.checks else 0,
    )
    latest_d_e = latest_debt_to_equity(data.earnings)
    if "fundamentals" in data.kinds:
        if latest_d_e is not None:
            data.metrics["debt_to_equity"] = latest_d_e
    elif cik:  # the stored D/E came from the filed balance sheet: Yahoo's must not replace it
        data.metrics.pop("debt_to_equity", None)
    return data


def fetch_market_data(symbols: list[str], sources: Sources) -> list[StockData]:
    """Nightly market data for many stocks at once; symbols Yahoo does not know are left out."""
    quotes = sources.yahoo.quotes(symbols)
    return [
        StockData(symbol=symbol, metrics=quotes[symbol], kinds={"market"})
        for symbol in symbols
        if symbol in quotes
    ]


def fetch_quote(symbol: str, sources: Sources) -> StockData:
    """One stock's market data, asked alone (its batch failed or left it out): a symbol Yahoo
    does not know is an error here."""
    (data,) = fetch_market_data([symbol], sources) or [None]
    if data is None:
        unknown_to_yahoo(symbol, sources.ciks.cik(symbol))
    return data


def fetch_profile(symbol: str, sources: Sources) -> StockData:
    """One stock's Yahoo profile (one request), Yahoo's D/E included: whether it may stand
    beside a filed one is the caller's to decide (see `without_yahoo_debt_to_equity`)."""
    cik = sources.ciks.cik(symbol)
    quoted = fetch_yahoo(symbol, sources.yahoo, {"profile"}, None, None)
    if not quoted.found:
        unknown_to_yahoo(symbol, cik)
    return StockData(
        symbol=symbol,
        cik=cik,
        profile={**quoted.profile, "cik": cik},
        metrics=quoted.metrics,
        kinds=quoted.kinds,
    )


def fetch_filing_sections(
    symbol: str, cik: int, filing_rows: list[dict], sources: Sources, known: Known
) -> StockData:
    """The sections of the newest 10-K and 10-Q in `filing_rows` (a filings list fetched
    earlier in the run), as the stock's data."""
    rows, notes = fetch_sections(filing_rows, sources, known)
    return StockData(symbol=symbol, cik=cik, sections=rows, notes=notes, kinds={"sections"})


def without_yahoo_debt_to_equity(data: StockData) -> StockData:
    """`data` without Yahoo's D/E: a stored filed one must not be replaced by it."""
    metrics = {k: v for k, v in data.metrics.items() if k != "debt_to_equity"}
    return dataclasses.replace(data, metrics=metrics)


def unknown_to_yahoo(symbol: str, cik: int | None):
    if not cik:
        raise UnknownSymbol(f"unknown symbol {symbol}: no CIK at SEC and unknown to Yahoo")
    # SEC knows it and it trades on a listed exchange: Yahoo's "unknown" is its fault
    raise Incomplete(f"{symbol}: SEC has CIK {cik}, yet Yahoo answered unknown symbol")


def fetch_edgar(cik: int, sources: Sources, kinds, known: Known) -> EdgarData:
    """Filings always (they tell whether anything changed); companyfacts only after a new
    filing; sections when asked (see fetch_sections). Any answer short of the whole is an
    error: a stock is saved complete or not at all. Facts without filings: from SEC's archive,
    the filings asked later in the run (or, for a company the archive lacks, both now)."""
    if "filings" not in kinds:
        archive = sources.bulk.archive() if sources.bulk else None
        archived = archived_earnings(archive, cik, sources.parser) if archive else None
        if archived:
            out = EdgarData(kinds={"fundamentals"})
            out.earnings, out.notes, out.checks = archived
            return out
        kinds = kinds | {"filings"}
    upstreams = sources.upstreams
    try:  # company_tickers.json lists the CIK, so SEC has its submissions and their pages
        submissions = edgar.fetch_submissions(upstreams, cik)
        since = (clock.today() - timedelta(days=365 * MIN_EDGAR_YEARS)).isoformat()
        pages = [
            edgar.fetch_submissions_page(upstreams, name)
            for name in filings.older_pages_needed(submissions, since)
        ]
    except NotFound as error:
        raise Incomplete(
            f"CIK {cik} is listed by SEC, yet its submissions are missing ({error})"
        ) from None
    rows, notes = filings.filing_rows(submissions, pages)
    out = EdgarData(filings=rows, notes=notes, kinds={"filings"})
    newest = max(rows, key=lambda f: (f["filing_date"], f["accession_number"]), default=None)
    newest_date = newest["filing_date"] if newest else None
    out.facts_unchanged = (
        newest is not None and newest["accession_number"] == known.latest_filing
    ) or (known.facts_filed_before is not None and (newest_date or "") < known.facts_filed_before)
    if "fundamentals" in kinds and not out.facts_unchanged:
        try:
            out.earnings, notes, out.checks = fetch_earnings(cik, sources, newest_date)
        except NotFound as error:
            if filings.has_xbrl_financials(submissions):
                raise Incomplete(
                    f"CIK {cik}: companyfacts missing ({error}) although its submissions list "
                    "XBRL financial reports"
                ) from None
            notes = [f"CIK {cik} files no XBRL financial reports: no companyfacts"]
        out.notes += notes
        out.kinds.add("fundamentals")
    if "sections" in kinds:
        out.sections, notes = fetch_sections(rows, sources, known)
        out.notes += notes
        out.kinds.add("sections")
    return out


def fetch_earnings(
    cik: int, sources: Sources, newest_filing_date: str | None = None
) -> tuple[list[dict], list[str], Checks]:
    """(earnings rows, notes, their cross-checks) of the companyfacts payload, parsed and
    checked in the helper process: from SEC's bulk archive when the run has one compiled after
    the company's newest filing, else asked (a body that does not parse is retried as
    malformed)."""
    archive = sources.bulk.archive() if sources.bulk else None
    if archive and archive.covers(newest_filing_date):
        archived = archived_earnings(archive, cik, sources.parser)
        if archived:
            return archived
    return edgar.fetch_companyfacts(sources.upstreams, cik, sources.parser.earnings)


def archived_earnings(
    archive: FactsArchive, cik: int, parser: Parser
) -> tuple[list[dict], list[str], Checks] | None:
    """`fetch_earnings`'s answer from the archive's member for the company; None when the
    archive lacks it or it does not parse (then it is asked directly)."""
    member = archive.member(cik)
    if member is None:
        return None
    try:
        return parser.earnings(member, "")
    except ValueError as error:
        log.warning("companyfacts.zip: CIK %d unreadable (%s); asked directly", cik, error)
        return None


def fetch_sections(
    filing_rows: list[dict], sources: Sources, known: Known
) -> tuple[list[dict], list[str]]:
    """(section rows, notes) of the newest 10-K and 10-Q, only when newer than the stored ones.
    A listed document that is missing or unreadable after its retries fails the stock: saving
    the rest would record the sections as refreshed without them."""
    rows, notes = [], []
    newest_first = sorted(filing_rows, key=lambda f: f["filing_date"], reverse=True)
    for form in SECTION_FORMS:
        newest = next((f for f in newest_first if f["filing_type"] == form), None)
        if newest is None or newest["accession_number"] == known.sections.get(form):
            continue
        accession = newest["accession_number"]
        try:
            found, found_notes = edgar.fetch_document(
                sources.upstreams,
                newest["document_url"],
                lambda data, encoding, form=form: sources.parser.sections(data, encoding, form),
            )
        except NotFound as error:
            raise Incomplete(
                f"{form} {accession}: listed, but its document is missing ({error})"
            ) from None
        notes += found_notes
        for row in found:
            row.update(
                filing_type=form, filing_date=newest["filing_date"], accession_number=accession
            )
        rows += found
    return rows, notes


def fetch_yahoo(
    symbol: str,
    client: Yahoo,
    kinds,
    filed_periods: set | None,
    profile: Future | None,
) -> YahooData:
    """The profile (from `profile` when it was started earlier) and market data when `kinds`
    asks for them, one request each; with `filed_periods`, Yahoo's statement rows of the
    periods not among them."""
    out = YahooData()
    try:
        if "profile" in kinds:
            out.profile, out.metrics = profile.result() if profile else client.profile(symbol)
            out.kinds.add("profile")
        if "market" in kinds:
            quotes = client.quotes([symbol])
            if symbol not in quotes:
                raise NotFound(f"Yahoo quote for {symbol}: not in the answer")
            out.metrics.update((k, v) for k, v in quotes[symbol].items() if v is not None)
            out.kinds.add("market")
        if filed_periods is not None:
            out.earnings = [
                row
                for row in client.statements(symbol)
                if (row["year"], row["period"]) not in filed_periods
            ]
            out.kinds.add("fundamentals")
    except NotFound:
        out.found = False
    return out


def latest_debt_to_equity(earnings: list[dict]) -> float | None:
    """D/E of the newest balance sheet that has equity, so the metric and the history agree."""
    dated = [
        row
        for row in earnings
        if row.get("shareholder_equity") is not None and row.get("fiscal_end")
    ]
    return max(dated, key=lambda row: row["fiscal_end"]).get("debt_to_equity") if dated else None
