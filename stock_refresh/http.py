"""Every request the job sends upstream goes through `Upstreams`.

One limiter per upstream (shared by all worker threads), one place for timeouts, retries with
exponential backoff and jitter that honour `Retry-After`, SEC's throttle cool-down, request
counters for the report, and `sources.upstream_override`: with it set, every request goes to
that address with the path unchanged and the original host name still visible to the server
(`Host: data.sec.gov`), and a request to any other host is refused, so tests can never reach the
internet. yfinance's own curl session (yahoo.py) takes its turns and counts here too.
"""

import http.client
import logging
import math
import os
import re
import socket
import ssl
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from .files import open_private
from .limiter import SharedSlidingWindowLimiter, SlidingWindowLimiter, limiter_for_rate
from .logs import DETAIL_LOGGER
from .wire import decode_body

log = logging.getLogger(__name__)

HOSTS = {
    "raw.githubusercontent.com": "github",
    "www.sec.gov": "edgar",
    "data.sec.gov": "edgar",
    "fc.yahoo.com": "yahoo",
    "query1.finance.yahoo.com": "yahoo",
    "query2.finance.yahoo.com": "yahoo",
    "finance.yahoo.com": "yahoo",
    "guce.yahoo.com": "yahoo",
    "consent.yahoo.com": "yahoo",
}
FIRST_LATENCY_GUESS = 0.5  # seconds, until answers are measured
DOWNLOAD_CHUNK = 1 << 20  # a bulk archive goes to disk a megabyte at a time
# Parts on their way per request in flight: a part also parses, saves and waits for the
# interpreter between its requests; more than needed only queue at the limiter, fewer idle it
IN_FLIGHT_MARGIN = 2.0
IN_FLIGHT_SPARE = 3  # and a few more, ready at the limiter when a turn comes up
LATENCY_WEIGHT = 0.1  # of each new answer in the moving average: about the last ten count
SEC_THROTTLE_MARKERS = ("Request Rate Threshold Exceeded", "Undeclared Automated Tool")
MAX_RETRY_AFTER = 300.0


class UpstreamError(Exception):
    """An upstream answered in a way we cannot use; `kind` names it for the report."""

    kind = "UpstreamError"

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class NotFound(UpstreamError):
    kind = "NotFound"


class Transient(UpstreamError):
    kind = "Transient"


class RateLimited(Transient):
    kind = "RateLimited"


class Throttled(Transient):
    """SEC's 403 "Request Rate Threshold Exceeded": all EDGAR traffic pauses."""

    kind = "SecThrottled"


class Malformed(Transient):
    """A truncated, empty or non-JSON body: often a cut connection, so worth one more try."""

    kind = "MalformedResponse"


class Forbidden(Transient):
    """A 403 that is neither SEC's throttle page nor S3's "no such object": worth retrying,
    and never taken for a missing object."""

    kind = "Forbidden"


class UnknownSymbol(NotFound):
    """Neither SEC nor Yahoo knows the symbol: final, not retried."""

    kind = "UnknownSymbol"


class Incomplete(UpstreamError):
    """The upstream's answers contradict each other (a filing listed whose document is gone,
    XBRL filings but no companyfacts): the stock fails and is asked again next run."""

    kind = "Incomplete"


class BlockedHost(UpstreamError):
    kind = "BlockedHost"


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a `Retry-After` header given in seconds; dates are rare upstream and ignored."""
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER) if value else None
    except ValueError:
        return None


EXCERPT_CHARS = 120
_S3_ERROR = re.compile(rb"<Code>([^<]{1,100})</Code>\s*<Message>([^<]{1,200})</Message>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def error_excerpt(body: bytes, content_type: str) -> str | None:
    """The gist of an error body, on one line, or None when it says nothing readable.

    A 500 from a server that knows its own cause says it in the body; the status alone hides
    it. Plain text and JSON give their first EXCERPT_CHARS characters, S3's XML errors their
    code and message; HTML pages, binary and undecodable bodies give nothing.
    """
    media = content_type.split(";")[0].strip().lower()
    if media.endswith("xml"):
        found = _S3_ERROR.search(body)
        return (
            f"{found[1].decode(errors='replace')}: {found[2].decode(errors='replace')}"
            if found
            else None
        )
    if not (media.startswith("text/") or media.endswith("json")) or "html" in media:
        return None
    try:
        text = body[: EXCERPT_CHARS * 4].decode("utf-8")
    except UnicodeDecodeError as cut:
        if cut.start < EXCERPT_CHARS:  # binary, or another charset: not worth guessing
            return None
        text = body[: cut.start].decode("utf-8")
    if _CONTROL.search(text) or text.lstrip()[:1] == "<":
        return None
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 3].rstrip() + "..."
    return text or None


def parse_json(url: str, response: requests.Response):
    try:
        return response.json()
    except ValueError:
        raise Malformed(
            f"{url}: expected JSON, got {len(response.content)} bytes that do not parse",
            response.status_code,
        ) from None


def connection_failure(error: BaseException, timeout: float) -> str:
    """A short cause for a request that got no HTTP answer ("cannot resolve HOST", "connection
    refused by HOST:PORT", "no answer within 30 s", "TLS error: ..."), read from the socket's
    own error inside the wrappers requests and urllib3 nest around it."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in error.args if isinstance(a, BaseException)), None)
        error = inner or error.__cause__ or error.__context__
    peer = next(
        (e.conn for e in chain if isinstance(e, urllib3.exceptions.NewConnectionError)), None
    ) or next((e.pool for e in chain if isinstance(e, urllib3.exceptions.PoolError)), None)
    request = getattr(chain[0], "request", None)  # requests' own errors carry the request
    sent_to = urlsplit(request.url) if request is not None else None
    host = peer.host if peer else sent_to.hostname if sent_to else "the host"
    where = f"{peer.host}:{peer.port}" if peer else sent_to.netloc if sent_to else "the server"
    for e in reversed(chain):  # innermost first: it says what really happened
        if isinstance(e, (socket.gaierror, urllib3.exceptions.NameResolutionError)):
            return f"cannot resolve {host}"
        if isinstance(e, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(e, (http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError)):
            return f"connection closed by {where} without an answer"
        if isinstance(e, ConnectionResetError):
            return f"connection reset by {where}"
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "verify_message", None) or e.reason or e
            return f"TLS error with {where}: {reason}"
        if isinstance(e, (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError)):
            return f"no answer within {timeout:g} s"
        if isinstance(e, OSError) and e.strerror:
            return f"{e.strerror} ({where})"
    return f"{type(chain[-1]).__name__}: {chain[-1]}"


def _wire_body(response: requests.Response) -> bytes:
    """A streamed response's body, still encoded; its connection goes back to the pool."""
    body = response.raw.read(decode_content=False)
    response.raw.release_conn()
    return body


_sending = threading.local()  # the limiter turn of the request this thread is sending


def _mark_sent() -> None:
    """Tell the limiter the moment the request really left (see limiter.py)."""
    turn = getattr(_sending, "turn", None)
    if turn:
        turn[0].sent(turn[1])


class _MarkingHTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):
        super().request(*args, **kwargs)
        _mark_sent()


class _MarkingHTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):
        super().request(*args, **kwargs)
        _mark_sent()


class _MarkingHTTPPool(HTTPConnectionPool):
    ConnectionCls = _MarkingHTTPConnection


class _MarkingHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _MarkingHTTPSConnection


class _MarkingAdapter(HTTPAdapter):
    """An adapter whose connections report when a request has been written to the socket."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _MarkingHTTPPool,
            "https": _MarkingHTTPSPool,
        }


class Upstreams:
    """The job's single door to GitHub, SEC and Yahoo."""

    def __init__(
        self,
        *,
        sec_contact: str,
        edgar_requests_per_second: float,
        yahoo_delay_seconds: float,
        timeout: float,
        retries: int,
        edgar_cooldown: float,
        override: str | None = None,
        pool_size: int = 16,
        edgar_limiter_file=None,
    ):
        self.override = override.rstrip("/") if override else None
        self.timeout = timeout
        self.retries = retries
        self.edgar_cooldown = edgar_cooldown
        self.sec_contact = sec_contact
        self.limiters: dict[str, SlidingWindowLimiter | SharedSlidingWindowLimiter | None] = {
            "github": None,
            "edgar": (
                SharedSlidingWindowLimiter(edgar_limiter_file, int(edgar_requests_per_second))
                if edgar_limiter_file
                else limiter_for_rate(edgar_requests_per_second)
            ),
            "yahoo": limiter_for_rate(1.0 / yahoo_delay_seconds)
            if yahoo_delay_seconds > 0
            else None,
        }
        self.stats = {name: Counter() for name in ("github", "edgar", "yahoo")}
        # seconds from sending a request to its whole answer, a moving average per upstream
        self.latency = dict.fromkeys(self.stats, FIRST_LATENCY_GUESS)
        self.allowed = {
            "edgar": edgar_requests_per_second,
            "yahoo": 1.0 / yahoo_delay_seconds if yahoo_delay_seconds > 0 else math.inf,
        }
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.trust_env = self.override is None
        adapter = _MarkingAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @classmethod
    def from_config(cls, config) -> "Upstreams":
        rl, src = config.rate_limiting, config.sources
        return cls(
            sec_contact=src.sec_contact,
            edgar_requests_per_second=rl.edgar_requests_per_second,
            yahoo_delay_seconds=rl.yfinance_delay_seconds,
            timeout=rl.request_timeout_seconds,
            retries=config.error_handling.max_retries_per_stock,
            edgar_cooldown=rl.edgar_cooldown_seconds,
            override=src.upstream_override,
            pool_size=config.processing.max_workers + 4,
            edgar_limiter_file=rl.edgar_shared_limiter_file,
        )

    def count(self, upstream: str, key: str, amount: float = 1) -> None:
        with self._lock:
            self.stats[upstream][key] += amount

    def summary(self) -> dict:
        """Requests, retries and waits per upstream, for the report: the limiter's waits both
        summed over the threads and as elapsed time, and the pauses before retries."""
        with self._lock:
            out = {}
            for name, counter in self.stats.items():
                limiter = self.limiters[name]
                out[name] = {
                    "requests": counter["requests"],
                    "retries": counter["retries"],
                    "throttled": counter["throttled"],
                    "rate_limit_wait_thread_seconds": round(limiter.waited if limiter else 0.0, 3),
                    "rate_limit_wait_wall_seconds": round(
                        limiter.wait_spans.seconds if limiter else 0.0, 3
                    ),
                    "retry_backoff_thread_seconds": round(counter["backoff"], 3),
                }
            return out

    def _target(self, url: str) -> tuple[str, str, str]:
        """(upstream, url to send to, original host) for `url`; refuses unknown hosts."""
        parts = urlsplit(url)
        upstream = HOSTS.get(parts.hostname or "")
        if upstream is None:
            raise BlockedHost(f"refusing request to unknown host {parts.hostname!r} ({url})")
        if not self.override:
            return upstream, url, parts.hostname
        query = f"?{parts.query}" if parts.query else ""
        return upstream, f"{self.override}{parts.path or '/'}{query}", parts.hostname

    def take_turn(self, upstream: str):
        """Wait for the upstream's limiter; returns (limiter, turn) or None."""
        self.count(upstream, "requests")
        limiter = self.limiters[upstream]
        return (limiter, limiter.acquire()) if limiter else None

    def answered(self, upstream: str, seconds: float) -> None:
        """One more answer took `seconds` since it was sent: the latency's moving average."""
        with self._lock:
            self.latency[upstream] += LATENCY_WEIGHT * (seconds - self.latency[upstream])

    def in_flight_needed(self, most: int) -> dict[str, int]:
        """How many requests must be on their way at once to keep each paced upstream at its
        allowed rate, at the latency measured so far (rate x latency, twice over for the time
        a task spends between requests, and three more), per upstream: `most` in all. When more
        are needed, the smaller needs are met first and the largest takes what is left: shared in
        proportion, a slow SEC (whose need grows with its latency) would take the few that keep
        Yahoo, the run's longest lane, at its rate. An unpaced upstream takes what the others
        leave."""
        with self._lock:
            need = {
                name: math.ceil(IN_FLIGHT_MARGIN * rate * self.latency[name]) + IN_FLIGHT_SPARE
                for name, rate in self.allowed.items()
                if not math.isinf(rate)
            }
        want, left = {}, most
        for i, name in enumerate(sorted(need, key=need.get)):
            want[name] = max(1, min(need[name], left // (len(need) - i)))
            left -= want[name]
        rest = max(2, most - sum(want.values()))
        return {name: want.get(name, rest) for name in self.allowed}

    def retrying(self, upstream: str) -> Retrying:
        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception()
            if isinstance(error, Throttled):
                return 0.0  # the limiter itself holds every EDGAR caller for the cool-down
            if error.retry_after is not None:
                return error.retry_after
            return wait_random_exponential(multiplier=0.5, max=30)(state)

        def before_sleep(state: RetryCallState) -> None:
            self.count(upstream, "retries")
            self.count(upstream, "backoff", state.upcoming_sleep)
            log.debug("retrying %s after %s", upstream, state.outcome.exception())

        return Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait,
            retry=retry_if_exception_type(Transient),
            before_sleep=before_sleep,
            reraise=True,
        )

    def get(self, url: str) -> requests.Response:
        """GET with the upstream's limiter, a timeout and retries; raises `UpstreamError`."""
        return self._fetch(url, as_json=False)

    def get_json(self, url: str):
        """GET and parse JSON; a body that is not JSON is retried, then reported as malformed."""
        return self._fetch(url, as_json=True)

    def get_body(self, url: str, parse=None):
        """GET a big body as it came off the wire: (bytes, Content-Encoding). Decoding it here
        would hold the interpreter lock for every 10 KB chunk; parsing.py decodes it elsewhere.

        With `parse`, returns `parse(bytes, encoding)` instead; a `ValueError` from it (a body
        cut short or garbled on the way) is a malformed answer, retried like any other, so the
        request's one retry policy covers its parsing too.
        """
        return self._fetch(url, as_json=False, wire=True, parse=parse)

    def download(self, url: str, path: Path, on_headers=None) -> str | None:
        """Stream a big file (a bulk archive) to `path`, chunk by chunk, on one limiter turn and
        with the timeout between chunks; returns its Last-Modified, which `on_headers` is also
        given as soon as the answer starts. One attempt, no retries: a download that fails is
        the caller's to fall back from. Raises `UpstreamError`."""
        upstream, target, host = self._target(url)
        headers = {"Host": host} if self.override else {}
        if upstream == "edgar":
            headers["User-Agent"] = self.sec_contact
        _sending.turn = self.take_turn(upstream)
        written = 0
        try:
            with self._session.get(
                target,
                headers=headers,
                stream=True,
                timeout=(min(10.0, self.timeout), self.timeout),
            ) as response:
                if response.status_code >= 400:
                    raise (NotFound if response.status_code == 404 else Transient)(
                        f"{url}: HTTP {response.status_code}", response.status_code
                    )
                expected = int(response.headers.get("Content-Length") or 0)
                if on_headers:
                    on_headers(response.headers.get("Last-Modified"))
                fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_content(DOWNLOAD_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                if expected and written != expected:
                    raise Transient(f"{url}: cut short at {written:,} of {expected:,} bytes")
                return response.headers.get("Last-Modified")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            raise Transient(
                f"{connection_failure(error, self.timeout)} ({url}, {written:,} bytes in)"
            ) from None
        finally:
            _sending.turn = None

    def _fetch(self, url: str, as_json: bool, wire: bool = False, parse=None):
        upstream, target, host = self._target(url)
        send_headers = {"Host": host} if self.override else {}
        if upstream == "edgar":
            send_headers.update(
                {"User-Agent": self.sec_contact, "Accept-Encoding": "gzip, deflate"}
            )
        for attempt in self.retrying(upstream):
            with attempt:
                response, body = self._send(upstream, url, target, send_headers, wire)
                if wire:
                    encoding = response.headers.get("Content-Encoding", "").strip().lower()
                    if parse is None:
                        return body, encoding
                    try:
                        return parse(body, encoding)
                    except ValueError as error:
                        raise Malformed(f"{url}: {error}", response.status_code) from None
                return parse_json(url, response) if as_json else response
        raise AssertionError("unreachable")

    def _send(
        self, upstream: str, url: str, target: str, headers: dict, wire: bool = False
    ) -> tuple[requests.Response, bytes]:
        """(response, body): the body decoded, or as it came off the wire with `wire`."""
        _sending.turn = self.take_turn(upstream)
        sent = time.monotonic()
        try:
            response = self._session.get(
                target,
                headers=headers,
                stream=wire,
                timeout=(min(10.0, self.timeout), self.timeout),
            )
            body = _wire_body(response) if wire else response.content
            self.answered(upstream, time.monotonic() - sent)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            cause = connection_failure(error, self.timeout)
            logging.getLogger(DETAIL_LOGGER).info("%s (%s): %r", cause, url, error)
            raise Transient(f"{cause} ({url})") from None
        finally:
            _sending.turn = None
        status = response.status_code
        if status < 400:
            return response, body
        if wire:  # an error page: its text, for matching SEC's throttle message
            try:
                body = decode_body(body, response.headers.get("Content-Encoding", "").lower())
            except ValueError:
                pass
        if (
            upstream == "edgar"
            and status == 403
            and any(marker.encode() in body for marker in SEC_THROTTLE_MARKERS)
        ):
            self.count(upstream, "throttled")
            if self.limiters["edgar"]:
                self.limiters["edgar"].pause(self.edgar_cooldown)
            log.warning(
                "SEC throttled us (403): pausing all EDGAR requests for %g s", self.edgar_cooldown
            )
            raise Throttled(f"{url}: SEC request rate threshold exceeded", status)
        if status == 429:
            self.count(upstream, "throttled")
            raise RateLimited(
                f"{url}: 429 Too Many Requests",
                status,
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        excerpt = error_excerpt(body, response.headers.get("Content-Type", ""))
        said = f" ({excerpt})" if excerpt else ""
        if status >= 500:
            raise Transient(
                f"{url}: HTTP {status}{said}",
                status,
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 404 or (status == 403 and b"<Code>AccessDenied</Code>" in body):
            # S3 behind www.sec.gov/Archives answers 403 AccessDenied for a missing object
            raise NotFound(f"{url}: HTTP {status} (no such object){said}", status)
        if status == 403:
            raise Forbidden(f"{url}: HTTP 403 (refused){said}", status)
        raise UpstreamError(f"{url}: HTTP {status}{said}", status)
