"""A company's economics as quarterly series, so every answer about it (facts, filings, Yahoo)
agrees.

Values live on a grid of fiscal quarters; per-share numbers are kept on the original share basis
and converted to the basis in force on a given filing date, which is how restated comparatives
after a stock split come about.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import cached_property

from .dates import quarter_end

ADDITIVE = ("revenue", "net_income", "ocf", "capex", "dps")
INSTANT = ("equity", "ltd_noncurrent", "ltd_current", "short_borrowings", "liabilities", "shares")


@dataclass(frozen=True)
class Profile:
    """Static description of one company (synthetic or standing in for a fixture company)."""

    key: str  # stable id used in seeds: the CIK, or the ticker when no CIK
    cik: int | None
    ticker: str  # SEC/Yahoo spelling, e.g. BRK-B
    list_symbol: str  # spelling in the GitHub lists, e.g. "BRK/B"
    name: str
    exchange: str  # "NYSE" or "Nasdaq"
    sector: str
    industry: str
    sic: str
    sic_description: str
    country: str
    state: str
    fye_month: int
    first_fy: int
    taxonomy: str = "us-gaap"  # or "ifrs-full"
    annual_form: str = "10-K"  # or "20-F"
    quarterly: bool = True
    has_eps: bool = True
    revenue_tags: tuple = (("Revenues", None),)  # (concept, used for filings filed before date)
    splits: tuple = ()  # ((date, ratio), ...)
    revenue0: float = 1e9
    growth: float = 0.05
    margin: float = 0.1
    shares0: float = 1e8
    dividend_payout: float = 0.0
    equity_ratio: float = 0.6
    debt_ratio: float = 0.3
    lag_q: int = 35
    lag_k: int = 60
    target_bytes: int = 800_000
    paged: bool = False
    ipo_year: int = 2000
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def fiscal_quarter_end(self, q: int) -> dt.date:
        return quarter_end(q // 4, q % 4 + 1, self.fye_month)

    def quarter_start(self, q: int) -> dt.date:
        return self.fiscal_quarter_end(q - 1) + dt.timedelta(days=1)

    def split_factor(self, on: dt.date) -> float:
        """Shares per original share for a document filed on `on`."""
        f = 1.0
        for when, ratio in self.splits:
            if when <= on:
                f *= ratio
        return f

    def revenue_tag(self, filed: dt.date) -> str:
        for tag, until in self.revenue_tags:
            if until is None or filed < until:
                return tag
        return self.revenue_tags[-1][0]


class Series:
    """Quarterly values on the original share basis, from first_fy - 3 to the as-of year + 1."""

    def __init__(self, p: Profile, seed: str, last_fy: int):
        self.p = p
        self.q0 = (p.first_fy - 3) * 4
        n = (last_fy + 2 - (p.first_fy - 3)) * 4
        rng = random.Random(f"{seed}/{p.key}/series")
        season = [1.0 + rng.uniform(-0.12, 0.12) for _ in range(4)]
        mean = sum(season) / 4
        season = [s / mean for s in season]
        self.v = {k: [0.0] * n for k in ADDITIVE + INSTANT + ("wshares",)}
        shares = p.shares0
        drift = rng.uniform(-0.008, 0.01)
        for i in range(n):
            level = p.revenue0 * (1 + p.growth) ** (i / 4)
            rev = level / 4 * season[i % 4] * math.exp(rng.gauss(0, 0.04))
            ni = rev * (p.margin + rng.gauss(0, 0.015 + abs(p.margin) * 0.1))
            shares *= 1 + drift + rng.gauss(0, 0.002)
            eq = level * p.equity_ratio * math.exp(rng.gauss(0, 0.05))
            debt = level * p.debt_ratio * math.exp(rng.gauss(0, 0.05))
            self.v["revenue"][i] = round(rev)
            self.v["net_income"][i] = round(ni)
            self.v["ocf"][i] = round(ni * 1.15 + rev * rng.uniform(0.02, 0.08))
            self.v["capex"][i] = round(rev * rng.uniform(0.02, 0.07))
            self.v["dps"][i] = max(ni, 0) * p.dividend_payout / shares if p.dividend_payout else 0.0
            self.v["shares"][i] = round(shares)
            self.v["wshares"][i] = round(shares * (1 + rng.gauss(0, 0.003)))
            self.v["equity"][i] = round(eq)
            self.v["ltd_noncurrent"][i] = round(debt * 0.85)
            self.v["ltd_current"][i] = round(debt * 0.1)
            self.v["short_borrowings"][i] = round(debt * 0.05)
            self.v["liabilities"][i] = round(debt + level * rng.uniform(0.3, 0.5))

    def idx(self, q: int) -> int:
        return q - self.q0

    def duration(self, metric: str, q_from: int, q_to: int) -> float:
        """Value of a duration metric over fiscal quarters q_from..q_to (inclusive), original
        basis."""
        a, b = self.idx(q_from), self.idx(q_to) + 1
        if metric in ADDITIVE:
            return sum(self.v[metric][a:b])
        ws = sum(self.v["wshares"][a:b]) / (b - a)
        if metric == "wshares":
            return ws
        ni = sum(self.v["net_income"][a:b])
        return ni / ws if metric == "eps" else ni / (ws * 0.992)

    def instant(self, metric: str, q: int) -> float:
        return self.v[metric][self.idx(q)]


@dataclass(frozen=True)
class Filing:
    """One EDGAR filing of a served company."""

    accn: str
    form: str
    filed: dt.date
    report: dt.date | None
    doc: str
    q: int | None = None  # fiscal quarter index of the period, for 10-K/10-Q/20-F
    items: str = ""
    description: str = ""

    @property
    def periodic(self) -> bool:
        return self.q is not None

    @cached_property
    def accn_nodash(self) -> str:
        return self.accn.replace("-", "")
