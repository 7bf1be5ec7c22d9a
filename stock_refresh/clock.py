"""The job's one clock, in UTC.

A run reads the time once, as it starts: every date it decides (the plan, the SEC indexes it
asks for, the five years of filings, the market-open warning, the backup and report names)
comes from that moment, so a run that crosses midnight still works on one day. The timestamps it
writes move on from that moment with the monotonic clock, so durations stay true even when the
system clock is stepped. `STOCK_REFRESH_NOW` pins the start, for tests and for trying a date by
hand: `STOCK_REFRESH_NOW=2026-11-25T07:00:00+00:00` runs as if started at that moment.
"""

import os
import time
from datetime import UTC, date, datetime, timedelta

NOW_ENV = "STOCK_REFRESH_NOW"
EXAMPLE = "2026-11-25T07:00:00+00:00"

_start: tuple[datetime, float] | None = None


class ClockError(ValueError):
    """`STOCK_REFRESH_NOW` is not a time with its UTC offset (one-line message)."""


def parse_now(text: str) -> datetime:
    """An ISO-8601 time with an offset, as aware UTC; a time without offset is refused because
    it would mean a different moment in every zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ClockError(
            f"{NOW_ENV}: expected an ISO-8601 time with its UTC offset such as {EXAMPLE}, "
            f"found {text!r}"
        )
    return moment.astimezone(UTC)


def start(environ=None) -> datetime:
    """Start the clock: at `STOCK_REFRESH_NOW` when it is set and not empty, else now."""
    global _start
    text = (os.environ if environ is None else environ).get(NOW_ENV)
    moment = parse_now(text) if text else datetime.now(UTC)
    _start = (moment.replace(microsecond=0), time.monotonic())
    return _start[0]


def started() -> datetime:
    """The moment the run started (the clock starts here if nothing started it)."""
    if _start is None:
        start()
    return _start[0]


def today() -> date:
    """The UTC date of the run's start."""
    return started().date()


def now() -> datetime:
    """The start plus the monotonic time since, to the second: for timestamps."""
    moment = started()
    return moment + timedelta(seconds=int(time.monotonic() - _start[1]))
