"""read_companyfacts keeps only the concepts xbrl.py reads, and changes no row by doing so;
the helper process turns wire bodies (gzip or not) into the same rows."""

import gzip
import json
import zlib

import psutil
import pytest
import requests

from stock_refresh.checks import check_rows
from stock_refresh.parsing import Parser
from stock_refresh.wire import decode_body
from stock_refresh.xbrl import UNIT_OF, earnings_rows, read_companyfacts
from tests.paths import FIXTURES
from tests.upstream import FakeUpstream

FACTS = FIXTURES / "edgar" / "companyfacts"
SYNTHETIC = 24


def _raw(path):
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def _concepts(payload):
    return {
        f"{taxonomy}:{concept}"
        for taxonomy, concepts in payload["facts"].items()
        for concept in concepts
    }


@pytest.mark.parametrize("path", sorted(FACTS.iterdir()), ids=lambda p: p.name)
def test_real_payloads_give_the_same_rows_from_far_fewer_concepts(path):
    raw = _raw(path)
    whole = json.loads(raw)
    kept = read_companyfacts(raw)
    assert _concepts(kept) <= set(UNIT_OF)
    assert len(_concepts(kept)) * 5 < len(_concepts(whole))
    assert _concepts(kept) == _concepts(whole) & set(UNIT_OF)
    assert earnings_rows(kept) == earnings_rows(whole)
    assert earnings_rows(kept)[0]


def test_synthetic_payloads_with_every_pitfall_give_the_same_rows():
    """The fake's companies: repeated facts, YTD quarters, splits, IFRS, tag switches..."""
    with FakeUpstream(companies=SYNTHETIC, seed=11, as_of="2026-11-25") as fake:
        compared = 0
        for cik in range(9_000_000, 9_000_000 + SYNTHETIC):
            answer = requests.get(
                f"{fake.url}/api/xbrl/companyfacts/CIK{cik:010d}.json",
                headers={"Host": "data.sec.gov", "User-Agent": "Jane Doe jane.doe@corp.com"},
                timeout=20,
            )
            if answer.status_code != 200:
                continue
            kept = read_companyfacts(answer.content)
            assert _concepts(kept) and _concepts(kept) <= set(UNIT_OF)
            assert earnings_rows(kept) == earnings_rows(json.loads(answer.content)), cik
            compared += 1
    assert compared >= SYNTHETIC - 2


LPA = json.loads((FACTS / "CIK0001997711.json").read_bytes())


@pytest.mark.parametrize(
    "payload",
    [
        {"cik": 1, "facts": {"ifrs-full": {"Revenue": [1, 2]}}},  # a concept not an object
        {"cik": 1, "facts": {"us-gaap": {"Revenues": {"units": "USD"}}}},  # units not an object
        {"cik": 1, "facts": [LPA["facts"]]},  # facts not an object
        {"cik": 1, "facts": {"ifrs-full": None, "dei": LPA["facts"]["dei"]}},
        {"cik": 1, "facts": None},
        {"cik": 1},
        {**LPA, "facts": {**LPA["facts"], "dei": 7}},
    ],
    ids=[
        "concept-list",
        "units-string",
        "facts-list",
        "taxonomy-null",
        "facts-null",
        "no-facts",
        "dei-number",
    ],
)
def test_odd_shapes_read_as_a_whole_decode_reads_them(payload):
    raw = json.dumps(payload).encode()
    assert earnings_rows(read_companyfacts(raw)) == earnings_rows(json.loads(raw))


def test_numbers_json_accepts_and_msgspec_refuses_are_read_as_before():
    text = json.dumps(LPA).replace('"val": ', '"val": 1e400, "was": ', 1)
    for raw in (text.encode(), json.dumps(LPA).replace("}", ', "x": NaN}', 1).encode()):
        assert earnings_rows(read_companyfacts(raw)) == earnings_rows(json.loads(raw))


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'{"facts": {"us-gaap": {', "expected JSON, got 23 bytes that do not parse"),
        (b"", "expected JSON, got 0 bytes"),
        (b"[1, 2]", "expected a JSON object, got list"),
    ],
)
def test_what_is_not_a_payload_is_refused(raw, expected):
    with pytest.raises(ValueError, match=expected):
        read_companyfacts(raw)


def test_wire_bodies_in_every_encoding_decode_the_same():
    text = b'{"facts": {}}' * 100
    for data, encoding in (
        (text, ""),
        (text, "identity"),
        (gzip.compress(text), "gzip"),
        (zlib.compress(text), "deflate"),
        (zlib.compress(text)[2:-4], "deflate"),
    ):  # raw deflate
        assert decode_body(data, encoding) == text
    with pytest.raises(ValueError, match="gzip body of 40 bytes that does not decompress"):
        decode_body(gzip.compress(text)[:40], "gzip")
    with pytest.raises(ValueError, match="Content-Encoding 'br', expected gzip or none"):
        decode_body(text, "br")


def test_the_helper_process_gives_the_rows_of_the_gzipped_payload_and_survives_a_crash():
    path = FACTS / "CIK0000320193.json.gz"
    rows, notes = earnings_rows(json.loads(_raw(path)))
    expected = (rows, notes, check_rows(rows))
    parser = Parser()
    try:
        assert parser.earnings(path.read_bytes(), "gzip") == expected
        helpers = [
            child
            for child in psutil.Process().children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(helpers) == 1
        helpers[0].kill()
        helpers[0].wait(10)
        assert parser.earnings(path.read_bytes(), "gzip") == expected  # a new helper
        with pytest.raises(ValueError, match="expected JSON"):
            parser.earnings(b"<html>", "")
    finally:
        parser.close()
    # its own peak, not this process's pages it shared between fork and exec
    assert 15 < parser.peak_rss_mb < 100


def test_a_gzipped_sec_throttle_page_on_the_wire_path_is_recognised():
    """Bodies fetched undecoded still have their error pages read: SEC's 403 comes gzipped."""
    from stock_refresh.edgar import fetch_companyfacts
    from stock_refresh.http import Throttled
    from tests.conftest import upstreams_for

    with FakeUpstream(companies=1, edgar_rps=2, extra_args=["--block-seconds", "1"]) as fake:
        upstreams = upstreams_for(fake.url, edgar_cooldown=0.1)
        bodies = [fetch_companyfacts(upstreams, 320193) for _ in range(2)]
        with pytest.raises(Throttled, match="SEC request rate threshold exceeded"):
            fetch_companyfacts(upstreams, 320193)
        assert fake.requests()[-1]["status"] == 403
    assert bodies[0].encoding == "gzip"
    assert earnings_rows(json.loads(decode_body(*bodies[0])))[0]
    assert upstreams.summary()["edgar"]["throttled"] == 1
