"""`batch_refresh.py --demo`: the real job against the bundled fake upstream, offline.

Starts tools/fake_upstream.py on a free loopback port, writes a config pointing at it into the
demo folder, runs the job exactly as a night would (`runner.run`), prints what it stored, and
stops the fake whatever happens. The folder is kept: a second demo there is the second night.
"""

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import load_config

FAKE = Path(__file__).resolve().parents[1] / "tools" / "fake_upstream.py"
FAKE_ARGS = ("--companies", "20", "--latency-ms", "20", "--edgar-rps", "10", "--seed", "1")
CONTACT = "Demo User demo@stock-refresh.dev"  # the fake checks its form, as SEC does
RECORDED = ("AAPL", "GOOGL", "MSFT", "IMNN", "LPA")  # the companies with real payloads
EXIT_BAD_FOLDER = 73  # sysexits' EX_CANTCREAT
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class DemoError(Exception):
    """The demo cannot go on; the message is the one line shown."""


def main(folder: Path, verbose: bool = False) -> int:
    folder = Path(os.path.abspath(folder))
    try:
        check_folder(folder)
    except DemoError as error:
        print(f"demo error: {error}", file=sys.stderr)
        return EXIT_BAD_FOLDER
    from .runner import Options, run  # after the check: a bad folder is told at once

    os.environ.pop("STOCK_REFRESH_SEC_CONTACT", None)  # the demo's contact, not the user's
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    fake = None
    try:
        fake, url = start_fake()
        print(f"fake upstream (SEC EDGAR, Yahoo, GitHub) on {url}, pid {fake.pid}", flush=True)
        config = load_config(write_config(folder, url))
        print(f"running the job into {folder} ...", flush=True)
        earlier = set(reports(config))
        code = run(config, Options(verbose=verbose))
        show_results(config, [path for path in reports(config) if path not in earlier])
        return code
    except DemoError as error:
        print(f"demo error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # before or after the job, which handles its own
        print("demo interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if fake:
            stop_fake(fake)
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # through the finally clauses that stop the fake


def check_folder(folder: Path) -> None:
    """The folder exists or can be made, and files can be written there."""
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} is a file, expected a folder for the demo's files")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise DemoError(
            f"{folder}: cannot write there ({error.strerror}), expected a writable folder"
        ) from None


def start_fake(timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """The fake on 127.0.0.1, a free port; (process, its URL). Its stderr is ours, so its own
    errors show; its session is its own, so Ctrl-C reaches the job first and the fake after;
    and it stops by itself when the demo is gone, even killed by kill -9."""
    if not FAKE.is_file():
        raise DemoError(f"{FAKE} not found: the demo needs the project's tools/ folder")
    process = subprocess.Popen(
        [sys.executable, str(FAKE), "--port", "0", "--exit-with-parent", *FAKE_ARGS],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on http://127.0.0.1:"):
        stop_fake(process)
        raise DemoError(
            f"the fake upstream did not start within {timeout:g} s (exit {process.returncode})"
        )
    return process, line.split()[-1]


def stop_fake(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.stdout.close()


def write_config(folder: Path, upstream: str) -> Path:
    """The demo's config, rewritten at each demo (the fake's port changes)."""
    config = {
        "_comment": "written by batch_refresh.py --demo at each demo run; edits are lost",
        "processing": {"max_workers": 8, "batch_size": 10},
        "rate_limiting": {
            "edgar_requests_per_second": 9,
            "yfinance_delay_seconds": 0.05,
            "edgar_cooldown_seconds": 5,
            "request_timeout_seconds": 10,
        },
        "error_handling": {"max_retries_per_stock": 1},
        "sources": {"sec_contact": CONTACT, "upstream_override": upstream},
    }
    path = folder / "batch_config.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def reports(config) -> list[Path]:
    return sorted(config.reporting.summary_directory.glob("batch_summary_*.json"))


def show_results(config, new_reports: list[Path]) -> None:
    """Where the files are, a few stored rows and the verdict of this run's report."""
    database = config.database.path
    log_file = config.logging.log_directory / config.logging.log_file
    report = json.loads(new_reports[-1].read_text()) if new_reports else None
    print()
    print(f"database: {database}")
    print(f"report:   {new_reports[-1] if new_reports else '(none written by this run)'}")
    print(f"log:      {log_file}")
    if database.exists():
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            print_tables(connection)
        except sqlite3.Error as error:  # a run stopped before it made its tables
            print(f"\nnothing to show from the database yet ({error})\n")
        finally:
            connection.close()
    if report:
        for reason, count in report["stale_reasons"].items():
            print(f"planned: {count} stocks: {reason}")
        run_id = f" {report['run_id']}" if report["run_id"] else ""
        print(
            f"verdict: run{run_id} {report['status']}: {report['successful']} ok, "
            f"{report['failed']} failed, {report['skipped']} skipped "
            f"in {report['duration_seconds']:.1f} s (exit {report['exit_code']})"
        )


def print_tables(connection: sqlite3.Connection) -> None:
    annual = connection.execute(
        "SELECT year, revenue, net_income, earnings_per_share, debt_to_equity"
        " FROM earnings_history WHERE symbol = 'AAPL' AND period = 'annual'"
        " ORDER BY year DESC LIMIT 5"
    ).fetchall()
    print("\nAAPL, annual (earnings_history, newest 5 years):")
    print_table(("year", "revenue", "net income", "EPS", "D/E"), sorted(annual))
    marks = ",".join("?" * len(RECORDED))
    metrics = connection.execute(
        "SELECT symbol, price, pe_ratio, market_cap, dividend_yield, debt_to_equity"
        f" FROM stock_metrics WHERE symbol IN ({marks}) ORDER BY symbol",
        RECORDED,
    ).fetchall()
    print("\nstock_metrics of the recorded companies:")
    print_table(("symbol", "price", "P/E", "market cap", "div. yield %", "D/E"), metrics)
    print()


def print_table(header: tuple[str, ...], rows: list[tuple]) -> None:
    cells = [header, *[tuple(cell(value) for value in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  " + "  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True)))


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    if isinstance(value, (int, float)) and abs(value) >= 10_000:
        return f"{value:,.0f}"
    return str(value)
