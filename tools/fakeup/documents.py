"""Generated primary documents (inline-XBRL-like HTML) and the fixed-width daily form index."""

import datetime as dt
import html
import random

from .model import Filing, Profile

TEN_K = [
    (
        "PART I",
        [
            ("1", "Business"),
            ("1A", "Risk Factors"),
            ("1B", "Unresolved Staff Comments"),
            ("1C", "Cybersecurity"),
            ("2", "Properties"),
            ("3", "Legal Proceedings"),
            ("4", "Mine Safety Disclosures"),
        ],
    ),
    (
        "PART II",
        [
            (
                "5",
                "Market for Registrant's Common Equity, Related Stockholder Matters and "
                "Issuer Purchases of Equity Securities",
            ),
            ("6", "[Reserved]"),
            (
                "7",
                "Management's Discussion and Analysis of Financial Condition and Results of Operations",
            ),
            ("7A", "Quantitative and Qualitative Disclosures About Market Risk"),
            ("8", "Financial Statements and Supplementary Data"),
            (
                "9",
                "Changes in and Disagreements with Accountants on Accounting and Financial Disclosure",
            ),
            ("9A", "Controls and Procedures"),
        ],
    ),
]
TEN_Q = [
    (
        "PART I — FINANCIAL INFORMATION",
        [
            ("1", "Financial Statements"),
            (
                "2",
                "Management's Discussion and Analysis of Financial Condition and Results of Operations",
            ),
            ("3", "Quantitative and Qualitative Disclosures About Market Risk"),
            ("4", "Controls and Procedures"),
        ],
    ),
    (
        "PART II — OTHER INFORMATION",
        [
            ("1", "Legal Proceedings"),
            ("1A", "Risk Factors"),
            ("2", "Unregistered Sales of Equity Securities and Use of Proceeds"),
            ("6", "Exhibits"),
        ],
    ),
]
PHRASES = [
    "demand for our products",
    "competition in our markets",
    "changes in interest rates",
    "foreign currency exchange rates",
    "supply chain disruptions",
    "cybersecurity incidents",
    "regulatory developments",
    "the cost of raw materials",
    "our ability to retain key personnel",
    "general economic conditions",
    "customer concentration",
    "the timing of new product launches",
]


def _paragraphs(rng: random.Random, name: str, topic: str, n: int) -> str:
    out = []
    for _ in range(n):
        words = rng.sample(PHRASES, 3)
        out.append(
            f"<p>{html.escape(name)} discusses {topic.lower()} in light of {words[0]}, {words[1]} "
            f"and {words[2]}. Results for the period could differ materially from expectations "
            f"because of these and other factors described in this report.</p>"
        )
    return "\n".join(out)


def periodic(p: Profile, f: Filing, revenue: float | None) -> bytes:
    """A small 10-K / 10-Q / 20-F with a table of contents and the Items the sections parser wants."""
    rng = random.Random(f"{p.key}/{f.accn}")
    parts = TEN_Q if f.form.startswith("10-Q") else TEN_K
    title = f"FORM {f.form}"
    toc, body = [], []
    for part, items in parts:
        toc.append(f'<tr><td colspan="3"><b>{html.escape(part)}</b></td></tr>')
        body.append(
            f'<div style="text-align:center"><span style="font-weight:700">{html.escape(part)}'
            f"</span></div>"
        )
        for num, heading in items:
            anchor = f"{part.split()[1].lower()}_item{num.lower()}"
            toc.append(
                f'<tr><td><a href="#{anchor}">Item {num}.</a></td>'
                f'<td><a href="#{anchor}">{html.escape(heading)}</a></td><td>{rng.randint(1, 90)}</td></tr>'
            )
            body.append(
                f'<div id="{anchor}"><span style="font-weight:700">Item {num}.&#160;&#160;&#160;'
                f"{html.escape(heading)}</span></div>"
            )
            body.append(_paragraphs(rng, p.name, heading, rng.randint(2, 6)))
            if num == "8" or (num == "1" and parts is TEN_Q and "FINANCIAL" in part):
                value = f"{revenue / 1e6:,.0f}" if revenue else "—"
                body.append(
                    f'<p>Total net sales (in millions): <ix:nonFraction name="us-gaap:Revenues" '
                    f'contextRef="c-1" unitRef="usd" decimals="-6" scale="6">{value}</ix:nonFraction></p>'
                )
    report = f.report.strftime("%B %d, %Y") if f.report else ""
    doc = f"""<?xml version='1.0' encoding='ASCII'?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:ix="http://www.xbrl.org/2013/inlineXBRL" xml:lang="en-US">
<head><meta http-equiv="Content-Type" content="text/html"/><title>{html.escape(p.ticker.lower())}-{f.report or f.filed}</title></head>
<body>
<div style="display:none"><ix:header><ix:hidden><ix:nonNumeric name="dei:DocumentType" contextRef="c-1">{f.form}</ix:nonNumeric></ix:hidden></ix:header></div>
<div style="text-align:center"><span style="font-weight:700">UNITED STATES<br/>SECURITIES AND EXCHANGE COMMISSION</span><br/>Washington, D.C. 20549</div>
<div style="text-align:center"><span style="font-weight:700">{title}</span></div>
<p>For the {"fiscal year" if parts is TEN_K else "quarterly period"} ended {report}</p>
<p>Commission File Number: 001-{30000 + (p.cik or 0) % 9999}</p>
<div style="text-align:center"><span style="font-weight:700">{html.escape(p.name)}</span></div>
<div style="text-align:center"><span style="font-weight:700">TABLE OF CONTENTS</span></div>
<table>{"".join(toc)}</table>
{chr(10).join(body)}
<p>SIGNATURES</p>
</body></html>
"""
    return doc.encode("ascii", "xmlcharrefreplace")


def other(p: Profile, f: Filing) -> bytes:
    """A one-page stand-in for any non-periodic document (8-K, DEF 14A, 6-K, Form 4)."""
    if f.doc.endswith(".xml"):
        return (
            f'<?xml version="1.0"?><ownershipDocument><issuer><issuerCik>{p.cik:010d}</issuerCik>'
            f"<issuerTradingSymbol>{p.ticker}</issuerTradingSymbol></issuer></ownershipDocument>\n"
        ).encode()
    return (
        f"<html><head><title>{f.form}</title></head><body><p>FORM {f.form}</p>"
        f"<p>{html.escape(p.name)}</p><p>Date of report: {f.report or f.filed}</p>"
        f"<p>Items: {f.items}</p></body></html>\n"
    ).encode()


def daily_index(day: dt.date, rows: list[tuple[str, str, int, str]]) -> bytes:
    """form.YYYYMMDD.idx: rows are (form, company name, cik, accession)."""
    head = (
        f"Description:           Daily Index of EDGAR Dissemination Feed by Form Type\n"
        f"Last Data Received:    {day:%b} {day.day}, {day.year}\n"
        "Comments:              webmaster@sec.gov\n"
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/\n \n \n \n \n"
        "Form Type   Company Name                                                  CIK         "
        "Date Filed  File Name\n" + "-" * 141 + "\n"
    )
    lines = []
    for form, name, cik, accn in sorted(rows):
        path = f"edgar/data/{cik}/{accn}.txt"
        lines.append(f"{form:<12}{name[:61]:<62}{cik:<12}{day:%Y%m%d}    {path:<52}\n")
    return (head + "".join(lines)).encode()
