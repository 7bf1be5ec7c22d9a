"""Run the real job against the fake upstream with latency and enforced limits; print one table.

    python bench/benchmark.py [--stocks 1000] [--edgar-rps 100] [--yahoo-rps 100] [--latency-ms 200]
                              [--workers 64] [--real-limits SCALE] [--baseline]
                              [--baseline-stocks M] [--scenarios cold,night,resume,week]
                              [--now TIME] [--nights N] [--keep DIR] [--json FILE]

--real-limits SCALE measures the world users live in, time-scaled: the limits of the shipped
batch_config.json (EDGAR 9 requests/s, Yahoo one request per yfinance_delay_seconds) times
SCALE, at the fake and in the job, with the shipped processing.max_workers, and time itself
scaled: --latency-ms is the upstreams' latency, which the fake answers SCALE times sooner, so
the work in flight that keeps an upstream busy is what it is in real time. Beside the scaled
table it prints each run's wall and floor projected to real time and 5,000 stocks. The job's
CPU is not scaled: it weighs SCALE times more in the scaled run than in real time.

Every date is pinned, never read from the real clock: the night run starts at --now (the job's
STOCK_REFRESH_NOW); its fake's today is the business day before that in New York, and the cold,
resume and baseline runs happen the night after the business day before that one.

Scenarios, each against its own fake (`tools/fake_upstream.py`, limits on):
  cold      empty database, full refresh; the fake's today is the business day before `night`'s.
  night     the cold run's database later, at --now: the fake's today is the most recent business
            day before it, with 3 % of the companies filing a 10-Q on it. It starts from the
            database the cold run left, nothing edited: the job's clock has moved on a night.
  resume    a cold run killed with SIGKILL once half the stocks are done, then run again; only
            the second run is timed. Checked: its report names the run it resumed, the database
            passes integrity_check, and no stock the killed run finished was saved again.
  baseline  (--baseline) the cold scenario with the seed's design (bench/baseline.py): one stock
            at a time, a sleep after each and a pause after each batch of 50, the seed's delays
            scaled by edgar-rps / 10. It runs on an evenly spread sample of --baseline-stocks and
            its wall time is extrapolated to --stocks (it is linear by construction).
  week      a cold start at 02:00 in New York on Veterans Day 2026, then --nights nights (16:
            through the night after Thanksgiving), each from the database the last one left: the
            job at 02:00 in New York, its fake as of the day before, 3 % of the companies filing
            a 10-Q (or, none pending, a 10-Q/A) on each SEC business day, SEC's history the same
            from one night's fake to the next. Between: weekends, Veterans Day (SEC closed, NYSE
            open) and Thanksgiving (both closed). One line per night: requests per upstream
            (SEC's index requests apart), our companies that filed, profiles due, stocks whose
            SEC changes were unknown, the wall time and its projection.

The floor of a run is the larger of (its requests to an upstream, as logged by the fake) / (that
upstream's allowed rate). Violations are the fake's rate answers (EDGAR 403 and Yahoo 429 that its
log says were throttles; SEC's 403 for an object that does not exist, such as an index not yet
published, is counted apart, as "403 missing"); the
busiest sliding second per upstream is recomputed from the log's arrival times (the fake stamps
each request with the kernel's receive time). Peak RSS is the larger of the report's
`peak_rss_mb` (the job's peak plus its parsing helper's) and psutil samples of the job and its
child processes together every 0.1 s. Exit status 0
unless a run broke (a job exit other than 0, a killed run that was not killed, a failed check).
"""

import argparse
import datetime as dt
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tools" / "fake_upstream.py"
JOB = ROOT / "batch_refresh.py"
BASELINE = Path(__file__).resolve().with_name("baseline.py")
sys.path.insert(0, str(FAKE.parent))

sys.path.insert(0, str(ROOT))

from fakeup.dates import is_business_day  # noqa: E402  (the fake's own calendar)

from stock_refresh.symbols import clean_symbols  # noqa: E402  (the job's own list filter)

CONTACT = "Bench Runner bench.runner@gmail.com"
NIGHT = "2026-11-25T07:00:00+00:00"  # a Wednesday, 02:00 in New York: the default --now
NEW_YORK = ZoneInfo("America/New_York")
SEED = "bench"
BLOCK_SECONDS = 5
LIST_PATH = "/rreichel3/US-Stock-Symbols/main/{0}/{0}_tickers.json"
NEW_FILINGS = 0.03
# The week scenario's cold start: 02:00 in New York on Veterans Day 2026 (a federal holiday: SEC
# publishes no daily index, NYSE trades), so its nights run from the night after it through the
# night after Thanksgiving (NYSE and SEC closed), with three weekends between: 16 nights.
WEEK_START = dt.datetime(2026, 11, 11, 7, tzinfo=dt.UTC)
WEEK_NIGHTS = 16
USER_MBPS = 100.0  # a home line: SEC's 1.4 GB companyfacts.zip in 112 s
EDGAR_HOSTS = {"www.sec.gov", "data.sec.gov"}
SEED_SEC_RPS = 10.0  # the real limit the seed's delays were tuned for
SEED_STOCK_DELAY, SEED_BATCH_DELAY, SEED_BATCH_SIZE = 0.5, 10.0, 50
# A fake builds SEC's archive, the daily indexes and the quotes before it listens
FAKE_START_SECONDS, FAKE_START_PER_COMPANY = 120, 0.2
COLUMNS = (
    "scenario",
    "stocks",
    "wall_s",
    "floor_s",
    "floor_by",
    "wall_over_floor",
    "edgar_per_stock",
    "yahoo_per_stock",
    "edgar_requests",
    "yahoo_requests",
    "edgar_403",
    "edgar_403_missing",
    "yahoo_429",
    "edgar_max_per_s",
    "yahoo_max_per_s",
    "violations",
    "peak_rss_mb",
    "exit_code",
    "notes",
)


class BenchError(Exception):
    """Something broke: the benchmark's numbers would mean nothing."""


# ---------------------------------------------------------------- the fake upstream


def fake_help() -> str:
    return subprocess.run(
        [sys.executable, str(FAKE), "--help"], capture_output=True, text=True, check=True
    ).stdout


class Fake:
    """tools/fake_upstream.py as a subprocess; its request log is read by line offsets."""

    def __init__(self, folder: Path, args: list[str]):
        self.folder = folder
        self.log = folder / "requests.jsonl"
        self.args = ["--port", "0", "--seed", SEED, *args, "--log", str(self.log)]
        self.proc = None
        self.url = None

    def start(self, timeout: float = 120) -> "Fake":
        self.folder.mkdir(parents=True, exist_ok=True)
        err = open(self.folder / "fake.stderr", "a")
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE), *self.args], stdout=subprocess.PIPE, stderr=err, text=True
        )
        err.close()
        first: list[str] = []
        threading.Thread(target=self._drain, args=(first,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not first and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not first:
            self.stop()
            raise BenchError(f"fake upstream did not start: {self._stderr()}")
        self.url = first[0].split()[-1]
        return self

    def _drain(self, first: list):
        for line in self.proc.stdout:
            if not first and line.startswith("listening on"):
                first.append(line.strip())

    def _stderr(self) -> str:
        path = self.folder / "fake.stderr"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cpu(self) -> float:
        return cpu_seconds(psutil.Process(self.proc.pid))

    def mark(self) -> int:
        """The number of log lines so far: requests after it belong to the next run."""
        if not self.log.exists():
            return 0
        with open(self.log, "rb") as f:
            return sum(1 for _ in f)

    def entries(self, start: int, end: int | None = None) -> list[dict]:
        if not self.log.exists():
            return []
        with open(self.log) as f:
            lines = f.readlines()[start:end]
        return [json.loads(line) for line in lines if line.strip()]


def fake_args(
    companies: int,
    latency_ms: float,
    edgar_rps: float,
    yahoo_rps: float,
    as_of: dt.date,
    new_filings: float | None,
    cache_dir: Path | None,
    filings_from: dt.date | None = None,
    bandwidth_mbps: float | None = None,
) -> list[str]:
    args = [
        "--companies",
        str(companies),
        "--latency-ms",
        str(latency_ms),
        "--block-seconds",
        str(BLOCK_SECONDS),
        "--edgar-rps",
        str(edgar_rps),
        "--yahoo-rps",
        str(yahoo_rps),
        "--as-of",
        as_of.isoformat(),
    ]
    if new_filings:
        args += ["--new-filings", str(new_filings)]
    if filings_from:
        args += ["--filings-from", filings_from.isoformat()]
    if bandwidth_mbps:
        args += ["--bandwidth-mbps", str(bandwidth_mbps)]
    if cache_dir is not None:
        args += ["--cache-dir", str(cache_dir)]
    return args


def listed_symbols(companies: int) -> int:
    """How many symbols the job will refresh when the fake serves `companies` synthetic ones:
    the fixtures' companies are listed too, and the job drops tickers that look like warrants
    or units, so the count is not `companies`."""
    fake = Fake(Path(tempfile.mkdtemp(prefix="bench-probe-")), ["--companies", str(companies)])
    try:
        fake.start()
        lists = {}
        for exchange in ("nyse", "nasdaq"):
            with urllib.request.urlopen(
                urllib.request.Request(
                    f"{fake.url}/raw.githubusercontent.com{LIST_PATH.format(exchange)}"
                )
            ) as answer:
                lists[exchange] = json.loads(answer.read())
    finally:
        fake.stop()
        shutil.rmtree(fake.folder, ignore_errors=True)
    return len(clean_symbols(lists))


def calibrate(stocks: int) -> tuple[int, int | None]:
    """(synthetic companies for the fake, --limit for the job or None) so that a run refreshes
    exactly `stocks` stocks; --limit only when the fixtures alone are more than that. Each
    extra company adds at most one symbol, so stepping by the shortfall never overshoots."""
    companies = max(stocks - 10, 0)
    while True:
        listed = listed_symbols(companies)
        if listed >= stocks:
            return companies, (stocks if listed > stocks else None)
        companies += stocks - listed


def warm_cache(cache_dir: Path, companies: int, as_of: dt.date, new_filings: float | None) -> None:
    """Have the fake build every body it will serve before any timed run (`--warm`)."""
    cmd = [
        sys.executable,
        str(FAKE),
        "--warm",
        "--companies",
        str(companies),
        "--cache-dir",
        str(cache_dir),
        "--seed",
        SEED,
        "--as-of",
        as_of.isoformat(),
    ]
    if new_filings:
        cmd += ["--new-filings", str(new_filings)]
    say(f"warming the fake's cache: {companies} companies as of {as_of} ...")
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"fake --warm failed: {result.stderr[-2000:]}")
    say(f"  {result.stdout.strip()} ({time.monotonic() - started:.0f} s)")


# ---------------------------------------------------------------- what the fake saw


def upstream_of(host: str) -> str:
    host = (host or "").split(":")[0]
    if host in EDGAR_HOSTS:
        return "edgar"
    if host.endswith("yahoo.com"):
        return "yahoo"
    return "other"


def busiest_second(times: list[float], limit: float) -> tuple[int, int]:
    """(most arrivals in any window (t-1, t], arrivals that made a window exceed `limit`),
    the window the fake judges by."""
    times = sorted(times)
    most = over = 0
    lo = 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        count = hi - lo + 1
        most = max(most, count)
        over += count > limit
    return most, over


def traffic(entries: list[dict], edgar_rps: float, yahoo_rps: float) -> dict:
    """Requests, refusals by the reason the fake logged (`why`), and the busiest seconds."""
    by = {"edgar": [], "yahoo": []}
    refused = Counter()
    docs = 0
    times = [e["t"] for e in entries]
    for e in entries:
        name = upstream_of(e.get("host"))
        if name not in by:
            continue
        by[name].append(e["t"])
        refused[name, e.get("status"), e.get("why")] += 1
        docs += "/api/xbrl/companyfacts/" in e.get("path", "")
    edgar_max, edgar_over = busiest_second(by["edgar"], edgar_rps)
    yahoo_max, yahoo_over = busiest_second(by["yahoo"], yahoo_rps)
    return {
        "edgar_requests": len(by["edgar"]),
        "yahoo_requests": len(by["yahoo"]),
        "edgar_403": refused["edgar", 403, "throttle"],
        "edgar_403_missing": refused["edgar", 403, "no_such_object"],
        "edgar_403_undeclared_ua": refused["edgar", 403, "undeclared_ua"],
        "yahoo_429": refused["yahoo", 429, "throttle"],
        "edgar_max_per_s": edgar_max,
        "yahoo_max_per_s": yahoo_max,
        "over_limit_arrivals": edgar_over + yahoo_over,
        "companyfacts_requests": docs,
        "first_t": min(times, default=None),
        "last_t": max(times, default=None),
        "edgar_span_s": max(by["edgar"]) - min(by["edgar"]) if by["edgar"] else 0.0,
    }


def diagnosis(run: dict, seen: dict, fake_cpu: float | None) -> dict:
    """Where the wall time went: before the first request, the EDGAR rate reached, after the
    last answer, and how busy the machine's cores were (job + fake)."""
    cores = os.cpu_count() or 1
    cpu = run["cpu_s"] + (fake_cpu or 0.0)
    span = seen["edgar_span_s"]
    return {
        "startup_s": round(seen["first_t"] - run["started"], 2) if seen["first_t"] else None,
        "tail_s": round(run["ended"] - seen["last_t"], 2) if seen["last_t"] else None,
        "edgar_span_s": round(span, 2),
        "edgar_rate": round(seen["edgar_requests"] / span, 1) if span else None,
        "job_cpu_s": round(run["cpu_s"], 1),
        "fake_cpu_s": None if fake_cpu is None else round(fake_cpu, 1),
        "cpu_busy": round(cpu / (run["wall"] * cores), 2) if run["wall"] else None,
        "rss_sampled_mb": None
        if run["rss_sampled_mb"] is None
        else round(run["rss_sampled_mb"], 1),
        "rss_report_mb": run["rss_report_mb"],
    }


def diagnosis_text(row: dict) -> str:
    if row.get("startup_s") is None:
        return ""
    return (
        f"first request after {row['startup_s']:g} s, EDGAR at {cell(row['edgar_rate'])}/s "
        f"over {row['edgar_span_s']:g} s, exit {row['tail_s']:g} s after the last answer; "
        f"CPU: job {row['job_cpu_s']:g} s + fake {cell(row['fake_cpu_s'])} s = "
        f"{row['cpu_busy']:.0%} of {os.cpu_count()} cores; "
        f"RSS sampled {cell(row['rss_sampled_mb'])}"
        f" MB, reported {cell(row['rss_report_mb'])} MB"
    )


def row_for(
    scenario: str,
    stocks: int,
    wall: float,
    seen: dict,
    edgar_rps: float,
    yahoo_rps: float,
    rss: float | None,
    exit_code,
    notes: str,
) -> dict:
    floors = {
        "edgar": seen["edgar_requests"] / edgar_rps,
        "yahoo": seen["yahoo_requests"] / yahoo_rps,
    }
    floor_by = max(floors, key=floors.get)
    floor = floors[floor_by]
    return {
        "scenario": scenario,
        "stocks": stocks,
        "wall_s": round(wall, 2),
        "floor_s": round(floor, 2),
        "floor_by": floor_by,
        "wall_over_floor": round(wall / floor, 2) if floor else math.inf,
        "edgar_per_stock": round(seen["edgar_requests"] / stocks, 2) if stocks else 0.0,
        "yahoo_per_stock": round(seen["yahoo_requests"] / stocks, 2) if stocks else 0.0,
        **{
            k: seen[k]
            for k in (
                "edgar_requests",
                "yahoo_requests",
                "edgar_403",
                "edgar_403_missing",
                "edgar_403_undeclared_ua",
                "yahoo_429",
                "edgar_max_per_s",
                "yahoo_max_per_s",
            )
        },
        "violations": seen["edgar_403"] + seen["yahoo_429"] + seen["over_limit_arrivals"],
        "peak_rss_mb": None if rss is None else round(rss, 1),
        "exit_code": exit_code,
        "notes": notes,
        "floors_s": {k: round(v, 2) for k, v in floors.items()},
        "companyfacts_requests": seen["companyfacts_requests"],
    }


# ---------------------------------------------------------------- running the job


class RssSampler(threading.Thread):
    """Peak resident memory of a process and its children, and the CPU time they used so far,
    sampled every 0.1 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.cpu = 0.0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
                self.cpu = max(self.cpu, sum(cpu_seconds(p) for p in procs))
            except psutil.Error:
                return
            self.done.wait(0.1)

    def stop(self) -> float | None:
        self.done.set()
        self.join()
        return self.peak / 2**20 if self.peak else None


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def write_config(
    folder: Path,
    fake_url: str,
    edgar_rps: float,
    yahoo_rps: float,
    workers: int,
    zip_from: int | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "processing": {"max_workers": workers},
        "rate_limiting": {
            "edgar_requests_per_second": edgar_rps,
            "yfinance_delay_seconds": 1.0 / yahoo_rps,
            # the fake blocks for BLOCK_SECONDS, not SEC's 10 minutes: a violation
            # is counted in the table instead of stalling the benchmark
            "edgar_cooldown_seconds": 2 * BLOCK_SECONDS,
        },
        "sources": {"sec_contact": CONTACT, "upstream_override": fake_url},
    }
    if zip_from is not None:
        config["sources"]["companyfacts_zip_from"] = zip_from
    path = folder / "batch_config.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def set_override(config: Path, fake_url: str) -> None:
    data = json.loads(config.read_text())
    data["sources"]["upstream_override"] = fake_url
    config.write_text(json.dumps(data, indent=2) + "\n")


def done_count(db: Path) -> int:
    """Stocks the newest run has finished, read without disturbing the writer (WAL, read-only)."""
    if not (db.exists() and db.with_name(db.name + "-wal").exists()):
        return 0
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(
                "SELECT count(*) FROM run_progress WHERE status = 'done' AND "
                "run_id = (SELECT max(id) FROM refresh_runs)"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def run_job(
    cmd: list[str],
    folder: Path,
    now: dt.datetime,
    kill_at: int | None = None,
    capture: bool = False,
) -> dict:
    """Run a command as of `now` to its end (or SIGKILL it once `kill_at` stocks are done);
    time it. With capture, its stdout is returned (the baseline prints its result there)."""
    reports = folder / "reports"
    before = set(reports.glob("batch_summary_*.json")) if reports.exists() else set()
    env = {
        **os.environ,
        "STOCK_REFRESH_CACHE_DIR": str(folder / "cache"),
        "STOCK_REFRESH_NOW": now.isoformat(),
    }
    out = open(folder / "job.out", "a")
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=folder, stdout=subprocess.PIPE if capture else out, stderr=out, text=True, env=env
    )
    sampler = RssSampler(proc.pid)
    sampler.start()
    killed_at = None
    if kill_at is not None:
        db = folder / "stocks.db"
        while proc.poll() is None:
            done = done_count(db)
            if done >= kill_at:
                proc.send_signal(signal.SIGKILL)
                killed_at = done
                break
            time.sleep(0.02)
    stdout = proc.communicate()[0]
    ended = time.monotonic()
    rss = sampler.stop()
    out.close()
    after = set(reports.glob("batch_summary_*.json")) if reports.exists() else set()
    new = sorted(after - before, key=lambda p: p.stat().st_mtime)
    report = json.loads(new[-1].read_text()) if new else None
    peaks = [v for v in (rss, (report or {}).get("peak_rss_mb")) if v is not None]
    return {
        "wall": ended - started,
        "started": started,
        "ended": ended,
        "cpu_s": sampler.cpu,
        "exit_code": proc.returncode,
        "report": report,
        "stdout": stdout,
        "peak_rss_mb": max(peaks) if peaks else None,
        "rss_sampled_mb": rss,
        "rss_report_mb": (report or {}).get("peak_rss_mb"),
        "killed_at": killed_at,
    }


# ---------------------------------------------------------------- dates


def parse_now(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(dt.UTC)


def night_after(night: dt.datetime, day: dt.date) -> dt.datetime:
    """`night` moved back by whole days to the night after `day` (in New York)."""
    return night - dt.timedelta(days=(night.astimezone(NEW_YORK).date() - day).days - 1)


def business_days_before(day: dt.date) -> tuple[dt.date, dt.date]:
    """(the business day before the one before `day`, the business day before `day`)."""

    def previous(d: dt.date) -> dt.date:
        d -= dt.timedelta(days=1)
        while not is_business_day(d):
            d -= dt.timedelta(days=1)
        return d

    filings_day = previous(day)
    return previous(filings_day), filings_day


def ny_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(NEW_YORK).date()


def at_ny_hour(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), NEW_YORK).astimezone(dt.UTC)


def night_figures(entries: list[dict], report: dict) -> dict:
    """What one night of the week asked and why: the SEC index requests (daily indexes and
    the quarter's listing), our companies the index showed filing, the profiles due, and
    whether any stock's SEC changes were unknown (an index that should exist was missing)."""
    reasons = report.get("stale_reasons") or {}

    def stocks(why: str) -> int:
        return sum(n for reason, n in reasons.items() if why in reason)

    return {
        # SEC's lists: daily indexes, the quarter's listing, the ticker list (for a stock
        # without a CIK, looked for at SEC on its profile night)
        "index_requests": sum(
            "/daily-index/" in e.get("path", "") or e.get("path") == "/files/company_tickers.json"
            for e in entries
        ),
        # Yahoo's statements, for the stocks SEC does not cover (on their profile night)
        "statements": sum("/fundamentals-timeseries/" in e.get("path", "") for e in entries),
        "quote_requests": sum("/v7/finance/quote" in e.get("path", "") for e in entries),
        "filed": stocks("new filing at SEC") + stocks("never refreshed") + stocks("forced"),
        "profiles_due": stocks("profile's night") + stocks("never refreshed"),
        "retried_whole": stocks("last attempt failed"),
        "sec_unknown": stocks("SEC changes unknown"),
        "market_due": stocks("market session closed") + stocks("never refreshed"),
        "index_notes": [n for n in report.get("notes", []) if "index" in n],
    }


# ---------------------------------------------------------------- scenarios


class Bench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.rows: list[dict] = []
        self.problems: list[str] = []
        help_text = fake_help()
        self.cache_dir = workdir / "fake-cache" if "--cache-dir" in help_text else None
        self.warm = self.cache_dir is not None and "--warm" in help_text
        self.warmed: set = set()
        self.night_now = args.now
        self.cold_day, self.filings_day = business_days_before(
            self.night_now.astimezone(NEW_YORK).date()
        )
        self.cold_now = night_after(self.night_now, self.cold_day)
        self.companies, self.limit = calibrate(args.stocks)
        self.week_rows: list[dict] = []

    def fake(
        self,
        name: str,
        as_of: dt.date,
        new_filings: float | None = None,
        filings_from: dt.date | None = None,
        archive: bool = True,
    ) -> Fake:
        a = self.args
        if self.warm and not filings_from and (as_of, new_filings) not in self.warmed:
            warm_cache(self.cache_dir, self.companies, as_of, new_filings)
            self.warmed.add((as_of, new_filings))
        return Fake(
            self.workdir / name / "fake",
            fake_args(
                self.companies,
                a.latency_ms,
                a.edgar_rps,
                a.yahoo_rps,
                as_of,
                new_filings,
                self.cache_dir,
                filings_from,
                a.bandwidth_mbps if archive else None,
            ),
        ).start(timeout=FAKE_START_SECONDS + self.companies * FAKE_START_PER_COMPANY)

    def fresh(self, name: str) -> Path:
        """An empty folder for a scenario (a kept DIR from an earlier run is cleared)."""
        folder = self.workdir / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def job_cmd(self, config: Path) -> list[str]:
        cmd = [sys.executable, str(JOB), "--config", str(config)]
        return cmd + ["--limit", str(self.limit)] if self.limit else cmd

    def run(self, fake: Fake, cmd: list[str], folder: Path, now: dt.datetime, **kwargs) -> dict:
        """run_job, plus the CPU time the fake spent meanwhile."""
        before = fake.cpu()
        run = run_job(cmd, folder, now, **kwargs)
        run["fake_cpu_s"] = fake.cpu() - before
        return run

    def job_row(
        self, scenario: str, stocks: int, fake: Fake, mark: int, run: dict, notes: str
    ) -> dict:
        a = self.args
        seen = traffic(fake.entries(mark), a.edgar_rps, a.yahoo_rps)
        row = row_for(
            scenario,
            stocks,
            run["wall"],
            seen,
            a.edgar_rps,
            a.yahoo_rps,
            run["peak_rss_mb"],
            run["exit_code"],
            notes,
        )
        report = run["report"] or {}
        row.update(diagnosis(run, seen, run.get("fake_cpu_s")))
        row["job_duration_s"] = report.get("duration_seconds")
        row["screener_ready_s"] = report.get("screener_ready_at")
        archive = report.get("companyfacts_zip") or {}
        row["archive_ready_s"] = archive.get("ready_at") if archive.get("used") else None
        row["statement_requests"] = sum(
            "/fundamentals-timeseries/" in e.get("path", "") for e in fake.entries(mark)
        )
        row["failed_stocks"] = report.get("failed")
        if scenario != "resume" and report.get("total_stocks") not in (None, stocks):
            self.problems.append(
                f"{scenario}: the job refreshed {report['total_stocks']} stocks, not {stocks}"
            )
        if report.get("failed"):
            row["notes"] = (row["notes"] + f"; {report['failed']} failed").lstrip("; ")
        row["notes"] += refusal_notes(row)
        return row

    def check_exit(self, scenario: str, run: dict, expected: int = 0) -> None:
        if run["exit_code"] != expected:
            self.problems.append(
                f"{scenario}: job exit code {run['exit_code']} (expected {expected})"
            )

    def cold(self, keep_for_night: bool) -> None:
        a = self.args
        folder = self.fresh("cold")
        fake = self.fake("cold", self.cold_day)
        try:
            config = write_config(folder, fake.url, a.edgar_rps, a.yahoo_rps, a.workers, a.zip_from)
            say(f"cold: {a.stocks} stocks, fake as of {self.cold_day}, job at {self.cold_now} ...")
            run = self.run(fake, self.job_cmd(config), folder, self.cold_now)
            self.check_exit("cold", run)
            self.rows.append(self.job_row("cold", a.stocks, fake, 0, run, f"as of {self.cold_day}"))
        finally:
            fake.stop()
        self.cold_config = config if keep_for_night else None

    def night(self) -> None:
        a = self.args
        folder = self.workdir / "cold"  # the night starts from what the cold run left
        self.fresh("night")
        fake = self.fake("night", self.filings_day, NEW_FILINGS)
        try:
            set_override(self.cold_config, fake.url)
            say(
                f"night: fake as of {self.filings_day} with {NEW_FILINGS:.0%} new 10-Qs, "
                f"job at {self.night_now} ..."
            )
            run = self.run(fake, self.job_cmd(self.cold_config), folder, self.night_now)
            self.check_exit("night", run)
            row = self.job_row("night", a.stocks, fake, 0, run, f"as of {self.filings_day}")
            row["notes"] += f"; companyfacts {row['companyfacts_requests']}"
            self.rows.append(row)
        finally:
            fake.stop()

    def week(self) -> None:
        """A cold start, then one night after another from the database the last night left:
        each night a fake as of the day before (SEC's history consistent from night to night,
        NEW_FILINGS of the companies filing on each SEC business day) and the job at 02:00 in
        New York."""
        a = self.args
        folder = self.fresh("week")
        cold_now = WEEK_START
        first_day = ny_date(cold_now) - dt.timedelta(days=1)
        config = None
        for night in range(a.nights + 1):
            now = at_ny_hour(ny_date(cold_now) + dt.timedelta(days=night), 2)
            as_of = ny_date(now) - dt.timedelta(days=1)
            name = "cold" if night == 0 else f"{ny_date(now):%a %m-%d}"
            # only a cold start takes SEC's archive: the nights' fakes need not build it
            fake = self.fake(
                f"week-{night}", as_of, NEW_FILINGS, first_day + dt.timedelta(days=1), night == 0
            )
            try:
                if config is None:
                    config = write_config(
                        folder, fake.url, a.edgar_rps, a.yahoo_rps, a.workers, a.zip_from
                    )
                set_override(config, fake.url)
                say(f"week: {name} night, fake as of {as_of}, job at {now:%Y-%m-%d %H:%M} UTC ...")
                run = self.run(fake, self.job_cmd(config), folder, now)
                self.check_exit(f"week {name}", run)
                row = self.job_row("week", a.stocks, fake, 0, run, f"as of {as_of}")
                row.update(night_figures(fake.entries(0), run["report"] or {}))
                row.update(night=name, as_of=as_of.isoformat())
                self.week_rows.append(row)
            finally:
                fake.stop()

    def resume(self) -> None:
        a = self.args
        folder = self.fresh("resume")
        fake = self.fake("resume", self.cold_day)
        try:
            config = write_config(folder, fake.url, a.edgar_rps, a.yahoo_rps, a.workers, a.zip_from)
            half = math.ceil(a.stocks / 2)
            say(f"resume: cold run killed at {half}/{a.stocks} done ...")
            killed = self.run(fake, self.job_cmd(config), folder, self.cold_now, kill_at=half)
            if killed["killed_at"] is None:
                self.problems.append(
                    f"resume: the run ended (exit {killed['exit_code']}) "
                    "before half the stocks were done; nothing was killed"
                )
                return
            time.sleep(1.1)  # in-flight answers land in the log
            mark = fake.mark()
            # the clock runs on from the killed run's start: its timestamps are all earlier
            later = self.cold_now + dt.timedelta(seconds=math.ceil(killed["wall"]) + 2)
            run = self.run(fake, self.job_cmd(config), folder, later)
            self.check_exit("resume", run)
            checks = self.resume_checks(folder / "stocks.db", run["report"] or {}, a.stocks)
            remaining = a.stocks - checks["done_by_killed"]
            row = self.job_row(
                "resume",
                remaining,
                fake,
                mark,
                run,
                f"killed at {killed['killed_at']}/{a.stocks}; " + checks["summary"],
            )
            row["resume_checks"] = checks
            self.rows.append(row)
        finally:
            fake.stop()

    def resume_checks(self, db_path: Path, report: dict, stocks: int) -> dict:
        conn = sqlite3.connect(db_path)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            runs = conn.execute("SELECT id, started_at FROM refresh_runs ORDER BY id").fetchall()
            killed_id, (resumed_id, resumed_started) = runs[0][0], runs[-1]
            done_killed = {
                r[0]
                for r in conn.execute(
                    "SELECT symbol FROM run_progress WHERE run_id = ? AND status = 'done'",
                    [killed_id],
                )
            }
            done_resumed = {
                r[0]
                for r in conn.execute(
                    "SELECT symbol FROM run_progress WHERE run_id = ? AND status = 'done'",
                    [resumed_id],
                )
            }
            saved_again = {
                r[0]
                for r in conn.execute(
                    "SELECT symbol FROM symbol_state WHERE last_success >= ?", [resumed_started]
                )
            }
        finally:
            conn.close()
        redone = sorted(done_killed & saved_again)
        total = len(done_killed | done_resumed)
        checks = {
            "resumed_from_run": report.get("resumed_from_run"),
            "killed_run": killed_id,
            "integrity_check": integrity,
            "done_by_killed": len(done_killed),
            "redone": redone,
            "done_total": total,
        }
        failed = []
        if checks["resumed_from_run"] != killed_id:
            failed.append(
                f"report's resumed_from_run is {checks['resumed_from_run']!r}, not {killed_id}"
            )
        if integrity != "ok":
            failed.append(f"integrity_check: {integrity}")
        if redone:
            failed.append(f"{len(redone)} stocks done twice: {', '.join(redone[:5])}")
        if total != stocks:
            failed.append(f"{total} of {stocks} stocks done after the resume")
        self.problems += [f"resume: {f}" for f in failed]
        checks["summary"] = (
            "; ".join(failed)
            if failed
            else f"resumed_from_run={killed_id}, integrity ok, 0 redone, {total}/{stocks} done"
        )
        return checks

    def baseline(self) -> None:
        a = self.args
        factor = a.edgar_rps / SEED_SEC_RPS
        stock_delay, batch_delay = SEED_STOCK_DELAY / factor, SEED_BATCH_DELAY / factor
        sample_n = min(a.baseline_stocks or a.stocks, a.stocks)
        folder = self.fresh("baseline")
        fake = self.fake("baseline", self.cold_day)
        try:
            config = write_config(folder, fake.url, a.edgar_rps, a.yahoo_rps, 1)
            say(
                f"baseline: seed design on {sample_n} of {a.stocks} stocks "
                f"(sleep {stock_delay:g} s per stock, {batch_delay:g} s per {SEED_BATCH_SIZE}) ..."
            )
            cmd = [
                sys.executable,
                str(BASELINE),
                "--config",
                str(config),
                "--limit",
                str(a.stocks),
                "--sample",
                str(sample_n),
                "--stock-delay",
                str(stock_delay),
                "--batch-size",
                str(SEED_BATCH_SIZE),
                "--batch-delay",
                str(batch_delay),
            ]
            run = self.run(fake, cmd, folder, self.cold_now, capture=True)
            self.check_exit("baseline", run)
            result = (
                json.loads(run["stdout"].strip().splitlines()[-1]) if run["stdout"].strip() else {}
            )
            seen = traffic(fake.entries(0), a.edgar_rps, a.yahoo_rps)
        finally:
            fake.stop()
        if not result:
            self.problems.append("baseline: no result printed")
            return
        n, m = a.stocks, result["stocks"]
        sleeps = lambda k: k * stock_delay + max(0, (k - 1) // SEED_BATCH_SIZE) * batch_delay  # noqa: E731
        startup = run["wall"] - result["loop_seconds"]
        per_stock = (result["loop_seconds"] - sleeps(m)) / m
        wall = startup + per_stock * n + sleeps(n)
        scaled = dict(seen)
        for key in ("edgar_requests", "yahoo_requests", "companyfacts_requests"):
            scaled[key] = round(seen[key] * n / m)
        note = f"measured {run['wall']:.1f} s on {m}, extrapolated" if m < n else "measured"
        if result.get("failed"):
            note += f"; {result['failed']} failed"
        row = row_for(
            "baseline",
            n,
            wall,
            scaled,
            a.edgar_rps,
            a.yahoo_rps,
            run["peak_rss_mb"],
            run["exit_code"],
            note,
        )
        row.update(
            edgar_max_per_s=seen["edgar_max_per_s"],
            yahoo_max_per_s=seen["yahoo_max_per_s"],
            sample_stocks=m,
            sample_wall_s=round(run["wall"], 2),
        )
        self.rows.append(row)


def refusal_notes(row: dict) -> str:
    """SEC's 403s that were no throttle, said apart (not violations)."""
    parts = []
    if row["edgar_403_missing"]:
        parts.append(f"{row['edgar_403_missing']} EDGAR 403 for objects that do not exist")
    if row["edgar_403_undeclared_ua"]:
        parts.append(f"{row['edgar_403_undeclared_ua']} EDGAR 403 for an undeclared user agent")
    return "".join(f"; {p}" for p in parts)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the table


def cell(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:g}"
    return str(value)


def table(rows: list[dict], edgar_rps: float, yahoo_rps: float) -> str:
    heads = (
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
        f"max/s edgar (<= {edgar_rps:g})",
        f"max/s yahoo (<= {yahoo_rps:g})",
        "violations",
        "peak RSS MB",
        "exit",
    )
    keys = (
        "scenario",
        "stocks",
        "wall_s",
        "floor_s",
        "floor_by",
        "wall_over_floor",
        "edgar_per_stock",
        "yahoo_per_stock",
        "edgar_403",
        "edgar_403_missing",
        "yahoo_429",
        "edgar_max_per_s",
        "yahoo_max_per_s",
        "violations",
        "peak_rss_mb",
        "exit_code",
    )
    body = [[cell(r.get(k)) for k in keys] for r in rows]
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)
    ]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(heads), line(["-" * w for w in widths])] + [line(b) for b in body]
    for r in rows:
        out.append(f"  {r['scenario']}: {r['notes']}")
        if diagnosis_text(r):
            out.append(f"  {' ' * len(r['scenario'])}  {diagnosis_text(r)}")
    return "\n".join(out)


PROJECTED_STOCKS = 5000


def projection(rows: list[dict], scale: float) -> str:
    """Each run's wall and floor at the real limits (times `scale`) for PROJECTED_STOCKS
    stocks: request counts grow with the stocks, and at the limits time grows with them (see
    projected_wall)."""
    lines = [
        f"projected at the real limits (scaled x{scale:g} above), {PROJECTED_STOCKS:,} stocks:"
    ]
    for row in rows:
        if not row.get("stocks"):
            continue
        factor = scale * PROJECTED_STOCKS / row["stocks"]
        wall = projected_wall(row, scale)
        ready = row.get("screener_ready_s")
        ready_text = (
            f"  screener-ready {projected_ready(row, scale) / 60:.1f} min"
            if ready is not None
            else ""
        )
        lines.append(
            f"  {row['scenario']:<9} wall {wall / 60:7.1f} min  "
            f"floor {row['floor_s'] * factor / 60:7.1f} min  (by {row['floor_by']}){ready_text}"
        )
    return "\n".join(lines)


def week_table(rows: list[dict], scale: float | None) -> str:
    """One line per night of the week scenario; with `scale`, its wall projected to real time
    and PROJECTED_STOCKS stocks (as `projection` does)."""
    head = (
        f"{'night':<10}{'as of':<12}{'wall_s':>8}{'edgar':>7}{'index':>7}{'yahoo':>7}"
        f"{'quotes':>7}{'stmts':>7}{'filed':>7}{'profiles':>9}{'unknown':>8}"
        + (f"{'projected':>11}" if scale else "")
        + "  notes"
    )
    lines = ["week: a cold start, then one night after another", head]
    for row in rows:
        projected = ""
        if scale:
            projected = f"{projected_wall(row, scale) / 60:>9.1f} m"
        lines.append(
            f"{row['night']:<10}{row['as_of']:<12}{row['wall_s']:>8.2f}{row['edgar_requests']:>7}"
            f"{row['index_requests']:>7}{row['yahoo_requests']:>7}{row['quote_requests']:>7}"
            f"{row['statements']:>7}"
            f"{row['filed']:>7}{row['profiles_due']:>9}{row['sec_unknown']:>8}{projected}  "
            + "; ".join(row["index_notes"])
        )
    return "\n".join(lines)


def projected_span(row: dict, seconds: float, scale: float) -> float:
    """A moment of a run (seconds from its start) projected as `projected_wall` projects its end."""
    factor = scale * PROJECTED_STOCKS / row["stocks"]
    startup = row.get("startup_s") or 0.0
    return startup + max(0.0, seconds - startup) * factor


def projected_ready(row: dict, scale: float) -> float:
    """The screener-ready moment projected. Once SEC's archive is in, the first phase is the
    job's helper process parsing the archive's members: CPU time, which time-scaling does not
    shrink, so that stretch grows with the stocks only (and it is longer here than at the real
    limits, where a tenth of the requests per second share the cores with it)."""
    ready, archive = row["screener_ready_s"], row.get("archive_ready_s")
    if archive is None or archive >= ready:
        return projected_span(row, ready, scale)
    parsing = (ready - archive) * PROJECTED_STOCKS / row["stocks"]
    return projected_span(row, archive, scale) + parsing


def projected_wall(row: dict, scale: float) -> float:
    """The time from the first request to the last answer grows with the stocks and at the
    limits with time; the start-up before it (imports, backup, symbol lists) and the end after
    it (report, dashboard) are counted once, unscaled."""
    factor = scale * PROJECTED_STOCKS / row["stocks"]
    fixed = (row.get("startup_s") or 0.0) + (row.get("tail_s") or 0.0)
    return fixed + (row["wall_s"] - fixed) * factor


def week_goals(rows: list[dict], stocks: int, scale: float | None) -> tuple[dict, list[str]]:
    """The nightly goals over the nights after the cold start."""
    nights = rows[1:]
    summary, lines = {}, []
    if not nights:
        return summary, lines

    def goal(name, value, ok, text):
        summary[name] = {"value": value, "met": ok}
        lines.append(f"{'met   ' if ok else 'MISSED'}  {text}")

    unknown = sum(r["sec_unknown"] for r in nights)
    goal(
        "week_sec_unknown",
        unknown,
        unknown == 0,
        f"week: stocks with SEC changes unknown {unknown} (0)",
    )
    over = [
        r["night"]
        for r in nights
        if r["edgar_requests"] > 5 * (r["filed"] + r["retried_whole"]) + r["index_requests"]
    ]
    goal(
        "week_edgar_per_filer",
        over,
        not over,
        "week: EDGAR requests <= 5 x companies filed + index requests every night"
        + (f" (over: {', '.join(over)})" if over else ""),
    )
    batches = -(-stocks // 50)
    cookie_and_crumb = 2
    over = [
        r["night"]
        for r in nights
        if r["yahoo_requests"]
        > batches + r["profiles_due"] + r["retried_whole"] + r["statements"] + cookie_and_crumb
    ]
    goal(
        "week_yahoo",
        over,
        not over,
        f"week: Yahoo requests <= {batches} quote batches + profiles due every night (+ cookie, "
        "crumb and the statements of stocks SEC does not cover)"
        + (f" (over: {', '.join(over)})" if over else ""),
    )
    walls = sorted(r["wall_s"] for r in nights)
    median = walls[len(walls) // 2]
    worst = max(nights, key=lambda r: r["wall_s"])
    ratio = round(worst["wall_s"] / median, 2)
    goal(
        "week_worst_over_median",
        ratio,
        ratio <= 1.3,
        f"week: slowest night ({worst['night']}) {ratio:g} x the median night <= 1.3",
    )
    if scale:
        typical = sorted(projected_wall(r, scale) for r in nights)[len(nights) // 2] / 60
        goal(
            "week_projected_night_min",
            round(typical, 1),
            typical <= 8,
            f"week: median night projected to {PROJECTED_STOCKS:,} stocks {typical:.1f} min <= 8",
        )
    return summary, lines


def goals(rows: list[dict], scale: float | None = None) -> tuple[dict, list[str]]:
    """The issue's goals, as far as this run shows them."""
    by = {r["scenario"]: r for r in rows}
    cold, night, base = by.get("cold"), by.get("night"), by.get("baseline")
    summary, lines = {}, []

    def goal(name, value, ok, text):
        summary[name] = {"value": value, "met": ok}
        lines.append(f"{'met   ' if ok else 'MISSED'}  {text}")

    if cold:
        goal(
            "cold_wall_over_floor",
            cold["wall_over_floor"],
            cold["wall_over_floor"] <= 1.10,
            f"cold wall/floor {cell(cold['wall_over_floor'])} <= 1.10",
        )
        cookie_and_crumb = 2
        yahoo = (cold["yahoo_requests"] - cold["statement_requests"] - cookie_and_crumb) / max(
            cold["stocks"], 1
        )
        goal(
            "cold_yahoo_per_stock",
            round(yahoo, 3),
            yahoo <= 1.05,
            f"cold Yahoo requests per stock {yahoo:.3f} <= 1.05 (without the statements of "
            f"stocks SEC covers too few years of: {cold['statement_requests']})",
        )
    if cold and scale:
        wall = projected_wall(cold, scale) / 60
        goal(
            "cold_projected_min", round(wall, 1), wall <= 50, f"cold projected {wall:.1f} min <= 50"
        )
        if cold.get("screener_ready_s") is not None:
            ready = projected_ready(cold, scale) / 60
            goal(
                "cold_screener_ready_min",
                round(ready, 1),
                ready <= 10,
                f"cold screener-ready projected {ready:.1f} min <= 10",
            )
    if cold and base:
        ratio = round(base["wall_s"] / cold["wall_s"], 2)
        goal("baseline_over_cold", ratio, ratio >= 8, f"baseline/cold {ratio:g}x >= 8x")
    if cold and night:
        edgar = round(night["edgar_requests"] / max(cold["edgar_requests"], 1), 4)
        wall = round(night["wall_s"] / cold["wall_s"], 4)
        goal(
            "night_edgar_share",
            edgar,
            edgar <= 0.05,
            f"night EDGAR requests {edgar:.1%} of cold's <= 5%",
        )
        goal("night_wall_share", wall, wall <= 0.10, f"night wall {wall:.1%} of cold's <= 10%")
    violations = sum(r["violations"] for r in rows)
    goal(
        "violations", violations, violations == 0, f"limit violations at the fake: {violations} (0)"
    )
    rss = [
        r["peak_rss_mb"]
        for r in rows
        if r["peak_rss_mb"] is not None and r["scenario"] != "baseline"
    ]
    if rss:
        goal("peak_rss_mb", max(rss), max(rss) < 300, f"peak RSS {max(rss):g} MB < 300 MB")
    return summary, lines


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--stocks", type=int, default=1000, help="stocks per run (default 1000)")
    ap.add_argument(
        "--edgar-rps", type=float, default=100.0, help="EDGAR limit at the fake and in the config"
    )
    ap.add_argument(
        "--yahoo-rps", type=float, default=100.0, help="Yahoo limit at the fake and in the config"
    )
    ap.add_argument(
        "--latency-ms", type=float, default=200.0, help="the fake's latency per request"
    )
    ap.add_argument("--workers", type=int, default=64, help="processing.max_workers (default 64)")
    ap.add_argument(
        "--real-limits",
        type=float,
        default=None,
        metavar="SCALE",
        help="the shipped config's limits and workers, times SCALE (overrides the three above)",
    )
    ap.add_argument(
        "--scenarios",
        default="cold,night,resume",
        help="comma list of cold, night, resume, week",
    )
    ap.add_argument(
        "--user-mbps",
        type=float,
        default=USER_MBPS,
        help=f"with --real-limits: the user's line, for SEC's bulk archive (default {USER_MBPS:g})",
    )
    ap.add_argument(
        "--nights",
        type=int,
        default=WEEK_NIGHTS,
        help=f"nights after the week scenario's cold start (default {WEEK_NIGHTS})",
    )
    ap.add_argument("--baseline", action="store_true", help="also run the seed-design baseline")
    ap.add_argument(
        "--now",
        default=NIGHT,
        help=f"when the night run starts, ISO-8601 with its UTC offset (default {NIGHT})",
    )
    ap.add_argument(
        "--baseline-stocks",
        type=int,
        default=100,
        help="stocks the baseline really fetches; its time is extrapolated (default 100)",
    )
    ap.add_argument(
        "--keep", type=Path, default=None, help="keep databases, logs and reports in DIR"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the table as JSON to FILE")
    args = ap.parse_args(argv)
    if args.real_limits is not None:
        if args.real_limits <= 0:
            ap.error("--real-limits: expected a number above 0")
        shipped = json.loads((ROOT / "batch_config.json").read_text())
        args.edgar_rps = shipped["rate_limiting"]["edgar_requests_per_second"] * args.real_limits
        args.yahoo_rps = args.real_limits / shipped["rate_limiting"]["yfinance_delay_seconds"]
        args.workers = shipped["processing"]["max_workers"]
        # time itself is scaled: the fake answers SCALE times sooner than the upstream would,
        # sends the bulk archive SCALE times faster than the user's line, and the job takes the
        # archive for as many of these stocks as it would for PROJECTED_STOCKS of them
        args.real_latency_ms = args.latency_ms
        args.latency_ms /= args.real_limits
        args.bandwidth_mbps = args.user_mbps * args.real_limits
        shipped_zip_from = shipped["sources"].get("companyfacts_zip_from", 1000)
        args.zip_from = max(1, round(shipped_zip_from * args.stocks / PROJECTED_STOCKS))
    else:
        args.bandwidth_mbps = args.zip_from = None
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - {"cold", "night", "resume", "week"}
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.stocks < 2:
        ap.error("--stocks must be at least 2")
    try:
        args.now = parse_now(args.now)
    except ValueError:
        ap.error(f"--now: expected an ISO-8601 time with its UTC offset, found {args.now!r}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir = args.keep.resolve()
    else:
        workdir = Path(tempfile.mkdtemp(prefix="stock-refresh-bench-"))
    bench = Bench(args, workdir)
    try:
        if "cold" in args.scenarios or "night" in args.scenarios:
            bench.cold(keep_for_night="night" in args.scenarios)
        if "night" in args.scenarios and not bench.problems:
            bench.night()
        if "resume" in args.scenarios:
            bench.resume()
        if "week" in args.scenarios:
            bench.week()
        if args.baseline:
            bench.baseline()
    except BenchError as error:
        bench.problems.append(str(error))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    summary, goal_lines = goals(bench.rows, args.real_limits)
    cores = os.cpu_count()
    print(table(bench.rows, args.edgar_rps, args.yahoo_rps))
    latency = f"latency {args.latency_ms:g} ms"
    if args.real_limits:
        latency += f" (the upstreams' {args.real_latency_ms:g} ms, time-scaled)"
    print(
        f"cores: {cores}; {latency}; workers {args.workers}; "
        f"fake as of {bench.cold_day} (cold) / {bench.filings_day} (night); "
        f"job at {bench.cold_now:%Y-%m-%d %H:%M} / {bench.night_now:%Y-%m-%d %H:%M} UTC; "
        f"fake: {bench.companies} synthetic companies, cache "
        f"{'warmed' if bench.warm else 'on' if bench.cache_dir else 'off (not supported)'}"
    )
    ratio = summary.get("baseline_over_cold", {}).get("value")
    if ratio is not None:
        print(f"baseline / cold: {ratio:g}x")
    if args.real_limits and bench.rows:
        print(projection(bench.rows, args.real_limits))
    if bench.week_rows:
        print(week_table(bench.week_rows, args.real_limits))
        week_summary, week_lines = week_goals(bench.week_rows, args.stocks, args.real_limits)
        summary.update(week_summary)
        goal_lines += week_lines
    print("\n".join(goal_lines))
    for problem in bench.problems:
        print(f"PROBLEM: {problem}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "columns": list(COLUMNS),
                    "rows": bench.rows,
                    "week": bench.week_rows,
                    "cores": cores,
                    "baseline_over_cold": ratio,
                    "goals": summary,
                    "problems": bench.problems,
                    "settings": {
                        "stocks": args.stocks,
                        "edgar_rps": args.edgar_rps,
                        "yahoo_rps": args.yahoo_rps,
                        "latency_ms": args.latency_ms,
                        "workers": args.workers,
                        "cold_as_of": bench.cold_day.isoformat(),
                        "night_as_of": bench.filings_day.isoformat(),
                        "cold_now": bench.cold_now.isoformat(),
                        "night_now": bench.night_now.isoformat(),
                    },
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    return 1 if bench.problems else 0


if __name__ == "__main__":
    sys.exit(main())
