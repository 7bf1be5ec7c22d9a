"""SEC's nightly companyfacts.zip: one download instead of one request per company, when many
companies need their facts (a cold start, a new database, a long outage).

The rule (`config.sources.companyfacts_zip_from`, 1,000 by default): the archive is about 1.4 GB
(1,400,391,677 bytes on 2026-08-10); at 100 Mbit/s it takes 112 s to fetch, what 1,000
companyfacts requests take at SEC's 9 a second. From there on it is cheaper, and it spends one
request of SEC's budget, which the submissions and documents use meanwhile; below, per-company
requests are. It is streamed to a file under the cache folder and read member by member, for our
companies only (memory holds one company's facts at a time), and removed when the run ends.

SEC compiles it at about 03:00 New York time, the day its Last-Modified says (`compiled_on`,
known as soon as the download starts): the run asks directly the companies SEC's daily indexes
show filing since, and any whose filings turn out newer than that day (`FactsArchive.covers`),
as it does one the archive lacks. An archive that cannot be had or read whole (a failed
download, a truncated or corrupt file) costs one log line: every company is then asked
directly, as without it.
"""

import logging
import threading
import time
import zipfile
import zlib
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path

from .http import UpstreamError, Upstreams
from .market_calendar import NEW_YORK

log = logging.getLogger(__name__)

COMPANYFACTS_ZIP_URL = "https://www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip"


class FactsArchive:
    """A downloaded companyfacts.zip, compiled on `compiled` (a New York date)."""

    def __init__(self, path: Path, compiled: date):
        self.path, self.compiled = path, compiled
        self._zip = zipfile.ZipFile(path)  # reads the central directory: BadZipFile if cut
        self._lock = threading.Lock()  # one ZipFile, read by every worker
        self._warned = False

    def covers(self, newest_filing_date: str | None) -> bool:
        """Whether the archive was compiled after the company's newest filing."""
        return newest_filing_date is None or newest_filing_date < self.compiled.isoformat()

    def member(self, cik: int) -> bytes | None:
        """The company's companyfacts JSON, or None (not in the archive, or unreadable: one
        log line for the run, and the company is asked directly)."""
        name = f"CIK{cik:010d}.json"
        try:
            with self._lock:
                return self._zip.read(name)
        except KeyError:
            return None
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
            if not self._warned:
                self._warned = True
                log.warning(
                    "companyfacts.zip: %s unreadable (%s); such companies are asked directly",
                    name,
                    error,
                )
            return None

    def close(self) -> None:
        self._zip.close()


class BulkFacts:
    """companyfacts.zip, downloaded in the background from `start()`: `compiled_on()` says as
    soon as the answer starts which day it was compiled, `archive()` waits for the whole file
    and is None when it could not be had."""

    def __init__(self, upstreams: Upstreams, folder: Path):
        self.upstreams, self.path = upstreams, folder / "companyfacts.zip"
        self._started = threading.Event()  # the answer's headers are in, or the download ended
        self._done = threading.Event()
        self._compiled: date | None = None
        self._archive: FactsArchive | None = None
        self.seconds: float | None = None
        self.bytes = 0
        self._ended = 0.0  # time.monotonic() when the download ended

    def start(self) -> None:
        threading.Thread(target=self._download, name="companyfacts.zip", daemon=True).start()

    def _download(self) -> None:
        started = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            modified = self.upstreams.download(COMPANYFACTS_ZIP_URL, self.path, self._headers)
            self._archive = FactsArchive(self.path, compiled_day(modified))
            self.bytes = self.path.stat().st_size
            self.seconds = time.monotonic() - started
            log.info(
                "companyfacts.zip: %.1f MB in %.1f s, compiled %s",
                self.bytes / 1e6,
                self.seconds,
                self._archive.compiled,
            )
        except (UpstreamError, OSError, zipfile.BadZipFile, ValueError) as error:
            log.warning(
                "companyfacts.zip not usable (%s): one companyfacts request per company instead",
                error,
            )
            self.path.unlink(missing_ok=True)
        finally:
            self._ended = time.monotonic()
            self._started.set()
            self._done.set()

    def _headers(self, last_modified: str | None) -> None:
        try:
            self._compiled = compiled_day(last_modified)
        except ValueError:
            pass  # the download then fails on it, with its log line
        self._started.set()

    def compiled_on(self) -> date | None:
        """The day the archive being downloaded was compiled on, once its answer has started
        (None: it will not be had)."""
        self._started.wait()
        return self._compiled

    def ready(self) -> bool:
        """Whether the download has ended (`archive()` no longer waits)."""
        return self._done.is_set()

    def archive(self) -> FactsArchive | None:
        self._done.wait()
        return self._archive

    def summary(self, run_started: float) -> dict:
        """For the report: whether it was had, its size, when it was in (seconds from
        `run_started`, a time.monotonic()) and how long it took."""
        self._done.wait()
        return {
            "used": self._archive is not None,
            "compiled": self._archive.compiled.isoformat() if self._archive else None,
            "bytes": self.bytes,
            "download_seconds": None if self.seconds is None else round(self.seconds, 3),
            "ready_at": round(self._ended - run_started, 3),
        }

    def close(self) -> None:
        """Remove the file (it is rebuilt by SEC every night); after the download ended."""
        self._done.wait()
        if self._archive:
            self._archive.close()
        self.path.unlink(missing_ok=True)


def compiled_day(last_modified: str | None) -> date:
    """The New York date the archive was compiled on, from its Last-Modified."""
    if not last_modified:
        raise ValueError("no Last-Modified: its age is unknown")
    return parsedate_to_datetime(last_modified).astimezone(NEW_YORK).date()
