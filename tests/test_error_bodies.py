"""An upstream error shows its cause: the fake names its own failures on stderr and in the body,
and the job's error message carries a short excerpt of a readable error body."""

import gzip
import shutil

import pytest

from stock_refresh.http import NotFound, Transient, Upstreams, error_excerpt
from tests.conftest import only_report, run_cli, upstreams_for, write_config
from tests.paths import ROOT
from tests.upstream import FakeUpstream

TICKERS = "https://www.sec.gov/files/company_tickers.json"


def upstreams(fake) -> Upstreams:
    return upstreams_for(fake.url, edgar_requests_per_second=10)


@pytest.fixture(scope="module")
def fake_without_tickers(tmp_path_factory):
    """The fake from a copy of tools/ that lacks the recorded company_tickers.json."""
    tools = tmp_path_factory.mktemp("broken") / "tools"
    shutil.copytree(
        ROOT / "tools",
        tools,
        ignore=lambda folder, names: [
            n for n in names if n in ("company_tickers.json", "__pycache__")
        ],
    )
    with FakeUpstream(companies=2, script=tools / "fake_upstream.py") as fake:
        yield fake


def test_the_fake_names_its_own_failure_on_stderr_and_in_the_body(fake_without_tickers):
    with pytest.raises(Transient) as raised:
        upstreams(fake_without_tickers).get_json(TICKERS)
    assert "company_tickers.json: HTTP 500 (fake upstream error: FileNotFoundError: " in str(
        raised.value
    )
    lines = fake_without_tickers.errors().splitlines()
    assert lines and all("FileNotFoundError" in line for line in lines)
    assert lines[0].startswith(
        "fake upstream: 500 for GET www.sec.gov/files/company_tickers.json: FileNotFoundError: "
    )


def test_the_jobs_failure_carries_the_fakes_cause(fake_without_tickers, tmp_path):
    config = write_config(
        tmp_path, fake_without_tickers.url, error_handling={"max_retries_per_stock": 0}
    )
    result = run_cli("--config", config, "--symbols", "AAPL", timeout=60)
    assert result.returncode == 1
    message = only_report(tmp_path)["failures"]["AAPL"]["message"]
    assert "HTTP 500 (fake upstream error: FileNotFoundError: [Errno 2]" in message
    log = (tmp_path / "logs" / "batch_refresh.log").read_text()
    assert "AAPL failed: Transient: " + message in log


def test_an_injected_500_and_s3_errors_show_their_bodies():
    faults = "data.sec.gov/submissions/CIK0000320193.json=status:500"
    with FakeUpstream(companies=1, faults=faults) as fake:
        client = upstreams(fake)
        with pytest.raises(
            Transient, match=r"CIK0000320193\.json: HTTP 500 \(injected status 500\)$"
        ):
            client.get_json("https://data.sec.gov/submissions/CIK0000320193.json")
        with pytest.raises(
            NotFound, match=r"HTTP 404 \(no such object\) \(NoSuchKey: The specified"
        ):
            client.get_json("https://data.sec.gov/submissions/CIK0000000042.json")
        with pytest.raises(
            NotFound, match=r"HTTP 403 \(no such object\) \(AccessDenied: Access Denied\)$"
        ):
            client.get("https://www.sec.gov/Archives/edgar/data/320193/000000000000000000/x.htm")


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (b"injected status 500\n", "text/plain; charset=utf-8", "injected status 500"),
        (b'{"error":\n  "quota exceeded"}', "application/json", '{"error": "quota exceeded"}'),
        (b"x" * 500, "text/plain", "x" * 117 + "..."),
        (b"line one\r\nline two\tend", "text/plain", "line one line two end"),
        (b"<html><body><h1>Bad Gateway</h1></body></html>", "text/html", None),
        (b"<!DOCTYPE html><p>oops</p>", "text/plain", None),
        (gzip.compress(b"compressed and undecoded", mtime=0), "text/plain", None),
        (b"\x00\x01\x02binary", "application/json", None),
        (b"\x89PNG\r\n", "image/png", None),
        (b"   \n", "text/plain", None),
        (
            b"<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>",
            "application/xml",
            "SlowDown: Reduce your rate",
        ),
        (b"<?xml version='1.0'?><feed/>", "text/xml", None),
    ],
)
def test_error_excerpt(body, content_type, expected):
    assert error_excerpt(body, content_type) == expected
