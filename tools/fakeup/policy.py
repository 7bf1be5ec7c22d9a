"""Rate limits, latency and injected faults: the misbehaviour the job has to survive."""

import bisect
import fnmatch
import random
import re
import threading
from dataclasses import dataclass

ACTIONS = ("status", "delay", "hang", "truncate", "malformed", "empty", "reset", "badgzip")
RULE = re.compile(
    r"^(?P<pattern>.+?)=(?P<action>" + "|".join(ACTIONS) + r")(?::(?P<param>[^@#]*))?"
    r"(?:@(?P<prob>[0-9.]+))?(?:#(?P<count>\d+))?$"
)
UA_OK = re.compile(
    r"[A-Za-z]{2,}.*\s\S+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|"
    r"\S+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\s.*[A-Za-z]{2,}"
)


class SpecError(ValueError):
    pass


@dataclass
class Fault:
    pattern: str
    action: str
    param: str = ""
    probability: float = 1.0
    count: int | None = None
    fired: int = 0

    @property
    def status(self) -> int:
        return int(self.param.split(",")[0]) if self.param else 500

    @property
    def retry_after(self) -> str | None:
        for part in self.param.split(",")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "retry-after":
                return value.strip()
        return None

    def seconds(self, default: float) -> float:
        return float(self.param) / 1000 if self.param else default


def parse_faults(specs: list[str]) -> list[Fault]:
    faults = []
    for spec in specs:
        for text in filter(None, (s.strip() for s in spec.split(";"))):
            m = RULE.match(text)
            if not m:
                raise SpecError(
                    f"bad fault rule {text!r}: expected HOST/PATH-GLOB=ACTION[:PARAM][@P][#N]"
                )
            f = Fault(
                m["pattern"],
                m["action"],
                m["param"] or "",
                float(m["prob"]) if m["prob"] else 1.0,
                int(m["count"]) if m["count"] else None,
            )
            if f.action == "status":
                try:
                    int(f.status)
                except ValueError:
                    raise SpecError(f"bad status in {text!r}") from None
            if not 0 <= f.probability <= 1:
                raise SpecError(f"probability must be within 0..1 in {text!r}")
            faults.append(f)
    return faults


def declared_user_agent(ua: str) -> bool:
    """SEC wants 'Company or Name contact@domain.tld'."""
    return bool(UA_OK.search(ua or ""))


class Window:
    """Requests per client in a sliding one-second window, with an optional block after a violation.

    Requests are counted at their arrival time, and handler threads may count them a little out
    of order, so the times are kept sorted and every one-second window holding the new request
    is checked, not only the one ending at it.
    """

    def __init__(self, limit: float | None, block_seconds: float = 0.0):
        self.limit, self.block_seconds = limit, block_seconds
        self.hits: dict[str, list[float]] = {}
        self.blocked_until: dict[str, float] = {}
        self.lock = threading.Lock()

    def allow(self, client: str, now: float) -> bool:
        """Count a request that arrived at `now` (monotonic); False when it is over the limit."""
        if self.limit is None:
            return True
        with self.lock:
            times = self.hits.setdefault(client, [])
            bisect.insort(times, now)
            del times[: bisect.bisect_right(times, times[-1] - 2.0)]
            first = bisect.bisect_right(times, now - 1.0)
            last = bisect.bisect_right(times, now)
            if any(
                bisect.bisect_left(times, times[i] + 1.0) - i > self.limit
                for i in range(first, last)
            ):
                if self.block_seconds:
                    self.blocked_until[client] = now + self.block_seconds
                return False
            return now >= self.blocked_until.get(client, 0.0)


class Policy:
    def __init__(self, seed: str, latency_ms: float, edgar_rps, yahoo_rps, block_seconds, faults):
        self.rng = random.Random(f"{seed}/policy")
        self.lock = threading.Lock()
        self.latency_ms = latency_ms
        self.edgar = Window(edgar_rps, block_seconds)
        self.yahoo = Window(yahoo_rps)
        self.faults = faults

    def latency(self) -> float:
        if not self.latency_ms:
            return 0.0
        with self.lock:
            return self.latency_ms * self.rng.uniform(0.5, 1.5) / 1000

    def fault(self, host: str, path: str, query: str) -> Fault | None:
        targets = [host + path] + ([f"{host}{path}?{query}"] if query else [])
        with self.lock:
            for f in self.faults:
                if f.count is not None and f.fired >= f.count:
                    continue
                if not any(fnmatch.fnmatchcase(t, f.pattern) for t in targets):
                    continue
                if f.probability < 1 and self.rng.random() >= f.probability:
                    continue
                f.fired += 1
                return f
        return None
