"""Only what changed: staleness rules on fixed clocks, an ordinary night against the fake, the
same database whatever the number of workers, and resume after kill -9."""

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import psutil
import pytest
from fakeup.dates import is_business_day  # the fake's SEC calendar

from stock_refresh.changes import index_url, read_index
from stock_refresh.plan import ALL_KINDS, EDGAR_KINDS, profile_due, stale_kinds
from tests.conftest import cli_env, only_report, query, run_cli, upstreams_for, write_config
from tests.paths import ROOT
from tests.pinned import AS_OF
from tests.test_refresh_e2e import data_snapshot
from tests.upstream import FakeUpstream

# Tuesday 2026-11-24 22:00 UTC: the NYSE closed at 21:00 UTC (16:00 ET) that day.
TUESDAY_NIGHT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def state(**overrides) -> dict:
    fresh = "2026-11-24T07:00:00+00:00"
    row = {
        "symbol": "AAPL",
        "cik": 320193,
        "last_success": fresh,
        "attempts": 0,
        "market_refreshed_at": fresh,
        "profile_refreshed_at": fresh,
        "filings_refreshed_at": fresh,
    }
    return {**row, **overrides}


def test_new_failed_and_forced_stocks_get_everything():
    assert stale_kinds(None, TUESDAY_NIGHT, False)[0] == ALL_KINDS
    assert stale_kinds(state(attempts=2), TUESDAY_NIGHT, False, set()) == (
        ALL_KINDS,
        "last attempt failed",
    )
    assert stale_kinds(state(), TUESDAY_NIGHT, True, set())[0] == ALL_KINDS


def test_market_data_after_a_closed_session_only():
    kinds, reason = stale_kinds(state(), TUESDAY_NIGHT, False, set())
    assert kinds == {"market"} and reason == "market session closed"
    saturday = "2026-11-28T07:00:00+00:00"
    weekend = state(market_refreshed_at=saturday, profile_refreshed_at=saturday)
    kinds, reason = stale_kinds(weekend, SUNDAY, False, set())
    assert kinds == set() and "nothing stale" in reason and "weekend" in reason


def test_a_yahoo_only_stock_is_looked_for_at_sec_weekly():
    yahoo_only = state(cik=None, filings_refreshed_at=None)
    assert stale_kinds(yahoo_only, TUESDAY_NIGHT, False, None)[0] == {"market"}
    old = {**yahoo_only, "profile_refreshed_at": "2026-11-10T07:00:00+00:00"}
    assert stale_kinds(old, TUESDAY_NIGHT, False, set())[0] == ALL_KINDS


def test_profile_weekly_and_filings_when_sec_shows_a_new_one():
    old_profile = state(profile_refreshed_at="2026-11-16T07:00:00+00:00")
    assert "profile" in stale_kinds(old_profile, TUESDAY_NIGHT, False, set())[0]
    assert stale_kinds(state(), TUESDAY_NIGHT, False, {320193})[0] == EDGAR_KINDS | {"market"}
    assert stale_kinds(state(), TUESDAY_NIGHT, False, {789019})[0] == {"market"}
    kinds, reason = stale_kinds(state(), TUESDAY_NIGHT, False, None)
    assert kinds == EDGAR_KINDS | {"market"} and "SEC changes unknown" in reason


def business_day_before(day: date) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def night_after(day: date) -> datetime:
    """07:00 UTC the next day: 02:00 or 03:00 in New York, when `day`'s index is out."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=7)


@pytest.mark.date_sensitive
def test_an_ordinary_night_fetches_only_what_changed(tmp_path):
    filed_day = business_day_before(AS_OF)
    cold_day = business_day_before(filed_day)
    with FakeUpstream(companies=30, as_of=cold_day.isoformat()) as fake:
        config = write_config(tmp_path, fake.url)
        assert run_cli("--config", config, now=night_after(cold_day)).returncode == 0
    cold = only_report(tmp_path)
    db = tmp_path / "stocks.db"
    night_at = night_after(filed_day)
    profiles_due = {
        s["symbol"]
        for s in query(db, "SELECT * FROM symbol_state")
        if profile_due(s["symbol"], s["profile_refreshed_at"], night_at)
    }
    with FakeUpstream(
        companies=30, as_of=filed_day.isoformat(), extra_args=["--new-filings", "0.2"]
    ) as fake:
        config = write_config(tmp_path, fake.url)
        result = run_cli("--config", config, now=night_at)
        night = fake.requests()
    assert result.returncode == 0, result.stderr[-2000:]
    report = only_report(tmp_path)
    facts = {r["path"] for r in night if "/companyfacts/" in r["path"]}
    filers = {int(p.split("CIK")[1][:10]) for p in facts}
    assert filers and all(cik >= 9000000 for cik in filers)  # only synthetic companies filed
    edgar = [r for r in night if r["host"] in ("www.sec.gov", "data.sec.gov")]
    assert len(edgar) <= 4 * len(filers) + 5
    assert report["requests"]["edgar"] <= 0.25 * cold["requests"]["edgar"]
    batched = [r for r in night if "/v7/finance/quote?symbols=AAPL%2C" in r["path"]]
    summaries = [r for r in night if "/quoteSummary/" in r["path"]]
    assert len(batched) == 1  # a new 10-Q is EDGAR's: profiles only on their night of the week
    assert {r["path"].split("?")[0].rsplit("/", 1)[1] for r in summaries} == profiles_due
    new_10q = query(
        db, "SELECT count(*) AS n FROM sec_filings WHERE filing_date = ?", filed_day.isoformat()
    )[0]["n"]
    assert new_10q == len(filers)
    indexes = [r["path"][-12:-4] for r in night if "/daily-index/" in r["path"]]
    assert indexes == [f"{filed_day:%Y%m%d}"]  # nothing asked that cannot be published yet
    cursors = query(db, "SELECT DISTINCT changes_known_through AS day FROM symbol_state")
    assert cursors == [{"day": filed_day.isoformat()}]


@pytest.mark.date_sensitive
def test_a_partial_run_moves_on_the_stocks_it_looked_at(tmp_path):
    """A morning `--symbols` run reads the new index for its stock and moves only its cursor;
    the night after, the full run reads from the oldest cursor, and every company that filed
    is found, whichever run saw its filing first."""
    filed_day = business_day_before(AS_OF)
    cold_day = business_day_before(filed_day)
    with FakeUpstream(companies=30, as_of=cold_day.isoformat()) as fake:
        config = write_config(tmp_path, fake.url)
        assert run_cli("--config", config, now=night_after(cold_day)).returncode == 0
    db = tmp_path / "stocks.db"
    new = ["--new-filings", "1.0"]
    with FakeUpstream(companies=30, as_of=filed_day.isoformat(), extra_args=new) as fake:
        filers = upstreams_for(fake.url).get_body(index_url(filed_day), parse=read_index)
        assert len(filers) >= 2
        first = min(filers)
        [(symbol,)] = sqlite3.connect(db).execute(
            "SELECT symbol FROM symbol_state WHERE cik = ?", [first]
        )
        config = write_config(tmp_path, fake.url)
        mark = len(fake.requests())
        morning = run_cli("--config", config, "--symbols", symbol, now=night_after(filed_day))
        asked = fake.requests()[mark:]
        assert morning.returncode == 0, morning.stderr[-2000:]
        cursors = {
            r["symbol"]: r["changes_known_through"]
            for r in query(db, "SELECT symbol, changes_known_through FROM symbol_state")
        }
        assert cursors.pop(symbol) == filed_day.isoformat()
        assert set(cursors.values()) == {cold_day.isoformat()}
        assert [r["path"][-12:-4] for r in asked if "/daily-index/" in r["path"]] == [
            f"{filed_day:%Y%m%d}"
        ]
        facts = [r for r in asked if "/companyfacts/" in r["path"]]
        assert [int(r["path"].split("CIK")[1][:10]) for r in facts] == [first]
        mark = len(fake.requests())
        night = run_cli("--config", config, now=night_after(filed_day) + timedelta(hours=1))
        asked = fake.requests()[mark:]
    assert night.returncode == 0, night.stderr[-2000:]
    facts = {int(r["path"].split("CIK")[1][:10]) for r in asked if "/companyfacts/" in r["path"]}
    assert facts == filers - {first}  # the first filer was read this morning, the rest now
    cursors = query(db, "SELECT DISTINCT changes_known_through AS day FROM symbol_state")
    assert cursors == [{"day": filed_day.isoformat()}]


def test_the_database_is_the_same_with_one_worker_or_eight(fake, tmp_path):
    snapshots = []
    for workers in (1, 8):
        folder = tmp_path / f"w{workers}"
        config = write_config(folder, fake.url, processing={"max_workers": workers})
        assert run_cli("--config", config).returncode == 0
        snapshots.append(data_snapshot(folder / "stocks.db"))
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0]["earnings_history"]) > 500


def test_kill_minus_nine_then_resume_loses_nothing_and_redoes_nothing(tmp_path):
    with FakeUpstream(companies=20, latency_ms=60) as fake:
        config = write_config(tmp_path, fake.url, processing={"max_workers": 2})
        job = subprocess.Popen(
            [sys.executable, str(ROOT / "batch_refresh.py"), "--config", str(config)],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        db = tmp_path / "stocks.db"
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline and job.poll() is None
            try:
                done = query(db, "SELECT count(*) AS n FROM run_progress WHERE status='done'")[0][
                    "n"
                ]
            except sqlite3.OperationalError:
                done = 0
            if done >= 10:
                break
            time.sleep(0.05)
        helpers = psutil.Process(job.pid).children()
        assert helpers  # the parsing helper (and multiprocessing's resource tracker)
        job.send_signal(signal.SIGKILL)
        job.wait()
        gone, alive = psutil.wait_procs(helpers, timeout=10)
        assert not alive, "a helper outlived the killed job"
        mark = len(fake.requests())
        first_done = {
            r["symbol"]
            for r in query(
                db, "SELECT symbol FROM run_progress WHERE run_id = 1 AND status = 'done'"
            )
        }
        result = run_cli("--config", config)
        second = fake.requests()[mark:]
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    report = only_report(tmp_path)
    assert report["resumed_from_run"] == 1 and report["skipped"] >= len(first_done) >= 10
    assert report["failed"] == 0
    assert report["successful"] + report["skipped"] == report["total_stocks"]
    ciks = {r["symbol"]: r["cik"] for r in query(db, "SELECT symbol, cik FROM stocks")}
    refetched = Counter(
        int(r["path"].split("CIK")[1][:10]) for r in second if "/companyfacts/" in r["path"]
    )
    assert not [s for s in first_done if ciks.get(s) in refetched]  # nothing done twice
    stocks = {r["symbol"] for r in query(db, "SELECT symbol FROM stocks")}
    assert len(stocks) == report["total_stocks"]  # nothing lost
    runs = query(db, "SELECT id, status FROM refresh_runs ORDER BY id")
    assert [r["status"] for r in runs] == ["aborted", "completed"]


def test_profiles_fall_due_spread_over_the_week_from_the_cold_run_on():
    """700 stocks refreshed on one night: over the next 7 nights each profile falls due exactly
    once, about a seventh of them a night, never two weeks old."""
    cold = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # 02:00 in New York
    symbols = [f"S{i:03d}{chr(65 + i % 26)}" for i in range(700)]
    refreshed = dict.fromkeys(symbols, cold.isoformat())
    per_night = []
    for night in range(1, 15):
        now = cold + timedelta(days=night)
        due = [s for s in symbols if profile_due(s, refreshed[s], now)]
        per_night.append(len(due))
        refreshed.update(dict.fromkeys(due, now.isoformat()))
    assert sum(per_night[:7]) == 700 and sum(per_night[7:]) == 700
    assert all(70 <= n <= 130 for n in per_night), per_night
    assert stale_kinds(
        {
            "symbol": "AAPL",
            "cik": 1,
            "last_success": "x",
            "attempts": 0,
            "market_refreshed_at": cold.isoformat(),
            "filings_refreshed_at": "x",
        },
        cold + timedelta(days=1),
        False,
        set(),
    )[0] == {"profile", "market"}  # never fetched: due at once
