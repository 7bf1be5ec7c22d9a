"""`dashboard.html`: the last runs, freshness, failing symbols and the next run on one page.

One self-contained file (inline CSS and SVG, no scripts) built from `refresh_runs`,
`run_progress`, `symbol_state` and the JSON reports, so it opens from disk with no network.
Written when a run has planned its work, after every batch and at the end; every text that
came from an upstream or the database is escaped.
"""

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from . import store
from .files import owner_only_dir
from .metrics import last_success
from .schedule import next_run
from .store import KINDS

NAME = "dashboard.html"
RUNS_SHOWN = 30
FAILURES_SHOWN = 200
COLORS = {
    "completed": "#2e7d32",
    "failed": "#c62828",
    "aborted": "#ef6c00",
    "interrupted": "#757575",
    "running": "#1565c0",
}
UPSTREAM_COLORS = ("#1565c0", "#6a1b9a", "#00838f", "#9e9d24", "#5d4037")
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{margin:0 0 4px}h2{margin:28px 0 8px;font-size:18px}
.sub{color:#555;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:160px}
.card b{display:block;font-size:18px}
table{border-collapse:collapse;background:#fff;margin-top:4px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;
white-space:nowrap}
th{background:#eee}td.n{text-align:right}
.status{color:#fff;border-radius:4px;padding:1px 6px}
.err{max-width:640px;white-space:normal;word-break:break-word}
svg{background:#fff;border:1px solid #ddd;border-radius:6px}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.bar{background:#ddd;border-radius:4px;height:18px;width:600px;overflow:hidden;display:flex}
"""


@dataclass
class Run:
    id: int | None  # None: a run that stopped before it was recorded (a failed backup)
    started: datetime
    finished: datetime | None
    status: str
    exit_code: int | None
    successful: int
    failed: int
    skipped: int
    total: int
    abort_reason: str | None
    requests: dict[str, int] = field(default_factory=dict)

    def duration(self, now: datetime) -> float:
        return ((self.finished or now) - self.started).total_seconds()


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _parse(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds} s ago"


def _requests(report_path: str | None) -> dict[str, int]:
    try:
        return json.loads(Path(report_path).read_text())["requests"] if report_path else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def load_runs(db, live_run: int | None, report: dict | None) -> list[Run]:
    """The newest runs, oldest first. A 'running' row that is not the live run was cut short;
    the report of a run that has no row (it stopped before the database) is the newest."""
    unrecorded = report is not None and report["run_id"] is None
    rows = db.execute(
        "SELECT id, started_at, finished_at, status, exit_code, successful, failed, skipped, "
        "total_stocks, abort_reason, report_path FROM refresh_runs ORDER BY id DESC LIMIT ?",
        [RUNS_SHOWN - unrecorded],
    ).fetchall()
    runs = []
    for row in reversed(rows):
        run_id, started, finished, status, code, ok, failed, skipped, total, reason, path = row
        if status == "running" and run_id != live_run:
            status = "interrupted"
        requests = (
            report["requests"] if report and report.get("run_id") == run_id else _requests(path)
        )
        runs.append(
            Run(
                run_id,
                _parse(started),
                _parse(finished),
                status,
                code,
                ok or 0,
                failed or 0,
                skipped or 0,
                total or 0,
                reason,
                requests,
            )
        )
    if unrecorded:
        runs.append(
            Run(
                None,
                _parse(report["start_time"]),
                _parse(report["end_time"]),
                report["status"],
                report["exit_code"],
                report["successful"],
                report["failed"],
                report["skipped"],
                report["total_stocks"],
                report["abort_reason"],
                report["requests"],
            )
        )
    return runs


def live_progress(db, run_id: int) -> tuple[int, int]:
    """(done, failed) of the running run."""
    done, failed = db.execute(
        "SELECT COUNT(*) FILTER (WHERE status = 'done'), COUNT(*) FILTER (WHERE status = 'failed')"
        " FROM run_progress WHERE run_id = ?",
        [run_id],
    ).fetchone()
    return done, failed


def freshness(db) -> list[tuple[str, int, datetime | None, datetime | None]]:
    """(kind, stocks that have it, newest, oldest refresh) per data kind."""
    columns = ", ".join(
        f"COUNT({k}_refreshed_at), MAX({k}_refreshed_at), MIN({k}_refreshed_at)" for k in KINDS
    )
    row = db.execute(f"SELECT {columns} FROM symbol_state").fetchone()
    return [
        (kind, row[3 * i], _parse(row[3 * i + 1]), _parse(row[3 * i + 2]))
        for i, kind in enumerate(KINDS)
    ]


def failing(db) -> tuple[list[tuple], int]:
    """Symbols whose latest attempt failed (failures since their last success), newest first."""
    rows = db.execute(
        "SELECT symbol, last_error_type, last_error, last_attempt, attempts, last_success "
        "FROM symbol_state WHERE attempts > 0 ORDER BY last_attempt DESC, symbol LIMIT ?",
        [FAILURES_SHOWN],
    ).fetchall()
    count = db.execute("SELECT COUNT(*) FROM symbol_state WHERE attempts > 0").fetchone()[0]
    return rows, count


def bar_chart(title: str, runs: list[Run], series: list[tuple[str, str, list[float]]], unit=""):
    """Stacked bars, one per run (oldest left); each series is (label, colour, values)."""
    width, height, left, bottom, top = 900, 220, 56, 28, 26
    totals = [sum(values[i] for _, _, values in series) for i in range(len(runs))]
    peak = max(totals, default=0) or 1
    step = (width - left - 10) / max(len(runs), 1)
    scale = (height - top - bottom) / peak
    parts = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">'
        f"{_figure(peak)}{unit}</text>",
        f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>',
    ]
    for i, run in enumerate(runs):
        x = left + i * step + step * 0.15
        y = height - bottom
        for label, color, values in series:
            h = values[i] * scale
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>run {run.id or "-"} ({_time(run.started)}): '
                f"{escape(label)} {_figure(values[i])}{unit}</title></rect>"
            )
        if i % max(1, len(runs) // 10) == 0 or i == len(runs) - 1:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height - 10}" font-size="10" '
                f'text-anchor="middle">{run.started:%m-%d}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{color}"></i>{escape(label)}</span>'
        for label, color, _ in series
    )
    return f'<div class="legend">{legend}</div>' + "".join(parts)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _status(status: str) -> str:
    color = COLORS.get(status, "#555")
    return f'<span class="status" style="background:{color}">{escape(status)}</span>'


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in row)
        + "</tr>"
        for row in ([*enumerate(r)] for r in rows)
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def render(config, db, now: datetime, live_run: int | None, report: dict | None) -> str:
    runs = load_runs(db, live_run, report)
    failures, failing_count = failing(db)
    scheduling = config.scheduling
    upcoming = next_run(scheduling.run_time, scheduling.timezone, now)
    latest = runs[-1] if runs else None
    success = last_success(db, None)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>stock-refresh dashboard</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>stock-refresh</h1>",
        f"<div class='sub'>Page written {_time(now)}. Next scheduled run: "
        f"{escape(upcoming.strftime('%Y-%m-%d %H:%M %Z'))} "
        f"({escape(scheduling.timezone)}).</div>",
        "<div class='cards'>",
        f"<div class='card'>Last run<b>{_status(latest.status) if latest else 'none yet'}</b>"
        f"{_time(latest.started) if latest else ''}</div>",
        f"<div class='card'>Last success<b>"
        f"{_ago(now, datetime.fromtimestamp(success, UTC) if success else None)}</b></div>",
        f"<div class='card'>Failing symbols<b>{failing_count}</b></div>",
        "</div>",
    ]
    if latest and latest.status == "running":
        out.append(_live(db, latest, now))
    out.append(_charts(runs, now))
    out.append(_runs_table(runs, now))
    out.append("<h2>Freshness per data kind</h2>")
    out.append(
        _table(
            ["data kind", "stocks with it", "newest refresh", "oldest refresh"],
            [
                [escape(kind), str(count), _ago(now, newest), _ago(now, oldest)]
                for kind, count, newest, oldest in freshness(db)
            ],
            {1},
        )
    )
    out.append(f"<h2>Failing symbols ({failing_count})</h2>")
    if failures:
        out.append(
            _table(
                ["symbol", "error type", "error", "last attempt", "failures", "last success"],
                [
                    [
                        f"<b>{escape(symbol)}</b>",
                        escape(kind or ""),
                        f"<div class='err'>{escape(error or '')}</div>",
                        _time(_parse(attempt)),
                        str(attempts),
                        _time(_parse(success)),
                    ]
                    for symbol, kind, error, attempt, attempts, success in failures
                ],
                {4},
            )
        )
        if failing_count > len(failures):
            out.append(f"<p>and {failing_count - len(failures)} more.</p>")
    else:
        out.append("<p>None: every stock's latest attempt succeeded.</p>")
    out.append(_checks_table(db))
    out.append("</body></html>\n")
    return "\n".join(out)


def _checks_table(db) -> str:
    """The stored rows that failed a consistency check (data_checks), by check."""
    counts = store.check_counts(db)
    if not counts:
        return "<h2>Data checks</h2><p>Every stored row passed its consistency checks.</p>"
    rows = [
        [escape(check), str(count), str(stocks), escape(", ".join(first))]
        for check, count, stocks, first in counts
    ]
    return "<h2>Data checks</h2>" + _table(
        ["check", "rows flagged", "stocks", "first stocks"], rows, {1, 2}
    )


def _live(db, run: Run, now: datetime) -> str:
    """The running run's progress; its counts so far also go into the charts and the table."""
    done, failed = live_progress(db, run.id)
    run.successful, run.failed = done, failed
    total = max(run.total, done + failed, 1)
    return (
        f"<h2>Run {run.id} is running</h2>"
        f"<p>Started {_time(run.started)}, {run.duration(now) / 60:.1f} min ago: "
        f"{done + failed} of {run.total} stocks finished, {done} refreshed, {failed} failed.</p>"
        f"<div class='bar'><div style='width:{100 * done / total:.1f}%;"
        f"background:{COLORS['completed']}'></div><div style='width:{100 * failed / total:.1f}%;"
        f"background:{COLORS['failed']}'></div></div>"
    )


def _charts(runs: list[Run], now: datetime) -> str:
    if not runs:
        return "<p>No runs yet.</p>"
    upstreams = sorted({name for run in runs for name in run.requests})
    minutes = max(r.duration(now) for r in runs) >= 120
    unit, size = (" min", 60) if minutes else (" s", 1)
    durations = [
        (
            status,
            COLORS[status],
            [r.duration(now) / size if r.status == status else 0 for r in runs],
        )
        for status in COLORS
        if any(r.status == status for r in runs)
    ]
    return "".join(
        [
            f"<h2>The last {len(runs)} runs</h2>",
            bar_chart("Duration, coloured by outcome", runs, durations, unit),
            bar_chart(
                "Stocks refreshed and failed",
                runs,
                [
                    ("refreshed", COLORS["completed"], [r.successful for r in runs]),
                    ("failed", COLORS["failed"], [r.failed for r in runs]),
                ],
            ),
            bar_chart(
                "Requests per upstream",
                runs,
                [
                    (
                        name,
                        UPSTREAM_COLORS[i % len(UPSTREAM_COLORS)],
                        [r.requests.get(name, 0) for r in runs],
                    )
                    for i, name in enumerate(upstreams)
                ],
            ),
        ]
    )


def _runs_table(runs: list[Run], now: datetime) -> str:
    upstreams = sorted({name for run in runs for name in run.requests})
    rows = [
        [
            str(r.id or "-"),
            _time(r.started),
            _status(r.status),
            f"{r.duration(now):.0f} s",
            str(r.total),
            str(r.successful),
            str(r.failed),
            str(r.skipped),
            *(str(r.requests.get(name, "")) for name in upstreams),
            f"<div class='err'>{escape(r.abort_reason or '')}</div>",
        ]
        for r in reversed(runs)
    ]
    head = ["run", "started", "outcome", "duration", "stocks", "refreshed", "failed", "skipped"]
    head += [f"{name} requests" for name in upstreams] + ["abort reason"]
    return "<h2>Runs</h2>" + _table(head, rows, set(range(3, 8 + len(upstreams))))


def write_dashboard(
    config, db, now: datetime, live_run: int | None = None, report: dict | None = None
) -> Path | None:
    """Write the page atomically (a temp file beside it, then a rename); None when off."""
    reporting = config.reporting
    if not reporting.dashboard or db is None:
        return None
    page = render(config, db, now, live_run, report)
    folder = reporting.summary_directory
    owner_only_dir(folder)
    fd, temp = tempfile.mkstemp(prefix=".dashboard-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(temp, folder / NAME)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return folder / NAME
