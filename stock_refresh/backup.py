"""Backup before a run: an incremental restore point of one consistent snapshot, verified.

A file copy of a live WAL database misses committed pages still in the -wal file and can catch a
torn state; `Connection.backup` copies one consistent snapshot of committed data while the
screener keeps reading and writing. The snapshot is a scratch file: only the pages whose hash
changed since the newest point are kept (compressed, see points.py), with a full point every
`full_every` points so that no chain grows without end. Before a point is named it is read back
and checked page by page, and the database passes `PRAGMA integrity_check`; otherwise the run
gets a BackupError and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sqlite3
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import clock, points
from .files import open_private, os_error_line, owner_only_dir
from .points import HASH_SIZE, Point, PointError

BUSY_TIMEOUT_SECONDS = 30
FULL_EVERY = 7  # with the default keep of 7: a base and six incrementals, see the README
SCRATCH_PREFIX = ".stocks_backup_"
CHECKPOINT_WAIT_MS = 500  # a busy database is copied instead of checkpointed


class BackupError(Exception):
    """The backup could not be made or failed its checks (one-line message)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    kind: str
    size_bytes: int
    stored_pages: int
    page_count: int
    all_points_bytes: int

    def __str__(self) -> str:
        return f"{self.path} ({self.kind}, {self.stored_pages} of {self.page_count} pages)"

    def summary(self) -> dict:
        """What the run's report says about its backup."""
        return {
            "point": self.path.name,
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "stored_pages": self.stored_pages,
            "page_count": self.page_count,
            "all_points_bytes": self.all_points_bytes,
        }


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path.unlink()


def _remove_scratch(backup_dir: Path) -> None:
    """Scratch files of a backup that was killed; one backup runs at a time (the run lock)."""
    for path in backup_dir.glob(SCRATCH_PREFIX + "*.tmp"):
        _remove(path)


def _copy(db_path: Path, target: Path) -> None:
    source = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        dest = sqlite3.connect(target)
        try:
            # A scratch file: durability and a journal would only cost time.
            dest.execute("PRAGMA synchronous = OFF")
            dest.execute("PRAGMA journal_mode = OFF")
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


@contextlib.contextmanager
def _snapshot(db_path: Path, scratch: Path) -> Iterator[memoryview]:
    """The pages of one consistent snapshot of the database.

    The -wal is checkpointed first (if no reader or writer is in the way). A read transaction
    that then finds it empty reads the main file only, and no checkpoint may write into the main
    file while such a reader lives (SQLite's WAL read-lock 0): the main file is the snapshot,
    mapped as it is. Otherwise the online backup API copies a snapshot to a scratch file.
    """
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    handle = None
    try:
        conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        wal = db_path.with_name(db_path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            conn.execute("ROLLBACK")
            _copy(db_path, scratch)
            source = scratch
        else:
            source = db_path
        handle = open(source, "rb")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield memoryview(mapped)
        finally:
            # slices held by an exception's traceback keep the map open until they are freed
            with contextlib.suppress(BufferError):
                mapped.close()
    finally:
        # closing a descriptor of the database drops this process's locks on it: SQLite first
        conn.close()
        if handle:
            handle.close()


def _integrity(db_path: Path) -> str:
    """integrity_check of the live database: the snapshot is a page-for-page copy of it."""
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "ok" if [r[0] for r in rows] == ["ok"] else "; ".join(str(r[0]) for r in rows[:3])


def _page_size(view: memoryview) -> int:
    size = int.from_bytes(view[16:18], "big")
    return 65536 if size == 1 else size


def _page_count(view: memoryview, page_size: int) -> int:
    """The header's database size when it is valid (the file may be longer), else the file's."""
    in_header = int.from_bytes(view[28:32], "big")
    if in_header and view[24:28] == view[92:96]:
        return min(in_header, len(view) // page_size)
    return len(view) // page_size


def _parent(
    found: list[Point], page_size: int, full_every: int
) -> tuple[Point, points.PointFile] | None:
    """The point to build on, or None when the next point must be full: there is none, its
    chain is broken or has full_every points, or its incrementals outweigh half its base."""
    newest = [p for p in found if p.kind != "copy"]
    if not newest:
        return None
    by_name = {p.name: p for p in found}
    try:
        links = points.chain(newest[-1], by_name)
        header = points.read_header(newest[-1].path)
    except PointError:
        return None
    increments = sum(p.path.stat().st_size for p in links[1:])
    if (
        header.page_size != page_size
        or len(links) >= full_every
        or increments > links[0].path.stat().st_size / 2
    ):
        return None
    return newest[-1], header


def _name(backup_dir: Path, now: datetime, extension: str, scratch: Path) -> Path:
    """Link the finished scratch file to a name no other point has (suffix within a second)."""
    stamp = now.strftime("%Y%m%d_%H%M%S")
    suffix = 0
    while True:
        stem = f"stocks_backup_{stamp}" + (f"_{suffix}" if suffix else "")
        taken = any((backup_dir / f"{stem}.{ext}").exists() for ext in points.KIND_BY_SUFFIX)
        if not taken:
            path = backup_dir / f"{stem}.{extension}"
            try:
                os.link(scratch, path)
                return path
            except FileExistsError:
                pass
        suffix += 1


def _changed(hashes: bytes, previous: bytes) -> array:
    numbers = array("I")
    for index in range(len(hashes) // HASH_SIZE):
        at = index * HASH_SIZE
        if hashes[at : at + HASH_SIZE] != previous[at : at + HASH_SIZE]:
            numbers.append(index + 1)
    return numbers


def _write(view: memoryview, parent, scratch: Path) -> None:
    """Write the point to the scratch file, durably, and read it back whole."""
    page_size = _page_size(view)
    page_count = _page_count(view, page_size)
    view = view[: page_count * page_size]
    hashes = points.hash_pages(view, page_size)
    if parent:
        numbers = _changed(hashes, parent[1].hashes)
        pages = b"".join(view[(n - 1) * page_size : n * page_size] for n in numbers)
    else:
        numbers = array("I")
        pages = view
    manifest = {
        "kind": "incremental" if parent else "full",
        "created": clock.now().isoformat(timespec="seconds"),
        "parent": parent[0].name if parent else None,
        "page_size": page_size,
        "page_count": page_count,
        "stored_pages": len(numbers) if parent else page_count,
    }
    fd = open_private(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "wb") as handle:
        points.write_point(handle, manifest, hashes, numbers, pages)
        handle.flush()
        os.fsync(handle.fileno())
    header = points.read_header(scratch)
    read_back = sum(len(numbers) for numbers, _ in points.iter_chunks(scratch, header))
    if (header.manifest, header.hashes, read_back) != (manifest, hashes, manifest["stored_pages"]):
        raise PointError("the point read back differs from what was written")


def _prune(backup_dir: Path, keep: int, made: Path) -> None:
    """Keep the newest `keep` points by the time in their name (the one just made always
    stays) and every point their chains need; only files named like our points are touched.
    The chain's files get the new point's time, so that a cleanup by age (find -mtime)
    removes a base only together with every point built on it."""
    found = points.find_points(backup_dir)
    by_name = {p.name: p for p in found}
    kept = [by_name[made.name]] + [p for p in found if p.path != made][::-1][: keep - 1]
    needed = set()
    for point in kept:
        try:
            links = points.chain(point, by_name)
        except PointError:
            links = [point]
        needed.update(link.name for link in links)
    for link in points.chain(by_name[made.name], by_name)[:-1]:
        os.utime(link.path)
    for point in found:
        if point.name not in needed:
            point.path.unlink()


def backup_database(
    db_path: str | os.PathLike,
    backup_dir: str | os.PathLike,
    keep: int,
    now: datetime,
    *,
    full_every: int = FULL_EVERY,
) -> BackupResult | None:
    """Make a restore point of db_path in backup_dir, named stocks_backup_YYYYMMDD_HHMMSS from
    `now` (in whatever zone the caller chose); None when there is no database yet (or an empty
    file)."""
    if keep < 1 or full_every < 1:
        raise ValueError("keep and full_every must be at least 1")
    db_path, backup_dir = Path(db_path), Path(backup_dir)
    if not db_path.exists() or not db_path.stat().st_size:
        return None
    snapshot = backup_dir / f"{SCRATCH_PREFIX}snapshot-{os.getpid()}.tmp"
    scratch = backup_dir / f"{SCRATCH_PREFIX}point-{os.getpid()}.tmp"
    try:
        owner_only_dir(backup_dir)
        _remove_scratch(backup_dir)
        with ThreadPoolExecutor(1) as pool:
            # integrity_check of the database runs on the other core, in a read transaction of
            # its own, while the snapshot is hashed, packed and read back
            checked = pool.submit(_integrity, db_path)
            with _snapshot(db_path, snapshot) as view:
                try:
                    parent = _parent(points.find_points(backup_dir), _page_size(view), full_every)
                    _write(view, parent, scratch)
                finally:
                    wait([checked])  # before the snapshot's descriptor of the database closes
            result = checked.result()
        if result != "ok":
            raise BackupError(_one_line(f"backup of {db_path} failed integrity_check: {result}"))
        made = _name(backup_dir, now, "incr" if parent else "full", scratch)
        points.fsync(backup_dir)
        _prune(backup_dir, keep, made)
        header = points.read_header(made)
        return BackupResult(
            path=made,
            kind=header.manifest["kind"],
            size_bytes=made.stat().st_size,
            stored_pages=header.manifest["stored_pages"],
            page_count=header.page_count,
            all_points_bytes=points.total_bytes(backup_dir),
        )
    except (sqlite3.Error, OSError, PointError) as exc:
        cause = os_error_line(exc) if isinstance(exc, OSError) else exc
        raise BackupError(_one_line(f"backup of {db_path} failed: {cause}")) from exc
    finally:
        _remove(snapshot)
        _remove(scratch)
