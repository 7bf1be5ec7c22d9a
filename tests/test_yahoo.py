"""Where yfinance's requests go: Yahoo hosts only, sent to the override with the host kept."""

import pytest

from stock_refresh.http import BlockedHost
from stock_refresh.yahoo import YahooSession, yahoo_url
from tests.conftest import upstreams_for
from tests.upstream import FakeUpstream

QUOTE = "https://query1.finance.yahoo.com/v7/finance/quote?symbols=AAPL"


def test_yahoo_url_keeps_the_host_name_under_the_override():
    assert yahoo_url(QUOTE, None) == QUOTE
    rewritten = "http://query1.finance.yahoo.com.localhost:8765/v7/finance/quote?symbols=AAPL"
    assert yahoo_url(QUOTE, "http://127.0.0.1:8765") == rewritten
    assert yahoo_url(rewritten, "http://127.0.0.1:8765") == rewritten  # a followed redirect


def test_yahoo_url_refuses_other_hosts():
    for url in ("https://data.sec.gov/submissions/CIK0000320193.json", "https://example.org/"):
        with pytest.raises(BlockedHost):
            yahoo_url(url, None)


def test_a_yahoo_turn_counts_from_when_its_request_left_not_from_its_answer():
    """At one request a second against answers 100-300 ms late, the second request goes out a
    second (and the margin) after the first left, not after the first's answer came."""
    with FakeUpstream(companies=1, latency_ms=200) as fake:
        session = YahooSession(upstreams_for(fake.url, yahoo_delay_seconds=1.0))
        for _ in range(2):
            response = session.get("https://query1.finance.yahoo.com/v1/test/getcrumb")
            assert response.redirect_count == 0
        asked = [r for r in fake.requests() if "getcrumb" in r["path"]]
    first, second = sorted(asked, key=lambda r: r["t"])
    assert first["ms"] >= 90  # the first answer took that long after the request arrived
    # counted from the answer, the second could not go out before first + ms + 1.02 s
    assert 1.0 <= second["t"] - first["t"] < 1.02 + first["ms"] / 1000
