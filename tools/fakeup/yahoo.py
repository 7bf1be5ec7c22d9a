"""Yahoo routes: cookie, crumb, consent, quoteSummary, v7 quote, v8 chart and fundamentals-
timeseries.

Numbers agree with the EDGAR side of the same company (name, revenue, shares); dividendYield is
given in percent (0.45 means 0.45 %), heldPercentInstitutions as a fraction.
"""

import datetime as dt
import json
import math
import random
from urllib.parse import parse_qs

from .dates import epoch, is_business_day
from .responses import Response, text

RANGES = {
    "1d": 1,
    "5d": 7,
    "1mo": 31,
    "3mo": 92,
    "6mo": 183,
    "1y": 366,
    "2y": 731,
    "5y": 1827,
    "10y": 3653,
}
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
TS_KEYS = {
    "TotalRevenue": "revenue",
    "OperatingRevenue": "revenue",
    "NetIncome": "net_income",
    "NetIncomeCommonStockholders": "net_income",
    "DilutedEPS": "eps",
    "BasicEPS": "eps_basic",
    "DilutedAverageShares": "wshares",
    "BasicAverageShares": "wshares",
    "StockholdersEquity": "equity",
    "CommonStockEquity": "equity",
    "TotalDebt": "total_debt",
    "LongTermDebt": "ltd_noncurrent",
    "LongTermDebtAndCapitalLeaseObligation": "ltd_noncurrent",
    "CurrentDebt": "current_debt",
    "CurrentDebtAndCapitalLeaseObligation": "current_debt",
    "TotalLiabilitiesNetMinorityInterest": "liabilities",
    "OrdinarySharesNumber": "shares",
    "ShareIssued": "shares",
    "OperatingCashFlow": "ocf",
    "CapitalExpenditure": "neg_capex",
    "FreeCashFlow": "fcf",
    "CashDividendsPaid": "neg_dividends",
}
EXCHANGES = {"Nasdaq": ("NMS", "NasdaqGS"), "NYSE": ("NYQ", "NYSE")}


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Quote:
    """Market numbers for one symbol, derived from its fundamentals and the seed."""

    def __init__(self, world, p):
        f = world.fundamentals(p)
        rng = random.Random(f"{world.seed}/yahoo/{p.ticker}")
        latest = f["annual"][0][1] if f["annual"] else {}
        self.shares = float(f["shares"])
        self.revenue = latest.get("revenue")
        eps = latest.get("eps")
        if eps is None and latest.get("net_income") is not None and latest.get("wshares"):
            eps = latest["net_income"] / latest["wshares"]
        self.eps = eps
        if eps and eps > 0:
            self.pe = round(rng.uniform(8, 45), 4)
            self.price = round(eps * self.pe, 2)
        else:
            self.pe = None
            self.price = round(rng.uniform(2, 60), 2)
        self.price = max(self.price, 0.5)
        if self.pe:
            self.pe = round(self.price / eps, 6)
        dps = latest.get("dps") or 0
        self.dividend_rate = round(dps, 2) if dps > 0 else None
        self.dividend_yield = round(dps / self.price * 100, 2) if dps > 0 else None
        self.market_cap = int(self.price * self.shares)
        self.institutions = round(rng.uniform(0.05, 0.95), 5)
        self.insiders = round(rng.uniform(0.001, 0.2), 5)
        self.beta = round(rng.uniform(0.3, 2.0), 3)
        self.first_trade = epoch(
            dt.date(max(p.ipo_year, 1971), 1, 1) + dt.timedelta(days=rng.randint(0, 300)), 14, 30
        )
        self.volume = rng.randint(50_000, 40_000_000)
        self.total_debt = sum(
            latest.get(k) or 0 for k in ("ltd_noncurrent", "ltd_current", "short_borrowings")
        )
        self.equity = latest.get("equity")


def _quote(world, p) -> Quote:
    return world.derived.get(("quote", p.ticker), lambda: Quote(world, p))


def warm_quotes(world) -> None:
    """Derive every symbol's market numbers now (a few seconds for a thousand companies)."""
    for p in world.profiles:
        _quote(world, p)


def not_found_chart(symbol: str) -> Response:
    return Response(
        404,
        _dumps(
            {
                "chart": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": "No data found, symbol may be delisted",
                    },
                }
            }
        ),
    )


def route(world, host: str, method: str, path: str, query: str, headers) -> Response:
    q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if host == "fc.yahoo.com":
        domain = (
            ".yahoo.com.localhost"
            if (headers.get("Host") or "").split(":")[0].endswith(".localhost")
            else ".yahoo.com"
        )
        cookie = (
            f"A3=d=AQABBFAKE{world.seed}&S=AQAAAFAKE; Max-Age=31557600; Domain={domain}; Path=/; "
            f"SameSite=None; HttpOnly"
        )
        return Response(
            404, b"<html><body>Not Found</body></html>", "text/html", {"Set-Cookie": cookie}
        )
    if host in ("guce.yahoo.com", "consent.yahoo.com", "finance.yahoo.com"):
        return Response(
            200,
            b"<!DOCTYPE html><html><head><title>Yahoo</title></head><body></body></html>",
            "text/html; charset=utf-8",
        )
    if path == "/v1/test/getcrumb":
        return text(200, "fAkEcRuMb" + str(world.seed)[:6])
    parts = path.split("/")
    if path.startswith("/v10/finance/quoteSummary/") and len(parts) == 5:
        return quote_summary(world, parts[4], q)
    if path.startswith("/v7/finance/quote"):
        return v7_quote(world, q.get("symbols", ""))
    if path.startswith("/v8/finance/chart/") and len(parts) == 5:
        return chart(world, parts[4], q)
    if path.startswith("/ws/fundamentals-timeseries/v1/finance/timeseries/") and len(parts) == 7:
        return timeseries(world, parts[6], q)
    return Response(
        404,
        _dumps(
            {
                "finance": {
                    "result": None,
                    "error": {"code": "Not Found", "description": f"HTTP 404 Not Found: {path}"},
                }
            }
        ),
    )


def _profile(world, symbol: str):
    return world.by_symbol.get(symbol.upper())


def quote_summary(world, symbol: str, q: dict) -> Response:
    p = _profile(world, symbol)
    if p is None:
        return Response(
            404,
            _dumps(
                {
                    "quoteSummary": {
                        "result": None,
                        "error": {
                            "code": "Not Found",
                            "description": f"Quote not found for symbol: {symbol}",
                        },
                    }
                }
            ),
        )
    x = _quote(world, p)
    exch, exch_name = EXCHANGES[p.exchange]
    f = world.fundamentals(p)
    latest = f["annual"][0] if f["annual"] else None
    modules = {
        "assetProfile": {
            "address1": "100 Main Street",
            "city": "Wilmington",
            "country": p.country,
            "phone": "302-555-0100",
            "website": f"https://www.{p.ticker.lower().replace('-', '')}.example",
            "industry": p.industry,
            "industryKey": p.industry.lower().replace(" - ", "-").replace(" ", "-"),
            "industryDisp": p.industry,
            "sector": p.sector,
            "sectorKey": p.sector.lower().replace(" ", "-"),
            "sectorDisp": p.sector,
            "longBusinessSummary": f"{p.name} operates in the {p.industry.lower()} industry.",
            "fullTimeEmployees": max(10, int((x.revenue or 1e7) / 4e5)),
            "companyOfficers": [],
            "maxAge": 86400,
        },
        "summaryDetail": {
            "maxAge": 1,
            "priceHint": 2,
            "previousClose": x.price,
            "open": x.price,
            "dayLow": x.price,
            "dayHigh": x.price,
            "regularMarketPreviousClose": x.price,
            "regularMarketOpen": x.price,
            "regularMarketDayLow": x.price,
            "regularMarketDayHigh": x.price,
            "dividendRate": x.dividend_rate,
            "dividendYield": x.dividend_yield,
            "beta": x.beta,
            "trailingPE": x.pe,
            "volume": x.volume,
            "regularMarketVolume": x.volume,
            "averageVolume": x.volume,
            "marketCap": x.market_cap,
            "fiftyTwoWeekLow": round(x.price * 0.8, 2),
            "fiftyTwoWeekHigh": round(x.price * 1.2, 2),
            "currency": "USD",
            "tradeable": False,
        },
        "defaultKeyStatistics": {
            "maxAge": 1,
            "priceHint": 2,
            "floatShares": int(x.shares * 0.95),
            "sharesOutstanding": int(x.shares),
            "heldPercentInsiders": x.insiders,
            "heldPercentInstitutions": x.institutions,
            "trailingEps": x.eps and round(x.eps, 2),
            "bookValue": round(x.equity / x.shares, 3) if x.equity else None,
            "lastFiscalYearEnd": epoch(latest[0]) if latest else None,
            "mostRecentQuarter": epoch(f["quarterly"][0][0]) if f["quarterly"] else None,
        },
        "financialData": {
            "maxAge": 86400,
            "currentPrice": x.price,
            "totalRevenue": x.revenue and int(x.revenue),
            "totalDebt": int(x.total_debt),
            "debtToEquity": round(x.total_debt / x.equity * 100, 3)
            if x.equity and x.equity > 0
            else None,
            "financialCurrency": "USD",
        },
        "quoteType": {
            "exchange": exch,
            "quoteType": "EQUITY",
            "symbol": p.ticker,
            "underlyingSymbol": p.ticker,
            "shortName": p.name[:30],
            "longName": p.name,
            "firstTradeDateEpochUtc": x.first_trade,
            "timeZoneFullName": "America/New_York",
            "timeZoneShortName": "EST",
            "messageBoardId": f"finmb_{p.key}",
            "gmtOffSetMilliseconds": -18000000,
            "maxAge": 1,
        },
    }
    wanted = q.get("modules", "").split(",")
    result = {
        m: {k: v for k, v in modules[m].items() if v is not None} for m in wanted if m in modules
    }
    return Response(200, _dumps({"quoteSummary": {"result": [result], "error": None}}))


def v7_quote(world, symbols: str) -> Response:
    out = []
    for symbol in filter(None, symbols.split(",")):
        p = _profile(world, symbol)
        if p is None:
            continue
        x = _quote(world, p)
        exch, exch_name = EXCHANGES[p.exchange]
        item = {
            "language": "en-US",
            "region": "US",
            "quoteType": "EQUITY",
            "typeDisp": "Equity",
            "quoteSourceName": "Nasdaq Real Time Price",
            "triggerable": True,
            "currency": "USD",
            "exchange": exch,
            "shortName": p.name[:30],
            "longName": p.name,
            "marketState": "CLOSED",
            "regularMarketPrice": x.price,
            "regularMarketChange": 0.0,
            "regularMarketChangePercent": 0.0,
            "regularMarketTime": epoch(world.as_of, 21),
            "regularMarketVolume": x.volume,
            "regularMarketPreviousClose": x.price,
            "marketCap": x.market_cap,
            "sharesOutstanding": int(x.shares),
            "trailingPE": x.pe,
            "epsTrailingTwelveMonths": x.eps and round(x.eps, 2),
            "dividendRate": x.dividend_rate,
            "dividendYield": x.dividend_yield,
            "trailingAnnualDividendRate": x.dividend_rate or 0.0,
            "trailingAnnualDividendYield": round((x.dividend_yield or 0) / 100, 6),
            "firstTradeDateMilliseconds": x.first_trade * 1000,
            "firstTradeDateEpochUtc": x.first_trade,
            "exchangeTimezoneName": "America/New_York",
            "exchangeTimezoneShortName": "EST",
            "gmtOffSetMilliseconds": -18000000,
            "fullExchangeName": exch_name,
            "symbol": p.ticker,
        }
        out.append({k: v for k, v in item.items() if v is not None})
    return Response(200, _dumps({"quoteResponse": {"result": out, "error": None}}))


def _closes(world, p, x: Quote, days: int) -> list[float]:
    """Closing prices for as_of, as_of-1, ... (calendar days), ending at the quote price."""
    rng = random.Random(f"{world.seed}/walk/{p.ticker}")
    out, level = [], x.price
    for _ in range(days + 1):
        out.append(round(level, 4))
        level = max(0.01, level * math.exp(-rng.gauss(0.0002, 0.015)))
    return out


def chart(world, symbol: str, q: dict) -> Response:
    p = _profile(world, symbol)
    if p is None:
        return not_found_chart(symbol)
    x = _quote(world, p)
    as_of = world.as_of
    first_day = dt.datetime.fromtimestamp(x.first_trade, dt.UTC).date()
    rng_name = q.get("range")
    if rng_name:
        if rng_name == "max":
            start = first_day
        elif rng_name == "ytd":
            start = dt.date(as_of.year, 1, 1)
        else:
            start = as_of - dt.timedelta(days=RANGES.get(rng_name, 31))
        end = as_of
    else:
        start = dt.datetime.fromtimestamp(int(q.get("period1", 0)), dt.UTC).date()
        end = min(
            as_of,
            dt.datetime.fromtimestamp(int(q.get("period2", epoch(as_of))), dt.UTC).date(),
        )
    start = max(start, first_day)
    interval = q.get("interval", "1d")
    span = max(0, (as_of - start).days)
    closes = _closes(world, p, x, span)
    days = [as_of - dt.timedelta(days=i) for i in range(span + 1)]
    days = [d for d in reversed(days) if start <= d <= end and is_business_day(d)]
    if interval == "1wk":
        days = [d for d in days if d.weekday() == 0]
    elif interval in ("1mo", "3mo"):
        days = [d for i, d in enumerate(days) if i == 0 or d.month != days[i - 1].month]
    intraday = interval.endswith("m") and interval not in ("1mo", "3mo") or interval.endswith("h")
    stamps, quote_rows = [], {"open": [], "high": [], "low": [], "close": [], "volume": []}
    for d in days:
        c = closes[(as_of - d).days]
        for hour in range(14, 21) if intraday else (14,):
            stamps.append(epoch(d, hour, 30))
            for k, v in (("open", c * 0.995), ("high", c * 1.01), ("low", c * 0.985), ("close", c)):
                quote_rows[k].append(round(v, 4))
            quote_rows["volume"].append(x.volume)
    exch, exch_name = EXCHANGES[p.exchange]
    period = {"timezone": "EST", "gmtoffset": -18000}
    meta = {
        "currency": "USD",
        "symbol": p.ticker,
        "exchangeName": exch,
        "fullExchangeName": exch_name,
        "instrumentType": "EQUITY",
        "firstTradeDate": x.first_trade,
        "regularMarketTime": epoch(as_of, 21),
        "hasPrePostMarketData": True,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": x.price,
        "fiftyTwoWeekHigh": round(x.price * 1.2, 2),
        "fiftyTwoWeekLow": round(x.price * 0.8, 2),
        "regularMarketDayHigh": x.price,
        "regularMarketDayLow": x.price,
        "regularMarketVolume": x.volume,
        "longName": p.name,
        "shortName": p.name[:30],
        "chartPreviousClose": closes[min(len(closes) - 1, 1)],
        "priceHint": 2,
        "currentTradingPeriod": {
            "pre": {**period, "start": epoch(as_of, 9), "end": epoch(as_of, 14, 30)},
            "regular": {**period, "start": epoch(as_of, 14, 30), "end": epoch(as_of, 21)},
            "post": {
                **period,
                "start": epoch(as_of, 21),
                "end": epoch(as_of + dt.timedelta(days=1), 1),
            },
        },
        "dataGranularity": interval,
        "range": rng_name or "",
        "validRanges": VALID_RANGES,
    }
    result = {
        "meta": meta,
        "timestamp": stamps,
        "indicators": {
            "quote": [quote_rows],
            "adjclose": [{"adjclose": list(quote_rows["close"])}],
        },
    }
    if not stamps:
        result = {"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}
    return Response(200, _dumps({"chart": {"result": [result], "error": None}}))


def _derived(values: dict, metric: str, shares: float):
    get = values.get
    if metric == "total_debt":
        parts = [get(k) for k in ("ltd_noncurrent", "ltd_current", "short_borrowings")]
        return sum(v for v in parts if v is not None) if any(v is not None for v in parts) else None
    if metric == "current_debt":
        parts = [get(k) for k in ("ltd_current", "short_borrowings")]
        return sum(v for v in parts if v is not None) if any(v is not None for v in parts) else None
    if metric == "neg_capex":
        return -get("capex") if get("capex") is not None else None
    if metric == "fcf":
        return (
            get("ocf") - get("capex")
            if get("ocf") is not None and get("capex") is not None
            else None
        )
    if metric == "neg_dividends":
        return -round(get("dps") * get("wshares")) if get("dps") and get("wshares") else None
    if metric == "shares":
        return round(shares)
    return get(metric)


def timeseries(world, symbol: str, q: dict) -> Response:
    p = _profile(world, symbol)
    if p is None:
        return Response(200, _dumps({"timeseries": {"result": [], "error": None}}))
    f = world.fundamentals(p)
    lo, hi = int(q.get("period1", 0)), int(q.get("period2", 4 * 10**9))
    types = [t for t in q.get("type", "").split(",") if t]
    if not types:
        end = f["quarterly"][0][0] if f["quarterly"] else f["annual"][0][0]
        ts = epoch(end)
        return Response(
            200,
            _dumps(
                {
                    "timeseries": {
                        "result": [
                            {
                                "meta": {"symbol": [p.ticker], "type": ["shares_out"]},
                                "timestamp": [ts],
                                "shares_out": [int(f["shares"])],
                            }
                        ],
                        "error": None,
                    }
                }
            ),
        )
    result = []
    for t in types:
        item = {"meta": {"symbol": [p.ticker], "type": [t]}}
        prefix = next((x for x in ("annual", "quarterly", "trailing") if t.startswith(x)), None)
        metric = TS_KEYS.get(t[len(prefix) :]) if prefix else None
        rows = []
        if metric:
            periods = f["quarterly"] if prefix == "quarterly" else f["annual"]
            if prefix == "trailing":
                periods = periods[:1]
            for end, values in periods:
                v = _derived(values, metric, f["shares"])
                if v is not None and lo <= epoch(end) <= hi:
                    rows.append((end, v))
        if rows:
            rows.sort()
            item["timestamp"] = [epoch(e) for e, _ in rows]
            item[t] = [
                {
                    "dataId": 20000,
                    "asOfDate": e.isoformat(),
                    "periodType": {"annual": "12M", "quarterly": "3M", "trailing": "TTM"}[prefix],
                    "currencyCode": "USD",
                    "reportedValue": {"raw": v, "fmt": f"{v:,.2f}"},
                }
                for e, v in rows
            ]
        result.append(item)
    return Response(200, _dumps({"timeseries": {"result": result, "error": None}}))
