"""`batch_refresh.py --demo` as a user runs it: a real subprocess in an empty folder, offline,
with no SEC contact of the user's, the bundled fake upstream started and stopped by it.

AAPL's fiscal 2023 figures are the recorded companyfacts' (see tests/test_refresh_e2e.py).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import cli_env, query
from tests.paths import ROOT

DEMO_CONTACT = "Demo User demo@stock-refresh.dev"


def demo(cwd, *args, timeout=60, contact=None) -> subprocess.CompletedProcess:
    """The demo with the user's SEC contact unset, or set to `contact`."""
    env = cli_env()
    if contact:
        env["STOCK_REFRESH_SEC_CONTACT"] = contact
    return subprocess.run(
        [sys.executable, str(ROOT / "batch_refresh.py"), "--demo", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def printed(result: subprocess.CompletedProcess, label: str) -> str:
    found = re.search(rf"^{label}:\s+(.+)$", result.stdout, re.M)
    assert found, f"no '{label}:' line in {result.stdout!r}"
    return found[1]


def fake_pid(result: subprocess.CompletedProcess) -> int:
    return int(re.search(r"fake upstream .* pid (\d+)", result.stdout)[1])


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Two demos in the same empty folder: the first night, then the second."""
    cwd = tmp_path_factory.mktemp("user")
    first = demo(cwd)
    second = demo(cwd, contact="Your Name you@yourdomain.com")
    return cwd, first, second


def test_the_demo_runs_the_job_and_says_where_its_files_are(nights):
    cwd, first, _ = nights
    assert first.returncode == 0, first.stderr[-3000:]
    for label, name in (("database", "stocks.db"), ("report", "batch_summary_"), ("log", ".log")):
        path = printed(first, label)
        assert path.startswith(str(cwd / "demo")) and name in path
        assert os.path.isfile(path)
    assert re.search(r"^verdict: run 1 completed: 29 ok, 0 failed, 0 skipped", first.stdout, re.M)


def test_the_demo_stores_and_shows_the_recorded_figures(nights):
    _, first, _ = nights
    rows = query(
        printed(first, "database"),
        "SELECT * FROM earnings_history WHERE symbol='AAPL' AND year=2023 AND period='annual'",
    )
    assert rows[0]["revenue"] == 383_285_000_000 and rows[0]["source"] == "edgar"
    assert re.search(r"2023\s+383,285,000,000\s+96,995,000,000\s+6\.13", first.stdout)
    for symbol in ("AAPL", "GOOGL", "MSFT", "IMNN", "LPA"):
        assert re.search(rf"^\s+{symbol}\s+\d", first.stdout, re.M)


def test_the_report_says_success(nights):
    _, first, _ = nights
    report = json.loads(open(printed(first, "report")).read())
    assert (report["status"], report["exit_code"], report["failed"]) == ("completed", 0, 0)
    assert report["successful"] == report["total_stocks"] == 29


def test_no_fake_upstream_is_left_running(nights):
    _, first, second = nights
    assert gone(fake_pid(first)) and gone(fake_pid(second))


def test_the_demo_uses_its_own_sec_contact(nights):
    cwd, _, second = nights
    config = json.loads((cwd / "demo" / "batch_config.json").read_text())
    assert config["sources"]["sec_contact"] == DEMO_CONTACT
    assert second.returncode == 0, second.stderr[-3000:]  # a placeholder in the variable is ignored


def test_a_second_demo_is_the_second_night(nights):
    cwd, _, second = nights
    report = json.loads(open(printed(second, "report")).read())
    assert report["run_id"] == 2 and report["status"] == "completed" and report["failed"] == 0
    assert report["skipped"] > report["successful"]
    assert re.search(r"^planned: \d+ stocks: nothing stale", second.stdout, re.M)
    assert "383,285,000,000" in second.stdout
    assert list((cwd / "demo" / "backups").glob("stocks_backup_*.full"))  # before the 2nd night


def demo_refreshing(tmp_path) -> tuple[subprocess.Popen, int]:
    """A demo started in the background and caught fetching; (its process, the fake's pid)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "batch_refresh.py"), "--demo", tmp_path / "demo"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = process.stdout.readline()
    assert "fake upstream" in started, process.communicate(timeout=30)
    log = tmp_path / "demo" / "logs" / "batch_refresh.log"
    deadline = time.monotonic() + 30
    while "refreshing" not in (log.read_text() if log.exists() else ""):  # the fetching began
        assert time.monotonic() < deadline, "the job did not start refreshing within 30 s"
        time.sleep(0.1)
    return process, int(re.search(r"pid (\d+)", started)[1])


def test_ctrl_c_stops_the_job_and_the_fake(tmp_path):
    process, pid = demo_refreshing(tmp_path)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1 and gone(pid), (process.returncode, out, err[-3000:])
    assert re.search(r"^verdict: run 1 interrupted", out, re.M), (out, err[-3000:])


def test_kill_minus_nine_of_the_demo_takes_the_fake_with_it(tmp_path):
    process, pid = demo_refreshing(tmp_path)
    process.kill()
    process.wait(timeout=30)
    deadline = time.monotonic() + 20
    while not gone(pid):
        assert time.monotonic() < deadline, f"the fake (pid {pid}) outlived the killed demo"
        time.sleep(0.1)
    process.communicate(timeout=30)


def test_a_file_as_the_demo_folder_is_one_line_and_exit_73(tmp_path):
    (tmp_path / "taken").write_text("")
    for folder in ("taken", "taken/demo"):
        result = demo(tmp_path, folder)
        assert result.returncode == 73 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("demo error: ")
        assert str(tmp_path / "taken") in result.stderr


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write to: its mode for a user, a read-only file system for root
    (who writes through permission bits)."""
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    if os.geteuid() != 0:
        yield folder
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", folder], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", folder], check=True)


def test_a_read_only_demo_folder_is_one_line_and_exit_73(tmp_path, read_only_folder):
    result = demo(tmp_path, read_only_folder)
    assert result.returncode == 73 and result.stderr.count("\n") == 1
    assert "cannot write there" in result.stderr


def test_demo_with_other_options_is_bad_usage(tmp_path):
    result = demo(tmp_path, "--dry-run")
    assert result.returncode == 2 and "--demo uses its own config" in result.stderr
    assert not (tmp_path / "demo").exists()
