"""Change detection from SEC's daily form index: the real index file, and the scan's rules on
pinned clocks (New York's midnight, weekends, holidays, both daylight saving changes)."""

from datetime import UTC, date, datetime

import pytest

from stock_refresh.changes import (
    index_url,
    last_published_day,
    periodic_filers,
    scan_daily_indexes,
)
from tests.conftest import upstreams_for
from tests.paths import FIXTURES
from tests.upstream import FakeUpstream


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


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
        monday = utc("2026-11-23 07:00")  # 02:00 in New York
        scan = scan_daily_indexes(upstreams_for(fake.url), date(2026, 11, 18), monday)
        paths = [r["path"] for r in fake.requests() if "daily-index" in r["path"]]
    # Thursday 19 (nothing filed), Friday 20 (the new filings), the weekend skipped; Monday 23
    # is today in New York, published this evening: not asked.
    assert [p[-12:-4] for p in paths] == ["20261119", "20261120"]
    assert scan.ciks and all(cik >= 9000000 for cik in scan.ciks)
    assert scan.through == date(2026, 11, 22) and scan.days_read == 2


def test_a_missing_recent_weekday_index_means_unknown():
    with FakeUpstream(
        companies=2,
        as_of="2026-11-20",
        faults="www.sec.gov/Archives/edgar/daily-index/*=status:500",
    ) as fake:
        scan = scan_daily_indexes(
            upstreams_for(fake.url), date(2026, 11, 18), utc("2026-11-20 07:00")
        )
    assert scan.ciks is None and scan.through == date(2026, 11, 18)
    assert "unreadable" in scan.notes[0]


@pytest.mark.parametrize("fault", ["malformed", "empty"])
def test_an_index_that_is_not_whole_means_unknown_not_nobody_filed(fault):
    """Half an index (or none) read as it came would drop the filers it lost: asked every
    company instead."""
    with FakeUpstream(
        companies=2,
        as_of="2026-11-20",
        faults=f"www.sec.gov/Archives/edgar/daily-index/*={fault}",
    ) as fake:
        scan = scan_daily_indexes(
            upstreams_for(fake.url, retries=1), date(2026, 11, 18), utc("2026-11-20 07:00")
        )
        asked = [r["path"] for r in fake.requests() if "daily-index" in r["path"]]
    assert scan.ciks is None and scan.through == date(2026, 11, 18)
    assert "unreadable" in scan.notes[0]
    assert len(asked) == 2  # the bad body was retried like any other bad answer


def test_a_cut_or_garbled_index_is_refused():
    text = (FIXTURES / "edgar/index/form.20200318.idx").read_text()
    with pytest.raises(ValueError, match="not a filing"):
        periodic_filers(text[: len(text) // 2] + "\x00<<garbage>>")
    with pytest.raises(ValueError, match="not a filing"):
        periodic_filers(text.replace("edgar/data/1785173/", "edgar/dat", 1))
    with pytest.raises(ValueError, match="no 'Form Type' header"):
        periodic_filers("")
    with pytest.raises(ValueError, match="no 'Form Type' header"):
        periodic_filers("<html><body>Page Not Found</body></html>")


@pytest.mark.parametrize(
    "now, newest",
    [
        ("2026-12-02 04:55", date(2026, 11, 30)),  # 23:55 on Tuesday 1 December in New York
        ("2026-12-02 05:05", date(2026, 12, 1)),  # 00:05 on Wednesday: Tuesday's is out
        ("2026-11-28 07:00", date(2026, 11, 27)),  # a Saturday
        # 1 November 2026, clocks go back at 02:00 EDT: 01:30 happens twice, both on the 1st
        ("2026-10-31 04:30", date(2026, 10, 30)),  # 00:30 EDT on the 31st (UTC-4, not -5)
        ("2026-11-01 05:30", date(2026, 10, 31)),  # 01:30 EDT
        ("2026-11-01 06:30", date(2026, 10, 31)),  # 01:30 EST
        ("2026-11-02 04:30", date(2026, 10, 31)),  # 23:30 EST on the 1st (UTC-5, not -4)
        # 14 March 2027, clocks go forward at 02:00 EST
        ("2027-03-14 04:30", date(2027, 3, 12)),  # 23:30 EST on the 13th
        ("2027-03-15 04:30", date(2027, 3, 14)),  # 00:30 EDT on the 15th
    ],
)
def test_the_newest_index_asked_is_yesterdays_in_new_york(now, newest):
    assert last_published_day(utc(now)) == newest


@pytest.fixture(scope="module")
def archive():
    """A fake whose today is later than every scan below: it would serve any index asked for,
    so the requests alone show what the scan asks."""
    with FakeUpstream(companies=2, as_of="2027-03-31") as fake:
        yield fake


def scan_at(fake, through: str, now: str):
    mark = len(fake.requests())
    scan = scan_daily_indexes(upstreams_for(fake.url), date.fromisoformat(through), utc(now))
    asked = [r["path"][-12:-4] for r in fake.requests()[mark:] if "daily-index" in r["path"]]
    return scan, asked


def test_just_after_midnight_in_new_york_yesterdays_index_is_read(archive):
    scan, asked = scan_at(archive, "2026-11-30", "2026-12-02 05:05")
    assert asked == ["20261201"] and scan.through == date(2026, 12, 1)
    scan, asked = scan_at(archive, "2026-11-30", "2026-12-02 04:55")  # still the 1st in New York
    assert asked == [] and scan.through == date(2026, 11, 30) and scan.ciks == set()


def test_a_saturday_reads_friday_and_a_sunday_nothing(archive):
    scan, asked = scan_at(archive, "2026-11-19", "2026-11-21 07:00")
    assert asked == ["20261120"] and scan.through == date(2026, 11, 20)
    scan, asked = scan_at(archive, "2026-11-20", "2026-11-22 07:00")
    assert asked == [] and scan.through == date(2026, 11, 21) and scan.ciks == set()


def test_monday_after_thanksgiving_skips_the_holiday(archive):
    scan, asked = scan_at(archive, "2026-11-25", "2026-11-30 07:00")
    # Thursday 26 is a federal holiday: EDGAR publishes no index, so none is asked for.
    assert asked == ["20261127"]
    assert scan.ciks is not None and scan.through == date(2026, 11, 29) and scan.notes == []


def test_federal_holidays_the_nyse_trades_on_are_skipped_too(archive):
    # Columbus Day and Veterans Day: the NYSE is open, EDGAR is closed.
    scan, asked = scan_at(archive, "2026-10-09", "2026-10-14 07:00")
    assert asked == ["20261013"] and scan.through == date(2026, 10, 13)
    scan, asked = scan_at(archive, "2026-11-10", "2026-11-13 07:00")
    assert asked == ["20261112"] and scan.through == date(2026, 11, 12)


def test_monday_after_christmas_on_a_friday_reads_only_the_business_days(archive):
    scan, asked = scan_at(archive, "2026-12-23", "2026-12-28 07:00")
    assert asked == ["20261224"] and scan.through == date(2026, 12, 27) and scan.notes == []


def index_requests(fake, mark: int = 0) -> list[str]:
    return [
        r["path"].rsplit("/", 1)[1] for r in fake.requests()[mark:] if "daily-index" in r["path"]
    ]


def test_an_index_the_listing_has_but_that_is_missing_means_unknown():
    with FakeUpstream(
        companies=2,
        as_of="2026-12-10",
        faults="www.sec.gov/Archives/edgar/daily-index/*/form.20261208.idx=status:404",
    ) as fake:
        scan, _ = scan_at(fake, "2026-12-07", "2026-12-10 07:00")
        asked = index_requests(fake)
    assert asked == ["form.20261208.idx", "index.json"]
    assert scan.ciks is None and scan.through == date(2026, 12, 7)
    assert scan.notes == [
        "SEC daily index for 2026-12-08 is listed, yet missing; asking every company instead"
    ]


def test_a_day_sec_did_not_publish_is_skipped_and_one_not_out_yet_waits():
    """An unscheduled closing (no federal holiday): the quarter's listing goes on past the day
    without it, so it is skipped; while nothing later is listed, the day is not out yet and
    the scan stops before it, without asking every company."""
    closed = ["--sec-closed", "2026-12-09"]
    with FakeUpstream(companies=2, as_of="2026-12-09", extra_args=closed) as fake:
        scan, _ = scan_at(fake, "2026-12-07", "2026-12-10 07:00")
        assert index_requests(fake) == ["form.20261208.idx", "form.20261209.idx", "index.json"]
    assert scan.ciks == set() and scan.through == date(2026, 12, 8)
    assert scan.notes == ["SEC's daily index for 2026-12-09 is not out yet: read next run"]
    with FakeUpstream(companies=2, as_of="2026-12-10", extra_args=closed) as fake:
        scan, _ = scan_at(fake, "2026-12-08", "2026-12-11 07:00")
        assert index_requests(fake) == ["form.20261209.idx", "index.json", "form.20261210.idx"]
    assert scan.ciks is not None and scan.through == date(2026, 12, 10)
    assert scan.notes == ["SEC published no daily index for 2026-12-09 (closed)"]


def test_the_last_day_of_a_quarter_without_an_index_is_not_waited_for():
    with FakeUpstream(
        companies=2, as_of="2027-01-04", extra_args=["--sec-closed", "2026-12-31"]
    ) as fake:
        scan, _ = scan_at(fake, "2026-12-30", "2027-01-05 07:00")
    assert scan.ciks is not None and scan.through == date(2027, 1, 4)
    assert scan.notes == ["SEC published no daily index for 2026-12-31 (closed)"]


def test_across_the_daylight_saving_changes(archive):
    scan, asked = scan_at(archive, "2026-10-29", "2026-11-02 06:30")  # Monday 01:30 EST
    assert asked == ["20261030"] and scan.through == date(2026, 11, 1)
    scan, asked = scan_at(archive, "2027-03-11", "2027-03-15 06:30")  # Monday 02:30 EDT
    assert asked == ["20270312"] and scan.through == date(2027, 3, 14)
    scan, asked = scan_at(archive, "2027-03-11", "2027-03-15 03:30")  # Sunday 23:30 EDT
    assert asked == ["20270312"] and scan.through == date(2027, 3, 13)
