"""Symbol lists: the real GitHub fixture lists, spelled as SEC and Yahoo spell them."""

import json

import pytest

from stock_refresh.symbols import SymbolListError, choose_symbols, clean_symbols, normalise
from tests.paths import FIXTURES

NYSE = json.loads((FIXTURES / "symbols/nyse/nyse_tickers.json").read_text())
NASDAQ = json.loads((FIXTURES / "symbols/nasdaq/nasdaq_tickers.json").read_text())


def test_spelling_matches_sec_and_yahoo():
    assert normalise("BRK/B") == "BRK-B"
    assert normalise("ABR^D") == "ABR-PD"
    assert normalise("ECC           ") == "ECC"
    assert normalise("NA") == "NA"


def test_real_lists_are_cleaned_deduplicated_and_sorted():
    symbols = clean_symbols({"nyse": NYSE, "nasdaq": NASDAQ})
    assert symbols == sorted(set(symbols))
    assert {"BRK-B", "BRK-A", "BF-B", "ECC", "ETX", "NA", "AAPL", "A", "C", "F"} <= set(symbols)
    assert not [s for s in symbols if "^" in s or "/" in s or s != s.strip()]
    # preferreds (366 with ^), the NYSE warrant RAC/WS, NASDAQ warrants/units/rights/preferreds
    assert "ABR-PD" not in symbols and "RAC-WS" not in symbols
    assert not [s for s in symbols if len(s) == 5 and s[-1] in "WURP" and s in NASDAQ]
    # 2,711 NYSE - 366 preferreds - RAC/WS, plus 4,179 NASDAQ - 633 five-letter W/U/R/P codes
    assert len(symbols) == 2711 - 366 - 1 + 4179 - 633


def test_the_switch_keeps_non_common_securities():
    everything = clean_symbols({"nyse": NYSE, "nasdaq": NASDAQ}, include_non_common=True)
    assert {"ABR-PD", "RAC-WS", "BRK-B"} <= set(everything)
    assert len(everything) == len(set(s.strip() for s in NYSE) | set(NASDAQ))


def test_txt_defects_are_not_needed_nor_produced():
    lines = (FIXTURES / "symbols/nyse/nyse_tickers.txt").read_text().split()
    assert "BRK" in lines and "BRK-B" not in lines  # the .txt splits BRK/B; the .json is used
    assert "BRK-B" in clean_symbols({"nyse": NYSE})


def test_fresh_list_wins_when_it_did_not_shrink():
    assert choose_symbols(["A", "B"], (["A"], "2026-11-01"), None) == (["A", "B"], "github", None)


def test_shrink_over_ten_percent_falls_back_to_the_last_good_list():
    last = [f"S{i}" for i in range(100)]
    symbols, source, warning = choose_symbols(last[:89], (last, "2026-11-28T02:00:00+00:00"), None)
    assert (symbols, source) == (last, "last_good")
    assert "shrank from 100 to 89" in warning
    assert choose_symbols(last[:90], (last, "t"), None)[1] == "github"


def test_failed_fetch_uses_the_last_good_list_or_refuses_to_run():
    symbols, source, warning = choose_symbols(None, (["A"], "2026-11-28"), "HTTP 500")
    assert (symbols, source) == (["A"], "last_good") and "HTTP 500" in warning
    with pytest.raises(SymbolListError, match="no symbol list"):
        choose_symbols(None, None, "HTTP 500")
