"""EDGAR's big bodies turned into rows in a helper process, off the fetch threads.

Every fetch thread shares one interpreter lock. Decompressing and decoding a companyfacts
payload and building its earnings rows, or reading a 10-K's sections, is 5-40 ms of pure
Python; done in the fetch threads, that time is taken from the threads about to send the
next request, and the job falls behind the rate limit it is allowed. One helper process does
it on another core instead. Bodies cross over as they came off the wire (gzip: a few times
smaller) and only rows come back, so the job itself never holds a decoded payload.
"""

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from . import checks, sections, xbrl
from .report import peak_rss_mb
from .wire import decode_body


def earnings(data: bytes, encoding: str) -> tuple[list[dict], list[str], checks.Checks]:
    """companyfacts body -> (earnings rows, notes, their cross-checks); ValueError for a body
    that is not JSON."""
    rows, notes = xbrl.earnings_rows(xbrl.read_companyfacts(decode_body(data, encoding)))
    return rows, notes, checks.check_rows(rows)


def filing_sections(data: bytes, encoding: str, form: str) -> tuple[list[dict], list[str]]:
    """10-K/10-Q primary document body -> (section rows, notes); ValueError for a body that
    is not the whole document."""
    body = decode_body(data, encoding)
    sections.check_whole(body)
    return sections.extract_sections(body, form)


def _exit_with_parent(parent: int) -> None:
    """Run in the helper at start: a job killed with SIGKILL cannot stop its helper, and the
    pool's pipes do not tell an idle helper, so the helper watches for being orphaned. The
    job's pid comes from the job: one killed while the helper was still starting has already
    left it to another parent."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Parser:
    """The helper process: started on first use, replaced if it dies (once per call)."""

    def __init__(self):
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.peak_rss_mb = 0.0  # the helper's, read when it is closed

    def start(self) -> None:
        """Start the helper now: it imports in the background while the run's first requests
        go out, instead of when the first body is in."""
        self._running().submit(os.getpid)

    def earnings(self, data: bytes, encoding: str) -> tuple[list[dict], list[str], checks.Checks]:
        return self._call(earnings, data, encoding)

    def sections(self, data: bytes, encoding: str, form: str) -> tuple[list[dict], list[str]]:
        return self._call(filing_sections, data, encoding, form)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool:
            try:
                self.peak_rss_mb = max(self.peak_rss_mb, pool.submit(peak_rss_mb).result(10))
            except (BrokenProcessPool, TimeoutError):
                pass
            pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, function, *args):
        for attempt in (1, 2):
            pool = self._running()
            try:
                return pool.submit(function, *args).result()
            except BrokenProcessPool:
                self._discard(pool)
                if attempt == 2:
                    raise

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: forking a process with running threads can copy a held lock
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_exit_with_parent,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
