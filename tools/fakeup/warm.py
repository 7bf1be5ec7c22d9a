"""Fill a --cache-dir ahead of time, on every core, so a timed run never waits for the generator.

Per company: companyfacts, submissions and its page files, and the newest annual and quarterly
primary documents (the ones the job reads sections from); then the daily indexes near as-of.
Bodies already in the cache are skipped, so a second warm-up only checks.
"""

import multiprocessing
import os
import sys
import time

from .world import World

_world: World | None = None


def _start(seed, as_of, companies, new_fraction, cache_dir):
    global _world
    _world = World(
        seed,
        as_of,
        companies,
        new_fraction,
        cache_bytes=4 << 20,
        cache_dir=cache_dir,
        memo_items=2000,
    )


def _company(i: int) -> list:
    w = _world
    p = w.profiles[i]
    if not p.cik:
        return []
    w.facts_body(p)
    w.submissions_body(p)
    for name, _ in w.parts(p)[1]:
        w.page_body(p, name)
    filings = w.filings(p)
    for form in {p.annual_form, "10-Q"}:
        newest = next((f for f in filings if f.form == form and f.periodic), None)
        if newest is not None:
            w.document(str(p.cik), newest.accn_nodash, newest.doc)
    return w.index_rows(p)


def warm(
    seed: str,
    as_of,
    companies: int,
    new_fraction: float,
    cache_dir,
    processes: int | None = None,
    progress=sys.stderr,
) -> dict:
    started = time.monotonic()
    world = World(seed, as_of, companies, new_fraction, cache_dir=cache_dir)
    world.disk.sweep_temporaries()
    n = len(world.profiles)
    processes = processes or os.cpu_count() or 1
    rows, done, shown = [], 0, 0.0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes, _start, (seed, as_of, companies, new_fraction, cache_dir)) as pool:
        for part in pool.imap_unordered(_company, range(n), chunksize=8):
            rows += part
            done += 1
            if progress and time.monotonic() - shown > 5:
                shown = time.monotonic()
                print(
                    f"warm: {done}/{n} companies, {shown - started:.0f} s",
                    file=progress,
                    flush=True,
                )
    if world.disk.load_json(world.index_name) is None:
        world.store_recent_index(rows)
    files, size = world.disk.usage()
    return {
        "companies": n,
        "seconds": time.monotonic() - started,
        "files": files,
        "bytes": size,
        "dir": str(world.disk.dir),
    }
