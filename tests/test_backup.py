"""Backups of a live WAL database: consistent copies, integrity check, retention, modes."""

import sqlite3
import stat
from datetime import datetime

import pytest

from stock_refresh import store
from stock_refresh.backup import BackupError, backup_database
from stock_refresh.models import StockData

NOW = datetime(2026, 11, 29, 2, 0, 5)


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


def backups(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("stocks_backup_"))


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
        copy = backup_database(db_path, tmp_path / "backups", 7, NOW)
    finally:
        writer.execute("COMMIT")
        writer.close()

    assert copy == tmp_path / "backups" / "stocks_backup_20261129_020005.db"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in check.execute("SELECT symbol FROM stocks ORDER BY symbol")] == [
        "AAPL",
        "MSFT",
    ]
    assert check.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    check.close()
    assert backups(copy.parent) == [copy.name]
    # The live database is untouched and still usable.
    assert db.execute("SELECT count(*) FROM stocks").fetchone()[0] == 3
    db.close()


def test_retention_keeps_the_newest_and_nothing_else_is_touched(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path).close()
    folder = tmp_path / "backups"
    folder.mkdir()
    unrelated = [
        "stocks_backup_before_upgrade.db",
        "notes.txt",
        "stocks.db",
        "stocks_backup_20200101_000000.db.txt",
    ]
    for name in unrelated:
        (folder / name).write_text("keep me")

    made = [
        backup_database(db_path, folder, 3, datetime(2026, 11, day, 2, 0, 0))
        for day in (20, 21, 22, 23, 24)
    ]
    assert backups(folder) == sorted(
        [p.name for p in made[-3:]]
        + ["stocks_backup_20200101_000000.db.txt", "stocks_backup_before_upgrade.db"]
    )
    for name in unrelated:
        assert (folder / name).read_text() == "keep me"


def test_same_second_gets_a_suffix_and_counts_as_newer(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path).close()
    folder = tmp_path / "backups"
    names = [backup_database(db_path, folder, 2, NOW).name for _ in range(3)]
    assert names == [
        "stocks_backup_20261129_020005.db",
        "stocks_backup_20261129_020005_1.db",
        "stocks_backup_20261129_020005_2.db",
    ]
    assert backups(folder) == names[1:]


def test_the_new_backup_survives_a_clock_that_went_backwards(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path).close()
    folder = tmp_path / "backups"
    backup_database(db_path, folder, 1, datetime(2026, 12, 1))
    made = backup_database(db_path, folder, 1, datetime(2026, 11, 1))
    assert backups(folder) == [made.name]


def test_a_corrupt_copy_is_removed_and_reported(tmp_path):
    db_path = tmp_path / "stocks.db"
    make_db(db_path, symbols=("AAPL", "MSFT", "NVDA")).close()
    # Point the screener's stocks_cik index at another column: every entry is now wrong.
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX idx_stocks_cik ON stocks "
        "(company_name)' WHERE name = 'idx_stocks_cik'"
    )
    conn.commit()
    conn.close()

    folder = tmp_path / "backups"
    with pytest.raises(BackupError, match="integrity_check") as failure:
        backup_database(db_path, folder, 7, NOW)
    assert "\n" not in str(failure.value)
    assert list(folder.iterdir()) == []


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        backup_database(tmp_path / "stocks.db", tmp_path / "backups", 0, NOW)
