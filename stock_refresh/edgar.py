"""Fetching from SEC EDGAR: plain JSON and bytes in, no parsing of facts here (see xbrl.py)."""

import logging
import threading
from typing import NamedTuple

from .http import Incomplete, Malformed, NotFound, UpstreamError, Upstreams

log = logging.getLogger(__name__)

TICKERS_URL = "https://www.sec.gov/files/company_tickers.json"
SUBMISSIONS_URL = "https://data.sec.gov/submissions/{name}"
COMPANYFACTS_URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik:010d}.json"


def parse_cik_map(data) -> dict[str, int]:
    """`company_tickers.json` -> {ticker: cik}; tickers as SEC writes them (`BRK-B`)."""
    if not isinstance(data, dict) or not data:
        raise Malformed(f"{TICKERS_URL}: expected a non-empty JSON object of companies")
    out = {}
    for row in data.values():
        try:
            out[str(row["ticker"]).strip().upper().replace(".", "-")] = int(str(row["cik_str"]))
        except (KeyError, TypeError, ValueError):
            continue
    if not out:
        raise Malformed(f"{TICKERS_URL}: no row has a ticker and a numeric cik_str")
    return out


class CikMap:
    """ticker -> CIK, fetched once per run on first use (and again if that fetch failed)."""

    def __init__(self, upstreams: Upstreams):
        self._upstreams = upstreams
        self._map: dict[str, int] | None = None
        self._lock = threading.Lock()

    def load_in_background(self) -> None:
        """Fetch the map now, beside whatever the run does first, so the first stocks do not
        wait for it. A failure is left to the first lookup, which tries again and reports it."""
        threading.Thread(target=self._load_quietly, name="cik-map", daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            self.cik("")
        except UpstreamError as error:
            log.info("ticker-to-CIK map not loaded yet (%s); trying again on first use", error)

    def cik(self, symbol: str) -> int | None:
        with self._lock:
            if self._map is None:
                try:
                    self._map = parse_cik_map(self._upstreams.get_json(TICKERS_URL))
                except NotFound as error:  # SEC's own list: missing is SEC's fault, not ours
                    raise Incomplete(f"SEC's ticker list is missing ({error})") from None
        return self._map.get(symbol)


def fetch_submissions(upstreams: Upstreams, cik: int) -> dict:
    return _json_object(upstreams, SUBMISSIONS_URL.format(name=f"CIK{cik:010d}.json"))


def fetch_submissions_page(upstreams: Upstreams, name: str) -> dict:
    return _json_object(upstreams, SUBMISSIONS_URL.format(name=name))


class Body(NamedTuple):
    """A big body as it came off the wire: parsing.py decodes it elsewhere."""

    data: bytes
    encoding: str  # its Content-Encoding, lower case ("" for none)


def fetch_companyfacts(upstreams: Upstreams, cik: int, parse=Body):
    """`parse(bytes, encoding)` of the companyfacts body (see `Upstreams.get_body`)."""
    return upstreams.get_body(COMPANYFACTS_URL.format(cik=cik), parse)


def fetch_document(upstreams: Upstreams, url: str, parse=Body):
    """`parse(bytes, encoding)` of a filing's primary document."""
    return upstreams.get_body(url, parse)


def _json_object(upstreams: Upstreams, url: str) -> dict:
    data = upstreams.get_json(url)
    if not isinstance(data, dict):
        raise Malformed(f"{url}: expected a JSON object, got {type(data).__name__}")
    return data
