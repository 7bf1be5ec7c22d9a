"""The CLI's options and its guarantees: dry runs write nothing, one run at a time, retention,
and the symbol list's last-good fallback."""

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from stock_refresh import points
from stock_refresh.restore import restore
from tests.conftest import cli_env, only_report, query, run_cli, write_config
from tests.paths import ROOT
from tests.upstream import FakeUpstream


def test_dry_run_prints_the_plan_and_writes_nothing(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    env_cache = os.environ.pop("STOCK_REFRESH_CACHE_DIR")
    try:
        result = run_cli("--config", config, "--dry-run")
    finally:
        os.environ["STOCK_REFRESH_CACHE_DIR"] = env_cache
    assert result.returncode == 0, result.stderr
    assert "dry run: " in result.stdout and "estimated requests: EDGAR" in result.stdout
    assert "AAPL" in result.stdout and "batches:" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch_config.json"]


def test_limit_and_symbols_pick_the_stocks(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    assert run_cli("--config", config, "--limit", "3").returncode == 0
    assert only_report(tmp_path)["total_stocks"] == 3
    assert run_cli("--config", config, "--symbols", "msft,AAPL").returncode == 0
    report = only_report(tmp_path)
    # AAPL was refreshed by the first run, and its changes are known: nothing of it is stale
    assert report["total_stocks"] == 2 and report["successful"] == 1
    assert report["skipped_symbols"] == ["AAPL"]
    symbols = {r["symbol"] for r in query(tmp_path / "stocks.db", "SELECT symbol FROM stocks")}
    assert symbols == {"AAPL", "BRK-B", "ECC", "MSFT"}  # the first three sorted, then these two


def test_force_refetches_what_is_fresh(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    assert run_cli("--config", config, "--symbols", "AAPL").returncode == 0
    mark = len(fake.requests())
    assert run_cli("--config", config, "--symbols", "AAPL").returncode == 0
    assert not [r for r in fake.requests()[mark:] if "/companyfacts/" in r["path"]]
    mark = len(fake.requests())
    assert run_cli("--config", config, "--symbols", "AAPL", "--force").returncode == 0
    paths = [r["path"] for r in fake.requests()[mark:]]
    assert any("/companyfacts/CIK0000320193" in p for p in paths)
    assert any("/quoteSummary/AAPL" in p for p in paths)


def test_unknown_symbol_fails_cleanly(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    result = run_cli("--config", config, "--symbols", "ZZZZQ")
    assert result.returncode == 1
    report = only_report(tmp_path)
    assert report["failures"]["ZZZZQ"]["error_type"] == "UnknownSymbol"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--limit", "0"], "expected a whole number >= 1"),
        (["--symbols", ","], "expected comma-separated symbols"),
        (["--config", "/nonexistent/batch_config.json"], "config file not found"),
    ],
)
def test_bad_usage_exits_two_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_second_concurrent_run_exits_75_and_the_first_finishes(tmp_path):
    with FakeUpstream(companies=2, latency_ms=100) as slow:
        config = write_config(tmp_path, slow.url, processing={"max_workers": 1})
        first = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "batch_refresh.py"),
                "--config",
                str(config),
                "--limit",
                "4",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        lock = tmp_path / "stocks.db.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().startswith("pid")):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = run_cli("--config", config)
        first_out, first_err = first.communicate(timeout=240)
    assert second.returncode == 75
    assert f"another refresh is running (pid {first.pid}, since " in second.stderr
    assert first.returncode == 0, first_err[-2000:]
    assert len(list((tmp_path / "reports").glob("batch_summary_*.json"))) == 1


def test_backups_reports_and_logs_are_rotated(fake, tmp_path):
    config = write_config(
        tmp_path,
        fake.url,
        database={"keep_last_n_backups": 2},
        reporting={"keep_last_n_reports": 2},
        logging={"max_log_size_mb": 0.0005, "backup_count": 2},
    )
    for _ in range(4):
        assert run_cli("--config", config, "--symbols", "AAPL").returncode == 0
        time.sleep(1.0)  # backups and reports are named by the second
    # the first run had no database to back up; the newest two points need the full base
    found = points.find_points(tmp_path / "backups")
    assert [p.kind for p in found] == ["full", "incremental", "incremental"]
    assert sorted(p.path for p in found) == sorted((tmp_path / "backups").iterdir())
    restore(tmp_path / "restored.db", tmp_path / "backups", None, datetime.now())
    with sqlite3.connect(tmp_path / "restored.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM stocks").fetchone()[0] == 1
    assert len(list((tmp_path / "reports").glob("batch_summary_*.json"))) == 2
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == ["batch_refresh.log", "batch_refresh.log.1", "batch_refresh.log.2"]


def test_symbol_list_failure_uses_the_last_good_list(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    assert run_cli("--config", config, "--limit", "2").returncode == 0
    with FakeUpstream(companies=22, faults="raw.githubusercontent.com/*=status:500") as broken:
        config = write_config(tmp_path, broken.url)
        result = run_cli("--config", config, "--limit", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    report = only_report(tmp_path)
    assert report["symbol_list"]["source"] == "last_good"
    assert "symbol list unavailable" in report["symbol_list"]["warning"]
    log = (tmp_path / "logs" / "batch_refresh.log").read_text()
    assert "using the last good list" in log


def test_symbol_list_failure_without_a_last_good_list_exits_one(tmp_path):
    with FakeUpstream(companies=2, faults="raw.githubusercontent.com/*=status:500") as broken:
        config = write_config(tmp_path, broken.url)
        result = run_cli("--config", config)
    assert result.returncode == 1
    report = only_report(tmp_path)
    assert report["status"] == "aborted" and report["total_stocks"] == 0
    assert "no symbol list" in report["abort_reason"]


def test_shrunken_symbol_list_is_refused(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    assert run_cli("--config", config, "--limit", "1").returncode == 0
    with FakeUpstream(companies=2) as smaller:
        config = write_config(tmp_path, smaller.url)
        assert run_cli("--config", config, "--limit", "1").returncode == 0
    report = only_report(tmp_path)
    assert report["symbol_list"]["source"] == "last_good"
    assert "shrank" in report["symbol_list"]["warning"]


def test_run_time_inside_market_hours_is_a_config_warning(tmp_path):
    config = write_config(
        tmp_path,
        "http://127.0.0.1:9",
        scheduling={"run_time": "11:00", "timezone": "America/New_York"},
    )
    result = run_cli("--config", config, "--check-config")
    assert result.returncode == 0
    assert (
        "scheduling.run_time 11:00 (America/New_York) falls inside NYSE trading hours"
        in result.stderr
    )


def test_the_edgar_limiter_can_live_in_a_shared_file(fake, tmp_path):
    config = write_config(
        tmp_path, fake.url, rate_limiting={"edgar_shared_limiter_file": "edgar-limiter.sqlite"}
    )
    result = run_cli("--config", config, "--symbols", "AAPL,MSFT")
    assert result.returncode == 0, result.stderr[-2000:]
    assert only_report(tmp_path)["requests"]["edgar"] >= 5
    with sqlite3.connect(tmp_path / "edgar-limiter.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM sent").fetchone()[0] >= 1


def test_a_full_disk_aborts_cleanly_and_loses_no_data(fake, tmp_path):
    """The file-size limit stands in for a full disk: writes past 1 MB fail with EFBIG."""
    import resource
    import signal

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    config = write_config(tmp_path, fake.url, database={"backup_before_run": False})
    result = run_cli("--config", config, preexec_fn=small_disk)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    report = only_report(tmp_path)
    assert report["status"] == "aborted" and "database error" in report["abort_reason"]
    with sqlite3.connect(tmp_path / "stocks.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        def symbols(sql: str) -> set[str]:
            return {r[0] for r in conn.execute(sql)}

        def refreshed(kind: str) -> set[str]:
            return symbols(f"SELECT symbol FROM symbol_state WHERE {kind}_refreshed_at IS NOT NULL")

        # every row belongs to a part of a stock that was saved whole, and recorded as such
        assert symbols("SELECT symbol FROM stock_metrics") <= refreshed("market")
        assert symbols("SELECT symbol FROM earnings_history") <= refreshed("fundamentals")
        assert symbols("SELECT symbol FROM sec_filings") <= refreshed("filings")
        assert symbols("SELECT symbol FROM filing_sections") <= refreshed("sections")
        complete = symbols("SELECT symbol FROM symbol_state WHERE last_success IS NOT NULL")
        assert complete <= symbols("SELECT symbol FROM stocks")
