"""Which prints fill a resting buy order, and how many of its shares.

A resting buy of ours at price p on venue k fills only from venue k's seller-initiated prints
(Databento side ``A``: a seller hit the bid) at prices at or below p; a buyer lifting the offer
never reaches a bid. Each traded share fills at most one share of ours:

- a print at p takes the front of the queue at p: its shares beyond those still ahead of us
  fill us, and the shares ahead shrink by the print;
- a print below p means the level p was swept, if the state it comes with shows p gone (its
  bid below p) or nothing was ahead of us: everything resting at p, ours included, traded
  before the lower level (the data's prints at p are the shares at p without us), so the
  print's shares fill us, and nothing is ahead of us any more;
- a print below p while the state still shows shares at p (a trade-through, or messages folded
  into one state) is no evidence that the queue ahead of us went: its shares take the front of
  the queue first, as a print at p would.

Example: 200 shares ahead of us at 10.00. A sell print of 300 at 10.00 fills us 100. A buy
print of 300 at 10.00 fills nothing. A sell print of 50 at 9.99 (after prints at 10.00 that
emptied the level) fills us 50; the same print with the state still showing 200 at 10.00 fills
us nothing and leaves 150 ahead.

Prints whose side is unknown (``N``) fill nothing unless ``unsigned_trades`` is ``both``, which
counts them as seller-initiated (optimistic: half of them, on average, were buyers).
Cancellations move us forward as the queue model says (:mod:`router.exchange.queues`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.data.marketdata import SELL_AGGRESSOR, UNKNOWN_SIDE, Snapshots
from router.exchange.queues import QueueModel

UNSIGNED_TRADES = ("ignore", "both")


@dataclass(frozen=True)
class FillRules:
    """What may fill a resting order (config key ``fills``)."""

    unsigned_trades: str = "ignore"  # or "both": side-N prints count as seller-initiated
    # The ask falling to our price fills us from the displayed asks (each share once): our
    # order is invisible to the data, so a seller quoting at our price would have traded with
    # us; off, the fills that come exactly while the price falls through us are dropped.
    quote_cross: bool = True

    def __post_init__(self) -> None:
        if self.unsigned_trades not in UNSIGNED_TRADES:
            raise ValueError(
                f"unsigned_trades must be one of {', '.join(UNSIGNED_TRADES)}, "
                f"got {self.unsigned_trades!r}"
            )


@dataclass
class Resting:
    """A resting buy limit order: its price, the shares it still wants, the shares ahead of it
    in the venue's queue at its price, the displayed size there when last seen, when its
    cancel lands (exchange time; states from then on no longer reach it) and when it arrived
    (exchange time: its priority in a FIFO queue)."""

    price: float
    left: int
    ahead: float
    shown: int
    expires: int = 2**63 - 1
    arrived: int = -1


def passive_fills(
    order: Resting, snapshots: Snapshots, row: int, rules: FillRules, queue: QueueModel
) -> list[tuple[str, int, int]]:
    """(cause, shares, print index) of each fill one state of the order's venue gives it, in
    print order; updates the shares ahead (prints, then the queue model for size changes without
    prints). The caller caps the fills at what the order still wants."""
    fills: list[tuple[str, int, int]] = []
    at_price = 0  # seller-initiated shares printed at our price: they left the displayed queue
    bid = snapshots.bid_px[row, 0]
    level_gone = not bid >= order.price  # the bid below our price, or no bid at all
    for i in range(snapshots.print_start[row], snapshots.print_start[row + 1]):
        price = snapshots.print_px[i]
        if not seller_initiated(snapshots, i, rules) or price > order.price:
            continue
        shares = int(snapshots.print_sz[i])
        if price < order.price and (level_gone or order.ahead == 0):  # our level swept
            fills.append(("swept", shares, i))
            order.ahead = 0.0
            continue
        # At our price, or below it while our level still shows: the queue ahead goes first.
        fills.append(("queue", max(int(shares - order.ahead), 0), i))
        order.ahead = max(order.ahead - shares, 0.0)
        if price == order.price:
            at_price += shares
    # The shares printed at our price left the displayed queue, whether or not this state shows
    # our level: a later size drop must not count them again as cancellations.
    order.shown = max(order.shown - at_price, 0)
    shown = displayed_at(snapshots, row, order.price)
    if shown is not None:  # our level displayed: the queue model reads its size
        before, order.shown = order.shown, shown
        order.ahead = queue.cancelled(order.ahead, before, order.shown)
    elif level_gone:
        order.ahead, order.shown = 0.0, 0
    return [fill for fill in fills if fill[1] > 0]


def seller_initiated(snapshots: Snapshots, i: int, rules: FillRules) -> bool:
    """Whether print ``i`` may fill a resting bid: a seller hit the bid (side ``A``), or its
    side is unknown and the rules count those as sellers."""
    side = snapshots.print_side[i]
    return side == SELL_AGGRESSOR or (side == UNKNOWN_SIDE and rules.unsigned_trades == "both")


def displayed_at(snapshots: Snapshots, row: int, price: float) -> int | None:
    """The bid size a state displays at ``price``, at any depth loaded; None where it shows
    nothing there (the level is empty, or deeper than the depth loaded)."""
    level = np.flatnonzero((snapshots.bid_px[row] == price) & (snapshots.bid_sz[row] > 0))
    return int(snapshots.bid_sz[row, level[0]]) if len(level) else None
