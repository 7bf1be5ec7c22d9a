"""Prometheus metrics of the last run: a node_exporter textfile and, optionally, a Pushgateway.

The counts are this run's (gauges, so no `_total`); the timestamps are Unix seconds. The last
success outlives failed and aborted runs: it is read back from `refresh_runs`, or from the
previous textfile when the database cannot be read.
"""

import logging
import os
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from .files import owner_only_dir
from .store import KINDS

log = logging.getLogger("stock_refresh")

PREFIX = "stock_refresh_"
LAST_SUCCESS = PREFIX + "last_success_timestamp_seconds"
PUSH_JOB = "stock_refresh"
PUSH_TIMEOUT_SECONDS = 5
TEXTFILE_UMASK = 0o022  # node_exporter runs as its own user; the file holds only figures
UPSTREAM_FIGURES = {  # report key -> (metric name, help)
    "requests": ("upstream_requests", "HTTP requests the last run sent to each upstream."),
    "retries": ("upstream_retries", "Requests the last run retried, per upstream."),
    "throttled": ("upstream_throttles", "Answers that said slow down (403/429) in the last run."),
    "rate_limit_wait_wall_seconds": (
        "upstream_rate_limit_wait_seconds",
        "Elapsed time in the last run during which a request waited for the rate limiter.",
    ),
}


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def newest_refreshes(db) -> dict[str, float | None]:
    """Per data kind, when the most recently refreshed stock got it (Unix seconds)."""
    if db is None or "symbol_state" not in db.table_names():
        return dict.fromkeys(KINDS)
    row = db.execute(
        "SELECT " + ", ".join(f"MAX({kind}_refreshed_at)" for kind in KINDS) + " FROM symbol_state"
    ).fetchone()
    return {kind: _epoch(value) for kind, value in zip(KINDS, row, strict=True)}


def last_success(db, textfile: Path | None) -> float | None:
    """End of the newest run that completed: exit 0, or 3 (every stock it could refresh is
    fresh; the ones that failed on upstream faults are its exit code's business)."""
    if db is not None and "refresh_runs" in db.table_names():
        row = db.execute(
            "SELECT MAX(finished_at) FROM refresh_runs "
            "WHERE status = 'completed' AND exit_code IN (0, 3)"
        ).fetchone()
        if row[0]:
            return _epoch(row[0])
    return previous_value(textfile, LAST_SUCCESS)


def previous_value(textfile: Path | None, name: str) -> float | None:
    """A sample of the textfile an earlier run wrote; None when it is missing or unreadable."""
    if textfile is None:
        return None
    try:
        text = textfile.read_text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    return sample.value
    except (OSError, ValueError):
        return None
    return None


def database_size(db, db_path: Path) -> int | None:
    """Pages times page size: what the file holds once the -wal is checkpointed into it."""
    if db is not None:
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        return pages * page_size
    return db_path.stat().st_size if db_path.exists() else None


def build_registry(report: dict, db, db_path: Path, textfile: Path | None) -> CollectorRegistry:
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(PREFIX + name, doc, labels, registry=registry)

    gauge("last_run_start_timestamp_seconds", "When the last run started.").set(
        _epoch(report["start_time"])
    )
    ended = _epoch(report["end_time"])
    gauge("last_run_end_timestamp_seconds", "When the last run ended.").set(ended)
    gauge("last_run_duration_seconds", "How long the last run took.").set(
        report["duration_seconds"]
    )
    gauge("last_run_exit_code", "The last run's exit code (0 or 3: completed).").set(
        report["exit_code"]
    )
    success = last_success(db, textfile)
    if success is not None:
        gauge(LAST_SUCCESS.removeprefix(PREFIX), "When the last completed run ended.").set(success)
    stocks = gauge("stocks", "Stocks of the last run by outcome.", ("outcome",))
    for outcome, key in (("succeeded", "successful"), ("failed", "failed"), ("skipped", "skipped")):
        stocks.labels(outcome).set(report[key])
    for key, (name, doc) in UPSTREAM_FIGURES.items():
        figure = gauge(name, doc, ("upstream",))
        for upstream, figures in sorted(report["upstreams"].items()):
            figure.labels(upstream).set(figures[key])
    age = gauge(
        "data_age_seconds",
        "Age of the newest stored data of each kind at the end of the last run.",
        ("kind",),
    )
    for kind, newest in newest_refreshes(db).items():
        if newest is not None:
            age.labels(kind).set(max(0.0, ended - newest))
    size = database_size(db, db_path)
    if size is not None:
        gauge("database_size_bytes", "Size of the SQLite database, its -wal checkpointed.").set(
            size
        )
    return registry


def write_metrics(reporting, report: dict, db, db_path: Path) -> None:
    """The textfile (atomically: a temp file beside it, then a rename) and the push, if set."""
    if not reporting.metrics_file and not reporting.pushgateway_url:
        return
    textfile = reporting.metrics_file
    registry = build_registry(report, db, Path(db_path), textfile)
    if textfile:
        owner_only_dir(textfile.parent)
        old_umask = os.umask(TEXTFILE_UMASK)
        try:
            write_to_textfile(str(textfile), registry)
        finally:
            os.umask(old_umask)
        log.info("metrics written to %s", textfile)
    if reporting.pushgateway_url:
        try:
            push_to_gateway(
                reporting.pushgateway_url, PUSH_JOB, registry, timeout=PUSH_TIMEOUT_SECONDS
            )
        except OSError as error:
            log.warning("metrics not pushed to %s: %s", reporting.pushgateway_url, error)
