"""The benchmark itself on a tiny scenario, so that it cannot rot: every scenario runs the real
job against the fake with limits on, as of the suite's pinned night, and the table comes out
whole."""

import json
import math
import subprocess
import sys

import pytest

from tests.paths import ROOT
from tests.pinned import TEST_NOW

HEADS = (
    "scenario",
    "stocks",
    "wall s",
    "floor s",
    "by",
    "wall/floor",
    "edgar/stock",
    "yahoo/stock",
    "403",
    "403 missing",
    "429",
    "max/s edgar (<= 40)",
    "max/s yahoo (<= 40)",
    "violations",
    "peak RSS MB",
    "exit",
)


@pytest.mark.timeout(180)
def test_tiny_benchmark_runs_every_scenario_within_the_limits(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "benchmark.py"),
            "--stocks",
            "12",
            "--edgar-rps",
            "40",
            "--yahoo-rps",
            "40",
            "--latency-ms",
            "20",
            "--workers",
            "4",
            "--scenarios",
            "cold,night,resume",
            "--baseline",
            "--now",
            TEST_NOW.isoformat(),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    header = result.stdout.splitlines()[0]
    for head in HEADS:
        assert head in header
    assert "cores: " in result.stdout and "baseline / cold: " in result.stdout

    data = json.loads(out.read_text())
    assert data["problems"] == []
    assert data["settings"]["night_now"] == TEST_NOW.isoformat()
    rows = {row["scenario"]: row for row in data["rows"]}
    assert set(rows) == {"cold", "night", "resume", "baseline"}
    for row in rows.values():
        assert set(data["columns"]) <= set(row)
        assert row["violations"] == 0 and row["edgar_403"] == 0 and row["yahoo_429"] == 0
        assert row["edgar_403_undeclared_ua"] == 0
        assert row["edgar_max_per_s"] <= 40 and row["yahoo_max_per_s"] <= 40
        assert math.isfinite(row["wall_over_floor"]) and row["wall_over_floor"] > 0
        assert row["peak_rss_mb"] and row["peak_rss_mb"] > 0
        assert row["exit_code"] == 0
    assert rows["cold"]["stocks"] == 12 and rows["cold"]["edgar_per_stock"] > 0
    checks = rows["resume"]["resume_checks"]
    assert checks["integrity_check"] == "ok" and checks["redone"] == []
    assert checks["resumed_from_run"] == checks["killed_run"] and checks["done_total"] == 12
    assert 6 <= checks["done_by_killed"] < 12
    assert data["cores"] >= 1 and data["baseline_over_cold"] > 0


@pytest.mark.timeout(240)
def test_the_week_runs_night_after_night_from_what_the_last_night_left(tmp_path):
    """A cold start on Veterans Day and three nights: the first reads no daily index (SEC
    published none for the holiday, and the job knows it), the next ones read theirs; no stock's
    SEC changes are unknown, and each night's EDGAR requests follow the companies that filed."""
    out = tmp_path / "week.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "benchmark.py"),
            "--stocks",
            "40",
            "--real-limits",
            "10",
            "--latency-ms",
            "50",
            "--scenarios",
            "week",
            "--nights",
            "3",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=230,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "week: a cold start, then one night after another" in result.stdout
    data = json.loads(out.read_text())
    assert data["problems"] == []
    week = data["week"]
    assert [row["night"] for row in week] == ["cold", "Thu 11-12", "Fri 11-13", "Sat 11-14"]
    assert [row["as_of"] for row in week] == [
        "2026-11-10",
        "2026-11-11",
        "2026-11-12",
        "2026-11-13",
    ]
    cold, holiday, *later = week
    assert cold["filed"] == 40 and cold["quote_requests"] == 1
    assert holiday["sec_unknown"] == 0 and holiday["filed"] == 0
    assert holiday["quote_requests"] == 1  # NYSE traded on Veterans Day: market data is due
    for row in later:
        assert row["sec_unknown"] == 0 and row["index_requests"] >= 1
        assert row["edgar_requests"] <= 5 * row["filed"] + row["index_requests"]
    assert data["goals"]["week_sec_unknown"]["met"]
    assert all(row["violations"] == 0 and row["exit_code"] == 0 for row in week)
