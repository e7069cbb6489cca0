"""What the shares an order ends short or long of are worth at the window's end.

The close prices them on the book one strategy leaves: each venue's last displayed levels in
the window, less the ask shares that strategy itself took there (the rule every taker follows,
:mod:`router.exchange.liquidity`), so no strategy buys the same displayed share twice, once
while trading and again at the close.

- A share still missing is bought up the asks, cheapest ask plus its venue's fee first.
- A share bought beyond the order (surplus) never earns: it is sold back at the lower of the
  closing bid and what it cost, less the venue's fee, down the bids, highest bid less fee
  first. Selling it at the bid when the price rose would credit the router with a bet it did
  not mean to make, and the sweep would select for it; the mark-to-market it would have made is
  reported on its own (``surplus_mark_to_market``).

Shares beyond the displayed depth are priced at the worst level displayed, and counted: the book
beyond it is unknown.

Worked example, a buy of 100 that filled 150: the last 50 cost 10.00 + 0.003 fee = 500.15. The
closing bid is 10.05 (fee 0.003): sold at the bid they would fetch 50 x 10.047 = 502.35, a
mark-to-market of +2.20; they are credited min(502.50, 500.15) - 0.15 = 500.00, so the surplus
costs the order 0.15. Had the bid closed at 9.90, they fetch 50 x 9.897 = 494.85 (mark-to-market
-5.30), the lower of the two, and cost the order 5.30.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SurplusSale:
    """Selling back a surplus: ``credit`` counts in the order cost, ``mark_to_market`` is what
    selling it down the bids would have gained over its cost (reported, never credited)."""

    credit: float
    mark_to_market: float
    beyond_depth: int


@dataclass(frozen=True)
class Closing:
    """The book one strategy faces at the window's end: asks as (ask + fee, shares it may take),
    cheapest first, and ``ask_beyond``, the worst ask displayed plus its fee (what a share past
    them costs, taken or not); bids as (bid, fee, shares shown), highest bid less fee first.
    With nothing displayed, a missing share cannot be bought (inf) and a surplus share fetches
    ``unpriced_surplus``: nothing for a buy (the worst case for positive prices), minus infinity
    on a sell's mirrored book (buying the surplus back cannot be priced)."""

    asks: tuple[tuple[float, int], ...] = ()
    bids: tuple[tuple[float, float, int], ...] = ()
    ask_beyond: float = math.inf
    unpriced_surplus: float = 0.0

    def buy(self, shares: int) -> tuple[float, int]:
        """The cash buying ``shares`` costs, and how many of them lie beyond the asks left."""
        taken, left = _down(self.asks, shares)
        cash = sum(q * price for (price, _), q in taken)
        return cash + left * self.ask_beyond if left else cash, left

    def sell_surplus(self, shares: int, cost: float) -> SurplusSale:
        """Sell back ``shares`` that cost ``cost`` (fees included): at the lower of the bids'
        gross proceeds and that cost, less the fees of the sale."""
        if not shares:
            return SurplusSale(0.0, 0.0, 0)
        sold, left = _down(self.bids, shares)
        gross = sum(q * bid for (bid, _, _), q in sold)
        fees = sum(q * fee for (_, fee, _), q in sold)
        if left and self.bids:  # beyond the bids shown: at the last one
            bid, fee, _ = self.bids[-1]
            gross, fees = gross + left * bid, fees + left * fee
        elif left:
            gross += left * self.unpriced_surplus
        return SurplusSale(min(gross, cost) - fees, gross - fees - cost, left)


def _down(levels: tuple[tuple, ...], shares: int) -> tuple[list[tuple[tuple, int]], int]:
    """``shares`` walked down ``levels`` (best first, each ending with its size): each level
    reached with the shares it takes, and the shares left beyond them all."""
    taken, left = [], shares
    for level in levels:
        if not left:
            break
        q = min(left, level[-1])
        taken.append((level, q))
        left -= q
    return taken, left


#: A book showing nothing at the close: what a hand-made set of fills faces by default.
NOTHING_SHOWN = Closing()
