"""The EDGAR parsers never raise on shuffled, truncated or mutated real payloads."""

import copy
import gzip
import json
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_refresh.filings import filing_rows, older_pages_needed
from stock_refresh.sections import extract_sections
from stock_refresh.xbrl import earnings_rows, read_companyfacts
from tests.paths import FIXTURES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONCEPTS = (
    "NetIncomeLoss",
    "EarningsPerShareDiluted",
    "Revenues",
    "SalesRevenueNet",
    "RevenueFromContractWithCustomerExcludingAssessedTax",
    "StockholdersEquity",
    "WeightedAverageNumberOfDilutedSharesOutstanding",
    "LongTermDebtNoncurrent",
    "StockholdersEquityNoteStockSplitConversionRatio1",
    "CommercialPaper",
)


@cache
def _aapl_facts():
    with gzip.open(FIXTURES / "edgar" / "companyfacts" / "CIK0000320193.json.gz", "rt") as fh:
        full = json.load(fh)
    gaap = full["facts"]["us-gaap"]
    return {
        "cik": full["cik"],
        "facts": {"dei": full["facts"]["dei"], "us-gaap": {c: gaap[c] for c in CONCEPTS}},
    }


@cache
def _imnn():
    subs = FIXTURES / "edgar" / "submissions"
    return (
        json.loads((subs / "CIK0000749647.json").read_text()),
        json.loads((subs / "CIK0000749647-submissions-001.json").read_text()),
    )


@cache
def _apple_10q():
    return gzip.decompress((FIXTURES / "filings" / "Apple.10-Q.html.gz").read_bytes())


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FACT_KEYS = ("start", "end", "val", "accn", "form", "filed", "fy", "fp")


@SETTINGS
@given(data=st.data(), cik=st.one_of(st.integers(), st.text(max_size=12), st.none()))
def test_earnings_rows_never_raise(data, cik):
    facts = copy.deepcopy(_aapl_facts())
    facts["cik"] = cik
    gaap = facts["facts"]["us-gaap"]
    rnd = data.draw(st.randoms(use_true_random=False))
    for concept in data.draw(st.lists(st.sampled_from(CONCEPTS), max_size=4)):
        gaap.pop(concept, None)
    for concept in list(gaap):
        for unit, rows in gaap[concept]["units"].items():
            rows = list(rows)
            if data.draw(st.booleans()):
                rnd.shuffle(rows)
            rows = rows[: data.draw(st.integers(0, len(rows)))]
            for _ in range(data.draw(st.integers(0, 5))):
                if rows:
                    i = data.draw(st.integers(0, len(rows) - 1))
                    row = dict(rows[i]) if isinstance(rows[i], dict) else {}
                    key = data.draw(st.sampled_from(FACT_KEYS))
                    if data.draw(st.booleans()):
                        row.pop(key, None)
                    else:
                        row[key] = data.draw(junk)
                    rows[i] = row if data.draw(st.booleans()) else data.draw(junk)
            gaap[concept]["units"][unit] = rows
    if data.draw(st.booleans()):
        gaap[data.draw(st.sampled_from(CONCEPTS))] = data.draw(junk)
    rows, notes = earnings_rows(facts)
    assert isinstance(rows, list) and isinstance(notes, list)
    assert not any("could not be parsed" in n for n in notes), notes
    raw = json.dumps(facts).encode()
    assert repr(earnings_rows(read_companyfacts(raw))) == repr(earnings_rows(json.loads(raw)))
    for row in rows:
        assert row["period"] in ("annual", "Q1", "Q2", "Q3", "Q4")


@SETTINGS
@given(data=st.data())
def test_filing_rows_never_raise(data):
    subs, page = (copy.deepcopy(x) for x in _imnn())
    recent = subs["filings"]["recent"]
    for block in (recent, page):
        for name in list(block):
            action = data.draw(st.sampled_from(["keep", "drop", "truncate", "junk", "mutate"]))
            if action == "drop":
                del block[name]
            elif action == "truncate":
                block[name] = block[name][: data.draw(st.integers(0, len(block[name])))]
            elif action == "junk":
                block[name] = data.draw(junk)
            elif action == "mutate" and block[name]:
                i = data.draw(st.integers(0, len(block[name]) - 1))
                block[name][i] = data.draw(junk)
    subs["cik"] = data.draw(st.one_of(junk, st.just("0000749647")))
    if data.draw(st.booleans()):
        subs["filings"]["files"] = data.draw(st.one_of(junk, st.lists(junk, max_size=3)))
    rows, notes = filing_rows(subs, [page, data.draw(junk)])
    assert isinstance(rows, list) and isinstance(notes, list)
    assert isinstance(
        older_pages_needed(
            subs, data.draw(st.one_of(st.none(), st.text(max_size=10), st.just("2001-01-01")))
        ),
        list,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extract_sections_never_raise(data):
    html = _apple_10q()
    start = data.draw(st.integers(0, len(html)))
    end = data.draw(st.integers(start, len(html)))
    piece = bytearray(html[start:end])
    for _ in range(data.draw(st.integers(0, 20))):
        if piece:
            piece[data.draw(st.integers(0, len(piece) - 1))] = data.draw(st.integers(0, 255))
    insert = data.draw(
        st.sampled_from(
            [
                b"",
                b"<div>Item 2. x</div>",
                b"<table><tr>",
                b"</",
                b"<p>PART II</p>",
                b"\x00",
                b"<ix:header>",
            ]
        )
    )
    at = data.draw(st.integers(0, len(piece)))
    doc = bytes(piece[:at]) + insert + bytes(piece[at:])
    as_text = data.draw(st.booleans())
    form = data.draw(st.sampled_from(["10-K", "10-Q", "10-Q/A", "20-F", "", "8-K"]))
    sections, notes = extract_sections(doc.decode("latin-1") if as_text else doc, form)
    assert isinstance(sections, list) and isinstance(notes, list)
    for s in sections:
        assert s["section_name"] in ("business", "risk_factors", "mda", "market_risk")
        assert isinstance(s["content"], str) and s["content"]
