"""Bad input, as a user gives it: config values out of range or of the wrong type, broken config
files, bad arguments and environment, a second copy of the job. Each runs the real job (not
--check-config) beside a real database, and must end with its exit code and one line on stderr
that says what was wrong, no traceback, and the database's bytes exactly as they were."""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stock_refresh.clock import NOW_ENV
from stock_refresh.store import open_db
from tests.conftest import CONTACT, cli_env
from tests.paths import ROOT

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a case that wrongly starts a run gets no data


@dataclass(frozen=True)
class Case:
    name: str
    code: int
    said: str  # a fragment of the one line
    config: dict | None = None  # merged into the base config
    text: str | bytes | None = None  # the config file's content instead
    args: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    setup: str | None = None  # something to do to the folder first (see prepare)


def key(section: str, name: str, value) -> dict:
    return {section: {name: value}}


def bad_value(section: str, name: str, value, expected: str = "expected") -> Case:
    return Case(
        f"{section}.{name}={value!r}"[:60],
        2,
        f"{section}.{name}: {expected}",
        config=key(section, name, value),
    )


def fast_edgar_through(name: str, override: str) -> Case:
    return Case(
        f"fast-edgar-through-{name}",
        2,
        "rate_limiting.edgar_requests_per_second: expected a number from 1 to 10",
        config={
            "rate_limiting": {"edgar_requests_per_second": 20},
            "sources": {"upstream_override": override},
        },
    )


CASES = [
    # numbers far outside what anyone means: both bounds, every numeric key
    bad_value("rate_limiting", "request_timeout_seconds", 1e308),
    bad_value("rate_limiting", "request_timeout_seconds", 0.01),
    bad_value("rate_limiting", "edgar_requests_per_second", 1e-300),
    bad_value("rate_limiting", "edgar_requests_per_second", 1001),
    bad_value("rate_limiting", "yfinance_delay_seconds", 1e308),
    bad_value("rate_limiting", "yfinance_delay_seconds", -1),
    bad_value("rate_limiting", "edgar_cooldown_seconds", 1e9),
    bad_value("processing", "batch_size", 10**9),
    bad_value("processing", "batch_size", 0),
    bad_value("processing", "max_workers", 0),
    bad_value("processing", "max_workers", 1000),
    bad_value("processing", "delay_between_batches_seconds", 1e308),
    bad_value("logging", "max_log_size_mb", 1e308),
    bad_value("logging", "max_log_size_mb", 0),
    bad_value("logging", "backup_count", 10**6),
    bad_value("database", "keep_last_n_backups", 10**9),
    bad_value("database", "full_backup_every", 0),
    bad_value("error_handling", "max_consecutive_failures", -5),
    bad_value("error_handling", "max_retries_per_stock", 11),
    bad_value("reporting", "keep_last_n_reports", 10**9),
    bad_value("notifications.email", "smtp_port", 70000),
    # wrong types and shapes
    bad_value("error_handling", "max_retries_per_stock", "3"),
    bad_value("processing", "force_refresh", "yes"),
    bad_value("logging", "log_level", 5),
    bad_value("logging", "log_file", "../escape.log"),
    bad_value("database", "path", None),
    bad_value("scheduling", "run_time", "24:00"),
    bad_value("scheduling", "timezone", "EST5"),
    bad_value("sources", "nasdaq_symbols_url", "file:///etc/passwd"),
    bad_value("reporting", "pushgateway_url", "localhost:9091"),
    bad_value("notifications", "healthcheck_url", "ftp://hc-ping.com/x"),
    bad_value("notifications", "urls", ["nope://x"]),
    Case("section-not-object", 2, "sources: expected a JSON object", config={"sources": "x"}),
    # the cap on SEC's rate is lifted for loopback only
    fast_edgar_through("a-lan-host", "http://10.0.0.1:8765"),
    fast_edgar_through("a-public-host", "https://evil.example.com:443"),
    Case(
        "contact-placeholder",
        2,
        "sources.sec_contact: expected",
        config=key("sources", "sec_contact", "Your Name you@yourdomain.com"),
    ),
    Case(
        "email-without-server",
        2,
        "notifications.email.smtp_server: expected",
        config={
            "notifications": {
                "email": {"enabled": True, "from_address": "a@b.co", "to_addresses": ["c@d.co"]}
            }
        },
    ),
    Case(
        "secret-webhook-not-shown",
        2,
        "notifications.webhook_url: expected",
        config=key("notifications", "webhook_url", "hooks.slack.com/services/T0/B0/s3cr3t"),
    ),
    # config files
    Case("config-missing", 2, "config file not found: ", setup="no config"),
    Case("config-is-a-folder", 2, "cannot read: Is a directory", setup="config folder"),
    Case("config-not-utf8", 2, "not valid UTF-8 at byte", text=b'{"enabled": "\xff"}'),
    Case("config-empty", 2, "not valid JSON at line 1 column 1", text=""),
    Case("config-broken-json", 2, "not valid JSON at line 1", text='{"processing": {,}}'),
    Case("config-a-list", 2, "top level: expected a JSON object", text="[]"),
    Case(
        "config-nan",
        2,
        "rate_limiting.edgar_cooldown_seconds: expected",
        text='{"rate_limiting": {"edgar_cooldown_seconds": NaN}}',
    ),
    Case(
        "config-key-twice",
        2,
        "processing.batch_size: expected the key once",
        text='{"processing": {"batch_size": 5, "batch_size": 6}}',
    ),
    # arguments and environment
    Case("limit-zero", 2, "argument --limit: expected a whole number >= 1", args=("--limit", "0")),
    Case("limit-word", 2, "argument --limit: expected a whole number", args=("--limit", "all")),
    Case("limit-negative", 2, "argument --limit", args=("--limit", "-3")),
    Case(
        "symbols-empty", 2, "argument --symbols: expected comma-separated", args=("--symbols", ",")
    ),
    Case("unknown-flag", 2, "unrecognized arguments: --frobnicate", args=("--frobnicate",)),
    Case(
        "demo-with-force", 2, "--demo uses its own config and options", args=("--demo", "--force")
    ),
    Case("now-without-offset", 2, f"{NOW_ENV}: expected", env={NOW_ENV: "2026-11-18T07:00"}),
    Case("restore-unknown-point", 66, "restore error: ", args=("--restore", "stocks_backup_x")),
    # a second copy of the job while one runs
    Case("second-copy", 75, "another refresh is running (pid ", setup="lock held"),
]


def base_config() -> dict:
    return {
        "sources": {"sec_contact": CONTACT, "upstream_override": NOWHERE},
        "rate_limiting": {"request_timeout_seconds": 1},
    }


def merged(base: dict, extra: dict) -> dict:
    out = json.loads(json.dumps(base))
    for dotted, values in extra.items():
        *outer, last = dotted.split(".")
        target = out
        for name in outer:
            target = target.setdefault(name, {})
        if isinstance(values, dict) and isinstance(target.get(last), dict):
            target[last].update(values)
        else:
            target[last] = values
    return out


def prepare(case: Case, folder: Path, database: Path) -> Path:
    """The case's folder: the database, its config file; returns the config's path."""
    folder.mkdir()
    shutil.copy(database, folder / "stocks.db")
    config = folder / "batch_config.json"
    if case.setup == "config folder":
        config.mkdir()
    elif case.setup != "no config":
        text = (
            case.text
            if case.text is not None
            else json.dumps(merged(base_config(), case.config or {}))
        )
        config.write_bytes(text if isinstance(text, bytes) else text.encode())
    return config


def run(case: Case, folder: Path) -> subprocess.CompletedProcess:
    args = list(case.args)
    if "--demo" not in args:
        args = ["--config", str(folder / "batch_config.json"), *args]
    env = {**cli_env(), **case.env}
    lock = None
    if case.setup == "lock held":
        lock = os.open(folder / "stocks.db.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.write(lock, b"pid 4242, since 2026-11-18T07:00:00+00:00")
    try:
        return subprocess.run(
            [sys.executable, str(ROOT / "batch_refresh.py"), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=120,
        )
    finally:
        if lock is not None:
            os.close(lock)


def digest(folder: Path) -> dict[str, str]:
    """Every database file of the folder (the database, and a -wal or -shm if one appeared)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob("stocks.db*"))
        if not p.name.endswith(".lock")
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    database = root / "seed.db"
    db = open_db(database)
    db["stocks"].insert({"symbol": "AAPL", "company_name": "Apple Inc."}, alter=False)
    db.conn.close()
    folders = {case.name: root / f"case-{i:02d}" for i, case in enumerate(CASES)}
    for case in CASES:
        prepare(case, folders[case.name], database)
    before = {name: digest(folder) for name, folder in folders.items()}
    with ThreadPoolExecutor(4) as pool:
        results = dict(
            zip(folders, pool.map(lambda c: run(c, folders[c.name]), CASES), strict=True)
        )
    return {name: (results[name], before[name], digest(folders[name])) for name in folders}


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code_and_changes_nothing(outcomes, case):
    result, before, after = outcomes[case.name]
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert case.said in lines[0], lines[0]
    assert result.returncode == case.code, lines[0]
    assert after == before
    assert "s3cr3t" not in result.stderr
