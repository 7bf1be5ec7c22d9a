"""One refresh at a time: an advisory lock on a file beside the database.

`flock` is released by the kernel when the process dies, so a killed run never leaves a stale
lock behind; the file's text only tells the second run who holds it.
"""

import fcntl
import os
from pathlib import Path

from . import clock
from .files import open_private, os_error_line, owner_only_dir


def lock_path_for(db_path: Path) -> Path:
    """The lock file of a database: a refresh and a restore of it exclude each other."""
    return db_path.with_name(db_path.name + ".lock")


class LockHeld(Exception):
    """Another refresh holds the lock."""


class LockError(Exception):
    """The lock file cannot be made or opened; the message names it and the cause."""


class RunLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            owner_only_dir(self.path.parent)
            fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        except OSError as error:
            raise LockError(f"lock file not usable: {os_error_line(error)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "pid unknown"
            os.close(fd)
            raise LockHeld(f"another refresh is running ({holder})") from None
        since = clock.now().isoformat()
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, since {since}".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None
