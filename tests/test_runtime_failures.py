"""Failures while the job runs, not in its input: a folder that is a file, a symlink planted
where the job writes, SIGTERM at any moment. Each ends in exit 1 with one line on stderr that
names the path or the signal, no traceback, and a database that is exactly as it was (or, when
the data was already written, a run row that is closed, not left `running`)."""

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cli_env, only_report, query, run_cli, write_config
from tests.paths import ROOT
from tests.upstream import FakeUpstream

SYMBOLS = "AAPL,MSFT,SYXA"


@pytest.fixture(scope="module")
def fake():
    with FakeUpstream(companies=12, latency_ms=20) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, fake):
    """A folder after one good run: the database every case starts from."""
    folder = tmp_path_factory.mktemp("seeded")
    result = run_cli("--config", write_config(folder, fake.url), "--symbols", SYMBOLS)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "stocks.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def start_from(seeded: Path, folder: Path) -> Path:
    shutil.copy(seeded, folder / "stocks.db")
    return folder / "stocks.db"


def a_file_at(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a file where the job expects a folder\n")


@pytest.mark.parametrize(
    ("sections", "blocked", "said"),
    [
        ({"logging": {"log_directory": "logs"}}, "logs", "log file not writable: {path}"),
        ({"database": {"backup_directory": "backups"}}, "backups", "failed: {path}"),
        ({"database": {"path": "data/stocks.db"}}, "data", "lock file not usable: {path}"),
    ],
    ids=["log folder", "backup folder", "database folder"],
)
def test_a_folder_that_is_a_file_stops_the_run_before_it_writes(
    seeded, tmp_path, fake, sections, blocked, said
):
    db = start_from(seeded, tmp_path)
    before = digest(db)
    a_file_at(tmp_path / blocked)
    config = write_config(tmp_path, fake.url, **sections)
    result = run_cli("--config", config, "--symbols", SYMBOLS, "--force")
    assert result.returncode == 1
    line = one_line(result)
    assert said.format(path=tmp_path / blocked) in line, line
    assert "Not a directory" in line or "not a folder" in line, line
    assert digest(db) == before
    report = only_report(tmp_path)
    assert report["status"] == "aborted" and report["abort_reason"] in line


def test_a_report_folder_that_is_a_file_fails_the_run_and_closes_its_row(seeded, tmp_path, fake):
    """The data is written before the report: the run row must not stay `running`, or the next
    run would take a finished run for an interrupted one and resume it."""
    db = start_from(seeded, tmp_path)
    a_file_at(tmp_path / "reports")
    config = write_config(tmp_path, fake.url)
    result = run_cli("--config", config, "--symbols", SYMBOLS, "--force")
    assert result.returncode == 1
    line = one_line(result)
    assert f"report not written: {tmp_path / 'reports'}" in line, line
    [run] = query(db, "SELECT * FROM refresh_runs ORDER BY id DESC LIMIT 1")
    assert (run["status"], run["exit_code"]) == ("failed", 1)
    assert run["abort_reason"].startswith("report not written: ")
    (tmp_path / "reports").unlink()
    again = run_cli("--config", config, "--symbols", SYMBOLS)
    assert again.returncode == 0, again.stderr[-2000:]
    assert only_report(tmp_path)["resumed_from_run"] is None


@pytest.mark.parametrize(
    ("link", "sections"),
    [
        ("logs/batch_refresh.log", {}),
        ("stocks.db.lock", {}),
    ],
    ids=["log file", "lock file"],
)
def test_a_symlink_planted_where_the_job_writes_is_refused(seeded, tmp_path, fake, link, sections):
    db = start_from(seeded, tmp_path)
    before = digest(db)
    target = tmp_path / "elsewhere.txt"
    target.write_text("not the job's\n")
    (tmp_path / link).parent.mkdir(exist_ok=True)
    (tmp_path / link).symlink_to(target)
    config = write_config(tmp_path, fake.url, **sections)
    result = run_cli("--config", config, "--symbols", SYMBOLS)
    assert result.returncode == 1
    line = one_line(result)
    assert f"{tmp_path / link}: a symbolic link, which the job does not write through" in line
    assert target.read_text() == "not the job's\n"
    assert digest(db) == before


def test_failures_log_is_owner_only_and_never_written_through_a_symlink(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9")

    def umask_022():
        os.umask(0o022)

    result = run_cli("--config", config, "--notify-failure", "x.service", preexec_fn=umask_022)
    assert result.returncode == 0, result.stderr
    failures = tmp_path / "logs" / "failures.log"
    assert stat.S_IMODE(failures.stat().st_mode) == 0o600
    failures.unlink()
    target = tmp_path / "elsewhere.txt"
    target.write_text("")
    failures.symlink_to(target)
    result = run_cli("--config", config, "--notify-failure", "x.service", preexec_fn=umask_022)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == ""
    assert "a symbolic link, which the job does not write through" in result.stderr


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (SigCgt in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def start(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "batch_refresh.py"), "--config", str(config), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def test_sigterm_in_the_first_moment_is_one_line_and_exit_1(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    job = start(config)
    deadline = time.monotonic() + 30
    while not catches_sigterm(job.pid):  # the job's first statement, well before a second
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.001)
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 1
    assert stderr.splitlines() == [
        "terminated by signal (SIGTERM) before the run started; nothing was changed"
    ]
    assert not (tmp_path / "stocks.db").exists()


def test_sigterm_mid_run_reports_leaves_no_child_and_the_next_run_resumes(tmp_path):
    with FakeUpstream(companies=22, latency_ms=60) as slow:
        config = write_config(tmp_path, slow.url)
        job = start(config, "--limit", "12")
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        while not query_done(tmp_path / "stocks.db"):
            assert time.monotonic() < deadline and job.poll() is None, job.stderr.read()
            seen |= children(job.pid)
            time.sleep(0.05)
        seen |= children(job.pid)
        job.send_signal(signal.SIGTERM)
        _, stderr = job.communicate(timeout=60)
        exited = time.monotonic()
        assert job.returncode == 1
        assert "Traceback" not in stderr
        assert "terminated by signal (SIGTERM)" in stderr
        assert seen, "the job started no helper process"
        while any(alive(pid) for pid in seen):
            assert time.monotonic() - exited < 1.0, [pid for pid in seen if alive(pid)]
            time.sleep(0.02)
        report = only_report(tmp_path)
        assert report["status"] == "interrupted" and "SIGTERM" in report["abort_reason"]
        [run] = query(tmp_path / "stocks.db", "SELECT status FROM refresh_runs")
        assert run["status"] == "running"  # so that the next run resumes it
        again = run_cli("--config", config, "--limit", "12")
    assert again.returncode == 0, again.stderr[-2000:]
    assert only_report(tmp_path)["resumed_from_run"] == report["run_id"]


def query_done(db: Path) -> bool:
    """At least two stocks saved (and so the parsing helper started)."""
    if not db.exists():
        return False
    try:
        rows = query(db, "SELECT count(*) AS n FROM symbol_state WHERE last_success IS NOT NULL")
    except Exception:
        return False
    return rows[0]["n"] >= 2
