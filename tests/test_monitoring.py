"""Metrics and the dashboard after real CLI runs against the fake: a run with a failed stock,
then an aborted one; the textfile read back with prometheus_client's parser and promtool, the
push caught by a listener on 127.0.0.1, the page rendered by headless Chromium."""

import http.server
import logging
import shutil
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stock_refresh import metrics
from stock_refresh.config import load_config
from stock_refresh.dashboard import render
from stock_refresh.store import open_db
from tests.conftest import break_an_index, only_report, run_cli, write_config
from tests.upstream import FakeUpstream

FAILING = "SYXA"  # companyfacts of CIK 9000000 always answer 500
FAULTS = "data.sec.gov/api/xbrl/companyfacts/CIK0009000000.json=status:500"
SYMBOLS = "AAPL,SYXA,SYXB"


class Pushgateway(http.server.ThreadingHTTPServer):
    """Records every request: (method, path, body)."""

    def __init__(self):
        self.received = []
        pushgateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                pushgateway.received.append((self.command, self.path, body.decode()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def samples(text: str) -> dict[tuple, float]:
    """{(name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A completed run with SYXA failed, then a run aborted at its first failure."""
    folder = tmp_path_factory.mktemp("monitoring")
    gateway = Pushgateway()
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    reporting = {"metrics_file": "metrics/stock_refresh.prom", "pushgateway_url": gateway.url}
    with FakeUpstream(companies=3, faults=FAULTS) as fake:
        config = write_config(folder, fake.url, reporting=reporting)
        first = run_cli("--config", config, "--symbols", SYMBOLS)
        first_metrics = (folder / "metrics" / "stock_refresh.prom").read_text()
        first_page = (folder / "reports" / "dashboard.html").read_text()
        aborting = write_config(
            folder,
            fake.url,
            reporting=reporting,
            error_handling={"continue_on_error": False, "retry_failed_stocks": False},
        )
        second = run_cli("--config", aborting, "--symbols", SYMBOLS, "--force")
    gateway.shutdown()
    return SimpleNamespace(
        folder=folder,
        first=first,
        second=second,
        first_metrics=first_metrics,
        first_page=first_page,
        pushes=gateway.received,
    )


def test_a_run_with_a_failed_stock_writes_its_metrics(runs):
    assert runs.first.returncode == 3, runs.first.stderr[-3000:]  # a stock failed on a fault
    got = samples(runs.first_metrics)
    stocks = "stock_refresh_stocks"
    assert got[(stocks, (("outcome", "failed"),))] == 1
    assert got[(stocks, (("outcome", "succeeded"),))] == 2
    assert got[(stocks, (("outcome", "skipped"),))] == 0
    assert got[("stock_refresh_last_run_exit_code", ())] == 3
    end = got[("stock_refresh_last_run_end_timestamp_seconds", ())]
    assert got[("stock_refresh_last_success_timestamp_seconds", ())] == end
    assert end >= got[("stock_refresh_last_run_start_timestamp_seconds", ())]
    assert got[("stock_refresh_last_run_duration_seconds", ())] > 0
    assert got[("stock_refresh_upstream_requests", (("upstream", "edgar"),))] > 0
    assert got[("stock_refresh_upstream_retries", (("upstream", "edgar"),))] > 0  # SYXA's 500s
    assert ("stock_refresh_upstream_throttles", (("upstream", "yahoo"),)) in got
    assert ("stock_refresh_upstream_rate_limit_wait_seconds", (("upstream", "edgar"),)) in got
    for kind in ("market", "fundamentals"):
        assert 0 <= got[("stock_refresh_data_age_seconds", (("kind", kind),))] < 600
    assert got[("stock_refresh_database_size_bytes", ())] > 100_000


def test_the_textfile_passes_promtool(runs):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (apt-get install prometheus); CI needs it"
    for text in (runs.first_metrics, (runs.folder / "metrics" / "stock_refresh.prom").read_text()):
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_aborted_run_keeps_the_last_success(runs):
    assert runs.second.returncode == 1, runs.second.stderr[-3000:]
    assert only_report(runs.folder)["status"] == "aborted"
    first, second = (
        samples(runs.first_metrics),
        samples((runs.folder / "metrics" / "stock_refresh.prom").read_text()),
    )
    success = ("stock_refresh_last_success_timestamp_seconds", ())
    ended = ("stock_refresh_last_run_end_timestamp_seconds", ())
    assert second[("stock_refresh_last_run_exit_code", ())] == 1
    assert second[ended] > first[ended]
    assert second[success] == first[success]
    db_size = ("stock_refresh_database_size_bytes", ())
    assert second[db_size] == (runs.folder / "stocks.db").stat().st_size  # -wal checkpointed
    textfile = runs.folder / "metrics" / "stock_refresh.prom"
    assert textfile.stat().st_mode & 0o777 == 0o644  # node_exporter runs as its own user
    assert not [p for p in textfile.parent.iterdir() if p != textfile]  # no temp file left


def test_the_last_success_comes_from_the_old_textfile_without_a_database(runs):
    textfile = runs.folder / "metrics" / "stock_refresh.prom"
    expected = samples(runs.first_metrics)[("stock_refresh_last_success_timestamp_seconds", ())]
    assert metrics.last_success(None, textfile) == expected
    assert metrics.last_success(None, runs.folder / "missing.prom") is None


def test_each_run_pushes_the_same_metrics_to_the_pushgateway(runs):
    assert [(method, path) for method, path, _ in runs.pushes] == [
        ("PUT", "/metrics/job/stock_refresh")
    ] * 2
    assert samples(runs.pushes[0][2]) == samples(runs.first_metrics)


def test_an_unreachable_pushgateway_is_logged_and_the_run_goes_on(runs, tmp_path, caplog):
    with socket_closed() as url:
        reporting = SimpleNamespace(metrics_file=tmp_path / "m.prom", pushgateway_url=url)
        report = only_report(runs.folder)
        with caplog.at_level(logging.WARNING, logger="stock_refresh"):
            metrics.write_metrics(reporting, report, None, runs.folder / "stocks.db")
    assert "metrics not pushed to" in caplog.text
    assert samples((tmp_path / "m.prom").read_text())[("stock_refresh_last_run_exit_code", ())]


class socket_closed:
    """The URL of a port on 127.0.0.1 that nothing listens on."""

    def __enter__(self) -> str:
        server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        port = server.server_address[1]
        server.server_close()
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc):
        return False


def test_the_page_shows_both_runs_and_the_failed_stock(runs):
    page = (runs.folder / "reports" / "dashboard.html").read_text()
    assert "<script" not in page and "http" not in page.split("<body>")[0]
    assert FAILING in runs.first_page and "HTTP 500" in runs.first_page
    assert ">completed<" in runs.first_page and "is running" not in runs.first_page
    assert ">aborted<" in page and "continue_on_error is false" in page
    assert page.count("<svg") == 3
    assert "Last success<b>never" not in page and " s ago</b>" in page  # the first run's
    assert "Next scheduled run:" in page
    assert "<h2>Data checks</h2><p>Every stored row passed its consistency checks.</p>" in page


def test_the_page_escapes_what_upstreams_send(tmp_path):
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9"))
    db = open_db(tmp_path / "stocks.db")
    when = datetime(2026, 11, 18, 7, tzinfo=UTC)
    db.execute(
        "INSERT INTO symbol_state (symbol, last_attempt, last_error_type, last_error, attempts) "
        "VALUES (?, ?, ?, ?, 1)",
        ["<b>X", when.isoformat(), "Transient", "<script>alert(1)</script> & more"],
    )
    db.execute(
        "INSERT INTO refresh_runs (started_at, status, total_stocks) VALUES (?, 'running', 9)",
        [when.isoformat()],
    )
    db.execute("INSERT INTO run_progress VALUES (1, 'AAPL', 'done', ?)", [when.isoformat()])
    db.execute("INSERT INTO stocks (symbol) VALUES ('<i>Y')")
    for year in (2024, 2025):
        db.execute(
            'INSERT INTO data_checks (symbol, year, period, "check", expected, found, severity) '
            "VALUES ('<i>Y', ?, 'annual', 'eps_vs_net_income', 1.5, 0.0015, 'error')",
            [year],
        )
    db.conn.commit()
    page = render(config, db, when + timedelta(minutes=3), 1, None)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page and "<script>" not in page
    assert "&lt;b&gt;X" in page
    checks = page.split("<h2>Data checks</h2>")[1]
    assert "eps_vs_net_income" in checks and "&lt;i&gt;Y" in checks and "<i>Y" not in checks
    assert ">2<" in checks and ">1<" in checks  # two rows flagged, of one stock
    assert "Last success<b>never</b>" in page
    assert "Run 1 is running" in page and "1 of 9 stocks finished, 1 refreshed" in page
    assert "refreshed 1</title>" in page  # the run's bar in the chart
    assert "Next scheduled run: 2026-11-19 02:00 EST" in page
    later = render(config, db, when + timedelta(minutes=3), None, None)
    assert ">interrupted<" in later and "is running" not in later
    db.close()


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is missing (apt-get install chromium); CI needs it"
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chromium_renders_the_page_without_console_errors(runs, tmp_path):
    page = (runs.folder / "reports" / "dashboard.html").as_uri()
    dom = chromium(tmp_path, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-3000:]
    for noise in ("Uncaught", "ERROR:CONSOLE", "Refused to"):
        assert noise not in dom.stderr, dom.stderr[-3000:]
    assert "Failing symbols (1)" in dom.stdout
    assert f"<b>{FAILING}</b>" in dom.stdout
    assert "continue_on_error is false" in dom.stdout
    assert "Requests per upstream" in dom.stdout and "Freshness per data kind" in dom.stdout
    shot = tmp_path / "dashboard.png"
    drawn = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page)
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_a_broken_dashboard_folder_changes_nothing_in_the_run(tmp_path, fake):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the metrics folder should be")
    config = write_config(
        tmp_path, fake.url, reporting={"metrics_file": "blocked/m.prom", "generate_summary": False}
    )
    (tmp_path / "reports").write_text("a file where the reports folder should be")
    result = run_cli("--config", config, "--symbols", "AAPL")
    assert result.returncode == 0, result.stderr[-3000:]
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "metrics not written" in logs and "dashboard not written" in logs
    assert sqlite3.connect(tmp_path / "stocks.db").execute(
        "SELECT status FROM refresh_runs"
    ).fetchall() == [("completed",)]


def test_a_run_whose_backup_fails_still_writes_both(tmp_path, fake):
    config = write_config(
        tmp_path,
        fake.url,
        reporting={"metrics_file": "m.prom"},
        database={"keep_last_n_backups": 2},
    )
    assert run_cli("--config", config, "--symbols", "AAPL").returncode == 0
    succeeded = samples((tmp_path / "m.prom").read_text())
    break_an_index(tmp_path / "stocks.db")  # integrity_check fails: the backup aborts the run
    (tmp_path / "reports" / "dashboard.html").unlink()
    failed = run_cli("--config", config, "--symbols", "AAPL")
    assert failed.returncode == 1 and only_report(tmp_path)["status"] == "aborted"
    got = samples((tmp_path / "m.prom").read_text())
    assert got[("stock_refresh_last_run_exit_code", ())] == 1
    success = ("stock_refresh_last_success_timestamp_seconds", ())
    assert got[success] == succeeded[success]
    page = (tmp_path / "reports" / "dashboard.html").read_text()
    assert ">completed<" in page and ">aborted<" in page and "integrity_check" in page
