"""extract_sections on real primary documents (Apple 10-K and 10-Q, Oracle 10-Q)."""

import gzip
import time

import pytest

from stock_refresh.sections import extract_sections
from tests.paths import FIXTURES

DOCS = FIXTURES / "filings"


def _html(name):
    return gzip.decompress((DOCS / f"{name}.html.gz").read_bytes())


@pytest.fixture(scope="module")
def apple_10k():
    sections, notes = extract_sections(_html("Apple.10-K"), "10-K")
    return {s["section_name"]: s["content"] for s in sections}, notes


@pytest.fixture(scope="module")
def apple_10q():
    sections, notes = extract_sections(_html("Apple.10-Q"), "10-Q")
    return {s["section_name"]: s["content"] for s in sections}, notes


@pytest.fixture(scope="module")
def oracle_10q():
    sections, notes = extract_sections(_html("Oracle.10-Q"), "10-Q")
    return {s["section_name"]: s["content"] for s in sections}, notes


def _clean(text):
    assert text == text.strip()
    assert "\n\n\n" not in text and "  " not in text and "\t" not in text
    for para in text.split("\n\n"):
        assert para and "\n" not in para
        assert not para.isdigit()  # no page numbers
        assert "Form 10-K |" not in para and "Form 10-Q |" not in para  # no page footers


def test_apple_10k_sections(apple_10k):
    s, notes = apple_10k
    assert notes == []
    assert list(s) == ["business", "risk_factors", "mda", "market_risk"]
    # Item 1. Business: body starts with the "Company Background" heading and its paragraph,
    # ends with the website paragraph just before "Item 1A. Risk Factors".
    assert s["business"].startswith(
        "Company Background\n\nThe Company designs, manufactures "
        "and markets smartphones, personal computers, tablets"
    )
    assert s["business"].endswith(
        "references to website URLs are intended to be inactive textual references only."
    )
    assert "Item 1A" not in s["business"] and "Unresolved Staff Comments" not in s["business"]
    # Item 1A runs to Item 1B (Unresolved Staff Comments).
    assert s["risk_factors"].startswith(
        "The Company’s business, reputation, results of "
        "operations, financial condition and stock price"
    )
    assert s["risk_factors"].endswith(
        "material adverse impact on investor confidence and employee retention."
    )
    assert "Unresolved Staff Comments" not in s["risk_factors"]
    # Item 7 starts after its heading, runs to Item 7A.
    assert s["mda"].startswith(
        "The following discussion should be read in conjunction with "
        "the consolidated financial statements"
    )
    assert s["mda"].endswith(
        "could have a material impact on the Company’s financial condition and operating results."
    )
    # Item 7A ends before "Item 8. Financial Statements and Supplementary Data".
    assert s["market_risk"].startswith(
        "The Company is exposed to economic risk from interest rates and foreign exchange rates."
    )
    assert s["market_risk"].endswith("foreign currency derivatives.")
    assert "Financial Statements and Supplementary Data" not in s["market_risk"]
    # A table row stays one paragraph: "Term debt ... $ 139 $ 194" (Item 7A table).
    assert (
        "Term debt 100 basis points, all tenors Increase in annual interest expense $ 139 $ 194"
    ) in s["market_risk"].split("\n\n")
    for text in s.values():
        _clean(text)


def test_apple_10k_no_table_of_contents(apple_10k):
    s, _ = apple_10k
    assert len(s["business"]) > 10_000 and len(s["risk_factors"]) > 50_000
    assert len(s["mda"]) > 10_000 and len(s["market_risk"]) > 2_000
    for text in s.values():
        # the contents page lists "Item 1A." / "Risk Factors" / page numbers one after another
        assert not text.startswith(("Business", "Risk Factors", "Item", "Part"))


def test_no_inline_xbrl_header(apple_10k, oracle_10q):
    for text in [*apple_10k[0].values(), *oracle_10q[0].values()]:
        assert "us-gaap:" not in text and "xbrli" not in text and "iso4217" not in text


def test_apple_10q_sections(apple_10q):
    s, notes = apple_10q
    assert notes == []
    assert list(s) == ["mda", "market_risk", "risk_factors"]
    # Part I Item 2 (not Part II Item 2 "Unregistered Sales of Equity Securities").
    assert s["mda"].startswith(
        "This Item and other sections of this Quarterly Report on "
        "Form 10-Q (“Form 10-Q”) contain forward-looking statements"
    )
    assert s["mda"].endswith(
        "no material changes to the Company’s critical accounting "
        "estimates since the 2023 Form 10-K."
    )
    assert "Unregistered Sales" not in s["mda"] and len(s["mda"]) > 15_000
    # Part I Item 3 is a single paragraph, ending before "Item 4. Controls and Procedures".
    assert s["market_risk"] == (
        "There have been no material changes to the Company’s market risk during the first "
        "nine months of 2024. For a discussion of the Company’s exposure to market risk, refer "
        "to the Company’s market risk disclosures set forth in Part II, Item 7A, “Quantitative "
        "and Qualitative Disclosures About Market Risk” of the 2023 Form 10-K."
    )
    # Part II Item 1A, ending before Part II Item 2.
    assert s["risk_factors"].startswith(
        "The Company’s business, reputation, results of "
        "operations, financial condition and stock price"
    )
    assert s["risk_factors"].endswith(
        "no material changes to the Company’s risk factors since the 2023 Form 10-K."
    )
    for text in s.values():
        _clean(text)


def test_oracle_10q_sections(oracle_10q):
    s, notes = oracle_10q
    assert notes == []
    assert s["mda"].startswith(
        "We begin Management’s Discussion and Analysis of Financial "
        "Condition and Results of Operations with an overview"
    )
    assert s["mda"].endswith("included elsewhere in this Quarterly Report.")
    assert len(s["mda"]) > 50_000
    assert "• Cloud services and license support revenues, which include:" in s["mda"]
    assert s["market_risk"].startswith(
        "There were no significant changes to our quantitative "
        "and qualitative disclosures about market risk"
    )
    assert s["market_risk"].endswith(
        "for a more complete discussion of the market risks we encounter."
    )
    assert s["risk_factors"].startswith(
        "In addition to the other information set forth in "
        "this Quarterly Report, you should carefully consider"
    )
    assert s["risk_factors"].endswith("financial condition or operating results in the future.")
    for text in s.values():
        _clean(text)


def test_sections_fast():
    html = _html("Oracle.10-Q")  # 2 MB
    start = time.perf_counter()
    extract_sections(html, "10-Q")
    assert time.perf_counter() - start < 1.0


def test_str_input_and_amendment_form():
    html = _html("Apple.10-Q").decode("ascii")
    sections, _ = extract_sections(html, "10-Q/A")
    assert [s["section_name"] for s in sections] == ["mda", "market_risk", "risk_factors"]


def test_without_part_headings():
    body = "".join(
        f"<p>Item {n}. Title {n}</p><p>{f'Text of item {n}. ' * 10}</p>"
        for n in ("1", "2", "3", "4", "1", "1A", "2")
    )
    sections, notes = extract_sections(f"<html><body>{body}</body></html>", "10-Q")
    got = {s["section_name"]: s["content"] for s in sections}
    assert got["mda"].startswith("Text of item 2.") and got["risk_factors"].startswith(
        "Text of item 1A."
    )
    assert notes == []


@pytest.mark.parametrize(
    "html",
    [
        b"",
        "",
        b"<html><body><p>Hello</p></body></html>",
        "<p>Item</p>",
        b"\x00\xff\xfe",
        "<<<>>>",
        None,
        42,
    ],
)
def test_no_items_gives_note(html):
    sections, notes = extract_sections(html, "10-K")
    assert sections == [] and notes


def test_unsupported_form_noted():
    sections, notes = extract_sections("<p>Item 4. Information on the Company</p>", "20-F")
    assert sections == [] and "20-F" in notes[0]
