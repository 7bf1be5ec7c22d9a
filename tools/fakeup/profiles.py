"""Who the fake serves: the fixture companies (with stand-in profiles) and the synthetic SYX*
companies.

Synthetic company i (0-based) has ticker "SYX" + bijective base-26 letters of i+1 (SYXA..SYXZ,
SYXAA, ...) and CIK 9000000 + i. The first eight carry one pitfall each so even a small
--companies N exercises them: SYXA plain, SYXB stock split, SYXC IFRS 20-F filer, SYXD no EPS,
SYXE June fiscal year end, SYXF SalesRevenueNet -> RevenueFromContract... tag switch,
SYXG negative equity, SYXH old filings in a submissions page file.
"""

import datetime as dt
import math
import random

from .model import Profile

SYXTHETIC_CIK_BASE = 9_000_000
SPECIAL = ("plain", "split", "ifrs", "no_eps", "june", "tag_switch", "neg_equity", "paged")

SECTORS = [  # (sector, industry, sic, sicDescription, Nasdaq screener sector)
    ("Technology", "Software - Application", "7372", "Services-Prepackaged Software", "Technology"),
    ("Technology", "Semiconductors", "3674", "Semiconductors & Related Devices", "Technology"),
    (
        "Healthcare",
        "Biotechnology",
        "2836",
        "Biological Products, (No Diagnostic Substances)",
        "Health Care",
    ),
    (
        "Healthcare",
        "Medical Devices",
        "3841",
        "Surgical & Medical Instruments & Apparatus",
        "Health Care",
    ),
    (
        "Industrials",
        "Specialty Industrial Machinery",
        "3560",
        "General Industrial Machinery & Equipment",
        "Industrials",
    ),
    (
        "Consumer Cyclical",
        "Specialty Retail",
        "5900",
        "Retail-Miscellaneous Retail",
        "Consumer Discretionary",
    ),
    (
        "Consumer Defensive",
        "Packaged Foods",
        "2000",
        "Food and Kindred Products",
        "Consumer Staples",
    ),
    ("Financial Services", "Banks - Regional", "6022", "State Commercial Banks", "Finance"),
    ("Energy", "Oil & Gas E&P", "1311", "Crude Petroleum & Natural Gas", "Energy"),
    ("Utilities", "Utilities - Regulated Electric", "4911", "Electric Services", "Utilities"),
    ("Real Estate", "REIT - Industrial", "6798", "Real Estate Investment Trusts", "Real Estate"),
    (
        "Basic Materials",
        "Specialty Chemicals",
        "2890",
        "Miscellaneous Chemical Products",
        "Basic Materials",
    ),
    (
        "Communication Services",
        "Internet Content & Information",
        "7370",
        "Services-Computer Programming, Data Processing, Etc.",
        "Technology",
    ),
]
WORDS_A = [
    "Amber",
    "Blue",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "North",
    "Orchid",
    "Pioneer",
    "Quarry",
    "River",
    "Summit",
    "Tidal",
    "Union",
    "Vertex",
    "Willow",
    "Zenith",
]
WORDS_B = [
    "Analytics",
    "Bancorp",
    "Biosciences",
    "Brands",
    "Dynamics",
    "Energy",
    "Foods",
    "Holdings",
    "Industries",
    "Logistics",
    "Materials",
    "Networks",
    "Pharmaceuticals",
    "Power",
    "Realty",
    "Robotics",
    "Semiconductor",
    "Systems",
    "Technologies",
    "Therapeutics",
]
STATES = ["DE", "CA", "NY", "TX", "MA", "WA", "IL", "NV", "FL", "GA"]


def synthetic_ticker(i: int) -> str:
    n, letters = i + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return "SYX" + letters


def synthetic_index(ticker: str) -> int | None:
    if not ticker.startswith("SYX") or not ticker[3:].isalpha() or not ticker[3:].isupper():
        return None
    n = 0
    for c in ticker[3:]:
        n = n * 26 + ord(c) - 64
    return n - 1


def synthetic(i: int, seed: str, as_of: dt.date) -> Profile:
    rng = random.Random(f"{seed}/syn/{i}")
    trait = SPECIAL[i] if i < len(SPECIAL) else None
    years = rng.randint(5, 15)
    if trait in ("tag_switch", "paged"):
        years = max(years, 12)

    def chance(name, p):
        return trait == name or (trait is None and rng.random() < p)

    ifrs = chance("ifrs", 0.03)
    if ifrs:
        years = max(years, 10)
    sector = rng.choice(SECTORS)
    fye = 6 if trait == "june" else 12
    if trait is None and rng.random() < 0.35:
        fye = rng.choice([1, 3, 4, 6, 8, 9, 10])
    if ifrs:
        fye = 12
    first_fy = as_of.year - years
    revenue0 = math.exp(rng.uniform(math.log(5e7), math.log(8e10)))
    tags = (
        (("RevenueFromContractWithCustomerExcludingAssessedTax", None),)
        if rng.random() < 0.6
        else (("Revenues", None),)
    )
    if chance("tag_switch", 0.2):
        if first_fy <= 2016 and rng.random() < 0.6 or trait == "tag_switch":
            tags = (
                ("SalesRevenueNet", dt.date(2018, 3, 1)),
                ("RevenueFromContractWithCustomerExcludingAssessedTax", None),
            )
        else:
            when = dt.date(rng.randint(first_fy + 2, as_of.year - 1), rng.randint(1, 12), 1)
            tags = (
                ("RevenueFromContractWithCustomerExcludingAssessedTax", when),
                ("Revenues", None),
            )
    splits = ()
    if chance("split", 0.08):
        lo = dt.date(first_fy + 2, 1, 1).toordinal()
        hi = (as_of - dt.timedelta(days=200)).toordinal()
        splits = (
            (dt.date.fromordinal(rng.randint(lo, max(lo, hi))), rng.choice([2, 3, 4, 5, 10])),
        )
    ticker = synthetic_ticker(i)
    exchange = "Nasdaq" if rng.random() < 0.55 else "NYSE"
    return Profile(
        key=str(SYXTHETIC_CIK_BASE + i),
        cik=SYXTHETIC_CIK_BASE + i,
        ticker=ticker,
        list_symbol=ticker,
        name=f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {ticker[3:].title()} "
        f"{'PLC' if ifrs else rng.choice(['Inc.', 'Corp.', 'Co.', 'Holdings Inc.'])}",
        exchange=exchange,
        sector=sector[0],
        industry=sector[1],
        sic=sector[2],
        sic_description=sector[3],
        country="United Kingdom" if ifrs else "United States",
        state="X0" if ifrs else rng.choice(STATES),
        fye_month=fye,
        first_fy=first_fy,
        taxonomy="ifrs-full" if ifrs else "us-gaap",
        annual_form="20-F" if ifrs else "10-K",
        quarterly=not ifrs,
        has_eps=not chance("no_eps", 0.03),
        revenue_tags=tags,
        splits=splits,
        revenue0=revenue0,
        growth=rng.uniform(-0.04, 0.2),
        margin=max(-0.5, rng.gauss(0.08, 0.08)),
        shares0=min(max(revenue0 / rng.uniform(15, 150), 5e6), 2e10),
        dividend_payout=rng.uniform(0.2, 0.6) if rng.random() < 0.45 else 0.0,
        equity_ratio=-0.2 if chance("neg_equity", 0.03) else rng.uniform(0.3, 1.2),
        debt_ratio=rng.uniform(0.0, 0.8),
        lag_q=rng.randint(28, 42),
        lag_k=rng.randint(55, 72),
        target_bytes=int(math.exp(rng.uniform(math.log(0.33e6), math.log(3.8e6)))),
        paged=chance("paged", 0.1),
        ipo_year=first_fy - rng.randint(0, 20),
        extra={"nasdaq_sector": sector[4]},
    )


def _fixed(
    key,
    cik,
    ticker,
    list_symbol,
    name,
    exchange,
    sector,
    industry,
    sic,
    sic_desc,
    country,
    state,
    fye,
    first_fy,
    **kw,
) -> Profile:
    return Profile(
        key=key,
        cik=cik,
        ticker=ticker,
        list_symbol=list_symbol,
        name=name,
        exchange=exchange,
        sector=sector,
        industry=industry,
        sic=sic,
        sic_description=sic_desc,
        country=country,
        state=state,
        fye_month=fye,
        first_fy=first_fy,
        **kw,
    )


def fixture_profiles(as_of: dt.date) -> list[Profile]:
    """Profiles for the companies the fixtures cover, plus the odd real list entries.

    The real payloads win wherever they exist (see world.FIXTURE_FILES); the profile supplies
    everything else (missing submissions pages, companyfacts, Yahoo answers).
    """
    y = as_of.year
    return [
        _fixed(
            "320193",
            320193,
            "AAPL",
            "AAPL",
            "Apple Inc.",
            "Nasdaq",
            "Technology",
            "Consumer Electronics",
            "3571",
            "Electronic Computers",
            "United States",
            "CA",
            9,
            1994,
            revenue0=1.0e10,
            growth=0.1,
            margin=0.2,
            shares0=1.5e10,
            dividend_payout=0.15,
            ipo_year=1980,
            lag_q=35,
            lag_k=35,
        ),
        _fixed(
            "1652044",
            1652044,
            "GOOGL",
            "GOOGL",
            "Alphabet Inc.",
            "Nasdaq",
            "Communication Services",
            "Internet Content & Information",
            "7370",
            "Services-Computer Programming, Data Processing, Etc.",
            "United States",
            "DE",
            12,
            2015,
            revenue0=7e10,
            growth=0.15,
            margin=0.25,
            shares0=1.2e10,
            ipo_year=2004,
        ),
        _fixed(
            "789019",
            789019,
            "MSFT",
            "MSFT",
            "MICROSOFT CORP",
            "Nasdaq",
            "Technology",
            "Software - Infrastructure",
            "7372",
            "Services-Prepackaged Software",
            "United States",
            "WA",
            6,
            1994,
            revenue0=5e9,
            growth=0.125,
            margin=0.3,
            shares0=8.6e9,
            dividend_payout=0.35,
            equity_ratio=0.8,
            debt_ratio=0.2,
            ipo_year=1986,
            lag_q=26,
            lag_k=30,
        ),
        _fixed(
            "749647",
            749647,
            "IMNN",
            "IMNN",
            "Imunon, Inc.",
            "Nasdaq",
            "Healthcare",
            "Biotechnology",
            "2834",
            "Pharmaceutical Preparations",
            "United States",
            "DE",
            12,
            1996,
            revenue0=1e6,
            growth=0.0,
            margin=-12.0,
            shares0=1.5e6,
            equity_ratio=25.0,
            debt_ratio=0.5,
            ipo_year=1996,
            target_bytes=450_000,
        ),
        _fixed(
            "1997711",
            1997711,
            "LPA",
            "LPA",
            "Logistic Properties of the Americas",
            "NYSE",
            "Real Estate",
            "Real Estate Services",
            "6500",
            "Real Estate",
            "Costa Rica",
            "E9",
            12,
            2023,
            taxonomy="ifrs-full",
            annual_form="20-F",
            quarterly=False,
            revenue0=4e7,
            margin=0.3,
            shares0=3.2e7,
            ipo_year=2024,
        ),
        _fixed(
            "1067983",
            1067983,
            "BRK-B",
            "BRK/B",
            "BERKSHIRE HATHAWAY INC",
            "NYSE",
            "Financial Services",
            "Insurance - Diversified",
            "6331",
            "Fire, Marine & Casualty Insurance",
            "United States",
            "DE",
            12,
            y - 15,
            revenue0=1.6e11,
            growth=0.05,
            margin=0.12,
            shares0=2.2e9,
            equity_ratio=2.0,
            debt_ratio=0.4,
            ipo_year=1980,
            target_bytes=2_750_000,
        ),
        _fixed(
            "1604174",
            1604174,
            "ECC",
            "ECC           ",
            "Eagle Point Credit Co Inc.",
            "NYSE",
            "Financial Services",
            "Asset Management",
            "6726",
            "Unit Inv Trust, Closed-End Mgmt Inv Office",
            "United States",
            "DE",
            12,
            y - 10,
            revenue0=8e7,
            growth=0.12,
            margin=0.5,
            shares0=2e7,
            dividend_payout=0.9,
            ipo_year=2014,
            target_bytes=420_000,
        ),
        _fixed(
            "1872302",
            1872302,
            "NA",
            "NA",
            "Nano Labs Ltd",
            "Nasdaq",
            "Technology",
            "Semiconductors",
            "3674",
            "Semiconductors & Related Devices",
            "China",
            "F4",
            12,
            2021,
            annual_form="20-F",
            quarterly=False,
            revenue0=6e7,
            growth=-0.2,
            margin=-0.6,
            shares0=1.5e8,
            ipo_year=2022,
            target_bytes=380_000,
        ),
        _fixed(
            "EMA",
            None,
            "EMA",
            "EMA",
            "Emera Incorporated",
            "NYSE",
            "Utilities",
            "Utilities - Regulated Electric",
            "4911",
            "Electric Services",
            "Canada",
            "A8",
            12,
            y - 12,
            revenue0=5e9,
            growth=0.04,
            margin=0.1,
            shares0=2.6e8,
            dividend_payout=0.8,
            ipo_year=2010,
        ),
    ]
