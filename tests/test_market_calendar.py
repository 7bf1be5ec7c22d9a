"""The NYSE calendar on fixed dates around Thanksgiving 2026 (Thu 26 Nov holiday, Fri 27 Nov
early close at 13:00) and an ordinary week before it."""

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from stock_refresh.market_calendar import market_data_due, market_open_now, run_time_in_market_hours

NY = ZoneInfo("America/New_York")


def ny(text: str) -> dt.datetime:
    """A New York wall-clock time as an aware UTC datetime, as the job passes them."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(dt.UTC)


def test_weekday_after_a_normal_close_is_due():
    due, reason = market_data_due(ny("2026-11-24 02:00"), ny("2026-11-23 02:00"))
    assert due
    assert reason == (
        "NYSE session of 2026-11-23 closed at 16:00 ET after the last "
        "market-data refresh at 2026-11-23 02:00 ET"
    )


def test_weekday_before_todays_close_is_not_due():
    due, reason = market_data_due(ny("2026-11-24 10:00"), ny("2026-11-24 02:00"))
    assert not due
    assert reason == (
        "no NYSE session closed since 2026-11-23 16:00 ET: today's session closes at 16:00 ET"
    )


def test_weekend_is_not_due_and_says_so():
    due, reason = market_data_due(ny("2026-11-29 02:00"), ny("2026-11-28 02:00"))
    assert not due
    assert reason == "no NYSE session closed since 2026-11-27 13:00 ET (early close): weekend"
    due, reason = market_data_due(ny("2026-11-30 02:00"), ny("2026-11-28 02:00"))
    assert not due and reason.endswith("weekend; today's session closes at 16:00 ET")


def test_monday_after_the_weekend_close_is_due_once():
    assert market_data_due(ny("2026-11-30 17:00"), ny("2026-11-30 02:00"))[0]
    assert market_data_due(ny("2026-12-01 02:00"), ny("2026-11-30 02:00"))[0]
    assert not market_data_due(ny("2026-12-01 02:00"), ny("2026-11-30 17:00"))[0]


def test_holiday_is_not_due_and_names_it():
    assert market_data_due(ny("2026-11-26 02:00"), ny("2026-11-25 02:00"))[0]
    due, reason = market_data_due(ny("2026-11-26 20:00"), ny("2026-11-26 02:00"))
    assert not due
    assert reason == (
        "no NYSE session closed since 2026-11-25 16:00 ET: NYSE holiday Thanksgiving (2026-11-26)"
    )


def test_early_close_counts_from_the_real_close_time():
    # 14:00 on the day after Thanksgiving is after the 13:00 close: the session is over.
    due, reason = market_data_due(ny("2026-11-27 14:00"), ny("2026-11-27 02:00"))
    assert due
    assert reason.startswith("NYSE session of 2026-11-27 closed at 13:00 ET (early close)")
    due, reason = market_data_due(ny("2026-11-27 12:00"), ny("2026-11-27 02:00"))
    assert not due
    assert reason.endswith("today's session closes at 13:00 ET (early close)")


def test_first_refresh_is_always_due():
    assert market_data_due(ny("2026-11-29 02:00"), None) == (True, "no earlier market-data refresh")


def test_iso_strings_and_naive_utc_are_accepted():
    assert market_data_due("2026-11-24T07:00:00+00:00", "2026-11-23T07:00:00+00:00")[0]
    assert market_data_due(dt.datetime(2026, 11, 24, 7), dt.datetime(2026, 11, 23, 7))[0]


def test_year_boundary():
    assert market_data_due(ny("2027-01-01 02:00"), ny("2026-12-31 02:00"))[0]
    due, reason = market_data_due(ny("2027-01-01 20:00"), ny("2027-01-01 02:00"))
    assert not due and "New Year" in reason


@pytest.mark.parametrize(
    "when, expected",
    [
        ("2026-11-24 09:29", False),
        ("2026-11-24 09:30", True),
        ("2026-11-24 15:59", True),
        ("2026-11-24 16:00", False),
        ("2026-11-26 11:00", False),  # Thanksgiving
        ("2026-11-27 12:59", True),
        ("2026-11-27 13:00", False),  # early close
        ("2026-11-28 11:00", False),  # Saturday
    ],
)
def test_market_open_now(when, expected):
    assert market_open_now(ny(when)) is expected


@pytest.mark.parametrize(
    "run_time, zone, expected",
    [
        ("02:00", "America/New_York", False),
        ("09:29", "America/New_York", False),
        ("09:30", "America/New_York", True),
        ("15:59", "America/New_York", True),
        ("16:00", "America/New_York", False),
        ("15:30", "Europe/London", True),
        ("22:00", "Europe/Berlin", False),
        ("20:00", "UTC", True),
        # 15:00 in Berlin is 09:00 in New York, except in the weeks when only the US has moved
        # to daylight saving time: then it is 10:00 and inside market hours.
        ("15:00", "Europe/Berlin", True),
        ("14:00", "Europe/Berlin", False),
    ],
)
def test_run_time_in_market_hours(run_time, zone, expected):
    assert run_time_in_market_hours(run_time, zone, today=dt.date(2026, 11, 29)) is expected


def test_calendar_is_built_once():
    market_data_due(ny("2026-11-24 02:00"), ny("2026-11-23 02:00"))
    start = time.perf_counter()
    for day in range(1, 29):
        market_data_due(ny(f"2026-02-{day:02d} 02:00"), ny("2026-01-30 02:00"))
    assert time.perf_counter() - start < 1.0


def test_unscheduled_closure_without_a_holiday_name():
    # 2025-01-09: NYSE closed for the national day of mourning for President Carter.
    due, reason = market_data_due(ny("2025-01-09 20:00"), ny("2025-01-09 02:00"))
    assert not due
    assert reason == "no NYSE session closed since 2025-01-08 16:00 ET: NYSE closed (2025-01-09)"
