"""sec_filings rows from EDGAR submissions JSON (pure functions, no I/O).

The submissions payload keeps filings as parallel column arrays (`filings.recent`, and the
overflow pages listed in `filings.files`, whose top level is the bare columns). Columns are
read by name; missing, extra or unequal columns are tolerated and noted.
"""

from __future__ import annotations

import re
from datetime import date

from .forms import ANNUAL_FORMS, PERIODIC_FORMS

ARCHIVES = "https://www.sec.gov/Archives/edgar/data"
ACCESSION = re.compile(r"^\d{10}-\d{2}-\d{6}$")
PAGE_NAME = re.compile(r"^[A-Za-z0-9._-]+\.json$")


def _cik(value) -> int | None:
    try:
        cik = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return cik if cik > 0 else None


def _iso(value) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _columns(block, main: bool) -> dict[str, list] | None:
    """The column arrays of the main payload's `filings.recent`, or of an overflow page
    (bare columns at the top level, or wrapped like the main payload)."""
    if not isinstance(block, dict):
        return None
    if main or "filings" in block:
        filings = block.get("filings")
        block = filings.get("recent") if isinstance(filings, dict) else None
        if not isinstance(block, dict):
            return None
    return {k: v for k, v in block.items() if isinstance(v, list)}


def _records(columns: dict[str, list], label: str, notes: list[str]):
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        notes.append(
            f"{label}: columns have unequal lengths {sorted(lengths)}; missing cells read as empty"
        )
    for i in range(max(lengths, default=0)):
        yield {k: (v[i] if i < len(v) else None) for k, v in columns.items()}


def _document_url(cik: int | None, accession: str, document) -> str | None:
    if cik is None:
        return None
    folder = f"{ARCHIVES}/{cik}/{accession.replace('-', '')}"
    if isinstance(document, str) and document.strip() and "/" not in document:
        return f"{folder}/{document.strip()}"
    return f"{folder}/{accession}.txt"


def filing_rows(submissions: dict, older_pages: list[dict] = ()) -> tuple[list[dict], list[str]]:
    """The periodic reports (forms.py) and their amendments, newest first, one row per
    accession."""
    notes: list[str] = []
    if not isinstance(submissions, dict):
        return [], ["submissions payload is not an object; no filings"]
    cik = _cik(submissions.get("cik"))
    if cik is None:
        notes.append("submissions has no usable cik; document URLs left empty")
    blocks = [("filings.recent", _columns(submissions, True))]
    blocks += [(f"older page {i + 1}", _columns(p, False)) for i, p in enumerate(older_pages or ())]
    rows: dict[str, dict] = {}
    skipped = 0
    for label, columns in blocks:
        if not columns:
            notes.append(f"{label}: no filing columns")
            continue
        missing = {"accessionNumber", "form", "filingDate"} - set(columns)
        if missing:
            notes.append(f"{label}: missing column(s) {', '.join(sorted(missing))}")
        for rec in _records(columns, label, notes):
            form = rec.get("form")
            if not isinstance(form, str):
                continue
            form = form.strip().upper()
            is_amendment = form.endswith("/A")
            if form.removesuffix("/A") not in PERIODIC_FORMS:
                continue
            accession = rec.get("accessionNumber")
            if not isinstance(accession, str) or not ACCESSION.match(accession.strip()):
                skipped += 1
                continue
            accession = accession.strip()
            if accession in rows:
                continue
            rows[accession] = {
                "accession_number": accession,
                "filing_type": form,
                "filing_date": _iso(rec.get("filingDate")),
                "report_date": _iso(rec.get("reportDate")),
                "document_url": _document_url(cik, accession, rec.get("primaryDocument")),
                "is_amendment": int(is_amendment),
            }
    if skipped:
        notes.append(f"{skipped} periodic filing(s) without a valid accession number skipped")
    ordered = sorted(
        rows.values(), key=lambda r: (r["filing_date"] or "", r["accession_number"]), reverse=True
    )
    return ordered, notes


def older_pages_needed(submissions: dict, since: str | None) -> list[str]:
    """Names of `filings.files` pages to fetch, newest first.

    Rule: older pages are needed only when the recent block does not reach back far enough:
    (a) it holds no annual report (or amendment) at all, or (b) `since` (ISO date: how far
    back the caller wants history) is given and the oldest recent filing is newer than it.
    Then the pages whose `filingTo` is on or after `since` are returned (all pages when
    `since` is None); if that leaves none while (a) holds, the newest page is returned so
    the latest annual report can still be found. Pages with an unreadable date range are
    kept (better one request too many than a missing year); unsafe names are dropped.
    """
    if not isinstance(submissions, dict):
        return []
    filings = submissions.get("filings") if isinstance(submissions.get("filings"), dict) else {}
    files = filings.get("files") if isinstance(filings.get("files"), list) else []
    pages = [
        f
        for f in files
        if isinstance(f, dict) and isinstance(f.get("name"), str) and PAGE_NAME.match(f["name"])
    ]
    if not pages:
        return []
    columns = _columns(submissions, True) or {}
    forms = [
        f.strip().upper().removesuffix("/A") for f in columns.get("form", []) if isinstance(f, str)
    ]
    dates = [d for d in map(_iso, columns.get("filingDate", [])) if d]
    since = _iso(since) if since is not None else None
    no_annual = not ANNUAL_FORMS.intersection(forms)
    too_short = since is not None and (not dates or min(dates) > since)
    if not (no_annual or too_short):
        return []
    pages.sort(key=lambda f: _iso(f.get("filingTo")) or "9999", reverse=True)
    wanted = [f for f in pages if since is None or (_iso(f.get("filingTo")) or "9999") >= since]
    if not wanted and no_annual:
        wanted = pages[:1]
    return [f["name"] for f in wanted]


def has_xbrl_financials(submissions: dict) -> bool:
    """Whether the recent filings include a periodic report with XBRL: then SEC has
    companyfacts for the company, and a missing one is SEC's fault, not the company's."""
    recent = (submissions.get("filings") or {}).get("recent") or {}
    forms, xbrl = recent.get("form") or [], recent.get("isXBRL") or []
    return any(form in PERIODIC_FORMS and flag for form, flag in zip(forms, xbrl, strict=False))
