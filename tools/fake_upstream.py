#!/usr/bin/env python3
"""Fake SEC EDGAR, Yahoo Finance and GitHub raw on loopback, for tests, the benchmark and the demo.

    python3 tools/fake_upstream.py --port PORT --companies N [--latency-ms MS] [--edgar-rps R]
                                  [--yahoo-rps R] [--faults SPEC] [--log FILE] [--seed S]
                                  [--block-seconds S] [--as-of YYYY-MM-DD] [--new-filings FRACTION]
                                  [--filings-from YYYY-MM-DD] [--cache-dir DIR]
                                  [--bandwidth-mbps MBPS]
    python3 tools/fake_upstream.py --warm --companies N --cache-dir DIR [--seed S] [--as-of D]
                                  [--new-filings FRACTION] [--processes P]

The first stdout line is `listening on http://127.0.0.1:PORT` (--port 0 picks a free port).
Hosts are told apart by the Host header: `data.sec.gov`, `data.sec.gov:PORT` and
`data.sec.gov.localhost:PORT` are the same; `http://127.0.0.1:PORT/data.sec.gov/path` works too.
Served hosts: www.sec.gov, data.sec.gov, raw.githubusercontent.com, fc.yahoo.com,
query1.finance.yahoo.com, query2.finance.yahoo.com, guce.yahoo.com, consent.yahoo.com,
finance.yahoo.com. Any other Host gets 421.

Companies (tickers as SEC and Yahoo spell them; GitHub list spelling in brackets):
  real fixtures: AAPL (320193: real companyfacts + submissions), GOOGL (1652044: real companyfacts),
  MSFT (789019) and IMNN (749647: real submissions, IMNN's page 001 too), LPA (1997711: real IFRS
  companyfacts, 20-F); missing payloads are generated consistently with the real ones.
  odd real list entries: BRK-B [BRK/B] (1067983), ECC ["ECC           "] (1604174), NA (1872302,
  20-F filer), ABR^D (a preferred: only in the NYSE list, served nowhere), EMA (Emera, Yahoo only,
  no CIK in company_tickers.json).
  synthetic: --companies N of them, ticker SYX + letters (SYN* would collide with real tickers)
  of i+1 in bijective base 26 (SYXA..SYXZ, SYXAA..), CIK 9000000+i. SYXA plain, SYXB stock
  split, SYXC IFRS 20-F, SYXD no EPS, SYXE June fiscal year, SYXF SalesRevenueNet ->
  RevenueFromContract tag switch, SYXG negative equity, SYXH older filings in a submissions
  page; later ones draw these traits at random.
SEC's nightly bulk archive: www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip holds
every served company's companyfacts (CIK##########.json, the same bytes), padded to the real
archive's size per company (1.4 GB for 5,000: 280 KB each), Last-Modified 03:00 in New York on
the as-of date, sent at --bandwidth-mbps.
AAPL's real 10-K/10-Q documents are served at their own accessions (0000320193-24-000123,
0000320193-24-000081) and also at the newest 10-K/10-Q of the AAPL submissions
(0000320193-25-000079/aapl-20250927.htm, 0000320193-26-000006/aapl-20251227.htm).

Limits (off unless the flag is given): EDGAR (both sec.gov hosts together, per client IP) answers
403 "Request Rate Threshold Exceeded" to the request that makes more than --edgar-rps in a
sliding second, then to every EDGAR request for --block-seconds (renewed while the client keeps
exceeding). A User-Agent without a name and an e-mail address always gets SEC's 403
undeclared-tool page. Yahoo hosts over --yahoo-rps answer 429 "Too Many Requests".

Disk cache: with --cache-dir DIR, generated bodies (companyfacts, submissions and their pages,
primary documents, the daily indexes of the last 120 days) are kept in DIR as gzip files and
served from there (gzip with sendfile, identity inflated on the way out), so a second fake with the
same --seed, --as-of and --new-filings and the same DIR generates nothing, and memory stays flat
whatever --companies is. DIR/<key> is per generator version, seed and as-of; companies that file on
the as-of date under --new-filings get their own files, so other --new-filings values never mix.
Files are written to a temporary name and renamed: several fakes may share DIR, and a killed
one leaves no torn file. --warm fills DIR for every company (companyfacts, submissions, pages,
newest 10-K/10-Q/20-F documents, recent daily indexes) on all cores, prints one summary line
and exits; use it before a timed run with the arguments the run will use.
"""

import argparse
import datetime as dt
import os
import signal
import sys
import threading
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeup import yahoo
from fakeup.policy import ACTIONS, Policy, SpecError, parse_faults
from fakeup.server import FakeServer, RequestLog
from fakeup.warm import warm
from fakeup.world import World

NOW_ENV = "STOCK_REFRESH_NOW"  # the job's pinned clock (stock_refresh/clock.py)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

FAULT_HELP = f"""fault rule: HOST/PATH-GLOB=ACTION[:PARAM][@PROBABILITY][#COUNT]
rules are separated by ';' or given with repeated --faults flags; the first matching rule wins.
The glob (fnmatch) is matched against "host/path" and "host/path?query", host canonical
(e.g. data.sec.gov/api/xbrl/companyfacts/CIK0000320193.json, query2.finance.yahoo.com/v8/*).
ACTION: {", ".join(ACTIONS)}
  status:CODE[,retry-after=SECONDS]  answer CODE (429 -> "Too Many Requests"), optional Retry-After
  delay:MS          answer normally after MS milliseconds (default 2000)
  hang[:MS]         say nothing for MS (default 60000) or until shutdown, then close
  truncate          correct status and Content-Length, then close after half the body
  malformed         correct status, body cut in half plus junk (invalid JSON)
  empty             200 with an empty body
  reset             close the connection with a TCP RST, no response
  badgzip           correct status, Content-Encoding: gzip, a body that is not gzip
@PROBABILITY (0..1) fires the rule at random (seeded); #COUNT fires it only COUNT times.
example: --faults 'data.sec.gov/submissions/*=status:500#1' \
           --faults 'query2.finance.yahoo.com/v8/*=status:429,retry-after=2@0.3'
"""


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, epilog=FAULT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--port",
        type=int,
        default=None,
        help="TCP port on 127.0.0.1 (0 = any free port); required unless --warm",
    )
    ap.add_argument("--companies", type=int, required=True, help="number of synthetic companies")
    ap.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="added latency per request, uniform in 0.5x..1.5x this value",
    )
    ap.add_argument(
        "--edgar-rps",
        type=float,
        default=None,
        help="EDGAR requests per sliding second (default: no limit)",
    )
    ap.add_argument(
        "--yahoo-rps",
        type=float,
        default=None,
        help="Yahoo requests per sliding second (default: no limit)",
    )
    ap.add_argument(
        "--block-seconds", type=float, default=5.0, help="EDGAR block after a violation (default 5)"
    )
    ap.add_argument(
        "--faults", action="append", default=[], metavar="SPEC", help="fault rules, see below"
    )
    ap.add_argument(
        "--log",
        type=Path,
        default=None,
        help="append one JSON line per request to FILE: t (monotonic arrival time), host, path, "
        "status, bytes, ua, client, ms (time to answer); why, for a refusal: throttle (over a "
        "limit), no_such_object (SEC's 403 AccessDenied or 404 NoSuchKey), undeclared_ua; "
        "fault, for an injected one",
    )
    ap.add_argument(
        "--seed", default="1", help="generator seed; same seed and as-of give the same bytes"
    )
    ap.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="the fake's today (default: today in New York, or the New York date of "
        "$STOCK_REFRESH_NOW when that is set); nothing is filed after it",
    )
    ap.add_argument(
        "--new-filings",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="fraction of synthetic companies filing their next 10-Q early on each business "
        "day from --filings-from through the as-of date (only companies whose next report is "
        "a 10-Q qualify; each files early once)",
    )
    ap.add_argument(
        "--filings-from",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="first day of --new-filings (default: the as-of date); fakes of later as-of dates "
        "given the same day agree on every day before theirs, as SEC's history does",
    )
    ap.add_argument(
        "--bandwidth-mbps",
        type=float,
        default=0.0,
        metavar="MBPS",
        help="send SEC's bulk archive (companyfacts.zip) no faster than this many megabits a "
        "second, as a user's line would, and build it before listening (default: as fast as "
        "loopback goes, built when first asked)",
    )
    ap.add_argument(
        "--sec-closed",
        type=lambda text: frozenset(dt.date.fromisoformat(d) for d in text.split(",") if d),
        default=frozenset(),
        metavar="DAY,DAY",
        help="business days SEC publishes no daily index for (an unscheduled closing): their "
        "form.*.idx is missing and the quarter's index.json does not list it",
    )
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep generated bodies in DIR and serve them from there (see above)",
    )
    ap.add_argument(
        "--warm",
        action="store_true",
        help="generate every company's bodies into --cache-dir on all cores, then exit",
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes for --warm (default: one per core)",
    )
    ap.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started the fake is gone, even killed by SIGKILL",
    )
    args = ap.parse_args(argv)
    if args.warm and args.cache_dir is None:
        ap.error("--warm needs --cache-dir")
    if not args.warm and args.port is None:
        ap.error("the following arguments are required: --port")
    try:
        args.fault_rules = parse_faults(args.faults)
    except SpecError as exc:
        ap.error(str(exc))
    if args.as_of is None:
        try:
            args.as_of = default_as_of(os.environ.get(NOW_ENV))
        except ValueError:
            ap.error(f"${NOW_ENV}: expected an ISO-8601 time with its UTC offset")
    return args


def default_as_of(pinned: str | None) -> dt.date:
    """SEC's today: the New York date of the job's pinned clock, else of the real one."""
    moment = dt.datetime.fromisoformat(pinned) if pinned else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError(pinned)
    return moment.astimezone(NEW_YORK).date()


def main(argv=None) -> int:
    parent = os.getppid()  # first: the parent may die while the fake starts
    args = parse_args(argv)
    if args.warm:
        done = warm(
            str(args.seed),
            args.as_of,
            args.companies,
            args.new_filings,
            args.cache_dir,
            args.processes,
        )
        print(
            f"warmed {done['companies']} companies in {done['seconds']:.1f} s: "
            f"{done['files']} files, {done['bytes'] / 1e6:.1f} MB in {done['dir']}",
            flush=True,
        )
        return 0
    world = World(
        str(args.seed),
        args.as_of,
        args.companies,
        args.new_filings,
        cache_dir=args.cache_dir,
        sec_closed=args.sec_closed,
        filings_from=args.filings_from,
    )
    policy = Policy(
        str(args.seed),
        args.latency_ms,
        args.edgar_rps,
        args.yahoo_rps,
        args.block_seconds,
        args.fault_rules,
    )
    if args.bandwidth_mbps:  # built before we listen: its building is no part of its download
        world.companyfacts_zip()
    if world.disk is not None:  # SEC serves a daily index and Yahoo a quote batch at once: our
        world.recent_index()  # building them is no part of a run's time
        yahoo.warm_quotes(world)
    server = FakeServer(
        ("127.0.0.1", args.port), world, policy, RequestLog(args.log), args.bandwidth_mbps
    )
    # A signal handler may take no lock: setting an Event from one deadlocks when the signal
    # lands while this thread holds the Event's own lock inside wait(). A list append does not.
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _: signals.append(number))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
    )
    thread.start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    while not signals:
        if args.exit_with_parent and os.getppid() != parent:  # orphaned: no one will stop us
            break
        time.sleep(0.5)  # a signal cuts the sleep short
    server.stopping.set()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
