"""The seed's design, for comparison: one stock at a time with fixed sleeps.

Same fetch and save code as the job (`data_fetcher.fetch_stock_data`, `store.save_stock`), so
the benchmark compares control flow, not parsers:

    python bench/baseline.py --config CFG --limit N [--sample M] --stock-delay S
                             --batch-size 50 --batch-delay D

takes the first N symbols of the list (as `batch_refresh.py --limit N` does), and with --sample
every (N/M)-th of them, fetches and saves each in turn, sleeps S after each stock and D after
each batch, and prints one JSON line: stocks, ok, failed, startup_seconds, loop_seconds.
"""

import argparse
import json
import sys
import time
from pathlib import Path

STARTED = time.monotonic()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_fetcher import Sources, fetch_stock_data  # noqa: E402
from stock_refresh import clock, store, yahoo  # noqa: E402
from stock_refresh.config import load_config  # noqa: E402
from stock_refresh.http import Upstreams  # noqa: E402
from stock_refresh.runner import Options, load_symbols, select  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--limit", type=int, required=True, help="first N symbols of the list")
    ap.add_argument("--sample", type=int, default=None, help="fetch only M of them, evenly spread")
    ap.add_argument("--stock-delay", type=float, required=True, help="sleep after each stock (s)")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--batch-delay", type=float, required=True, help="sleep after each batch (s)")
    return ap.parse_args(argv)


def sample(symbols: list[str], count: int | None) -> list[str]:
    """`count` symbols spread evenly over the list, so the sample has the list's mix."""
    if not count or count >= len(symbols):
        return symbols
    return [symbols[i * len(symbols) // count] for i in range(count)]


def now() -> str:
    return clock.now().isoformat()


def main(argv=None) -> int:
    args = parse_args(argv)
    clock.start()
    config = load_config(args.config)
    yahoo.configure(yahoo.default_cache_dir(config.path.parent))
    upstreams = Upstreams.from_config(config)
    sources = Sources.create(upstreams)
    db = store.open_db(config.database.path)
    symbols, _, _ = load_symbols(config, upstreams, None)
    symbols = sample(select(symbols, Options(limit=args.limit)), args.sample)
    loop_start = time.monotonic()
    ok = failed = 0
    for i, symbol in enumerate(symbols, 1):
        try:
            data = fetch_stock_data(symbol, sources)
            store.save_stock(db, data, now())
            ok += 1
        except Exception as error:  # the seed logged and went on
            store.record_failure(db, symbol, type(error).__name__, str(error), now())
            failed += 1
        time.sleep(args.stock_delay)
        if i % args.batch_size == 0 and i < len(symbols):
            time.sleep(args.batch_delay)
    end = time.monotonic()
    sources.close()
    print(
        json.dumps(
            {
                "stocks": len(symbols),
                "ok": ok,
                "failed": failed,
                "startup_seconds": round(loop_start - STARTED, 3),
                "loop_seconds": round(end - loop_start, 3),
                "requests": upstreams.summary(),
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
