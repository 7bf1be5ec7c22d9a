"""The sliding-window limiter: never more than N in any window, and no slower than it must be."""
import threading
import time

from stock_refresh.limiter import MARGIN, SlidingWindowLimiter, limiter_for_rate


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
    # 80 requests at 20/s need three more windows after the first; the first 20 go at once.
    assert elapsed >= 2.9
    times.sort()
    assert times[19] - times[0] < 0.5


def test_token_bucket_style_burst_at_a_window_edge_is_refused():
    """A fixed window lets 2N through around its edge; the sliding window must not."""
    now = [0.0]
    limiter = SlidingWindowLimiter(5, 1.0, margin=0.0, clock=lambda: now[0],
                                   sleep=lambda s: now.__setitem__(0, now[0] + s))
    sent = []
    now[0] = 0.5
    for _ in range(10):
        limiter.acquire()
        sent.append(now[0])
    assert sent[:5] == [0.5] * 5
    assert all(t >= 1.5 for t in sent[5:])
    assert max_in_window(sent, 1.0) == 5


def test_pause_holds_every_caller():
    now = [0.0]
    limiter = SlidingWindowLimiter(100, 1.0, clock=lambda: now[0],
                                   sleep=lambda s: now.__setitem__(0, now[0] + s))
    limiter.pause(600)
    limiter.acquire()
    assert limiter.waited == 600


def test_a_late_send_moves_its_window():
    """A turn granted at 0 whose request only left at 0.3 keeps its slot until 1.3 (+margin)."""
    now = [0.0]
    limiter = SlidingWindowLimiter(1, 1.0, margin=0.0, clock=lambda: now[0],
                                   sleep=lambda s: now.__setitem__(0, now[0] + s))
    turn = limiter.acquire()
    now[0] = 0.3
    limiter.sent(turn)
    limiter.acquire()
    assert now[0] == 1.3


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
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    times = [float(line) for proc in procs for line in proc.communicate(timeout=60)[0].split()]
    assert len(times) == 30
    assert max_in_window(times, 1.0) <= 10
    assert max(times) - min(times) >= 1.9  # 30 requests at 10/s need at least two more windows
