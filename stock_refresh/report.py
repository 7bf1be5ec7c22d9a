"""The JSON summary of a run, written even when the run aborts, with retention."""

import json
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .files import open_private, owner_only_dir


@dataclass
class RunStats:
    """What happened to each stock; the report and the exit code are computed from this."""

    started: datetime
    total: int = 0
    successful: list[str] = field(default_factory=list)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)  # symbol -> (type, message)
    skipped: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: dict[str, int] = field(default_factory=dict)  # why stocks were stale -> how many
    helper_peak_rss_mb: float = 0.0  # the parsing helper process's, added to the job's own
    clock_started: float = field(default_factory=time.monotonic)  # for the duration
    backup: dict | None = None  # the restore point made before the run (backup.BackupResult)
    checks_run: int = 0  # cross-checks made on the saved stocks' filed earnings rows
    data_checks: Counter = field(default_factory=Counter)  # check -> rows that failed it
    screener_ready_at: float | None = None  # seconds from the start: every stock due has its
    # market data and earnings history saved (or has failed)
    companyfacts_zip: dict | None = None  # SEC's archive, when the run took it (bulk.py)

    def record_success(self, symbol: str) -> None:
        self.successful.append(symbol)
        self.failures.pop(symbol, None)

    def record_checks(self, failed: list[dict] | None, run: int) -> None:
        self.checks_run += run
        self.data_checks.update(c["check"] for c in failed or ())

    def record_failure(self, symbol: str, error_type: str, message: str) -> None:
        self.failures[symbol] = (error_type, message)


def build_report(
    stats: RunStats,
    ended: datetime,
    *,
    status: str,
    exit_code: int,
    abort_reason: str | None,
    upstreams: dict,
    wait_wall_seconds: float,
    symbol_source: dict,
    run_id: int | None,
    resumed_from: int | None,
) -> dict:
    due = stats.total - len(stats.skipped)
    return {
        "run_id": run_id,
        "start_time": stats.started.isoformat(),
        "end_time": ended.isoformat(),
        "duration_seconds": round(time.monotonic() - stats.clock_started, 3),
        "status": status,
        "exit_code": exit_code,
        "abort_reason": abort_reason,
        "total_stocks": stats.total,
        "successful": len(stats.successful),
        "failed": len(stats.failures),
        "skipped": len(stats.skipped),
        "due": due,
        "not_attempted": max(0, due - len(stats.successful) - len(stats.failures)),
        "success_rate": success_rate(len(stats.successful), due, status),
        "successful_symbols": sorted(set(stats.successful)),
        "failed_symbols": sorted(stats.failures),
        "skipped_symbols": sorted(set(stats.skipped)),
        "failures": {
            s: {"error_type": t, "message": m} for s, (t, m) in sorted(stats.failures.items())
        },
        "error_types": dict(Counter(t for t, _ in stats.failures.values()).most_common()),
        "retried_symbols": sorted(stats.retried),
        "resumed_from_run": resumed_from,
        "symbol_list": symbol_source,
        "upstreams": upstreams,
        "requests": {name: u["requests"] for name, u in upstreams.items()},
        "retries": sum(u["retries"] for u in upstreams.values()),
        "rate_limit_wait_wall_seconds": round(wait_wall_seconds, 3),
        "rate_limit_wait_thread_seconds": round(
            sum(u["rate_limit_wait_thread_seconds"] for u in upstreams.values()), 3
        ),
        "stale_reasons": stats.plan,
        "screener_ready_at": stats.screener_ready_at,
        "companyfacts_zip": stats.companyfacts_zip,
        "backup": stats.backup,
        "data_checks_run": stats.checks_run,
        "data_checks": dict(sorted(stats.data_checks.items())),
        "peak_rss_mb": round(peak_rss_mb() + stats.helper_peak_rss_mb, 1),
        "notes": stats.notes,
    }


def success_rate(successful: int, due: int, status: str) -> float:
    """Percent of the stocks due tonight (not skipped as fresh) that were refreshed. Nothing
    due on a completed run is 100: a quiet night, not an outage."""
    if due > 0:
        return round(100 * successful / due, 2)
    return 100.0 if status == "completed" else 0.0


def write_report(report: dict, directory: Path, keep: int, now: datetime) -> Path:
    """`batch_summary_YYYYMMDD_HHMMSS.json` (owner-only), keeping the newest `keep` reports."""
    owner_only_dir(directory)
    path = directory / f"batch_summary_{now:%Y%m%d_%H%M%S}.json"
    suffix = 1
    while path.exists():
        path = directory / f"batch_summary_{now:%Y%m%d_%H%M%S}_{suffix}.json"
        suffix += 1
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w") as out:
        json.dump(report, out, indent=2)
        out.write("\n")
    for old in sorted(directory.glob("batch_summary_*.json"))[:-keep]:
        old.unlink()
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory since its program started: VmHWM, which exec
    resets. getrusage's maxrss would also count the parent's pages that a started program
    shares for the moment between fork and exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
