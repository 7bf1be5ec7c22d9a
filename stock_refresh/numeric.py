"""Finite numbers: upstreams and config files write NaN, "Infinity", text and booleans where a
figure is missing or wrong, and none of those may reach a computation or a row."""

import math


def finite(value) -> float | None:
    """`value` as a float when it is a finite number (or a number's text), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past 1e308
        return None
    return number if math.isfinite(number) else None
