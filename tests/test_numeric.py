"""One rule for what counts as a finite number, for config values, facts and Yahoo figures."""

import math

from stock_refresh.numeric import finite


def test_finite_numbers_pass_and_everything_else_is_none():
    assert finite(3) == 3.0 and finite(-2.5) == -2.5 and finite("1.5e3") == 1500.0
    for bad in (None, True, False, "", "n/a", "NaN", "Infinity", math.inf, math.nan, 10**400, []):
        assert finite(bad) is None, bad
