"""SQLite storage: schema migrations, per-stock saves, symbol lists, runs and resume state.

This is the only module that writes the screener's database. The tables the screener reads keep
its names and units (see the README, "The data"); everything else is bookkeeping for a correct,
resumable job.

Rules every write follows:
- one transaction per call (`BEGIN IMMEDIATE`, so a writer waits on the busy timeout up front
  instead of failing to upgrade a read lock later): a stock's rows land all together or not at all;
- a NULL never overwrites a known value: None values are left out of every upsert;
- timestamps are passed in by the caller (UTC ISO-8601), never read from the clock here.

Threading: a Database from `open_db` may be handed to another thread (check_same_thread=False),
but it must be used by one thread at a time. The runner's single writer thread does every call;
fetch workers never touch it. Other processes (the screener) may read and write concurrently:
WAL lets them read during our transactions and the 30 s busy timeout absorbs their writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sqlite_utils

from .files import owner_only_dir
from .forms import SECTION_FORMS
from .models import Known, StockData

KINDS = ("market", "profile", "fundamentals", "filings", "sections")
RUN_STATUSES = ("running", "completed", "aborted", "failed")
RUN_COUNTS = ("total_stocks", "successful", "failed", "skipped")
KEEP_SYMBOL_LISTS = 5
BUSY_TIMEOUT_MS = 30_000
MAX_ERROR_CHARS = 2000


class StoreError(Exception):
    """The database cannot be used by this program (for example a newer schema)."""


# Screener tables: column -> declaration, table constraints, and the key upserts match on.
# Kept as data so that a screener database created by the earlier app can be brought up to
# date column by column instead of being recreated.
SCREENER_TABLES: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    "stocks": (
        {
            "symbol": "TEXT PRIMARY KEY NOT NULL",
            "company_name": "TEXT",
            "exchange": "TEXT",
            "sector": "TEXT",
            "industry": "TEXT",
            "country": "TEXT",
            "ipo_year": "INTEGER",
            "cik": "INTEGER",
            "last_updated": "TEXT",
        },
        (),
        ("symbol",),
    ),
    "stock_metrics": (
        {
            "symbol": "TEXT PRIMARY KEY NOT NULL REFERENCES stocks(symbol)",
            "price": "REAL",
            "pe_ratio": "REAL",
            "market_cap": "REAL",
            "debt_to_equity": "REAL",
            "institutional_ownership": "REAL",
            "revenue": "REAL",
            "dividend_yield": "REAL",
            "last_updated": "TEXT",
        },
        (),
        ("symbol",),
    ),
    "earnings_history": (
        {
            "id": "INTEGER PRIMARY KEY",
            "symbol": "TEXT NOT NULL REFERENCES stocks(symbol)",
            "year": "INTEGER NOT NULL",
            "period": "TEXT NOT NULL DEFAULT 'annual' "
            "CHECK (period IN ('annual', 'Q1', 'Q2', 'Q3', 'Q4'))",
            "fiscal_end": "TEXT",
            "earnings_per_share": "REAL",
            "revenue": "REAL",
            "net_income": "REAL",
            "diluted_shares": "REAL",
            "shareholder_equity": "REAL",
            "total_debt": "REAL",
            "total_liabilities": "REAL",
            "operating_cash_flow": "REAL",
            "capital_expenditures": "REAL",
            "free_cash_flow": "REAL",
            "dividends_per_share": "REAL",
            "shares_outstanding": "REAL",
            "debt_to_equity": "REAL",
            "source": "TEXT CHECK (source IN ('edgar', 'yfinance'))",
            "derived": "INTEGER CHECK (derived IN (0, 1))",
            "accession": "TEXT",
            "last_updated": "TEXT",
        },
        ("UNIQUE (symbol, year, period)",),
        ("symbol", "year", "period"),
    ),
    "sec_filings": (
        {
            "id": "INTEGER PRIMARY KEY",
            "symbol": "TEXT NOT NULL REFERENCES stocks(symbol)",
            "filing_type": "TEXT",
            "filing_date": "TEXT",
            "report_date": "TEXT",
            "document_url": "TEXT",
            "accession_number": "TEXT NOT NULL",
            "is_amendment": "INTEGER CHECK (is_amendment IN (0, 1))",
            "last_updated": "TEXT",
        },
        ("UNIQUE (symbol, accession_number)",),
        ("symbol", "accession_number"),
    ),
    "filing_sections": (
        {
            "id": "INTEGER PRIMARY KEY",
            "symbol": "TEXT NOT NULL REFERENCES stocks(symbol)",
            "section_name": "TEXT NOT NULL",
            "content": "TEXT",
            "filing_type": "TEXT NOT NULL",
            "filing_date": "TEXT",
            "accession_number": "TEXT",
            "last_updated": "TEXT",
        },
        ("UNIQUE (symbol, section_name, filing_type)",),
        ("symbol", "section_name", "filing_type"),
    ),
}

SCREENER_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_sec_filings_symbol_type_date "
    "ON sec_filings (symbol, filing_type, filing_date)",
    "CREATE INDEX IF NOT EXISTS idx_stocks_cik ON stocks (cik)",
)

JOB_TABLES = (
    """CREATE TABLE IF NOT EXISTS symbol_lists (
        id INTEGER PRIMARY KEY,
        fetched_at TEXT NOT NULL,
        source TEXT NOT NULL,
        count INTEGER NOT NULL,
        symbols TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS symbol_state (
        symbol TEXT PRIMARY KEY NOT NULL,
        cik INTEGER,
        last_attempt TEXT,
        last_success TEXT,
        last_error_type TEXT,
        last_error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        market_refreshed_at TEXT,
        profile_refreshed_at TEXT,
        fundamentals_refreshed_at TEXT,
        filings_refreshed_at TEXT,
        sections_refreshed_at TEXT,
        latest_filing_accession TEXT,
        latest_filing_date TEXT,
        sections_accession_10k TEXT,
        sections_accession_10q TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS refresh_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running'
            CHECK (status IN ('running', 'completed', 'aborted', 'failed')),
        exit_code INTEGER,
        total_stocks INTEGER,
        successful INTEGER,
        failed INTEGER,
        skipped INTEGER,
        abort_reason TEXT,
        report_path TEXT,
        resumed_from INTEGER REFERENCES refresh_runs(id)
    )""",
    """CREATE TABLE IF NOT EXISTS run_progress (
        run_id INTEGER NOT NULL REFERENCES refresh_runs(id) ON DELETE CASCADE,
        symbol TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, symbol)
    )""",
    "CREATE INDEX IF NOT EXISTS idx_refresh_runs_status ON refresh_runs (status, id)",
    """CREATE TABLE IF NOT EXISTS job_state (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT
    )""",
)


def _create_table_sql(name: str, columns: dict[str, str], constraints: Iterable[str]) -> str:
    parts = [f"{col} {decl}" for col, decl in columns.items()] + list(constraints)
    return f"CREATE TABLE {name} (\n    " + ",\n    ".join(parts) + "\n)"


def _has_unique(db: sqlite_utils.Database, table: str, columns: tuple[str, ...]) -> bool:
    """Whether an upsert can use ON CONFLICT(columns) on this table."""
    return any(
        index.unique and not index.partial and tuple(index.columns) == columns
        for index in db.table(table).indexes
    )


def _rebuild_legacy_earnings(db: sqlite_utils.Database) -> None:
    """Replace an earlier UNIQUE(symbol, year) table, under which quarterly rows would
    overwrite the annual row, by the current one; keeps every row and every extra column."""
    columns, constraints, _ = SCREENER_TABLES["earnings_history"]
    old = {c.name: c.type for c in db.table("earnings_history").columns}
    extra = {name: decl for name, decl in old.items() if name not in columns}
    db.execute(_create_table_sql("_earnings_history_new", {**columns, **extra}, constraints))
    copied = [name for name in old if name in columns or name in extra]
    select = ["COALESCE(period, 'annual')" if name == "period" else name for name in copied]
    db.execute("INSERT OR IGNORE INTO stocks (symbol) SELECT DISTINCT symbol FROM earnings_history")
    db.execute(
        f"INSERT INTO _earnings_history_new ({', '.join(copied)}) "
        f"SELECT {', '.join(select)} FROM earnings_history"
    )
    db.execute("DROP TABLE earnings_history")
    db.execute("ALTER TABLE _earnings_history_new RENAME TO earnings_history")


def _migration_1_screener_tables(db: sqlite_utils.Database) -> None:
    """The tables the screener reads; adopts a database the screener app created earlier."""
    for name, (columns, constraints, key) in SCREENER_TABLES.items():
        if not db.table(name).exists():
            db.execute(_create_table_sql(name, columns, constraints))
            continue
        if name == "earnings_history" and not _has_unique(db, name, key):
            _rebuild_legacy_earnings(db)
            continue
        existing = set(db.table(name).columns_dict)
        for col, decl in columns.items():
            if col not in existing:
                db.execute(f"ALTER TABLE {name} ADD COLUMN {col} {decl}")
        if not _has_unique(db, name, key):
            db.execute(
                f"CREATE UNIQUE INDEX ux_{name}_{'_'.join(key)} ON {name} ({', '.join(key)})"
            )
    for sql in SCREENER_INDEXES:
        db.execute(sql)


def _migration_2_job_tables(db: sqlite_utils.Database) -> None:
    """Symbol lists, per-symbol state, runs, per-run progress (resume) and the job's cursors."""
    for sql in JOB_TABLES:
        db.execute(sql)


DATA_CHECKS = """CREATE TABLE IF NOT EXISTS data_checks (
    id INTEGER PRIMARY KEY,
    symbol TEXT NOT NULL REFERENCES stocks(symbol),
    year INTEGER NOT NULL,
    period TEXT NOT NULL,
    "check" TEXT NOT NULL,
    expected REAL,
    found REAL,
    severity TEXT NOT NULL CHECK (severity IN ('warning', 'error')),
    last_updated TEXT
)"""


def _migration_3_data_checks(db: sqlite_utils.Database) -> None:
    """The failed cross-checks of each stock's filed earnings rows (see checks.py)."""
    db.execute(DATA_CHECKS)
    db.execute("CREATE INDEX IF NOT EXISTS idx_data_checks_symbol ON data_checks (symbol)")


def _migration_4_changes_cursor_per_stock(db: sqlite_utils.Database) -> None:
    """The last day of SEC's daily index each stock's changes are known through, so a run with
    --limit or --symbols moves on what it looked at; it starts from the run-wide cursor."""
    db.execute("ALTER TABLE symbol_state ADD COLUMN changes_known_through TEXT")
    db.execute(
        "UPDATE symbol_state SET changes_known_through = (SELECT value FROM job_state "
        "WHERE key = 'daily_index_through') WHERE last_success IS NOT NULL"
    )
    db.execute("DELETE FROM job_state WHERE key = 'daily_index_through'")


# Index i holds the migration that takes the schema from user_version i to i + 1.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migration_1_screener_tables,
    _migration_2_job_tables,
    _migration_3_data_checks,
    _migration_4_changes_cursor_per_stock,
)


@contextlib.contextmanager
def _transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction; rolled back on any exception."""
    if db.conn.in_transaction:
        raise StoreError("a transaction is already open on this connection")
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def _refuse_newer(version: int) -> None:
    if version > len(MIGRATIONS):
        raise StoreError(
            f"database schema version {version} is newer than this program's "
            f"({len(MIGRATIONS)}); upgrade stock-refresh"
        )


def migrate(db: sqlite_utils.Database, target: int | None = None) -> None:
    """Apply pending migrations in order, each with its user_version bump in one transaction.

    The version is read again inside the transaction, so two processes opening the same new
    database cannot apply a migration twice.
    """
    target = len(MIGRATIONS) if target is None else target
    current = schema_version(db)
    _refuse_newer(current)
    for version in range(current + 1, target + 1):
        with _transaction(db):
            if schema_version(db) >= version:
                continue
            MIGRATIONS[version - 1](db)
            db.execute(f"PRAGMA user_version = {version}")


def _align_sidecar_modes(path: Path) -> None:
    """Give -wal/-shm the database file's mode (SQLite does so itself; this guards old files)."""
    mode = path.stat().st_mode & 0o777
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if sidecar.stat().st_mode & 0o777 != mode:
                os.chmod(sidecar, mode)


def open_db(path: str | os.PathLike) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600 in a 0700 folder) and migrate the database.

    An existing database keeps its mode: the screener may share it.
    """
    path = Path(path)
    owner_only_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        # In WAL mode NORMAL keeps the database consistent across a power loss; at worst the
        # last commits are lost, and their symbols are simply redone by the resumed run.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except BaseException:
        conn.close()
        raise
    _align_sidecar_modes(path)
    return db


def open_readonly(path: str | os.PathLike) -> sqlite_utils.Database | None:
    """Open for reading without writing anything, not even -wal/-shm files (for --dry-run).

    None when there is no database, or its schema still needs migrating (the real run does that;
    until then there is no job state to read). With no -wal/-shm beside it, the database is
    fully checkpointed and is opened as immutable, which creates no files; otherwise a writer
    is around and the existing files are shared read-only.
    """
    path = Path(path).resolve()
    if not path.exists():
        return None
    live = all(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
    uri = path.as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
    try:
        version = schema_version(db)
        _refuse_newer(version)
    except BaseException:
        db.close()
        raise
    if version < len(MIGRATIONS):
        db.close()
        return None
    return db


# ---------------------------------------------------------------- saving one stock


def _writable_columns(table: str) -> set[str]:
    columns = SCREENER_TABLES[table][0]
    return set(columns) - {"id", "symbol", "last_updated"}


def _clean(table: str, row: dict, what: str) -> dict:
    """Drop None values (a NULL never overwrites) and refuse columns the table does not have."""
    unknown = set(row) - _writable_columns(table)
    if unknown:
        raise ValueError(f"{what}: unknown column(s) for {table}: {', '.join(sorted(unknown))}")
    return {key: value for key, value in row.items() if value is not None}


def _keyed_rows(table: str, rows: list[dict], symbol: str, now: str, what: str) -> list[dict]:
    key = [col for col in SCREENER_TABLES[table][2] if col != "symbol"]
    cleaned = []
    for row in rows:
        clean = _clean(table, row, what)
        missing = [col for col in key if col not in clean]
        if missing:
            raise ValueError(f"{what} row of {symbol} has no {', '.join(missing)}")
        cleaned.append({"symbol": symbol, **clean, "last_updated": now})
    return cleaned


def _upsert(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Upsert rows that may carry different columns: sqlite-utils fills a column missing from
    one record of a batch with NULL, so records are grouped by their exact set of columns."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    pk = SCREENER_TABLES[table][2]
    for group in groups.values():
        db.table(table).upsert_all(group, pk=pk[0] if len(pk) == 1 else pk)


def _latest_filing(filings: list[dict]) -> tuple[str, str] | None:
    dated = [
        (f["filing_date"], f["accession_number"])
        for f in filings
        if f.get("filing_date") and f.get("accession_number")
    ]
    return max(dated) if dated else None


def _sections_accessions(sections: list[dict]) -> dict[str, str]:
    """Accession of the newest saved 10-K and 10-Q sections (amendments count as their form)."""
    newest: dict[str, tuple[str, str]] = {}
    for section in sections:
        form = (section.get("filing_type") or "").upper().removesuffix("/A")
        accession = section.get("accession_number")
        if form not in SECTION_FORMS or not accession:
            continue
        candidate = (section.get("filing_date") or "", accession)
        if form not in newest or candidate > newest[form]:
            newest[form] = candidate
    return {_section_column(form): accession for form, (_, accession) in newest.items()}


def _section_column(form: str) -> str:
    """The symbol_state column of a form's stored sections: 10-K -> sections_accession_10k."""
    return f"sections_accession_{form.replace('-', '').lower()}"


def _mark_progress(
    db: sqlite_utils.Database, run_id: int, symbol: str, status: str, now: str
) -> None:
    """Record a symbol's outcome in a run; a 'done' is never turned back into 'failed'."""
    db.execute(
        "INSERT INTO run_progress (run_id, symbol, status, finished_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (run_id, symbol) DO UPDATE SET status = excluded.status, "
        "finished_at = excluded.finished_at WHERE run_progress.status <> 'done'",
        [run_id, symbol, status, now],
    )


def save_stock(
    db: sqlite_utils.Database,
    data: StockData,
    now: str,
    run_id: int | None = None,
    *,
    changes_known_through: str | None = None,
    complete: bool = True,
) -> None:
    """Write everything fetched for one stock, plus its state and run progress, atomically;
    `changes_known_through`: the last daily index day its SEC changes are now known through;
    `complete` False: one part of the stock, not its last tonight (it is recorded refreshed
    for its kinds only: neither a success nor done in the run until its last part is saved).

    Rows are validated before the transaction starts; a failure inside it (a constraint, a
    locked database) rolls back every row of the stock, so a half-saved stock never looks fresh.
    """
    symbol = data.symbol
    if not symbol or symbol != symbol.strip():
        raise ValueError(f"invalid symbol {symbol!r}")
    unknown_kinds = set(data.kinds) - set(KINDS)
    if unknown_kinds:
        raise ValueError(f"{symbol}: unknown data kind(s) {', '.join(sorted(unknown_kinds))}")

    cik = data.cik if data.cik is not None else data.profile.get("cik")
    profile = _clean("stocks", {**data.profile, "cik": cik}, symbol)
    stock_row = {"symbol": symbol, **profile}
    if profile:
        stock_row["last_updated"] = now
    metrics = _clean("stock_metrics", data.metrics, symbol)
    earnings = _keyed_rows("earnings_history", data.earnings, symbol, now, "earnings")
    filings = _keyed_rows("sec_filings", data.filings, symbol, now, "filing")
    sections = _keyed_rows("filing_sections", data.sections, symbol, now, "section")

    state = {"symbol": symbol, "last_attempt": now}
    if complete:
        state.update(last_success=now, attempts=0)
    if data.cik is not None:
        state["cik"] = data.cik
    state.update({f"{kind}_refreshed_at": now for kind in data.kinds})
    state.update(_sections_accessions(data.sections))
    if changes_known_through:
        state["changes_known_through"] = changes_known_through

    with _transaction(db):
        _upsert(db, "stocks", [stock_row])
        if metrics:
            _upsert(db, "stock_metrics", [{"symbol": symbol, **metrics, "last_updated": now}])
        _upsert(db, "earnings_history", _without_filed_periods(db, symbol, earnings))
        _upsert(db, "sec_filings", filings)
        _upsert(db, "filing_sections", sections)
        if data.checks is not None:
            _replace_checks(db, symbol, data.checks, now)

        latest = _latest_filing(data.filings)
        if latest:
            stored = db.execute(
                "SELECT latest_filing_date, latest_filing_accession FROM symbol_state "
                "WHERE symbol = ?",
                [symbol],
            ).fetchone()
            if not stored or stored[0] is None or latest > (stored[0], stored[1] or ""):
                state["latest_filing_date"], state["latest_filing_accession"] = latest
        db.table("symbol_state").upsert(state, pk="symbol")
        if run_id is not None and complete:
            _mark_progress(db, run_id, symbol, "done", now)


def _replace_checks(db: sqlite_utils.Database, symbol: str, checks: list[dict], now: str) -> None:
    """The stock's failed checks are those of its latest parsed rows: older ones go."""
    db.execute("DELETE FROM data_checks WHERE symbol = ?", [symbol])
    db.conn.executemany(
        'INSERT INTO data_checks (symbol, year, period, "check", expected, found, severity, '
        "last_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                symbol,
                c["year"],
                c["period"],
                c["check"],
                c["expected"],
                c["found"],
                c["severity"],
                now,
            ]
            for c in checks
        ],
    )


def check_counts(db: sqlite_utils.Database) -> list[tuple[str, int, int, list[str]]]:
    """(check, failed rows, stocks, the first few symbols) of the stored data_checks, the
    most failed first."""
    rows = db.execute(
        'SELECT "check", COUNT(*), GROUP_CONCAT(DISTINCT symbol) FROM data_checks '
        'GROUP BY "check" ORDER BY COUNT(*) DESC, "check"'
    ).fetchall()
    return [
        (check, count, len(symbols.split(",")), sorted(symbols.split(","))[:5])
        for check, count, symbols in rows
    ]


def _without_filed_periods(db: sqlite_utils.Database, symbol: str, rows: list[dict]) -> list[dict]:
    """Yahoo rows only fill periods EDGAR lacks: a stored filed figure is never replaced."""
    filed = set(
        db.execute(
            "SELECT year, period FROM earnings_history WHERE symbol = ? AND source = 'edgar'",
            [symbol],
        ).fetchall()
    )
    return [
        row
        for row in rows
        if row.get("source") != "yfinance" or (row["year"], row["period"]) not in filed
    ]


def record_failure(
    db: sqlite_utils.Database,
    symbol: str,
    error_type: str,
    message: str,
    now: str,
    run_id: int | None = None,
) -> None:
    """Record a failed attempt; data tables are never touched, so the last good data stays.

    `attempts` counts failures since the last success (save_stock resets it); last_error and
    last_error_type keep describing the latest failure after a success, for diagnosis.
    """
    with _transaction(db):
        db.execute(
            "INSERT INTO symbol_state (symbol, last_attempt, last_error_type, last_error, "
            "attempts) VALUES (?, ?, ?, ?, 1) ON CONFLICT (symbol) DO UPDATE SET "
            "last_attempt = excluded.last_attempt, last_error_type = excluded.last_error_type, "
            "last_error = excluded.last_error, attempts = symbol_state.attempts + 1",
            [symbol, now, error_type, message[:MAX_ERROR_CHARS]],
        )
        if run_id is not None:
            _mark_progress(db, run_id, symbol, "failed", now)


def symbol_states(db: sqlite_utils.Database) -> dict[str, dict]:
    """Every symbol's state, for the planner that decides what is stale."""
    return {row["symbol"]: row for row in db.query("SELECT * FROM symbol_state")}


def known(state: dict | None) -> Known:
    """A symbol's state (from `symbol_states`) as a fetch reads it: what need not be fetched."""
    state = state or {}
    return Known(
        latest_filing=state.get("latest_filing_accession"),
        sections={
            form: state[_section_column(form)]
            for form in SECTION_FORMS
            if state.get(_section_column(form))
        },
    )


# ---------------------------------------------------------------- symbol lists


def save_symbol_list(db: sqlite_utils.Database, symbols: list[str], source: str, now: str) -> None:
    """Keep a good symbol list as the fallback for a night when the source fails or shrinks."""
    if not symbols:
        raise ValueError("refusing to save an empty symbol list")
    with _transaction(db):
        db.execute(
            "INSERT INTO symbol_lists (fetched_at, source, count, symbols) VALUES (?, ?, ?, ?)",
            [now, source, len(symbols), json.dumps(list(symbols))],
        )
        db.execute(
            "DELETE FROM symbol_lists WHERE id NOT IN "
            "(SELECT id FROM symbol_lists ORDER BY id DESC LIMIT ?)",
            [KEEP_SYMBOL_LISTS],
        )


def last_good_symbol_list(db: sqlite_utils.Database) -> tuple[list[str], str] | None:
    """The newest saved list and when it was fetched, or None if there is none."""
    row = db.execute(
        "SELECT symbols, fetched_at FROM symbol_lists ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return (json.loads(row[0]), row[1]) if row else None


# ---------------------------------------------------------------- runs and resume


def start_run(db: sqlite_utils.Database, now: str, resumed_from: int | None = None) -> int:
    with _transaction(db):
        cursor = db.execute(
            "INSERT INTO refresh_runs (started_at, status, resumed_from) VALUES (?, 'running', ?)",
            [now, resumed_from],
        )
        return cursor.lastrowid


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    now: str,
    status: str,
    exit_code: int,
    counts: dict,
    abort_reason: str | None = None,
    report_path: str | os.PathLike | None = None,
) -> None:
    if status not in RUN_STATUSES or status == "running":
        raise ValueError(f"finish_run: status must be completed, aborted or failed, not {status!r}")
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown:
        raise ValueError(f"finish_run: unknown count(s) {', '.join(sorted(unknown))}")
    not_counts = [key for key, value in counts.items() if not isinstance(value, int | None)]
    if not_counts:
        raise ValueError(f"finish_run: counts must be integers: {', '.join(sorted(not_counts))}")
    with _transaction(db):
        cursor = db.execute(
            "UPDATE refresh_runs SET finished_at = ?, status = ?, exit_code = ?, "
            "total_stocks = ?, successful = ?, failed = ?, skipped = ?, abort_reason = ?, "
            "report_path = ? WHERE id = ?",
            [
                now,
                status,
                exit_code,
                *(counts.get(key) for key in RUN_COUNTS),
                abort_reason,
                None if report_path is None else str(report_path),
                run_id,
            ],
        )
        if cursor.rowcount != 1:
            raise ValueError(f"finish_run: no run with id {run_id}")


def mark_done(db: sqlite_utils.Database, run_id: int, symbols: Iterable[str], now: str) -> None:
    """Mark symbols done in a run without saving anything: a resumed run carries over what the
    run it resumes had finished, so its own progress is complete on its own."""
    with _transaction(db):
        for symbol in symbols:
            _mark_progress(db, run_id, symbol, "done", now)


def unfinished_run(db: sqlite_utils.Database) -> dict | None:
    """The newest run still marked 'running'. Called under the run lock before a new run
    starts, so such a run was killed (kill -9, power loss) and can be resumed."""
    rows = list(
        db.query("SELECT * FROM refresh_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1")
    )
    return rows[0] if rows else None


def run_done_symbols(db: sqlite_utils.Database, run_id: int) -> set[str]:
    """Symbols finished in this run or in any run it resumed, transitively: a resumed run
    that is itself killed must not lose what the first run had done."""
    rows = db.execute(
        "WITH RECURSIVE chain(id) AS (SELECT ? UNION "
        "SELECT r.resumed_from FROM refresh_runs r JOIN chain ON r.id = chain.id "
        "WHERE r.resumed_from IS NOT NULL) "
        "SELECT DISTINCT symbol FROM run_progress "
        "WHERE status = 'done' AND run_id IN (SELECT id FROM chain)",
        [run_id],
    ).fetchall()
    return {row[0] for row in rows}


def mark_run_interrupted(db: sqlite_utils.Database, run_id: int, now: str) -> None:
    """Close a killed run; finished_at is when that was noticed, not when it died."""
    with _transaction(db):
        db.execute(
            "UPDATE refresh_runs SET status = 'aborted', abort_reason = 'interrupted', "
            "finished_at = ? WHERE id = ? AND status = 'running'",
            [now, run_id],
        )
