"""The storage layer on real SQLite files: schema, migrations, atomic NULL-safe saves, runs."""

import sqlite3
import stat
import threading

import pytest
import sqlite_utils

from stock_refresh import store
from stock_refresh.models import Known, StockData

T1 = "2026-11-29T07:00:00+00:00"
T2 = "2026-11-30T07:00:00+00:00"
T3 = "2026-12-01T07:00:00+00:00"

AAPL_10K = "0000320193-23-000106"
AAPL_10Q = "0000320193-24-000006"


def aapl() -> StockData:
    """Apple as the fetcher returns it; figures from the shared EDGAR fixtures (fiscal 2023)."""
    return StockData(
        symbol="AAPL",
        cik=320193,
        profile={
            "company_name": "Apple Inc.",
            "exchange": "NMS",
            "sector": "Technology",
            "industry": "Consumer Electronics",
            "country": "United States",
            "ipo_year": 1980,
        },
        metrics={
            "price": 189.95,
            "pe_ratio": 30.99,
            "market_cap": 2.95e12,
            "debt_to_equity": 1.79,
            "institutional_ownership": 0.6153,
            "revenue": 385603002368.0,
            "dividend_yield": 0.51,
        },
        earnings=[
            {
                "year": 2023,
                "period": "annual",
                "fiscal_end": "2023-09-30",
                "earnings_per_share": 6.13,
                "revenue": 383285000000,
                "net_income": 96995000000,
                "diluted_shares": 15812547000,
                "shareholder_equity": 62146000000,
                "total_debt": 111088000000,
                "total_liabilities": 290437000000,
                "operating_cash_flow": 110543000000,
                "capital_expenditures": 10959000000,
                "free_cash_flow": 99584000000,
                "dividends_per_share": 0.94,
                "shares_outstanding": 15550061000,
                "debt_to_equity": 1.7875,
                "source": "edgar",
                "derived": 0,
                "accession": AAPL_10K,
            },
            {
                "year": 2023,
                "period": "Q4",
                "fiscal_end": "2023-09-30",
                "net_income": 22956000000,
                "revenue": 89498000000,
                "source": "edgar",
                "derived": 1,
                "accession": AAPL_10K,
            },
        ],
        filings=[
            {
                "accession_number": AAPL_10K,
                "filing_type": "10-K",
                "filing_date": "2023-11-03",
                "report_date": "2023-09-30",
                "is_amendment": 0,
                "document_url": "https://www.sec.gov/Archives/edgar/data/320193/"
                "000032019323000106/aapl-20230930.htm",
            },
            {
                "accession_number": AAPL_10Q,
                "filing_type": "10-Q",
                "filing_date": "2024-02-02",
                "report_date": "2023-12-30",
                "is_amendment": 0,
                "document_url": "https://www.sec.gov/Archives/edgar/data/320193/"
                "000032019324000006/aapl-20231230.htm",
            },
        ],
        sections=[
            {
                "section_name": "business",
                "filing_type": "10-K",
                "filing_date": "2023-11-03",
                "accession_number": AAPL_10K,
                "content": "The Company designs, manufactures ...",
            },
            {
                "section_name": "mda",
                "filing_type": "10-Q",
                "filing_date": "2024-02-02",
                "accession_number": AAPL_10Q,
                "content": "Management's Discussion ...",
            },
        ],
        kinds={"market", "profile", "fundamentals", "filings", "sections"},
    )


def counts(db, symbol):
    tables = (
        "stocks",
        "stock_metrics",
        "earnings_history",
        "sec_filings",
        "filing_sections",
        "symbol_state",
    )
    return {
        t: db.execute(f"SELECT count(*) FROM {t} WHERE symbol = ?", [symbol]).fetchone()[0]
        for t in tables
    }


def row(db, sql, params=()):
    rows = list(db.query(sql, params))
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "stocks.db")
    yield database
    database.close()


EXPECTED_COLUMNS = {
    "stocks": [
        "symbol",
        "company_name",
        "exchange",
        "sector",
        "industry",
        "country",
        "ipo_year",
        "cik",
        "last_updated",
    ],
    "stock_metrics": [
        "symbol",
        "price",
        "pe_ratio",
        "market_cap",
        "debt_to_equity",
        "institutional_ownership",
        "revenue",
        "dividend_yield",
        "last_updated",
    ],
    "earnings_history": [
        "id",
        "symbol",
        "year",
        "period",
        "fiscal_end",
        "earnings_per_share",
        "revenue",
        "net_income",
        "diluted_shares",
        "shareholder_equity",
        "total_debt",
        "total_liabilities",
        "operating_cash_flow",
        "capital_expenditures",
        "free_cash_flow",
        "dividends_per_share",
        "shares_outstanding",
        "debt_to_equity",
        "source",
        "derived",
        "accession",
        "last_updated",
    ],
    "sec_filings": [
        "id",
        "symbol",
        "filing_type",
        "filing_date",
        "report_date",
        "document_url",
        "accession_number",
        "is_amendment",
        "last_updated",
    ],
    "filing_sections": [
        "id",
        "symbol",
        "section_name",
        "content",
        "filing_type",
        "filing_date",
        "accession_number",
        "last_updated",
    ],
    "symbol_lists": ["id", "fetched_at", "source", "count", "symbols"],
    "symbol_state": [
        "symbol",
        "cik",
        "last_attempt",
        "last_success",
        "last_error_type",
        "last_error",
        "attempts",
        "market_refreshed_at",
        "profile_refreshed_at",
        "fundamentals_refreshed_at",
        "filings_refreshed_at",
        "sections_refreshed_at",
        "latest_filing_accession",
        "latest_filing_date",
        "sections_accession_10k",
        "sections_accession_10q",
        "changes_known_through",
    ],
    "refresh_runs": [
        "id",
        "started_at",
        "finished_at",
        "status",
        "exit_code",
        "total_stocks",
        "successful",
        "failed",
        "skipped",
        "abort_reason",
        "report_path",
        "resumed_from",
    ],
    "run_progress": ["run_id", "symbol", "status", "finished_at"],
}


def test_schema_pragmas_and_modes(tmp_path):
    path = tmp_path / "new" / "data" / "stocks.db"
    db = store.open_db(path)
    try:
        for table, columns in EXPECTED_COLUMNS.items():
            assert [c.name for c in db.table(table).columns] == columns, table
        assert store.schema_version(db) == len(store.MIGRATIONS)
        assert db.journal_mode == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
        store.save_stock(db, aapl(), T1)
        for folder in (tmp_path / "new", path.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for suffix in ("", "-wal", "-shm"):
            file = path.with_name(path.name + suffix)
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        db.close()


def test_migrations_upgrade_an_older_version_and_are_idempotent(tmp_path):
    path = tmp_path / "stocks.db"
    old = sqlite_utils.Database(path)
    store.migrate(old, target=1)
    assert store.schema_version(old) == 1
    assert not old.table("refresh_runs").exists()
    old.execute("INSERT INTO stocks (symbol, company_name) VALUES ('AAPL', 'Apple Inc.')")
    old.close()

    db = store.open_db(path)
    assert store.schema_version(db) == len(store.MIGRATIONS)
    assert set(EXPECTED_COLUMNS) <= set(db.table_names())
    assert row(db, "SELECT company_name FROM stocks")["company_name"] == "Apple Inc."
    schema = db.schema
    db.close()

    again = store.open_db(path)
    assert again.schema == schema
    again.close()


def test_adopts_a_database_made_by_the_earlier_screener(tmp_path):
    """The screener's own schema (UNIQUE(symbol, year), no period) is upgraded in place."""
    path = tmp_path / "stocks.db"
    legacy = sqlite3.connect(path)
    legacy.executescript("""
        CREATE TABLE stocks (symbol TEXT PRIMARY KEY, company_name TEXT, exchange TEXT,
            sector TEXT, last_updated TIMESTAMP, country TEXT, ipo_year INTEGER);
        CREATE TABLE stock_metrics (symbol TEXT PRIMARY KEY, price REAL, pe_ratio REAL,
            market_cap REAL, debt_to_equity REAL, institutional_ownership REAL, revenue REAL,
            dividend_yield REAL, last_updated TIMESTAMP,
            FOREIGN KEY (symbol) REFERENCES stocks(symbol));
        CREATE TABLE earnings_history (id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT,
            year INTEGER, earnings_per_share REAL, revenue REAL, last_updated TIMESTAMP,
            fiscal_end TEXT, debt_to_equity REAL, UNIQUE(symbol, year),
            FOREIGN KEY (symbol) REFERENCES stocks(symbol));
        CREATE TABLE sec_filings (id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT,
            filing_type TEXT, filing_date TEXT, document_url TEXT, accession_number TEXT,
            last_updated TIMESTAMP, UNIQUE(symbol, accession_number));
        CREATE TABLE filing_sections (id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT,
            section_name TEXT, content TEXT, filing_type TEXT, filing_date TEXT,
            last_updated TIMESTAMP, UNIQUE(symbol, section_name, filing_type));
        CREATE TABLE watchlist (symbol TEXT PRIMARY KEY);
        INSERT INTO stocks VALUES ('AAPL', 'Apple Inc.', 'NMS', 'Technology',
            '2025-11-15T02:00:00', 'United States', 1980);
        INSERT INTO earnings_history (symbol, year, earnings_per_share, revenue, fiscal_end)
            VALUES ('AAPL', 2022, 6.11, 394328000000, '2022-09-24');
        INSERT INTO watchlist VALUES ('AAPL');
    """)
    legacy.close()

    db = store.open_db(path)
    try:
        assert [c.name for c in db.table("stocks").columns] == [
            "symbol",
            "company_name",
            "exchange",
            "sector",
            "last_updated",
            "country",
            "ipo_year",
            "industry",
            "cik",
        ]
        assert set(EXPECTED_COLUMNS["earnings_history"]) == {
            c.name for c in db.table("earnings_history").columns
        }
        kept = row(db, "SELECT year, period, earnings_per_share FROM earnings_history")
        assert kept == {"year": 2022, "period": "annual", "earnings_per_share": 6.11}
        assert db.table("watchlist").count == 1
        store.save_stock(db, aapl(), T1)
        periods = [
            r["period"]
            for r in db.query(
                "SELECT period FROM earnings_history WHERE year = 2023 ORDER BY period"
            )
        ]
        assert periods == ["Q4", "annual"]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "stocks.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(store.StoreError, match="newer than this program"):
        store.open_db(path)


def test_save_stock_round_trip(db):
    store.save_stock(db, aapl(), T1)

    assert row(db, "SELECT * FROM stocks") == {
        "symbol": "AAPL",
        "company_name": "Apple Inc.",
        "exchange": "NMS",
        "sector": "Technology",
        "industry": "Consumer Electronics",
        "country": "United States",
        "ipo_year": 1980,
        "cik": 320193,
        "last_updated": T1,
    }
    metrics = row(db, "SELECT * FROM stock_metrics")
    assert metrics["pe_ratio"] == 30.99 and metrics["dividend_yield"] == 0.51
    assert metrics["institutional_ownership"] == 0.6153 and metrics["last_updated"] == T1
    annual = row(db, "SELECT * FROM earnings_history WHERE period = 'annual'")
    assert annual["year"] == 2023 and annual["fiscal_end"] == "2023-09-30"
    assert annual["revenue"] == 383285000000 and annual["earnings_per_share"] == 6.13
    assert annual["net_income"] == 96995000000 and annual["source"] == "edgar"
    assert annual["derived"] == 0 and annual["accession"] == AAPL_10K
    q4 = row(db, "SELECT * FROM earnings_history WHERE period = 'Q4'")
    assert q4["derived"] == 1 and q4["earnings_per_share"] is None
    assert [
        r["accession_number"]
        for r in db.query("SELECT accession_number FROM sec_filings ORDER BY filing_date")
    ] == [AAPL_10K, AAPL_10Q]
    assert {
        (r["section_name"], r["filing_type"]) for r in db.query("SELECT * FROM filing_sections")
    } == {("business", "10-K"), ("mda", "10-Q")}

    state = store.symbol_states(db)["AAPL"]
    assert state["last_success"] == T1 and state["attempts"] == 0 and state["cik"] == 320193
    assert all(state[f"{kind}_refreshed_at"] == T1 for kind in store.KINDS)
    assert (state["latest_filing_accession"], state["latest_filing_date"]) == (
        AAPL_10Q,
        "2024-02-02",
    )
    assert state["sections_accession_10k"] == AAPL_10K
    assert state["sections_accession_10q"] == AAPL_10Q
    assert store.known(state) == Known(
        latest_filing=AAPL_10Q, sections={"10-K": AAPL_10K, "10-Q": AAPL_10Q}
    )
    assert store.known(None) == Known()


def test_second_save_is_idempotent(db):
    store.save_stock(db, aapl(), T1)
    before = counts(db, "AAPL")
    first = list(db.query("SELECT * FROM earnings_history ORDER BY id"))
    store.save_stock(db, aapl(), T1)
    assert counts(db, "AAPL") == before
    assert list(db.query("SELECT * FROM earnings_history ORDER BY id")) == first


def test_null_never_overwrites_a_known_value(db):
    store.save_stock(db, aapl(), T1)
    update = StockData(
        symbol="AAPL",
        cik=None,
        profile={"company_name": None, "sector": "Information Technology", "industry": None},
        metrics={"price": 191.45, "pe_ratio": None, "dividend_yield": None},
        earnings=[
            {
                "year": 2023,
                "period": "annual",
                "earnings_per_share": None,
                "revenue": None,
                "net_income": None,
                "debt_to_equity": None,
                "source": "edgar",
                "accession": None,
            }
        ],
        filings=[
            {
                "accession_number": AAPL_10K,
                "filing_type": "10-K",
                "document_url": None,
                "filing_date": "2023-11-03",
            }
        ],
        sections=[
            {
                "section_name": "business",
                "filing_type": "10-K",
                "content": None,
                "accession_number": AAPL_10K,
            }
        ],
        kinds={"market"},
    )
    store.save_stock(db, update, T2)

    stock = row(db, "SELECT * FROM stocks")
    assert stock["company_name"] == "Apple Inc." and stock["sector"] == "Information Technology"
    assert stock["industry"] == "Consumer Electronics" and stock["cik"] == 320193
    metrics = row(db, "SELECT * FROM stock_metrics")
    assert (metrics["price"], metrics["pe_ratio"], metrics["dividend_yield"]) == (
        191.45,
        30.99,
        0.51,
    )
    assert metrics["last_updated"] == T2
    annual = row(db, "SELECT * FROM earnings_history WHERE period = 'annual'")
    assert (annual["earnings_per_share"], annual["revenue"], annual["debt_to_equity"]) == (
        6.13,
        383285000000,
        1.7875,
    )
    assert annual["accession"] == AAPL_10K
    assert row(db, "SELECT document_url FROM sec_filings WHERE accession_number = ?", [AAPL_10K])[
        "document_url"
    ].endswith("aapl-20230930.htm")
    assert row(db, "SELECT content FROM filing_sections WHERE section_name = 'business'")[
        "content"
    ].startswith("The Company")
    state = store.symbol_states(db)["AAPL"]
    assert state["market_refreshed_at"] == T2 and state["fundamentals_refreshed_at"] == T1
    assert state["cik"] == 320193


def test_empty_profile_and_metrics_do_not_look_fresh(db):
    store.save_stock(db, aapl(), T1)
    store.save_stock(db, StockData(symbol="AAPL", kinds={"filings"}), T2)
    assert row(db, "SELECT last_updated FROM stocks")["last_updated"] == T1
    assert row(db, "SELECT last_updated FROM stock_metrics")["last_updated"] == T1


def test_a_failing_save_writes_none_of_the_stocks_rows(db):
    run_id = store.start_run(db, T1)
    bad = aapl()
    bad.symbol, bad.cik = "MSFT", 789019
    bad.sections = [
        {"section_name": "mda", "filing_type": "10-K", "content": "x"},
        {"section_name": "mda", "filing_type": None, "content": "y"},
    ]
    with pytest.raises(ValueError, match="section row of MSFT has no filing_type"):
        store.save_stock(db, bad, T1, run_id)
    # A constraint in the last table written fails inside the transaction.
    bad.sections = []
    bad.filings = bad.filings + [
        {"accession_number": "0000950170-23-035122", "filing_type": "10-K", "is_amendment": 2}
    ]
    with pytest.raises(sqlite3.IntegrityError):
        store.save_stock(db, bad, T1, run_id)
    assert set(counts(db, "MSFT").values()) == {0}
    assert store.run_done_symbols(db, run_id) == set()
    assert not db.conn.in_transaction

    store.save_stock(db, aapl(), T1, run_id)
    before = list(db.query("SELECT * FROM stock_metrics"))
    newer = aapl()
    newer.metrics = {"price": 200.0}
    newer.earnings = [{"year": 2024, "period": "H1", "revenue": 1.0}]
    with pytest.raises(sqlite3.IntegrityError):
        store.save_stock(db, newer, T2, run_id)
    assert list(db.query("SELECT * FROM stock_metrics")) == before
    assert store.symbol_states(db)["AAPL"]["last_success"] == T1


def test_unknown_columns_and_kinds_are_refused(db):
    data = aapl()
    data.metrics = {"price": 1.0, "trailingPE": 2.0}
    with pytest.raises(ValueError, match="trailingPE"):
        store.save_stock(db, data, T1)
    data = aapl()
    data.kinds = {"market", "news"}
    with pytest.raises(ValueError, match="news"):
        store.save_stock(db, data, T1)
    assert set(counts(db, "AAPL").values()) == {0}


def test_record_failure_keeps_data_and_counts_attempts(db):
    run_id = store.start_run(db, T1)
    store.save_stock(db, aapl(), T1)
    data_before = {
        t: list(db.query(f"SELECT * FROM {t}"))
        for t in ("stocks", "stock_metrics", "earnings_history", "sec_filings")
    }
    store.record_failure(db, "AAPL", "Timeout", "data.sec.gov timed out after 30 s", T2, run_id)
    store.record_failure(db, "AAPL", "HTTPError", "HTTP 500 from data.sec.gov", T2, run_id)
    store.record_failure(db, "ZZZZ", "UnknownSymbol", "no CIK and no Yahoo quote", T2, run_id)

    state = store.symbol_states(db)
    assert state["AAPL"]["attempts"] == 2 and state["AAPL"]["last_error_type"] == "HTTPError"
    assert state["AAPL"]["last_success"] == T1 and state["AAPL"]["last_attempt"] == T2
    assert state["ZZZZ"]["attempts"] == 1 and state["ZZZZ"]["last_success"] is None
    for table, rows in data_before.items():
        assert list(db.query(f"SELECT * FROM {table}")) == rows
    assert counts(db, "ZZZZ")["stocks"] == 0

    store.save_stock(db, aapl(), T3, run_id)
    assert store.symbol_states(db)["AAPL"]["attempts"] == 0
    store.record_failure(db, "AAPL", "Timeout", "late retry", T3, run_id)
    progress = {r["symbol"]: r["status"] for r in db.query("SELECT * FROM run_progress")}
    assert progress == {"AAPL": "done", "ZZZZ": "failed"}


def test_latest_filing_only_moves_forward(db):
    store.save_stock(db, aapl(), T1)
    older = StockData(
        symbol="AAPL",
        kinds={"filings"},
        filings=[
            {
                "accession_number": "0000320193-23-000077",
                "filing_type": "10-Q",
                "filing_date": "2023-08-04",
            }
        ],
    )
    store.save_stock(db, older, T2)
    state = store.symbol_states(db)["AAPL"]
    assert state["latest_filing_accession"] == AAPL_10Q
    assert state["filings_refreshed_at"] == T2
    assert counts(db, "AAPL")["sec_filings"] == 3


def test_symbol_lists_keep_the_last_few(db):
    assert store.last_good_symbol_list(db) is None
    with pytest.raises(ValueError):
        store.save_symbol_list(db, [], "github", T1)
    for day in range(1, 8):
        store.save_symbol_list(
            db,
            ["AAPL", "BRK-B", "NA"][: 1 + day % 3],
            "github",
            f"2026-11-{day:02d}T07:00:00+00:00",
        )
    assert db.table("symbol_lists").count == store.KEEP_SYMBOL_LISTS
    assert store.last_good_symbol_list(db) == (["AAPL", "BRK-B"], "2026-11-07T07:00:00+00:00")


def test_runs_progress_and_resume_across_two_kills(db):
    first = store.start_run(db, T1)
    assert store.unfinished_run(db)["id"] == first
    for symbol in ("AAPL", "MSFT"):
        data = aapl()
        data.symbol = symbol
        store.save_stock(db, data, T1, first)
    store.record_failure(db, "GOOGL", "Timeout", "timed out", T1, first)
    assert store.run_done_symbols(db, first) == {"AAPL", "MSFT"}

    # Killed; the next run resumes it and is killed in turn.
    store.mark_run_interrupted(db, first, T2)
    second = store.start_run(db, T2, resumed_from=first)
    data = aapl()
    data.symbol = "GOOGL"
    store.save_stock(db, data, T2, second)
    assert store.unfinished_run(db)["id"] == second
    store.mark_run_interrupted(db, second, T3)
    third = store.start_run(db, T3, resumed_from=second)
    assert store.run_done_symbols(db, third) == {"AAPL", "MSFT", "GOOGL"}

    store.finish_run(
        db,
        third,
        T3,
        "completed",
        0,
        {"total_stocks": 3, "successful": 3, "failed": 0, "skipped": 2},
        report_path="reports/batch_summary_20261201_070000.json",
    )
    assert store.unfinished_run(db) is None
    runs = {r["id"]: r for r in db.query("SELECT * FROM refresh_runs")}
    assert (runs[first]["status"], runs[first]["abort_reason"]) == ("aborted", "interrupted")
    assert runs[third]["status"] == "completed" and runs[third]["resumed_from"] == second
    assert (runs[third]["successful"], runs[third]["skipped"], runs[third]["exit_code"]) == (
        3,
        2,
        0,
    )
    with pytest.raises(ValueError):
        store.finish_run(db, third, T3, "done", 0, {})
    with pytest.raises(ValueError):
        store.finish_run(db, third, T3, "failed", 1, {"succeeded": 1})
    with pytest.raises(ValueError):
        store.finish_run(db, third, T3, "failed", 1, {"skipped": ["AAPL"]})
    with pytest.raises(ValueError):
        store.finish_run(db, 999, T3, "failed", 1, {})


def test_one_writer_thread_while_another_process_reads(tmp_path):
    """open_db in the main thread, every write from one writer thread, a reader meanwhile."""
    path = tmp_path / "stocks.db"
    db = store.open_db(path)
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM stocks").fetchone()[0] == 0
    errors = []

    def write():
        try:
            for symbol in ("AAPL", "MSFT", "NVDA"):
                data = aapl()
                data.symbol = symbol
                store.save_stock(db, data, T1)
        except Exception as exc:  # reported to the main thread below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(10)
    assert errors == []
    assert reader.execute("SELECT count(*) FROM stocks").fetchone()[0] == 0
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM stocks").fetchone()[0] == 3
    reader.close()
    db.close()


def test_mark_done_carries_progress_over(db):
    first = store.start_run(db, T1)
    store.record_failure(db, "GOOGL", "Timeout", "timed out", T1, first)
    second = store.start_run(db, T2, resumed_from=first)
    store.mark_done(db, second, ["AAPL", "MSFT"], T2)
    store.record_failure(db, "AAPL", "Timeout", "late", T2, second)
    progress = {
        (r["run_id"], r["symbol"]): r["status"] for r in db.query("SELECT * FROM run_progress")
    }
    assert progress == {
        (first, "GOOGL"): "failed",
        (second, "AAPL"): "done",
        (second, "MSFT"): "done",
    }


def test_open_readonly_writes_nothing(tmp_path):
    path = tmp_path / "stocks.db"
    assert store.open_readonly(path) is None
    assert list(tmp_path.iterdir()) == []

    db = store.open_db(path)
    store.save_symbol_list(db, ["AAPL", "MSFT"], "github", T1)
    store.save_stock(db, aapl(), T1)
    db.close()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    ro = store.open_readonly(path)
    assert store.last_good_symbol_list(ro) == (["AAPL", "MSFT"], T1)
    assert set(store.symbol_states(ro)) == {"AAPL"}
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.save_symbol_list(ro, ["AAPL"], "github", T2)
    ro.close()
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before

    # While a writer has the database open, its committed data is visible.
    writer = store.open_db(path)
    store.save_symbol_list(writer, ["AAPL", "MSFT", "NVDA"], "github", T2)
    ro = store.open_readonly(path)
    assert store.last_good_symbol_list(ro) == (["AAPL", "MSFT", "NVDA"], T2)
    ro.close()
    writer.close()


def test_open_readonly_skips_a_database_that_needs_migrating(tmp_path):
    path = tmp_path / "stocks.db"
    old = sqlite_utils.Database(path)
    store.migrate(old, target=1)
    old.close()
    assert store.open_readonly(path) is None
    with sqlite_utils.Database(path) as unchanged:
        assert store.schema_version(unchanged) == 1


def test_a_stocks_data_checks_are_replaced_with_its_rows(tmp_path):
    db = store.open_db(tmp_path / "stocks.db")
    failed = {"year": 2023, "period": "Q2", "expected": 1.5, "found": 0.0015, "severity": "error"}
    first = aapl()
    first.checks = [
        {**failed, "check": "eps_vs_net_income"},
        {**failed, "check": "diluted_shares_jump"},
    ]
    store.save_stock(db, first, T1)
    stored = db.execute('SELECT "check", severity, last_updated FROM data_checks').fetchall()
    assert sorted(stored) == [
        ("diluted_shares_jump", "error", T1),
        ("eps_vs_net_income", "error", T1),
    ]
    assert store.check_counts(db) == [
        ("diluted_shares_jump", 1, 1, ["AAPL"]),
        ("eps_vs_net_income", 1, 1, ["AAPL"]),
    ]
    store.save_stock(db, StockData(symbol="AAPL", kinds={"market"}), T2)  # facts not read
    assert db.execute("SELECT COUNT(*) FROM data_checks").fetchone()[0] == 2
    again = aapl()
    again.checks = [{**failed, "check": "eps_vs_net_income"}]
    store.save_stock(db, again, T2)
    assert db.execute('SELECT "check", last_updated FROM data_checks').fetchall() == [
        ("eps_vs_net_income", T2)
    ]
    again.checks = []
    store.save_stock(db, again, T3)
    assert store.check_counts(db) == []
    db.close()


def test_migration_4_gives_every_refreshed_stock_the_run_wide_cursor(tmp_path):
    path = tmp_path / "stocks.db"
    old = sqlite_utils.Database(path)
    store.migrate(old, target=3)
    old.execute("INSERT INTO job_state (key, value) VALUES ('daily_index_through', '2026-11-17')")
    old.execute("INSERT INTO symbol_state (symbol, last_success) VALUES ('AAPL', ?)", [T1])
    old.execute("INSERT INTO symbol_state (symbol, last_attempt) VALUES ('NEW', ?)", [T1])
    old.conn.commit()
    old.close()
    db = store.open_db(path)
    states = store.symbol_states(db)
    assert states["AAPL"]["changes_known_through"] == "2026-11-17"
    assert states["NEW"]["changes_known_through"] is None  # never refreshed: asked in full
    assert db.execute("SELECT count(*) FROM job_state").fetchone()[0] == 0
    db.close()
