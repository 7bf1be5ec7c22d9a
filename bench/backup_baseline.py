"""The backup of the original design, kept to measure against: a full SQLite online-backup copy
per run, integrity-checked, with retention (stock_refresh/backup.py before restore points)."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path

BACKUP_NAME = re.compile(r"stocks_backup_(\d{8}_\d{6})(?:_(\d+))?\.db")
BUSY_TIMEOUT_SECONDS = 30


class BackupError(Exception):
    """The backup could not be made or failed its integrity check (one-line message)."""


def _new_backup_file(backup_dir: Path, now: datetime) -> Path:
    """Create an empty 0600 file with a name no other backup has (suffix within one second)."""
    stamp = now.strftime("%Y%m%d_%H%M%S")
    suffix = 0
    while True:
        name = f"stocks_backup_{stamp}.db" if suffix == 0 else f"stocks_backup_{stamp}_{suffix}.db"
        path = backup_dir / name
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return path
        except FileExistsError:
            suffix += 1


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _copy(db_path: Path, target: Path) -> None:
    source = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
            # The copy carries the source's WAL flag; a backup is a single self-contained file.
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
    finally:
        source.close()


def _integrity(target: Path) -> str:
    conn = sqlite3.connect(target)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "ok" if [r[0] for r in rows] == ["ok"] else "; ".join(str(r[0]) for r in rows[:3])


def _prune(backup_dir: Path, keep: int, made: Path) -> None:
    """Keep the newest `keep` backups by the time in their name; the one just made always stays.
    Only files named exactly like our backups are considered."""
    backups = []
    for path in backup_dir.iterdir():
        match = BACKUP_NAME.fullmatch(path.name)
        if match and path != made and path.is_file():
            backups.append(((match[1], int(match[2] or 0)), path))
    backups.sort(reverse=True)
    for _, path in backups[keep - 1 :]:
        path.unlink()


def backup_database(
    db_path: str | os.PathLike, backup_dir: str | os.PathLike, keep: int, now: datetime
) -> Path | None:
    """Back up db_path into backup_dir/stocks_backup_YYYYMMDD_HHMMSS.db (name from `now`,
    in whatever zone the caller chose); None when there is no database yet."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    db_path, backup_dir = Path(db_path), Path(backup_dir)
    if not db_path.exists():
        return None
    if not backup_dir.exists():
        backup_dir.mkdir(mode=0o700, parents=True)
        os.chmod(backup_dir, 0o700)
    target = _new_backup_file(backup_dir, now)
    try:
        _copy(db_path, target)
        result = _integrity(target)
    except BaseException as exc:
        _remove(target)
        if isinstance(exc, sqlite3.Error):
            raise BackupError(_one_line(f"backup of {db_path} failed: {exc}")) from exc
        raise
    if result != "ok":
        _remove(target)
        raise BackupError(_one_line(f"backup of {db_path} failed integrity_check: {result}"))
    _prune(backup_dir, keep, target)
    return target
