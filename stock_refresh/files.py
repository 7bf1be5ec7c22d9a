"""Folders the job creates are its owner's only, whatever the umask it was started with."""

import os
from pathlib import Path


def owner_only_dir(directory: Path) -> None:
    """Create `directory` and its missing parents with mode 0700; existing folders are left as
    they are (the screener's own folder may be shared on purpose)."""
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
