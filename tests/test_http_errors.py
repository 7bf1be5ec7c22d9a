"""A request that gets no HTTP answer fails with a short cause first and the URL after it; the
run says so in one stderr line, and the exception chain goes to the log file only."""

import socket

import pytest
import requests

from stock_refresh.http import Transient, Upstreams, connection_failure
from tests.conftest import run_cli, upstreams_for, write_config
from tests.upstream import FakeUpstream

NYSE = "https://raw.githubusercontent.com/rreichel3/US-Stock-Symbols/main/nyse/nyse_tickers.json"


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upstreams(override: str) -> Upstreams:
    return upstreams_for(override, timeout=2)


def failure(override: str) -> str:
    with pytest.raises(Transient) as error:
        upstreams(override).get_json(NYSE)
    return str(error.value)


def test_a_refused_connection_names_the_address_then_the_url():
    port = closed_port()
    assert failure(f"http://127.0.0.1:{port}") == f"connection refused by 127.0.0.1:{port} ({NYSE})"


def test_an_unresolvable_host_is_named():
    with pytest.raises(requests.ConnectionError) as error:
        requests.get("http://no-such-host.invalid/x", timeout=5)
    assert len(str(error.value)) > 200  # what used to reach the user
    assert connection_failure(error.value, 5) == "cannot resolve no-such-host.invalid"


def test_a_dropped_connection_and_a_tls_mismatch_are_named():
    with FakeUpstream(companies=1, faults="raw.githubusercontent.com/*=reset") as fake:
        dropped = failure(fake.url)
        # the fake speaks plain HTTP, so a TLS handshake with it fails
        tls = failure(f"https://127.0.0.1:{fake.port}")
    assert dropped in (
        f"connection reset by 127.0.0.1:{fake.port} ({NYSE})",
        f"connection closed by 127.0.0.1:{fake.port} without an answer ({NYSE})",
    )
    assert tls.startswith(f"TLS error with 127.0.0.1:{fake.port}: ") and tls.endswith(f"({NYSE})")
    assert len(tls) < len(NYSE) + 80


def test_a_failed_run_says_why_in_one_short_line_and_logs_the_detail(tmp_path):
    port = closed_port()
    config = write_config(tmp_path, f"http://127.0.0.1:{port}")
    result = run_cli("--config", config)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("stock-refresh run failed on ")
    assert f": no symbol list: connection refused by 127.0.0.1:{port} (https://" in line
    assert len(line) < 300 and "Error(" not in line and "Pool" not in line
    assert (tmp_path / "logs" / "failures.log").read_text().rstrip("\n").endswith(line)
    log = (tmp_path / "logs" / "batch_refresh.log").read_text()
    assert "MaxRetryError(" in log and "Connection refused" in log  # the chain, for digging

    dry = run_cli("--config", config, "--dry-run")
    assert dry.returncode == 1
    [line] = dry.stderr.splitlines()
    assert line.startswith(f"error: no symbol list: connection refused by 127.0.0.1:{port} (")
