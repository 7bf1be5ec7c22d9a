"""Ticker files: the GitHub US-Stock-Symbols lists and SEC's company_tickers*.json, in their real
shapes."""

import json
import random
import re

from . import FIXTURES

# Real odd entries from the NYSE fixture list; ABR^D is a preferred nobody serves.
ODD_REAL = ("ABR^D", "BRK/B", "ECC           ")


def _served(world, exchange: str):
    return [p for p in world.profiles if p.exchange == exchange]


def _symbols(world, exchange: str) -> list[str]:
    symbols = [p.list_symbol for p in _served(world, exchange)]
    if exchange == "NYSE":
        symbols.append("ABR^D")
    return sorted(set(symbols))


def tickers_json(world, exchange: str) -> bytes:
    return (json.dumps(_symbols(world, exchange), indent=2) + "\n").encode()


def tickers_txt(world, exchange: str) -> bytes:
    """The .txt list, split on non-letters like the upstream grep -o does (ABR^D -> ABR, D)."""
    tokens = [t for s in _symbols(world, exchange) for t in re.findall("[A-Za-z]+", s)]
    return "".join(t + "\n" for t in tokens).encode()


def full_tickers_json(world, exchange: str) -> bytes:
    real = {}
    if exchange == "NYSE":
        rows = json.loads((FIXTURES / "symbols/nyse/nyse_full_tickers.json").read_text())
        real = {r["symbol"]: r for r in rows if r["symbol"] in ODD_REAL}
    by_symbol = {p.list_symbol: p for p in _served(world, exchange)}
    out = []
    for symbol in _symbols(world, exchange):
        if symbol in real:
            out.append(real[symbol])
            continue
        p = by_symbol[symbol]
        rng = random.Random(f"{world.seed}/screener/{p.key}")
        price = rng.uniform(5, 400)
        change = price * rng.uniform(-0.03, 0.03)
        out.append(
            {
                "symbol": symbol,
                "name": f"{p.name} Common Stock",
                "lastsale": f"${price:.2f}",
                "netchange": f"{change:.2f}",
                "pctchange": f"{change / price * 100:.3f}%",
                "volume": str(rng.randint(10_000, 30_000_000)),
                "marketCap": f"{p.revenue0 * rng.uniform(0.5, 8):.2f}",
                "country": p.country,
                "ipoyear": str(p.ipo_year),
                "industry": p.industry,
                "sector": p.extra.get("nasdaq_sector", p.sector),
                "url": f"/market-activity/stocks/{symbol.lower()}",
            }
        )
    return (json.dumps(out, indent=2, ensure_ascii=False) + "\n").encode()


def company_tickers(world) -> bytes:
    """The real file's bytes with one entry appended per served company it lacks."""
    raw = (FIXTURES / "edgar/company_tickers.json").read_bytes().rstrip()
    known = {v["ticker"] for v in json.loads(raw).values()}
    n = len(json.loads(raw))
    extra = []
    for p in world.profiles:
        if p.cik and p.ticker not in known:
            entry = json.dumps(
                {"cik_str": p.cik, "ticker": p.ticker, "title": p.name}, separators=(",", ":")
            )
            extra.append(f'"{n}":{entry}')
            n += 1
    return raw[:-1] + ("," + ",".join(extra) if extra else "").encode() + b"}"


def company_tickers_exchange(world) -> bytes:
    raw = (FIXTURES / "edgar/company_tickers_exchange.json").read_bytes().rstrip()
    known = {row[2] for row in json.loads(raw)["data"]}
    extra = [
        json.dumps([p.cik, p.name, p.ticker, p.exchange], separators=(",", ":"))
        for p in world.profiles
        if p.cik and p.ticker not in known
    ]
    assert raw.endswith(b"]]}")
    return raw[:-2] + ("," + ",".join(extra) if extra else "").encode() + b"]}"
