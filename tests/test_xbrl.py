"""earnings_rows on real companyfacts payloads; golden values read by hand from the fixtures."""

import copy
import gzip
import itertools
import json
import time
from datetime import date

import pytest

from stock_refresh.xbrl import debt_to_equity, earnings_rows, fiscal_year
from tests.paths import FIXTURES

FACTS = FIXTURES / "edgar" / "companyfacts"


def _load(name):
    path = FACTS / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def aapl_facts():
    return _load("CIK0000320193.json.gz")


@pytest.fixture(scope="module")
def googl_facts():
    return _load("CIK0001652044.json.gz")


@pytest.fixture(scope="module")
def lpa_facts():
    return _load("CIK0001997711.json")


def _index(result):
    rows, notes = result
    return {(r["year"], r["period"]): r for r in rows}, notes


@pytest.fixture(scope="module")
def aapl(aapl_facts):
    return _index(earnings_rows(aapl_facts))


@pytest.fixture(scope="module")
def googl(googl_facts):
    return _index(earnings_rows(googl_facts))


@pytest.fixture(scope="module")
def lpa(lpa_facts):
    return _index(earnings_rows(lpa_facts))


def test_row_shape(aapl):
    rows, _ = aapl
    keys = {
        "year",
        "period",
        "fiscal_end",
        "earnings_per_share",
        "revenue",
        "net_income",
        "diluted_shares",
        "shareholder_equity",
        "total_debt",
        "total_liabilities",
        "operating_cash_flow",
        "capital_expenditures",
        "free_cash_flow",
        "dividends_per_share",
        "shares_outstanding",
        "debt_to_equity",
        "source",
        "derived",
        "accession",
    }
    for row in rows.values():
        assert set(row) == keys
        assert row["source"] == "edgar" and row["derived"] in (0, 1)
        assert row["period"] in ("annual", "Q1", "Q2", "Q3", "Q4")


def test_aapl_fy2023_annual(aapl):
    row = aapl[0][(2023, "annual")]
    # us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax 2022-09-25..2023-09-30
    # = 383,285,000,000 in 0000320193-23-000106, -24-000123 and -25-000079 (latest wins).
    assert row["revenue"] == 383_285_000_000
    assert row["fiscal_end"] == "2023-09-30"
    assert row["accession"] == "0000320193-25-000079"
    # NetIncomeLoss same period 96,995,000,000; EarningsPerShareDiluted 6.13.
    assert row["net_income"] == 96_995_000_000
    assert row["earnings_per_share"] == pytest.approx(6.13)
    # WeightedAverageNumberOfDilutedSharesOutstanding 15,812,547,000.
    assert row["diluted_shares"] == 15_812_547_000
    # Instants at 2023-09-30: StockholdersEquity 62,146 M; Liabilities 290,437 M;
    # LongTermDebtNoncurrent 95,281 M + LongTermDebtCurrent 9,822 M + CommercialPaper 5,985 M.
    assert row["shareholder_equity"] == 62_146_000_000
    assert row["total_liabilities"] == 290_437_000_000
    assert row["total_debt"] == 111_088_000_000
    assert row["debt_to_equity"] == pytest.approx(111_088 / 62_146)
    # NetCashProvidedByUsedInOperatingActivities 110,543 M; PaymentsToAcquirePPE 10,959 M.
    assert row["operating_cash_flow"] == 110_543_000_000
    assert row["capital_expenditures"] == 10_959_000_000
    assert row["free_cash_flow"] == 110_543_000_000 - 10_959_000_000
    assert row["derived"] == 0


def test_aapl_fy2023_q4_derived(aapl):
    row = aapl[0][(2023, "Q4")]
    assert row["fiscal_end"] == "2023-09-30" and row["derived"] == 1
    # Revenue: FY 383,285 M - 9M YTD (2022-09-25..2023-07-01, 0000320193-23-000077) 293,787 M.
    assert row["revenue"] == 383_285_000_000 - 293_787_000_000
    # NetIncomeLoss: 96,995 M - 74,039 M (9M YTD) = 22,956 M.
    assert row["net_income"] == 22_956_000_000
    # OCF: 110,543 M - 88,945 M (9M YTD).
    assert row["operating_cash_flow"] == 21_598_000_000
    # Diluted shares: 4 x 15,812,547,000 (FY) - 3 x 15,859,263,000 (9M YTD).
    assert row["diluted_shares"] == 4 * 15_812_547_000 - 3 * 15_859_263_000
    # EPS = Q4 net income / Q4 diluted shares = 22,956 M / 15,672.399 M = 1.46
    # (the figure Apple reported for its fiscal Q4 2023).
    assert row["earnings_per_share"] == pytest.approx(1.46)


def test_aapl_fy2023_q3_reported(aapl):
    row = aapl[0][(2023, "Q3")]
    # 90-day NetIncomeLoss 2023-04-02..2023-07-01 = 19,881 M (0000320193-23-000077 and -24-000081).
    assert row["fiscal_end"] == "2023-07-01"
    assert row["net_income"] == 19_881_000_000
    assert row["earnings_per_share"] == pytest.approx(1.26)


def test_aapl_quarters_sum_to_year(aapl):
    rows = aapl[0]
    for year in range(2019, 2026):
        quarters = [rows[(year, f"Q{n}")] for n in range(1, 5)]
        for field in ("revenue", "net_income", "operating_cash_flow", "capital_expenditures"):
            assert sum(q[field] for q in quarters) == rows[(year, "annual")][field], (year, field)
        ends = [q["fiscal_end"] for q in quarters]
        assert ends == sorted(ends) and ends[-1] == rows[(year, "annual")]["fiscal_end"]


def test_aapl_split_adjusted_eps(aapl):
    rows, notes = aapl
    # FY2017 EarningsPerShareDiluted = 9.21, last filed in 0000320193-19-000119 (before the
    # 4-for-1 split of 2020-08-28, StockholdersEquityNoteStockSplitConversionRatio1 = 4).
    assert rows[(2017, "annual")]["earnings_per_share"] == pytest.approx(9.21 / 4)
    assert rows[(2017, "annual")]["earnings_per_share"] == pytest.approx(2.30, abs=0.01)
    # FY2018 is restated in the 2020 10-K (2.98 already on the new basis): not adjusted again.
    assert rows[(2018, "annual")]["earnings_per_share"] == pytest.approx(2.98)
    assert any("4-for-1" in n for n in notes) and any("7-for-1" in n for n in notes)
    eps = [rows[(y, "annual")]["earnings_per_share"] for y in range(2009, 2026)]
    assert all(0.2 < e < 10 for e in eps)
    # No jump larger than 2x between consecutive years once split-consistent.
    assert all(0.5 < b / a < 2 for a, b in itertools.pairwise(eps))


def test_aapl_revenue_tag_switch(aapl):
    rows = aapl[0]
    # FY2015 only under SalesRevenueNet (233,715 M, 0000320193-17-000070);
    # FY2019 only under RevenueFromContractWithCustomerExcludingAssessedTax (260,174 M).
    assert rows[(2015, "annual")]["revenue"] == 233_715_000_000
    assert rows[(2019, "annual")]["revenue"] == 260_174_000_000
    revenue = [rows[(y, "annual")]["revenue"] for y in range(2008, 2026)]
    assert all(r for r in revenue)


def test_aapl_running_year_quarter(aapl):
    row = aapl[0][(2026, "Q1")]
    # The 10-Q for the quarter 2025-09-28..2025-12-27 (0000320193-26-000006): revenue 143,756 M.
    assert row["fiscal_end"] == "2025-12-27"
    assert row["revenue"] == 143_756_000_000
    assert (2026, "annual") not in aapl[0]


def test_googl_revenue_tag_switch_and_split(googl):
    rows, notes = googl
    # Revenues (2015, only tag) 74,989 M; RevenueFromContractWithCustomer... 2022 282,836 M
    # (no Revenues fact for 2022); Revenues 2025 402,836 M (RFC last ends 2025-03-31).
    assert rows[(2015, "annual")]["revenue"] == 74_989_000_000
    assert rows[(2022, "annual")]["revenue"] == 282_836_000_000
    assert rows[(2025, "annual")]["revenue"] == 402_836_000_000
    # Q4 = FY - Revenues 9M YTD 2025-01-01..2025-09-30 (289,007 M, 0001652044-25-000091).
    assert rows[(2025, "Q4")]["revenue"] == 402_836_000_000 - 289_007_000_000
    revenue = [rows[(y, "annual")]["revenue"] for y in range(2013, 2026)]
    assert revenue == sorted(revenue)
    # 20-for-1 split effective 2022-07-15: 2019 EPS 49.16 (0001652044-22-000019, filed
    # 2022-02-02) -> 2.458; 2020 EPS 2.93 restated in 0001652044-23-000016.
    assert rows[(2019, "annual")]["earnings_per_share"] == pytest.approx(49.16 / 20)
    assert rows[(2020, "annual")]["earnings_per_share"] == pytest.approx(2.93)
    assert rows[(2025, "annual")]["earnings_per_share"] == pytest.approx(10.81)
    assert any("20-for-1" in n for n in notes)
    eps = [
        rows[(y, "annual")]["earnings_per_share"]
        for y in (2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025)
    ]
    assert all(0.5 < e < 12 for e in eps)


def test_googl_shares_outstanding(googl):
    rows, notes = googl
    # No dei:EntityCommonStockSharesOutstanding; us-gaap:CommonStockSharesOutstanding at
    # 2025-12-31 = 12,088,000,000 (0001652044-26-000048).
    assert rows[(2025, "annual")]["shares_outstanding"] == 12_088_000_000
    assert any("EntityCommonStockSharesOutstanding" in n for n in notes)


def test_googl_debt_to_equity(googl):
    row = googl[0][(2025, "annual")]
    # 2025-12-31: LongTermDebtNoncurrent 46,547 M + LongTermDebtCurrent 1,996 M +
    # CommercialPaper 0; StockholdersEquity 415,265 M.
    assert row["total_debt"] == 48_543_000_000
    assert row["shareholder_equity"] == 415_265_000_000
    assert row["debt_to_equity"] == pytest.approx(48_543 / 415_265)
    # 2021-12-31: no LongTermDebtNoncurrent; LongTermDebt 15,440 M + CommercialPaper 0.
    assert googl[0][(2021, "annual")]["total_debt"] == 15_440_000_000


def test_lpa_ifrs_annual_rows(lpa):
    rows, notes = lpa
    assert {p for (_, p) in rows} == {"annual"}
    row = rows[(2024, "annual")]
    # ifrs-full:Revenue 2024 = 43,862,372; ProfitLossAttributableToOwnersOfParent -29,285,428;
    # DilutedEarningsLossPerShare -0.94 (0001997711-25-000030).
    assert row["revenue"] == 43_862_372
    assert row["net_income"] == -29_285_428
    assert row["earnings_per_share"] == pytest.approx(-0.94)
    assert row["accession"] == "0001997711-25-000030"
    # Borrowings 267,216,692 / EquityAttributableToOwnersOfParent 228,964,876.
    assert row["total_debt"] == 267_216_692
    assert row["debt_to_equity"] == pytest.approx(267_216_692 / 228_964_876)
    # CashFlowsFromUsedInOperations 19,391,563 - PurchaseOfPPE 71,066.
    assert row["free_cash_flow"] == 19_391_563 - 71_066
    assert rows[(2023, "annual")]["revenue"] == 39_436_343
    assert any("us-gaap" in n for n in notes)


def test_lpa_recapitalisation_basis(lpa):
    rows, notes = lpa
    # 2022 AdjustedWeightedAverageShares: 168,142,740 (2024 20-F) -> 28,600,000 (2025 20-F):
    # 2021 (only in the 2024 20-F) is put on the 28.6 M basis: 0.025 x 168,142,740 / 28.6 M.
    assert rows[(2021, "annual")]["diluted_shares"] == 28_600_000
    assert rows[(2021, "annual")]["earnings_per_share"] == pytest.approx(
        0.025 * 168_142_740 / 28_600_000, rel=1e-4
    )
    assert rows[(2022, "annual")]["earnings_per_share"] == pytest.approx(0.28)


def test_debt_to_equity_definition():
    assert debt_to_equity(50, 100) == 0.5
    assert debt_to_equity(0, 100) == 0.0
    assert debt_to_equity(50, 0) is None
    assert debt_to_equity(50, -10) is None
    assert debt_to_equity(None, 100) is None
    assert debt_to_equity(10, None) is None
    assert debt_to_equity("x", 5) is None


def test_fiscal_year_rule():
    assert fiscal_year(date(2023, 9, 30)) == 2023
    assert fiscal_year(date(2024, 2, 3)) == 2024  # retailer year ending early February
    assert fiscal_year(date(2023, 1, 1)) == 2022  # 52/53-week year for a 31 December end
    assert fiscal_year(date(2023, 12, 31)) == 2023


def _facts(**concepts):
    return {
        "cik": "0000000001",
        "facts": {"us-gaap": {name: {"units": units} for name, units in concepts.items()}},
    }


def _fact(start, end, val, filed="2024-02-01", form="10-K", accn="0000000001-24-000001"):
    out = {
        "end": end,
        "val": val,
        "accn": accn,
        "form": form,
        "filed": filed,
        "fy": 1999,
        "fp": "Q2",
    }
    if start:
        out["start"] = start
    return out


def test_fy_fp_ignored_and_restatement_wins():
    facts = _facts(
        NetIncomeLoss={
            "USD": [
                _fact("2023-01-01", "2023-12-31", 100, filed="2024-02-01", accn="a-24-1"),
                _fact("2023-01-01", "2023-12-31", 90, filed="2025-02-01", accn="a-25-1"),
                _fact("2022-01-01", "2022-12-31", 80, filed="2025-02-01", accn="a-25-1"),
            ]
        }
    )
    rows, _ = _index(earnings_rows(facts))
    assert rows[(2023, "annual")]["net_income"] == 90
    assert rows[(2023, "annual")]["accession"] == "a-25-1"
    assert rows[(2022, "annual")]["net_income"] == 80


def test_missing_quarter_derived_from_ytd():
    usd = [
        _fact("2023-01-01", "2023-03-31", 10, form="10-Q"),
        _fact("2023-01-01", "2023-06-30", 25, form="10-Q"),
        _fact("2023-01-01", "2023-09-30", 45, form="10-Q"),
        _fact("2023-01-01", "2023-12-31", 70),
    ]
    rows, _ = _index(earnings_rows(_facts(Revenues={"USD": usd})))
    assert [rows[(2023, f"Q{n}")]["revenue"] for n in range(1, 5)] == [10, 15, 20, 25]
    assert [rows[(2023, f"Q{n}")]["derived"] for n in range(1, 5)] == [0, 1, 1, 1]
    assert rows[(2023, "Q3")]["fiscal_end"] == "2023-09-30"


def test_quarter_comes_from_the_concept_of_its_year_to_date_figures():
    """A lesser concept reporting one quarter alone does not displace the year's own concept."""
    ytd = [
        _fact("2023-01-01", "2023-03-31", 10, form="10-Q"),
        _fact("2023-01-01", "2023-06-30", 25, form="10-Q"),
        _fact("2023-01-01", "2023-09-30", 45, form="10-Q"),
        _fact("2023-01-01", "2023-12-31", 70),
    ]
    lesser = [_fact("2023-04-01", "2023-06-30", 99, form="10-Q")]
    payload = _facts(Revenues={"USD": ytd}, SalesRevenueNet={"USD": lesser})
    rows, _ = _index(earnings_rows(payload))
    assert [rows[(2023, f"Q{n}")]["revenue"] for n in range(1, 5)] == [10, 15, 20, 25]


def test_bad_input_never_raises():
    for bad in (
        None,
        {},
        {"facts": None},
        {"facts": {"dei": {}}},
        [],
        "x",
        {"cik": 5, "facts": {"us-gaap": {"NetIncomeLoss": {"units": {"EUR": []}}}}},
        _facts(
            NetIncomeLoss={
                "USD": [
                    {"end": "2023-12-31", "val": "abc"},
                    {"start": "2023-01-01", "val": 1},
                    {
                        "start": None,
                        "end": "2023-12-31",
                        "val": 3,
                        "form": "10-K",
                        "filed": "2024-01-01",
                    },
                    "junk",
                    None,
                ]
            }
        ),
        _facts(NetIncomeLoss={"USD": "notalist"}),
        _facts(NetIncomeLoss=None),
    ):
        rows, notes = earnings_rows(bad)
        assert rows == [] and notes


def test_non_usd_filer_noted():
    facts = {
        "cik": 1,
        "facts": {
            "ifrs-full": {
                "Revenue": {"units": {"EUR": [_fact("2023-01-01", "2023-12-31", 5, form="20-F")]}}
            }
        },
    }
    rows, notes = earnings_rows(facts)
    assert rows == [] and any("EUR" in n for n in notes)


def test_fact_without_start_is_an_instant_not_a_period(aapl_facts):
    facts = copy.deepcopy(aapl_facts)
    for fact in facts["facts"]["us-gaap"]["NetIncomeLoss"]["units"]["USD"]:
        fact.pop("start", None)
    rows, _ = _index(earnings_rows(facts))
    assert rows[(2023, "annual")]["net_income"] is None
    assert rows[(2023, "annual")]["revenue"] == 383_285_000_000


def test_fast_on_aapl(aapl_facts):
    start = time.perf_counter()
    earnings_rows(aapl_facts)
    assert time.perf_counter() - start < 0.5


def _diluted_shares_in_thousands(payload, since, until):
    """AAPL's real payload with the diluted share counts of the filings filed in
    [since, until] tagged in thousands (412,345 for 412,345,000), their EPS as filed."""
    out = copy.deepcopy(payload)
    concept = out["facts"]["us-gaap"]["WeightedAverageNumberOfDilutedSharesOutstanding"]
    for fact in concept["units"]["shares"]:
        if since <= fact["filed"] <= until:
            fact["val"] = fact["val"] / 1000
    return out


@pytest.mark.parametrize(
    ("since", "until", "span"),
    [
        ("2016-01-01", "2017-06-30", "from 2016-01-27 until 2017-08-02"),
        ("2023-01-01", "2099-12-31", "from 2023-02-03"),
        ("2009-01-01", "2011-12-31", "until 2012-01-25"),
    ],
    ids=["a-run-between", "the-latest-filings", "the-oldest-filings"],
)
def test_share_counts_in_thousands_are_a_units_error_not_splits(aapl_facts, since, until, span):
    rows, notes = earnings_rows(_diluted_shares_in_thousands(aapl_facts, since, until))
    assert rows == earnings_rows(aapl_facts)[0]
    assert [n for n in notes if "diluted share counts" in n] == [
        f"units error: diluted share counts filed {span} are 1,000 times too small while "
        "per-share values stayed as filed; the counts are rescaled, per-share values left as filed"
    ]
    assert [n for n in notes if "split" in n] == [
        n for n in earnings_rows(aapl_facts)[1] if "split" in n
    ]


def test_balance_sheet_shares_in_thousands_are_rescaled_from_the_cover_page(aapl):
    # AAPL's 10-Q 0001193125-14-157311 tagged CommonStockSharesOutstanding at 2014-03-29 as
    # 861,745 (thousands); its cover page: 861,381,000 at 2014-04-11. 7-for-1 and 4-for-1 since.
    rows, notes = aapl
    assert rows[(2014, "Q2")]["shares_outstanding"] == 861_745_000 * 28
    assert (
        "units error: us-gaap:CommonStockSharesOutstanding in 0001193125-14-157311 is 1,000 "
        "times smaller than the same filing's cover-page count; rescaled"
    ) in notes


def test_splits_dated_by_their_ratio_facts(aapl, googl):
    splits = [n for n in aapl[1] + googl[1] if "stock split" in n]
    assert [n.split(" (")[0] for n in splits] == [
        "stock split 7-for-1 effective 2014-06-06",
        "stock split 4-for-1 effective 2020-08-28",
        "stock split 20-for-1 effective 2022-07-15",
    ]


def test_split_ratio_fact_from_before_the_first_filing_changes_nothing(googl_facts, googl):
    # GOOGL's 2-for-1 of 2014-04-02 (StockholdersEquityNoteStockSplitConversionRatio1 in
    # 0001652044-16-000012) predates Alphabet's first filing (2015): every figure is on the
    # new basis already, so there is no note and no adjustment.
    filed = [
        f["filed"]
        for f in googl_facts["facts"]["us-gaap"]["EarningsPerShareDiluted"]["units"]["USD/shares"]
    ]
    assert min(filed) > "2014-04-02"
    assert not any("2-for-1" in n for n in googl[1])


def test_eps_jump_without_share_counts_agreeing_is_no_split(aapl_facts):
    """Per-share values of one filing re-filed 10x smaller while the same filings' diluted
    share counts stayed put: the evidence disagrees, so nothing is re-based."""
    changed = copy.deepcopy(aapl_facts)
    for fact in changed["facts"]["us-gaap"]["EarningsPerShareDiluted"]["units"]["USD/shares"]:
        if "2017-01-01" <= fact["filed"] <= "2017-12-31":
            fact["val"] = round(fact["val"] * 10, 2)
    rows, notes = earnings_rows(changed)
    assert [n.split(" (")[0] for n in notes if n.startswith("stock split")] == [
        "stock split 7-for-1 effective 2014-06-06",
        "stock split 4-for-1 effective 2020-08-28",
    ]
    assert (
        "per-share or share figures re-filed by 2017-02-01 moved by 0.1 without the other kind "
        "agreeing; not taken for a stock split"
    ) in notes
    base = {(r["year"], r["period"]): r for r in earnings_rows(aapl_facts)[0]}
    for row in rows:
        if row["year"] < 2015:
            assert (
                row["earnings_per_share"]
                == base[(row["year"], row["period"])]["earnings_per_share"]
            )
