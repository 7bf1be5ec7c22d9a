"""Which companies filed a report since the last run, from SEC's daily form index.

data.sec.gov answers no conditional requests, so asking each company's submissions whether
anything changed costs one request per company per night. The daily form index lists every
filing of a day in one file: a handful of requests a week tell which companies need their
filings and facts fetched again. When an index that should exist cannot be read, the scan says
"unknown" and the run falls back to asking every company.

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
from .http import NotFound, UpstreamError, Upstreams
from .wire import decode_body

log = logging.getLogger(__name__)

INDEX_URL = (
    "https://www.sec.gov/Archives/edgar/daily-index/{day:%Y}/QTR{quarter}/form.{day:%Y%m%d}.idx"
)
# A business day's index still missing this many days later was an unscheduled closing (a
# national day of mourning, say), not a late upload.
MISSING_MEANS_HOLIDAY_AFTER = timedelta(days=3)
FORM_COLUMN = 12
NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class IndexScan:
    """`ciks` is None when the scan could not tell (then every company is asked)."""

    ciks: set[int] | None
    through: date
    days_read: int = 0
    notes: list[str] = field(default_factory=list)


def index_url(day: date) -> str:
    return INDEX_URL.format(day=day, quarter=(day.month - 1) // 3 + 1)


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
    scan = IndexScan(ciks=set(), through=through)
    newest = last_published_day(now)
    today = newest + timedelta(days=1)
    day = through + timedelta(days=1)
    closed = federal_holidays(day, newest)
    while day <= newest:
        if day.weekday() < 5 and day not in closed:
            try:
                scan.ciks |= upstreams.get_body(index_url(day), parse=read_index)
                scan.days_read += 1
            except NotFound:
                if today - day <= MISSING_MEANS_HOLIDAY_AFTER:
                    scan.notes.append(
                        f"SEC daily index for {day} is missing; asking every company instead"
                    )
                    scan.ciks = None
                    return scan
            except UpstreamError as error:
                scan.notes.append(
                    f"SEC daily index for {day} unreadable ({error}); asking every company instead"
                )
                scan.ciks = None
                return scan
        scan.through = day
        day += timedelta(days=1)
    return scan
