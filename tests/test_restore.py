"""--list-backups and --restore through the real CLI: one line and one exit code per failure."""

import random
import resource
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime

import pytest

from bench.backup_baseline import backup_database as full_copy
from bench.backups import fingerprint, make_database, night
from stock_refresh import points, store
from stock_refresh.backup import backup_database
from stock_refresh.lock import RunLock
from tests.conftest import only_report, run_cli, write_config
from tests.paths import ROOT

NIGHTS = [datetime(2026, 11, day, 2, 0, 0) for day in range(1, 8)]


@pytest.fixture
def site(tmp_path):
    """A config, a database and three nights of points (full, incremental, incremental)."""
    config = write_config(tmp_path, "http://127.0.0.1:9")
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 20)
    rng = random.Random(11)
    states = []
    for number, when in enumerate(NIGHTS[:3]):
        if number:
            night(db_path, rng, 0.2, number)
        states.append(fingerprint(db_path))
        backup_database(db_path, folder, 7, when)
    return config, db_path, folder, states


def one_line(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_list_backups_says_when_size_kind_and_verified(site):
    config, db_path, folder, _ = site
    full_copy(db_path, folder, 7, datetime(2026, 10, 31, 2, 0, 0))  # the old layout
    (folder / "stocks_backup_20261103_020000.incr").write_bytes(b"not a point")
    result = run_cli("--config", config, "--list-backups")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["point", "when", "kind", "size", "verified"]
    rows = [line.split() for line in lines[1:-1]]
    assert [(r[0], r[1], r[2], r[3], r[6:]) for r in rows] == [
        ("stocks_backup_20261031_020000.db", "2026-10-31", "02:00:00", "copy", ["ok"]),
        ("stocks_backup_20261101_020000.full", "2026-11-01", "02:00:00", "full", ["ok"]),
        ("stocks_backup_20261102_020000.incr", "2026-11-02", "02:00:00", "incremental", ["ok"]),
        (
            "stocks_backup_20261103_020000.incr",
            "2026-11-03",
            "02:00:00",
            "incremental",
            "not a restore point file (bad magic)".split(),
        ),
    ]
    assert all(r[5] == "MB" for r in rows)
    assert lines[-1].startswith("4 points, ") and str(folder) in lines[-1]


def test_restore_of_the_newest_swaps_atomically_and_keeps_the_old_aside(site):
    config, db_path, folder, states = site
    with sqlite3.connect(db_path) as conn:
        conn.execute("DELETE FROM filing_sections")
    broken = fingerprint(db_path)
    result = run_cli("--config", config, "--restore")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"restored {db_path} from stocks_backup_20261103_020000.incr")
    beside = sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith("stocks.db"))
    assert beside[0] == "stocks.db" and beside[2] == "stocks.db.lock"  # no -wal, no -shm
    assert beside[1].startswith("stocks.db.before-restore-") and len(beside) == 3
    assert not [p for p in db_path.parent.iterdir() if p.name.startswith(".stocks.db")]
    assert beside[1] in result.stdout
    assert fingerprint(db_path) == states[-1]
    assert fingerprint(db_path.with_name(beside[1])) == broken  # its -wal was folded in
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_restore_of_a_named_point_and_of_an_old_layout_copy(site):
    config, db_path, folder, states = site
    result = run_cli("--config", config, "--restore", "stocks_backup_20261101_020000")
    assert result.returncode == 0, result.stderr
    assert fingerprint(db_path) == states[0]
    copy = full_copy(db_path, folder, 7, datetime(2026, 10, 31, 2, 0, 0))
    night(db_path, random.Random(2), 0.2, 9)
    result = run_cli("--config", config, "--restore", copy.name)
    assert result.returncode == 0, result.stderr
    assert fingerprint(db_path) == states[0]


def test_a_database_damaged_beyond_reading_is_set_aside_as_it_is(site):
    config, db_path, _, states = site
    db_path.write_bytes(b"this is no longer a database" * 100)
    db_path.with_name("stocks.db-wal").write_bytes(b"stray frames")
    result = run_cli("--config", config, "--restore")
    assert result.returncode == 0, result.stderr
    assert fingerprint(db_path) == states[-1]
    (aside,) = db_path.parent.glob("stocks.db.before-restore-*[0-9]")
    assert aside.read_bytes() == b"this is no longer a database" * 100
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"stray frames"


def test_no_such_point_exits_66(site):
    config, db_path, _, states = site
    result = run_cli("--config", config, "--restore", "stocks_backup_20200101_000000")
    assert result.returncode == 66
    assert one_line(result).startswith(
        "restore error: no restore point 'stocks_backup_20200101_000000' in "
    )
    assert fingerprint(db_path) == states[-1]


def test_a_corrupt_point_or_a_broken_chain_exits_65(site):
    config, db_path, folder, states = site
    newest = folder / "stocks_backup_20261103_020000.incr"
    data = bytearray(newest.read_bytes())
    data[-40] ^= 0xFF
    newest.write_bytes(bytes(data))
    result = run_cli("--config", config, "--restore")
    assert result.returncode == 65
    assert one_line(result).startswith(
        "restore error: restore point stocks_backup_20261103_020000.incr: damaged pages"
    )

    (folder / "stocks_backup_20261101_020000.full").unlink()
    result = run_cli("--config", config, "--restore", "stocks_backup_20261102_020000.incr")
    assert result.returncode == 65
    assert "broken chain: its parent stocks_backup_20261101_020000.full is missing" in (
        one_line(result)
    )
    assert fingerprint(db_path) == states[-1]


def test_a_running_refresh_exits_75(site):
    config, db_path, _, states = site
    with RunLock(db_path.with_name("stocks.db.lock")):
        result = run_cli("--config", config, "--restore")
    assert result.returncode == 75
    assert one_line(result).startswith("restore error: another refresh is running (pid ")
    assert fingerprint(db_path) == states[-1]


def test_a_database_in_use_exits_69(site):
    config, db_path, _, states = site
    reader = sqlite3.connect(db_path, isolation_level=None)
    writer = sqlite3.connect(db_path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM stocks").fetchone()
        with writer:
            writer.execute("UPDATE stock_metrics SET price = 1")
        result = run_cli("--config", config, "--restore")
    finally:
        reader.close()
        writer.close()
    assert result.returncode == 69
    assert "is in use by another program" in one_line(result)
    assert not list(db_path.parent.glob("stocks.db.before-restore-*"))


def small_disk():
    """The file-size limit stands in for a full disk: writes past 1 MB fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))


def test_a_full_disk_exits_73_and_changes_nothing(site):
    config, db_path, _, states = site
    result = run_cli("--config", config, "--restore", preexec_fn=small_disk)
    assert result.returncode == 73
    assert one_line(result).startswith("restore error: disk full while restoring next to ")
    assert fingerprint(db_path) == states[-1]
    assert [p for p in db_path.parent.iterdir() if p.name.startswith(".stocks.db")] == []


PAUSED_RESTORE = """
import os, sys, time
from datetime import datetime
from pathlib import Path
from stock_refresh import points, restore

def pause():
    print("midway", flush=True)
    time.sleep(60)

if sys.argv[3] == "rebuild":
    real = points.iter_chunks
    def paused(path, header):
        for index, item in enumerate(real(path, header)):
            if index == 1:
                pause()
            yield item
    points.iter_chunks = paused
else:
    os.replace = lambda *args: pause()
restore.restore(Path(sys.argv[1]), Path(sys.argv[2]), None, datetime.now())
"""


@pytest.mark.parametrize("moment", ["rebuild", "swap"])
def test_kill_9_during_a_restore_leaves_the_points_and_the_database_intact(site, moment):
    config, db_path, folder, states = site
    with sqlite3.connect(db_path) as conn:
        conn.execute("DELETE FROM earnings_history WHERE year < 2010")
    live = fingerprint(db_path)
    before = {p.name: p.path.read_bytes() for p in points.find_points(folder)}
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED_RESTORE, str(db_path), str(folder), moment],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "midway\n"
    child.kill()
    assert child.wait() == -9

    assert fingerprint(db_path) == live
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {p.name: p.path.read_bytes() for p in points.find_points(folder)} == before
    result = run_cli("--config", config, "--restore")
    assert result.returncode == 0, result.stderr
    assert fingerprint(db_path) == states[-1]


def test_the_run_backs_up_reports_the_sizes_and_restores(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    store.open_db(tmp_path / "stocks.db").close()  # so that the first run has one to back up
    for _ in range(2):
        assert run_cli("--config", config, "--symbols", "AAPL").returncode == 0
    backup = only_report(tmp_path)["backup"]
    found = points.find_points(tmp_path / "backups")
    assert [p.kind for p in found] == ["full", "incremental"]
    assert backup["point"] == found[-1].name and backup["kind"] == "incremental"
    assert backup["size_bytes"] == found[-1].path.stat().st_size
    assert backup["all_points_bytes"] == sum(p.path.stat().st_size for p in found)
    assert 0 < backup["stored_pages"] < backup["page_count"]
    assert run_cli("--config", config, "--restore", found[0].name).returncode == 0
