"""Logging as configured: a rotating file (owner-only), the console when asked, and progress.

On a terminal the progress is a tqdm bar with rate and ETA; under systemd or cron (no TTY) it is
one plain line per batch, which reads well in the journal and in a log file. Under systemd the
console always gets the progress, warnings and errors, each line prefixed with its syslog
priority (`<3>` error, `<4>` warning, `<6>` info), which the journal reads as the priority
(SyslogLevelPrefix=, on by default), so `journalctl -p err` shows failed stocks and aborts.
"""

import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler

from tqdm import tqdm

from .files import open_private, os_error_line, owner_only_dir

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The full story of a failure (exception chains): written to the log file, kept off the console
# (which already got the short line) unless --verbose asks for everything.
DETAIL_LOGGER = "stock_refresh.detail"
SYSTEMD_ENV = ("JOURNAL_STREAM", "INVOCATION_ID")  # set by systemd for the units it starts
_PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6}


class LogError(Exception):
    """The log file cannot be opened; the message names it and the cause."""


def under_systemd() -> bool:
    return any(os.environ.get(name) for name in SYSTEMD_ENV)


def priority(level: int) -> int:
    """The syslog priority of a logging level (DEBUG and below: 7)."""
    return next((p for lv, p in _PRIORITIES.items() if level >= lv), 7)


def journal_prefix(level: int) -> str:
    """`<N>` under systemd, where the journal takes it for the line's priority; else nothing."""
    return f"<{priority(level)}>" if under_systemd() else ""


class _PrivateLog(RotatingFileHandler):
    """The log file and its rotations: owner-only, and never appended to through a symlink.
    Opened at once, so a log that cannot be written stops the job before it starts."""

    def __init__(self, path, **kwargs):
        super().__init__(path, encoding="utf-8", **kwargs)

    def _open(self):
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        return os.fdopen(open_private(self.baseFilename, flags), "a", encoding="utf-8")


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return journal_prefix(record.levelno) + super().format(record)


def setup_logging(config, verbose: bool, to_file: bool = True) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    level = logging.DEBUG if verbose else getattr(logging, config.logging.log_level)
    root.setLevel(level)
    if verbose or config.logging.console_output or not to_file or under_systemd():
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(_ConsoleFormatter("%(levelname)s %(message)s"))
        if not verbose:
            console.addFilter(lambda record: not record.name.startswith(DETAIL_LOGGER))
        root.addHandler(console)
    if to_file:
        path = config.logging.log_directory / config.logging.log_file
        try:
            owner_only_dir(path.parent)
            file_handler = _PrivateLog(
                path,
                maxBytes=int(config.logging.max_log_size_mb * 2**20),
                backupCount=config.logging.backup_count,
            )
        except OSError as error:
            if not root.handlers:  # not Python's last-resort handler: the run's line says it
                root.addHandler(logging.NullHandler())
            raise LogError(f"log file not writable: {os_error_line(error)}") from None
        file_handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(file_handler)
    for noisy in ("yfinance", "peewee", "urllib3", "curl_cffi"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class Progress:
    """done/total, ok/failed, elapsed and ETA: a bar on a TTY, a log line per batch otherwise."""

    def __init__(self, total: int, log: logging.Logger, every: int):
        self.total, self.done, self.ok, self.failed = total, 0, 0, 0
        self.log = log
        self.every = every
        self.started = time.monotonic()
        tty = sys.stderr.isatty()
        self.bar = tqdm(total=total, unit="stock", dynamic_ncols=True) if tty else None

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.ok += ok
        self.failed += not ok
        if self.bar:
            self.bar.update(1)
            self.bar.set_postfix(ok=self.ok, failed=self.failed, refresh=False)
        elif self.done % self.every == 0 or self.done == self.total:
            self._line()

    def _line(self) -> None:
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        self.log.info(
            "progress %d/%d, ok %d, failed %d, %.1f stocks/s, elapsed %.0f s, ETA %.0f s",
            self.done,
            self.total,
            self.ok,
            self.failed,
            self.done / elapsed if elapsed else 0.0,
            elapsed,
            eta,
        )

    def close(self) -> None:
        if self.bar:
            self.bar.close()
