"""Submissions JSON (data.sec.gov/submissions) built from Filing lists, and Filing lists from real
payloads."""

import datetime as dt
import json
import random

from . import schedule
from .dates import month_end, next_business_day
from .model import Filing, Profile

COLUMNS = (
    "accessionNumber",
    "filingDate",
    "reportDate",
    "acceptanceDateTime",
    "act",
    "form",
    "fileNumber",
    "filmNumber",
    "items",
    "core_type",
    "size",
    "isXBRL",
    "isInlineXBRL",
    "primaryDocument",
    "primaryDocDescription",
)
PERIODIC = ("10-K", "10-Q", "20-F")
XBRL_FORMS = ("10-K", "10-Q", "20-F", "8-K", "6-K", "DEF 14A")


def quarter_of(p: Profile, report: dt.date | None) -> int | None:
    """The fiscal quarter index whose end is the month end nearest to a report date."""
    if report is None:
        return None
    for delta in (0, -1, 1):
        end = month_end(report.year, report.month + delta)
        if abs((end - report).days) <= 20 and (end.month - p.fye_month) % 3 == 0:
            k = 4 - ((p.fye_month - end.month) % 12) // 3
            fy = end.year if end.month <= p.fye_month else end.year + 1
            return fy * 4 + k - 1
    return None


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def from_columns(p: Profile, cols: dict) -> list[Filing]:
    """Filings from the columnar arrays of a real submissions payload."""
    out = []
    for i, accn in enumerate(cols["accessionNumber"]):
        form = cols["form"][i]
        report = _date(cols["reportDate"][i])
        q = quarter_of(p, report) if form in PERIODIC else None
        out.append(
            Filing(
                accn,
                form,
                _date(cols["filingDate"][i]),
                report,
                cols["primaryDocument"][i],
                q,
                cols["items"][i],
                cols["primaryDocDescription"][i],
            )
        )
    return out


def from_facts(p: Profile, facts: dict) -> list[Filing]:
    """Filings implied by a real companyfacts payload (for fixture companies without
    submissions)."""
    seen: dict[str, list] = {}
    for taxonomy in facts["facts"].values():
        for concept in taxonomy.values():
            for unit in concept["units"].values():
                for f in unit:
                    row = seen.setdefault(f["accn"], [f["form"], f["filed"], f["end"]])
                    row[2] = (
                        max(row[2], f["end"])
                        if f.get("fp") in ("FY", "Q1", "Q2", "Q3", "Q4")
                        else row[2]
                    )
    stem = schedule.doc_stem(p)
    out = []
    for accn, (form, filed, end) in seen.items():
        report = dt.date.fromisoformat(end)
        base = form.split("/")[0]
        q = quarter_of(p, report) if base in PERIODIC else None
        doc = (
            f"{stem}-{report:%Y%m%d}.htm"
            if base in PERIODIC
            else f"{stem}-{filed.replace('-', '')}x8k.htm"
        )
        out.append(Filing(accn, form, dt.date.fromisoformat(filed), report, doc, q, "", form))
    out.sort(key=lambda f: (f.filed, f.accn), reverse=True)
    return out


def generated_page(p: Profile, seed: str, frm: dt.date, to: dt.date, count: int) -> list[Filing]:
    """A stand-in for a submissions page file the fixtures lack: `count` filings within frm..to."""
    rows = [f for f in schedule.build(p, seed, to + dt.timedelta(days=1)) if f.filed >= frm]
    rows = rows[:count]
    rng = random.Random(f"{seed}/{p.key}/page/{frm}")
    span = (to - frm).days
    stem = 10**9
    missing = count - len(rows)
    for n in range(missing):
        d = next_business_day(frm + dt.timedelta(days=span * n // missing))
        d = min(d, to)
        accn = f"0001181431-{d.year % 100:02d}-{rng.randint(1, 999999):06d}"
        rows.append(Filing(accn, "4", d, d, f"xslF345X03/doc4_{stem + n}.xml", None, "", "FORM 4"))
    rows.sort(key=lambda f: (f.filed, f.accn), reverse=True)
    return rows


def columns(p: Profile, filings: list[Filing]) -> dict:
    """Columnar arrays in the 2026 shape, newest first."""
    cols = {c: [] for c in COLUMNS}
    for f in filings:
        base = f.form.split("/")[0]
        xbrl = int(base in XBRL_FORMS)
        insider = f.form in ("3", "4", "5")
        seconds = int(f.accn[-6:]) % 3600
        values = (
            f.accn,
            f.filed.isoformat(),
            f.report.isoformat() if f.report else "",
            f"{f.filed}T{6 + seconds // 600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000Z",
            "" if insider else "34",
            f.form,
            "" if insider else f"001-{30000 + (p.cik or 0) % 9999}",
            "" if insider else str(25_000_000 + int(f.accn[-6:]) * 7 % 10**7),
            f.items,
            "XBRL" if xbrl else f.form,
            5000 + int(f.accn[-6:]) * 7919 % 9_000_000,
            xbrl,
            xbrl,
            f.doc,
            f.description,
        )
        for c, v in zip(COLUMNS, values, strict=True):
            cols[c].append(v)
    return cols


def document(p: Profile, recent: list[Filing], pages: list[tuple[str, list[Filing]]]) -> bytes:
    """The submissions JSON body: metadata, filings.recent and filings.files."""
    cik = f"{p.cik:010d}"
    doc = {
        "cik": cik,
        "entityType": "operating",
        "sic": p.sic,
        "sicDescription": p.sic_description,
        "ownerOrg": "06 Technology",
        "insiderTransactionForOwnerExists": 0,
        "insiderTransactionForIssuerExists": 1,
        "name": p.name,
        "tickers": [p.ticker],
        "exchanges": [p.exchange],
        "ein": f"{(p.cik or 0) * 7919 % 10**9:09d}",
        "lei": None,
        "description": "",
        "website": "",
        "investorWebsite": "",
        "category": "Large accelerated filer"
        if p.revenue0 > 5e9
        else "Non-accelerated filer<br>Smaller reporting company",
        "fiscalYearEnd": f"{month_end(2001, p.fye_month):%m%d}",
        "stateOfIncorporation": p.state,
        "stateOfIncorporationDescription": p.state,
        "addresses": {
            kind: {
                "street1": "100 MAIN STREET",
                "street2": None,
                "city": "WILMINGTON",
                "stateOrCountry": p.state,
                "zipCode": "19801",
                "stateOrCountryDescription": p.state,
                "isForeignLocation": 0,
                "foreignStateTerritory": None,
                "country": None,
                "countryCode": None,
            }
            for kind in ("mailing", "business")
        },
        "phone": "302-555-0100",
        "flags": "",
        "formerNames": [],
        "filings": {
            "recent": columns(p, recent),
            "files": [
                {
                    "name": name,
                    "filingCount": len(rows),
                    "filingFrom": rows[-1].filed.isoformat(),
                    "filingTo": rows[0].filed.isoformat(),
                }
                for name, rows in pages
                if rows
            ],
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def page(p: Profile, rows: list[Filing]) -> bytes:
    return json.dumps(columns(p, rows), separators=(",", ":")).encode()
