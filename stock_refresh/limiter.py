"""A sliding-window rate limiter shared by every thread that talks to one upstream.

Written here rather than taken from a package because the guarantee we need is exact: SEC
blocks a client that sends more than N requests in *any* one-second window. A token bucket
(pyrate-limiter's default, `ratelimit`'s fixed window) lets up to 2N through across a window
edge; a log of the last N send times cannot, and it is a few dozen lines.

What counts is when the server stamps a request, not when we granted it, so three things
keep the two close:
- A granted turn is logged at the moment it is granted and moved to the moment the request
  actually left once the sender says so (`sent`): under load the gap reaches a tenth of a
  second (the interpreter lock, the connection pool). Moved to that moment, not to when the
  sender got round to saying so: a turn counted from its answer instead makes the turn a
  window later wait for that answer, which cost Yahoo's lane 5 % of its rate.
- Turns are spaced evenly, `window / N` apart, instead of N at once: a server works through a
  burst one request after another, so it stamps the end of a burst tens of milliseconds late,
  and those late stamps crowd the next second.
- `MARGIN` widens the window for what is left: a server stamping some milliseconds late.
"""

import sqlite3
import threading
import time
from contextlib import closing

MARGIN = 0.02


class WaitSpans:
    """The stretches of time during which at least one caller waited, merged as they come in.
    Eight threads waiting the same second count one second here (wall-clock time, never more
    than the run took), where a sum over the threads counts eight."""

    def __init__(self):
        self._lock = threading.Lock()
        self._spans: list[tuple[float, float]] = []  # sorted, disjoint

    def add(self, start: float, end: float) -> None:
        if end <= start:
            return
        with self._lock:
            later = []  # spans after the new one, set aside while it merges with its neighbours
            while self._spans and self._spans[-1][1] >= start:
                first, last = self._spans.pop()
                if first <= end:
                    start, end = min(start, first), max(end, last)
                else:
                    later.append((first, last))
            self._spans.append((start, end))
            self._spans.extend(reversed(later))

    def spans(self) -> list[tuple[float, float]]:
        with self._lock:
            return list(self._spans)

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans())


def wall_seconds(*waits: WaitSpans) -> float:
    """Seconds during which at least one caller of any of `waits` was waiting."""
    merged = WaitSpans()
    for start, end in sorted(span for spans in waits for span in spans.spans()):
        merged.add(start, end)
    return merged.seconds


class SlidingWindowLimiter:
    """At most `max_requests` requests in any window of `period` seconds (+ `margin`), spaced
    evenly: each caller is given the next free moment and sleeps until it.

    Handing out moments (rather than waking every waiter to race for the next turn) keeps the
    pace exact: a waiter that wakes a few milliseconds late, because another thread held the
    interpreter lock, delays only its own request, not every turn after it.
    """

    def __init__(
        self,
        max_requests: int,
        period: float = 1.0,
        margin: float = MARGIN,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        if max_requests < 1 or period <= 0:
            raise ValueError("max_requests must be >= 1 and period > 0")
        self.max_requests = max_requests
        self.window = period + margin
        self.spacing = self.window / max_requests
        self._turns: list[list[float]] = []  # [time] per turn, moved forward by sent()
        self._lock = threading.Lock()
        self._next_free = 0.0
        self._paused_until = 0.0
        self._pauses = 0  # a pause cancels the moments handed out before it
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0  # summed over the waiting threads
        self.wait_spans = WaitSpans()  # the same waits as stretches of elapsed time

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (a server told us to back off)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            self._pauses += 1
            self._next_free = 0.0

    def acquire(self) -> list[float]:
        """Block until a request may be sent; returns the turn to pass to `sent`."""
        while True:
            with self._lock:
                now = self._clock()
                self._turns = [turn for turn in self._turns if turn[0] + self.window > now]
                moment = max(now, self._next_free, self._paused_until)
                times = sorted(turn[0] for turn in self._turns)
                if len(times) >= self.max_requests:
                    moment = max(moment, times[-self.max_requests] + self.window)
                turn, pauses = [moment], self._pauses
                self._turns.append(turn)
                self._next_free = moment + self.spacing
                self.waited += moment - now
                self.wait_spans.add(now, moment)
            if moment > now:
                self._sleep(moment - now)
            with self._lock:
                if pauses == self._pauses:
                    return turn
                self._turns.remove(turn)  # paused meanwhile: queue again behind the pause

    def sent(self, turn: list[float], ago: float = 0.0) -> None:
        """The request of `turn` left `ago` seconds ago (just now by default): count its window
        from then."""
        with self._lock:
            turn[0] = max(turn[0], self._clock() - ago)


def limiter_for_rate(requests_per_second: float) -> SlidingWindowLimiter | None:
    """A limiter for a possibly fractional rate (0.5/s = one request per 2 s); None = no limit."""
    if requests_per_second <= 0:
        return None
    if requests_per_second >= 1:
        return SlidingWindowLimiter(int(requests_per_second), 1.0)
    return SlidingWindowLimiter(1, 1.0 / requests_per_second)


class SharedSlidingWindowLimiter:
    """The same bound across processes: the turns live in a small SQLite file.

    SEC's limit is per user, all machines together, so a web app and the batch on one machine
    must share one window; both point a `SharedSlidingWindowLimiter` at the same file.
    """

    def __init__(self, path, max_requests: int):
        if max_requests < 1:
            raise ValueError("max_requests must be >= 1")
        self.path = str(path)
        self.max_requests = max_requests
        self.window = 1.0 + MARGIN
        self.spacing = self.window / max_requests
        self._lock = threading.Lock()
        self.waited = 0.0  # summed over the waiting threads
        self.wait_spans = WaitSpans()  # the same waits on this process's monotonic clock
        with closing(self._connect()) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sent (t REAL NOT NULL)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS paused (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "until REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def pause(self, seconds: float) -> None:
        with closing(self._connect()) as conn:
            conn.execute(
                "INSERT INTO paused (id, until) VALUES (1, ?) ON CONFLICT(id) DO UPDATE "
                "SET until = max(until, excluded.until)",
                [time.time() + seconds],
            )

    def acquire(self) -> int:
        """Block until a request may be sent; returns the turn to pass to `sent`."""
        waited, started = 0.0, time.monotonic()
        while True:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                now = time.time()  # wall clock: the one clock every process shares
                conn.execute("DELETE FROM sent WHERE t + ? <= ?", [self.window, now])
                paused = conn.execute("SELECT until FROM paused").fetchone()
                count, oldest, newest = conn.execute(
                    "SELECT count(*), min(t), max(t) FROM sent"
                ).fetchone()
                if paused and now < paused[0]:
                    delay = paused[0] - now
                elif count and now < newest + self.spacing:
                    delay = newest + self.spacing - now
                elif count < self.max_requests:
                    turn = conn.execute("INSERT INTO sent (t) VALUES (?)", [now]).lastrowid
                    conn.execute("COMMIT")
                    with self._lock:
                        self.waited += waited
                    if waited:
                        self.wait_spans.add(started, time.monotonic())
                    return turn
                else:
                    delay = oldest + self.window - now
                conn.execute("COMMIT")
            time.sleep(delay)
            waited += delay

    def sent(self, turn: int) -> None:
        with closing(self._connect()) as conn:
            conn.execute("UPDATE sent SET t = max(t, ?) WHERE rowid = ?", [time.time(), turn])
