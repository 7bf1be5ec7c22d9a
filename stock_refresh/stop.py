"""SIGTERM (systemd's stop or timeout, `kill`) as an exception, from the job's first moment.

Python's default for SIGTERM ends the process at once: no line, no report, a run row left
`running`. Raised as `Terminated` instead, it unwinds like any other error and each layer
finishes what it owns: the run writes its report, the CLI prints one line.
"""

import signal


class Terminated(Exception):
    """SIGTERM arrived; the run ends cleanly so that the next one resumes it."""


def _raise(signum, frame):
    raise Terminated("terminated by signal (SIGTERM)")


def catch_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise)


def ignore_sigterm() -> None:
    """For the last bookkeeping of a run (report, run row): a few file writes that must not be
    cut in half; systemd's SIGKILL after TimeoutStopSec= still ends a job that hangs."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
