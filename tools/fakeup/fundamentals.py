"""Per-period statement values for Yahoo answers: from the model, or read out of real companyfacts.

Result shape: {"annual": [(end, {metric: value})], "quarterly": [...], "shares": float}, newest
first; metrics as in model.Series plus "eps"/"eps_basic" on the current share basis.
"""

import datetime as dt

from .model import Profile, Series

CANDIDATES = {
    "revenue": [
        "Revenues",
        "RevenueFromContractWithCustomerExcludingAssessedTax",
        "SalesRevenueNet",
        "Revenue",
    ],
    "net_income": ["NetIncomeLoss", "ProfitLoss", "ProfitLossAttributableToOwnersOfParent"],
    "eps": ["EarningsPerShareDiluted", "DilutedEarningsLossPerShare"],
    "eps_basic": ["EarningsPerShareBasic", "BasicEarningsLossPerShare"],
    "wshares": ["WeightedAverageNumberOfDilutedSharesOutstanding", "AdjustedWeightedAverageShares"],
    "equity": ["StockholdersEquity", "EquityAttributableToOwnersOfParent", "Equity"],
    "ltd_noncurrent": ["LongTermDebtNoncurrent", "LongtermBorrowings"],
    "ltd_current": ["LongTermDebtCurrent", "CurrentPortionOfLongtermBorrowings"],
    "short_borrowings": ["ShortTermBorrowings", "CommercialPaper", "ShorttermBorrowings"],
    "liabilities": ["Liabilities"],
    "ocf": [
        "NetCashProvidedByUsedInOperatingActivities",
        "CashFlowsFromUsedInOperatingActivities",
        "CashFlowsFromUsedInOperations",
    ],
    "capex": [
        "PaymentsToAcquirePropertyPlantAndEquipment",
        "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
    ],
    "dps": ["CommonStockDividendsPerShareDeclared"],
}
INSTANTS = {"equity", "ltd_noncurrent", "ltd_current", "short_borrowings", "liabilities"}


def from_model(p: Profile, s: Series, as_of: dt.date) -> dict:
    factor = p.split_factor(as_of)
    last = max(
        q
        for q in range(s.q0, s.q0 + len(s.v["revenue"]))
        if p.fiscal_quarter_end(q) < as_of - dt.timedelta(days=45)
    )

    def values(q_from, q_to):
        out = {
            m: s.duration(m, q_from, q_to) for m in ("revenue", "net_income", "ocf", "capex", "dps")
        }
        out.update({m: s.instant(m, q_to) for m in INSTANTS})
        out["wshares"] = s.duration("wshares", q_from, q_to) * factor
        out["dps"] /= factor
        if p.has_eps:
            out["eps"] = round(s.duration("eps", q_from, q_to) / factor, 2)
            out["eps_basic"] = round(s.duration("eps_basic", q_from, q_to) / factor, 2)
        return out

    annual_end = last - (last - 3) % 4
    annual = [
        (p.fiscal_quarter_end(q), values(q - 3, q))
        for q in range(annual_end, annual_end - 16, -4)
        if q - 3 >= s.q0
    ]
    quarterly = (
        [(p.fiscal_quarter_end(q), values(q, q)) for q in range(last, last - 5, -1)]
        if p.quarterly
        else []
    )
    return {"annual": annual, "quarterly": quarterly, "shares": s.instant("shares", last) * factor}


def from_facts(facts: dict) -> dict:
    groups = {}
    for taxonomy in ("us-gaap", "ifrs-full"):
        for concept, body in facts["facts"].get(taxonomy, {}).items():
            for unit, rows in body["units"].items():
                if unit not in ("USD", "USD/shares", "shares"):
                    continue
                groups[concept] = rows
    picked = {"annual": {}, "quarterly": {}}
    for metric, names in CANDIDATES.items():
        for concept in names:
            for r in groups.get(concept, []):
                if r.get("form", "").split("/")[0] not in ("10-K", "10-Q", "20-F"):
                    continue
                end = dt.date.fromisoformat(r["end"])
                if "start" in r:
                    days = (end - dt.date.fromisoformat(r["start"])).days
                    kind = (
                        "annual"
                        if 330 <= days <= 420
                        else "quarterly"
                        if 70 <= days <= 120
                        else None
                    )
                    kinds = [kind] if kind else []
                else:
                    kinds = ["annual", "quarterly"]
                for kind in kinds:
                    slot = picked[kind].setdefault(end, {}).setdefault(metric, (None, None))
                    if slot[0] is None or r["filed"] > slot[0]:
                        picked[kind][end][metric] = (r["filed"], r["val"])
    out = {}
    for kind, limit in (("annual", 4), ("quarterly", 5)):
        ends = sorted(
            (e for e, m in picked[kind].items() if "revenue" in m or "net_income" in m),
            reverse=True,
        )
        out[kind] = [(e, {m: v for m, (_, v) in picked[kind][e].items()}) for e in ends[:limit]]
    dei = (
        facts["facts"].get("dei", {}).get("EntityCommonStockSharesOutstanding", {}).get("units", {})
    )
    rows = dei.get("shares", [])
    if rows:
        out["shares"] = max(rows, key=lambda r: (r["end"], r["filed"]))["val"]
    else:
        latest = out["annual"][0][1] if out["annual"] else {}
        out["shares"] = latest.get("wshares") or 1e8
    return out
