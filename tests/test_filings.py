"""filing_rows and older_pages_needed on real submissions payloads (AAPL, MSFT, IMNN), and one
list of periodic forms across the index scan, the filings list and the facts."""

import copy
import json

import pytest

from stock_refresh.changes import periodic_filers
from stock_refresh.filings import filing_rows, older_pages_needed
from stock_refresh.xbrl import earnings_rows
from tests.paths import FIXTURES

SUBS = FIXTURES / "edgar" / "submissions"


def _load(name):
    return json.loads((SUBS / name).read_text())


@pytest.fixture(scope="module")
def aapl():
    return _load("CIK0000320193.json")


@pytest.fixture(scope="module")
def msft():
    return _load("CIK0000789019.json")


@pytest.fixture(scope="module")
def imnn():
    return _load("CIK0000749647.json")


@pytest.fixture(scope="module")
def imnn_page():
    return _load("CIK0000749647-submissions-001.json")


def test_aapl_rows(aapl):
    rows, notes = filing_rows(aapl)
    assert notes == []
    # filings.recent holds 33 10-Q and 11 10-K rows (form column), no amendments.
    assert len(rows) == 44
    assert {r["filing_type"] for r in rows} == {"10-K", "10-Q"}
    tenk = next(r for r in rows if r["filing_type"] == "10-K")
    # Newest 10-K: accession 0000320193-25-000079, filed 2025-10-31, period 2025-09-27,
    # primaryDocument aapl-20250927.htm (cik "0000320193" -> 320193 in the Archives path).
    assert tenk == {
        "accession_number": "0000320193-25-000079",
        "filing_type": "10-K",
        "filing_date": "2025-10-31",
        "report_date": "2025-09-27",
        "document_url": "https://www.sec.gov/Archives/edgar/data/320193/"
        "000032019325000079/aapl-20250927.htm",
        "is_amendment": 0,
    }
    dates = [r["filing_date"] for r in rows]
    assert dates == sorted(dates, reverse=True)


def test_msft_rows(msft):
    rows, _ = filing_rows(msft)
    # 19 10-Q + 6 10-K in recent; newest 10-K 0000950170-25-100235 (msft-20250630.htm).
    assert len(rows) == 25
    tenk = next(r for r in rows if r["filing_type"] == "10-K")
    assert tenk["document_url"] == (
        "https://www.sec.gov/Archives/edgar/data/789019/000095017025100235/msft-20250630.htm"
    )
    assert tenk["report_date"] == "2025-06-30"


def test_imnn_amendments_and_older_page(imnn, imnn_page):
    rows, notes = filing_rows(imnn, [imnn_page])
    assert notes == []
    # recent: 47 10-Q, 15 10-K, 3 10-K/A, 1 10-Q/A; page -001: 42 10-Q, 14 10-K, 8 10-Q/A, 6 10-K/A.
    assert len(rows) == 66 + 70
    amendments = [r for r in rows if r["is_amendment"]]
    assert len(amendments) == 3 + 1 + 8 + 6
    assert all(r["filing_type"].endswith("/A") for r in amendments)
    # 10-K/A 0001437749-16-030410 filed 2016-04-29 for 2015-12-31.
    ka = next(r for r in rows if r["accession_number"] == "0001437749-16-030410")
    assert ka["filing_type"] == "10-K/A" and ka["report_date"] == "2015-12-31"
    assert ka["document_url"].endswith("/749647/000143774916030410/clsn20160428_10ka.htm")
    # From the page (no filings.recent wrapper): 10-K 0001047469-10-002344 filed 2010-03-17.
    old = next(r for r in rows if r["accession_number"] == "0001047469-10-002344")
    assert old == {
        "accession_number": "0001047469-10-002344",
        "filing_type": "10-K",
        "filing_date": "2010-03-17",
        "report_date": "2009-12-31",
        "document_url": "https://www.sec.gov/Archives/edgar/data/749647/"
        "000104746910002344/a2197314z10-k.htm",
        "is_amendment": 0,
    }
    # The oldest row of the page has no primary document: the full submission text is used.
    assert rows[-1]["document_url"].endswith("/0000749647-96-000005.txt")


def test_page_passed_twice_is_deduplicated(imnn, imnn_page):
    rows, _ = filing_rows(imnn, [imnn_page, imnn_page])
    assert len(rows) == 136


def test_older_pages_rule(aapl, msft, imnn):
    # AAPL recent reaches back to 2015-03-12 and holds 10-Ks: no page needed without `since`
    # or for a 5-year window; a window reaching 2012 needs the -001 page (to 2015-03-11).
    assert older_pages_needed(aapl, None) == []
    assert older_pages_needed(aapl, "2021-01-01") == []
    assert older_pages_needed(aapl, "2012-01-01") == ["CIK0000320193-submissions-001.json"]
    # MSFT recent reaches 2019-11-08; -001 covers 2008-02-01..2019-11-06, -002 1994..2008-01-30.
    assert older_pages_needed(msft, "2015-06-01") == ["CIK0000789019-submissions-001.json"]
    assert older_pages_needed(msft, "2000-01-01") == [
        "CIK0000789019-submissions-001.json",
        "CIK0000789019-submissions-002.json",
    ]
    # IMNN recent reaches 2010-07-26: the -001 page (to 2010-07-24) only for older windows.
    assert older_pages_needed(imnn, "2011-01-01") == []
    assert older_pages_needed(imnn, "2005-01-01") == ["CIK0000749647-submissions-001.json"]


def test_older_pages_when_recent_has_no_annual_report(aapl):
    subs = copy.deepcopy(aapl)
    recent = subs["filings"]["recent"]
    keep = [i for i, f in enumerate(recent["form"]) if f not in ("10-K", "10-K/A")]
    for key, col in recent.items():
        recent[key] = [col[i] for i in keep]
    assert older_pages_needed(subs, None) == ["CIK0000320193-submissions-001.json"]
    assert older_pages_needed(subs, "2024-01-01") == ["CIK0000320193-submissions-001.json"]


def test_unsafe_page_names_dropped(aapl):
    subs = copy.deepcopy(aapl)
    subs["filings"]["files"] = [
        {"name": "../../etc/passwd.json", "filingTo": "2015-01-01"},
        {"name": "CIK0000320193-submissions-001.json"},
    ]
    assert older_pages_needed(subs, "2000-01-01") == ["CIK0000320193-submissions-001.json"]


def test_bad_shapes(aapl):
    assert filing_rows(None)[0] == [] and filing_rows(None)[1]
    empty = {"cik": 320193, "filings": {"recent": {}, "files": []}}
    rows, notes = filing_rows(empty)
    assert rows == [] and notes
    assert older_pages_needed(empty, "2020-01-01") == []
    assert older_pages_needed("x", None) == []

    subs = copy.deepcopy(aapl)
    subs["cik"] = 320193  # an int instead of the padded string
    subs["filings"]["recent"]["form"] = subs["filings"]["recent"]["form"][:-10]
    subs["filings"]["recent"]["newColumn"] = [1, 2]
    del subs["filings"]["recent"]["reportDate"]
    rows, notes = filing_rows(subs)
    assert len(rows) == 44 - sum(
        f in ("10-K", "10-Q") for f in aapl["filings"]["recent"]["form"][-10:]
    )
    assert rows[0]["document_url"].startswith("https://www.sec.gov/Archives/edgar/data/320193/")
    assert rows[0]["report_date"] is None
    assert any("unequal" in n for n in notes)

    subs["cik"] = None
    rows, notes = filing_rows(subs)
    assert rows and rows[0]["document_url"] is None and any("cik" in n for n in notes)


def test_other_forms_excluded():
    subs = {
        "cik": "0000000042",
        "filings": {
            "recent": {
                "accessionNumber": [
                    "0000000042-24-000001",
                    "0000000042-24-000002",
                    "0000000042-24-000003",
                    "0000000042-24-000004",
                    "bad",
                ],
                "form": ["8-K", "20-F", "40-F/A", "4", "10-Q"],
                "filingDate": [
                    "2024-01-05",
                    "2024-01-04",
                    "2024-01-03",
                    "2024-01-02",
                    "2024-01-01",
                ],
                "reportDate": ["", "2023-12-31", "", "", ""],
                "primaryDocument": ["a.htm", "b.htm", "", "d.htm", "e.htm"],
            }
        },
    }
    rows, notes = filing_rows(subs)
    assert [(r["filing_type"], r["is_amendment"]) for r in rows] == [("20-F", 0), ("40-F/A", 1)]
    assert rows[0]["document_url"] == (
        "https://www.sec.gov/Archives/edgar/data/42/000000004224000002/b.htm"
    )
    assert any("accession" in n for n in notes)


def test_transition_report_filer_is_listed_and_its_facts_read():
    """A company changing its fiscal year files a 10-KT: the daily-index scan, the filings list
    and the facts all go by the same forms, so its report is listed and its figures read."""
    accession = "0000000042-24-000007"
    subs = {
        "cik": "0000000042",
        "filings": {
            "recent": {
                "accessionNumber": [accession, "0000000042-24-000006"],
                "form": ["10-KT", "10-QT"],
                "filingDate": ["2024-03-01", "2024-01-15"],
                "reportDate": ["2023-12-31", "2023-09-30"],
                "primaryDocument": ["t.htm", "q.htm"],
            },
            "files": [{"name": "CIK0000000042-submissions-001.json", "filingTo": "2023-01-01"}],
        },
    }
    rows, notes = filing_rows(subs)
    assert notes == []
    assert [(r["accession_number"], r["filing_type"]) for r in rows] == [
        (accession, "10-KT"),
        ("0000000042-24-000006", "10-QT"),
    ]
    assert older_pages_needed(subs, None) == []  # the 10-KT is an annual report
    assert periodic_filers(
        "Form Type   Company Name  CIK  Date Filed  File Name\n"
        "---------------------------------------------------\n"
        f"10-KT       Example Co    42   20240301    edgar/data/42/{accession}.txt\n"
    ) == {42}
    facts = {
        "cik": "0000000042",
        "facts": {
            "us-gaap": {
                "NetIncomeLoss": {
                    "units": {
                        "USD": [
                            {
                                "start": "2023-01-01",
                                "end": "2023-12-31",
                                "val": 1234,
                                "accn": accession,
                                "form": "10-KT",
                                "filed": "2024-03-01",
                            }
                        ]
                    }
                }
            }
        },
    }
    earnings, _ = earnings_rows(facts)
    annual = next(r for r in earnings if (r["year"], r["period"]) == (2023, "annual"))
    assert (annual["net_income"], annual["accession"]) == (1234, accession)
