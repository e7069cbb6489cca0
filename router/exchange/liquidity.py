"""Displayed liquidity as our own trading left it: each displayed share is ours at most once.

The data are the market without us. When we take q shares at price P of a venue's ask, the
real book there holds q fewer shares than the data show, and keeps holding q fewer for as long
as that price level lives: others' trades and cancels reduce the data's size and the real size
alike, and orders joining the level join behind what was there. So the shares we may take at
(venue, P) are the displayed size less what we took there, never below zero.

A level ends when the data show it gone: the side's best price has moved past P, or P lies
inside the displayed price range and is absent from it (an empty side ends every level). What
shows at P after that is new liquidity. A level deeper than the loaded depth is not visible, so
what we took there stays taken (the conservative reading: we cannot see it refill).

Rule, with displayed size D at P and q taken there since the level last ended::

    available(P) = max(D - q, 0),  and on each new state showing P:  q = min(q, D)

The second part: when the data show fewer shares at P than we took, the data removed shares
that, for real, we had already taken; only what still shows can be ours. Both parts keep the
available size a lower bound of the real one.

Example: 100 shown at 10.00, we take 100; the next state still shows 100 at 10.00 (another
participant's message elsewhere in the book): 0 available. It shows 150: 50 available (new
orders), we take them (q = 150). It shows 120: 0 available, q = 120. It shows 300: 180
available. The best ask moves to 10.01 and later back to 10.00 with 100: 100 available.
"""

from __future__ import annotations

import numpy as np

#: ``side`` of :class:`Liquidity`: asks improve downwards, bids upwards.
ASK, BID = 1, -1


class Liquidity:
    """One book side of every venue, less what we took, per (venue, price)."""

    def __init__(self, venues: int, side: int = ASK) -> None:
        self.side = side
        self.taken: list[dict[float, int]] = [{} for _ in range(venues)]

    def consumed(self, venue: int) -> bool:
        """Whether anything taken at this venue still counts (its states must be observed)."""
        return bool(self.taken[venue])

    def observe(self, venue: int, prices: np.ndarray, sizes: np.ndarray) -> None:
        """A new state of the venue's side (its levels, best first): forget the levels it shows
        gone."""
        taken = self.taken[venue]
        if not taken:
            return
        shown = prices[sizes > 0]
        size_at = dict(zip(shown.tolist(), sizes[sizes > 0].tolist(), strict=True))
        for price in list(taken):
            if _gone(price, shown, self.side):
                del taken[price]
            elif price in size_at:
                # Fewer shown than we took: the data removed shares that, for real, we had
                # already taken; what shows now is all that can still be ours.
                taken[price] = min(taken[price], size_at[price])

    def levels(self, venue: int, prices: np.ndarray, sizes: np.ndarray) -> list[tuple[float, int]]:
        """(price, shares we may take) of each displayed level, best first, empty ones left out."""
        taken = self.taken[venue]
        out = []
        for price, size in zip(prices.tolist(), sizes.tolist(), strict=True):
            available = size - taken.get(price, 0) if size > 0 else 0
            if available > 0:
                out.append((price, available))
        return out

    def take(self, venue: int, price: float, shares: int) -> None:
        self.taken[venue][price] = self.taken[venue].get(price, 0) + shares


def _gone(price: float, shown: np.ndarray, side: int) -> bool:
    """Whether a side displaying ``shown`` (best first) shows nothing can rest at ``price``."""
    if not len(shown):
        return True
    best, worst = shown[0], shown[-1]
    if side * (price - best) < 0:  # better than the best: nothing rests there
        return True
    inside = side * (price - worst) <= 0
    return bool(inside and price not in shown)
