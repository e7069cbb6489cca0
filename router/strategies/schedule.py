"""Following a schedule: the baselines' and the static router's one rule.

A schedule is a cumulative target per decision time (``timeline.decision_ts``, when a new state
has been received): non-decreasing, ending at the order size. At each decision the strategy
buys toward it through the exchange (:class:`~router.exchange.simulator.Exchange`): its taker
plans buys for the shortfall (the target less what is reported filled and what is still
travelling) from the states received, less what it sent orders to take; each child order
(immediate-or-cancel, limited to the worst price planned) fills one latency later on the book
as it is then, and its answer comes back one latency after that.

Only decisions where the target exceeds what is filled or travelling are visited, or where an
answer has come back, so a strategy that fills early costs almost nothing to replay.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from router.exchange.fills import Fills
from router.exchange.market import Plan
from router.exchange.simulator import Exchange
from router.exchange.timeline import Timeline

#: Given what it has seen (a Plan) and the shortfall, a taker plans its buys.
Taker = Callable[[Plan, int], None]


def follow(
    timeline: Timeline, name: str, order_size: int, targets: np.ndarray, taker: Taker
) -> Fills:
    """Buy ``order_size`` along ``targets`` (one per decision time) with ``taker``."""
    exchange = Exchange(timeline, order_size)
    times = timeline.decision_ts
    decision, last = 0, -1  # last: the local time of the decision visited last
    while exchange.known(last) < order_size and decision < len(times):
        pending = exchange.known(last) + exchange.in_flight(last)
        after = max(decision, int(np.searchsorted(targets, pending, side="right")))
        answer = exchange.next_answer(last)
        if answer is not None:  # an answer may free shares for the target before it rises
            after = min(after, max(int(np.searchsorted(times, answer)), decision))
        decision = after
        if decision >= len(times):
            break
        last = int(times[decision])
        shortfall = int(targets[decision]) - exchange.known(last) - exchange.in_flight(last)
        if shortfall > 0:
            plan = exchange.plan(exchange.received(last))
            taker(plan, shortfall)
            exchange.take(plan, last)
        decision += 1
    return exchange.fills(name)
