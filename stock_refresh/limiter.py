"""A sliding-window rate limiter shared by every thread that talks to one upstream.

Written here rather than taken from a package because the guarantee we need is exact: SEC
blocks a client that sends more than N requests in *any* one-second window. A token bucket
(pyrate-limiter's default, `ratelimit`'s fixed window) lets up to 2N through across a window
edge; a log of the last N send times cannot, and it is a dozen lines.
"""
import sqlite3
import threading
import time
from collections import deque
from contextlib import closing


class SlidingWindowLimiter:
    """At most `max_requests` acquisitions in any window of `period` seconds.

    `margin` widens the window a little so that scheduling jitter between our clock and the
    server's arrival times cannot squeeze N+1 requests into the server's one second.
    """

    def __init__(self, max_requests: int, period: float = 1.0, margin: float = 0.05,
                 clock=time.monotonic, sleep=time.sleep):
        if max_requests < 1 or period <= 0:
            raise ValueError("max_requests must be >= 1 and period > 0")
        self.max_requests = max_requests
        self.window = period + margin
        self._sent = deque()
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a server told us to back off)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds spent waiting."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] + self.window <= now:
                    self._sent.popleft()
                if now < self._paused_until:
                    delay = self._paused_until - now
                elif len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    self.waited += waited
                    return waited
                else:
                    delay = self._sent[0] + self.window - now
            self._sleep(delay)
            waited += delay


def limiter_for_rate(requests_per_second: float) -> SlidingWindowLimiter | None:
    """A limiter for a rate that may be fractional (0.5/s = one request per 2 s); None = no limit."""
    if requests_per_second <= 0:
        return None
    if requests_per_second >= 1:
        return SlidingWindowLimiter(int(requests_per_second), 1.0)
    return SlidingWindowLimiter(1, 1.0 / requests_per_second)


class SharedSlidingWindowLimiter:
    """The same bound across processes: the send times live in a small SQLite file.

    SEC's limit is per user, all machines together, so a web app and the batch on one machine
    must share one window; both point a `SharedSlidingWindowLimiter` at the same file.
    """

    def __init__(self, path, max_requests: int, period: float = 1.0, margin: float = 0.05,
                 sleep=time.sleep):
        if max_requests < 1 or period <= 0:
            raise ValueError("max_requests must be >= 1 and period > 0")
        self.path = str(path)
        self.max_requests = max_requests
        self.window = period + margin
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0
        with closing(self._connect()) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sent (t REAL NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS paused (id INTEGER PRIMARY KEY CHECK (id = 1), "
                         "until REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def pause(self, seconds: float) -> None:
        with closing(self._connect()) as conn:
            conn.execute("INSERT INTO paused (id, until) VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                         "SET until = max(until, excluded.until)", [time.time() + seconds])

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                now = time.time()  # wall clock: the one clock every process shares
                conn.execute("DELETE FROM sent WHERE t + ? <= ?", [self.window, now])
                paused = conn.execute("SELECT until FROM paused").fetchone()
                count, oldest = conn.execute("SELECT count(*), min(t) FROM sent").fetchone()
                if paused and now < paused[0]:
                    delay = paused[0] - now
                elif count < self.max_requests:
                    conn.execute("INSERT INTO sent (t) VALUES (?)", [now])
                    conn.execute("COMMIT")
                    with self._lock:
                        self.waited += waited
                    return waited
                else:
                    delay = oldest + self.window - now
                conn.execute("COMMIT")
            self._sleep(delay)
            waited += delay
