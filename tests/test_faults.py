"""Upstream failures: each stock fails or falls back cleanly, the run goes on, the report counts it.

The fake's synthetic companies (see tools/fake_upstream.py --help): SYXA..SYXJ with CIKs
9000000..9000009.
"""

import pytest

from tests.conftest import only_report, query, run_cli, write_config
from tests.upstream import FakeUpstream

FACTS = "data.sec.gov/api/xbrl/companyfacts/CIK{:010d}.json"
SUBMISSIONS = "data.sec.gov/submissions/CIK{:010d}.json"
FAULTS = ";".join(
    [
        FACTS.format(9000000) + "=status:500",  # SYXA: server error, every time
        SUBMISSIONS.format(9000003) + "=hang:3000",  # SYXD: no answer within the timeout
        FACTS.format(9000004) + "=truncate",  # SYXE: body cut short
        FACTS.format(9000005) + "=empty",  # SYXF: 200 with nothing in it
        SUBMISSIONS.format(9000006) + "=status:404",  # SYXG: SEC lists a CIK it has no data of
        "query2.finance.yahoo.com/v10/finance/quoteSummary/SYXI*=status:429,retry-after=1#2",
    ]
)
FAILING = {"SYXA", "SYXD", "SYXE", "SYXF", "SYXG"}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    with FakeUpstream(companies=10, faults=FAULTS) as fake:
        config = write_config(
            folder,
            fake.url,
            rate_limiting={"request_timeout_seconds": 1},
            error_handling={"max_retries_per_stock": 1},
        )
        result = run_cli("--config", config)
    return folder, result


def test_the_run_goes_on_and_exits_3_for_stocks_failed_on_faults(faulty_run):
    folder, result = faulty_run
    assert result.returncode == 3, result.stderr[-3000:]
    report = only_report(folder)
    assert set(report["failed_symbols"]) == FAILING
    assert report["successful"] == report["total_stocks"] - len(FAILING)
    assert set(report["retried_symbols"]) == FAILING
    assert report["retries"] > 0


def test_each_failure_is_recorded_with_its_type_and_message(faulty_run):
    folder, _ = faulty_run
    failures = only_report(folder)["failures"]
    assert (
        failures["SYXA"]["error_type"] == "Transient"
        and "HTTP 500 (injected status 500)" in failures["SYXA"]["message"]
    )
    assert "no answer within 1 s" in failures["SYXD"]["message"]
    assert failures["SYXF"]["error_type"] == "MalformedResponse"
    assert failures["SYXE"]["error_type"] in ("Transient", "MalformedResponse")
    state = {r["symbol"]: r for r in query(folder / "stocks.db", "SELECT * FROM symbol_state")}
    for symbol in FAILING:
        assert state[symbol]["last_error_type"] == failures[symbol]["error_type"]
        assert state[symbol]["last_success"] is None


def test_failed_stocks_keep_only_the_parts_saved_whole(faulty_run):
    """Market data lands first, for every stock, in a transaction of its own; a stock whose SEC
    part then failed keeps that and nothing of the part that failed, and is no success."""
    folder, _ = faulty_run
    db = folder / "stocks.db"
    failing = "('SYXA','SYXD','SYXE','SYXF','SYXG')"
    for table in ("earnings_history", "sec_filings", "filing_sections"):
        assert query(db, f"SELECT symbol FROM {table} WHERE symbol IN {failing}") == [], table
    metrics = query(db, f"SELECT * FROM stock_metrics WHERE symbol IN {failing}")
    assert {row["symbol"] for row in metrics} == FAILING
    assert all(row["price"] > 0 and row["institutional_ownership"] is None for row in metrics)
    states = query(db, f"SELECT * FROM symbol_state WHERE symbol IN {failing}")
    assert all(s["market_refreshed_at"] and not s["fundamentals_refreshed_at"] for s in states)
    assert all(s["last_success"] is None and s["attempts"] > 0 for s in states)


def test_a_listed_cik_without_submissions_fails_and_429_is_retried(faulty_run):
    """SEC's own ticker list names SYXG's CIK: a 404 for its submissions is SEC's fault, so the
    stock fails (asked again next run) instead of being saved with Yahoo's data only."""
    folder, _ = faulty_run
    failure = only_report(folder)["failures"]["SYXG"]
    assert failure["error_type"] == "Incomplete"
    assert "submissions are missing" in failure["message"]
    db = folder / "stocks.db"
    assert query(db, "SELECT price FROM stock_metrics WHERE symbol='SYXI'")[0]["price"] > 0


def test_consecutive_failures_abort_the_run(tmp_path):
    with FakeUpstream(
        companies=6, faults="data.sec.gov/api/xbrl/companyfacts/*=status:500"
    ) as fake:
        config = write_config(
            tmp_path,
            fake.url,
            error_handling={"max_retries_per_stock": 0, "max_consecutive_failures": 3},
            processing={"max_workers": 1},
        )
        result = run_cli("--config", config)
    assert result.returncode == 1
    report = only_report(tmp_path)
    assert report["status"] == "aborted" and report["exit_code"] == 1
    assert "3 consecutive failures" in report["abort_reason"]
    assert report["failed"] == 3


def test_sec_throttle_pauses_edgar_and_the_run_completes(tmp_path):
    with FakeUpstream(companies=4, edgar_rps=6, extra_args=["--block-seconds", "1"]) as fake:
        config = write_config(
            tmp_path,
            fake.url,
            rate_limiting={"edgar_requests_per_second": 12, "edgar_cooldown_seconds": 1.5},
            error_handling={"max_retries_per_stock": 5},
        )
        result = run_cli("--config", config)
        statuses = [r["status"] for r in fake.requests() if r["host"] == "data.sec.gov"]
    assert result.returncode == 0, result.stderr[-2000:]
    report = only_report(tmp_path)
    assert report["upstreams"]["edgar"]["throttled"] >= 1
    assert report["failed"] == 0
    assert 403 in statuses


@pytest.mark.parametrize("retries", [0, 2])
def test_a_failing_request_is_asked_retries_plus_one_times_and_once_more_at_the_end(
    tmp_path, retries
):
    """Retries happen in one place per request, parsing included: an answer that is always
    500 and one that is always malformed JSON are each asked N + 1 times, then once in the
    end-of-run retry pass."""
    broken = {"SYXA": FACTS.format(9000000), "SYXB": FACTS.format(9000001)}
    faults = f"{broken['SYXA']}=status:500;{broken['SYXB']}=malformed"
    with FakeUpstream(companies=3, faults=faults) as fake:
        config = write_config(tmp_path, fake.url, error_handling={"max_retries_per_stock": retries})
        result = run_cli("--config", config, "--symbols", "SYXA,SYXB,SYXC")
        asked = [f"{r['host']}{r['path']}" for r in fake.requests()]
    assert result.returncode == 3, result.stderr[-2000:]
    failures = only_report(tmp_path)["failures"]
    assert sorted(failures) == ["SYXA", "SYXB"]
    assert failures["SYXA"]["error_type"] == "Transient"
    assert failures["SYXB"]["error_type"] == "MalformedResponse"
    for path in broken.values():
        assert asked.count(path) == retries + 1 + 1, path


def test_a_failed_quote_batch_stops_no_stock_that_has_more_to_fetch(tmp_path):
    """Yahoo's batch answer fails, and again on its retry (yfinance asks twice a time, with
    another cookie): each cold stock asks its own quote in its own task, its SEC work goes on."""
    faults = "query1.finance.yahoo.com/v7/finance/quote=status:500#4"
    with FakeUpstream(companies=3, faults=faults) as fake:
        config = write_config(tmp_path, fake.url)
        result = run_cli("--config", config, "--symbols", "SYXA,SYXB,SYXC")
        quotes = [r for r in fake.requests() if "/v7/finance/quote" in r["path"]]
    assert result.returncode == 0, result.stderr[-2000:]
    assert only_report(tmp_path)["successful"] == 3
    assert [r["status"] for r in quotes[:4]] == [500] * 4
    singles = sorted(r["path"].split("symbols=")[1].split("&")[0] for r in quotes[4:])
    assert singles == ["SYXA", "SYXB", "SYXC"]
    prices = query(tmp_path / "stocks.db", "SELECT price FROM stock_metrics")
    assert len(prices) == 3 and all(p["price"] > 0 for p in prices)
