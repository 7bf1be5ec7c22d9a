"""The job's one clock: pinned by STOCK_REFRESH_NOW, read once per run, and every date of a run
(report, backup, timestamps, the SEC index cursor, the market-open warning) taken from it."""

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from fakeup.dates import is_business_day  # the fake's SEC calendar

from stock_refresh import clock
from stock_refresh.changes import last_published_day
from stock_refresh.market_calendar import market_open_now
from tests.conftest import cli_env, only_report, query, run_cli, write_config
from tests.paths import ROOT
from tests.pinned import suite_now


@pytest.fixture(autouse=True)
def suite_clock():
    """Tests here restart this process's clock; the tests after them get the suite's pin back."""
    yield
    clock.start()


def test_a_pinned_start_is_read_in_utc_and_runs_on_with_the_monotonic_clock():
    start = clock.start({clock.NOW_ENV: "2026-11-24T21:30:00-05:00"})
    assert start == datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    assert clock.started() == start and clock.today().isoformat() == "2026-11-25"
    time.sleep(1.1)
    assert clock.started() == start
    assert start + timedelta(seconds=1) <= clock.now() <= start + timedelta(seconds=3)
    clock.start({clock.NOW_ENV: "2026-11-25T07:00:00Z"})
    assert clock.started() == datetime(2026, 11, 25, 7, tzinfo=UTC)


def test_without_a_pin_the_clock_is_the_systems():
    before = datetime.now(UTC).replace(microsecond=0)
    assert before <= clock.start({clock.NOW_ENV: ""}) <= datetime.now(UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2026-11-25T07:00:00", "2026-13-01T00:00:00Z"])
def test_a_bad_pin_is_refused_with_one_line(text):
    with pytest.raises(clock.ClockError) as error:
        clock.parse_now(text)
    assert str(error.value) == (
        "STOCK_REFRESH_NOW: expected an ISO-8601 time with its UTC offset such as "
        f"2026-11-25T07:00:00+00:00, found {text!r}"
    )


def test_the_cli_refuses_a_bad_pin_with_exit_two(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, str(ROOT / "batch_refresh.py"), "--config", str(config)],
        env={**cli_env(), clock.NOW_ENV: "2026-11-25 07:00"},  # no offset: which zone?
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: STOCK_REFRESH_NOW: expected an ISO-8601 time with its UTC offset such as "
        "2026-11-25T07:00:00+00:00, found '2026-11-25 07:00'"
    ]
    assert list(tmp_path.iterdir()) == [config]


@pytest.mark.date_sensitive
def test_a_run_takes_its_dates_from_the_pinned_clock(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    start = suite_now()
    first = run_cli("--config", config, "--verbose", now=start)
    assert first.returncode == 0, first.stderr[-2000:]
    report = only_report(tmp_path)
    started = datetime.fromisoformat(report["start_time"])
    assert started == start
    assert start <= datetime.fromisoformat(report["end_time"]) <= start + timedelta(minutes=2)
    assert report["start_time"].endswith("+00:00")
    ended = datetime.fromisoformat(report["end_time"])
    assert _names(tmp_path) == [f"batch_summary_{ended:%Y%m%d_%H%M%S}.json"]
    run = query(tmp_path / "stocks.db", "SELECT started_at, finished_at FROM refresh_runs")[0]
    assert run["started_at"] == start.isoformat()
    for row in query(tmp_path / "stocks.db", "SELECT last_success FROM symbol_state"):
        assert start <= datetime.fromisoformat(row["last_success"]) <= start + timedelta(minutes=2)
    cursor_day = last_published_day(start)
    cursors = query(
        tmp_path / "stocks.db", "SELECT DISTINCT changes_known_through FROM symbol_state"
    )
    assert cursors == [{"changes_known_through": cursor_day.isoformat()}]
    warned = "the NYSE is open now" in first.stderr
    assert warned == market_open_now(start)

    # The next night (its first start a day later), a second run reads only the indexes
    # published by then: yesterday's in New York, never today's.
    mark = len(fake.requests())
    night = start + timedelta(days=1)
    second = run_cli("--config", config, now=night)
    assert second.returncode == 0, second.stderr[-2000:]
    backups = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert backups == [f"stocks_backup_{night:%Y%m%d_%H%M%S}.full"]  # the first point: full
    asked = [r for r in fake.requests()[mark:] if "/daily-index/" in r["path"]]
    newest = last_published_day(night)
    days = [cursor_day + timedelta(days=n) for n in range(1, (newest - cursor_day).days + 1)]
    assert [r["path"][-12:-4] for r in asked] == [f"{d:%Y%m%d}" for d in days if is_business_day(d)]
    assert all(r["status"] == 200 or r.get("why") == "no_such_object" for r in asked)


def _names(folder) -> list[str]:
    return sorted(p.name for p in (folder / "reports").glob("batch_summary_*.json"))


def test_the_schedule_cli_counts_from_the_pinned_clock(tmp_path, monkeypatch, capsys):
    from stock_refresh import schedule

    path = tmp_path / "batch_config.json"
    path.write_text(json.dumps({"sources": {"sec_contact": "Jane Doe jane.doe@gmail.com"}}))
    monkeypatch.setenv(clock.NOW_ENV, "2026-11-01T05:30:00+00:00")  # 01:30 EDT, clocks go back
    assert schedule.main(["info", "--config", str(path)]) == 0
    assert "next run: Sun 2026-11-01 02:00 EST (07:00 UTC)" in capsys.readouterr().out
    monkeypatch.setenv(clock.NOW_ENV, "soon")
    assert schedule.main(["info", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: STOCK_REFRESH_NOW: expected ")


def test_a_run_pinned_in_market_hours_warns_of_intraday_prices(fake, tmp_path):
    config = write_config(tmp_path, fake.url)
    tuesday_morning = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York
    result = run_cli("--config", config, "--symbols", "AAPL", "--verbose", now=tuesday_morning)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the NYSE is open now: prices fetched by this run are intraday" in result.stderr
    assert only_report(tmp_path)["start_time"] == tuesday_morning.isoformat()
