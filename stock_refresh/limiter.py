"""A sliding-window rate limiter shared by every thread that talks to one upstream.

Written here rather than taken from a package because the guarantee we need is exact: SEC
blocks a client that sends more than N requests in *any* one-second window. A token bucket
(pyrate-limiter's default, `ratelimit`'s fixed window) lets up to 2N through across a window
edge; a log of the last N send times cannot, and it is a dozen lines.
"""
import threading
import time
from collections import deque


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
