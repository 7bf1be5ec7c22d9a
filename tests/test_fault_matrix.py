"""Every fault the fake can inject, on every SEC and Yahoo endpoint the job asks, at 30 %:
a stock the report calls successful holds exactly what a clean run stores, and every other
stock is listed as failed with its error type. Nothing is saved short and called fresh.

Each fault gets two runs, against a fake that injects it on every endpoint at once: a cold run
(company_tickers.json, submissions and their pages, companyfacts, documents, the batched v7
quote, quoteSummary, timeseries, cookie and crumb) and the night after it, from the clean cold
database (the daily index, the quote batch, and whatever the companies that filed need).
Every endpoint also gets the fault on its first ask, so that every pair is seen to fire, not
left to chance (an endpoint asked a dozen times a run misses a 30 % fault now and then); the
ones asked once a run (the ticker list, the cookie, the crumb, the one quote batch) get it on
that ask only. SYXH's submissions, companyfacts, own quote and profile are spared, so at least
one company always gets to its documents, and EMA's profile (Yahoo-only: it asks Yahoo's
statements).
"""

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from fakeup.dates import is_business_day  # the fake's SEC calendar

from tests.conftest import cli_env, only_report, query, write_config
from tests.paths import ROOT
from tests.pinned import AS_OF
from tests.test_refresh_e2e import TABLES
from tests.upstream import FakeUpstream

COMPANIES = 8
# Long enough that an answer the fake does not hold back arrives in time on a machine that
# three of these suites share (0.5 s once timed out the unfaulted symbol list there, and
# the run with it); the hang outlasts it twice over.
TIMEOUT = 2.0
FAULTS = {
    "403": "status:403",
    "404": "status:404",
    "429": "status:429",
    "500": "status:500",
    "hang": f"hang:{int(TIMEOUT * 2000)}",
    "truncate": "truncate",
    "malformed": "malformed",
    "empty": "empty",
    "reset": "reset",
    "badgzip": "badgzip",
}
# endpoint -> glob of host/path
COLD_ENDPOINTS = {
    "company_tickers": "www.sec.gov/files/company_tickers.json",
    "submissions": "data.sec.gov/submissions/CIK??????????.json",
    "submissions page": "data.sec.gov/submissions/CIK*-submissions-*.json",
    "companyfacts": "data.sec.gov/api/xbrl/companyfacts/*",
    "documents": "www.sec.gov/Archives/edgar/data/*",
    "quoteSummary": "query*.finance.yahoo.com/v10/finance/quoteSummary/*",
    "timeseries": "query*.finance.yahoo.com/ws/fundamentals-timeseries/*",
    "cookie": "fc.yahoo.com/*",
    "crumb": "query*.finance.yahoo.com/v1/test/getcrumb*",
    "v7 quote": "query*.finance.yahoo.com/v7/finance/quote*",
}
NIGHT_ENDPOINTS = {  # asked only at night; the night gets the cold run's faults as well
    "daily index": "www.sec.gov/Archives/edgar/daily-index/*",
}
ONCE = {"company_tickers", "cookie", "crumb", "v7 quote"}  # asked once, unless that ask failed
SPARED = ";".join(  # SYXH's older submissions page and documents, EMA's statements come after
    f"{path}=delay:0"
    for path in (
        "data.sec.gov/submissions/CIK0009000007.json",
        "data.sec.gov/api/xbrl/companyfacts/CIK0009000007.json",
        # a stock's documents are asked once its filings and facts are saved, and not at all
        # once its Yahoo part failed: SYXH's own quote and profile are spared too
        "query*.finance.yahoo.com/v7/finance/quote?symbols=SYXH&*",
        "query*.finance.yahoo.com/v10/finance/quoteSummary/SYXH",
        "query*.finance.yahoo.com/v10/finance/quoteSummary/EMA",
    )
)


def business_day_before(day: date) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


FILED_DAY = business_day_before(AS_OF)
COLD_DAY = business_day_before(FILED_DAY)


def night_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=7)


def spec(action: str, endpoints: dict) -> str:
    rules = [SPARED]
    for endpoint, pattern in endpoints.items():  # the first ask always, the rest at 30 %
        rules.append(f"{pattern}={action}#1")
        if endpoint not in ONCE:
            rules.append(f"{pattern}={action}@0.3")
    return ";".join(rules)


def run(folder: Path, night: bool, action: str | None = None, start_from: Path | None = None):
    """(folder, report, the fake's request log) of one run, faulty when `action` is given."""
    folder.mkdir(parents=True)
    if start_from:
        shutil.copy(start_from, folder / "stocks.db")
    day = FILED_DAY if night else COLD_DAY
    endpoints = {**COLD_ENDPOINTS, **NIGHT_ENDPOINTS} if night else COLD_ENDPOINTS
    faults = spec(action, endpoints) if action else None
    extra = ["--new-filings", "1.0"] if night else []
    with FakeUpstream(
        companies=COMPANIES, as_of=day.isoformat(), faults=faults, extra_args=extra
    ) as fake:
        config = write_config(
            folder,
            fake.url,
            # the clean runs are the reference: no hang to time out, and room for a machine
            # that three suites share
            rate_limiting={
                "request_timeout_seconds": TIMEOUT if action else 10,
                "edgar_cooldown_seconds": 0.2,
            },
            error_handling={"max_retries_per_stock": 1, "max_consecutive_failures": 1000},
            database={"backup_before_run": False},
            reporting={"dashboard": False},
        )
        result = subprocess.run(  # a yfinance cache of its own: the cookie and crumb are asked
            [sys.executable, ROOT / "batch_refresh.py", "--config", config],
            capture_output=True,
            text=True,
            timeout=240,
            env={**cli_env(night_after(day)), "STOCK_REFRESH_CACHE_DIR": str(folder / "cache")},
        )
        requests = fake.requests()
    report = only_report(folder)
    # 3: some stocks failed on the faults; 1: all of them did (the night's one quote batch)
    expected = 1 if report["failed"] == report["total_stocks"] - report["skipped"] else 3
    assert result.returncode == (expected if report["failed"] else 0), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return folder, report, requests


def rows_of(db: Path, symbol: str) -> dict:
    """A stock's data rows in every table, without bookkeeping columns."""
    return {
        table: sorted(
            repr(sorted((k, v) for k, v in row.items() if k not in ("last_updated", "id")))
            for row in query(db, f"SELECT * FROM {table} WHERE symbol = ?", symbol)
        )
        for table in TABLES
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The clean cold run and night, then both runs of every fault, four at a time."""
    root = tmp_path_factory.mktemp("matrix")
    cold = run(root / "clean-cold", night=False)
    night = run(root / "clean-night", night=True, start_from=cold[0] / "stocks.db")
    clean = {"cold": cold, "night": night}
    jobs = {
        (name, "cold"): (root / f"{name}-cold", False, action, None)
        for name, action in FAULTS.items()
    } | {
        (name, "night"): (root / f"{name}-night", True, action, cold[0] / "stocks.db")
        for name, action in FAULTS.items()
    }
    with ThreadPoolExecutor(4) as pool:
        futures = {key: pool.submit(run, *args) for key, args in jobs.items()}
        return clean, {key: future.result() for key, future in futures.items()}


@pytest.mark.date_sensitive
@pytest.mark.timeout(360)  # the first one sets up all 22 runs, three suites at once in CI
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("which", ["cold", "night"])
def test_a_fault_fails_the_stock_or_changes_nothing(runs, fault, which):
    clean, faulty = runs
    clean_folder, clean_report, _ = clean[which]
    folder, report, requests = faulty[fault, which]
    assert clean_report["failed"] == 0
    endpoints = NIGHT_ENDPOINTS if which == "night" else COLD_ENDPOINTS
    action = FAULTS[fault].split(":")[0]
    for endpoint, pattern in endpoints.items():
        fired = [
            r
            for r in requests
            if r.get("fault") == action
            and fnmatchcase(r["host"] + r["path"].split("?")[0], pattern)
            and (action != "status" or r["status"] == int(fault))
        ]
        assert fired, f"{fault} never hit {endpoint} ({pattern})"
    failures = report["failures"]
    assert set(report["failed_symbols"]) == set(failures)
    assert all(f["error_type"] for f in failures.values())
    compared = 0
    for symbol in report["successful_symbols"]:
        assert rows_of(folder / "stocks.db", symbol) == rows_of(
            clean_folder / "stocks.db", symbol
        ), f"{symbol} succeeded under {fault} ({which}) with other data than a clean run"
        compared += 1
    assert compared + len(failures) + len(report["skipped_symbols"]) == report["total_stocks"]
