"""Throughput of the fake with concurrent keep-alive clients, and its companyfacts size spread.

    .venv/bin/python tools/fakeup/measure.py [--clients 8] [--seconds 5] [--companies 200]
"""
import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

TOOLS = Path(__file__).resolve().parents[1]
UA = "Benchmark Team bench@corp.com"


def start(companies: int):
    proc = subprocess.Popen([sys.executable, str(TOOLS / "fake_upstream.py"), "--port", "0",
                             "--companies", str(companies), "--as-of", "2026-11-25"],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().split()[-1]


def hammer(url: str, host: str, paths, clients: int, seconds: float, gzip: bool) -> float:
    done, stop = [0] * clients, time.monotonic() + seconds

    def worker(i):
        s = requests.Session()
        headers = {"Host": host, "User-Agent": UA, "Accept-Encoding": "gzip" if gzip else "identity"}
        n = i
        while time.monotonic() < stop:
            s.get(url + paths[n % len(paths)], headers=headers, timeout=30).content
            n += clients
            done[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--companies", type=int, default=200)
    args = ap.parse_args()
    proc, url = start(args.companies)
    try:
        facts = [f"/api/xbrl/companyfacts/CIK{9000000 + i:010d}.json" for i in range(args.companies)]
        sizes, t0 = [], time.monotonic()
        with requests.Session() as s:
            for path in facts:
                sizes.append(len(s.get(url + path, headers={"Host": "data.sec.gov", "User-Agent": UA,
                                                             "Accept-Encoding": "identity"}).content))
        gen = (time.monotonic() - t0) / len(facts)
        sizes.sort()
        pct = {q: sizes[min(len(sizes) - 1, int(q / 100 * len(sizes)))] / 1e6 for q in (10, 25, 75, 90)}
        print(f"companyfacts sizes (MB) over {len(sizes)}: min {sizes[0] / 1e6:.2f} median "
              f"{statistics.median(sizes) / 1e6:.2f} max {sizes[-1] / 1e6:.2f} "
              + " ".join(f"p{q} {v:.2f}" for q, v in pct.items()) + f"; first build {gen * 1000:.0f} ms each")
        small = hammer(url, "query1.finance.yahoo.com", ["/v7/finance/quote?symbols=AAPL"], args.clients,
                       args.seconds, False)
        print(f"small JSON (v7 quote), {args.clients} clients: {small:.0f} req/s")
        cold = hammer(url, "data.sec.gov", facts[::-1], args.clients, args.seconds, True)
        print(f"companyfacts gzip, first gzip per body, {args.clients} clients: {cold:.0f} req/s")
        hammer(url, "data.sec.gov", facts[:20], 1, 0.1, True)
        warm = hammer(url, "data.sec.gov", facts[:20], args.clients, args.seconds, True)
        print(f"companyfacts gzip, cached bodies (20 companies), {args.clients} clients: {warm:.0f} req/s")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
