"""The real CLI, as a subprocess, against the fake upstream over real sockets.

Golden figures come from the shared fixture files (worked out by hand):
- AAPL companyfacts, 10-K 0000320193-25-000079 (filed 2025-10-31), period 2022-09-25..2023-09-30:
  RevenueFromContractWithCustomerExcludingAssessedTax 383,285,000,000; NetIncomeLoss
  96,995,000,000; EarningsPerShareDiluted 6.13.
- GOOGL companyfacts, 10-K 0001652044-26-000018 (filed 2026-02-05), period 2023-01-01..2023-12-31:
  Revenues 307,394,000,000; NetIncomeLoss 73,795,000,000; EarningsPerShareDiluted 5.80.
- AAPL submissions: newest 10-K 0000320193-25-000079 (aapl-20250927.htm), newest 10-Q
  0000320193-26-000006 (aapl-20251227.htm).
"""

import json
import stat
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import only_report, query, run_cli, write_config
from tests.test_limiter import max_in_window

TABLES = ("stocks", "stock_metrics", "earnings_history", "sec_filings", "filing_sections")


def data_snapshot(db) -> dict:
    """Every data row, without the bookkeeping timestamps."""
    out = {}
    for table in TABLES:
        rows = query(db, f"SELECT * FROM {table}")
        out[table] = sorted(
            repr(sorted((k, v) for k, v in row.items() if k not in ("last_updated", "id")))
            for row in rows
        )
    return out


@pytest.fixture(scope="module")
def first_run(fake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    config = write_config(folder, fake.url)
    mark = len(fake.requests())
    result = run_cli("--config", config)
    return folder, config, result, fake.requests()[mark:]


def test_full_run_exits_zero_and_stores_the_filed_figures(first_run):
    folder, _, result, _ = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    db = folder / "stocks.db"
    aapl = query(
        db, "SELECT * FROM earnings_history WHERE symbol='AAPL' AND year=2023 AND period='annual'"
    )[0]
    assert aapl["revenue"] == 383_285_000_000
    assert aapl["net_income"] == 96_995_000_000
    assert aapl["earnings_per_share"] == pytest.approx(6.13)
    assert aapl["fiscal_end"] == "2023-09-30"
    assert (aapl["source"], aapl["derived"]) == ("edgar", 0)
    googl = query(
        db, "SELECT * FROM earnings_history WHERE symbol='GOOGL' AND year=2023 AND period='annual'"
    )[0]
    assert (googl["revenue"], googl["net_income"]) == (307_394_000_000, 73_795_000_000)
    assert googl["earnings_per_share"] == pytest.approx(5.80)
    filings = {
        r["accession_number"]: r for r in query(db, "SELECT * FROM sec_filings WHERE symbol='AAPL'")
    }
    assert filings["0000320193-25-000079"]["document_url"] == (
        "https://www.sec.gov/Archives/edgar/data/320193/000032019325000079/aapl-20250927.htm"
    )
    assert filings["0000320193-25-000079"]["filing_type"] == "10-K"
    sections = {
        (r["filing_type"], r["section_name"]): r
        for r in query(db, "SELECT * FROM filing_sections WHERE symbol='AAPL'")
    }
    assert {("10-K", "business"), ("10-K", "risk_factors"), ("10-K", "mda")} <= set(sections)
    assert sections[("10-K", "business")]["accession_number"] == "0000320193-25-000079"
    stock = query(db, "SELECT * FROM stocks JOIN stock_metrics USING (symbol) WHERE symbol='AAPL'")[
        0
    ]
    assert stock["cik"] == 320193 and stock["company_name"] and stock["price"] > 0
    assert 0 <= stock["institutional_ownership"] <= 1


def test_report_has_the_seed_fields_and_more(first_run, fake):
    folder, _, _, _ = first_run
    report = only_report(folder)
    for key in (
        "start_time",
        "end_time",
        "duration_seconds",
        "total_stocks",
        "successful",
        "failed",
        "skipped",
        "success_rate",
        "failed_symbols",
        "error_types",
    ):
        assert key in report
    assert report["status"] == "completed" and report["exit_code"] == 0
    assert report["total_stocks"] >= 25
    assert report["successful"] + report["failed"] == report["total_stocks"]
    assert report["symbol_list"]["source"] == "github"
    assert report["requests"]["edgar"] > 2 * report["successful"] // 2
    assert report["requests"]["yahoo"] > 0 and report["requests"]["github"] == 2
    stocks = query(folder / "stocks.db", "SELECT count(*) AS n FROM stocks")[0]["n"]
    assert stocks == report["successful"]


def test_cross_checks_are_stored_counted_in_the_report_and_listed_by_the_dry_run(first_run):
    folder, config, _, _ = first_run
    report = only_report(folder)
    stored = query(
        folder / "stocks.db", 'SELECT "check", COUNT(*) AS n FROM data_checks GROUP BY "check"'
    )
    assert report["data_checks"] == {r["check"]: r["n"] for r in stored}
    assert report["data_checks_run"] > 1000
    recorded = query(
        folder / "stocks.db",
        "SELECT * FROM data_checks WHERE symbol IN ('AAPL', 'GOOGL', 'MSFT', 'IMNN', 'LPA')",
    )
    assert recorded == []
    listed = [
        line
        for line in run_cli("--config", config, "--dry-run").stdout.splitlines()
        if line.startswith("data check ")
    ]
    assert len(listed) == len(stored)
    for r in stored:
        assert any(
            line.startswith(f"data check {r['check']}: {r['n']} rows of ") for line in listed
        )


def test_no_sliding_second_holds_more_edgar_requests_than_configured(first_run):
    _, _, _, requests = first_run
    times = [r["t"] for r in requests if r["host"] in ("data.sec.gov", "www.sec.gov")]
    assert len(times) > 40
    assert max_in_window(times, 1.0) <= 20
    assert all(r["status"] != 403 for r in requests)


def test_yahoo_costs_one_request_per_stock_and_a_share_of_a_quote_batch(first_run):
    """A cold run: market data in batched v7 quotes, the profile in one quoteSummary with only
    the modules it needs, statements only for the stocks EDGAR covers too few years of."""
    folder, _, _, requests = first_run
    report = only_report(folder)
    stocks = report["total_stocks"]
    yahoo = [r for r in requests if "yahoo.com" in r["host"]]
    summaries = [r for r in yahoo if "/quoteSummary/" in r["path"]]
    quotes = [r for r in yahoo if "/v7/finance/quote" in r["path"]]
    statements = [r for r in yahoo if "/fundamentals-timeseries/" in r["path"]]
    assert len(summaries) == stocks
    assert {parse_qs(urlsplit(r["path"]).query)["modules"][0] for r in summaries} == {
        "quoteType,assetProfile,defaultKeyStatistics,financialData"
    }
    assert len(quotes) == -(-stocks // 50)
    topped_up = {urlsplit(r["path"]).path.rsplit("/", 1)[1] for r in statements}
    assert topped_up and len(statements) == 6 * len(topped_up)  # 3 statements x 2 frequencies
    for symbol in topped_up:
        [edgar] = query(
            folder / "stocks.db",
            "SELECT count(*) AS years FROM earnings_history "
            "WHERE symbol = ? AND source = 'edgar' AND period = 'annual'",
            symbol,
        )
        assert edgar["years"] < 5, symbol
    cookie_and_crumb = 2
    assert len(yahoo) - len(statements) - cookie_and_crumb <= 1.05 * stocks


def test_files_are_owner_only(first_run):
    folder, _, _, _ = first_run
    for path in [
        folder / "stocks.db",
        folder / "logs" / "batch_refresh.log",
        *(folder / "reports").iterdir(),
        folder / "logs",
        folder / "reports",
    ]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_second_run_changes_nothing_and_skips_unchanged_companyfacts(first_run, fake):
    folder, config, _, _ = first_run
    before = data_snapshot(folder / "stocks.db")
    mark = len(fake.requests())
    result = run_cli("--config", config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert data_snapshot(folder / "stocks.db") == before
    second = fake.requests()[mark:]
    assert not [r for r in second if "/companyfacts/" in r["path"]]
    assert not [r for r in second if "/Archives/edgar/data/" in r["path"]]


def test_the_screen_lands_first_and_the_report_says_when(first_run):
    """Every stock's market data and earnings history are saved before any stock's profile or
    filing sections; the report and the console say when the database became screener-ready."""
    folder, _, _, _ = first_run
    report = json.loads(min((folder / "reports").glob("batch_summary_*.json")).read_text())
    [times] = query(
        folder / "stocks.db",
        "SELECT max(market_refreshed_at) AS screen_last, max(fundamentals_refreshed_at) AS "
        "facts_last, min(profile_refreshed_at) AS profile_first, min(sections_refreshed_at) "
        "AS sections_first, count(*) AS stocks FROM symbol_state",
    )
    assert times["stocks"] == report["successful"]
    screen_done = max(times["screen_last"], times["facts_last"])
    assert screen_done <= times["profile_first"] and screen_done <= times["sections_first"]
    assert 0 < report["screener_ready_at"] < report["duration_seconds"]
    console = (folder / "logs" / "batch_refresh.log").read_text()  # what the console shows
    assert console.index("phase 1 of 2, what the screen reads") < console.index(
        "screener-ready after"
    )
    assert "phase 2 of 2" in console


def test_a_stocks_yahoo_profile_goes_beside_its_edgar_requests(tmp_path):
    """Two workers, one stock: Yahoo's lane asks the profile while SEC's asks the facts."""
    from tests.upstream import FakeUpstream

    with FakeUpstream(companies=1, latency_ms=150) as fake:
        config = write_config(tmp_path, fake.url, processing={"max_workers": 2})
        result = run_cli("--config", config, "--symbols", "AAPL")
        log = fake.requests()
    assert result.returncode == 0, result.stderr[-2000:]
    facts = [r["t"] for r in log if "/companyfacts/" in r["path"]]
    profile = [r["t"] for r in log if "/quoteSummary/" in r["path"]]
    assert len(facts) == 1 and len(profile) == 1
    assert profile[0] < facts[0]


def test_rate_limit_waits_are_reported_as_thread_seconds_and_as_wall_seconds(fake, tmp_path):
    """Four workers held by the limiters at once: their summed waits exceed the run's length,
    the wall-clock figure (at least one request held) never does."""
    config = write_config(
        tmp_path,
        fake.url,
        rate_limiting={"edgar_requests_per_second": 10, "yfinance_delay_seconds": 0.05},
    )
    started = time.monotonic()
    result = run_cli("--config", config, "--limit", "8")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    report = only_report(tmp_path)
    assert "rate_limit_wait_seconds" not in report
    duration = report["duration_seconds"]
    assert 0 < duration <= elapsed
    walls = []
    for name, upstream in report["upstreams"].items():
        wall, thread = (
            upstream["rate_limit_wait_wall_seconds"],
            upstream["rate_limit_wait_thread_seconds"],
        )
        assert 0 <= wall <= thread and wall <= duration, (name, upstream)
        assert upstream["retry_backoff_thread_seconds"] >= 0
        walls.append(wall)
    edgar = report["upstreams"]["edgar"]
    assert edgar["rate_limit_wait_thread_seconds"] > edgar["rate_limit_wait_wall_seconds"] > 0
    assert max(walls) <= report["rate_limit_wait_wall_seconds"] <= min(sum(walls), duration)
    assert report["rate_limit_wait_thread_seconds"] == pytest.approx(
        sum(u["rate_limit_wait_thread_seconds"] for u in report["upstreams"].values()), abs=0.01
    )
