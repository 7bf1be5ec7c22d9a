"""SEC's nightly companyfacts.zip: one download instead of one request per company, when many
companies need their facts (a cold start, a new database, a long outage).

The rule (`config.sources.companyfacts_zip_from`, 1,000 by default): the archive is about 1.4 GB
(1,400,391,677 bytes on 2026-08-10); at 100 Mbit/s it takes 112 s to fetch, what 1,000
companyfacts requests take at SEC's 9 a second. From there on it is cheaper, and it spends one
request of SEC's budget, which the submissions and documents use meanwhile; below, per-company
requests are. It is streamed to a file under the cache folder and read member by member, for our
companies only (memory holds one company's facts at a time), and removed when the run ends.

SEC compiles it at about 03:00 New York time: a company whose newest filing is dated on or after
that day (`FactsArchive.covers`) is asked directly, as is one the archive lacks. An archive that
cannot be had or read whole (a failed download, a truncated or corrupt file) costs one log line:
every company is then asked directly, as without it.
"""

import logging
import threading
import zipfile
import zlib
from datetime import date, datetime
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
    """companyfacts.zip, downloaded in the background from `start()`; `archive()` waits for
    it and is None when it could not be had."""

    def __init__(self, upstreams: Upstreams, folder: Path):
        self.upstreams, self.path = upstreams, folder / "companyfacts.zip"
        self._done = threading.Event()
        self._archive: FactsArchive | None = None
        self.seconds: float | None = None
        self.bytes = 0

    def start(self) -> None:
        threading.Thread(target=self._download, name="companyfacts.zip", daemon=True).start()

    def _download(self) -> None:
        started = datetime.now()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            modified = self.upstreams.download(COMPANYFACTS_ZIP_URL, self.path)
            self._archive = FactsArchive(self.path, compiled_day(modified))
            self.bytes = self.path.stat().st_size
            self.seconds = (datetime.now() - started).total_seconds()
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
            self._done.set()

    def archive(self) -> FactsArchive | None:
        self._done.wait()
        return self._archive

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
