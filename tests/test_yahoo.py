"""Where yfinance's requests go: Yahoo hosts only, sent to the override with the host kept."""

import pytest

from stock_refresh.http import BlockedHost
from stock_refresh.yahoo import yahoo_url

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
