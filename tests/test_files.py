"""Owner-only folders: every missing level made 0700 whatever the umask; existing ones kept."""

import os

from stock_refresh.files import owner_only_dir


def test_missing_folders_are_owner_only_and_existing_ones_kept(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    target = shared / "a" / "b"
    old_umask = os.umask(0o022)
    try:
        owner_only_dir(target)
        owner_only_dir(target)  # a second call finds it and changes nothing
    finally:
        os.umask(old_umask)
    assert target.is_dir()
    assert [(p.stat().st_mode & 0o777) for p in (shared, shared / "a", target)] == [
        0o755,
        0o700,
        0o700,
    ]
