"""Companyfacts JSON for a modelled company, with the pitfalls of the real API.

Each 10-K repeats the two prior years (so a period sits in up to three filings), 10-Qs carry
3-month and year-to-date durations (cash flow only YTD), there are no fiscal Q4 facts, per-share
values follow the share basis of the filing date (split restatements), the revenue tag can change
between filings, and extra real concept names pad the document to a realistic size.
"""

import datetime as dt
import functools
import gzip
import json
import random
import threading
import zlib

from . import FIXTURES
from .model import Filing, Profile, Series

US_GAAP = {
    "net_income": "NetIncomeLoss",
    "eps": "EarningsPerShareDiluted",
    "eps_basic": "EarningsPerShareBasic",
    "wshares": "WeightedAverageNumberOfDilutedSharesOutstanding",
    "equity": "StockholdersEquity",
    "ltd_noncurrent": "LongTermDebtNoncurrent",
    "ltd_current": "LongTermDebtCurrent",
    "short_borrowings": "ShortTermBorrowings",
    "liabilities": "Liabilities",
    "ocf": "NetCashProvidedByUsedInOperatingActivities",
    "capex": "PaymentsToAcquirePropertyPlantAndEquipment",
    "dps": "CommonStockDividendsPerShareDeclared",
}
IFRS = {
    "revenue": "Revenue",
    "net_income": "ProfitLoss",
    "eps": "DilutedEarningsLossPerShare",
    "eps_basic": "BasicEarningsLossPerShare",
    "wshares": "AdjustedWeightedAverageShares",
    "equity": "Equity",
    "ltd_noncurrent": "LongtermBorrowings",
    "ltd_current": "CurrentPortionOfLongtermBorrowings",
    "short_borrowings": "ShorttermBorrowings",
    "liabilities": "Liabilities",
    "ocf": "CashFlowsFromUsedInOperatingActivities",
    "capex": "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
    "dps": "DividendsRecognisedAsDistributionsToOwnersPerShare",
}
UNITS = {"eps": "USD/shares", "eps_basic": "USD/shares", "dps": "USD/shares", "wshares": "shares"}
CASH_FLOW = {"ocf", "capex"}
SPLIT_CONCEPT = "StockholdersEquityNoteStockSplitConversionRatio1"
# Concepts the job reads: padding never adds them, so what a company reports stays deliberate.
RESERVED = (
    set(US_GAAP.values())
    | set(IFRS.values())
    | {
        SPLIT_CONCEPT,
        "Revenues",
        "RevenueFromContractWithCustomerExcludingAssessedTax",
        "SalesRevenueNet",
        "RevenueFromContractWithCustomerIncludingAssessedTax",
        "SalesRevenueGoodsNet",
        "LongTermDebt",
        "ProfitLoss",
        "CommonStockDividendsPerShareCashPaid",
        "CommonStockSharesOutstanding",
        "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
        "DebtCurrent",
        "LongTermDebtAndCapitalLeaseObligations",
        "PaymentsToAcquireProductiveAssets",
        "WeightedAverageNumberOfSharesOutstandingBasic",
        "NetIncomeLossAvailableToCommonStockholdersBasic",
    }
)

_catalog_lock = threading.Lock()
_catalog: dict = {}


def catalog(taxonomy: str) -> list[tuple]:
    """Real (concept, label, description, unit, instant) tuples to pad synthetic documents with."""
    with _catalog_lock:
        if not _catalog:
            seen = {}
            for name in ("CIK0000320193.json.gz", "CIK0001652044.json.gz"):
                data = json.loads(
                    gzip.decompress((FIXTURES / "edgar/companyfacts" / name).read_bytes())
                )
                for concept, body in data["facts"].get("us-gaap", {}).items():
                    unit, facts = next(iter(body["units"].items()))
                    seen.setdefault(
                        concept,
                        (
                            concept,
                            body.get("label"),
                            body.get("description"),
                            unit,
                            "start" not in facts[0],
                        ),
                    )
            _catalog["us-gaap"] = sorted(seen.values())
            lpa = json.loads((FIXTURES / "edgar/companyfacts/CIK0001997711.json").read_text())
            _catalog["ifrs-full"] = sorted(
                (
                    c,
                    b.get("label"),
                    b.get("description"),
                    next(iter(b["units"])),
                    "start" not in next(iter(b["units"].values()))[0],
                )
                for c, b in lpa["facts"]["ifrs-full"].items()
                if "USD" in b["units"] or "shares" in b["units"]
            )
    return _catalog[taxonomy]


@functools.cache
def _by_concept(taxonomy: str) -> dict:
    return {c[0]: c for c in catalog(taxonomy)}


def _frame(start: dt.date | None, end: dt.date) -> str | None:
    if start is None:
        marks = [
            dt.date(end.year - 1, 12, 31),
            dt.date(end.year, 3, 31),
            dt.date(end.year, 6, 30),
            dt.date(end.year, 9, 30),
            dt.date(end.year, 12, 31),
        ]
        near = min(marks, key=lambda m: abs((m - end).days))
        return f"CY{near.year}Q{(near.month - 1) // 3 + 1}I"
    days = (end - start).days + 1
    mid = start + dt.timedelta(days=days // 2)
    if 335 <= days <= 395:
        return f"CY{mid.year}"
    if 60 <= days <= 120:
        return f"CY{mid.year}Q{(mid.month - 1) // 3 + 1}"
    return None


def _windows(f: Filing, annual: bool, kind: str) -> list[tuple[int, int] | int]:
    """The periods a filing reports for one concept: (q_from, q_to) durations or q instants."""
    q, k = f.q, f.q % 4 + 1
    if kind == "instant":
        return [q, q - 4] if annual else [q, q - k]
    if annual:
        return [(q - 3 - 4 * i, q - 4 * i) for i in range(3)]
    ytd = [(q - k + 1, q), (q - k - 3, q - 4)]
    if kind == "cash":
        return ytd
    quarter = [(q, q), (q - 4, q - 4)]
    return quarter + ytd[: 2 if k > 1 else 0]


class FactsBuilder:
    """Collects facts per (taxonomy, concept, unit) and renders the companyfacts document."""

    def __init__(self, p: Profile):
        self.p = p
        self.facts: dict[tuple, list] = {}
        self.meta: dict[tuple, tuple] = {}

    def add(
        self, taxonomy, concept, unit, start, end, val, f: Filing, label=None, description=None
    ):
        key = (taxonomy, concept, unit)
        self.meta.setdefault(key, (label, description))
        fy = f.q // 4 if f.q is not None else None
        fp = "FY" if f.form == self.p.annual_form else f"Q{f.q % 4 + 1}"
        self.facts.setdefault(key, []).append((start, end, val, f.accn, fy, fp, f.form, f.filed))

    def render_concept(self, key) -> str:
        out = [f'{head}"val":{val}{tail}' for head, val, tail in _row_text(self.facts[key])]
        label, description = self.meta[key]
        if label is None:
            known = _by_concept(key[0]) if key[0] in ("us-gaap", "ifrs-full") else {}
            label, description = known[key[1]][1:3] if key[1] in known else (_words(key[1]), None)
        return (
            f'"{key[1]}":{{"label":{json.dumps(label)},"description":{json.dumps(description)},'
            f'"units":{{"{key[2]}":[' + ",".join(out) + "]}}"
        )


def _row_text(rows: list) -> list[tuple[str, object, str]]:
    """(text before the value, value, text after it) per fact row, in data.sec.gov order with
    frames."""
    rows = sorted(rows, key=lambda r: (r[1], r[0] or r[1], r[7]))
    seen, used, frames = set(), set(), {}
    for i in sorted(range(len(rows)), key=lambda i: rows[i][7], reverse=True):
        period = (rows[i][0], rows[i][1])
        if period in seen:
            continue
        seen.add(period)
        label = _frame(*period)
        if label and label not in used:
            used.add(label)
            frames[i] = label
    out = []
    for i, (start, end, val, accn, fy, fp, form, filed) in enumerate(rows):
        head = f'{{"start":"{start}",' if start else "{"
        frame = f',"frame":"{frames[i]}"' if i in frames else ""
        out.append(
            (
                f'{head}"end":"{end}",',
                val,
                f',"accn":"{accn}","fy":{fy},"fp":"{fp}","form":"{form}","filed":"{filed}"{frame}}}',
            )
        )
    return out


def _words(concept: str) -> str:
    out = "".join(" " + c if c.isupper() and i else c for i, c in enumerate(concept))
    return out.strip()


def _num(metric: str, value: float):
    if metric in ("eps", "eps_basic", "dps"):
        return round(value, 2)
    return int(round(value))


def build(p: Profile, series: Series, filings: list[Filing], seed: str) -> bytes:
    """The companyfacts body for a modelled company (compact JSON like data.sec.gov)."""
    b = FactsBuilder(p)
    tax = p.taxonomy
    names = IFRS if tax == "ifrs-full" else US_GAAP
    periodic = sorted(
        (f for f in filings if f.periodic and f.form in ("10-K", "10-Q", "20-F")),
        key=lambda f: f.filed,
    )
    rng = random.Random(f"{seed}/{p.key}/facts")
    metrics = [
        "revenue",
        "net_income",
        "wshares",
        "equity",
        "ltd_noncurrent",
        "ltd_current",
        "short_borrowings",
        "liabilities",
        "ocf",
        "capex",
    ]
    if p.has_eps:
        metrics += ["eps", "eps_basic"]
    if p.dividend_payout:
        metrics.append("dps")
    for f in periodic:
        annual = f.form == p.annual_form
        factor = p.split_factor(f.filed)
        for m in metrics:
            concept = names[m] if m != "revenue" or tax == "ifrs-full" else p.revenue_tag(f.filed)
            unit = UNITS.get(m, "USD")
            kind = (
                "instant"
                if m
                in ("equity", "ltd_noncurrent", "ltd_current", "short_borrowings", "liabilities")
                else "cash"
                if m in CASH_FLOW
                else "duration"
            )
            for w in _windows(f, annual, kind):
                if kind == "instant":
                    b.add(
                        tax,
                        concept,
                        unit,
                        None,
                        p.fiscal_quarter_end(w),
                        _num(m, series.instant(m, w)),
                        f,
                    )
                    continue
                v = series.duration(m, *w)
                if m in ("eps", "eps_basic", "dps"):
                    v /= factor
                elif m == "wshares":
                    v *= factor
                b.add(
                    tax,
                    concept,
                    unit,
                    p.quarter_start(w[0]),
                    p.fiscal_quarter_end(w[1]),
                    _num(m, v),
                    f,
                )
        cover = f.filed - dt.timedelta(days=rng.randint(5, 25))
        shares = series.instant("shares", f.q) * factor
        b.add(
            "dei",
            "EntityCommonStockSharesOutstanding",
            "shares",
            None,
            cover,
            int(shares),
            f,
            "Entity Common Stock, Shares Outstanding",
            "Indicate number of shares or other units outstanding of each of registrant's classes"
            " of capital or common stock or other ownership interests, if and as stated on cover "
            "of related periodic report. Where multiple classes or units exist define each "
            "class/interest by adding class of stock items such as Common Class A [Member], "
            "Common Class B [Member] or Partnership Interest [Member] onto the Instrument "
            "[Domain] of the Entity Listing, Instrument.",
        )
        if annual:
            for when, ratio in p.splits:
                for start_q, end_q in _windows(f, True, "duration"):
                    if when <= f.filed and p.quarter_start(start_q) <= when <= p.fiscal_quarter_end(
                        end_q
                    ):
                        b.add(
                            tax,
                            SPLIT_CONCEPT,
                            "pure",
                            p.quarter_start(start_q),
                            p.fiscal_quarter_end(end_q),
                            ratio,
                            f,
                            "Stockholders' Equity Note, Stock Split, Conversion Ratio",
                            "Ratio applied to the conversion of stock split, for example but "
                            "not limited to, one share converted to two or two shares converted"
                            " to one.",
                        )
    return _render(p, b, periodic, series, seed, tax)


def _render(p, b: FactsBuilder, periodic, series, seed, tax) -> bytes:
    head = f'{{"cik":{p.cik},"entityName":{json.dumps(p.name)},"facts":{{'
    core = {t: [b.render_concept(k) for k in sorted(b.facts) if k[0] == t] for t in ("dei", tax)}
    size = len(head) + sum(len(c) + 1 for parts in core.values() for c in parts) + 40
    extras = []
    taken = {k[1] for k in b.facts} | RESERVED
    pool = [c for c in catalog(tax) if c[0] not in taken and "EarningsPerShare" not in c[0]]
    random.Random(f"{seed}/{p.key}/pad").shuffle(pool)
    layouts = {}
    for concept, label, description, unit, instant in pool:
        if size >= p.target_bytes or not periodic:
            break
        text = _extra(
            p, series, periodic, seed, layouts, concept, label, description, unit, instant
        )
        if not text:
            continue
        extras.append(text)
        size += len(text) + 1
    body = (
        head
        + f'"dei":{{{",".join(core["dei"])}}},"{tax}":{{'
        + ",".join(core[tax] + extras)
        + "}}}"
    )
    return body.encode()


class _PadLayout:
    """The rows a padding concept reports, shared by every padding concept of the same kind.

    Padding concepts with the same kind (instant or duration) and the same annual-only draw cover
    the same filings, windows, sort order and frames; only their values differ. So the row text
    around each value and the inputs of the value formula are worked out once per company.
    """

    def __init__(
        self, p: Profile, series: Series, periodic: list[Filing], instant: bool, annual_only: bool
    ):
        b = FactsBuilder(p)
        points: dict[tuple, int] = {}
        self.points = []  # (crc32 suffix "{end}{n}", n, |level|) per distinct period
        for f in periodic:
            annual = f.form == p.annual_form
            if annual_only and not annual:
                continue
            for w in _windows(f, annual, "instant" if instant else "duration"):
                if instant:
                    start, end, n = None, p.fiscal_quarter_end(w), 4
                else:
                    start, end, n = (
                        p.quarter_start(w[0]),
                        p.fiscal_quarter_end(w[1]),
                        w[1] - w[0] + 1,
                    )
                span = (w, w) if instant else w
                point = points.get(span)
                if point is None:
                    level = (
                        series.duration("revenue", *span)
                        / max(p.revenue0, 1)
                        / (span[1] - span[0] + 1)
                        * 4
                    )
                    point = points[span] = len(self.points)
                    self.points.append((f"{end}{n}".encode(), n, abs(level)))
                b.add("", "", "", start, end, point, f)
        rows = b.facts.get(("", "", ""), [])
        self.rows = [(head + '"val":', point, tail) for head, point, tail in _row_text(rows)]

    def render(self, concept: str, unit: str, scale: float, label, description) -> str:
        crc = zlib.crc32(concept.encode())
        whole = unit in ("USD", "shares")
        vals = []
        for suffix, n, level in self.points:
            val = scale * n / 4 * level * (1 + 0.015 * (zlib.crc32(suffix, crc) % 7 - 3))
            vals.append(str(int(val)) if whole else repr(round(val, 4)))
        body = ",".join([head + vals[point] + tail for head, point, tail in self.rows])
        return (
            f'"{concept}":{{"label":{json.dumps(label)},"description":{json.dumps(description)},'
            f'"units":{{"{unit}":[' + body + "]}}"
        )


def _extra(p, series, periodic, seed, layouts, concept, label, description, unit, instant) -> str:
    rng = random.Random(f"{seed}/{p.key}/x/{concept}")
    scale = {
        "USD": p.revenue0 * rng.uniform(0.002, 0.3),
        "shares": p.shares0 * rng.uniform(0.001, 0.05),
        "USD/shares": rng.uniform(0.05, 4.0),
    }.get(unit, rng.uniform(0.01, 1.0))
    annual_only = rng.random() < 0.3
    layout = layouts.get((instant, annual_only))
    if layout is None:
        layout = layouts[(instant, annual_only)] = _PadLayout(
            p, series, periodic, instant, annual_only
        )
    if not layout.rows:
        return ""
    return layout.render(concept, unit, scale, label, description)
