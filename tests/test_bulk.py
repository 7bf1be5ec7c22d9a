"""SEC's companyfacts.zip on a cold start: the same rows as one request per company, fetched
once, read member by member, fresher filings asked directly, a broken archive falling back."""

import logging
import re
import zipfile
from datetime import timedelta

import pytest

from tests.conftest import only_report, query, run_cli, write_config
from tests.pinned import AS_OF, suite_now
from tests.test_refresh_e2e import data_snapshot
from tests.upstream import FakeUpstream

ARCHIVE = "www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip"


def cold_run(folder, faults=None, extra_args=(), zip_from=1, now=None):
    with FakeUpstream(companies=12, faults=faults, extra_args=extra_args) as fake:
        config = write_config(folder, fake.url, sources={"companyfacts_zip_from": zip_from})
        result = run_cli("--config", config, now=now)
        requests = fake.requests()
    assert result.returncode == 0, result.stderr[-3000:]
    return requests, (folder / "logs" / "batch_refresh.log").read_text()


def companyfacts_asked(requests) -> list[str]:
    return [r["path"] for r in requests if "/api/xbrl/companyfacts/" in r["path"]]


@pytest.fixture(scope="module")
def per_company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("per-company")
    requests, _ = cold_run(folder, zip_from=0)
    return folder, requests


def test_the_archive_gives_the_rows_per_company_requests_give(per_company, tmp_path):
    folder, asked_each = per_company
    requests, log = cold_run(tmp_path)
    assert data_snapshot(tmp_path / "stocks.db") == data_snapshot(folder / "stocks.db")
    assert len([r for r in requests if ARCHIVE.split("/", 1)[1] in r["path"]]) == 1
    assert companyfacts_asked(requests) == []  # every company came from the archive
    assert len(companyfacts_asked(asked_each)) >= 15
    assert "SEC's companyfacts.zip instead of one request each" in log
    assert "companyfacts.zip: " in log and " MB in " in log
    assert not list((tmp_path / "cache" / "sec").glob("*"))  # removed when the run ended
    assert only_report(tmp_path)["failed"] == 0


def test_a_company_that_filed_after_the_archive_was_compiled_is_asked_directly(
    per_company, tmp_path
):
    """The archive of the as-of date was compiled at 03:00 that day: the companies with a
    10-Q (or 10-Q/A) filed later that day get their facts from SEC directly."""
    requests, _ = cold_run(tmp_path, extra_args=["--new-filings", "0.25"])
    asked = {int(path.rsplit("CIK", 1)[1][:10]) for path in companyfacts_asked(requests)}
    rows = query(
        tmp_path / "stocks.db",
        "SELECT DISTINCT cik FROM stocks JOIN sec_filings USING (symbol) "
        "WHERE filing_date = ? AND filing_type LIKE '10-Q%'",
        AS_OF.isoformat(),
    )
    assert asked and asked == {row["cik"] for row in rows}
    assert only_report(tmp_path)["failed"] == 0


def archive_first(log: str) -> int:
    (count,) = re.findall(r"compiled \S+: (\d+) stocks' facts from it before their filings", log)
    return int(count)


def filers_on_the_as_of_day(db) -> set[int]:
    rows = query(
        db,
        "SELECT DISTINCT cik FROM stocks JOIN sec_filings USING (symbol) "
        "WHERE filing_date = ? AND filing_type LIKE '10-Q%'",
        AS_OF.isoformat(),
    )
    return {row["cik"] for row in rows}


def test_the_screen_comes_from_the_archive_first_and_the_filings_after(per_company, tmp_path):
    """The run is screener-ready once the archive's facts and the quotes are saved; every
    stock's filings (then its sections) are saved after, and a filing the archive is too old
    for (the as-of day's, whose index is not out at the run's hour) has its facts asked again
    then: the database ends as one request per company leaves it."""
    folder, _ = per_company
    requests, log = cold_run(tmp_path, extra_args=["--new-filings", "0.25"])
    db = tmp_path / "stocks.db"
    with_cik = query(db, "SELECT count(*) AS n FROM stocks WHERE cik IS NOT NULL")[0]["n"]
    assert archive_first(log) == with_cik  # no index told of a filing since the compile day
    asked = {int(path.rsplit("CIK", 1)[1][:10]) for path in companyfacts_asked(requests)}
    assert asked and asked == filers_on_the_as_of_day(db)
    report = only_report(tmp_path)
    archive = report["companyfacts_zip"]
    assert archive["used"] and archive["bytes"] > 0 and archive["compiled"] == AS_OF.isoformat()
    assert 0 < archive["ready_at"] <= report["screener_ready_at"] < report["duration_seconds"]
    lines = log.splitlines()
    ready = next(i for i, line in enumerate(lines) if "screener-ready after" in line)
    assert "phase 1 of 2" in "".join(lines[:ready]) and "phase 2 of 2" in lines[ready]
    assert report["failed"] == 0


def test_companies_the_index_shows_filing_since_the_compile_day_are_asked_directly(tmp_path):
    """The night after the archive was compiled, that day's SEC index is out: the companies it
    lists have their facts asked with their filings in the first phase, the rest come from
    the archive."""
    requests, log = cold_run(
        tmp_path, extra_args=["--new-filings", "0.25"], now=suite_now() + timedelta(days=1)
    )
    db = tmp_path / "stocks.db"
    filers = filers_on_the_as_of_day(db)
    with_cik = query(db, "SELECT count(*) AS n FROM stocks WHERE cik IS NOT NULL")[0]["n"]
    assert filers and archive_first(log) == with_cik - len(filers)
    asked = {int(path.rsplit("CIK", 1)[1][:10]) for path in companyfacts_asked(requests)}
    assert asked == filers
    assert only_report(tmp_path)["failed"] == 0


@pytest.mark.parametrize("fault", ["truncate", "status:500", "malformed", "reset"])
def test_a_broken_archive_falls_back_to_one_request_per_company(per_company, tmp_path, fault):
    folder, asked_each = per_company
    requests, log = cold_run(tmp_path, faults=f"{ARCHIVE}={fault}")
    assert data_snapshot(tmp_path / "stocks.db") == data_snapshot(folder / "stocks.db")
    assert len(companyfacts_asked(requests)) == len(companyfacts_asked(asked_each))
    lines = [line for line in log.splitlines() if "companyfacts.zip not usable" in line]
    assert len(lines) == 1 and "one companyfacts request per company instead" in lines[0]
    assert not list((tmp_path / "cache" / "sec").glob("*"))


def test_an_unreadable_member_is_asked_for_directly_with_one_log_line(tmp_path, caplog):
    from datetime import date

    from stock_refresh.bulk import FactsArchive

    path = tmp_path / "companyfacts.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("CIK0000000001.json", b'{"facts": {}}' * 1000)
        archive.writestr("CIK0000000002.json", b'{"facts": {}}' * 1000)
    data = bytearray(path.read_bytes())
    data[60:70] = b"\xff" * 10  # inside the first member's compressed bytes
    path.write_bytes(bytes(data))
    archive = FactsArchive(path, date(2026, 11, 25))
    with caplog.at_level(logging.WARNING, logger="stock_refresh.bulk"):
        assert archive.member(1) is None
        assert archive.member(1) is None
    assert archive.member(2) == b'{"facts": {}}' * 1000
    assert archive.member(3) is None  # not in the archive: asked directly, nothing logged
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    assert archive.covers("2026-11-24") and not archive.covers("2026-11-25")
    archive.close()
