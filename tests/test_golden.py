"""Every annual figure the README promises, for three fiscal years of each recorded company,
worked out by hand from the raw facts of the fixtures by the README's rules ("The data"): the
latest-filed fact of each concept for the period wins, instants at the period end, total debt a
sum of its filed parts, free cash flow = operating cash flow - capex, D/E = total debt / equity.
Each figure cites the accession of the filing it comes from (computed ones: of their parts).
A change that moves any of them fails here.
"""

import gzip
import json

import pytest

from stock_refresh.xbrl import earnings_rows
from tests.paths import FIXTURES

FACTS = FIXTURES / "edgar" / "companyfacts"
M = 1_000_000

AAPL = "CIK0000320193.json.gz"  # fiscal years end late September
AAPL_GOLDEN = {
    # column: (FY2022, FY2023, FY2024), source
    "revenue": (
        (394_328 * M, 383_285 * M, 391_035 * M),
        "RevenueFromContractWithCustomerExcludingAssessedTax: 0000320193-24-000123, "
        "0000320193-25-000079, 0000320193-25-000079",
    ),
    "net_income": ((99_803 * M, 96_995 * M, 93_736 * M), "NetIncomeLoss: same filings"),
    "earnings_per_share": ((6.11, 6.13, 6.08), "EarningsPerShareDiluted: same filings"),
    "diluted_shares": (
        (16_325_819_000, 15_812_547_000, 15_408_095_000),
        "WeightedAverageNumberOfDilutedSharesOutstanding: same filings",
    ),
    "shareholder_equity": (
        (50_672 * M, 62_146 * M, 56_950 * M),
        "StockholdersEquity: 0000320193-25-000079, 0000320193-25-000079, 0000320193-26-000006",
    ),
    "total_debt": (
        (
            (98_959 + 11_128 + 9_982) * M,
            (95_281 + 9_822 + 5_985) * M,
            (85_750 + 10_912 + 9_967) * M,
        ),
        "LongTermDebtNoncurrent + LongTermDebtCurrent + CommercialPaper (no DebtCurrent): "
        "0000320193-23-000106, 0000320193-24-000123, 0000320193-25-000079",
    ),
    "operating_cash_flow": (
        (122_151 * M, 110_543 * M, 118_254 * M),
        "NetCashProvidedByUsedInOperatingActivities: 0000320193-24-000123, "
        "0000320193-25-000079, 0000320193-25-000079",
    ),
    "capital_expenditures": (
        (10_708 * M, 10_959 * M, 9_447 * M),
        "PaymentsToAcquirePropertyPlantAndEquipment: same filings",
    ),
    "free_cash_flow": (
        ((122_151 - 10_708) * M, (110_543 - 10_959) * M, (118_254 - 9_447) * M),
        "OCF - capex",
    ),
    "dividends_per_share": (
        (0.90, 0.94, 0.98),
        "CommonStockDividendsPerShareDeclared: 0000320193-24-000123, 0000320193-25-000079, "
        "0000320193-25-000079",
    ),
    "shares_outstanding": (
        (15_943_425_000, 15_550_061_000, 15_116_786_000),
        "CommonStockSharesOutstanding: 0000320193-23-000106, 0000320193-24-000123, "
        "0000320193-25-000079",
    ),
    "debt_to_equity": (
        (120_069 / 50_672, 111_088 / 62_146, 106_629 / 56_950),
        "total debt / equity above",
    ),
}

GOOGL = "CIK0001652044.json.gz"  # calendar years; 20-for-1 split of 2022-07-15 filed earlier
GOOGL_GOLDEN = {
    "revenue": (
        (282_836 * M, 307_394 * M, 350_018 * M),
        "RevenueFromContractWithCustomerExcludingAssessedTax: 0001652044-25-000014 (all three; "
        "2023 and 2024 also as Revenues in 0001652044-26-000018, same values)",
    ),
    "net_income": (
        (59_972 * M, 73_795 * M, 100_118 * M),
        "NetIncomeLoss: 0001652044-25-000014, 0001652044-26-000018, 0001652044-26-000018",
    ),
    "earnings_per_share": ((4.56, 5.80, 8.04), "EarningsPerShareDiluted: same filings"),
    "diluted_shares": (
        (13_159 * M, 12_722 * M, 12_447 * M),
        "WeightedAverageNumberOfDilutedSharesOutstanding: same filings",
    ),
    "shareholder_equity": (
        (256_144 * M, 283_379 * M, 325_084 * M),
        "StockholdersEquity: 0001652044-26-000018, 0001652044-26-000018, 0001652044-26-000048",
    ),
    "total_debt": (
        (15_312 * M, (11_870 + 1_000 + 0) * M, (10_883 + 999 + 2_300) * M),
        "2022: LongTermDebt (0001652044-23-000016) + CommercialPaper 0 (0001652044-24-000022), "
        "no LongTermDebtNoncurrent; 2023: LongTermDebtNoncurrent + LongTermDebtCurrent + "
        "CommercialPaper (0001652044-25-000014); 2024: the same (0001652044-26-000018)",
    ),
    "operating_cash_flow": (
        (91_495 * M, 101_746 * M, 125_299 * M),
        "NetCashProvidedByUsedInOperatingActivities: 0001652044-25-000014, "
        "0001652044-26-000018, 0001652044-26-000018",
    ),
    "capital_expenditures": (
        (31_485 * M, 32_251 * M, 52_535 * M),
        "PaymentsToAcquirePropertyPlantAndEquipment: same filings",
    ),
    "free_cash_flow": (
        ((91_495 - 31_485) * M, (101_746 - 32_251) * M, (125_299 - 52_535) * M),
        "OCF - capex",
    ),
    "dividends_per_share": (
        (None, None, 0.60),
        "CommonStockDividendsPerShareDeclared: the first dividend, 2024 (0001652044-26-000018)",
    ),
    "shares_outstanding": (
        (12_849 * M, 12_460 * M, 12_211 * M),
        "CommonStockSharesOutstanding (no dei cover count): 0001652044-24-000022, "
        "0001652044-25-000014, 0001652044-26-000018",
    ),
    "debt_to_equity": (
        (15_312 / 256_144, 12_870 / 283_379, 14_182 / 325_084),
        "total debt / equity above",
    ),
}

LPA = "CIK0001997711.json"  # ifrs-full only, 20-F; recapitalised in 2024 (1-for-5.87912)
LPA_GOLDEN = {
    "revenue": (
        (31_983_567, 39_436_343, 43_862_372),
        "ifrs-full:Revenue: 0001997711-25-000030 (all three)",
    ),
    "net_income": (
        (8_028_610, 3_139_333, -29_285_428),
        "ProfitLossAttributableToOwnersOfParent: 0001997711-25-000030",
    ),
    "earnings_per_share": (
        (0.28, 0.11, -0.94),
        "DilutedEarningsLossPerShare: 0001997711-25-000030 (restated from 0.048 and 0.019)",
    ),
    "diluted_shares": (
        (28_600_000, 28_600_000, 30_995_079),
        "AdjustedWeightedAverageShares: 0001997711-25-000030",
    ),
    "shareholder_equity": (
        (200_814_005, 222_326_402, 228_964_876),
        "EquityAttributableToOwnersOfParent: 0001493152-24-016772, 0001997711-25-000030, "
        "0001997711-25-000030",
    ),
    "total_debt": (
        (215_849_667, 271_344_270, 267_216_692),
        "Borrowings: 0001493152-24-016772, 0001997711-25-000030, 0001997711-25-000030",
    ),
    "operating_cash_flow": (
        (19_611_145, 17_199_470, 19_391_563),
        "CashFlowsFromUsedInOperations: 0001997711-25-000030",
    ),
    "capital_expenditures": (
        (88_487, 126_476, 71_066),
        "PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities: 0001997711-25-000030",
    ),
    "free_cash_flow": (
        (19_611_145 - 88_487, 17_199_470 - 126_476, 19_391_563 - 71_066),
        "OCF - capex",
    ),
    "dividends_per_share": ((None, None, None), "no dividend facts"),
    "shares_outstanding": (
        (28_600_000, 28_600_000, 31_668_601),
        "2022, 2023: NumberOfSharesOutstanding 168,142,740 (0001493152-24-016772, the old "
        "basis) x 28,600,000 / 168,142,740 (the recapitalisation, from the restated 2022 "
        "AdjustedWeightedAverageShares); 2024: no balance-sheet count, the cover count of "
        "2025-04-02 (0001641172-25-002932, the 20-F/A)",
    ),
    "debt_to_equity": (
        (215_849_667 / 200_814_005, 271_344_270 / 222_326_402, 267_216_692 / 228_964_876),
        "total debt / equity above",
    ),
}

CASES = [
    (AAPL, (2022, 2023, 2024), AAPL_GOLDEN),
    (GOOGL, (2022, 2023, 2024), GOOGL_GOLDEN),
    (LPA, (2022, 2023, 2024), LPA_GOLDEN),
]


def _annual(name):
    opener = gzip.open if name.endswith(".gz") else open
    with opener(FACTS / name, "rt") as fh:
        rows, _ = earnings_rows(json.load(fh))
    return {r["year"]: r for r in rows if r["period"] == "annual"}


@pytest.mark.parametrize(
    ("name", "years", "golden", "column"),
    [(name, years, golden, column) for name, years, golden in CASES for column in golden],
    ids=[f"{name[:13]}-{column}" for name, _, golden in CASES for column in golden],
)
def test_annual_figures_match_the_filings(name, years, golden, column):
    annual = _annual(name)
    expected, _source = golden[column]
    for year, want in zip(years, expected, strict=True):
        got = annual[year][column]
        assert (got is None) == (want is None), (year, got)
        if want is not None:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (year, got)


def test_the_tables_cover_every_promised_column():
    promised = {
        "revenue",
        "net_income",
        "earnings_per_share",
        "diluted_shares",
        "shareholder_equity",
        "total_debt",
        "operating_cash_flow",
        "capital_expenditures",
        "free_cash_flow",
        "dividends_per_share",
        "shares_outstanding",
        "debt_to_equity",
    }
    for _, _, golden in CASES:
        assert set(golden) == promised
