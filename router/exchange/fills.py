"""A strategy's fills: each with its price, fee, how it happened and what justified it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.exchange.closing import NOTHING_SHOWN, Closing

#: How a fill happened (``Fills.how``): a marketable order took a displayed level; a resting
#: order filled from a print past the queue ahead of it (at its price, or below it while its
#: level still shows), from a print below it (the level was swept), or from an ask crossing
#: it; or the clean-up at the window's end bought what a passive strategy had not filled.
HOWS = ("take", "queue", "swept", "quote_cross", "cleanup")
HOW = {name: code for code, name in enumerate(HOWS)}
#: What a fill did to the book (``Fills.liquidity``): took liquidity, rested, or cleaned up.
TAKE, PASSIVE, CLEANUP = 0, 1, 2
_LIQUIDITY = np.array([TAKE, PASSIVE, PASSIVE, PASSIVE, CLEANUP], dtype=np.int8)


@dataclass(frozen=True, eq=False)
class Fills:
    """Every fill of one strategy's run, in time order; prices exclude fees.

    Each fill names what justified it: ``row`` is the snapshot row (the venue state whose level
    was taken or crossed, or whose print filled a resting order), ``print_index`` the print (-1
    when a displayed level did) and ``level_price`` that displayed ask level (NaN for a print):
    the fill's own price for a take, the ask at or below a resting bid for a quote-cross fill.
    """

    name: str
    order_size: int
    ts: np.ndarray
    publisher_id: np.ndarray
    shares: np.ndarray
    price: np.ndarray
    fee: np.ndarray  # $/share paid on each fill; a rebate is a negative fee
    how: np.ndarray  # index into HOWS
    row: np.ndarray
    print_index: np.ndarray
    level_price: np.ndarray
    closing: Closing = NOTHING_SHOWN  # the book the strategy leaves at the window's end

    _COLUMNS = (np.int64, np.int64, np.int64, float, float, np.int8, np.int64, np.int64, float)

    @classmethod
    def of(
        cls, name: str, order_size: int, records: list[tuple], closing: Closing = NOTHING_SHOWN
    ) -> Fills:
        """From (ts, publisher_id, shares, price, fee, how, row, print_index, level_price)
        tuples, and the book the strategy left at the close."""
        columns = list(zip(*records, strict=True)) if records else [[]] * len(cls._COLUMNS)
        arrays = (np.array(c, dtype=d) for c, d in zip(columns, cls._COLUMNS, strict=True))
        return cls(name, order_size, *arrays, closing)

    @property
    def liquidity(self) -> np.ndarray:
        """TAKE, PASSIVE or CLEANUP per fill."""
        return _LIQUIDITY[self.how]

    @property
    def cash(self) -> np.ndarray:
        """Cash paid per fill, fees included."""
        return self.shares * (self.price + self.fee)
