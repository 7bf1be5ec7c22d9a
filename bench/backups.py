"""Restore points against the original full copies, on a generated screener database.

    python bench/backups.py [--companies 3500] [--nights 7] [--changed 0.05] [--keep DIR]

Builds a database with the job's schema (stocks, stock_metrics, earnings_history with 21 years of
annual and quarterly rows per company, filing_sections with the text of eight sections per
company: about 207 MB at 3,500 companies) in a temporary folder, then per night: new prices for
every stock, and for a share of the companies (chosen so that about --changed of the pages
change) a new filing (new section texts, revised earnings rows); then a restore point, timed,
and the original design's full copy (bench/backup_baseline.py) of the same database, timed.

Printed and checked: the space of all the points against one compressed full point (and against
`zstd -3` of the database); each point restored (into a fresh file) equals the database of its
night in every table, row by row, and passes integrity_check; the backups' time against the full
copies' (all nights, incremental nights, full-point nights: sums of the same nights); a restore
of the newest point over the live database against the mean full copy; kill -9 in the middle of
a backup and of a restore leaves every point and the live database as they were. Exit status 0
when every goal is met. Everything written is deleted unless --keep names a folder to keep it in.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import backup_baseline  # noqa: E402
from stock_refresh import points, store  # noqa: E402
from stock_refresh.backup import backup_database  # noqa: E402
from stock_refresh.restore import list_points, restore  # noqa: E402

WORDS = (
    "revenue growth margin customers products services market risk competition regulatory "
    "interest rate currency supply chain manufacturing software cloud segment operating income "
    "liquidity capital resources cash flows debt covenant credit facility acquisition goodwill "
    "impairment tax litigation cybersecurity personnel inflation demand pricing inventory the of "
    "and to in our we may could adversely affect results fiscal year quarter compared increase"
).split()
SECTIONS = ("business", "risk_factors", "mda", "market_risk")
PERIODS = ("annual", "Q1", "Q2", "Q3", "Q4")
YEARS = range(2005, 2026)
TABLES = ("stocks", "stock_metrics", "earnings_history", "sec_filings", "filing_sections")
NOW = "2026-11-29T07:00:00+00:00"


def _text(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randrange(200, 900)))


def _earnings(rng: random.Random, symbol: str, year: int, period: str, accession: str) -> tuple:
    return (
        symbol,
        year,
        period,
        f"{year}-12-31",
        round(rng.gauss(2, 1), 2),
        rng.randrange(10**6, 10**10),
        rng.randrange(-(10**8), 10**9),
        rng.randrange(10**6, 10**9),
        rng.randrange(10**6, 10**10),
        rng.randrange(0, 10**9),
        round(rng.random() * 3, 3),
        "edgar",
        0,
        accession,
        NOW,
    )


EARNINGS_SQL = (
    "INSERT INTO earnings_history (symbol, year, period, fiscal_end, "
    "earnings_per_share, revenue, net_income, diluted_shares, shareholder_equity, total_debt, "
    "debt_to_equity, source, derived, accession, last_updated) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (symbol, year, period) DO UPDATE SET earnings_per_share = excluded."
    "earnings_per_share, revenue = excluded.revenue, net_income = excluded.net_income, "
    "accession = excluded.accession"
)
SECTION_SQL = (
    "INSERT OR REPLACE INTO filing_sections (id, symbol, section_name, content, filing_type, "
    "filing_date, accession_number, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _file(conn, rng: random.Random, index: int, symbol: str, filing: int) -> None:
    """One filing of a company: its sections' texts and its newest earnings rows, replaced."""
    accession = f"{index:010d}-{filing:02d}-{rng.randrange(10**6):06d}"
    for n, (kind, section) in enumerate((k, s) for k in ("10-K", "10-Q") for s in SECTIONS):
        row_id = index * 8 + n + 1
        conn.execute(
            SECTION_SQL,
            (row_id, symbol, section, _text(rng), kind, "2026-11-27", accession, NOW),
        )
    years = YEARS if filing == 0 else YEARS[-2:]
    for year in years:
        for period in PERIODS:
            conn.execute(EARNINGS_SQL, _earnings(rng, symbol, year, period, accession))
    conn.execute(
        "INSERT OR REPLACE INTO sec_filings (symbol, filing_type, filing_date, report_date, "
        "accession_number, is_amendment, last_updated) VALUES (?, '10-Q', ?, ?, ?, 0, ?)",
        (symbol, "2026-11-27", "2026-09-30", accession, NOW),
    )


def make_database(path: Path, companies: int, seed: int = 1) -> None:
    """A screener database with the job's own schema and realistic rows, in WAL mode."""
    store.open_db(path).close()
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    with conn:
        for index in range(companies):
            symbol = f"S{index:05d}"
            conn.execute(
                "INSERT INTO stocks (symbol, company_name, exchange, sector, industry, country, "
                "cik, last_updated) VALUES (?, ?, 'NYSE', 'Technology', 'Software', 'US', ?, ?)",
                (symbol, f"Company {index} Inc", index, NOW),
            )
            conn.execute(
                "INSERT INTO stock_metrics (symbol, price, pe_ratio, market_cap, last_updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (symbol, rng.random() * 100, rng.random() * 30, rng.random() * 1e10, NOW),
            )
            _file(conn, rng, index, symbol, 0)
    conn.close()


def night(path: Path, rng: random.Random, filers: float, number: int) -> None:
    """One night's refresh: every price, and a new filing for a share of the companies."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE stock_metrics SET price = price * (0.95 + random() % 100 / 1000.0)")
        companies = conn.execute("SELECT count(*) FROM stocks").fetchone()[0]
        for index in rng.sample(range(companies), max(1, round(companies * filers))):
            _file(conn, rng, index, f"S{index:05d}", number)
    conn.close()


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Per table: the row count and a digest of every row in key order (row-by-row equality)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    result = {}
    try:
        for table in TABLES:
            digest, count = hashlib.sha256(), 0
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                digest.update(repr(row).encode())
                count += 1
            result[table] = (count, digest.hexdigest())
    finally:
        conn.close()
    return result


def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _changed_share(old: bytes, new: bytes) -> float:
    """Pages of `new` that differ from `old` (new pages included), from their hashes."""
    size = points.HASH_SIZE
    count = len(new) // size
    same = sum(
        1 for i in range(0, min(len(old), len(new)), size) if old[i : i + size] == new[i : i + size]
    )
    return (count - same) / count


def _zstd3_size(path: Path) -> int:
    """What `zstd -3` makes of the database file (streamed: the file is not held in memory)."""
    counter = _Counter()
    with open(path, "rb") as source:
        zstandard.ZstdCompressor(level=3).copy_stream(source, counter)
    return counter.size


class _Counter:
    size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def kill_midway(code: str, seconds: float) -> bool:
    """Run `code` in a fresh interpreter, SIGKILL it `seconds` after it starts; killed in time?"""
    child = subprocess.Popen(
        [sys.executable, "-c", f"print('started', flush=True); {code}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    child.stdout.readline()
    time.sleep(seconds)
    child.send_signal(signal.SIGKILL)
    return child.wait() == -signal.SIGKILL


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=3500)
    parser.add_argument("--nights", type=int, default=7)
    parser.add_argument("--changed", type=float, default=0.05, help="share of pages per night")
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-backups-", dir=args.keep))
    try:
        return run(work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work)


def run(work: Path, args) -> int:
    db, backups, copies = work / "stocks.db", work / "backups", work / "full-copies"
    _, built = timed(make_database, db, args.companies)
    size = db.stat().st_size
    print(f"database: {size / 1e6:.1f} MB, {size // 4096} pages, built in {built:.1f} s")
    rng = random.Random(7)
    # a filing changes about 12 pages (eight section texts, earnings rows, their indexes)
    filers = args.changed * (size / 4096) / args.companies / 12
    start = datetime(2026, 11, 23, 2, 0, 0)
    states, backup_s, copy_s, changed = [], [], [], []
    for n in range(args.nights):
        if n:
            night(db, rng, filers, n)
        states.append(fingerprint(db))
        made, seconds = timed(backup_database, db, backups, args.nights, start + timedelta(n))
        backup_s.append(seconds)
        shutil.rmtree(copies, ignore_errors=True)
        _, seconds = timed(backup_baseline.backup_database, db, copies, 1, start + timedelta(n))
        copy_s.append(seconds)
        print(
            f"night {n + 1}: {made.kind:<11} {made.stored_pages:>6} of {made.page_count} pages "
            f"{made.size_bytes / 1e6:6.1f} MB in {backup_s[-1]:.2f} s"
            f"; full copy {copy_s[-1]:.2f} s"
        )
    found = points.find_points(backups)
    hashes = [points.read_header(p.path).hashes for p in found]
    changed = [_changed_share(old, new) for old, new in zip(hashes, hashes[1:], strict=False)]
    full_size = found[0].path.stat().st_size
    all_size = points.total_bytes(backups)
    restored_ok = []
    for point, state in zip(found, states, strict=True):
        target = work / f"restored-{point.stamp}.db"
        restore(target, backups, point.name, datetime.now())
        restored_ok.append(fingerprint(target) == state and integrity(target) == "ok")
        target.unlink()
    _, restore_s = timed(restore, db, backups, None, datetime.now())
    for aside in work.glob("stocks.db.before-restore-*"):
        aside.unlink()
    before = {p.name: p.path.read_bytes() for p in found}
    live = fingerprint(db)

    code = (
        "from datetime import datetime; from stock_refresh.backup import backup_database; "
        f"backup_database({str(db)!r}, {str(backups)!r}, {args.nights}, datetime(2027, 1, 1))"
    )
    killed = kill_midway(code, min(backup_s) / 2)
    code = (
        "from datetime import datetime; from pathlib import Path; "
        "from stock_refresh.restore import restore; "
        f"restore(Path({str(db)!r}), Path({str(backups)!r}), {found[0].name!r}, datetime.now())"
    )
    killed = kill_midway(code, restore_s / 2) and killed
    after = {p.name: p.path.read_bytes() for p in points.find_points(backups)}
    killed_ok = (
        killed
        and after == before
        and all(item.verified == "ok" for item in list_points(backups))
        and fingerprint(db) == live
        and integrity(db) == "ok"
    )

    zstd3 = _zstd3_size(db)
    ratio_space = all_size / full_size
    full_nights = [n for n, p in enumerate(found) if p.kind == "full"]
    incr_nights = [n for n in range(len(found)) if n not in full_nights]

    def ratio(nights):
        return sum(backup_s[n] for n in nights) / sum(copy_s[n] for n in nights)

    mean_copy = sum(copy_s) / len(copy_s)
    rows = [
        ("database", f"{size / 1e6:.1f} MB", "", ""),
        ("pages changed per night", f"{100 * sum(changed) / len(changed):.1f} %", "", ""),
        (f"original: {args.nights} full copies", f"{args.nights * size / 1e6:.1f} MB", "", ""),
        ("one compressed full point (zstd 1)", f"{full_size / 1e6:.1f} MB", "", ""),
        ("the database by zstd -3", f"{zstd3 / 1e6:.1f} MB", "", ""),
        ("all points", f"{all_size / 1e6:.1f} MB", f"{ratio_space:.2f} x full", ratio_space <= 1.5),
        ("all points against zstd -3", "", f"{all_size / zstd3:.2f} x", all_size / zstd3 <= 1.5),
        (
            "each point restores row by row",
            f"{sum(restored_ok)} of {len(found)}",
            "",
            all(restored_ok),
        ),
        ("full copy (original), mean", f"{mean_copy:.2f} s", "", ""),
        (
            "backup, all nights",
            f"{sum(backup_s):.2f} s",
            f"{ratio(range(len(found))):.2f} x copy",
            ratio(range(len(found))) <= 1,
        ),
        (
            "backup, incremental nights",
            f"{sum(backup_s[n] for n in incr_nights):.2f} s",
            f"{ratio(incr_nights):.2f} x copy",
            ratio(incr_nights) <= 1,
        ),
        (
            "backup, full-point nights",
            f"{sum(backup_s[n] for n in full_nights):.2f} s",
            f"{ratio(full_nights):.2f} x copy",
            ratio(full_nights) <= 1,
        ),
        (
            "restore of the newest",
            f"{restore_s:.2f} s",
            f"{restore_s / mean_copy:.2f} x copy",
            restore_s / mean_copy <= 2,
        ),
        (
            "kill -9 mid backup and mid restore",
            "points and db intact" if killed_ok else "DAMAGED",
            "",
            killed_ok,
        ),
    ]
    print()
    print(f"{'figure':<36} {'value':>22} {'ratio':>13}  goal")
    for label, value, times, met in rows:
        goal = "" if met == "" else ("met" if met else "NOT MET")
        print(f"{label:<36} {value:>22} {times:>13}  {goal}")
    return 0 if all(met for *_, met in rows if met != "") else 1


if __name__ == "__main__":
    sys.exit(main())
