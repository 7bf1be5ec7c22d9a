"""The cross-checks on rows parsed from the recorded companyfacts, as filed and as broken in
the ways real filings break (share counts in thousands, a sign slip, a quarter that is off)."""

import copy
import gzip
import json

import pytest

from stock_refresh.checks import check_rows
from stock_refresh.xbrl import earnings_rows
from tests.paths import FIXTURES

FACTS = FIXTURES / "edgar" / "companyfacts"


def _rows(name):
    opener = gzip.open if name.endswith(".gz") else open
    with opener(FACTS / name, "rt") as fh:
        return earnings_rows(json.load(fh))[0]


@pytest.fixture(scope="module")
def aapl():
    return _rows("CIK0000320193.json.gz")


def _by_key(rows):
    return {(r["year"], r["period"]): r for r in rows}


def _found(checks):
    return sorted((c["year"], c["period"], c["check"], c["severity"]) for c in checks.flagged)


@pytest.mark.parametrize(
    "name", ["CIK0000320193.json.gz", "CIK0001652044.json.gz", "CIK0001997711.json"]
)
def test_the_recorded_companies_pass_every_check(name):
    checks = check_rows(_rows(name))
    assert checks.flagged == []
    assert checks.run > 15


def test_share_counts_as_filed_in_thousands_fail_eps_and_the_share_trend(aapl):
    """AAPL's rows with the diluted shares of its FY2017 filings as a filer who tagged them in
    thousands would give them (EPS as filed): each such row fails EPS = NI / shares by 1,000x,
    and the share count drops and recovers 1,000x at the edges of the run."""
    rows = copy.deepcopy(aapl)
    run = {(2017, p) for p in ("Q1", "Q2", "Q3", "Q4", "annual")}
    for row in rows:
        if (row["year"], row["period"]) in run:
            row["diluted_shares"] /= 1000
    flagged = _found(check_rows(rows))
    eps = [(y, p) for y, p, check, severity in flagged if check == "eps_vs_net_income"]
    assert sorted(eps) == sorted(run)
    assert all(severity == "error" for *_, check, severity in flagged if check.startswith("eps"))
    assert {(y, p) for y, p, check, _ in flagged if check == "diluted_shares_jump"} == {
        (2017, "Q1"),
        (2018, "Q1"),
        (2017, "annual"),
        (2018, "annual"),
    }


def test_eps_within_the_tolerance_for_preferred_dividends_passes(aapl):
    rows = copy.deepcopy(aapl)
    row = _by_key(rows)[(2023, "annual")]
    row["earnings_per_share"] = round(row["earnings_per_share"] * 0.85, 2)  # 15 % to preferred
    assert check_rows(rows).flagged == []
    row["earnings_per_share"] = round(row["earnings_per_share"] * 0.5, 2)
    assert _found(check_rows(rows)) == [(2023, "annual", "eps_vs_net_income", "warning")]


def test_a_quarter_that_does_not_add_up_to_its_year(aapl):
    rows = copy.deepcopy(aapl)
    q2 = _by_key(rows)[(2023, "Q2")]
    q2["revenue"] += 5_000_000_000
    q2["dividends_per_share"] += 0.05
    checks = check_rows(rows)
    assert _found(checks) == [
        (2023, "annual", "quarters_sum_dividends_per_share", "warning"),
        (2023, "annual", "quarters_sum_revenue", "warning"),
    ]
    revenue = next(c for c in checks.flagged if c["check"] == "quarters_sum_revenue")
    assert revenue["found"] - revenue["expected"] == 5_000_000_000


def test_signs_of_revenue_debt_and_equity(aapl):
    rows = copy.deepcopy(aapl)
    by_key = _by_key(rows)
    by_key[(2022, "annual")]["revenue"] *= -1
    by_key[(2022, "annual")]["total_debt"] *= -1
    by_key[(2021, "annual")]["shareholder_equity"] *= -1
    assert _found(check_rows(rows)) == [
        (2021, "annual", "equity_sign", "warning"),
        (2022, "annual", "debt_sign", "error"),
        (2022, "annual", "equity_sign", "warning"),
        (2022, "annual", "quarters_sum_revenue", "warning"),  # its quarters are positive
        (2022, "annual", "revenue_sign", "error"),
    ]


def test_equity_that_turns_negative_gradually_is_not_a_sign_slip():
    rows = [
        {"year": 2020 + i, "period": "annual", "fiscal_end": f"{2020 + i}-12-31", "revenue": 1.0}
        | {"shareholder_equity": equity}
        for i, equity in enumerate([900.0, 300.0, -50.0, -400.0])
    ]
    assert check_rows(rows).flagged == []
