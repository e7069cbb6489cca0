"""CSV price columns as dollars: decimal text, or Databento's fixed-point integers (1e-9 units).

Databento writes prices either way (``pretty_px``, ``price_type``), and nothing in the header
says which. Read the wrong way, every price is off by 1e9 and nothing else looks wrong, so
``auto`` decides from the file's own prices and refuses any file it cannot decide:

- every price a whole number of 1e7 or more: fixed-point (as dollars, no such prices exist);
- every price below 1e7 and at least one written with a fraction: decimal;
- anything else (whole numbers all below 1e7, or a mix of both sizes): refused, naming
  ``data.prices`` so the user can say which.

A price of 1e7 dollars or more is never accepted as decimal: it can only be fixed-point.
Databento's undefined price (``9223372036854775807``, i64::MAX) is an empty level.
"""

from __future__ import annotations

import databento_dbn
import numpy as np
import pandas as pd

from router.data.marketdata import DataError
from router.data.messages import Where

PRICE_FORMATS = ("auto", "decimal", "fixed")
UNDEF_PRICE = databento_dbn.UNDEF_PRICE  # i64::MAX: an empty level
FIXED_SCALE = databento_dbn.FIXED_PRICE_SCALE  # fixed-point units per dollar (1e9)
IMPLAUSIBLE = 1e7  # dollars: no instrument we read trades this high; fixed-point starts here
_EXACT = 2**53  # whole numbers below this parse exactly as float64


def read_prices(
    columns: dict[str, pd.Series], lines: np.ndarray, mode: str, where: Where
) -> tuple[dict[str, np.ndarray], str]:
    """Each price column (text) as float dollars, NaN for blank or undefined, and the format
    read (``decimal`` or ``fixed``)."""
    if mode not in PRICE_FORMATS:
        raise ValueError(f"prices must be one of {', '.join(PRICE_FORMATS)}, got {mode!r}")
    numbers = {name: _numbers(name, text, lines, where) for name, text in columns.items()}
    chosen = _decide(columns, numbers, where) if mode == "auto" else mode
    for name, values in numbers.items():
        numbers[name] = (_fixed if chosen == "fixed" else _decimal)(
            name, values, columns[name], lines, where, explicit=mode != "auto"
        )
    return numbers, chosen


def _numbers(name: str, text: pd.Series, lines: np.ndarray, where: Where) -> np.ndarray:
    """Text to float; blank or ``nan`` is NaN; anything else that is not a finite number is an
    error naming its line."""
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    blank = text.str.strip().str.lower().isin(("", "nan")).to_numpy()
    bad = ~np.isfinite(values) & ~blank
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise where.error(int(lines[i]), f"{name} is {text.iloc[i]!r}; expected a finite price")
    return values


def _decide(columns: dict[str, pd.Series], numbers: dict[str, np.ndarray], where: Where) -> str:
    """``auto``: fixed or decimal from the prices themselves, or a clear refusal."""
    values = np.concatenate([v[np.isfinite(v) & (v != 0)] for v in numbers.values()])
    values = np.abs(values[values < UNDEF_PRICE])
    if not len(values):
        return "decimal"  # no price to read either way
    big = values >= IMPLAUSIBLE
    whole = values == np.floor(values)
    if big.all() and whole.all():
        return "fixed"
    if not big.any() and (
        not whole.all() or any(s.str.contains(r"[.eE]", regex=True).any() for s in columns.values())
    ):
        return "decimal"
    small = values[~big]  # prices below 1e7
    example = (
        f"prices from {values.min():g} to {values.max():g}"
        if big.any()
        else f"every price a whole number below {IMPLAUSIBLE:g} (e.g. {small[0]:g})"
    )
    raise DataError(
        f"{where.path}: cannot tell whether prices are decimal dollars or Databento fixed-point"
        f" integers (units of 1e-9): {example}; set data.prices to decimal or fixed"
        " (load_mbp(prices=...))"
    )


def _decimal(
    name: str, values: np.ndarray, text: pd.Series, lines: np.ndarray, where: Where,
    explicit: bool,
) -> np.ndarray:  # fmt: skip
    big = np.abs(values) >= IMPLAUSIBLE
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise where.error(
            int(lines[i]),
            f"{name} is {text.iloc[i]!r}: a price of 1e7 dollars or more can only be Databento "
            f"fixed-point (1e-9 units, {values[i] / FIXED_SCALE:g} dollars); "
            + ("set data.prices: fixed or auto" if explicit else "set data.prices: fixed"),
        )
    return values


def _fixed(
    name: str, values: np.ndarray, text: pd.Series, lines: np.ndarray, where: Where,
    explicit: bool,
) -> np.ndarray:  # fmt: skip
    undefined = values >= UNDEF_PRICE
    bad = np.isfinite(values) & ~undefined
    bad &= (values != np.floor(values)) | (np.abs(values) >= _EXACT)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise where.error(
            int(lines[i]),
            f"{name} is {text.iloc[i]!r}; expected a whole number of Databento fixed-point units"
            " (1e-9 dollars) below 2^53 "
            + ("(data.prices: fixed; use decimal or auto for dollar prices)" if explicit else ""),
        )
    tiny = np.isfinite(values) & ~undefined & (values > 0) & (values < FIXED_SCALE / 10_000)
    if tiny.any():
        i = int(np.flatnonzero(tiny)[0])
        raise where.error(
            int(lines[i]),
            f"{name} is {text.iloc[i]!r}: {values[i] / FIXED_SCALE:g} dollars in Databento "
            "fixed-point units (1e-9 dollars), below a hundredth of a cent; expected a whole "
            "number of 1e-9 dollars (a price written in dollars? "
            + ("data.prices: decimal or auto)" if explicit else "data.prices: decimal)"),
        )
    return fixed_to_dollars(values)


def fixed_to_dollars(fixed: np.ndarray) -> np.ndarray:
    """Fixed-point prices (integers, or whole floats below 2^53) in dollars; Databento's
    undefined price is NaN (an empty level)."""
    return np.where(fixed >= UNDEF_PRICE, np.nan, fixed / FIXED_SCALE)
