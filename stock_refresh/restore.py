"""Listing and restoring restore points: rebuild into a scratch file, check it, swap it in.

The live database's content changes only by one atomic `os.replace`, after the rebuilt file has
matched the point's page hashes and passed `PRAGMA integrity_check` (before it, only SQLite's own
crash-safe checkpoint); a restore killed at any moment leaves it as it was. The database being
replaced is first checkpointed (its -wal folded in and truncated) and kept aside as
`<db>.before-restore-YYYYMMDD_HHMMSS`; the emptied -wal and -shm of the old file are removed, so
that they never attach to the restored one. A live file SQLite cannot read at all is kept aside
as it is, with its -wal and -shm.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import clock, points
from .lock import LockHeld, RunLock, lock_path_for
from .points import Point, PointError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CORRUPT = 65  # the point, or a point its chain needs, is damaged or missing
EXIT_NO_POINT = 66  # no point of that name
EXIT_IN_USE = 69  # another program holds the database in a transaction
EXIT_DISK_FULL = 73  # the rebuilt database could not be written
EXIT_LOCKED = 75  # a refresh is running
DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
SIDECARS = ("-wal", "-shm", "-journal")
FOLD_TIMEOUT_SECONDS = 3  # how long the checkpoint waits for other readers and writers


class RestoreError(Exception):
    """A restore that cannot go on: a one-line message and the exit code that says why."""

    def __init__(self, message: str, code: int):
        super().__init__(" ".join(message.split()))
        self.code = code


@dataclass(frozen=True)
class Listed:
    point: Point
    size_bytes: int
    verified: str


def list_points(backup_dir: Path) -> list[Listed]:
    """Every point, oldest first, each read back whole (with its chain) to say if it restores."""
    found = points.find_points(backup_dir)
    by_name = {p.name: p for p in found}
    return [Listed(p, p.path.stat().st_size, points.verify(p, by_name)) for p in found]


def format_listing(backup_dir: Path, listed: list[Listed]) -> str:
    if not listed:
        return f"no restore points in {backup_dir}"
    lines = [f"{'point':<40} {'when':<19}  {'kind':<11} {'size':>10}  verified"]
    for item in listed:
        lines.append(
            f"{item.point.name:<40} {item.point.when:<19}  {item.point.kind:<11} "
            f"{item.size_bytes / 1e6:>7.1f} MB  {item.verified}"
        )
    total = sum(item.size_bytes for item in listed)
    lines.append(f"{len(listed)} points, {total / 1e6:.1f} MB in all, in {backup_dir}")
    return "\n".join(lines)


def select(backup_dir: Path, wanted: str | None) -> tuple[Point, dict[str, Point]]:
    """The newest point, or the one named (its file name, or that name without the suffix)."""
    found = points.find_points(backup_dir)
    by_name = {p.name: p for p in found}
    if not found:
        raise RestoreError(f"no restore points in {backup_dir}", EXIT_NO_POINT)
    if wanted is None:
        return found[-1], by_name
    for point in found:
        if wanted in (point.name, point.name.rsplit(".", 1)[0]):
            return point, by_name
    raise RestoreError(
        f"no restore point {wanted!r} in {backup_dir}: expected a name that "
        "--list-backups shows, such as " + found[-1].name,
        EXIT_NO_POINT,
    )


def _rebuild(point: Point, by_name: dict[str, Point], target: Path) -> None:
    """Write the database as it was at `point` into target and check every page's hash."""
    if point.kind == "copy":
        shutil.copyfile(point.path, target)
        return
    links = points.chain(point, by_name)
    headers = [points.read_header(link.path) for link in links]
    page_size = headers[0].page_size
    if any(h.page_size != page_size for h in headers):
        raise PointError("its chain mixes page sizes")
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "r+b") as out:
        for _, chunk in points.iter_chunks(links[0].path, headers[0]):
            out.write(chunk)
        out.flush()
        for link, header in zip(links[1:], headers[1:], strict=True):
            for numbers, chunk in points.iter_chunks(link.path, header):
                for index, number in enumerate(numbers):
                    page = chunk[index * page_size : (index + 1) * page_size]
                    os.pwrite(fd, page, (number - 1) * page_size)
        out.truncate(headers[-1].page_count * page_size)
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
            matches = points.hash_pages(memoryview(mapped), page_size) == headers[-1].hashes
        if not matches:
            raise PointError("the rebuilt database does not match the point's page hashes")


def _fold_wal(db_path: Path) -> bool:
    """Checkpoint the live database into its main file and empty its -wal, or refuse while
    another program holds it. False when the file is not a database SQLite can read (the
    damage a restore is for): it is then set aside as it is, with its -wal and -shm."""
    try:
        conn = sqlite3.connect(db_path, timeout=FOLD_TIMEOUT_SECONDS)
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError as error:
        if error.sqlite_errorname not in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            return False
        busy = 1
    except sqlite3.DatabaseError:
        return False
    wal = db_path.with_name(db_path.name + "-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise RestoreError(
            f"{db_path} is in use by another program (its -wal could not be checkpointed): "
            "stop the screener and try again",
            EXIT_IN_USE,
        )
    return True


def _aside_name(db_path: Path, now: datetime) -> Path:
    stem = f"{db_path.name}.before-restore-{now:%Y%m%d_%H%M%S}"
    aside, suffix = db_path.with_name(stem), 1
    while aside.exists():
        aside, suffix = db_path.with_name(f"{stem}_{suffix}"), suffix + 1
    return aside


def _swap(db_path: Path, rebuilt: Path, now: datetime) -> Path | None:
    """Keep the live database aside (a hard link: the live name stays until the replace)
    and put the rebuilt one in its place atomically."""
    aside = None
    if db_path.exists():
        # the -wal and -shm are linked aside first: SQLite deletes a -wal it cannot use
        aside = _aside_name(db_path, now)
        os.link(db_path, aside)
        sidecars = []
        for suffix in ("-wal", "-shm"):
            sidecar = db_path.with_name(db_path.name + suffix)
            if sidecar.exists():
                sidecars.append(aside.with_name(aside.name + suffix))
                os.link(sidecar, sidecars[-1])
        try:
            folded = _fold_wal(db_path)
        except RestoreError:
            for link in [aside, *sidecars]:
                link.unlink()
            raise
        for link in sidecars if folded else []:  # the main file now holds everything
            link.unlink()
        os.chmod(rebuilt, db_path.stat().st_mode & 0o777)
    os.replace(rebuilt, db_path)
    for suffix in SIDECARS:
        with contextlib.suppress(FileNotFoundError):
            db_path.with_name(db_path.name + suffix).unlink()
    points.fsync(db_path.parent)
    return aside


def _scratch_files(db_path: Path) -> list[Path]:
    return list(db_path.parent.glob(f".{db_path.name}.restore-*.tmp"))


def restore(
    db_path: Path, backup_dir: Path, wanted: str | None, now: datetime
) -> tuple[Point, Path | None]:
    """Restore `wanted` (None: the newest point) over db_path; (point, aside path or None)."""
    label = wanted or "the newest"
    try:
        with RunLock(lock_path_for(db_path)):
            point, by_name = select(backup_dir, wanted)
            label = point.name
            for leftover in _scratch_files(db_path):  # of a restore that was killed
                leftover.unlink()
            rebuilt = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}.tmp")
            try:
                _rebuild(point, by_name, rebuilt)
                result = points.check_file(rebuilt)
                if result != "ok":
                    raise PointError(f"the rebuilt database fails integrity_check: {result}")
                points.fsync(rebuilt)
                return point, _swap(db_path, rebuilt, now)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    rebuilt.unlink()
    except LockHeld as error:
        raise RestoreError(f"{error}: not restoring while it runs", EXIT_LOCKED) from None
    except PointError as error:
        raise RestoreError(f"restore point {label}: {error}", EXIT_CORRUPT) from None
    except sqlite3.DatabaseError as error:
        raise RestoreError(
            f"restore point {label} is not a usable database: {error}", EXIT_CORRUPT
        ) from None
    except OSError as error:
        if error.errno in DISK_FULL:
            raise RestoreError(
                f"disk full while restoring next to {db_path}: {error.strerror}; the database "
                "was not changed (it needs room for one more copy of itself)",
                EXIT_DISK_FULL,
            ) from None
        raise RestoreError(f"restore failed: {error}", EXIT_FAILED) from None


def run_list(config) -> int:
    print(
        format_listing(
            config.database.backup_directory, list_points(config.database.backup_directory)
        )
    )
    return EXIT_OK


def run_restore(config, wanted: str | None) -> int:
    """The CLI's --restore: one line on stdout when done, one on stderr and its code if not."""
    old_umask = os.umask(0o077)
    try:
        point, aside = restore(
            config.database.path, config.database.backup_directory, wanted, clock.now()
        )
    except RestoreError as error:
        print(f"restore error: {error}", file=sys.stderr)
        return error.code
    finally:
        os.umask(old_umask)
    kept = f"; the previous database is kept as {aside}" if aside else ""
    print(f"restored {config.database.path} from {point.name}{kept}")
    return EXIT_OK
