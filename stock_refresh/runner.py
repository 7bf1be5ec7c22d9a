"""One refresh run: lock, backup, store, symbols, plan, refresh with a pool of fetching workers
(fetch.py) and this thread as the single writer (store.py), retry pass, report."""

import ctypes
import dataclasses
import logging
import os
import sqlite3
import sys
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from . import clock, market_calendar, store, yahoo
from .backup import BackupError, backup_database
from .bulk import BulkFacts
from .changes import IndexScan, changed_companies, last_published_day, scan_daily_indexes
from .dashboard import write_dashboard
from .fetch import (
    Sources,
    fetch_filing_sections,
    fetch_market_data,
    fetch_profile,
    fetch_quote,
    fetch_stock_data,
    without_yahoo_debt_to_equity,
)
from .files import os_error_line
from .http import UnknownSymbol, UpstreamError, Upstreams
from .limiter import wall_seconds
from .lock import LockError, LockHeld, RunLock, lock_path_for
from .logs import DETAIL_LOGGER, LogError, Progress, setup_logging
from .metrics import write_metrics
from .models import StockData
from .notify import notify_run_result, ping
from .plan import ALL_KINDS, EDGAR_KINDS, MARKET_ONLY, plan_run
from .report import RunStats, build_report, write_report
from .stop import Terminated, ignore_sigterm
from .symbols import SymbolListError, choose_symbols, clean_symbols, fetch_symbol_lists
from .yahoo import QUOTE_BATCH

log = logging.getLogger("stock_refresh")

EXIT_OK, EXIT_FAILED, EXIT_SOME_FAILED, EXIT_LOCKED = 0, 1, 3, 75
NOT_RETRIED = {"NotFound", "UnknownSymbol"}


@dataclass
class Options:
    dry_run: bool = False
    limit: int | None = None
    symbols: list[str] | None = None
    force: bool = False
    verbose: bool = False


class Abort(Exception):
    """The run must stop now; the message becomes the report's abort reason."""


def lock_path(config) -> Path:
    return lock_path_for(config.database.path)


M_ARENA_MAX = -8  # glibc mallopt parameter
MALLOC_ARENAS = 2


def cap_malloc_arenas() -> None:
    """glibc gives threads malloc arenas of their own (up to eight per core); with dozens of
    fetching threads each briefly holding megabytes, freed memory stays scattered over all of
    them and the peak grows with the worker count. Two arenas keep it near what is in use."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


# The interpreter lock changes hands every 5 ms by default: a fetching thread whose turn at the
# limiter has come may wait that long behind a thread saving or decoding, and a request sent
# late holds its window's place late, which the next window's requests then wait for
SWITCH_INTERVAL = 0.001


def run(config, options: Options) -> int:
    if not config.enabled:
        print("refresh is disabled in the config (enabled: false); nothing done", file=sys.stderr)
        return EXIT_OK
    if options.dry_run:
        setup_logging(config, options.verbose, to_file=False)
        return dry_run(config, options)
    old_umask = os.umask(0o077)
    refresh = Refresh(config, options)
    try:
        setup_logging(config, options.verbose)
        for warning in config_warnings(config):
            log.warning("config: %s", warning)
        if market_calendar.market_open_now(clock.started()):
            log.warning("the NYSE is open now: prices fetched by this run are intraday")
        with RunLock(lock_path(config)):
            cap_malloc_arenas()
            sys.setswitchinterval(SWITCH_INTERVAL)
            ping(config.notifications, "start")
            return refresh.run()
    except LockHeld as error:
        print(error, file=sys.stderr)
        log.warning("%s", error)
        return EXIT_LOCKED
    except (LogError, LockError, Terminated) as error:
        return refresh.not_started(str(error))
    finally:
        os.umask(old_umask)


def config_warnings(config) -> list[str]:
    """The loader's warnings plus a schedule that would fetch intraday prices."""
    warnings = list(config.warnings)
    scheduling = config.scheduling
    if market_calendar.run_time_in_market_hours(
        scheduling.run_time, scheduling.timezone, clock.today()
    ):
        warnings.append(
            f"scheduling.run_time {scheduling.run_time} ({scheduling.timezone}) falls "
            "inside NYSE trading hours: prices would be intraday"
        )
    return warnings


def symbol_urls(config) -> dict[str, str]:
    return {"nyse": config.sources.nyse_symbols_url, "nasdaq": config.sources.nasdaq_symbols_url}


def load_symbols(config, upstreams: Upstreams, last_good) -> tuple[list[str], dict, list[str]]:
    """(symbols, where they came from, fresh list or None) with the last-good fallback."""
    fetched, error = None, None
    try:
        raw = fetch_symbol_lists(upstreams, symbol_urls(config))
        fetched = clean_symbols(raw, config.sources.include_non_common) or None
        error = None if fetched else "the lists hold no usable symbol"
    except UpstreamError as exc:
        error = str(exc)
    symbols, source, warning = choose_symbols(fetched, last_good, error)
    if warning:
        log.warning("%s", warning)
    info = {
        "source": source,
        "count": len(symbols),
        "warning": warning,
        "last_good_fetched_at": last_good[1] if last_good and source == "last_good" else None,
    }
    return symbols, info, fetched if source == "github" else None


def select(symbols: list[str], options: Options) -> list[str]:
    """--symbols picks given symbols (even ones not on the lists); --limit keeps the first N."""
    if options.symbols:
        symbols = sorted({s.strip().upper() for s in options.symbols if s.strip()})
    return symbols[: options.limit] if options.limit else symbols


# A stock whose changes are known only through an older day is asked directly instead (one that
# keeps failing would otherwise make every night read more indexes).
SCAN_AT_MOST = timedelta(days=14)


def scan_changes(
    upstreams: Upstreams, states: dict, symbols: list[str], force: bool, now
) -> IndexScan | None:
    """SEC's daily indexes since the oldest cursor of `symbols`; None on a first run or
    `--force` (every company is asked)."""
    cursors = [c for s in symbols if (c := (states.get(s) or {}).get("changes_known_through"))]
    if force or not cursors:
        return None
    since = max(date.fromisoformat(min(cursors)), last_published_day(now) - SCAN_AT_MOST)
    return scan_daily_indexes(upstreams, since, now)


def known_through(scan: IndexScan | None, started) -> str:
    """The day a stock saved tonight has its SEC changes known through: the scan's last day,
    or, when its submissions were asked (no scan, or an unknown one), the last published day."""
    if scan is not None and scan.filed is not None:
        return scan.through.isoformat()
    return last_published_day(started).isoformat()


# A stock's data in parts, each saved in a transaction of its own; the screen reads the first two.
# When SEC's archive gives a company's facts, its filings are a part of their own ("filings",
# with the same kinds: companyfacts is asked again only for a filing newer than the archive).
PARTS = {
    "market": MARKET_ONLY,
    "facts": frozenset({"fundamentals", "filings"}),
    "profile": frozenset({"profile"}),
    "sections": frozenset({"sections"}),
}
SCREEN_PARTS = frozenset({"market", "facts"})
# The parts each lane runs, first things first ("quote": a stock's own market data when its
# batch failed or left it out; "archived": facts read from SEC's archive, which asks no upstream
# and waits for the download). A stock without a CIK has its facts from Yahoo's statements: few
# enough to let them share SEC's lane.
LANES = {
    "yahoo": ("quote", "market", "profile"),
    "edgar": ("facts", "filings", "sections"),
    "archive": ("archived",),
}
LANE_OF = {part: lane for lane, parts in LANES.items() for part in parts}
SAVED_AS = {"quote": "market", "archived": "facts"}
# Archive members are parsed in the one helper process: one on its way and one ready keep it busy
ARCHIVE_IN_FLIGHT = 2
# Parts saved per round of the loop once the screen is ready; all at once would keep the loop
# from sending new requests for seconds
HELD_PER_ROUND = 8


@dataclass
class Work:
    """One pass over the stocks due: each stock's parts still to save, the queued and the
    running parts, and what parts hand on to each other."""

    progress: Progress | None = None
    parts: dict[str, set[str]] = field(default_factory=dict)  # popped when the stock fails
    screen_left: int = 0  # screen parts not yet saved (or dropped with their stock)
    queues: dict[str, deque] = field(default_factory=lambda: {p: deque() for p in LANE_OF})
    pending: dict[Future, tuple[str, list[str]]] = field(default_factory=dict)
    held: deque[tuple[str, StockData]] = field(default_factory=deque)  # until screener-ready
    yahoo_d_e_stands: dict[str, bool] = field(default_factory=dict)
    filings: dict[str, tuple[int, list[dict]]] = field(default_factory=dict)  # for sections
    sections_queued: set[str] = field(default_factory=set)

    def queue(self, part: str, symbols: list[str]) -> None:
        self.queues[part].append(symbols)


class Refresh:
    def __init__(self, config, options: Options):
        self.config = config
        self.options = options
        self.force = options.force or config.processing.force_refresh
        self.upstreams = Upstreams.from_config(config)
        self.sources: Sources | None = None  # made by run(): it starts threads and a helper
        self.stats = RunStats(started=clock.started())
        self.consecutive_failures = 0
        self.retrying = False
        self.plans: dict[str, frozenset] = {}
        self.states: dict[str, dict] = {}
        self.work = Work()
        self.changes_known_through: str | None = None  # saved with each stock (see changes.py)
        self.archive_first: set[str] = set()  # facts from SEC's archive, filings after the screen
        self.archive_compiled: date | None = None

    def run(self) -> int:
        config = self.config
        status, exit_code, abort_reason = "completed", EXIT_OK, None
        symbol_info: dict = {}
        db = run_id = resumed_from = scan = None
        try:
            yahoo.configure(yahoo.default_cache_dir(config.path.parent))
            self.sources = Sources.create(self.upstreams)
            if config.database.backup_before_run:
                backup = backup_database(
                    config.database.path,
                    config.database.backup_directory,
                    config.database.keep_last_n_backups,
                    self.stats.started,
                    full_every=config.database.full_backup_every,
                )
                if backup:
                    log.info("backup written to %s", backup)
                    self.stats.backup = backup.summary()
            db = store.open_db(config.database.path)
            unfinished = store.unfinished_run(db)
            if unfinished:
                resumed_from = unfinished["id"]
                store.mark_run_interrupted(db, resumed_from, self._now())
            run_id = store.start_run(db, self.stats.started.isoformat(), resumed_from=resumed_from)
            self.states = store.symbol_states(db)
            if self.force or not self.states:  # a cold run: every stock needs its CIK
                self.sources.ciks.load_in_background()
            symbols, symbol_info, fresh = load_symbols(
                config, self.upstreams, store.last_good_symbol_list(db)
            )
            if fresh:
                store.save_symbol_list(db, fresh, "github", self._now())
            symbols = select(symbols, self.options)
            self.stats.total = len(symbols)
            if resumed_from:
                symbols = self._resume(db, resumed_from, run_id, symbols)
            scan = scan_changes(
                self.upstreams, self.states, symbols, self.force, self.stats.started
            )
            self.changes_known_through = known_through(scan, self.stats.started)
            self._plan(symbols, scan)
            self._bulk_facts(symbols)
            self._archive_first(symbols)
            self._dashboard(db, live_run=run_id)
            self._refresh(db, run_id, [s for s in symbols if self.plans[s]])
            if config.error_handling.retry_failed_stocks:
                self._retry_pass(db, run_id)
            if self.stats.failures and not self.stats.successful:
                status, exit_code = "failed", EXIT_FAILED
                abort_reason = "every stock failed"
            elif any(kind not in NOT_RETRIED for kind, _ in self.stats.failures.values()):
                exit_code = EXIT_SOME_FAILED  # an upstream fault, not a symbol gone
        except (Terminated, KeyboardInterrupt) as error:
            status, exit_code = "interrupted", EXIT_FAILED
            abort_reason = str(error) or "interrupted (Ctrl-C)"
            log.error(
                "run interrupted: %s; the next run resumes where this one stopped",
                abort_reason,
            )
        except (Abort, SymbolListError, BackupError) as error:
            status, exit_code, abort_reason = "aborted", EXIT_FAILED, str(error)
            log.error("run aborted: %s", error)
        except sqlite3.Error as error:
            hint = " (is the disk full or the file unwritable?)"
            abort_reason = f"database error on {config.database.path}: {error}" + (
                hint if isinstance(error, sqlite3.OperationalError) else ""
            )
            status, exit_code = "aborted", EXIT_FAILED
            log.error("run aborted: %s", abort_reason)
        except OSError as error:
            status, exit_code = "aborted", EXIT_FAILED
            abort_reason = f"cannot write {os_error_line(error)}"
            log.error("run aborted: %s", abort_reason)
        except Exception as error:  # a defect: still one line, a report and a closed run row
            status, exit_code = "aborted", EXIT_FAILED
            abort_reason = f"unexpected {type(error).__name__}: {error}"
            log.error("run aborted: %s", abort_reason)
            logging.getLogger(DETAIL_LOGGER).error("traceback", exc_info=error)
        finally:
            ignore_sigterm()  # the run's end is written whole; SIGKILL still ends a hang
            if self.sources:
                self.sources.close()
                self.stats.helper_peak_rss_mb = self.sources.parser.peak_rss_mb
                if self.sources.bulk:
                    self.stats.companyfacts_zip = self.sources.bulk.summary(
                        self.stats.clock_started
                    )
        return self._finish(db, run_id, resumed_from, status, exit_code, abort_reason, symbol_info)

    def not_started(self, reason: str) -> int:
        """A run stopped before it opened the database (its log or lock file unusable, or
        SIGTERM): one line, and the report, metrics and notifications of an aborted run."""
        ignore_sigterm()
        log.error("run aborted: %s", reason)
        return self._finish(None, None, None, "aborted", EXIT_FAILED, reason, {})

    def _now(self) -> str:
        return clock.now().isoformat()

    def _resume(self, db, resumed_from: int, run_id: int, symbols: list[str]) -> list[str]:
        done = store.run_done_symbols(db, resumed_from)
        store.mark_done(db, run_id, sorted(done), self._now())
        already = sorted(done & set(symbols))
        self.stats.skipped += already
        log.info(
            "resuming run %d: %d stocks already done, %d to go",
            resumed_from,
            len(already),
            len(symbols) - len(already),
        )
        self.stats.notes.append(
            f"resumed run {resumed_from}: skipped {len(already)} stocks it had finished"
        )
        return [s for s in symbols if s not in done]

    def _plan(self, symbols: list[str], scan: IndexScan | None) -> None:
        if scan:
            self.stats.notes += scan.notes
            if scan.ciks is not None:
                log.info(
                    "SEC daily indexes of %d days read: %d companies filed",
                    scan.days_read,
                    len(scan.ciks),
                )
        changed = changed_companies(scan, self.states, symbols)
        self.plans, reasons = plan_run(
            symbols, self.states, self.stats.started, self.force, changed
        )
        for reason, count in reasons.most_common():
            log.info("%d stocks: %s", count, reason)
        self.stats.plan = dict(reasons.most_common())
        self.stats.skipped += [s for s in symbols if not self.plans[s]]

    def _bulk_facts(self, symbols: list[str]) -> None:
        """SEC's companyfacts.zip instead of one request per company, when at least
        `sources.companyfacts_zip_from` companies need their facts (see bulk.py); it downloads
        while the rest of the run goes on, and the facts wait for it."""
        least = self.config.sources.companyfacts_zip_from
        needing = sum(1 for s in symbols if "fundamentals" in self.plans[s])
        if not least or needing < least:
            return
        log.info(
            "%d companies need their facts (%d or more): SEC's companyfacts.zip instead of one "
            "request each",
            needing,
            least,
        )
        folder = yahoo.default_cache_dir(self.config.path.parent).parent / "sec"
        self.sources.bulk = BulkFacts(self.upstreams, folder)
        self.sources.bulk.start()

    def _archive_first(self, symbols: list[str]) -> None:
        """The stocks whose facts SEC's archive gives before their filings are asked: those
        with no facts stored (the others' submissions tell whether their facts changed) of the
        companies SEC's daily indexes show filing nothing since the archive was compiled. A
        filing too new for the indexes read is caught by the filings part (see PARTS)."""
        bulk = self.sources.bulk
        compiled = bulk.compiled_on() if bulk else None
        if compiled is None:
            return
        scan = scan_daily_indexes(self.upstreams, compiled - timedelta(days=1), self.stats.started)
        if scan.filed is None:
            log.info("%s: every company's filings are asked before its facts", scan.notes[-1])
            return
        ciks = self.sources.ciks
        self.archive_compiled = compiled
        self.archive_first = {
            s
            for s in symbols
            if "fundamentals" in self.plans[s]
            and store.known(None if self.force else self.states.get(s)).latest_filing is None
            and (cik := ciks.cik(s))
            and cik not in scan.filed
        }
        log.info(
            "companyfacts.zip compiled %s: %d stocks' facts from it before their filings",
            compiled,
            len(self.archive_first),
        )

    def _refresh(self, db, run_id: int, symbols: list[str]) -> None:
        """Each stock's data in parts, what the screen reads first: market data (QUOTE_BATCH
        stocks per Yahoo request) and the earnings history for every stock (with the filings,
        unless SEC's archive gives the facts), then profiles, filings and filing sections. Each
        part is saved whole in a transaction of its own; a stock is done when all its parts
        are, and once one fails its later parts are not saved (it is retried whole). The parts
        go out in lanes, one per upstream, so SEC's requests never wait behind Yahoo's pacing
        or the other way round, nor the archive's reading behind either."""
        processing = self.config.processing
        self.work = Work(progress=Progress(len(symbols), log, processing.batch_size))
        work = self.work
        for symbol in symbols:
            plan = self.plans[symbol]
            work.parts[symbol] = {part for part, kinds in PARTS.items() if plan & kinds}
            if symbol in self.archive_first:
                work.parts[symbol].add("filings")
            work.screen_left += len(work.parts[symbol] & SCREEN_PARTS)
        if any(parts & {"facts", "sections"} for parts in work.parts.values()):
            self.sources.parser.start()
        quoted = [s for s in symbols if "market" in work.parts[s]]
        for i in range(0, len(quoted), QUOTE_BATCH):
            work.queue("market", quoted[i : i + QUOTE_BATCH])
        for symbol in symbols:
            if "facts" in work.parts[symbol]:
                work.queue("archived" if symbol in self.archive_first else "facts", [symbol])
        for part in ("filings", "profile"):
            for symbol in symbols:
                if part in work.parts[symbol]:
                    work.queue(part, [symbol])
        log.info(
            "refreshing %d stocks; phase 1 of 2, what the screen reads: market data for %d "
            "stocks in %d quote requests, earnings history for %d (%d from SEC's archive); then "
            "profiles, filings and filing sections",
            len(symbols),
            len(quoted),
            len(work.queues["market"]),
            len(work.queues["facts"]) + len(work.queues["archived"]),
            len(work.queues["archived"]),
        )
        self._screen_ready_check(db, run_id)
        try:
            self._work(db, run_id)
        finally:
            work.progress.close()

    def _screen_ready_check(self, db, run_id: int, top_up=None) -> None:
        """Once the screen's parts of every stock are saved (or failed): say so, note when,
        and save the parts that waited for it (topping the lanes up after each)."""
        work = self.work
        if work.screen_left or self.stats.screener_ready_at is not None and not work.held:
            return
        if self.stats.screener_ready_at is None:
            self.stats.screener_ready_at = round(time.monotonic() - self.stats.clock_started, 3)
            log.info(
                "screener-ready after %.1f s: every stock due has its market data and earnings "
                "history (or has failed); phase 2 of 2: %d stocks' profiles, filings and filing "
                "sections",
                self.stats.screener_ready_at,
                sum(1 for parts in work.parts.values() if parts),
            )
        # a slice at a time: the loop that saves them also keeps the lanes' requests going
        for _ in range(min(HELD_PER_ROUND, len(work.held))):
            self._saved(db, run_id, *work.held.popleft())
            if top_up:
                top_up()

    def _run_task(self, part: str, symbols: list[str]) -> list[StockData]:
        if part == "market":
            return fetch_market_data(symbols, self.sources)
        symbol = symbols[0]
        if part == "quote":
            return [fetch_quote(symbol, self.sources)]
        if part == "profile":
            return [fetch_profile(symbol, self.sources)]
        known = store.known(None if self.force else self.states.get(symbol))
        if part == "facts":
            return [fetch_stock_data(symbol, self.sources, self.plans[symbol] & PARTS[part], known)]
        if part == "archived":
            return [fetch_stock_data(symbol, self.sources, {"fundamentals"}, known)]
        if part == "filings":
            if "filings" not in self.work.parts.get(symbol, ()):
                return []  # its facts were asked with the filings after all (see `_saved`)
            known = dataclasses.replace(known, facts_filed_before=self.archive_compiled.isoformat())
            return [fetch_stock_data(symbol, self.sources, PARTS["facts"], known)]
        cik, filings = self.work.filings.pop(symbol)
        return [fetch_filing_sections(symbol, cik, filings, self.sources, known)]

    def _work(self, db, run_id: int) -> None:
        """Run the queued parts on the worker pool, each lane with as many on their way as its
        upstream's rate needs at the latency measured so far (together at most `max_workers`:
        more would only queue at the limiters); this thread saves."""
        processing, work = self.config.processing, self.work
        pool = ThreadPoolExecutor(processing.max_workers, thread_name_prefix="fetch")
        paused_at = 0
        try:
            while work.pending or work.held or any(work.queues.values()):
                self._dispatch(pool)
                self._collect(db, run_id, top_up=lambda: self._dispatch(pool))
                batch = work.progress.done // processing.batch_size
                if processing.delay_between_batches_seconds and batch > paused_at:
                    paused_at = batch
                    while work.pending:
                        self._collect(db, run_id)
                    if any(work.queues.values()):
                        time.sleep(processing.delay_between_batches_seconds)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        """Top each lane up to as many parts on their way as its window allows. An answer in
        that has not been saved yet no longer holds its upstream's window (a round saving
        eight quote batches takes most of a second, which would leave Yahoo idle), unless
        more than `max_workers` of them wait: then saving comes first."""
        work, most = self.work, self.config.processing.max_workers
        on_their_way = Counter(
            LANE_OF[part] for future, (part, _) in work.pending.items() if not future.done()
        )
        if len(work.pending) - on_their_way.total() > most:
            return
        reading = ARCHIVE_IN_FLIGHT if self._archive_read() else 0
        windows = self.upstreams.in_flight_needed(max(2, most - reading))
        windows["archive"] = reading
        for lane, parts in LANES.items():
            for part in parts:
                queue = work.queues[part]
                while queue and on_their_way[lane] < windows[lane]:
                    symbols = queue.popleft()
                    future = pool.submit(self._run_task, part, symbols)
                    work.pending[future] = (part, symbols)
                    on_their_way[lane] += 1

    def _archive_read(self) -> bool:
        """Whether the archive's facts may be read: once it is downloaded. When it could not be
        had, the stocks waiting for it have their facts asked with their filings instead."""
        bulk, queues = self.sources.bulk, self.work.queues
        if not queues["archived"] or not bulk.ready():
            return False
        if bulk.archive() is None:
            for (symbol,) in queues["archived"]:
                queues["facts"].append([symbol])
                self.work.parts[symbol].discard("filings")
            queues["archived"].clear()
        return True

    def _collect(self, db, run_id: int, top_up=None) -> None:
        """Save what has come in; `top_up` is called after each answer and each stock saved, so
        that saving many (a quote batch is 50 stocks, a third of a second) never leaves a lane
        with nothing on its way (a paced lane has only a few waiting)."""
        work = self.work
        waiting = bool(work.queues["archived"])  # to look again once the archive is in
        if waiting and not work.pending:
            self.sources.bulk.archive()
            return
        done, _ = wait(
            list(work.pending), timeout=0.1 if waiting else None, return_when=FIRST_COMPLETED
        )
        batches_before = work.progress.done // self.config.processing.batch_size
        for future in done:
            part, symbols = work.pending.pop(future)
            if top_up:
                top_up()
            try:
                results = future.result()
            except Exception as error:  # a stock's failure must never stop the others
                # a stock with parts of its own asks its own quote
                failing = self._ask_alone(symbols) if part == "market" else symbols
                failed = [s for s in failing if self._fail(db, run_id, s, error)]
                if failed:
                    self._breaker(failed[0], self.stats.failures[failed[0]][0])
                continue
            for data in results:
                self._hand_on(data)
                self._saved(db, run_id, SAVED_AS.get(part, part), data)
                if top_up:
                    top_up()
            if part != "market":
                continue
            answered = {data.symbol for data in results}
            for symbol in self._ask_alone(s for s in symbols if s not in answered):
                self._fail(
                    db,
                    run_id,
                    symbol,
                    UnknownSymbol(f"unknown symbol {symbol}: not in Yahoo's quote answer"),
                )
        self._screen_ready_check(db, run_id, top_up)
        if work.progress.done // self.config.processing.batch_size != batches_before:
            self._dashboard(db, live_run=run_id)

    def _ask_alone(self, symbols) -> list[str]:
        """Queue its own quote for each stock of `symbols` that has parts other than market
        data (the answer tells why Yahoo left it out); the market-only ones are returned."""
        market_only = []
        for symbol in symbols:
            if self.work.parts.get(symbol, set()) - {"market"}:
                self.work.queue("quote", [symbol])
            else:
                market_only.append(symbol)
        return market_only

    def _hand_on(self, data: StockData) -> None:
        """Queue a stock's sections as soon as its filings list is in (saved or still held)."""
        work, symbol = self.work, data.symbol
        if (
            "filings" in data.kinds
            and data.cik
            and "sections" in work.parts.get(symbol, ())
            and symbol not in work.sections_queued
        ):
            work.sections_queued.add(symbol)
            work.filings[symbol] = (data.cik, data.filings)
            work.queue("sections", [symbol])

    def _saved(self, db, run_id: int, part: str, data: StockData) -> None:
        """Save one part of a stock. Profiles, filings and sections wait until the screen's
        parts of every stock are in (a profile's D/E then knows whether a filed one was found
        tonight, and facts asked again after SEC's archive replace the archive's)."""
        work, symbol = self.work, data.symbol
        parts = work.parts.get(symbol)
        if not parts or part not in parts:
            return  # the stock failed meanwhile (it is retried whole), or the part was saved
        if part not in SCREEN_PARTS and work.screen_left:
            work.held.append((part, data))
            return
        if part == "profile" and not work.yahoo_d_e_stands.get(symbol, not data.cik):
            data = without_yahoo_debt_to_equity(data)
        parts.discard(part)
        if part in SCREEN_PARTS:
            work.screen_left -= 1
        if part == "facts":
            # Yahoo's D/E may stand only when tonight's filed figures have none
            work.yahoo_d_e_stands[symbol] = (
                "fundamentals" in data.kinds and "debt_to_equity" not in data.metrics
            )
            if not data.cik:
                parts.discard("sections")  # no filings to take sections from
            if "filings" in data.kinds:
                parts.discard("filings")  # asked with the facts: the archive lacked them
        self._save(db, run_id, data, done=not parts)

    def _fail(self, db, run_id: int, symbol: str, error: Exception) -> bool:
        """Record a stock's failure (once: its other parts are dropped); False if it had
        failed already in this pass."""
        work = self.work
        parts = work.parts.pop(symbol, None)
        if parts is None:
            return False
        work.screen_left -= len(parts & SCREEN_PARTS)
        work.filings.pop(symbol, None)
        kind = getattr(error, "kind", type(error).__name__)
        final = (
            self.retrying
            or kind in NOT_RETRIED
            or not self.config.error_handling.retry_failed_stocks
        )
        log.log(
            logging.ERROR if final else logging.WARNING,
            "%s failed: %s: %s%s",
            symbol,
            kind,
            error,
            "" if final else " (retried at the end of the run)",
        )
        log.debug("%s traceback", symbol, exc_info=error)
        self.stats.record_failure(symbol, kind, str(error))
        store.record_failure(db, symbol, kind, str(error), self._now(), run_id)
        work.progress.advance(False)
        return True

    def _save(self, db, run_id: int, data: StockData, done: bool) -> None:
        """Save one part of a stock in one transaction; `done`: its last part tonight."""
        for note in data.notes:
            log.info("%s: %s", data.symbol, note)
        store.save_stock(
            db,
            data,
            self._now(),
            run_id,
            changes_known_through=self.changes_known_through,
            complete=done,
        )
        self.stats.record_checks(data.checks, data.checks_run)
        self.consecutive_failures = 0
        if done:
            self.stats.record_success(data.symbol)
            self.work.progress.advance(True)

    def _dashboard(self, db, live_run: int | None = None, report: dict | None = None) -> None:
        """The dashboard page; failing to write it never changes how the run ends."""
        try:
            write_dashboard(self.config, db, clock.now(), live_run, report)
        except Exception:
            log.exception("dashboard not written")

    def _monitoring(self, db, report: dict) -> None:
        """Metrics and the dashboard after every run, aborted ones too: only logged on failure.
        A run that stopped before opening the database reads it read-only."""
        path = self.config.database.path
        readonly = None
        try:
            readonly = None if db is not None else store.open_readonly(path)
        except sqlite3.Error as error:  # damaged: the metrics still say how the run ended
            log.warning("database not readable for the metrics and dashboard: %s", error)
        try:
            write_metrics(self.config.reporting, report, db or readonly, path)
        except Exception:
            log.exception("metrics not written")
        self._dashboard(db or readonly, report=report)
        if readonly is not None:
            readonly.close()

    def _breaker(self, symbol: str, kind: str) -> None:
        handling = self.config.error_handling
        self.consecutive_failures += 1
        if not handling.continue_on_error:
            raise Abort(f"{symbol} failed ({kind}) and error_handling.continue_on_error is false")
        if self.consecutive_failures >= handling.max_consecutive_failures:
            raise Abort(
                f"{self.consecutive_failures} consecutive failures "
                f"(error_handling.max_consecutive_failures), last: {symbol} {kind}"
            )

    def _retry_pass(self, db, run_id: int) -> None:
        again = sorted(s for s, (kind, _) in self.stats.failures.items() if kind not in NOT_RETRIED)
        if not again:
            return
        log.info("retry pass over %d failed stocks", len(again))
        self.stats.retried = again
        self.consecutive_failures = 0
        self.retrying = True
        # Each request already had its retries; this pass is one more attempt per request,
        # after the upstream has had the rest of the run to recover, not another round of them
        self.upstreams.retries = 0
        self._refresh(db, run_id, again)

    def _finish(
        self, db, run_id, resumed_from, status, exit_code, abort_reason, symbol_info
    ) -> int:
        ended = clock.now()
        report = build_report(
            self.stats,
            ended,
            status=status,
            exit_code=exit_code,
            abort_reason=abort_reason,
            upstreams=self.upstreams.summary(),
            wait_wall_seconds=wall_seconds(
                *(limiter.wait_spans for limiter in self.upstreams.limiters.values() if limiter)
            ),
            symbol_source=symbol_info,
            run_id=run_id,
            resumed_from=resumed_from,
        )
        report_path = None
        if self.config.reporting.generate_summary:
            try:
                report_path = write_report(
                    report,
                    self.config.reporting.summary_directory,
                    self.config.reporting.keep_last_n_reports,
                    ended,
                )
                log.info("report written to %s", report_path)
            except OSError as error:
                failure = f"report not written: {os_error_line(error)}"
                log.error("run failed: %s", failure)
                exit_code = EXIT_FAILED
                status = "interrupted" if status == "interrupted" else "failed"
                abort_reason = f"{abort_reason}; {failure}" if abort_reason else failure
                report.update(status=status, exit_code=exit_code, abort_reason=abort_reason)
        if db is not None and run_id is not None and status != "interrupted":
            # an interrupted run stays 'running', like a killed one, so the next run resumes it
            try:
                store.finish_run(
                    db,
                    run_id,
                    ended.isoformat(),
                    status,
                    exit_code,
                    {k: report[k] for k in ("total_stocks", "successful", "failed", "skipped")},
                    abort_reason=abort_reason,
                    report_path=str(report_path) if report_path else None,
                )
            except sqlite3.Error as error:
                log.error("run %d not closed in the database: %s", run_id, error)
                exit_code = report["exit_code"] = EXIT_FAILED
        self._monitoring(db, report)
        notify_run_result(
            self.config.notifications, report, self.config.logging.log_directory, report_path
        )
        log.info(
            "run %s %s: %d ok, %d failed, %d skipped in %.1f s (exit %d)",
            run_id,
            status,
            report["successful"],
            report["failed"],
            report["skipped"],
            report["duration_seconds"],
            exit_code,
        )
        return exit_code


def estimate_requests(plans: dict[str, frozenset], zip_from: int = 0) -> dict[str, int]:
    """Rough request counts per upstream: a new stock costs submissions, companyfacts and two
    documents (companyfacts from SEC's archive, one request, when at least `zip_from` need
    it); a changed one about two; market data a share of a batched quote; a profile one."""
    kinds = list(plans.values())
    edgar = sum(4 if k == ALL_KINDS else 2 for k in kinds if k & EDGAR_KINDS)
    facts = sum(1 for k in kinds if "fundamentals" in k)
    if zip_from and facts >= zip_from:
        edgar += 1 - sum(1 for k in kinds if k == ALL_KINDS)
    quoted = sum(1 for k in kinds if "market" in k)
    profiles = sum(1 for k in kinds if "profile" in k)
    yahoo_requests = -(-quoted // QUOTE_BATCH) + profiles
    return {
        "edgar": edgar + (1 if edgar else 0),
        "yahoo": yahoo_requests + (2 if yahoo_requests else 0),
    }


def dry_run(config, options: Options) -> int:
    """Print what a run would do; write nothing at all (no db, no lock, no backup, no report)."""
    upstreams = Upstreams.from_config(config)
    db = store.open_readonly(config.database.path)
    last_good = store.last_good_symbol_list(db) if db else None
    try:
        symbols, info, _ = load_symbols(config, upstreams, last_good)
    except SymbolListError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    symbols = select(symbols, options)
    force = options.force or config.processing.force_refresh
    now = clock.started()
    states = store.symbol_states(db) if db else {}
    scan = scan_changes(upstreams, states, symbols, force, now)
    plans, reasons = plan_run(symbols, states, now, force, changed_companies(scan, states, symbols))
    requests = estimate_requests(plans, config.sources.companyfacts_zip_from)
    requests["edgar"] += scan.days_read if scan else 0
    rl = config.rate_limiting
    seconds = max(
        requests["edgar"] / rl.edgar_requests_per_second,
        requests["yahoo"] * rl.yfinance_delay_seconds,
    )
    batches = -(-len(symbols) // config.processing.batch_size)
    print(
        f"dry run: {len(symbols)} stocks from {info['source']} "
        f"({info['warning'] or 'list fetched fresh'})"
    )
    print(f"first: {', '.join(symbols[:10])}")
    print(
        f"batches: {batches} of up to {config.processing.batch_size}, "
        f"{config.processing.max_workers} workers"
    )
    if scan:
        print(
            f"SEC daily indexes read through {scan.through}: "
            + (
                f"{len(scan.ciks)} companies filed"
                if scan.ciks is not None
                else "; ".join(scan.notes)
            )
        )
    for reason, count in reasons.most_common():
        print(f"stale: {count} stocks: {reason}")
    print(f"estimated requests: EDGAR about {requests['edgar']}, Yahoo about {requests['yahoo']}")
    print(f"estimated time: {seconds / 60:.1f} min at the configured rate limits")
    for check, count, stocks, first in store.check_counts(db) if db else ():
        examples = ", ".join(first)
        print(f"data check {check}: {count} rows of {stocks} stocks failed it, e.g. {examples}")
    print("nothing was written")
    return EXIT_OK
