"""Restore points on disk: one file per point, full or incremental, read back and checked.

A point file is `stocks_backup_YYYYMMDD_HHMMSS[_N].full` or `.incr`:

    MAGIC
    u32 length + manifest (JSON: kind, created, parent, page_size, page_count, stored_pages)
    u64 length + zstd(one 8-byte xxh3 hash per page of the whole database at this point)
    u64 length + zstd(u32 page numbers of the stored pages; empty for a full point)
    zstd(the stored pages, in that order; every page for a full point)

An incremental point stores the pages whose hash differs from its parent's and names its parent;
restoring it is its chain's full base plus each incremental in order. Every zstd frame carries a
content checksum, and each stored page is checked against its hash, so a damaged file is found
when it is read. Old-layout full copies (`stocks_backup_*.db`) are points of kind `copy`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import xxhash
import zstandard

MAGIC = b"stock-refresh restore point 1\n"
POINT_NAME = re.compile(r"stocks_backup_(\d{8}_\d{6})(?:_(\d+))?\.(db|full|incr)")
KIND_BY_SUFFIX = {"db": "copy", "full": "full", "incr": "incremental"}
HASH_SIZE = 8
ZSTD_LEVEL = 1  # level 3 is 4 % smaller here and a third slower; the time goal matters more
PAGES_PER_CHUNK = 256


class PointError(Exception):
    """A point file is damaged, incomplete or not a point (one-line message)."""


def hash_pages(view: memoryview, page_size: int) -> bytes:
    """One 8-byte xxh3 hash per page: enough to tell a changed page (a 2^-64 chance to miss)."""
    return b"".join(
        xxhash.xxh3_64_digest(view[i : i + page_size]) for i in range(0, len(view), page_size)
    )


@dataclass(frozen=True)
class Point:
    """A restore point found in the backup folder (its manifest is read lazily)."""

    path: Path
    stamp: str  # YYYYMMDD_HHMMSS from the name
    seq: int  # the _N suffix of points made within the same second
    kind: str  # full, incremental or copy

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def order(self) -> tuple[str, int]:
        return (self.stamp, self.seq)

    @property
    def when(self) -> str:
        s = self.stamp
        return f"{s[:4]}-{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]}:{s[13:15]}"


def find_points(backup_dir: Path) -> list[Point]:
    """Every point in the folder, oldest first; files of other names are not ours."""
    points = []
    if backup_dir.is_dir():
        for path in backup_dir.iterdir():
            match = POINT_NAME.fullmatch(path.name)
            if match and path.is_file():
                kind = KIND_BY_SUFFIX[match[3]]
                points.append(Point(path, match[1], int(match[2] or 0), kind))
    return sorted(points, key=lambda p: p.order)


@dataclass
class PointFile:
    """A point file's header, read without decompressing its pages."""

    manifest: dict
    hashes: bytes
    page_numbers: array
    pages_offset: int

    @property
    def page_size(self) -> int:
        return self.manifest["page_size"]

    @property
    def page_count(self) -> int:
        return self.manifest["page_count"]

    @property
    def parent(self) -> str | None:
        return self.manifest["parent"]


def _read_exact(handle, size: int, what: str) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise PointError(f"truncated ({what})")
    return data


def _decompress(blob: bytes, what: str) -> bytes:
    try:
        return zstandard.ZstdDecompressor().decompress(blob)
    except zstandard.ZstdError as error:
        raise PointError(f"damaged {what}: {error}") from None


def read_header(path: Path) -> PointFile:
    try:
        with open(path, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise PointError("not a restore point file (bad magic)")
            (length,) = struct.unpack("<I", _read_exact(handle, 4, "manifest length"))
            try:
                manifest = json.loads(_read_exact(handle, length, "manifest"))
            except ValueError:
                raise PointError("damaged manifest") from None
            blobs = []
            for what in ("page hashes", "page numbers"):
                (length,) = struct.unpack("<Q", _read_exact(handle, 8, what))
                blobs.append(_decompress(_read_exact(handle, length, what), what))
            offset = handle.tell()
    except OSError as error:
        raise PointError(f"cannot read: {error.strerror}") from None
    numbers = array("I")
    numbers.frombytes(blobs[1])
    point = PointFile(manifest, blobs[0], numbers, offset)
    if len(point.hashes) != point.page_count * HASH_SIZE:
        raise PointError("manifest and page hashes disagree")
    return point


def _read_full(reader, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = reader.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def iter_chunks(path: Path, header: PointFile) -> Iterator[tuple[Sequence[int], bytes]]:
    """(page numbers, those pages) a chunk at a time, every page checked against its hash."""
    size = header.page_size
    stored = header.manifest["stored_pages"]
    numbers = header.page_numbers if header.manifest["kind"] == "incremental" else None
    hashes = header.hashes
    seen = 0
    try:
        with open(path, "rb") as handle:
            handle.seek(header.pages_offset)
            reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=False)
            while seen < stored:
                count = min(PAGES_PER_CHUNK, stored - seen)
                chunk = _read_full(reader, size * count)
                if len(chunk) != size * count:
                    raise PointError("truncated (pages)")
                if numbers is None:
                    pages = range(seen + 1, seen + count + 1)
                    expected = hashes[seen * HASH_SIZE : (seen + count) * HASH_SIZE]
                else:
                    pages = numbers[seen : seen + count]
                    expected = b"".join(hashes[(n - 1) * HASH_SIZE : n * HASH_SIZE] for n in pages)
                got = hash_pages(memoryview(chunk), size)
                if got != expected:
                    bad = next(
                        i
                        for i in range(0, len(got), HASH_SIZE)
                        if got[i : i + HASH_SIZE] != expected[i : i + HASH_SIZE]
                    )
                    raise PointError(f"page {pages[bad // HASH_SIZE]} does not match its hash")
                seen += count
                yield pages, chunk
    except zstandard.ZstdError as error:
        raise PointError(f"damaged pages: {error}") from None
    except OSError as error:
        raise PointError(f"cannot read: {error.strerror}") from None


def write_point(handle, manifest: dict, hashes: bytes, numbers: array, pages) -> None:
    """Write a point (`pages`: the stored pages, end to end) to an open binary file; the
    caller makes it durable and names it."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    body = json.dumps(manifest, sort_keys=True).encode()
    handle.write(MAGIC + struct.pack("<I", len(body)) + body)
    for blob in (hashes, numbers.tobytes()):
        packed = compressor.compress(blob)
        handle.write(struct.pack("<Q", len(packed)) + packed)
    view = memoryview(pages)
    step = manifest["page_size"] * PAGES_PER_CHUNK
    with compressor.stream_writer(handle, size=len(view), closefd=False) as writer:
        for at in range(0, len(view), step):
            writer.write(view[at : at + step])


def chain(point: Point, by_name: dict[str, Point]) -> list[Point]:
    """The points a restore of `point` reads, base first; PointError when one is missing."""
    links = [point]
    while links[-1].kind == "incremental":
        parent = read_header(links[-1].path).parent
        if parent not in by_name:
            raise PointError(f"broken chain: its parent {parent} is missing")
        links.append(by_name[parent])
        if len(links) > len(by_name):
            raise PointError("broken chain: it loops")
    return links[::-1]


def verify(point: Point, by_name: dict[str, Point]) -> str:
    """'ok' when the point and its chain read back whole, else what is wrong."""
    try:
        if point.kind == "copy":
            return check_file(point.path, "quick_check")
        for link in chain(point, by_name):
            header = read_header(link.path)
            for _ in iter_chunks(link.path, header):
                pass
        return "ok"
    except PointError as error:
        return str(error)


def check_file(path: Path, pragma: str = "integrity_check") -> str:
    """ "ok" or the first problems of SQLite's `pragma` on a database file that no one else
    writes (an old-layout copy, a rebuilt restore), read without creating anything beside it."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
        try:
            rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return f"not a readable database: {error}"
    return "ok" if rows == ["ok"] else "; ".join(map(str, rows[:3]))


def total_bytes(backup_dir: Path) -> int:
    return sum(p.path.stat().st_size for p in find_points(backup_dir))


def fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
