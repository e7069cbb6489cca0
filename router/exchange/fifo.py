"""Exact queue position from order-level data: first in, first out, as the venue matched.

Where the day has order ids (Databento MBO, LOBSTER; :class:`~router.data.marketdata.
OrderEvents`), a resting buy of ours at price p on venue k, arrived at exchange time t, stands
behind every order at p with priority at or before t (the displayed size when it arrives) and
ahead of every later one. Then, on venue k, in event order:

- shares of an order ahead of ours leaving their place (a cancel, a smaller modify, a modify
  that sent it to the back, an execution's book change) move ours up;
- an execution of a bid at p that joined after ours means the venue would have matched ours
  first: its shares fill ours (each traded share fills at most one of ours), justified by the
  seller-initiated print at p that the execution belongs to (the k-th execution at p in a row
  is the k-th such print's, as Databento and LOBSTER write one trade per execution); an
  execution without a print in its row fills nothing (a conservative rule; none in the
  sources we read);
- a seller-initiated print below p (a sweep, or a trade through our price) fills ours with its
  shares, as in the aggregated models.

A print at p with no execution of a displayed bid (a hidden order's: LOBSTER's type 5) neither
moves nor fills ours: the displayed bids ahead are still there, and the venue matched the
hidden order by its own rules, which would not have favoured ours. Executions of orders ahead
of ours fill nothing: the queue ahead took those shares. The ask falling to p fills ours as in
every model (``fills.quote_cross``), since a displayed ask at our price would have traded with
us. Events at or before t are already in the displayed size ours joined behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.data.marketdata import BID_ORDER, EXECUTED, Snapshots
from router.exchange.passive import FillRules, Resting, seller_initiated


@dataclass(frozen=True)
class FifoQueue:
    """The exact queue model; only days with order events can use it."""


def fifo_fills(
    order: Resting, snapshots: Snapshots, row: int, rules: FillRules
) -> list[tuple[str, int, int]]:
    """(cause, shares, print index) of each fill one state of the order's venue gives it under
    FIFO priority, in event then print order; updates the shares ahead. The caller caps the
    fills at what the order still wants."""
    events = snapshots.orders
    if events is None:
        raise ValueError("the FIFO queue needs order-level data (Databento MBO or LOBSTER)")
    fills: list[tuple[str, int, int]] = []
    prints = _prints_at(snapshots, row, order.price, rules)
    executions = 0  # at our price in this row so far: the k-th is the k-th print's
    for e in range(events.start[row], events.start[row + 1]):
        if events.side[e] != BID_ORDER or events.price[e] != order.price:
            continue
        executed = events.kind[e] == EXECUTED
        executions += executed
        if events.ts[e] <= order.arrived:
            continue
        ahead = events.priority[e] <= order.arrived
        if not executed:
            if ahead:
                order.ahead = max(order.ahead - int(events.size[e]), 0.0)
        elif not ahead and prints:
            fills.append(("queue", int(events.size[e]), prints[min(executions, len(prints)) - 1]))
            order.ahead = 0.0
    for i in range(snapshots.print_start[row], snapshots.print_start[row + 1]):
        if seller_initiated(snapshots, i, rules) and snapshots.print_px[i] < order.price:
            fills.append(("swept", int(snapshots.print_sz[i]), i))
            order.ahead = 0.0
    return [fill for fill in fills if fill[1] > 0]


def _prints_at(snapshots: Snapshots, row: int, price: float, rules: FillRules) -> list[int]:
    """The row's seller-initiated prints at ``price``, in order: the executions at that price
    in the row are theirs, one each in order (the last print for any beyond)."""
    return [
        i
        for i in range(snapshots.print_start[row], snapshots.print_start[row + 1])
        if snapshots.print_px[i] == price and seller_initiated(snapshots, i, rules)
    ]
