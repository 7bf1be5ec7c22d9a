"""The sliding-window limiter: never more than N in any window, evenly paced, and no slower
than it must be."""

import itertools
import threading
import time

from stock_refresh.limiter import (
    MARGIN,
    SharedSlidingWindowLimiter,
    SlidingWindowLimiter,
    WaitSpans,
    limiter_for_rate,
    wall_seconds,
)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_threads_never_exceed_the_rate_in_any_sliding_second():
    limiter = SlidingWindowLimiter(20, 1.0, margin=0.0)
    times, lock = [], threading.Lock()

    def worker():
        for _ in range(10):
            turn = limiter.acquire()
            with lock:
                times.append(time.monotonic())  # the "send"
            limiter.sent(turn)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(times) == 80
    assert max_in_window(times, 1.0) <= 20
    assert elapsed >= 79 * 0.05 - 0.01  # evenly paced: one turn every 1/20 s


def fake_clock(overshoot: float = 0.0):
    """(clock, sleep) where sleeping advances the clock, plus `overshoot` (a late wake-up)."""
    now = [0.0]
    return (lambda: now[0]), (lambda s: now.__setitem__(0, now[0] + s + overshoot)), now


def test_token_bucket_style_burst_at_a_window_edge_is_refused():
    """A fixed window lets 2N through around its edge; this one spaces turns 1/N apart."""
    clock, sleep, now = fake_clock()
    limiter = SlidingWindowLimiter(5, 1.0, margin=0.0, clock=clock, sleep=sleep)
    sent = []
    now[0] = 0.5
    for _ in range(10):
        limiter.acquire()
        sent.append(now[0])
    assert [round(t, 6) for t in sent] == [round(0.5 + 0.2 * i, 6) for i in range(10)]
    assert max_in_window(sent, 1.0) == 5


def test_late_wake_ups_do_not_slow_the_pace():
    """Each waiter sleeps until its own moment; waking 3 ms late delays that request only (and
    the window of its send: so the pace slips by 3 ms per window, not 3 ms per request)."""
    clock, sleep, now = fake_clock(overshoot=0.003)
    limiter = SlidingWindowLimiter(5, 1.0, margin=0.0, clock=clock, sleep=sleep)
    sent = []
    for _ in range(10):
        limiter.sent(limiter.acquire())
        sent.append(now[0])
    assert sent[-1] - sent[0] <= 9 * 0.2 + 2 * 0.0031
    assert max_in_window(sent, 1.0) == 5


def test_a_pause_reschedules_the_moments_already_handed_out():
    """Waiters queued before a server said "back off" go after the pause, still spaced."""
    limiter = SlidingWindowLimiter(10, 1.0, margin=0.0)
    limiter.acquire()
    times = []

    def worker():
        limiter.acquire()
        times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.03)  # all three hold a moment 0.1, 0.2 and 0.3 s out
    paused_at = time.monotonic()
    limiter.pause(0.5)
    for thread in threads:
        thread.join()
    times.sort()
    assert times[0] >= paused_at + 0.5
    assert all(b - a >= 0.09 for a, b in itertools.pairwise(times))


def test_pause_holds_every_caller():
    clock, sleep, now = fake_clock()
    limiter = SlidingWindowLimiter(100, 1.0, clock=clock, sleep=sleep)
    limiter.pause(600)
    limiter.acquire()
    assert limiter.waited == 600


def test_a_late_send_moves_its_window():
    """A turn granted at 0 whose request only left at 0.3 keeps its slot until 1.3 (+margin)."""
    clock, sleep, now = fake_clock()
    limiter = SlidingWindowLimiter(1, 1.0, margin=0.0, clock=clock, sleep=sleep)
    turn = limiter.acquire()
    now[0] = 0.3
    limiter.sent(turn)
    limiter.acquire()
    assert now[0] == 1.3


def test_a_send_told_late_counts_from_when_it_left():
    """A sender that can only say so once its answer is in (curl) gives how long ago the request
    left: the window runs from then, not from the answer, or every turn a window later waits
    for that answer too."""
    clock, sleep, now = fake_clock()
    limiter = SlidingWindowLimiter(1, 1.0, margin=0.0, clock=clock, sleep=sleep)
    turn = limiter.acquire()
    now[0] = 0.3  # the answer is in; the request left at 0.05
    limiter.sent(turn, ago=0.25)
    limiter.acquire()
    assert round(now[0], 6) == 1.05


def test_fractional_rates_become_one_request_per_interval():
    assert limiter_for_rate(0) is None
    slow = limiter_for_rate(0.5)
    assert (slow.max_requests, round(slow.window - MARGIN, 6)) == (1, 2.0)
    assert limiter_for_rate(9.5).max_requests == 9


def test_processes_sharing_a_limiter_file_stay_under_the_rate_together(tmp_path):
    """Two processes (the batch and, say, a web app) share one SEC budget through the file."""
    import subprocess
    import sys

    from tests.paths import ROOT

    script = (
        "import sys, time\n"
        "from stock_refresh.limiter import SharedSlidingWindowLimiter\n"
        "limiter = SharedSlidingWindowLimiter(sys.argv[1], 10)\n"
        "for _ in range(15):\n"
        "    turn = limiter.acquire()\n"
        "    print(time.time(), flush=True)\n"
        "    limiter.sent(turn)\n"
    )
    path = tmp_path / "edgar-limiter.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    times = [float(line) for proc in procs for line in proc.communicate(timeout=60)[0].split()]
    assert len(times) == 30
    assert max_in_window(times, 1.0) <= 10
    assert max(times) - min(times) >= 1.9  # 30 requests at 10/s need at least two more windows


def test_wait_spans_merge_overlaps_in_any_order():
    spans = WaitSpans()
    for start, end in [(5, 6), (0, 1), (0.5, 2), (8, 9), (3, 4), (1.5, 3.5), (7, 7)]:
        spans.add(start, end)
    assert spans.spans() == [(0, 4), (5, 6), (8, 9)]
    assert spans.seconds == 6
    other = WaitSpans()
    other.add(3.5, 5.5)
    other.add(10, 11)
    assert wall_seconds(spans, other) == 8  # 0..6, 8..9 and 10..11


def waits_of_eight_threads(limiter) -> float:
    """Eight threads taking five turns each; returns how long they took."""

    def worker():
        for _ in range(5):
            limiter.sent(limiter.acquire())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def test_summed_waits_exceed_the_elapsed_time_and_wall_waits_do_not(tmp_path):
    for limiter in (
        SlidingWindowLimiter(20, 1.0, margin=0.0),
        SharedSlidingWindowLimiter(tmp_path / "edgar-limiter.sqlite", 20),
    ):
        elapsed = waits_of_eight_threads(limiter)
        wall = limiter.wait_spans.seconds
        assert limiter.waited > 2 * elapsed  # eight threads queue behind each other
        assert 0.5 * elapsed < wall <= elapsed, (type(limiter).__name__, wall, elapsed)


def test_the_work_in_flight_follows_the_limits_and_the_measured_latency():
    """Per upstream: SEC's 9/s and Yahoo's 2/s. At 50 ms four on their way keep each busy, at
    800 ms SEC needs eighteen and Yahoo seven; never more than max_workers together (the
    smaller need met first, so a slow SEC cannot starve Yahoo); an unpaced upstream takes what
    the other leaves."""
    from stock_refresh.http import Upstreams

    def needed(latency: float, most: int = 32, yahoo_delay: float = 0.5, sec=None) -> dict:
        upstreams = Upstreams(
            sec_contact="Jane Doe jane.doe@gmail.com",
            edgar_requests_per_second=9,
            yahoo_delay_seconds=yahoo_delay,
            timeout=5,
            retries=0,
            edgar_cooldown=1,
        )
        for _ in range(200):  # the moving average settles on what is measured
            upstreams.answered("edgar", sec or latency)
            upstreams.answered("yahoo", latency)
        return upstreams.in_flight_needed(most)

    assert needed(0.05) == {"edgar": 4, "yahoo": 4}
    assert needed(0.2) == {"edgar": 7, "yahoo": 4}  # 9 x 0.2 x 2 = 3.6 -> 4, + 3
    assert needed(0.8) == {"edgar": 18, "yahoo": 7}  # 9 x 0.8 x 2 = 14.4 -> 15, + 3
    assert needed(0.8, most=8) == {"edgar": 4, "yahoo": 4}  # Yahoo's 7 is more than half
    assert needed(0.05, most=16, sec=0.8) == {"edgar": 12, "yahoo": 4}  # Yahoo's 4 first
    assert needed(0.2, yahoo_delay=0) == {"edgar": 7, "yahoo": 25}
