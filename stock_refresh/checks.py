"""Cross-checks of parsed earnings rows (pure functions, no I/O).

A filed figure can be internally inconsistent (a units slip, a sign error, a mis-tagged
concept). The checks never change a value: each failed check becomes a `data_checks` row
beside the rows as filed, so a screener user (and the run report) can see it.

- `eps_vs_net_income`: diluted EPS against net income / diluted shares. Preferred dividends,
  two-class earnings and rounding move EPS a little, so only a gap beyond 25 % (and 2 cents)
  counts; a gap of 10x or more (a units slip) is an error.
- `quarters_sum_<flow>`: Q1 + Q2 + Q3 + Q4 against the year for revenue, net income,
  operating cash flow, capex and dividends per share, within 1 % (and a cent per share).
- `revenue_sign`, `debt_sign`: revenue and total debt are never negative.
- `equity_sign`: equity that changed sign against the period before at about the same size
  (one half to twice), the mark of a sign slip rather than of losses piling up.
- `diluted_shares_jump`, `shares_outstanding_jump`: a share count more than 3x or less than a
  third of the period before (splits are already on one basis, so a jump is suspect).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLOWS = (
    "revenue",
    "net_income",
    "operating_cash_flow",
    "capital_expenditures",
    "dividends_per_share",
)
PER_SHARE = {"dividends_per_share"}
SHARE_COUNTS = ("diluted_shares", "shares_outstanding")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


@dataclass
class Checks:
    """The failed checks of one company's rows, and how many checks were run."""

    flagged: list[dict] = field(default_factory=list)
    run: int = 0


def _flag(out: Checks, row: dict, check: str, expected, found, severity="warning") -> None:
    out.flagged.append(
        {
            "year": row["year"],
            "period": row["period"],
            "check": check,
            "expected": expected,
            "found": found,
            "severity": severity,
        }
    )


def _eps(out: Checks, row: dict) -> None:
    eps, ni, shares = (
        row.get("earnings_per_share"),
        row.get("net_income"),
        row.get("diluted_shares"),
    )
    if eps is None or ni is None or not shares or shares <= 0:
        return
    out.run += 1
    expected = ni / shares
    gap = abs(eps - expected)
    if gap <= max(0.02, 0.25 * abs(expected)):
        return
    ratio = max(abs(eps), abs(expected)) / max(min(abs(eps), abs(expected)), 1e-12)
    _flag(
        out,
        row,
        "eps_vs_net_income",
        round(expected, 4),
        eps,
        "error" if ratio >= 10 else "warning",
    )


def _signs(out: Checks, row: dict) -> None:
    for name, check in (("revenue", "revenue_sign"), ("total_debt", "debt_sign")):
        value = row.get(name)
        if value is not None:
            out.run += 1
            if value < 0:
                _flag(out, row, check, 0, value, "error")


def _quarters(out: Checks, year: dict, quarters: list[dict]) -> None:
    for name in FLOWS:
        total = year.get(name)
        parts = [q.get(name) for q in quarters]
        if total is None or any(p is None for p in parts):
            continue
        out.run += 1
        found = sum(parts)
        slack = 0.011 if name in PER_SHARE else max(1.0, 0.01 * abs(total))
        if abs(found - total) > slack:
            _flag(out, year, f"quarters_sum_{name}", total, found)


def _against_previous(out: Checks, previous: dict, row: dict) -> None:
    for name in SHARE_COUNTS:
        before, now = previous.get(name), row.get(name)
        if before and now and before > 0 and now > 0:
            out.run += 1
            if not 1 / 3 <= now / before <= 3:
                _flag(out, row, f"{name}_jump", before, now)
    before, now = previous.get("shareholder_equity"), row.get("shareholder_equity")
    if before and now:
        out.run += 1
        if before * now < 0 and 0.5 <= abs(now / before) <= 2:
            _flag(out, row, "equity_sign", -now, now)


def check_rows(rows: list[dict]) -> Checks:
    """Every check on one company's EDGAR rows (as `xbrl.earnings_rows` gives them)."""
    out = Checks()
    rows = sorted(
        (r for r in rows if r.get("source", "edgar") == "edgar"),
        key=lambda r: (r["year"], r["period"] != "annual", r["period"]),
    )
    by_key = {(r["year"], r["period"]): r for r in rows}
    for row in rows:
        _eps(out, row)
        _signs(out, row)
    for (year, period), row in by_key.items():
        if period == "annual":
            quarters = [by_key.get((year, q)) for q in QUARTERS]
            if all(quarters):
                _quarters(out, row, quarters)
    annual = [r for r in rows if r["period"] == "annual"]
    quarterly = [r for r in rows if r["period"] != "annual"]
    for series in (annual, sorted(quarterly, key=lambda r: r["fiscal_end"] or "")):
        for previous, row in zip(series, series[1:], strict=False):
            _against_previous(out, previous, row)
    return out
