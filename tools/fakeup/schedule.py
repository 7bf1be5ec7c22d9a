"""The filing calendar of a modelled company: periodic reports, 8-Ks, proxies and Form 4s up to as-
of."""

import datetime as dt
import random

from .dates import next_business_day
from .model import Filing, Profile

DAY = dt.timedelta(days=1)


def doc_stem(p: Profile) -> str:
    return p.ticker.lower().replace("-", "").replace(".", "")


def periodic_due(p: Profile, seed: str, as_of: dt.date):
    """(q, form, natural filing date) for every fiscal period ended before as_of, oldest first."""
    rng = random.Random(f"{seed}/{p.key}/lags")
    for fy in range(p.first_fy, as_of.year + 2):
        for k in range(1, 5):
            q = fy * 4 + k - 1
            end = p.fiscal_quarter_end(q)
            if end >= as_of:
                return
            if k < 4 and not p.quarterly:
                continue
            annual = k == 4
            lag = (p.lag_k if annual else p.lag_q) + rng.randint(-3, 3)
            form = p.annual_form if annual else "10-Q"
            yield q, form, next_business_day(end + dt.timedelta(days=lag))


def pending_quarterly(p: Profile, seed: str, as_of: dt.date) -> int | None:
    """The first unfiled period if it is a 10-Q: what a new filing on as_of would report."""
    for q, form, filed in periodic_due(p, seed, as_of):
        if filed >= as_of:
            return q if form == "10-Q" else None
    return None


def build(p: Profile, seed: str, as_of: dt.date, early: dt.date | None = None) -> list[Filing]:
    """All filings dated before as_of, newest first. With `early` (a day up to as_of) the company
    files on that day: the 10-Q pending then, ahead of its usual date, or (none pending) a 10-Q/A
    amending its latest 10-Q, which changes no fact."""
    rng = random.Random(f"{seed}/{p.key}/filings")
    stem = doc_stem(p)
    rows = []  # (filed, order, form, report, doc, q, items, description)
    pending = pending_quarterly(p, seed, early) if early else None
    for q, form, filed in periodic_due(p, seed, as_of):
        if q == pending:
            filed = early
        elif filed >= as_of:
            continue
        end = p.fiscal_quarter_end(q)
        rows.append((filed, 2, form, end, f"{stem}-{end:%Y%m%d}.htm", q, "", form))
        if q == pending:
            continue
        if p.annual_form == "20-F":
            six_k = filed - dt.timedelta(days=rng.randint(5, 20))
            rows.append((six_k, 1, "6-K", end, f"{stem}-6k{six_k:%Y%m%d}.htm", None, "", "6-K"))
            continue
        release = next_business_day(filed - dt.timedelta(days=rng.randint(0, 6)))
        rows.append(
            (
                release,
                1,
                "8-K",
                release,
                f"{stem}-{release:%Y%m%d}x8k.htm",
                None,
                "2.02,9.01",
                "8-K",
            )
        )
        if form == p.annual_form:
            proxy = next_business_day(filed + dt.timedelta(days=rng.randint(25, 45)))
            meeting = next_business_day(proxy + dt.timedelta(days=rng.randint(35, 50)))
            rows.append(
                (
                    proxy,
                    3,
                    "DEF 14A",
                    meeting,
                    f"{stem}{proxy.year}_def14a.htm",
                    None,
                    "",
                    "DEFINITIVE PROXY STATEMENT",
                )
            )
            rows.append(
                (meeting, 4, "8-K", meeting, f"{stem}-{meeting:%Y%m%d}x8k.htm", None, "5.07", "8-K")
            )
        for _ in range(rng.randint(0, 3)):
            d = next_business_day(filed + dt.timedelta(days=rng.randint(1, 80)))
            rows.append(
                (
                    d,
                    5,
                    "4",
                    d,
                    f"xslF345X05/wk-form4_{rng.randint(10**9, 2 * 10**9)}.xml",
                    None,
                    "",
                    "FORM 4",
                )
            )
    amended = None
    if early and pending is None:
        latest = max((r for r in rows if r[2] == "10-Q" and r[0] < early), default=None)
        if latest is not None:
            amended, end = latest[5], latest[3]
            rows.append(
                (early, 2, "10-Q/A", end, f"{stem}-{end:%Y%m%d}a.htm", amended, "", "10-Q/A")
            )
    rows = [
        r
        for r in rows
        if r[0] < as_of or (r[0] == as_of and r[5] is not None and r[5] in (pending, amended))
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    filings, seq, year = [], 0, None
    for filed, _, form, report, doc, q, items, desc in rows:
        if filed.year != year:
            year, seq = filed.year, 0
        seq += 1
        accn = f"{p.cik or 0:010d}-{filed.year % 100:02d}-{seq:06d}"
        filings.append(Filing(accn, form, filed, report, doc, q, items, desc))
    filings.reverse()
    return filings
