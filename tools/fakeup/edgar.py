"""Routes for www.sec.gov, data.sec.gov and raw.githubusercontent.com."""

import datetime as dt
import json
import re

from . import listings, responses
from .dates import http_date
from .responses import Response

DATA_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store",
    "Pragma": "no-cache",
    "Vary": "Accept-Encoding",
}
SUBMISSIONS = re.compile(r"^/submissions/CIK(\d{10})(?:-submissions-(\d{3}))?\.json$")
FACTS = re.compile(r"^/api/xbrl/companyfacts/CIK(\d{10})\.json$")
INDEX = re.compile(r"^/Archives/edgar/daily-index/(\d{4})/QTR([1-4])/form\.(\d{8})\.idx$")
COMPANYFACTS_ZIP = "/Archives/edgar/daily-index/xbrl/companyfacts.zip"
LISTING = re.compile(r"^/Archives/edgar/daily-index/(\d{4})/QTR([1-4])/index\.json$")
DOC = re.compile(r"^/Archives/edgar/data/(\d+)/(\d{18})/([^/]+(?:/[^/]+)?)$")
GITHUB = re.compile(
    r"^/rreichel3/US-Stock-Symbols/main/(nyse|nasdaq)/(\1_tickers\.json|\1_tickers\.txt|"
    r"\1_full_tickers\.json)$"
)


def data_sec_gov(world, path: str, headers) -> Response:
    m = SUBMISSIONS.match(path)
    body = None
    if m:
        p = world.by_cik.get(int(m.group(1)))
        if p and m.group(2):
            body = world.page_body(p, path.rsplit("/", 1)[1])
        elif p:
            body = world.submissions_body(p)
    elif m := FACTS.match(path):
        p = world.by_cik.get(int(m.group(1)))
        body = world.facts_body(p) if p else None
    if body is None:
        resp = responses.no_such_key(path.lstrip("/"))
    else:
        resp = Response(200, body, "application/json")
    resp.headers.update(DATA_HEADERS)
    resp.headers["Expires"] = http_date(dt.datetime.now(dt.UTC))
    return resp


def www_sec_gov(world, path: str, headers) -> Response:
    published = dt.datetime.combine(world.as_of, dt.time(6, 0), dt.UTC)
    if path in ("/files/company_tickers.json", "/files/company_tickers_exchange.json"):
        build = (
            listings.company_tickers
            if path.endswith("tickers.json")
            else listings.company_tickers_exchange
        )
        body = world.static(path, lambda: build(world))
        resp = Response(200, body, "application/json", {"Cache-Control": "max-age=60"})
        return responses.conditional(resp, published, headers, etag=False)
    if m := INDEX.match(path):
        day = _date(m.group(3))
        body = (
            world.daily_index(day)
            if day and str(day.year) == m.group(1) and (day.month - 1) // 3 + 1 == int(m.group(2))
            else None
        )
        if body is None:
            return responses.access_denied()
        stamp = dt.datetime.combine(day, dt.time(22, 0), dt.UTC)
        return responses.conditional(
            Response(200, body, "text/plain", {"Accept-Ranges": "bytes"}), stamp, headers
        )
    if path == COMPANYFACTS_ZIP:
        # republished nightly at about 03:00 in New York: the one a night's run finds is the
        # as-of date's
        stamp = dt.datetime.combine(world.as_of, dt.time(8, 0), dt.UTC)
        resp = Response(
            200, world.companyfacts_zip(), "application/zip", {"Accept-Ranges": "bytes"}
        )
        return responses.conditional(resp, stamp, headers)
    if m := LISTING.match(path):
        body = quarter_listing(world, int(m.group(1)), int(m.group(2)))
        return Response(200, body, "application/json") if body else responses.access_denied()
    if m := DOC.match(path):
        found = world.document(*m.groups())
        if found is None:
            return responses.access_denied()
        body, filed = found
        ctype = "text/xml" if path.endswith(".xml") else "text/html"
        stamp = dt.datetime.combine(filed, dt.time(10, 30), dt.UTC)
        return responses.conditional(
            Response(200, body, ctype, {"Accept-Ranges": "bytes"}), stamp, headers
        )
    if path.startswith("/Archives/"):
        return responses.access_denied()
    return responses.text(404, "<html><body><h1>Page Not Found</h1></body></html>", "text/html")


def quarter_listing(world, year: int, quarter: int) -> bytes | None:
    """The quarter folder's index.json as SEC serves it: one item per published index file
    (form and master of each day, as SEC has company, crawler and sitemap files besides)."""
    first = dt.date(year, 3 * quarter - 2, 1)
    if first > world.as_of:
        return None
    last = min(
        dt.date(year + (quarter == 4), 3 * quarter % 12 + 1, 1), world.as_of + dt.timedelta(1)
    )
    items = []
    day = first
    while day < last:
        if world.publishes_index(day):
            stamp = f"{day:%m/%d/%Y} 10:02:13 PM"
            for kind in ("form", "master"):
                name = f"{kind}.{day:%Y%m%d}.idx"
                items.append(
                    {
                        "last-modified": stamp,
                        "name": name,
                        "type": "file",
                        "href": name,
                        "size": "88 KB",
                    }
                )
        day += dt.timedelta(1)
    listing = {
        "directory": {
            "item": items,
            "name": f"daily-index/{year}/QTR{quarter}/",
            "parent-dir": "../",
        }
    }
    return json.dumps(listing).encode()


def github(world, path: str, headers) -> Response:
    m = GITHUB.match(path)
    if not m:
        return responses.text(404, "404: Not Found")
    exchange = "NYSE" if m.group(1) == "nyse" else "Nasdaq"
    name = m.group(2)
    build = (
        listings.tickers_txt
        if name.endswith(".txt")
        else listings.full_tickers_json
        if "_full_" in name
        else listings.tickers_json
    )
    body = world.static(path, lambda: build(world, exchange))
    return Response(200, body, "text/plain; charset=utf-8", {"Cache-Control": "max-age=300"})


def _date(text: str) -> dt.date | None:
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
