"""Earnings history rows from an SEC companyfacts payload (pure functions, no I/O).

Rules, because the payload is easy to misread:
- Periods are chosen by `start`/`end` and duration, never by the filing's `fy`/`fp`:
  annual = 350-380 days (52/53-week years), a quarter = 80-100 days, and a year-to-date
  figure is a duration starting on a fiscal-year start that covers 2 or 3 quarters.
- `year` is `fiscal_year(end)`: the calendar year of the period end, except that a year
  ending on 1-7 January (a 52/53-week year for a nominal 31 December year end) belongs to
  the year before. A retailer's year ending 3 February 2024 is therefore 2024.
- Only 10-K, 10-Q, 20-F, 40-F (and their amendments and transition reports) count; for one
  concept and period the most recently filed fact wins (a restatement) and keeps its accession.
- Quarters are placed Q1..Q4 by position inside their fiscal year. A missing quarter of a flow
  (revenue, net income, cash flows, dividends per share) is derived from year-to-date figures
  (6M - Q1, 9M - 6M, annual - 9M, or the year minus the known quarters). Diluted weighted
  shares are derived the same way from averages (e.g. Q4 = 4 x annual - 3 x 9M). EPS is never
  subtracted: a quarter without a reported EPS gets net income / diluted shares (rounded to
  cents). Instants (equity, debt, liabilities, shares outstanding) are read at the period end.
- `derived` = 1 when any reported figure of the row (revenue, net income, EPS, diluted shares,
  cash flows, capex, dividends per share) was computed rather than read. Free cash flow
  (OCF - capex), total debt (a sum of filed parts) and debt-to-equity are always computed and
  do not set the flag.
- Splits: per-share and share-count facts filed before a split are put on the latest basis.
  A split needs agreeing evidence: a split-ratio fact (which also dates it), or the same
  period's diluted shares and per-share values re-filed on a basis moved by the same factor
  (per-share values alone do when no share count was re-filed across the break). A ratio fact
  dated before every filing (a split before the IPO) changes nothing and is not noted.
- Units errors: diluted shares that jump by a power of 1,000 while per-share values stay put
  were filed in thousands (or millions): those counts are scaled up to the whole-share basis of
  the other filings, per-share values are left as filed, and a note says so.
- Money is read in USD only; a filer reporting in another currency gets a note and no money.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median
from typing import Any

import msgspec

from .forms import PERIODIC_FORMS
from .numeric import finite

ANNUAL_DAYS = (350, 380)
QUARTER_DAYS = 91.3
QUARTER_SLACK = 12
USD, PER_SHARE, SHARES, PURE = "USD", "USD/shares", "shares", "pure"

REVENUE = (
    ("us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",),
    ("us-gaap:Revenues",),
    ("us-gaap:SalesRevenueNet",),
    ("us-gaap:RevenueFromContractWithCustomerIncludingAssessedTax",),
    ("us-gaap:SalesRevenueGoodsNet",),
    ("us-gaap:SalesRevenueServicesNet",),
    ("us-gaap:RevenuesNetOfInterestExpense",),
    ("us-gaap:InterestAndDividendIncomeOperating", "us-gaap:NoninterestIncome"),
    ("us-gaap:RegulatedAndUnregulatedOperatingRevenue",),
    ("us-gaap:HealthCareOrganizationRevenue",),
    ("ifrs-full:Revenue",),
    ("ifrs-full:RevenueFromContractsWithCustomers",),
    ("ifrs-full:RevenueFromSaleOfGoods",),
)
NET_INCOME = (
    ("us-gaap:NetIncomeLoss",),
    ("us-gaap:ProfitLoss",),
    ("us-gaap:NetIncomeLossAvailableToCommonStockholdersBasic",),
    ("ifrs-full:ProfitLossAttributableToOwnersOfParent",),
    ("ifrs-full:ProfitLoss",),
)
EPS = (
    ("us-gaap:EarningsPerShareDiluted",),
    ("us-gaap:EarningsPerShareBasicAndDiluted",),
    ("ifrs-full:DilutedEarningsLossPerShare",),
)
DILUTED_SHARES = (
    ("us-gaap:WeightedAverageNumberOfDilutedSharesOutstanding",),
    ("ifrs-full:AdjustedWeightedAverageShares",),
)
OCF = (
    ("us-gaap:NetCashProvidedByUsedInOperatingActivities",),
    ("us-gaap:NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",),
    ("ifrs-full:CashFlowsFromUsedInOperatingActivities",),
    ("ifrs-full:CashFlowsFromUsedInOperations",),
)
CAPEX = (
    ("us-gaap:PaymentsToAcquirePropertyPlantAndEquipment",),
    ("us-gaap:PaymentsToAcquireProductiveAssets",),
    ("ifrs-full:PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",),
)
DPS = (
    ("us-gaap:CommonStockDividendsPerShareDeclared",),
    ("us-gaap:CommonStockDividendsPerShareCashPaid",),
)
EQUITY = (
    "us-gaap:StockholdersEquity",
    "us-gaap:StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
    "ifrs-full:EquityAttributableToOwnersOfParent",
    "ifrs-full:Equity",
)
LIABILITIES = ("us-gaap:Liabilities", "ifrs-full:Liabilities")
SHARES_OUT = ("us-gaap:CommonStockSharesOutstanding", "ifrs-full:NumberOfSharesOutstanding")
COVER_SHARES = "dei:EntityCommonStockSharesOutstanding"
DEBT = (
    "us-gaap:LongTermDebtNoncurrent",
    "us-gaap:LongTermDebtCurrent",
    "us-gaap:DebtCurrent",
    "us-gaap:LongTermDebt",
    "us-gaap:LongTermDebtAndCapitalLeaseObligations",
    "us-gaap:LongTermDebtAndCapitalLeaseObligationsCurrent",
    "us-gaap:ShortTermBorrowings",
    "us-gaap:CommercialPaper",
    "us-gaap:OtherShortTermBorrowings",
    "ifrs-full:Borrowings",
    "ifrs-full:LongtermBorrowings",
    "ifrs-full:ShorttermBorrowings",
)
SPLIT_RATIO = (
    "us-gaap:StockholdersEquityNoteStockSplitConversionRatio1",
    "us-gaap:StockholdersEquityNoteStockSplitConversionRatio",
)
FALLBACK_EQUITY = "us-gaap:LiabilitiesAndStockholdersEquity"
IFRS_DEBT = {"Borrowings", "LongtermBorrowings", "ShorttermBorrowings"}

UNIT_OF = {}
for _group, _unit in (
    (REVENUE, USD),
    (NET_INCOME, USD),
    (OCF, USD),
    (CAPEX, USD),
    (EPS, PER_SHARE),
    (DPS, PER_SHARE),
    (DILUTED_SHARES, SHARES),
):
    for _combo in _group:
        for _key in _combo:
            UNIT_OF[_key] = _unit
for _key in (*EQUITY, *LIABILITIES, *DEBT, FALLBACK_EQUITY):
    UNIT_OF[_key] = USD
for _key in (*SHARES_OUT, COVER_SHARES):
    UNIT_OF[_key] = SHARES
for _key in SPLIT_RATIO:
    UNIT_OF[_key] = PURE
PER_SHARE_KEYS = {k for combo in (*EPS, *DPS) for k in combo}
DILUTED_KEYS = {k for combo in DILUTED_SHARES for k in combo}
SHARE_KEYS = DILUTED_KEYS | set(SHARES_OUT) | {COVER_SHARES}


# ---------------------------------------------------------------- reading the payload


class _Concept(msgspec.Struct):
    units: Any = None  # as filed: _raw_facts checks its shape


def _payload_schema() -> type:
    """{"facts": {taxonomy: {concept: {"units": ...}}}} with only the concepts read here."""
    wanted: dict[str, set[str]] = {}
    for key in UNIT_OF:
        taxonomy, concept = key.split(":")
        wanted.setdefault(taxonomy, set()).add(concept)
    fields = {
        taxonomy.replace("-", "_"): msgspec.defstruct(
            f"Taxonomy_{taxonomy.replace('-', '_')}",
            [(concept, _Concept | None, None) for concept in sorted(concepts)],
        )
        for taxonomy, concepts in wanted.items()
    }
    facts = msgspec.defstruct(
        "Facts",
        [(name, kind | None, None) for name, kind in fields.items()],
        rename={name: name.replace("_", "-") for name in fields},
    )
    return msgspec.defstruct("CompanyFacts", [("facts", facts | None, None)])


# A companyfacts payload carries ~500 concepts and ~50 are read here. Decoding only those
# (msgspec skips the rest while parsing) is about 8x faster than json.loads on a 4 MB payload.
_DECODER = msgspec.json.Decoder(_payload_schema())


def read_companyfacts(raw: bytes) -> dict:
    """The payload reduced to the concepts read here, in the payload's own shape. What the
    fast path refuses (not JSON, an unexpected shape) is decoded whole with json, so
    earnings_rows sees and reports it exactly as it would the full payload. Raises ValueError
    for a body that is not a JSON object."""
    try:
        payload = _DECODER.decode(raw)
    except msgspec.MsgspecError:
        return _read_whole(raw)
    if payload.facts is None:
        return {}
    facts = {}
    for field in msgspec.structs.fields(payload.facts):
        taxonomy = getattr(payload.facts, field.name)
        if taxonomy is not None:
            facts[field.encode_name] = {
                concept.name: {"units": getattr(taxonomy, concept.name).units}
                for concept in msgspec.structs.fields(taxonomy)
                if getattr(taxonomy, concept.name) is not None
            }
    return {"facts": facts}


def _read_whole(raw: bytes) -> dict:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise ValueError(f"expected JSON, got {len(raw)} bytes that do not parse") from None
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    return payload


@dataclass(slots=True)
class Fact:
    start: date | None
    end: date
    val: float
    accn: str | None
    filed: str


@dataclass(slots=True)
class Value:
    val: float
    derived: bool
    accn: str | None
    filed: str


@dataclass(slots=True)
class Split:
    factor: float  # multiply share counts filed before `boundary`; divide per-share values
    boundary: str  # ISO date: facts filed before it are on the old basis
    source: str
    dated: str = ""  # the split-ratio fact's date, when there is one
    shares_only: bool = False  # a units error: diluted share counts only, per-share values kept


def fiscal_year(end: date) -> int:
    """Fiscal year label of a period ending on `end` (see the module docstring)."""
    return (end - timedelta(days=7)).year


def debt_to_equity(total_debt: float | None, equity: float | None) -> float | None:
    """Total debt / total stockholders' equity; None when either is unknown or equity <= 0."""
    total_debt, equity = finite(total_debt), finite(equity)
    if total_debt is None or equity is None or equity <= 0:
        return None
    return total_debt / equity


def _date(text) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _form_ok(form) -> bool:
    if not isinstance(form, str):
        return False
    form = form.strip().upper()
    return form.removesuffix("/A") in PERIODIC_FORMS


def _raw_facts(facts: dict, key: str, notes: list[str], currencies: set[str]) -> list[Fact]:
    """Valid facts of one concept in its expected unit; counts what had to be skipped."""
    taxonomy, concept = key.split(":")
    node = facts.get(taxonomy)
    node = node.get(concept) if isinstance(node, dict) else None
    units = node.get("units") if isinstance(node, dict) else None
    if not isinstance(units, dict):
        return []
    unit = UNIT_OF[key]
    rows = units.get(unit)
    if rows is None:
        other = [u for u in units if isinstance(u, str)]
        if unit == USD:
            currencies.update(other)
        elif unit == PER_SHARE:
            currencies.update(u.split("/")[0] for u in other if u.endswith("/shares"))
        return []
    if not isinstance(rows, list):
        notes.append(f"{key}: unit {unit} is not a list; skipped")
        return []
    out, bad = [], 0
    for row in rows:
        if not isinstance(row, dict) or not _form_ok(row.get("form")):
            bad += not isinstance(row, dict)
            continue
        end, val = _date(row.get("end")), finite(row.get("val"))
        start = _date(row.get("start")) if "start" in row else None
        filed = row.get("filed") if isinstance(row.get("filed"), str) else ""
        accn = row.get("accn") if isinstance(row.get("accn"), str) else None
        if (
            end is None
            or val is None
            or ("start" in row and start is None)
            or (start is not None and start > end)
        ):
            bad += 1
            continue
        out.append(Fact(start, end, val, accn, filed))
    if bad:
        notes.append(f"{key}: {bad} malformed fact(s) skipped")
    return out


def _snap(factor: float) -> float | None:
    """The small split fraction (n, 1/n, 3/2, ...) within 1% of a measured factor, if any."""
    for q in range(1, 5):
        for value in (factor, 1 / factor):
            p = round(value * q)
            if p and abs(value * q - p) / p < 0.01:
                return p / q if value is factor else q / p
    return None


def _jump_evidence(raw: dict[str, list[Fact]]) -> list[tuple[float, str, str, bool]]:
    """(share factor, old filed, new filed, from_shares) for the same period re-reported
    on a clearly different basis by a later filing."""
    evidence = []
    for key, facts in raw.items():
        is_eps = key in PER_SHARE_KEYS
        if not (is_eps or key in SHARE_KEYS) or key in SHARES_OUT or key == COVER_SHARES:
            continue
        by_period: dict[tuple, list[Fact]] = {}
        for f in facts:
            by_period.setdefault((f.start, f.end), []).append(f)
        for group in by_period.values():
            group.sort(key=lambda f: f.filed)
            for old, new in zip(group, group[1:], strict=False):
                if old.filed == new.filed or old.val * new.val <= 0:
                    continue
                if is_eps and min(abs(old.val), abs(new.val)) < 0.01:
                    continue
                factor = old.val / new.val if is_eps else new.val / old.val
                if 1 / 1.3 < factor < 1.3:
                    continue
                evidence.append((factor, old.filed, new.filed, not is_eps))
    return evidence


def _group_evidence(evidence) -> list[dict]:
    groups: list[dict] = []
    for factor, old, new, from_shares in sorted(evidence, key=lambda e: e[2]):
        for g in groups:
            if abs(math.log(factor / g["factors"][0])) < 0.05 and max(g["old"], old) < min(
                g["new"], new
            ):
                g["factors"].append(factor)
                g["share_factors"] += [factor] if from_shares else []
                g["old"], g["new"] = max(g["old"], old), min(g["new"], new)
                break
        else:
            groups.append(
                {
                    "factors": [factor],
                    "share_factors": [factor] if from_shares else [],
                    "old": old,
                    "new": new,
                }
            )
    for g in groups:
        measured = median(g["share_factors"] or g["factors"])
        g["snapped"] = _snap(measured)
        g["factor"] = g["snapped"] or measured
    return groups


def _straddling(raw: dict[str, list[Fact]], keys, old: str, new: str) -> list[float]:
    """Share-basis factors (new/old for counts, old/new for per-share values) of the same
    period filed on both sides of a break that lies in (old, new]: how far the break moved it."""
    out = []
    for key in keys:
        by_period: dict[tuple, list[Fact]] = {}
        for f in raw.get(key, ()):
            by_period.setdefault((f.start, f.end), []).append(f)
        for group in by_period.values():
            before = [f for f in group if f.filed <= old]
            after = [f for f in group if f.filed >= new]
            if not before or not after:
                continue
            a, b = max(before, key=lambda f: f.filed), min(after, key=lambda f: f.filed)
            if a.val * b.val <= 0 or (key in PER_SHARE_KEYS and min(abs(a.val), abs(b.val)) < 0.01):
                continue
            out.append(a.val / b.val if key in PER_SHARE_KEYS else b.val / a.val)
    return out


def _near(a: float, b: float) -> bool:
    return abs(math.log(a / b)) < 0.03


def _thousands_power(factor: float) -> int:
    """k when factor is 1000**k (k != 0) within 3%, else 0."""
    k = round(math.log(factor, 1000))
    return k if k and _near(factor, 1000.0**k) else 0


def _judge(raw: dict[str, list[Fact]], g: dict) -> str:
    """'split' when share counts and per-share values moved together (or only one kind was
    re-reported across the break and it agrees with itself), 'units' when counts jumped by a
    power of 1000 and per-share values did not, else 'rejected'."""
    shares = g["share_factors"]
    per_share_moved = len(g["factors"]) > len(shares)
    eps = _straddling(raw, PER_SHARE_KEYS, g["old"], g["new"])
    eps_still = bool(eps) and not per_share_moved and _near(median(eps), 1)
    if shares and _thousands_power(g["factor"]) and not per_share_moved:
        return "units"
    if shares and eps_still:
        return "rejected"
    if shares and per_share_moved:
        return "split"
    counts = _straddling(raw, DILUTED_KEYS, g["old"], g["new"])
    if not shares and counts and _near(median(counts), 1):
        return "rejected"
    agree = g["snapped"] is not None and all(_near(f, g["factor"]) for f in g["factors"])
    return "split" if len(g["factors"]) >= 2 and agree else "rejected"


def _units_fixes(units: list[dict], notes: list[str]) -> list[Split]:
    """Share counts filed in thousands (or millions) for a run of filings, put back on the
    basis of the filings that used whole shares: the largest of the run's scales."""
    if not units:
        return []
    units = sorted(units, key=lambda g: g["new"])
    powers = [_thousands_power(g["factor"]) for g in units]
    scales = [0]
    for k in powers:
        scales.append(scales[-1] + k)
    edges = ["", *(g["new"] for g in units), ""]
    for i, scale in enumerate(scales):
        if scale < max(scales):
            span = " ".join(
                f"{word} {edge}"
                for word, edge in (("from", edges[i]), ("until", edges[i + 1]))
                if edge
            )
            times = 1000 ** (max(scales) - scale)
            notes.append(
                f"units error: diluted share counts filed {span} are {times:,} times too small "
                "while per-share values stayed as filed; the counts are rescaled, per-share "
                "values left as filed"
            )
    fixes = [
        Split(1000.0**k, g["new"], "units", "", True) for k, g in zip(powers, units, strict=True)
    ]
    if max(scales) != scales[-1]:
        fixes.append(Split(1000.0 ** (max(scales) - scales[-1]), "9999-12-31", "units", "", True))
    return fixes


def _balance_sheet_share_units(raw: dict[str, list[Fact]], notes: list[str]) -> None:
    """A balance-sheet share count tagged in thousands (or millions): its own filing's cover
    page gives the count in whole shares, a power of 1,000 larger; rescaled and noted."""
    cover: dict[str, float] = {}
    for f in raw.get(COVER_SHARES, ()):
        if f.accn and f.val > 0:
            cover[f.accn] = max(cover.get(f.accn, 0), f.val)
    for key in SHARES_OUT:
        fixed = set()
        for i, f in enumerate(raw.get(key, ())):
            whole = cover.get(f.accn or "")
            if not whole or f.val <= 0:
                continue
            k = round(math.log(whole / f.val, 1000))
            if k > 0 and 0.8 <= whole / (f.val * 1000**k) <= 1.25:
                raw[key][i] = Fact(f.start, f.end, f.val * 1000**k, f.accn, f.filed)
                fixed.add((f.accn, 1000**k))
        for accn, times in sorted(fixed):
            notes.append(
                f"units error: {key} in {accn} is {times:,} times smaller than the same "
                "filing's cover-page count; rescaled"
            )


def _changes_something(raw: dict[str, list[Fact]], boundary: str) -> bool:
    """Whether any per-share or share fact was filed before `boundary` (a split before the
    first filing, such as one before an IPO, changes nothing)."""
    return any(
        f.filed < boundary
        for key, facts in raw.items()
        if key in PER_SHARE_KEYS or key in SHARE_KEYS
        for f in facts
    )


def _splits(raw: dict[str, list[Fact]], notes: list[str]) -> list[Split]:
    """Splits from ratio facts (clustered: announcement and effective date) and from restated
    figures that agree (see _judge); share-count units errors as share-only corrections."""
    ratios = sorted(
        (f.end, f.val)
        for key in SPLIT_RATIO
        for f in raw.get(key, ())
        if f.start is None and f.val > 0 and abs(f.val - 1) > 1e-9
    )
    clusters: list[list] = []
    for end, val in ratios:
        last = clusters[-1] if clusters else None
        if last and abs(last[1] - val) < 1e-9 and (end - last[0]).days <= 250:
            last[0] = end
        else:
            clusters.append([end, val])
    groups = _group_evidence(_jump_evidence(raw))
    splits = []
    for end, val in clusters:
        dated = boundary = end.isoformat()
        match = None
        for g in groups:
            if (
                any(abs(math.log(g["factor"] / v)) < 0.03 for v in (val, 1 / val))
                and g["old"] <= (end + timedelta(days=60)).isoformat()
                and g["new"] >= (end - timedelta(days=60)).isoformat()
            ):
                match = g
                break
        if match is not None:
            groups.remove(match)
            factor = match["factor"]
            if not (match["old"] < boundary <= match["new"]):
                boundary = match["new"]
        else:
            factor = val
        if _changes_something(raw, boundary):
            splits.append(Split(factor, boundary, "split-ratio fact", dated))
    units = []
    for g in sorted(groups, key=lambda g: not g["share_factors"]):
        if not g["share_factors"] and any(g["old"] < s.boundary <= g["new"] for s in splits):
            continue  # per-share values rounded to cents re-measuring a split already found
        verdict = _judge(raw, g)
        if verdict == "split":
            splits.append(Split(g["factor"], g["new"], "restated per-share/share figures"))
        elif verdict == "units":
            units.append(g)
        elif len(g["factors"]) >= 2 and (g["share_factors"] or g["snapped"]):
            notes.append(
                f"per-share or share figures re-filed by {g['new']} moved by {g['factor']:.4g}"
                " without the other kind agreeing; not taken for a stock split"
            )
    for s in splits:
        ratio = f"{s.factor:g}-for-1" if s.factor >= 1 else f"1-for-{1 / s.factor:g}"
        when = f"effective {s.dated}" if s.dated else f"effective by {s.boundary}"
        notes.append(
            f"stock split {ratio} {when} (from {s.source}): "
            "per-share and share figures filed earlier put on the current basis"
        )
    return splits + _units_fixes(units, notes)


def _series(raw: list[Fact], key: str, splits: list[Split]) -> dict[tuple, Fact]:
    """Latest-filed fact per (start, end), put on the latest split basis; diluted share counts
    also corrected for units errors."""
    out: dict[tuple, Fact] = {}
    for f in raw:
        k = (f.start, f.end)
        cur = out.get(k)
        if cur is None or (f.filed, f.accn or "") >= (cur.filed, cur.accn or ""):
            out[k] = f
    applying = [s for s in splits if not s.shares_only or key in DILUTED_KEYS]
    if key in PER_SHARE_KEYS:
        applying = [s for s in splits if not s.shares_only]
    if applying and (key in PER_SHARE_KEYS or key in SHARE_KEYS):
        for k, f in out.items():
            factor = math.prod(s.factor for s in applying if f.filed < s.boundary)
            if factor != 1:
                val = round(f.val / factor, 6) if key in PER_SHARE_KEYS else round(f.val * factor)
                out[k] = Fact(f.start, f.end, val, f.accn, f.filed)
    return out


class _Company:
    """Deduplicated, split-adjusted series of one company, with period lookups."""

    def __init__(self, series: dict[str, dict[tuple, Fact]]):
        self.series = series

    def fact(self, key: str, start: date | None, end: date) -> Fact | None:
        s = self.series.get(key)
        return s.get((start, end)) if s else None

    def duration(self, combos, start: date, end: date) -> Value | None:
        for combo in combos:
            facts = [self.fact(k, start, end) for k in combo]
            if all(facts):
                return _combine(facts)
        return None

    def instant(self, keys, end: date) -> Value | None:
        for key in keys:
            f = self.fact(key, None, end)
            if f is not None:
                return Value(f.val, False, f.accn, f.filed)
        return None


def _combine(facts: list[Fact]) -> Value:
    latest = max(facts, key=lambda f: f.filed)
    return Value(sum(f.val for f in facts), False, latest.accn, latest.filed)


def _minus(a: Value, parts: list[Value]) -> Value:
    latest = max([a, *parts], key=lambda v: v.filed)
    val = a.val - sum(p.val for p in parts)
    return Value(val if isinstance(val, int) else round(val, 6), True, latest.accn, latest.filed)


@dataclass(slots=True)
class _Year:
    start: date
    end: date | None  # None while the fiscal year is still running
    ends: dict[int, date]  # quarter number -> quarter end

    def label(self) -> int:
        return fiscal_year(self.end or self.start + timedelta(days=363))

    def quarter(self, n: int) -> tuple[date, date] | None:
        if n not in self.ends:
            return None
        if n == 1:
            return self.start, self.ends[1]
        if n - 1 not in self.ends:
            return None
        return self.ends[n - 1] + timedelta(days=1), self.ends[n]


def _position(start: date, end: date) -> int | None:
    days = (end - start).days + 1
    n = round(days / QUARTER_DAYS)
    return n if 1 <= n <= 4 and abs(days - n * QUARTER_DAYS) <= QUARTER_SLACK else None


def _calendar(company: _Company) -> list[_Year]:
    """Fiscal years (annual periods plus a running year) with their quarter ends."""
    durations: dict[tuple[date, date], int] = {}
    for key, s in company.series.items():
        if UNIT_OF[key] == PURE:
            continue
        for start, end in s:
            if start is not None:
                durations[(start, end)] = durations.get((start, end), 0) + 1
    annual: dict[date, tuple[date, int]] = {}
    for (start, end), support in durations.items():
        if ANNUAL_DAYS[0] <= (end - start).days <= ANNUAL_DAYS[1]:
            best = annual.get(start)
            if best is None or support > best[1]:
                annual[start] = (end, support)
    starts = dict.fromkeys(annual)
    for end, _ in annual.values():
        starts.setdefault(end + timedelta(days=1))
    for start, end in durations:
        if _position(start, end) in (2, 3):
            starts.setdefault(start)
    years = []
    ordered = sorted(starts)
    for i, start in enumerate(ordered):
        end = annual[start][0] if start in annual else None
        limit = ordered[i + 1] if i + 1 < len(ordered) else start + timedelta(days=380)
        if end is not None:
            limit = min(limit, end + timedelta(days=1))
        ends: dict[int, date] = {}
        for s, e in sorted(durations):
            if s < start or e >= limit:
                continue
            if s == start or _position(s, e) == 1:
                n = _position(start, e)
            else:
                continue
            if n is not None and n not in ends:
                ends[n] = e
        if end is not None:
            ends[4] = end
        if end is not None or ends:
            years.append(_Year(start, end, ends))
    return years


def _quarter_flow(
    company: _Company, combos, year: _Year, n: int, average: bool, memo: dict
) -> Value | None:
    """A quarter of a flow: reported, or derived from year-to-date figures of one concept.
    Concepts are tried in order, each reported then derived, so that a quarter comes from the
    concept its year-to-date figures use rather than from a lesser concept that happens to
    report that quarter alone."""
    if year.quarter(n) is None:
        return None
    for combo in combos:
        v = _derive(company, combo, year, n, average, memo)
        if v is not None:
            return v
    return None


def _cumulative(company: _Company, combo, year: _Year, n: int, average: bool) -> Value | None:
    if n == 0:
        return Value(0, False, None, "")
    facts = [company.fact(k, year.start, year.ends[n]) for k in combo] if n in year.ends else []
    if not facts or not all(facts):
        return None
    v = _combine(facts)
    if average:
        v.val *= n
    return v


def _derive(company, combo, year, n, average, memo) -> Value | None:
    key = (combo, year.start, n)
    if key in memo:
        return memo[key]
    memo[key] = None
    span = year.quarter(n)
    result = None
    if span is not None:
        facts = [company.fact(k, *span) for k in combo]
        if all(facts):
            result = _combine(facts)
    if result is None:
        total = _cumulative(company, combo, year, n, average)
        if total is not None:
            before = _cumulative(company, combo, year, n - 1, average)
            if before is not None:
                result = _minus(total, [before]) if n > 1 else total
            else:
                parts = [_derive(company, combo, year, j, average, memo) for j in range(1, n)]
                if all(p is not None for p in parts):
                    result = _minus(total, parts)
    memo[key] = result
    return result


def _quarter_eps(company: _Company, year: _Year, n: int, flows: dict, memo: dict):
    """Reported quarter EPS; else net income / diluted shares; else (when shares are not
    reported) year-to-date EPS minus the other quarters' EPS, marked derived."""
    eps = company.duration(EPS, *year.quarter(n))
    ni, shares = flows.get("net_income"), flows.get("diluted_shares")
    if eps is not None or (ni is not None and shares is not None and shares.val > 0):
        return eps
    for combo in EPS:
        v = _derive(company, combo, year, n, False, memo)
        if v is not None:
            v.val = round(v.val, 4)
            return v
    return None


def _total_debt(company: _Company, end: date) -> Value | None:
    """Total debt at `end`; the rule is spelled out in `earnings_rows`."""

    def get(name):
        prefix = "ifrs-full:" if name in IFRS_DEBT else "us-gaap:"
        return company.instant((prefix + name,), end)

    short = get("ShortTermBorrowings")
    short_parts = (
        [short]
        if short
        else [v for v in (get("CommercialPaper"), get("OtherShortTermBorrowings")) if v]
    )
    noncurrent = get("LongTermDebtNoncurrent")
    if noncurrent is not None:
        current = get("DebtCurrent")
        parts = (
            [noncurrent, current]
            if current
            else [noncurrent, *[v for v in (get("LongTermDebtCurrent"),) if v], *short_parts]
        )
    elif (ltd := get("LongTermDebt")) is not None:
        parts = [ltd, *short_parts]
    elif (ltd := get("LongTermDebtAndCapitalLeaseObligations")) is not None:
        parts = [
            ltd,
            *[v for v in (get("LongTermDebtAndCapitalLeaseObligationsCurrent"),) if v],
            *short_parts,
        ]
    elif (total := get("Borrowings")) is not None:
        parts = [total]
    elif (ltd := get("LongtermBorrowings")) is not None:
        parts = [ltd, *[v for v in (get("ShorttermBorrowings"),) if v]]
    else:
        return None
    latest = max(parts, key=lambda v: v.filed)
    return Value(sum(p.val for p in parts), False, latest.accn, latest.filed)


def _liabilities(company: _Company, end: date) -> Value | None:
    v = company.instant(LIABILITIES, end)
    if v is not None:
        return v
    total = company.instant((FALLBACK_EQUITY,), end)
    equity = company.instant(
        (
            "us-gaap:StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
            "us-gaap:StockholdersEquity",
        ),
        end,
    )
    return _minus(total, [equity]) if total and equity else None


def _shares_outstanding(company: _Company, end: date) -> Value | None:
    """Balance-sheet count at the period end, else the cover-page count dated up to
    120 days after it (the cover date of the filing that reports the period)."""
    v = company.instant(SHARES_OUT, end)
    if v is not None:
        return v
    cover = company.series.get(COVER_SHARES) or {}
    later = [f for (s, e), f in cover.items() if s is None and 0 <= (e - end).days <= 120]
    if not later:
        return None
    f = min(later, key=lambda f: f.end)
    return Value(f.val, False, f.accn, f.filed)


FIELDS = (
    "earnings_per_share",
    "revenue",
    "net_income",
    "diluted_shares",
    "shareholder_equity",
    "total_debt",
    "total_liabilities",
    "operating_cash_flow",
    "capital_expenditures",
    "free_cash_flow",
    "dividends_per_share",
    "shares_outstanding",
    "debt_to_equity",
)
REPORTED = (
    "earnings_per_share",
    "revenue",
    "net_income",
    "diluted_shares",
    "operating_cash_flow",
    "capital_expenditures",
    "dividends_per_share",
)


def _row(
    company: _Company, year: int, period: str, end: date, flows: dict[str, Value | None]
) -> dict | None:
    values = dict(flows)
    values["shareholder_equity"] = company.instant(EQUITY, end)
    values["total_liabilities"] = _liabilities(company, end)
    values["total_debt"] = _total_debt(company, end)
    values["shares_outstanding"] = _shares_outstanding(company, end)
    eps = values.get("earnings_per_share")
    ni, shares = values.get("net_income"), values.get("diluted_shares")
    if eps is None and ni is not None and shares is not None and shares.val > 0:
        values["earnings_per_share"] = Value(
            round(ni.val / shares.val, 2), True, ni.accn, max(ni.filed, shares.filed)
        )
    if not any(values.get(k) is not None for k in ("revenue", "net_income", "earnings_per_share")):
        return None
    row = {"year": year, "period": period, "fiscal_end": end.isoformat()}
    for name in FIELDS:
        v = values.get(name)
        row[name] = v.val if v is not None else None
    ocf, capex = row["operating_cash_flow"], row["capital_expenditures"]
    row["free_cash_flow"] = ocf - capex if ocf is not None and capex is not None else None
    row["debt_to_equity"] = debt_to_equity(row["total_debt"], row["shareholder_equity"])
    headline = [
        values[k]
        for k in ("revenue", "net_income", "earnings_per_share")
        if values.get(k) is not None
    ]
    latest = max(headline, key=lambda v: (v.filed, v.accn or ""))
    row.update(
        source="edgar",
        accession=latest.accn,
        derived=int(any(values.get(k) is not None and values[k].derived for k in REPORTED)),
    )
    return row


FLOWS = {
    "revenue": (REVENUE, False),
    "net_income": (NET_INCOME, False),
    "operating_cash_flow": (OCF, False),
    "capital_expenditures": (CAPEX, False),
    "dividends_per_share": (DPS, False),
    "diluted_shares": (DILUTED_SHARES, True),
}


def earnings_rows(companyfacts: dict) -> tuple[list[dict], list[str]]:
    """Annual and quarterly `earnings` rows (StockData contract) from a companyfacts dict.

    Never raises on malformed input: what cannot be read is skipped and noted.
    Total debt at a date = LongTermDebtNoncurrent + (DebtCurrent, or LongTermDebtCurrent +
    short-term borrowings); else LongTermDebt (which includes the current portion) +
    short-term borrowings; else LongTermDebtAndCapitalLeaseObligations (+ its current part)
    + short-term borrowings; IFRS: Borrowings, else LongtermBorrowings + ShorttermBorrowings.
    Short-term borrowings = ShortTermBorrowings, else CommercialPaper + OtherShortTermBorrowings.
    """
    notes: list[str] = []
    try:
        return _earnings_rows(companyfacts, notes)
    except Exception as exc:  # a parser bug must not fail the stock's other data
        notes.append(f"companyfacts could not be parsed ({type(exc).__name__}: {exc})")
        return [], notes


def _earnings_rows(companyfacts, notes: list[str]) -> tuple[list[dict], list[str]]:
    facts = companyfacts.get("facts") if isinstance(companyfacts, dict) else None
    if not isinstance(facts, dict):
        notes.append("companyfacts has no 'facts' object; no EDGAR fundamentals")
        return [], notes
    if not isinstance(facts.get("us-gaap"), dict):
        notes.append(
            "companyfacts has no us-gaap facts"
            + ("; reading ifrs-full" if isinstance(facts.get("ifrs-full"), dict) else "")
        )
    if COVER_SHARES.split(":")[1] not in (facts.get("dei") or {}):
        notes.append(
            "no dei:EntityCommonStockSharesOutstanding; shares_outstanding only from "
            "balance-sheet CommonStockSharesOutstanding where reported"
        )
    currencies: set[str] = set()
    raw = {key: _raw_facts(facts, key, notes, currencies) for key in UNIT_OF}
    raw = {k: v for k, v in raw.items() if v}
    _balance_sheet_share_units(raw, notes)
    splits = _splits(raw, notes)
    company = _Company({k: _series(v, k, splits) for k, v in raw.items()})
    has_money = any(UNIT_OF[k] == USD for k in raw)
    currencies.discard("USD")
    if currencies and not has_money:
        notes.append(
            f"figures reported in {', '.join(sorted(currencies))}, not USD; money values left empty"
        )
    rows: dict[tuple[int, str], dict] = {}
    for year in _calendar(company):
        memo: dict = {}
        label = year.label()
        if year.end is not None:
            flows = {
                name: company.duration(combos, year.start, year.end)
                for name, (combos, _) in FLOWS.items()
            }
            flows["earnings_per_share"] = company.duration(EPS, year.start, year.end)
            _put(rows, _row(company, label, "annual", year.end, flows), notes)
        for n in range(1, 5):
            span = year.quarter(n)
            if span is None:
                continue
            flows = {
                name: _quarter_flow(company, combos, year, n, average, memo)
                for name, (combos, average) in FLOWS.items()
            }
            flows["earnings_per_share"] = _quarter_eps(company, year, n, flows, memo)
            _put(rows, _row(company, label, f"Q{n}", span[1], flows), notes)
    if not rows:
        notes.append("no annual or quarterly periods with revenue, net income or EPS found")
    return sorted(
        rows.values(), key=lambda r: (r["year"], r["period"] != "annual", r["period"])
    ), notes


def _put(rows: dict, row: dict | None, notes: list[str]) -> None:
    if row is None:
        return
    key = (row["year"], row["period"])
    old = rows.get(key)
    if old is None:
        rows[key] = row
        return
    filled = sum(row[k] is not None for k in FIELDS)
    if filled > sum(old[k] is not None for k in FIELDS):
        rows[key] = row
    notes.append(
        f"two periods labelled {key[0]} {key[1]} (ending {old['fiscal_end']} and "
        f"{row['fiscal_end']}); kept the fuller one"
    )
