"""The HTTP side: host routing, limits, faults, gzip, keep-alive and the JSON request log."""

import gzip
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import edgar, yahoo
from .disk import DiskBody
from .policy import Policy, declared_user_agent
from .responses import THROTTLE, Response, rate_exceeded, text, undeclared_tool

EDGAR_HOSTS = ("www.sec.gov", "data.sec.gov")
YAHOO_HOSTS = (
    "fc.yahoo.com",
    "query1.finance.yahoo.com",
    "query2.finance.yahoo.com",
    "guce.yahoo.com",
    "consent.yahoo.com",
    "finance.yahoo.com",
)
HOSTS = EDGAR_HOSTS + YAHOO_HOSTS + ("raw.githubusercontent.com",)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# The kernel's receive stamp of each packet; Python names no constant for it (Linux: 35).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)


BAD_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffthis is not a deflate stream"


def canonical_host(header: str | None) -> str | None:
    """data.sec.gov, data.sec.gov:PORT and data.sec.gov.localhost:PORT all mean data.sec.gov."""
    name = (header or "").strip().lower()
    if name.startswith("["):
        name = name.split("]")[0] + "]"
    else:
        name = name.split(":")[0]
    name = name.removesuffix(".localhost")
    return name if name in HOSTS else None


def arrival(sock: socket.socket) -> float:
    """When the next request's first byte reached this machine, on the monotonic clock.

    Limits are judged on arrival. Stamping when a handler thread gets round to a request would
    add this process's own delays (its interpreter lock, a garbage collection, a core shared
    with the client under test): tens of milliseconds under load, enough to crowd a second the
    client kept under the limit. The kernel stamps each packet as it arrives (SO_TIMESTAMPNS,
    on the wall clock); peeking at the first byte reads that stamp and consumes nothing.
    Blocks until a byte (or the end of the connection) arrives. Where the kernel gives no
    stamp, the time the byte was seen; so are the first requests of a fresh server, since the
    kernel turns stamping on a moment after the first socket asks for it.
    """
    _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            return time.monotonic() - (time.time() - (seconds + nanoseconds / 1e9))
    return time.monotonic()


class RequestLog:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8") if path else None
        self.lock = threading.Lock()

    def write(self, **entry):
        if self.file is None:
            return
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()


PACED_CHUNK = 64 << 10


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(
        self, address, world, policy: Policy, log: RequestLog, bandwidth_mbps: float = 0.0
    ):
        self.world, self.policy, self.log = world, policy, log
        self.bandwidth_bps = bandwidth_mbps * 1e6
        self.stopping = threading.Event()
        self.counter = 0
        self.counter_lock = threading.Lock()
        super().__init__(address, Handler)

    def reference(self) -> str:
        with self.counter_lock:
            self.counter += 1
            return f"0.{self.counter:x}.{int(time.time())}.fake"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120
    server_version = "fake-upstream"
    sys_version = ""

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        if SO_TIMESTAMPNS is not None:
            self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def handle_one_request(self):
        try:
            self.arrived = arrival(self.connection)
        except OSError:  # timed out or reset while waiting for the next request
            self.close_connection = True
            return
        super().handle_one_request()

    def do_GET(self):
        self.handle_request("GET")

    def do_HEAD(self):
        self.handle_request("HEAD")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.handle_request("POST")

    def handle_request(self, method: str):
        srv: FakeServer = self.server
        started = self.arrived
        host, target = canonical_host(self.headers.get("Host")), self.path
        if host is None and (self.headers.get("Host") or "").split(":")[0] in LOOPBACK_NAMES:
            first, _, rest = target.lstrip("/").partition("/")
            if canonical_host(first):
                host, target = canonical_host(first), "/" + rest
        split = urlsplit(target)
        path, query = split.path, split.query
        ua = self.headers.get("User-Agent") or ""
        client = self.client_address[0]
        # Limits are judged on arrival, as a real server does; the latency is spent before
        # answering.
        self.latency = srv.policy.latency()
        fault = None
        if host is None:
            resp = text(
                421,
                f"unknown host {self.headers.get('Host')!r}; "
                f"this fake serves: {', '.join(HOSTS)}\n",
            )
        elif host in EDGAR_HOSTS and not srv.policy.edgar.allow(client, started):
            resp = rate_exceeded(srv.reference())
        elif host in EDGAR_HOSTS and not declared_user_agent(ua):
            resp = undeclared_tool(srv.reference())
        elif host in YAHOO_HOSTS and not srv.policy.yahoo.allow(client, started):
            resp = text(429, "Too Many Requests\r\n")
            resp.why = THROTTLE
        else:
            fault = srv.policy.fault(host, path, query)
            resp = None
            if fault and fault.action == "status":
                resp = _fault_status(host, fault)
            elif fault and fault.action in ("hang", "reset"):
                self._log(started, host, target, 0, 0, ua, client, fault.action)
                if fault.action == "hang":
                    srv.stopping.wait(fault.seconds(60.0))
                self._drop(rst=fault.action == "reset")
                return
            elif fault and fault.action == "delay":
                srv.stopping.wait(fault.seconds(2.0))
            if resp is None:
                resp = self._route(host, method, path, query)
        self._send(method, started, host, target, resp, ua, client, fault)

    def _route(self, host, method, path, query) -> Response:
        world = self.server.world
        try:
            if host == "data.sec.gov":
                return edgar.data_sec_gov(world, path, self.headers)
            if host == "www.sec.gov":
                return edgar.www_sec_gov(world, path, self.headers)
            if host == "raw.githubusercontent.com":
                return edgar.github(world, path, self.headers)
            return yahoo.route(world, host, method, path, query, self.headers)
        except Exception as exc:  # a bug in a generator must show up as a 500, not a dead socket
            return own_error(method, f"{host}{path}", exc)

    def _send(self, method, started, host, target, resp: Response, ua, client, fault):
        wants_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
        label = fault.action if fault else None
        body = resp.body
        archive = resp.ctype == "application/zip"
        from_disk = isinstance(body, DiskBody) and label not in (
            "malformed",
            "empty",
            "truncate",
            "badgzip",
        )
        if from_disk:
            try:
                cached = body.open()
            except OSError as exc:
                cached, from_disk = None, False
                resp = own_error(
                    method, f"{host}{urlsplit(target).path}", exc, "cache file unreadable: "
                )
                body = resp.body
        if from_disk:
            encoded = wants_gzip and body.raw_len > 0 and resp.status != 304
            length = body.gz_len if encoded else body.raw_len
            payload = None
        else:
            raw = resp.raw
            if label == "malformed":
                raw = raw[: len(raw) // 2] + b"\x00<<malformed>>" if raw else b'{"malformed'
            elif label == "empty":
                raw, resp.status = b"", 200
            # an archive is compressed already: SEC sends it as it is
            encoded = wants_gzip and len(raw) > 0 and resp.status != 304 and not archive
            if label == "badgzip":  # says gzip, starts like gzip, is not gzip
                encoded, payload = True, BAD_GZIP
            elif encoded:
                payload = (
                    body.gz
                    if label not in ("malformed", "empty") and not isinstance(body, bytes)
                    else gzip.compress(raw, compresslevel=5, mtime=0)
                )
            else:
                payload = raw
            length = len(payload)
            if label == "truncate":
                payload = payload[: len(payload) // 2]
        if self.latency:
            time.sleep(self.latency)
        self._log(
            started,
            host,
            target,
            resp.status,
            length if from_disk else len(payload),
            ua,
            client,
            label,
            resp.why,
        )
        self.send_response(resp.status)
        if resp.status != 304:
            self.send_header("Content-Type", resp.ctype)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        if encoded:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if from_disk:
            with cached:
                if method != "HEAD" and resp.status != 304:
                    if encoded:
                        body.send_gzip(cached, self.connection)
                    else:
                        body.send_identity(cached, self.wfile.write)
        elif method != "HEAD" and resp.status != 304:
            if archive and self.server.bandwidth_bps:
                self._send_paced(payload, self.server.bandwidth_bps)
            else:
                self.wfile.write(payload)
        if label == "truncate":
            self.wfile.flush()
            self._drop(rst=False)

    def _send_paced(self, payload: bytes, bits_per_second: float) -> None:
        """Write `payload` no faster than `bits_per_second` (the archives' download cost)."""
        began = time.monotonic()
        for offset in range(0, len(payload), PACED_CHUNK):
            self.wfile.write(payload[offset : offset + PACED_CHUNK])
            due = began + (offset + PACED_CHUNK) * 8 / bits_per_second
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def _log(self, started, host, target, status, size, ua, client, fault, why=None):
        entry = {
            "t": round(started, 6),
            "host": host or self.headers.get("Host"),
            "path": target,
            "status": status,
            "bytes": size,
            "ua": self.headers.get("User-Agent"),
            "client": client,
            "ms": round((time.monotonic() - started) * 1000, 2),
        }
        if fault:
            entry["fault"] = fault
        if why:
            entry["why"] = why
        self.server.log.write(**entry)

    def _drop(self, rst: bool):
        """Close the connection without (the rest of) an answer; with rst, as a TCP reset."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass


def own_error(method: str, where: str, exc: Exception, note: str = "") -> Response:
    """A 500 for the fake's own failure (a missing fixture, a bug): one line on stderr, so
    whoever runs the fake sees the cause, and the same cause in the body, for the client."""
    cause = " ".join(f"{note}{type(exc).__name__}: {exc}".split())
    print(f"fake upstream: 500 for {method} {where}: {cause}", file=sys.stderr, flush=True)
    return text(500, f"fake upstream error: {cause}\n")


def _fault_status(host: str, fault) -> Response:
    status = fault.status
    if status == 429:
        resp = text(429, "Too Many Requests\r\n")
    elif host in YAHOO_HOSTS:
        resp = Response(
            status,
            json.dumps(
                {
                    "finance": {
                        "result": None,
                        "error": {"code": str(status), "description": f"injected status {status}"},
                    }
                }
            ).encode(),
        )
    else:
        resp = text(status, f"injected status {status}\n")
    if fault.retry_after:
        resp.headers["Retry-After"] = fault.retry_after
    return resp
