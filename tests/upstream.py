"""Start and stop tools/fake_upstream.py for tests, and keep tests on loopback.

with FakeUpstream(companies=5, edgar_rps=10) as fake:
    requests.get(fake.url + "/files/company_tickers.json", headers={"Host": "www.sec.gov", ...})
    fake.requests()   # parsed JSON log lines so far
"""

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from tests.pinned import AS_OF

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "fake_upstream.py"
UPSTREAM_HOSTS = frozenset(
    {
        "www.sec.gov",
        "data.sec.gov",
        "raw.githubusercontent.com",
        "fc.yahoo.com",
        "query1.finance.yahoo.com",
        "query2.finance.yahoo.com",
        "guce.yahoo.com",
        "consent.yahoo.com",
        "finance.yahoo.com",
    }
)


class FakeUpstream:
    """The fake as a subprocess on 127.0.0.1; a context manager (or call start()/stop()). Its
    today is the suite's pinned day unless `as_of` says otherwise."""

    def __init__(
        self,
        companies=5,
        latency_ms=None,
        edgar_rps=None,
        yahoo_rps=None,
        faults=None,
        seed=1,
        as_of=AS_OF,
        extra_args=(),
        log_path=None,
        script=SCRIPT,
    ):
        self.script = script
        self.args = ["--port", "0", "--companies", str(companies), "--seed", str(seed)]
        for flag, value in (
            ("--latency-ms", latency_ms),
            ("--edgar-rps", edgar_rps),
            ("--yahoo-rps", yahoo_rps),
            ("--as-of", as_of),
        ):
            if value is not None:
                self.args += [flag, str(value)]
        for spec in [faults] if isinstance(faults, str) else faults or []:
            self.args += ["--faults", spec]
        self.args += list(extra_args)
        self._tmp = tempfile.TemporaryDirectory(prefix="fakeup-")
        self.log_path = Path(log_path or Path(self._tmp.name) / "requests.jsonl")
        self.stderr_path = Path(self._tmp.name) / "stderr.txt"
        self.args += ["--log", str(self.log_path)]
        self.proc = None
        self.port = None
        self.url = None

    def start(self, timeout: float = 20.0) -> "FakeUpstream":
        with open(self.stderr_path, "ab") as stderr:  # a file: a pipe nobody reads would fill
            self.proc = subprocess.Popen(
                [sys.executable, str(self.script), *self.args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on http://127.0.0.1:"):
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            err = self.errors()
            self.stop()
            raise RuntimeError(f"fake upstream did not start: {line!r} {err}")
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self._tmp.cleanup()

    def errors(self) -> str:
        """What the fake wrote on stderr so far."""
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def requests(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def host_url(self, host: str, path: str = "/") -> str:
        """http://HOST.localhost:PORT/path, the form libcurl resolves to loopback by itself."""
        return f"http://{host}.localhost:{self.port}{path}"


def loopback_url(url: str, port: int) -> str:
    """https://HOST/path?q -> http://HOST.localhost:PORT/path?q for the upstream hosts; others
    refused."""
    parts = urlsplit(url)
    if parts.hostname and parts.hostname.endswith(".localhost") and parts.port == port:
        return url
    if parts.scheme != "https" or parts.hostname not in UPSTREAM_HOSTS:
        raise BlockedURL(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"http://{parts.hostname}.localhost:{port}{parts.path or '/'}{query}"


class BlockedURL(RuntimeError):
    pass


def loopback_session(port: int):
    """A curl_cffi Session that sends every upstream URL to the fake and refuses anything else."""
    from curl_cffi import requests as curl_requests

    class LoopbackSession(curl_requests.Session):
        def __init__(self, **kwargs):
            kwargs.setdefault("impersonate", "chrome")
            kwargs.setdefault("trust_env", False)
            super().__init__(**kwargs)

        def request(self, method, url, *args, **kwargs):
            return super().request(method, loopback_url(url, port), *args, **kwargs)

    return LoopbackSession()


class EgressBlocked(OSError):
    pass


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX paths
        return True
    host = address[0]
    if host == "localhost" or (isinstance(host, str) and host.endswith(".localhost")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install_loopback_guard() -> None:
    """Make every Python-level connect to a non-loopback address raise EgressBlocked.

    libcurl (curl_cffi) opens its sockets in C and is not seen here; LoopbackSession's fail-closed
    rewrite covers that path.
    """
    if getattr(socket.socket.connect, "_loopback_guard", False):
        return
    real_connect, real_connect_ex, real_create = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.create_connection,
    )

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise EgressBlocked(f"network access outside loopback refused: {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise EgressBlocked(f"network access outside loopback refused: {address!r}")
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):
        if not _is_loopback(address):
            raise EgressBlocked(f"network access outside loopback refused: {address!r}")
        return real_create(address, *args, **kwargs)

    connect._loopback_guard = True
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.create_connection = create_connection
    os.environ.setdefault("NO_PROXY", "*")
