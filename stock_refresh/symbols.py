"""The NYSE and NASDAQ symbol lists, spelled the way SEC and Yahoo spell them.

The GitHub lists write class shares and preferreds with `/` and `^` (`BRK/B`, `ABR^D`); SEC's
ticker files and Yahoo write `BRK-B` and `ABR-PD`. Only the `.json` lists are used: the `.txt`
ones split `BRK/B` into two bogus lines.
"""

import logging
import re
from concurrent.futures import ThreadPoolExecutor

from .http import UpstreamError, Upstreams

log = logging.getLogger(__name__)

SHRINK_LIMIT = 0.10
# Suffixes of securities that are not common stock: preferreds (`-P...`), warrants, units and
# rights, as NYSE writes them after a slash, and NASDAQ's fifth-letter codes for the same.
NYSE_NON_COMMON = re.compile(r"-P[A-Z]*$|-(WS|WT|W|U|UN|R|RT)$")
NASDAQ_FIFTH_LETTER_NON_COMMON = set("WURP")
VALID = re.compile(r"[A-Z][A-Z0-9.\-]*$")


class SymbolListError(Exception):
    """No usable symbol list: GitHub failed and no earlier list is stored."""


def normalise(symbol: str) -> str:
    """`BRK/B` -> `BRK-B`, `ABR^D` -> `ABR-PD`, surrounding spaces dropped."""
    s = str(symbol).strip().upper()
    s = re.sub(r"\^([A-Z]*)$", lambda m: "-P" + m.group(1), s)
    return s.replace("/", "-")


def is_common(symbol: str, exchange: str) -> bool:
    if NYSE_NON_COMMON.search(symbol):
        return False
    return not (
        exchange == "nasdaq" and len(symbol) == 5 and symbol[-1] in NASDAQ_FIFTH_LETTER_NON_COMMON
    )


def clean_symbols(lists: dict[str, list], include_non_common: bool = False) -> list[str]:
    """Normalise, filter, de-duplicate and sort the raw lists keyed by exchange."""
    out = set()
    for exchange, raw in lists.items():
        for entry in raw:
            if not isinstance(entry, str):
                continue
            symbol = normalise(entry)
            if VALID.match(symbol) and (include_non_common or is_common(symbol, exchange)):
                out.add(symbol)
    return sorted(out)


def fetch_symbol_lists(upstreams: Upstreams, urls: dict[str, str]) -> dict[str, list]:
    """The raw JSON arrays, keyed by exchange, fetched side by side; raises `UpstreamError` on
    a bad answer."""
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = dict(zip(urls, pool.map(upstreams.get_json, urls.values()), strict=True))
    for exchange, data in answers.items():
        if not isinstance(data, list) or not data:
            raise UpstreamError(
                f"{urls[exchange]}: expected a non-empty JSON array of symbols, "
                f"got {type(data).__name__}"
            )
    return answers


def choose_symbols(
    fetched: list[str] | None, last_good: tuple[list[str], str] | None, fetch_error: str | None
) -> tuple[list[str], str, str | None]:
    """(symbols, source, warning): the fresh list, or the last good one when GitHub failed or
    the fresh list shrank by more than 10 %; raises `SymbolListError` when there is neither."""
    if fetched and last_good and len(fetched) < (1 - SHRINK_LIMIT) * len(last_good[0]):
        warning = (
            f"symbol list shrank from {len(last_good[0])} to {len(fetched)} "
            f"(more than {SHRINK_LIMIT:.0%}); using the last good list of {last_good[1]}"
        )
        return last_good[0], "last_good", warning
    if fetched:
        return fetched, "github", None
    if last_good:
        return (
            last_good[0],
            "last_good",
            f"symbol list unavailable: {fetch_error}; using the last good list of {last_good[1]}",
        )
    raise SymbolListError(
        f"no symbol list: {fetch_error}; no earlier list is stored, nothing to refresh"
    )
