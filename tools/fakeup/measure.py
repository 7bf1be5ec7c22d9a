"""How fast the fake generates and serves: generator ms per company, warm-up time and cache size,
and requests per second with concurrent keep-alive clients.

    .venv/bin/python tools/fakeup/measure.py [--companies 1000] [--clients 8,32] [--seconds 5]
                                             [--cache-dir DIR] [--gen-only]

The load comes from light raw-socket clients (threads split over --client-processes processes)
that read each answer without decoding it, so the numbers are the fake's, not a client library's;
they still share the machine's cores with the fake.
"""

import argparse
import datetime as dt
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))

from fakeup import facts  # noqa: E402
from fakeup.profiles import synthetic_ticker  # noqa: E402
from fakeup.world import XBRL_START, World  # noqa: E402

UA = "Benchmark Team bench@corp.com"
AS_OF = "2026-11-25"


def generator_ms(companies: int = 60, seed: str = "1") -> tuple[float, float]:
    """(ms per companyfacts body, mean MB) for the first synthetic companies, model and filings
    built."""
    world = World(seed, dt.date.fromisoformat(AS_OF), companies)
    ps = world.synthetic[:companies]
    for tax in ("us-gaap", "ifrs-full"):
        facts.catalog(tax)
    inputs = [
        (p, world.series(p), [f for f in world.filings(p) if f.filed >= XBRL_START]) for p in ps
    ]
    started = time.perf_counter()
    sizes = [len(facts.build(p, s, fs, seed)) for p, s, fs in inputs]
    return (time.perf_counter() - started) / len(ps) * 1000, statistics.mean(sizes) / 1e6


def start(companies: int, cache_dir: Path | None):
    args = [
        sys.executable,
        str(TOOLS / "fake_upstream.py"),
        "--port",
        "0",
        "--companies",
        str(companies),
        "--as-of",
        AS_OF,
    ]
    if cache_dir:
        args += ["--cache-dir", str(cache_dir)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline().split(":")[-1])


def _client_thread(port, host, paths, offset, step, gzip, stop_at, out):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb", buffering=1 << 16)
    encoding = "gzip" if gzip else "identity"
    n, ok, bad, nbytes = offset, 0, 0, 0
    while time.monotonic() < stop_at:
        path = paths[n % len(paths)]
        n += step
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {UA}\r\n"
            f"Accept-Encoding: {encoding}\r\n\r\n".encode()
        )
        status = reader.readline()
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        nbytes += len(reader.read(length))
        if status.split()[1:2] == [b"200"]:
            ok += 1
        else:
            bad += 1
    sock.close()
    out.append((ok, bad, nbytes))


def _client_process(port, host, paths, offsets, step, gzip, stop_at, queue):
    out = []
    threads = [
        threading.Thread(
            target=_client_thread, args=(port, host, paths, o, step, gzip, stop_at, out)
        )
        for o in offsets
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def hammer(
    port: int,
    host: str,
    paths: list[str],
    clients: int,
    seconds: float,
    gzip: bool,
    processes: int = 2,
) -> tuple[float, int, float]:
    """(requests/s answered 200, non-200 answers, MB/s on the wire) over `seconds`."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    stop_at = time.monotonic() + seconds
    procs = [
        ctx.Process(
            target=_client_process,
            args=(
                port,
                host,
                paths,
                list(range(i, clients, processes)),
                clients,
                gzip,
                stop_at,
                queue,
            ),
        )
        for i in range(min(processes, clients))
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get()]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    return (
        sum(r[0] for r in results) / elapsed,
        sum(r[1] for r in results),
        sum(r[2] for r in results) / elapsed / 1e6,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--companies", type=int, default=1000)
    ap.add_argument("--clients", default="8,32", help="comma-separated client counts")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache folder to warm and serve from (default: a fresh temporary one)",
    )
    ap.add_argument("--gen-only", action="store_true", help="only time the companyfacts generator")
    args = ap.parse_args()
    ms, mb = generator_ms()
    print(f"companyfacts generator: {ms:.1f} ms per company (mean body {mb:.2f} MB)", flush=True)
    if args.gen_only:
        return
    tmp = None
    if args.cache_dir is None:
        tmp = tempfile.mkdtemp(prefix="fakeup-cache-")
        args.cache_dir = Path(tmp)
    try:
        warm = subprocess.run(
            [
                sys.executable,
                str(TOOLS / "fake_upstream.py"),
                "--warm",
                "--companies",
                str(args.companies),
                "--as-of",
                AS_OF,
                "--cache-dir",
                str(args.cache_dir),
            ],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        print(warm.stdout.strip(), flush=True)
        proc, port = start(args.companies, args.cache_dir)
        try:
            facts_paths = [
                f"/api/xbrl/companyfacts/CIK{9000000 + i:010d}.json" for i in range(args.companies)
            ]
            quotes = [
                f"/v7/finance/quote?symbols={synthetic_ticker(i)}" for i in range(args.companies)
            ]
            subs = [f"/submissions/CIK{9000000 + i:010d}.json" for i in range(args.companies)]
            hammer(
                port, "query1.finance.yahoo.com", quotes, 4, 2.0, False
            )  # build the quote models
            for clients in map(int, args.clients.split(",")):
                for label, host, paths, gz in (
                    (
                        "small JSON (v7 quote, one symbol)",
                        "query1.finance.yahoo.com",
                        quotes,
                        False,
                    ),
                    ("submissions gzip", "data.sec.gov", subs, True),
                    ("companyfacts gzip", "data.sec.gov", facts_paths, True),
                    ("companyfacts identity", "data.sec.gov", facts_paths, False),
                ):
                    rate, bad, mbs = hammer(
                        port, host, paths, clients, args.seconds, gz, args.client_processes
                    )
                    print(
                        f"{clients:>3} clients  {label:<36} {rate:7.0f} req/s  {mbs:7.1f} MB/s"
                        + (f"  ({bad} non-200)" if bad else ""),
                        flush=True,
                    )
        finally:
            proc.terminate()
            proc.wait()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
