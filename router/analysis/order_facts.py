"""Order-level facts of a day: how long orders live and how they end, from the order ids.

What an order-level market must get right for queue positions to mean anything: on real days
most orders are cancelled within seconds of joining, few ever execute, and cancels mostly take
whole orders. Per order added inside the window, followed to the end of the file:

- ``cancelled_within_2s``: the share of adds whose last shares left by a cancel (not an
  execution) within 2 s of the add; ``cancelled``: at any time;
- ``executed``: the share with at least one fill (Databento ``F``);
- ``lifetime_cancelled_s``: median and 90th percentile of the add-to-cancel time of those
  cancelled;
- ``partial_cancels``: the share of cancel records (not an execution's book change) that left
  the order live.

A modify keeps the order (its size and price change); a modify to zero shares ends it as a
cancel. An order's removal that follows its fill in the same event is the execution's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from router.data.marketdata import NS_PER_SECOND, Window
from router.data.order_level import OrderMessages, order_index

ADD, CANCEL, MODIFY, FILL = (ord(c) for c in "ACMF")
SOON_S = 2.0


def order_facts(events: OrderMessages, window: Window) -> dict:
    """The facts above for the orders added in ``window`` (see the module docstring)."""
    venues = np.unique(events.publisher_id)
    venue = np.searchsorted(venues, events.publisher_id)
    order = order_index(venue, events.order_id, len(venues))
    added, ended, how, executed, partial, cancels = _fates(
        np.asarray(events.ts_event, dtype=np.int64), np.asarray(order, dtype=np.int64),
        np.asarray(events.action, dtype=np.uint8), np.asarray(events.size, dtype=np.int64),
        int(order.max()) + 1 if len(order) else 1,
    )  # fmt: skip
    mine = (added >= window.start_ns) & (added < window.end_ns)
    count = int(mine.sum())
    if not count:
        return {"adds": 0}
    cancelled = mine & (how == CANCEL)
    life = (ended[cancelled] - added[cancelled]) / NS_PER_SECOND
    return {
        "adds": count,
        "cancelled_within_2s": float((life <= SOON_S).sum() / count),
        "cancelled": float(cancelled.sum() / count),
        "executed": float((mine & executed).sum() / count),
        "lifetime_cancelled_s": {
            "median": float(np.median(life)) if len(life) else None,
            "p90": float(np.percentile(life, 90)) if len(life) else None,
        },
        "partial_cancels": float(partial / cancels) if cancels else None,
    }


@njit(cache=True)
def _fates(ts, order, action, size, n_orders):
    """Per order: when added (-1: never), when it ended (-1: live at the end), how (CANCEL or
    FILL), whether any fill reached it; and partial and all cancel records."""
    added = np.full(n_orders, -1, dtype=np.int64)
    ended = np.full(n_orders, -1, dtype=np.int64)
    how = np.zeros(n_orders, dtype=np.uint8)
    executed = np.zeros(n_orders, dtype=np.bool_)
    left = np.zeros(n_orders, dtype=np.int64)
    filling = np.zeros(n_orders, dtype=np.int64)  # shares filled, not yet off the book
    partial = cancels = 0
    for i in range(len(ts)):
        o, a, q = order[i], action[i], size[i]
        if a == ADD or (a == MODIFY and added[o] < 0):
            if added[o] < 0:
                added[o] = ts[i]
            left[o] = q
        elif added[o] < 0 or ended[o] >= 0:
            continue  # an order never added here, or already gone
        elif a == FILL:
            executed[o] = True
            filling[o] += q
        elif a in (CANCEL, MODIFY):
            gone = min(q, left[o]) if a == CANCEL else max(left[o] - q, 0)
            by_fill = min(gone, filling[o])
            filling[o] -= by_fill
            left[o] = left[o] - gone if a == CANCEL else q
            if by_fill < gone:  # a cancel's own shares
                cancels += 1
                partial += left[o] > 0
            if left[o] <= 0:
                ended[o] = ts[i]
                how[o] = CANCEL if by_fill < gone else FILL
    return added, ended, how, executed, partial, cancels
