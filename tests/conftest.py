"""Shared fixtures: the fake upstream on loopback, configs pointing at it, the CLI as a subprocess.

Every test runs offline: the loopback guard refuses any Python socket to a non-loopback
address, and the job's own clients refuse any host but the known upstreams when
`sources.upstream_override` is set. Every test runs as of one pinned moment (tests/pinned.py):
the job's clock in this process and in every subprocess, and the fakes' today.
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from stock_refresh.clock import NOW_ENV
from stock_refresh.http import Upstreams
from tests.paths import ROOT
from tests.pinned import TEST_NOW, pinned
from tests.upstream import FakeUpstream, install_loopback_guard

CACHE = Path(tempfile.mkdtemp(prefix="stock-refresh-test-cache-"))
os.environ["XDG_CACHE_HOME"] = str(CACHE)
os.environ["STOCK_REFRESH_CACHE_DIR"] = str(CACHE)
os.environ[NOW_ENV] = TEST_NOW.isoformat()  # subprocesses started without cli_env() too
install_loopback_guard()

CONTACT = "Jane Doe jane.doe@gmail.com"


@pytest.fixture(scope="session")
def fake():
    """About 30 companies: the recorded fixtures' companies plus synthetic ones."""
    with FakeUpstream(companies=22, latency_ms=5) as upstream:
        yield upstream


def upstreams_for(url: str, **settings) -> Upstreams:
    """An `Upstreams` aimed at `url` (the fake), without retries; `settings` override."""
    defaults = dict(
        sec_contact=CONTACT,
        edgar_requests_per_second=50,
        yahoo_delay_seconds=0,
        timeout=5,
        retries=0,
        edgar_cooldown=1,
    )
    return Upstreams(**{**defaults, **settings}, override=url)


def write_config(folder: Path, upstream_url: str, **sections) -> Path:
    """A config in `folder` pointing at the fake; `sections` override keys per section."""
    config = {
        "processing": {"max_workers": 4, "batch_size": 10},
        "rate_limiting": {
            "edgar_requests_per_second": 20,
            "yfinance_delay_seconds": 0,
            "edgar_cooldown_seconds": 2,
            "request_timeout_seconds": 5,
        },
        "error_handling": {"max_retries_per_stock": 1, "max_consecutive_failures": 25},
        "logging": {"console_output": False},
        "sources": {"sec_contact": CONTACT, "upstream_override": upstream_url},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "batch_config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def cli_env(now=None) -> dict:
    """The environment of a job started by a test: no SEC contact from the caller's shell, the
    clock pinned at `now` (default: the suite's now, which runs on between two jobs)."""
    return pinned({k: v for k, v in os.environ.items() if k != "STOCK_REFRESH_SEC_CONTACT"}, now)


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return run_python(ROOT / "batch_refresh.py", *args, **kwargs)


def run_python(*args, timeout=240, now=None, **kwargs) -> subprocess.CompletedProcess:
    """This interpreter on `args`, in the environment of `cli_env(now)`."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(now),
        **kwargs,
    )


def break_an_index(db_path: Path) -> None:
    """Point the stocks_cik index at another column: every entry is then wrong, and
    integrity_check says so, while every table still reads."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX idx_stocks_cik ON stocks "
        "(company_name)' WHERE name = 'idx_stocks_cik'"
    )
    conn.commit()
    conn.close()


def query(db_path: Path, sql: str, *params) -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def only_report(folder: Path) -> dict:
    reports = sorted((folder / "reports").glob("batch_summary_*.json"))
    assert reports, f"no report in {folder / 'reports'}"
    return json.loads(reports[-1].read_text())
