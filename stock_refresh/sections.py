"""filing_sections rows from a 10-K/10-Q primary document (inline XBRL HTML; no I/O).

The document is flattened to paragraphs (block elements and table rows) with lxml; hidden
inline-XBRL header content, scripts, page numbers and repeated page footers are dropped.
A paragraph that is short and starts with "Item N." is an item heading, a "PART I/II"
paragraph sets the part. A section runs from its heading to the next heading. The table of
contents repeats every heading, so of several headings for one item the one followed by the
most text is the real one (a contents entry is followed by a page number, then the next entry).
"""

from __future__ import annotations

import re
from collections import Counter

import lxml.etree
import lxml.html

TARGETS = {
    "10-K": {
        (None, "1"): "business",
        (None, "1A"): "risk_factors",
        (None, "7"): "mda",
        (None, "7A"): "market_risk",
    },
    "10-Q": {("I", "2"): "mda", ("I", "3"): "market_risk", ("II", "1A"): "risk_factors"},
}
BLOCK = {
    "p",
    "div",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "center",
    "hr",
    "body",
    "dl",
    "dt",
    "dd",
}
SKIP = {"script", "style", "head", "title", "ix:header", "noscript", "template"}
CELL = {"td", "th"}
ITEM = re.compile(r"^item\s*(\d{1,2})\s*([a-c])?\b\s*[.:\-\u2013\u2014]?\s*(.*)$", re.I)
PART = re.compile(r"^part\s+(iv|iii|ii|i)\b\s*[.:\-\u2013\u2014]?\s*(.*)$", re.I)
PAGE_NUMBER = re.compile(r"^(?:page\s+)?(?:\d{1,3}|[ivxlc]{1,6})$", re.I)
FOOTER = re.compile(r"form\s+10-[kq]|table of contents", re.I)
BULLETS = {"\u2022", "o", "\u25e6", "\u25aa", "\u25cf", "-", "\u2013", "\u00b7"}
MAX_HEADING = 160
MIN_SECTION = 40


def _hidden(el) -> bool:
    style = el.get("style")
    return bool(style) and "display:none" in style.replace(" ", "").lower()


def _paragraphs(root) -> list[str]:
    """Visible text as paragraphs, whitespace normalised."""
    out: list[str] = []

    def walk(el, in_row: bool):
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is not None and tag not in SKIP and not _hidden(el):
            row = in_row or tag == "tr"
            # inside a table row every block is one cell of the same line
            brk = " " if in_row else "\n"
            block = tag in BLOCK
            if block:
                out.append(brk)
            if el.text:
                out.append(el.text.replace("\n", " "))
            for child in el:
                walk(child, row)
            if tag in CELL:
                out.append(" ")
            elif block or tag == "br":
                out.append(brk)
        if el.tail:
            out.append(el.tail.replace("\n", " "))

    walk(root, False)
    lines: list[str] = []
    bullet = None
    for line in "".join(out).split("\n"):
        line = " ".join(line.split())
        if not line:
            continue
        if line in BULLETS:  # a list marker laid out in its own box
            bullet = line
            continue
        lines.append(f"{bullet} {line}" if bullet else line)
        bullet = None
    return lines


def _drop_page_furniture(lines: list[str]) -> list[str]:
    """Page numbers, and short footer lines repeated on many pages ("... Form 10-K | 12")."""
    shape = [re.sub(r"\d+", "#", line) if len(line) <= 80 else None for line in lines]
    counts = Counter(s for s in shape if s)
    keep = []
    for line, s in zip(lines, shape, strict=True):
        if PAGE_NUMBER.match(line):
            continue
        if s and counts[s] >= 4 and FOOTER.search(line):
            continue
        keep.append(line)
    return keep


def check_whole(body: bytes) -> None:
    """Raise ValueError for a document that did not arrive whole: empty, with NUL bytes (never
    in HTML or text), or an HTML page without its closing tag. lxml would read any of these
    without complaint and find fewer sections, which would then be stored as the filing's."""
    if not body.strip():
        raise ValueError("the document is empty")
    if b"\x00" in body:
        raise ValueError("the document holds NUL bytes: garbled on the way")
    if b"<html" in body[:4096].lower() and b"</html>" not in body[-4096:].lower():
        raise ValueError("the document ends before its </html>: cut short")


def _parse(html: bytes | str):
    if isinstance(html, str):
        html = html.encode("utf-8", "replace")
    html = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", html)
    if not html.strip():
        return None
    try:
        return lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None


def _headings(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line index, part, item) for each heading line; a part marker has item "".

    Parts come from "PART I/II" lines; a document without them starts a new part whenever
    the item number goes down (Part I Item 4 -> Part II Item 1).
    """
    short = [(i, line) for i, line in enumerate(lines) if len(line) <= MAX_HEADING]
    has_parts = any(PART.match(line) for _, line in short)
    found = []
    part, last_number = "I", None
    for i, line in short:
        m = PART.match(line)
        if m and len(m.group(2)) < 80:
            part, last_number = m.group(1).upper(), None
            found.append((i, part, ""))
            continue
        m = ITEM.match(line)
        if not m:
            continue
        number = int(m.group(1))
        if not has_parts and last_number is not None and number < last_number:
            part = "II" if part == "I" else "I"
        last_number = number
        found.append((i, part, f"{number}{(m.group(2) or '').upper()}"))
    return found


def extract_sections(html: bytes | str, form: str) -> tuple[list[dict], list[str]]:
    """Sections of a 10-K (Items 1, 1A, 7, 7A) or 10-Q (Part I Items 2, 3; Part II Item 1A).

    Returns dicts with section_name and content; the caller adds the filing's identity.
    """
    notes: list[str] = []
    base = form.strip().upper().removesuffix("/A") if isinstance(form, str) else ""
    targets = TARGETS.get(base)
    if targets is None:
        return [], [f"no section map for form {form!r}; sections skipped"]
    try:
        root = _parse(html if isinstance(html, (bytes, str)) else b"")
        if root is None:
            return [], ["document is empty or not HTML; no sections"]
        lines = _drop_page_furniture(_paragraphs(root))
        headings = _headings(lines)
    except (RecursionError, lxml.etree.LxmlError, ValueError) as exc:
        return [], [f"document could not be read ({type(exc).__name__}); no sections"]
    best: dict[str, tuple[int, int, int]] = {}
    for n, (i, part, item) in enumerate(headings):
        key = (None if base == "10-K" else part, item)
        name = targets.get(key)
        if name is None:
            continue
        end = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        size = sum(len(line) for line in lines[i + 1 : end])
        if name not in best or size > best[name][2]:
            best[name] = (i + 1, end, size)
    sections = []
    for key, name in targets.items():
        if name not in best or best[name][2] < MIN_SECTION:
            notes.append(f"{base}: section {name} (Item {key[1]}) not found")
            continue
        start, end, _ = best[name]
        sections.append({"section_name": name, "content": "\n\n".join(lines[start:end])})
    if not sections:
        notes.append(f"{base}: no recognisable items in the document")
    return sections, notes
