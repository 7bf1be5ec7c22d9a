"""The suite's one "now": tests, the CLI subprocesses and the fake upstreams run as of it.

The default is a Wednesday, 07:00 UTC (02:00 in New York, the night after a session closed);
STOCK_REFRESH_TEST_NOW runs the suite as of another moment (ISO-8601 with its UTC offset). The
suite's clock runs on from it with the monotonic clock, so two runs of the job one after the
other keep their order, as they do in real life.
"""

import os
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from stock_refresh.clock import NOW_ENV, parse_now

TEST_NOW_ENV = "STOCK_REFRESH_TEST_NOW"
DEFAULT = "2026-11-18T07:00:00+00:00"
NEW_YORK = ZoneInfo("America/New_York")

TEST_NOW: datetime = parse_now(os.environ.get(TEST_NOW_ENV) or DEFAULT)
AS_OF: date = TEST_NOW.astimezone(NEW_YORK).date()  # the fakes' today: SEC's day
_BEGUN = time.monotonic()


def suite_now() -> datetime:
    """TEST_NOW plus the time the suite has run, to the second."""
    return TEST_NOW + timedelta(seconds=int(time.monotonic() - _BEGUN))


def pinned(environ: dict, now: datetime | None = None) -> dict:
    """`environ` with the job's clock pinned at `now` (default: the suite's now)."""
    return {**environ, NOW_ENV: (now or suite_now()).isoformat()}
