"""Restore points of a live WAL database: incremental pages, full bases, retention, checks."""

import os
import random
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import datetime

import pytest

from bench.backups import fingerprint, make_database, night
from stock_refresh import points, store
from stock_refresh.backup import BackupError, backup_database
from stock_refresh.models import StockData
from stock_refresh.restore import restore
from tests.conftest import break_an_index
from tests.paths import ROOT

NOW = datetime(2026, 11, 29, 2, 0, 5)
NIGHTS = [datetime(2026, 11, day, 2, 0, 0) for day in range(1, 31)]


def make_db(path, symbols=("AAPL", "MSFT")):
    db = store.open_db(path)
    for symbol in symbols:
        store.save_stock(
            db,
            StockData(
                symbol=symbol,
                profile={"company_name": symbol},
                metrics={"price": 100.0},
                kinds={"market"},
            ),
            "2026-11-29T07:00:00+00:00",
        )
    return db


def names(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("stocks_backup_"))


def kinds(folder):
    return [p.kind for p in points.find_points(folder)]


def restored(tmp_path, folder, point):
    target = tmp_path / f"restored-{point}.db"
    restore(target, folder, point, NOW)
    return target


def test_no_database_no_backup(tmp_path):
    assert backup_database(tmp_path / "stocks.db", tmp_path / "backups", 7, NOW) is None
    assert not (tmp_path / "backups").exists()


def test_backup_of_a_live_database_holds_committed_data_only(tmp_path):
    db_path = tmp_path / "stocks.db"
    db = make_db(db_path)
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO stocks (symbol, company_name) VALUES ('NVDA', 'NVIDIA')")
    try:
        made = backup_database(db_path, tmp_path / "backups", 7, NOW)
    finally:
        writer.execute("COMMIT")
        writer.close()

    assert made.path == tmp_path / "backups" / "stocks_backup_20261129_020005.full"
    assert made.kind == "full" and made.stored_pages == made.page_count
    assert made.all_points_bytes == made.size_bytes == made.path.stat().st_size
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700
    assert names(made.path.parent) == [made.path.name]  # no scratch file is left
    copy = restored(tmp_path, made.path.parent, made.path.name)
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in check.execute("SELECT symbol FROM stocks ORDER BY symbol")] == [
        "AAPL",
        "MSFT",
    ]
    assert check.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    check.close()
    assert db.execute("SELECT count(*) FROM stocks").fetchone()[0] == 3
    db.close()


def test_an_incremental_point_stores_only_the_changed_pages(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 40)
    base = backup_database(db_path, folder, 7, NIGHTS[0])
    same = backup_database(db_path, folder, 7, NIGHTS[1])
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE stock_metrics SET price = 1.5 WHERE symbol = 'S00007'")
    one = backup_database(db_path, folder, 7, NIGHTS[2])

    assert (base.kind, same.kind, one.kind) == ("full", "incremental", "incremental")
    assert same.stored_pages == 0 and same.size_bytes < base.size_bytes / 20
    before = restored(tmp_path, folder, same.path.name).read_bytes()
    after = restored(tmp_path, folder, one.path.name).read_bytes()
    differ = [
        n + 1
        for n in range(len(after) // 4096)
        if before[n * 4096 : (n + 1) * 4096] != after[n * 4096 : (n + 1) * 4096]
    ]
    assert list(points.read_header(one.path).page_numbers) == differ
    assert 1 <= len(differ) <= 3  # the row's page, maybe page 1 (the change counter)
    assert one.all_points_bytes == sum(p.size_bytes for p in (base, same, one))


def test_a_full_base_every_k_points(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_db(db_path).close()
    for when in NIGHTS[:7]:
        backup_database(db_path, folder, 10, when, full_every=3)
    assert kinds(folder) == ["full", "incremental", "incremental"] * 2 + ["full"]


def test_a_full_base_when_the_increments_outweigh_half_of_it(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 20)
    rng = random.Random(3)
    for number, when in enumerate(NIGHTS[:4]):
        night(db_path, rng, 0.6, number + 1)  # about half the pages change each night
        backup_database(db_path, folder, 10, when)
    # the fourth point would need two incrementals that together outweigh half the base
    assert kinds(folder) == ["full", "incremental", "incremental", "full"]


def test_retention_never_breaks_a_kept_point(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_db(db_path).close()
    folder.mkdir()
    unrelated = ["stocks_backup_before_upgrade.db", "notes.txt", "stocks_backup_1.full.txt"]
    for name in unrelated:
        (folder / name).write_text("keep me")
    made = []
    for when in NIGHTS[:8]:
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE stock_metrics SET price = price + 1")
        made.append(backup_database(db_path, folder, 2, when, full_every=3).path.name)

    # points 7 (full) and 8 are the newest two; 8 needs 7 only: 1 to 6 are gone
    ours = ["stocks_backup_before_upgrade.db", "stocks_backup_1.full.txt"]  # not point names
    assert names(folder) == sorted(made[6:] + ours)
    for name in unrelated:
        assert (folder / name).read_text() == "keep me"

    kept = []
    for when in NIGHTS[8:10]:
        kept.append(backup_database(db_path, folder, 2, when, full_every=3).path.name)
    # the newest two (9, 10) need 7 and 8 too, so nothing a kept point needs is deleted
    assert names(folder) == sorted(made[6:] + kept + ours)
    found = points.find_points(folder)
    by_name = {p.name: p for p in found}
    assert all(points.verify(p, by_name) == "ok" for p in found)


def test_the_chain_gets_the_newest_time_so_age_based_cleanups_keep_it_whole(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_db(db_path).close()
    first = backup_database(db_path, folder, 7, NIGHTS[0]).path
    second = backup_database(db_path, folder, 7, NIGHTS[1]).path
    week_ago = time.time() - 8 * 86400
    for path in (first, second):
        os.utime(path, (week_ago, week_ago))
    third = backup_database(db_path, folder, 7, NIGHTS[2]).path
    newest = third.stat().st_mtime
    assert first.stat().st_mtime >= newest and second.stat().st_mtime >= newest
    # what `find backups/ -mtime +7 -delete` would see: nothing old enough
    assert [p for p in folder.iterdir() if p.stat().st_mtime < time.time() - 7 * 86400] == []


def test_old_layout_copies_count_as_points_and_age_out(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_db(db_path).close()
    from bench.backup_baseline import backup_database as full_copy

    full_copy(db_path, folder, 7, NIGHTS[0])
    assert kinds(folder) == ["copy"]
    made = [backup_database(db_path, folder, 2, when).path.name for when in NIGHTS[1:3]]
    assert names(folder) == made


def test_same_second_gets_a_suffix_and_counts_as_newer(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path).close()
    folder = tmp_path / "backups"
    made = [backup_database(db_path, folder, 7, NOW).path.name for _ in range(3)]
    assert made == [
        "stocks_backup_20261129_020005.full",
        "stocks_backup_20261129_020005_1.incr",
        "stocks_backup_20261129_020005_2.incr",
    ]
    assert [p.name for p in points.find_points(folder)] == made


def test_the_new_backup_survives_a_clock_that_went_backwards(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path).close()
    folder = tmp_path / "backups"
    backup_database(db_path, folder, 1, datetime(2026, 12, 1), full_every=1)
    made = backup_database(db_path, folder, 1, datetime(2026, 11, 1), full_every=1)
    assert names(folder) == [made.path.name]


def test_a_corrupt_database_fails_the_backup_and_leaves_nothing(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path, symbols=("AAPL", "MSFT", "NVDA")).close()
    break_an_index(db_path)

    folder = tmp_path / "backups"
    with pytest.raises(BackupError, match="integrity_check") as failure:
        backup_database(db_path, folder, 7, NOW)
    assert "\n" not in str(failure.value)
    assert list(folder.iterdir()) == []


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        backup_database(tmp_path / "stocks.db", tmp_path / "backups", 0, NOW)


def test_each_point_restores_row_for_row(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 30)
    rng = random.Random(5)
    states, made = [], []
    for number, when in enumerate(NIGHTS[:4]):
        if number:
            night(db_path, rng, 0.1, number)
        states.append(fingerprint(db_path))
        made.append(backup_database(db_path, folder, 7, when).path.name)
    assert kinds(folder) == ["full"] + ["incremental"] * 3
    for name, state in zip(made, states, strict=True):
        assert fingerprint(restored(tmp_path, folder, name)) == state


WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
print("writing", flush=True)
n = 0
while True:
    n += 1
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO stocks (symbol) VALUES (?)", (f"W{n:06d}",))
    conn.execute("INSERT INTO stock_metrics (symbol, price) VALUES (?, ?)", (f"W{n:06d}", n))
    conn.execute("COMMIT")
"""


def test_a_backup_while_another_connection_writes_is_consistent(tmp_path):
    """Every committed pair of rows is in the point whole, or not at all."""
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 20)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        writer.stdout.readline()
        made = [backup_database(db_path, folder, 7, when).path.name for when in NIGHTS[:3]]
    finally:
        writer.kill()
        writer.wait()
    written = []
    for name in made:
        conn = sqlite3.connect(restored(tmp_path, folder, name))
        stocks = conn.execute("SELECT count(*) FROM stocks WHERE symbol LIKE 'W%'").fetchone()[0]
        metrics = conn.execute(
            "SELECT count(*) FROM stock_metrics WHERE symbol LIKE 'W%'"
        ).fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        assert stocks == metrics
        written.append(stocks)
    assert written == sorted(written) and written[-1] > written[0]


SLOW_BACKUP = """
import sys, time
from datetime import datetime
from stock_refresh import backup, points
real = points.write_point

def paused(handle, manifest, hashes, numbers, pages):
    real(handle, manifest, hashes, numbers, pages[: len(pages) // 2])
    handle.flush()
    print("midway", flush=True)
    time.sleep(60)

points.write_point = paused
backup.backup_database(sys.argv[1], sys.argv[2], 2, datetime(2026, 12, 30), full_every=1)
"""


def test_kill_9_during_a_backup_leaves_the_points_and_the_database_intact(tmp_path):
    db_path, folder = tmp_path / "stocks.db", tmp_path / "backups"
    make_database(db_path, 20)
    for when in NIGHTS[:2]:
        backup_database(db_path, folder, 2, when)
    before = {p.name: p.path.read_bytes() for p in points.find_points(folder)}
    state = fingerprint(db_path)

    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_BACKUP, str(db_path), str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == "midway\n"
    child.kill()
    assert child.wait() == -9

    assert {p.name: p.path.read_bytes() for p in points.find_points(folder)} == before
    assert fingerprint(db_path) == state
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())  # killed mid-write
    made = backup_database(db_path, folder, 2, NIGHTS[2])
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())
    assert fingerprint(restored(tmp_path, folder, made.path.name)) == state
