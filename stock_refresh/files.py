"""Folders and files the job creates are its owner's only, whatever the umask it was started
with, and no file is written through a symbolic link."""

import errno
import os
from pathlib import Path


def owner_only_dir(directory: Path) -> None:
    """Create `directory` and its missing parents with mode 0700; existing folders are left as
    they are (the screener's own folder may be shared on purpose)."""
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(directory))
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is not ours to change
        os.chmod(path, 0o700)  # mkdir's mode is cut by the umask


def open_private(path: Path, flags: int) -> int:
    """`os.open` (mode 0600) of a file the job creates or appends to, never through a symbolic
    link: a link planted at a log's path would have the job write wherever it points."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise OSError(
            errno.ELOOP, "a symbolic link, which the job does not write through", str(path)
        ) from None


def os_error_line(error: OSError) -> str:
    """`path: cause` for a file-system error, the way the job reports one in a single line."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"
