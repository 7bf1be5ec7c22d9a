"""Which companies filed a report since the last run, from SEC's daily form index.

data.sec.gov answers no conditional requests, so asking each company's submissions whether
anything changed costs one request per company per night. The daily form index lists every
filing of a day in one file: a handful of requests a week tell which companies need their
filings and facts fetched again. When an index that should exist cannot be read, the scan says
"unknown" and the run falls back to asking every company. Which indexes exist is known, not
guessed: weekends and federal holidays (Veterans Day, Columbus Day: the NYSE trades, SEC is
closed) have none, and for a missing one the quarter's listing (`index.json`, one request) tells
a day SEC did not publish (an unscheduled closing) from one not out yet and one that is lost.

SEC publishes a day's index in the evening of that day (New York time), at an hour it does not
state: filings dated that day are accepted until 22:00 ET. So a run asks only for the days before
today in New York; today's index is read by the next night's run. EDGAR disseminates nothing on
weekends and federal holidays, so those days are not asked for at all.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pandas.tseries.holiday import USFederalHolidayCalendar

from .forms import PERIODIC_FORMS
from .http import Malformed, NotFound, UpstreamError, Upstreams
from .wire import decode_body

log = logging.getLogger(__name__)

INDEX_URL = (
    "https://www.sec.gov/Archives/edgar/daily-index/{day:%Y}/QTR{quarter}/form.{day:%Y%m%d}.idx"
)
LISTING_URL = "https://www.sec.gov/Archives/edgar/daily-index/{year}/QTR{quarter}/index.json"
FORM_COLUMN = 12
NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class IndexScan:
    """`filed`: CIK -> the last day read on which it filed a periodic report; None when the
    scan could not tell (then every company is asked). `through`: the last day accounted for."""

    filed: dict[int, date] | None
    through: date
    since: date  # the day after which it read (the `through` it was given)
    days_read: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ciks(self) -> set[int] | None:
        return None if self.filed is None else set(self.filed)

    def unknown(self, note: str) -> "IndexScan":
        self.filed = None
        self.notes.append(note)
        return self


def quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


def index_url(day: date) -> str:
    return INDEX_URL.format(day=day, quarter=quarter(day))


def published_indexes(upstreams: Upstreams, day: date) -> set[str]:
    """The file names in the listing of `day`'s quarter folder (SEC's `index.json`)."""
    listing = upstreams.get_json(LISTING_URL.format(year=day.year, quarter=quarter(day)))
    try:
        return {item["name"] for item in listing["directory"]["item"]}
    except (KeyError, TypeError) as error:
        raise Malformed(f"{LISTING_URL}: no directory.item list of names ({error})") from None


def periodic_filers(text: str) -> set[int]:
    """CIKs with a periodic report (PERIODIC_FORMS, amendments too) in a `form.YYYYMMDD.idx`.

    ValueError for a body that is not a whole index: a missing header, or any line that is not
    a filing (`FORM  COMPANY  CIK  YYYYMMDD  edgar/data/...`). A cut or garbled index read as
    it comes would drop its filers silently, and their new reports would go unasked for.
    """
    head, dashes, body = text.partition("\n-----")
    if not dashes or "Form Type" not in head.rsplit("\n", 1)[-1]:
        raise ValueError("not an EDGAR form index: no 'Form Type' header")
    ciks = set()
    for number, line in enumerate(body.split("\n")[1:], start=1):
        if not line.strip():
            continue
        form = line[:FORM_COLUMN].strip().removesuffix("/A")
        parts = line[FORM_COLUMN:].split()
        if not (
            len(parts) >= 3
            and parts[-3].isdigit()
            and re.fullmatch(r"\d{8}", parts[-2])
            and parts[-1].startswith("edgar/data/")
        ):
            raise ValueError(f"form index line {number} is not a filing: {line[:80]!r}")
        if form in PERIODIC_FORMS:
            ciks.add(int(parts[-3]))
    return ciks


def read_index(data: bytes, encoding: str) -> set[int]:
    """A daily index body as it came off the wire -> its periodic filers (see above)."""
    return periodic_filers(decode_body(data, encoding).decode("latin-1"))


def last_published_day(now: datetime) -> date:
    """The newest day whose index can exist at `now` (aware): yesterday in New York."""
    return now.astimezone(NEW_YORK).date() - timedelta(days=1)


def federal_holidays(first: date, last: date) -> set[date]:
    """The federal holidays (observed) from `first` to `last`: EDGAR's closed weekdays."""
    return {day.date() for day in USFederalHolidayCalendar().holidays(first, last)}


def scan_daily_indexes(upstreams: Upstreams, through: date, now: datetime) -> IndexScan:
    """Read the indexes of the days after `through` that can be published at `now`."""
    scan = IndexScan(filed={}, through=through, since=through)
    newest = last_published_day(now)
    day = through + timedelta(days=1)
    closed = federal_holidays(day, newest)
    while day <= newest:
        if day.weekday() < 5 and day not in closed:
            try:
                for cik in upstreams.get_body(index_url(day), parse=read_index):
                    scan.filed[cik] = day
                scan.days_read += 1
            except NotFound:
                try:
                    verdict = missing_index(upstreams, day, newest)
                except UpstreamError as error:
                    verdict = f"missing, and the quarter's listing unreadable ({error})"
                if verdict == "not published":
                    scan.notes.append(f"SEC published no daily index for {day} (closed)")
                elif verdict == "not out yet":
                    scan.notes.append(f"SEC's daily index for {day} is not out yet: read next run")
                    return scan
                else:
                    return scan.unknown(
                        f"SEC daily index for {day} is {verdict}; asking every company instead"
                    )
            except UpstreamError as error:
                return scan.unknown(
                    f"SEC daily index for {day} unreadable ({error}); asking every company instead"
                )
        scan.through = day
        day += timedelta(days=1)
    return scan


def changed_companies(
    scan: IndexScan | None, states: dict[str, dict], symbols: list[str]
) -> set[int] | None:
    """The CIKs of `symbols` with a periodic report after their own `changes_known_through`;
    a stock whose cursor is older than the scan (or missing) counts as changed. None: unknown."""
    if scan is None or scan.filed is None:
        return None
    changed = set()
    for symbol in symbols:
        state = states.get(symbol) or {}
        cik, cursor = state.get("cik"), state.get("changes_known_through")
        if cik is None:
            continue
        day = scan.filed.get(cik)
        if not cursor or cursor < scan.since.isoformat() or (day and day.isoformat() > cursor):
            changed.add(cik)
    return changed


def missing_index(upstreams: Upstreams, day: date, newest: date) -> str:
    """Why `day`'s index answered 404, from its quarter's listing: "not published" (SEC was
    closed: the listing goes on past it without it, or its quarter is over), "not out yet"
    (nothing after it either), or "listed, yet missing" (lost: every company must be asked)."""
    names = published_indexes(upstreams, day)
    if f"form.{day:%Y%m%d}.idx" in names:
        return "listed, yet missing"
    later = any(
        n.startswith("form.") and n[5:13].isdigit() and n[5:13] > f"{day:%Y%m%d}" for n in names
    )
    quarter_over = quarter(newest) != quarter(day) or newest.year != day.year
    return "not published" if later or quarter_over else "not out yet"
