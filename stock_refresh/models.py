"""The plain data that a fetch returns and a save writes, and what a fetch is told of the
stored state: the one contract between fetching and the store."""

from dataclasses import dataclass, field


@dataclass
class StockData:
    """Everything fetched for one symbol; any value may be None (unknown).

    profile -> table `stocks`, metrics -> `stock_metrics`, earnings -> `earnings_history`
    (one dict per (year, period)), filings -> `sec_filings`, sections -> `filing_sections`.
    `kinds` names the data kinds actually fetched (market, profile, fundamentals, filings,
    sections), so the store can record what is fresh; `notes` are non-fatal warnings.
    `checks` are the failed cross-checks of the EDGAR earnings rows (-> `data_checks`, which
    they replace), None when companyfacts was not read; `checks_run` counts the checks made.
    """

    symbol: str
    cik: int | None = None
    profile: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    earnings: list[dict] = field(default_factory=list)
    filings: list[dict] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    checks: list[dict] | None = None
    checks_run: int = 0


@dataclass(frozen=True)
class Known:
    """What the database already holds of a stock, as far as a fetch cares: the accession of
    the newest filing seen (or the day its facts are known to hold every filing before), and per
    form (10-K, 10-Q) the one whose sections are stored. A fetch skips companyfacts and
    documents that these show are not new."""

    latest_filing: str | None = None
    sections: dict[str, str] = field(default_factory=dict)
    # the stored facts came from SEC's archive compiled on this day: they hold every filing
    # dated before it
    facts_filed_before: str | None = None
