"""The fake upstream itself: real payloads byte-exact, generated shapes, limits, faults,
determinism,
and the real yfinance 1.7 parsing its Yahoo answers."""

import datetime as dt
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from fakeup.disk import DiskCache
from fakeup.policy import Window
from fakeup.server import SO_TIMESTAMPNS

from tests.paths import FIXTURES, ROOT
from tests.upstream import SCRIPT, BlockedURL, FakeUpstream, loopback_session, loopback_url

UA = {"User-Agent": "Jane Doe jane.doe@corp.com"}
AS_OF = "2026-11-25"  # a Wednesday


def get(fake, host, path, headers=None, **kw):
    h = {**UA, "Host": host, **(headers or {})}
    return requests.get(fake.url + path, headers=h, timeout=kw.pop("timeout", 20), **kw)


@pytest.fixture(scope="module")
def fake():
    with FakeUpstream(companies=12, as_of=AS_OF, seed=7) as f:
        yield f


def fixture_bytes(rel):
    data = (FIXTURES / rel).read_bytes()
    return gzip.decompress(data) if rel.endswith(".gz") else data


# ---- real payloads ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host,path,rel",
    [
        ("data.sec.gov", "/submissions/CIK0000320193.json", "edgar/submissions/CIK0000320193.json"),
        ("data.sec.gov", "/submissions/CIK0000789019.json", "edgar/submissions/CIK0000789019.json"),
        (
            "data.sec.gov",
            "/submissions/CIK0000749647-submissions-001.json",
            "edgar/submissions/CIK0000749647-submissions-001.json",
        ),
        (
            "data.sec.gov",
            "/api/xbrl/companyfacts/CIK0000320193.json",
            "edgar/companyfacts/CIK0000320193.json.gz",
        ),
        (
            "data.sec.gov",
            "/api/xbrl/companyfacts/CIK0001652044.json",
            "edgar/companyfacts/CIK0001652044.json.gz",
        ),
        (
            "data.sec.gov",
            "/api/xbrl/companyfacts/CIK0001997711.json",
            "edgar/companyfacts/CIK0001997711.json",
        ),
        (
            "www.sec.gov",
            "/Archives/edgar/data/320193/000032019325000079/aapl-20250927.htm",
            "filings/Apple.10-K.html.gz",
        ),
        (
            "www.sec.gov",
            "/Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm",
            "filings/Apple.10-K.html.gz",
        ),
        (
            "www.sec.gov",
            "/Archives/edgar/data/320193/000032019326000006/aapl-20251227.htm",
            "filings/Apple.10-Q.html.gz",
        ),
        (
            "www.sec.gov",
            "/Archives/edgar/daily-index/2020/QTR1/form.20200318.idx",
            "edgar/index/form.20200318.idx",
        ),
    ],
)
def test_real_fixture_bodies_are_served_byte_exact(fake, host, path, rel):
    plain = get(fake, host, path, {"Accept-Encoding": "identity"})
    zipped = get(fake, host, path, {"Accept-Encoding": "gzip, deflate"})
    assert plain.status_code == zipped.status_code == 200
    assert plain.content == fixture_bytes(rel)
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.content == plain.content


def test_data_sec_gov_headers_and_unknown_cik(fake):
    r = get(fake, "data.sec.gov", "/submissions/CIK0009000000.json")
    assert r.headers["Cache-Control"] == "max-age=0, no-cache, no-store"
    assert "Last-Modified" not in r.headers and "ETag" not in r.headers
    missing = get(fake, "data.sec.gov", "/api/xbrl/companyfacts/CIK0000000042.json")
    assert missing.status_code == 404 and "<Code>NoSuchKey</Code>" in missing.text


def test_hosts_by_header_localhost_suffix_and_unknown(fake):
    r = requests.get(
        f"http://127.0.0.1:{fake.port}/files/company_tickers.json",
        headers={**UA, "Host": f"www.sec.gov.localhost:{fake.port}"},
        timeout=10,
    )
    assert r.status_code == 200
    assert (
        get(fake, f"data.sec.gov:{fake.port}", "/submissions/CIK0000320193.json").status_code == 200
    )
    bad = get(fake, "example.com", "/")
    assert bad.status_code == 421 and "example.com" in bad.text


def test_ticker_files_and_symbol_lists(fake):
    tickers = get(fake, "www.sec.gov", "/files/company_tickers.json").json()
    real = json.loads(fixture_bytes("edgar/company_tickers.json"))
    assert all(tickers[k] == v for k, v in real.items())
    by_ticker = {v["ticker"]: v for v in tickers.values()}
    assert by_ticker["SYXA"]["cik_str"] == 9000000 and by_ticker["BRK-B"]["cik_str"] == 1067983
    assert by_ticker["LPA"]["cik_str"] == 1997711 and "EMA" not in by_ticker
    exchange = get(fake, "www.sec.gov", "/files/company_tickers_exchange.json").json()
    assert exchange["fields"] == ["cik", "name", "ticker", "exchange"]
    assert any(row[2] == "SYXA" for row in exchange["data"])
    base = "/rreichel3/US-Stock-Symbols/main"
    nyse = get(fake, "raw.githubusercontent.com", f"{base}/nyse/nyse_tickers.json").json()
    nasdaq = get(fake, "raw.githubusercontent.com", f"{base}/nasdaq/nasdaq_tickers.json").json()
    assert {"BRK/B", "ABR^D", "ECC           ", "EMA", "LPA"} <= set(nyse)
    assert {"AAPL", "GOOGL", "MSFT", "IMNN", "NA"} <= set(nasdaq)
    assert len(nyse) + len(nasdaq) == 12 + 9 + 1
    txt = get(fake, "raw.githubusercontent.com", f"{base}/nyse/nyse_tickers.txt").text.splitlines()
    assert "ABR" in txt and "D" in txt and "ABR^D" not in txt
    full = get(fake, "raw.githubusercontent.com", f"{base}/nasdaq/nasdaq_full_tickers.json").json()
    assert set(full[0]) == {
        "symbol",
        "name",
        "lastsale",
        "netchange",
        "pctchange",
        "volume",
        "marketCap",
        "country",
        "ipoyear",
        "industry",
        "sector",
        "url",
    }
    assert (
        get(fake, "raw.githubusercontent.com", f"{base}/amex/amex_tickers.json").status_code == 404
    )


def test_submissions_shapes_and_pages(fake):
    sub = get(fake, "data.sec.gov", "/submissions/CIK0009000007.json").json()  # SYXH: paged
    recent = sub["filings"]["recent"]
    assert len({len(v) for v in recent.values()}) == 1 and {"10-K", "10-Q", "8-K"} <= set(
        recent["form"]
    )
    page_name = sub["filings"]["files"][0]["name"]
    page = get(fake, "data.sec.gov", f"/submissions/{page_name}").json()
    assert (
        set(page) == set(recent) and len(page["form"]) == sub["filings"]["files"][0]["filingCount"]
    )
    aapl_page = get(fake, "data.sec.gov", "/submissions/CIK0000320193-submissions-001.json").json()
    assert len(aapl_page["accessionNumber"]) == 1206
    for i, form in enumerate(recent["form"]):
        if form in ("10-K", "10-Q"):
            accn = recent["accessionNumber"][i].replace("-", "")
            doc = get(
                fake,
                "www.sec.gov",
                f"/Archives/edgar/data/9000007/{accn}/{recent['primaryDocument'][i]}",
            )
            assert doc.status_code == 200 and "Item 1A" in doc.text and "Item 2." in doc.text
            break
    assert (
        get(
            fake, "www.sec.gov", "/Archives/edgar/data/9000007/000000000000000000/x.htm"
        ).status_code
        == 403
    )


def _facts(fake, cik):
    return get(fake, "data.sec.gov", f"/api/xbrl/companyfacts/CIK{cik:010d}.json").json()


def test_synthetic_companyfacts_pitfalls(fake):
    plain = _facts(fake, 9000000)["facts"]["us-gaap"]
    rev_tag = next(
        t for t in ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax") if t in plain
    )
    rows = plain[rev_tag]["units"]["USD"]
    periods = {}
    for r in rows:
        periods.setdefault((r["start"], r["end"]), set()).add(r["accn"])
    assert max(len(a) for a in periods.values()) == 3  # FY in three 10-Ks
    days = {
        (
            r["form"],
            (
                time.mktime(time.strptime(r["end"], "%Y-%m-%d"))
                - time.mktime(time.strptime(r["start"], "%Y-%m-%d"))
            )
            // 86400,
        )
        for r in rows
    }
    assert any(f == "10-Q" and d > 150 for f, d in days) and any(
        f == "10-Q" and d < 100 for f, d in days
    )
    assert not any(r["fp"] == "Q4" for r in rows)
    assert sum("frame" in r for r in rows) > 0
    split = _facts(fake, 9000001)["facts"]["us-gaap"]
    assert "StockholdersEquityNoteStockSplitConversionRatio1" in split
    assert "ifrs-full" in _facts(fake, 9000002)["facts"] and {
        r["form"] for r in _facts(fake, 9000002)["facts"]["ifrs-full"]["Revenue"]["units"]["USD"]
    } == {"20-F"}
    assert "EarningsPerShareDiluted" not in _facts(fake, 9000003)["facts"]["us-gaap"]
    june = _facts(fake, 9000004)["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"]
    assert {
        r["end"][5:] for r in june if r["fp"] == "FY" and r.get("start", "")[5:] == "07-01"
    } == {"06-30"}
    switch = _facts(fake, 9000005)["facts"]["us-gaap"]
    assert (
        "SalesRevenueNet" in switch
        and "RevenueFromContractWithCustomerExcludingAssessedTax" in switch
    )


def test_split_restates_prior_years_but_not_old_only_years(fake):
    facts = _facts(fake, 9000001)["facts"]["us-gaap"]["EarningsPerShareDiluted"]["units"][
        "USD/shares"
    ]
    by_period = {}
    for r in facts:
        if r["fp"] == "FY":
            by_period.setdefault((r["start"], r["end"]), {})[r["accn"]] = r["val"]
    assert any(len(set(v.values())) > 1 for v in by_period.values())  # restated after the split


def test_companyfacts_size_distribution():
    with FakeUpstream(companies=30, as_of=AS_OF, seed=3) as f:
        sizes = []
        with ThreadPoolExecutor(4) as pool:
            for r in pool.map(
                lambda i: get(
                    f,
                    "data.sec.gov",
                    f"/api/xbrl/companyfacts/CIK{9000000 + i:010d}.json",
                    {"Accept-Encoding": "gzip"},
                ),
                range(30),
            ):
                sizes.append(len(r.content))
    sizes.sort()
    assert sizes[0] >= 300_000 and sizes[-1] <= 4_000_000
    assert sizes[-1] > 3 * sizes[0] and sizes[len(sizes) // 2] < 2_500_000


def test_daily_index_weekend_and_conditional(fake):
    weekend = get(fake, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261121.idx")
    assert weekend.status_code == 403 and "<Code>AccessDenied</Code>" in weekend.text
    future = get(fake, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261127.idx")
    assert future.status_code == 403
    lines, day = [], None
    for d in range(2, 25):
        r = get(
            fake, "www.sec.gov", f"/Archives/edgar/daily-index/2026/QTR4/form.202611{d:02d}.idx"
        )
        if r.status_code == 200 and len(r.text.splitlines()) > 11:
            lines, day = r.text.splitlines(), d
            break
    assert lines[9].startswith("-" * 100)
    row = lines[10]
    assert row[86:94] == f"202611{day:02d}" and row[98:].startswith("edgar/data/")
    again = get(
        fake,
        "www.sec.gov",
        f"/Archives/edgar/daily-index/2026/QTR4/form.202611{day:02d}.idx",
        {"If-Modified-Since": r.headers["Last-Modified"]},
    )
    assert again.status_code == 304 and again.content == b""


def test_new_filings_on_as_of_date():
    with FakeUpstream(companies=40, as_of=AS_OF, extra_args=["--new-filings", "0.2"]) as f:
        idx = get(
            f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261125.idx"
        ).text.splitlines()[10:]
        assert idx and all(line.startswith("10-Q") for line in idx)
        cik = int(idx[0][74:86])
        sub = get(f, "data.sec.gov", f"/submissions/CIK{cik:010d}.json").json()["filings"]["recent"]
        assert sub["filingDate"][0] == "2026-11-25" and sub["form"][0] == "10-Q"
        facts = _facts(f, cik)["facts"]
        accn = sub["accessionNumber"][0]
        assert any(
            r["accn"] == accn
            for c in facts["us-gaap"].values()
            for u in c["units"].values()
            for r in u
        )
    with FakeUpstream(companies=40, as_of=AS_OF) as f:
        none = get(f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261125.idx")
        assert none.text.splitlines()[10:] == []


# ---- limits -------------------------------------------------------------------------------------
def test_edgar_sliding_window_403_then_block():
    with FakeUpstream(companies=1, edgar_rps=5, extra_args=["--block-seconds", "1"]) as f:
        codes = [
            get(f, "www.sec.gov", "/files/company_tickers_exchange.json").status_code
            for _ in range(8)
        ]
        assert codes[:5] == [200] * 5 and codes[5:] == [403] * 3
        page = get(f, "data.sec.gov", "/submissions/CIK0000320193.json")
        assert page.status_code == 403 and "Request Rate Threshold Exceeded" in page.text
        time.sleep(2.1)
        assert get(f, "data.sec.gov", "/submissions/CIK0000320193.json").status_code == 200
        assert [e["status"] for e in f.requests()][:9] == codes + [403]


def test_the_log_says_why_each_refusal_was_answered():
    """SEC answers 403 for a throttle, an object that does not exist (an index not yet
    published) and an undeclared client alike; the log tells them apart."""
    with FakeUpstream(
        companies=1, as_of=AS_OF, edgar_rps=3, extra_args=["--block-seconds", "1"]
    ) as f:
        unpublished = get(
            f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261126.idx"
        )
        anonymous = get(f, "www.sec.gov", "/files/company_tickers.json", {"User-Agent": "curl/8"})
        published = get(f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261124.idx")
        throttled = get(f, "www.sec.gov", "/files/company_tickers.json")
        unknown = get(f, "data.sec.gov", "/submissions/CIK0000000001.json")
        codes = [r.status_code for r in (unpublished, anonymous, published, throttled, unknown)]
        assert codes == [403, 403, 200, 403, 403]
        time.sleep(1.2)
        missing = get(f, "data.sec.gov", "/submissions/CIK0000000001.json")
        assert missing.status_code == 404
        assert [e.get("why") for e in f.requests()] == [
            "no_such_object",
            "undeclared_ua",
            None,
            "throttle",
            "throttle",
            "no_such_object",
        ]


def test_the_fakes_today_follows_the_jobs_pinned_clock():
    sys.path.insert(0, str(SCRIPT.parent))
    from fake_upstream import default_as_of

    # 22:00 on 1 December in New York: SEC's today is the 1st, though UTC's is the 2nd.
    assert default_as_of("2026-12-02T03:00:00+00:00") == dt.date(2026, 12, 1)
    assert default_as_of("2026-12-02T05:05:00Z") == dt.date(2026, 12, 2)
    env = {**os.environ, "STOCK_REFRESH_NOW": "yesterday"}
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "--port", "0", "--companies", "1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1].endswith(
        "$STOCK_REFRESH_NOW: expected an ISO-8601 time with its UTC offset"
    )


def test_edgar_paced_requests_pass():
    with FakeUpstream(companies=1, edgar_rps=5) as f:
        codes = []
        for _ in range(8):
            codes.append(get(f, "www.sec.gov", "/files/company_tickers.json").status_code)
            time.sleep(0.21)
        assert codes == [200] * 8


def test_requests_are_stamped_when_they_arrive_not_when_read():
    """The kernel's receive stamp: a request that waited 0.3 s for a busy server still counts
    at the moment it arrived (real TCP on loopback)."""
    from fakeup.server import arrival

    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with client, server:
            server.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            time.sleep(0.2)  # the kernel turns stamping on a moment after the first socket asks
            client.sendall(b"GET / HTTP/1.1\r\n\r\n")
            sent = time.monotonic()
            time.sleep(0.3)
            stamp = arrival(server)
            assert abs(stamp - sent) < 0.05
            assert server.recv(100).startswith(b"GET /")  # the peek consumed nothing


def test_a_window_counted_out_of_order_is_still_judged():
    """Handler threads may count a request after a later one: every window holding it counts."""
    window = Window(3)
    assert [window.allow("c", t) for t in (1.0, 1.2, 1.9)] == [True] * 3
    assert window.allow("c", 0.95) is False  # 0.95, 1.0, 1.2, 1.9 lie within one second
    assert window.allow("d", 0.95) is True  # per client


@pytest.mark.parametrize("ua", ["", "python-requests/2.32", "jane@corp.com", "Jane Doe"])
def test_edgar_requires_declared_user_agent(fake, ua):
    r = requests.get(
        fake.url + "/files/company_tickers.json",
        headers={"Host": "www.sec.gov", "User-Agent": ua},
        timeout=10,
    )
    assert r.status_code == 403 and "Undeclared Automated Tool" in r.text


def test_yahoo_rate_limit_429():
    with FakeUpstream(companies=1, yahoo_rps=3) as f:
        codes = [
            get(f, "query1.finance.yahoo.com", "/v1/test/getcrumb").status_code for _ in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]
        assert get(f, "query1.finance.yahoo.com", "/v1/test/getcrumb").text.startswith(
            "Too Many Requests"
        )


# ---- faults -------------------------------------------------------------------------------------
FACTS = "/api/xbrl/companyfacts/CIK0009000000.json"


def test_faults_of_every_kind():
    rules = ";".join(
        [
            "data.sec.gov/api/xbrl/companyfacts/CIK0009000000.json=status:429,retry-after=2#1",
            "data.sec.gov/submissions/CIK0009000000.json=status:500",
            "www.sec.gov/files/company_tickers.json=delay:600",
            "data.sec.gov/submissions/CIK0000789019.json=hang:5000",
            "data.sec.gov/submissions/CIK0000320193.json=truncate",
            "query2.finance.yahoo.com/v8/finance/chart/SYXA*=malformed",
            "query2.finance.yahoo.com/v8/finance/chart/AAPL*=empty",
            "data.sec.gov/submissions/CIK0000749647.json=reset",
        ]
    )
    with FakeUpstream(companies=1, faults=rules) as f:
        first = get(f, "data.sec.gov", FACTS)
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert get(f, "data.sec.gov", FACTS).status_code == 200  # #1: only once
        assert get(f, "data.sec.gov", "/submissions/CIK0009000000.json").status_code == 500
        started = time.monotonic()
        assert get(f, "www.sec.gov", "/files/company_tickers.json").status_code == 200
        assert time.monotonic() - started >= 0.55
        with pytest.raises(requests.exceptions.ReadTimeout):
            get(f, "data.sec.gov", "/submissions/CIK0000789019.json", timeout=0.5)
        with pytest.raises(requests.exceptions.RequestException):
            _ = get(f, "data.sec.gov", "/submissions/CIK0000320193.json").content
        bad = get(f, "query2.finance.yahoo.com", "/v8/finance/chart/SYXA?range=5d&interval=1d")
        assert bad.status_code == 200
        with pytest.raises(ValueError):
            bad.json()
        empty = get(f, "query2.finance.yahoo.com", "/v8/finance/chart/AAPL?range=5d&interval=1d")
        assert empty.status_code == 200 and empty.content == b""
        with pytest.raises(requests.exceptions.ConnectionError):
            get(f, "data.sec.gov", "/submissions/CIK0000749647.json")
        faults = [e.get("fault") for e in f.requests()]
        assert {"status", "delay", "hang", "truncate", "malformed", "empty", "reset"} <= set(faults)
        code = f.stop()
    assert code == 0


def test_fault_probability_is_partial_and_bad_spec_is_rejected():
    with FakeUpstream(companies=1, faults="data.sec.gov/*=status:503@0.5") as f:
        codes = {
            get(f, "data.sec.gov", "/submissions/CIK0000320193.json").status_code for _ in range(30)
        }
        assert codes == {200, 503}
    with pytest.raises(RuntimeError, match="bad fault rule"):
        FakeUpstream(companies=1, faults="nonsense").start()


# ---- determinism and log ----------------------------------------------------------------------
PATHS = [
    ("data.sec.gov", "/api/xbrl/companyfacts/CIK0009000001.json"),
    ("data.sec.gov", "/submissions/CIK0009000007.json"),
    ("data.sec.gov", "/api/xbrl/companyfacts/CIK0000789019.json"),
    ("query2.finance.yahoo.com", "/v8/finance/chart/SYXC?range=1mo&interval=1d"),
    (
        "query2.finance.yahoo.com",
        "/v10/finance/quoteSummary/SYXB?modules=summaryDetail,assetProfile",
    ),
]


def _bodies(seed):
    with FakeUpstream(companies=8, seed=seed, as_of=AS_OF) as f:
        return [get(f, h, p).content for h, p in PATHS]


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, b, c = _bodies(11), _bodies(11), _bodies(12)
    assert a == b
    assert a[0] != c[0] and a[1] != c[1] and a[3] != c[3]


def test_log_has_one_json_line_per_request(fake):
    before = len(fake.requests())
    get(fake, "data.sec.gov", "/submissions/CIK0000320193.json")
    entry = fake.requests()[before]
    assert {"t", "host", "path", "status", "bytes", "ua", "client"} <= set(entry)
    assert (
        entry["host"] == "data.sec.gov"
        and entry["status"] == 200
        and entry["ua"] == UA["User-Agent"]
    )


def test_loopback_url_rewrite_refuses_other_hosts():
    assert (
        loopback_url("https://query2.finance.yahoo.com/v8/finance/chart/X?a=1", 5)
        == "http://query2.finance.yahoo.com.localhost:5/v8/finance/chart/X?a=1"
    )
    with pytest.raises(BlockedURL):
        loopback_url("https://markets.businessinsider.com/ajax", 5)


# ---- Yahoo v7 quote with many symbols ---------------------------------------------------------
def test_v7_quote_answers_sixty_symbols_in_one_request():
    with FakeUpstream(companies=70, as_of=AS_OF) as f:
        wanted = (
            [f"SYX{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(44)]
            + ["AAPL", "MSFT", "BRK-B", "EMA", "LPA", "NA"]
            + [f"SYX{chr(65 + i)}" for i in range(10)]
        )
        asked = wanted[:30] + ["NOPE", "ABR^D"] + wanted[30:] + ["ZZZZZZ"]
        r = get(f, "query1.finance.yahoo.com", "/v7/finance/quote?symbols=" + ",".join(asked))
        body = r.json()["quoteResponse"]
        assert r.status_code == 200 and body["error"] is None and len(wanted) == 60
        assert [q["symbol"] for q in body["result"]] == wanted
        for q in body["result"]:
            assert q["quoteType"] == "EQUITY" and q["regularMarketPrice"] > 0 and q["marketCap"] > 0
            assert {
                "shortName",
                "longName",
                "exchange",
                "fullExchangeName",
                "currency",
                "sharesOutstanding",
                "regularMarketTime",
            } <= set(q)
        aapl = next(q for q in body["result"] if q["symbol"] == "AAPL")
        assert aapl["longName"] == "Apple Inc." and aapl["exchange"] == "NMS"


# ---- the disk cache -----------------------------------------------------------------------------
CACHED = [
    ("data.sec.gov", "/api/xbrl/companyfacts/CIK0009000001.json"),
    ("data.sec.gov", "/api/xbrl/companyfacts/CIK0001067983.json"),
    ("data.sec.gov", "/submissions/CIK0009000007.json"),
    ("data.sec.gov", "/submissions/CIK0009000007-submissions-001.json"),
    ("www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261124.idx"),
]


def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _cached_answers(f) -> list:
    out = []
    for host, path in CACHED + [("www.sec.gov", _newest_10k(f))]:
        plain = get(f, host, path, {"Accept-Encoding": "identity"})
        zipped = get(f, host, path, {"Accept-Encoding": "gzip"}, stream=True)
        wire = zipped.raw.read(decode_content=False)
        assert plain.status_code == zipped.status_code == 200
        assert (
            zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(wire) == plain.content
        )
        out.append(
            (plain.content, wire, plain.headers.get("ETag"), plain.headers["Content-Length"])
        )
    return out


def _newest_10k(f) -> str:
    recent = get(f, "data.sec.gov", "/submissions/CIK0009000000.json").json()["filings"]["recent"]
    i = recent["form"].index("10-K")
    accn = recent["accessionNumber"][i].replace("-", "")
    return f"/Archives/edgar/data/9000000/{accn}/{recent['primaryDocument'][i]}"


def test_cache_cold_and_warm_give_the_bytes_of_no_cache(tmp_path):
    args = ["--cache-dir", str(tmp_path)]
    with FakeUpstream(companies=8, as_of=AS_OF, seed=5) as f:
        plain = _cached_answers(f)
    with FakeUpstream(companies=8, as_of=AS_OF, seed=5, extra_args=args) as f:
        cold = _cached_answers(f)
    before = _snapshot(tmp_path)
    assert len(before) >= len(CACHED) + 1
    with FakeUpstream(companies=8, as_of=AS_OF, seed=5, extra_args=args) as f:
        warm = _cached_answers(f)
        assert (
            get(f, "data.sec.gov", CACHED[0][1], {"Accept-Encoding": "gzip"}).json()["cik"]
            == 9000001
        )
        head = requests.head(
            f.url + CACHED[0][1],
            timeout=10,
            headers={**UA, "Host": "data.sec.gov", "Accept-Encoding": "identity"},
        )
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(plain[0][0])
        assert head.content == b"" and "Content-Encoding" not in head.headers
    assert [a[0] for a in plain] == [a[0] for a in cold] == [a[0] for a in warm]
    assert cold == warm
    assert _snapshot(tmp_path) == before  # the second fake generated and wrote nothing


def test_warm_fills_the_cache_for_every_company(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--warm",
            "--companies",
            "6",
            "--as-of",
            AS_OF,
            "--seed",
            "4",
            "--cache-dir",
            str(tmp_path),
            "--processes",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("warmed 15 companies in ")
    (key,) = [d for d in tmp_path.iterdir() if d.is_dir()]
    names = {p.name for p in key.iterdir()}
    assert {f"facts-{9000000 + i}" for i in range(6)} | {
        f"subs-{9000000 + i}" for i in range(6)
    } <= names
    assert "page-CIK0009000007-submissions-001.json" not in names  # SYXH is company 7, not warmed
    assert (
        any(n.startswith("doc-9000000-") for n in names)
        and "index-c6-n0.0-f2026-11-25.json" in names
    )
    assert not any(n.startswith(".tmp-") for n in names)
    assert json.loads((key / "key.json").read_text())["seed"] == "4"
    before = _snapshot(tmp_path)
    with FakeUpstream(
        companies=6, as_of=AS_OF, seed=4, extra_args=["--cache-dir", str(tmp_path)]
    ) as f:
        for i in range(6):
            assert (
                get(
                    f, "data.sec.gov", f"/api/xbrl/companyfacts/CIK{9000000 + i:010d}.json"
                ).status_code
                == 200
            )
            assert (
                get(f, "data.sec.gov", f"/submissions/CIK{9000000 + i:010d}.json").status_code
                == 200
            )
        assert get(f, "www.sec.gov", _newest_10k(f)).status_code == 200
    assert _snapshot(tmp_path) == before
    again = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--warm",
            "--companies",
            "6",
            "--as-of",
            AS_OF,
            "--seed",
            "4",
            "--cache-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and _snapshot(tmp_path) == before


def test_cache_key_separates_seed_as_of_and_generator(tmp_path):
    day = dt.date(2026, 11, 25)
    base = DiskCache(tmp_path, "1", day).dir
    assert DiskCache(tmp_path, "1", day).dir == base
    others = {
        DiskCache(tmp_path, "2", day).dir,
        DiskCache(tmp_path, "1", day + dt.timedelta(days=1)).dir,
        DiskCache(tmp_path, "1", day, version="another generator").dir,
    }
    assert base not in others and len(others) == 3


def test_new_filings_runs_share_a_cache_without_mixing(tmp_path):
    args = ["--cache-dir", str(tmp_path)]
    with FakeUpstream(companies=40, as_of=AS_OF, extra_args=args + ["--new-filings", "0.2"]) as f:
        idx = get(
            f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261125.idx"
        ).text.splitlines()[10:]
        cik = int(idx[0][74:86])
        path = f"/api/xbrl/companyfacts/CIK{cik:010d}.json"
        newer = get(f, "data.sec.gov", path).content
        newer_subs = get(f, "data.sec.gov", f"/submissions/CIK{cik:010d}.json").json()
    accn = newer_subs["filings"]["recent"]["accessionNumber"][0]
    with FakeUpstream(companies=40, as_of=AS_OF, extra_args=args) as f:
        older = get(f, "data.sec.gov", path).content
        assert (
            get(f, "data.sec.gov", f"/submissions/CIK{cik:010d}.json").json()["filings"]["recent"][
                "accessionNumber"
            ][0]
            != accn
        )
        none = get(f, "www.sec.gov", "/Archives/edgar/daily-index/2026/QTR4/form.20261125.idx")
        assert none.text.splitlines()[10:] == []
    assert accn.encode() in newer and accn.encode() not in older
    with FakeUpstream(companies=40, as_of=AS_OF, extra_args=args + ["--new-filings", "0.2"]) as f:
        assert get(f, "data.sec.gov", path).content == newer


def test_torn_cache_file_is_rebuilt(tmp_path):
    args = ["--cache-dir", str(tmp_path)]
    path = "/api/xbrl/companyfacts/CIK0009000002.json"
    with FakeUpstream(companies=3, as_of=AS_OF, extra_args=args) as f:
        good = get(f, "data.sec.gov", path).content
    (cached,) = tmp_path.glob("*/facts-9000002")
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 2])
    with FakeUpstream(companies=3, as_of=AS_OF, extra_args=args) as f:
        assert get(f, "data.sec.gov", path).content == good
    assert cached.read_bytes() == data


WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from fakeup.disk import DiskCache
import datetime as dt
cache = DiskCache(Path(sys.argv[2]), "1", dt.date(2026, 11, 25))
body = sys.argv[3].encode() * (1 << 20)
print("ready", flush=True)
while True:
    cache.write_bytes("shared", body)
"""


def test_cache_writes_are_atomic_under_concurrent_and_killed_writers(tmp_path):
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ROOT / "tools"), str(tmp_path), letter],
            stdout=subprocess.PIPE,
            text=True,
        )
        for letter in "ab"
    ]
    try:
        for w in writers:
            assert w.stdout.readline() == "ready\n"
        (folder,) = [d for d in tmp_path.iterdir() if d.is_dir()]
        whole = {b"a" * (1 << 20), b"b" * (1 << 20)}
        seen = set()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                data = (folder / "shared").read_bytes()
            except FileNotFoundError:
                continue
            assert data in whole
            seen.add(data[:1])
        writers[0].kill()
        writers[0].wait()
        for _ in range(50):
            assert (folder / "shared").read_bytes() in whole
    finally:
        for w in writers:
            w.kill()
            w.wait()
            w.stdout.close()
    assert seen == {b"a", b"b"}
    assert (folder / "shared").read_bytes() in whole
    cache = DiskCache(tmp_path, "1", dt.date(2026, 11, 25))
    leftovers = list(folder.glob(".tmp-*"))
    for p in leftovers:
        os.utime(p, (0, 0))
    assert cache.sweep_temporaries() == len(leftovers) and not list(folder.glob(".tmp-*"))


def test_cli_needs_port_to_serve_and_cache_dir_to_warm():
    serve = subprocess.run(
        [sys.executable, str(SCRIPT), "--companies", "1"], capture_output=True, text=True
    )
    assert serve.returncode == 2 and "--port" in serve.stderr
    warm = subprocess.run(
        [sys.executable, str(SCRIPT), "--warm", "--companies", "1"], capture_output=True, text=True
    )
    assert warm.returncode == 2 and "--cache-dir" in warm.stderr


# ---- the real yfinance against the fake -------------------------------------------------------
@pytest.fixture(scope="module")
def yf(fake):
    cache = tempfile.mkdtemp(prefix="yf-cache-")
    os.environ.setdefault("XDG_CACHE_HOME", cache)
    import yfinance
    import yfinance.data

    yfinance.set_tz_cache_location(cache)
    yfinance.config.debug.hide_exceptions = False
    yfinance.config.network.retries = 0
    return yfinance


@pytest.fixture
def session(yf, fake, monkeypatch):
    import yfinance.base
    import yfinance.data
    import yfinance.multi

    make = lambda: loopback_session(fake.port)  # noqa: E731
    for mod in (yfinance.data, yfinance.multi, yfinance.base):
        if hasattr(mod, "new_session"):
            monkeypatch.setattr(mod, "new_session", make)
    yfinance.data.SingletonMeta._instances.pop(yfinance.data.YfData, None)
    yfinance.data.YfData.cache_get.cache_clear()
    return make()


def test_yfinance_info(yf, session):
    info = yf.Ticker("AAPL", session=session).info
    assert info["longName"] == "Apple Inc." and info["sector"] == "Technology"
    assert info["exchange"] == "NMS" and 0 < info["heldPercentInstitutions"] < 1
    assert 0 < info["dividendYield"] < 5 and info["trailingPE"] > 0 and info["marketCap"] > 1e11
    assert info["firstTradeDateEpochUtc"] > 0
    syn = yf.Ticker("SYXB", session=session).info
    assert syn["symbol"] == "SYXB" and syn["longName"].endswith(("Inc.", "Corp.", "Co."))


def test_yfinance_history(yf, session):
    hist = yf.Ticker("MSFT", session=session).history(period="1mo")
    assert len(hist) >= 15 and (hist["Close"] > 0).all()
    assert str(hist.index.tz) == "America/New_York"


def test_yfinance_statements(yf, session):
    t = yf.Ticker("SYXA", session=session)
    income = t.financials
    assert "Total Revenue" in income.index and income.shape[1] >= 3
    assert "Stockholders Equity" in t.balance_sheet.index
    assert "Operating Cash Flow" in t.cashflow.index
    assert "Net Income" in t.quarterly_financials.index
    assert income.loc["Total Revenue"].iloc[0] > 0


def test_yfinance_threaded_download(yf, session):
    data = yf.download(
        ["AAPL", "SYXA", "BRK-B", "NOPE"],
        period="5d",
        session=session,
        threads=True,
        progress=False,
        auto_adjust=False,
    )
    closes = data["Close"]
    assert closes["AAPL"].notna().all() and closes["BRK-B"].notna().all()
    assert closes["NOPE"].isna().all()


def test_a_storm_of_sigterms_stops_the_fake():
    """A handler that took a lock (an Event's) deadlocked when a signal landed inside wait()."""
    with FakeUpstream(companies=1) as fake:
        for _ in range(200):
            fake.proc.send_signal(signal.SIGTERM)
            time.sleep(0.002)
        assert fake.proc.wait(10) in (0, -signal.SIGTERM)  # stopped, not stuck


def test_an_orphaned_fake_with_exit_with_parent_stops_by_itself(tmp_path):
    """Started by a shell that is then killed: the fake notices within a second or so."""
    shell = subprocess.Popen(
        [
            "sh",
            "-c",
            '"$0" "$1" --port 0 --companies 1 --exit-with-parent & echo $!; wait',
            sys.executable,
            str(SCRIPT),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(shell.stdout.readline())
    assert shell.stdout.readline().startswith("listening on ")  # the fake's own first line
    shell.kill()
    shell.wait(10)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]:
        assert time.monotonic() < deadline, "the orphaned fake is still running"
        time.sleep(0.1)
