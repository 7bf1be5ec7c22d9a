"""Market data and profile from Yahoo, through yfinance: the only module that imports it.

yfinance keeps one process-wide session; we hand it ours (`YahooSession`) on every call so that
pacing, timeouts and the upstream override apply to everything it sends. Its own error handling
is turned into ours: 429 -> `RateLimited` (retried with backoff), 404 -> `NotFound`, curl errors
-> `Transient`.
"""

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import yfinance as yf
from curl_cffi import CurlInfo
from curl_cffi import requests as curl_requests
from curl_cffi.requests.exceptions import HTTPError, RequestException
from yfinance.data import YfData
from yfinance.exceptions import YFException, YFRateLimitError

from .files import owner_only_dir
from .http import (
    HOSTS,
    BlockedHost,
    Malformed,
    NotFound,
    RateLimited,
    Transient,
    Upstreams,
    retry_after_seconds,
)
from .numeric import finite
from .xbrl import debt_to_equity, fiscal_year

log = logging.getLogger(__name__)

QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
# Symbols per v7 quote request. Third-party clients send 50-100; each symbol adds about 2 KB
# to the answer, and one failed request fails every stock in it. 50 keeps an answer near
# 100 KB and a failed batch at 1 % of a night's stocks, while the quotes of 5,000 stocks still
# cost only 100 requests (50 s at two requests a second).
QUOTE_BATCH = 50
SUMMARY_URL = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/{symbol}"
# The quoteSummary modules the profile needs, and nothing else: name and exchange (quoteType),
# sector, industry and country (assetProfile), institutional ownership (defaultKeyStatistics),
# revenue and debt/equity (financialData). `Ticker.info` asks five modules and two more URLs.
PROFILE_MODULES = "quoteType,assetProfile,defaultKeyStatistics,financialData"
# The metrics that come with the profile (weekly); the quote batch brings the others nightly.
PROFILE_METRICS = ("institutional_ownership", "revenue", "debt_to_equity")

# yfinance statement row -> our earnings_history column
INCOME = {
    "TotalRevenue": "revenue",
    "NetIncome": "net_income",
    "DilutedEPS": "earnings_per_share",
    "DilutedAverageShares": "diluted_shares",
}
BALANCE = {
    "StockholdersEquity": "shareholder_equity",
    "TotalDebt": "total_debt",
    "TotalLiabilitiesNetMinorityInterest": "total_liabilities",
    "OrdinarySharesNumber": "shares_outstanding",
}
CASHFLOW = {
    "OperatingCashFlow": "operating_cash_flow",
    "CapitalExpenditure": "capital_expenditures",
    "FreeCashFlow": "free_cash_flow",
}


def configure(cache_dir: Path) -> None:
    """Process-wide yfinance settings; must run before its first request (caches are fixed then)."""
    owner_only_dir(cache_dir)
    yf.set_tz_cache_location(str(cache_dir))
    yf.config.debug.hide_exceptions = False
    yf.config.network.retries = 0


def default_cache_dir(config_dir: Path) -> Path:
    """systemd's CacheDirectory= when run by the unit, else `cache/` beside the config."""
    base = os.environ.get("CACHE_DIRECTORY") or os.environ.get("STOCK_REFRESH_CACHE_DIR")
    return (Path(base) if base else config_dir / "cache") / "yfinance"


def number(value) -> float | None:
    """A finite number or None; the quote API may wrap it as `{"raw": ..., "fmt": ...}`."""
    return finite(value.get("raw") if isinstance(value, dict) else value)


def yahoo_url(url: str, override: str | None) -> str:
    """Where a Yahoo URL really goes: itself, or `http://HOST.localhost:PORT/...` with the
    upstream override (curl keeps the host name visible to the server that way)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if override and host.endswith(".localhost"):
        return url  # a redirect that already points at the override
    if HOSTS.get(host) != "yahoo":
        raise BlockedHost(f"refusing request to non-Yahoo host {host!r} ({url})")
    if not override:
        return url
    port = urlsplit(override).port
    query = f"?{parts.query}" if parts.query else ""
    return f"http://{host}.localhost:{port}{parts.path or '/'}{query}"


def sent_ago(response) -> float:
    """How long before now the request left, from curl's own timings: its whole transfer less
    the part before the request went out. A redirect's requests are timed together, so those
    count from the answer (0), as does an answer without timings."""
    infos = response.infos
    if response.redirect_count or CurlInfo.TOTAL_TIME not in infos:
        return 0.0
    return max(0.0, infos[CurlInfo.TOTAL_TIME] - infos[CurlInfo.PRETRANSFER_TIME])


class YahooSession(curl_requests.Session):
    """The curl_cffi session yfinance gets: paced, counted, timed out, and overridable.

    yfinance hard-codes its URLs and timeouts, so this is the one place to apply ours.
    """

    def __init__(self, upstreams: Upstreams):
        super().__init__(
            impersonate="chrome",
            trust_env=upstreams.override is None,
            curl_infos=[CurlInfo.PRETRANSFER_TIME, CurlInfo.TOTAL_TIME],
        )
        self._upstreams = upstreams

    def request(self, method, url, *args, **kwargs):
        target = yahoo_url(url, self._upstreams.override)
        timeout = kwargs.get("timeout")
        kwargs["timeout"] = (
            min(timeout, self._upstreams.timeout) if timeout else self._upstreams.timeout
        )
        turn = self._upstreams.take_turn("yahoo")
        sent = time.monotonic()
        response = super().request(method, target, *args, **kwargs)
        self._upstreams.answered("yahoo", time.monotonic() - sent)
        if turn:
            turn[0].sent(turn[1], ago=sent_ago(response))
        if response.status_code == 429:
            self._upstreams.count("yahoo", "throttled")
            pause = retry_after_seconds(response.headers.get("Retry-After"))
            limiter = self._upstreams.limiters["yahoo"]
            if pause and limiter:
                limiter.pause(pause)
        return response


class Yahoo:
    def __init__(self, upstreams: Upstreams):
        self._upstreams = upstreams
        self._session = YahooSession(upstreams)

    def _call(self, symbol: str, what: str, fn, one_symbol: bool = True):
        """Run one yfinance call with our retry policy and error types. A 404 for one symbol's
        URL means an unknown symbol; for a list of symbols, the endpoint's failure."""
        for attempt in self._upstreams.retrying("yahoo"):
            with attempt:
                try:
                    return fn()
                except YFRateLimitError:
                    raise RateLimited(
                        f"Yahoo {what} for {symbol}: 429 Too Many Requests", 429
                    ) from None
                except HTTPError as error:
                    status = getattr(error.response, "status_code", None)
                    if status == 404 and one_symbol:
                        raise NotFound(
                            f"Yahoo {what} for {symbol}: unknown symbol (404)", 404
                        ) from None
                    raise Transient(f"Yahoo {what} for {symbol}: HTTP {status}", status) from None
                except RequestException as error:
                    raise Transient(f"Yahoo {what} for {symbol}: {error}") from None
                except YFException as error:
                    raise Transient(f"Yahoo {what} for {symbol}: {error}") from None
                except (ValueError, KeyError, TypeError) as error:
                    # yfinance parses as it goes: a cut-off or garbled body surfaces here as
                    # a JSONDecodeError or a missing key, and is as worth retrying as ours
                    raise Malformed(
                        f"Yahoo {what} for {symbol}: unreadable answer "
                        f"({type(error).__name__}: {error})"
                    ) from None
        raise AssertionError("unreachable")

    def _ticker(self, symbol: str) -> yf.Ticker:
        return yf.Ticker(symbol, session=self._session)

    def _raw_json(self, url: str, params: dict):
        """One GET through yfinance's request object: its cookie and crumb, our session."""
        return YfData(session=self._session).get_raw_json(
            url, params=params, timeout=self._upstreams.timeout
        )

    def profile(self, symbol: str) -> tuple[dict, dict]:
        """(profile, PROFILE_METRICS) from one quoteSummary request with only the modules
        they need (`Ticker.info` would cost three requests)."""
        params = {
            "modules": PROFILE_MODULES,
            "formatted": "false",
            "symbol": symbol,
            "lang": "en-US",
            "region": "US",
        }
        url = SUMMARY_URL.format(symbol=quote(symbol, safe=""))
        answer = self._call(symbol, "profile", lambda: self._raw_json(url, params))
        try:
            results = answer["quoteSummary"]["result"]
            info = {k: v for module in (results or [{}])[0].values() for k, v in module.items()}
        except (KeyError, TypeError, AttributeError, IndexError):
            raise Malformed(f"Yahoo profile for {symbol}: no quoteSummary.result") from None
        if not (info.get("quoteType") or info.get("symbol") or info.get("longName")):
            raise NotFound(f"Yahoo profile for {symbol}: unknown symbol (empty answer)")
        metrics = metrics_from_info(info)
        return profile_from_info(info), {key: metrics[key] for key in PROFILE_METRICS}

    def statements(self, symbol: str) -> list[dict]:
        """Annual and quarterly statement rows, for when EDGAR has too few years."""
        frames = {}
        for freq in ("yearly", "quarterly"):
            for name, getter in (
                ("income", "get_income_stmt"),
                ("balance", "get_balance_sheet"),
                ("cashflow", "get_cash_flow"),
            ):
                frames[name, freq] = self._call(
                    symbol,
                    f"{freq} {name}",
                    lambda g=getter, f=freq: getattr(self._ticker(symbol), g)(freq=f),
                )
        return statement_rows(frames)

    def quotes(self, symbols: list[str]) -> dict[str, dict]:
        """Market data of up to QUOTE_BATCH symbols in one request, keyed by symbol.

        Yahoo's v7 quote takes a list of symbols; yfinance only ever sends one, so this goes
        through yfinance's request object (its cookie and crumb) rather than `Ticker`.
        """
        label = f"{symbols[0]}..{symbols[-1]}"
        params = {
            "symbols": ",".join(symbols),
            "formatted": "false",
            "lang": "en-US",
            "region": "US",
        }
        # unknown symbols are only left out of the answer
        answer = self._call(
            label, "quote", lambda: self._raw_json(QUOTE_URL, params), one_symbol=False
        )
        try:
            results = answer["quoteResponse"]["result"]
            return {
                item["symbol"]: metrics_from_info(item)
                for item in results
                if item.get("symbol") in symbols
            }
        except (KeyError, TypeError):
            raise Malformed(f"Yahoo quote for {label}: no quoteResponse.result list") from None


def profile_from_info(info: dict) -> dict:
    first_trade = number(info.get("firstTradeDateEpochUtc"))
    if first_trade is None and number(info.get("firstTradeDateMilliseconds")) is not None:
        first_trade = number(info.get("firstTradeDateMilliseconds")) / 1000
    return {
        "company_name": info.get("longName") or info.get("shortName"),
        "exchange": info.get("exchange"),
        "sector": info.get("sector"),
        "industry": info.get("industry"),
        "country": info.get("country"),
        "ipo_year": datetime.fromtimestamp(first_trade, UTC).year if first_trade else None,
    }


def metrics_from_info(info: dict) -> dict:
    """Screener units: dividend yield in percent, institutional ownership as a 0..1 fraction."""
    price = number(info.get("currentPrice")) or number(info.get("regularMarketPrice"))
    rate = number(info.get("dividendRate"))
    if price and rate is not None:
        dividend_yield = rate / price * 100  # unambiguous, whatever unit dividendYield is in
    else:
        dividend_yield = number(info.get("dividendYield"))
    held = number(info.get("heldPercentInstitutions"))
    if held is not None and held > 1.5:
        held /= 100
    d_e = number(info.get("debtToEquity"))
    return {
        "price": price,
        "pe_ratio": number(info.get("trailingPE")),
        "market_cap": number(info.get("marketCap")),
        "debt_to_equity": d_e / 100 if d_e is not None and d_e > 0 else None,
        "institutional_ownership": held,
        "revenue": number(info.get("totalRevenue")),
        "dividend_yield": dividend_yield,
    }


def fiscal_period(end, fiscal_year_end_month: int) -> tuple[int, str]:
    """(fiscal year, 'Q1'..'Q4') of a quarter ending on `end`."""
    offset = (end.month - fiscal_year_end_month - 1) % 12
    year = end.year if end.month <= fiscal_year_end_month else end.year + 1
    return year, f"Q{offset // 3 + 1}"


def statement_rows(frames: dict) -> list[dict]:
    """yfinance statement DataFrames -> earnings rows (source 'yfinance')."""
    rows: dict[tuple, dict] = {}
    annual_ends = []
    for (name, freq), frame in frames.items():
        if frame is None or frame.empty:
            continue
        mapping = {"income": INCOME, "balance": BALANCE, "cashflow": CASHFLOW}[name]
        for column in frame.columns:
            end = column.date()
            if freq == "yearly":
                annual_ends.append(end)
            row = rows.setdefault((freq, end), {"fiscal_end": end.isoformat()})
            for key, field in mapping.items():
                if key in frame.index:
                    row[field] = number(frame.at[key, column])
    fye_month = max(annual_ends).month if annual_ends else 12
    out = []
    for (freq, end), row in sorted(rows.items()):
        if freq == "yearly":
            row.update(year=fiscal_year(end), period="annual")
        else:
            year, quarter = fiscal_period(end, fye_month)
            row.update(year=year, period=quarter)
        capex = row.get("capital_expenditures")
        if capex is not None:
            row["capital_expenditures"] = abs(capex)
        row["debt_to_equity"] = debt_to_equity(row.get("total_debt"), row.get("shareholder_equity"))
        row.update(source="yfinance", derived=0, accession=None)
        out.append(row)
    return out
