"""Change detection from SEC's daily form index: the real index file, and the scan's rules."""

from datetime import date

from stock_refresh.changes import index_url, periodic_filers, scan_daily_indexes
from stock_refresh.http import Upstreams
from tests.conftest import CONTACT
from tests.paths import FIXTURES
from tests.upstream import FakeUpstream


def upstreams_for(url: str) -> Upstreams:
    return Upstreams(
        sec_contact=CONTACT,
        edgar_requests_per_second=50,
        yahoo_delay_seconds=0,
        timeout=5,
        retries=0,
        edgar_cooldown=1,
        override=url,
    )


def test_periodic_filers_from_the_real_index_of_2020_03_18():
    text = (FIXTURES / "edgar/index/form.20200318.idx").read_text()
    ciks = periodic_filers(text)
    # hand-checked lines of the file: "10-K  89bio, Inc.  1785173  20200318 ..." and
    # "10-K  Acer Therapeutics Inc.  1069308 ..."
    assert {1785173, 1069308} <= ciks
    expected = set()
    for line in text.splitlines()[11:]:
        form = line[:12].strip()
        if form in {
            "10-K",
            "10-Q",
            "20-F",
            "40-F",
            "10-K/A",
            "10-Q/A",
            "20-F/A",
            "40-F/A",
            "10-KT",
            "10-QT",
            "10-KT/A",
            "10-QT/A",
        }:
            expected.add(int(line[12:].split()[-3]))
    assert ciks == expected and len(ciks) == 87
    assert periodic_filers((FIXTURES / "edgar/index/empty-form.idx").read_text()) == set()


def test_index_url_uses_the_quarter_folder():
    assert index_url(date(2020, 3, 18)) == (
        "https://www.sec.gov/Archives/edgar/daily-index/2020/QTR1/form.20200318.idx"
    )
    assert index_url(date(2026, 11, 27)).endswith("/2026/QTR4/form.20261127.idx")


def test_scan_reads_weekdays_and_finds_the_new_filers():
    # The fake files a 10-Q on its as-of day (Friday 2026-11-20) for a fraction of companies.
    with FakeUpstream(
        companies=40, as_of="2026-11-20", extra_args=["--new-filings", "0.2"]
    ) as fake:
        scan = scan_daily_indexes(upstreams_for(fake.url), date(2026, 11, 18), date(2026, 11, 23))
        paths = [r["path"] for r in fake.requests() if "daily-index" in r["path"]]
    # Thursday 19 (nothing filed), Friday 20 (the new filings), the weekend skipped,
    # Monday 23 is "today" and not published yet.
    assert [p[-12:-4] for p in paths] == ["20261119", "20261120", "20261123"]
    assert scan.ciks and all(cik >= 9000000 for cik in scan.ciks)
    assert scan.through == date(2026, 11, 22) and scan.days_read == 2


def test_a_missing_recent_weekday_index_means_unknown():
    with FakeUpstream(
        companies=2,
        as_of="2026-11-20",
        faults="www.sec.gov/Archives/edgar/daily-index/*=status:500",
    ) as fake:
        scan = scan_daily_indexes(upstreams_for(fake.url), date(2026, 11, 18), date(2026, 11, 20))
    assert scan.ciks is None and scan.through == date(2026, 11, 18)
    assert "unreadable" in scan.notes[0]
