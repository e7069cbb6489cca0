"""The one door between a strategy and the simulated venues: the exchange owns every order of
one strategy's run, from the moment it is sent until its last fill is reported.

A strategy decides at local times, on what it has received by then: the venue states
(:meth:`Exchange.received`, :meth:`Exchange.quotes`) and the fill reports
(:meth:`Exchange.known`, :meth:`Exchange.in_flight`). It acts through three calls:

- :meth:`Exchange.take`: a plan's immediate-or-cancel buys, one per venue, each acting one
  latency later on the venue's book as it is then, walking the displayed levels up to its limit;
- :meth:`Exchange.post`: a limit buy that arrives one latency later, takes what asks have fallen
  to its price (as any marketable order would) and rests the rest behind the displayed queue;
- :meth:`Exchange.cancel_all`: cancels that land one latency later; until then resting orders
  still fill.

The exchange applies the venues' states in exchange time (:meth:`Exchange.run_until`), fills the
resting orders from seller-initiated prints past the queue ahead and from asks crossing them
(:mod:`router.exchange.passive`), and reports each fill one latency after it happened; an
order's answer comes back one latency after it arrived, and until then its shares are in flight.
Once the fills reported complete the parent order, every resting order is cancelled at that
moment (the standing instruction of every strategy here): a cancel in flight can still overfill.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter

import numpy as np

from router.data.marketdata import Snapshots
from router.exchange.fifo import FifoQueue, fifo_fills
from router.exchange.fills import HOW, Fills
from router.exchange.market import Market, Plan
from router.exchange.passive import FillRules, Resting, displayed_at, passive_fills
from router.exchange.queues import QueueModel, RiskAverseQueueModel
from router.exchange.timeline import Timeline


class Reports:
    """What a strategy has heard back by a local time: the shares of fills reported, and the
    shares of orders whose answer has not come back. Read forward in time only, so each report
    is counted once as time passes it."""

    def __init__(self) -> None:
        self._fills: list[tuple[int, int]] = []  # heap: (when reported, shares), not yet passed
        self._answers: list[tuple[int, int]] = []  # heap: (when answered, shares sent)
        self.every_fill: list[tuple[int, int]] = []  # (when reported, shares), all of them
        self._known = 0
        self._travelling = 0
        self._now = -math.inf

    def sent(self, answered: int, shares: int) -> None:
        self._check(answered)
        heapq.heappush(self._answers, (answered, shares))
        self._travelling += shares

    def filled(self, reported: int, shares: int) -> None:
        self._check(reported)
        heapq.heappush(self._fills, (reported, shares))
        self.every_fill.append((reported, shares))

    def _check(self, when: int) -> None:
        if when < self._now:  # it would have been missed by the reading at self._now
            raise RuntimeError(f"a report due at {when} came after the strategy read {self._now}")

    def advance(self, now: int) -> None:
        """Pass local time ``now``: count every report due by then."""
        if now < self._now:
            raise RuntimeError(f"reports read at {now} after {self._now}: time runs forward")
        self._now = now
        while self._fills and self._fills[0][0] <= now:
            self._known += heapq.heappop(self._fills)[1]
        while self._answers and self._answers[0][0] <= now:
            self._travelling -= heapq.heappop(self._answers)[1]

    def known(self, now: int) -> int:
        self.advance(now)
        return self._known

    def in_flight(self, now: int) -> int:
        self.advance(now)
        return self._travelling

    def next_answer(self, now: int) -> int | None:
        """When the next order's answer comes back after ``now`` (None: nothing travels)."""
        self.advance(now)
        return self._answers[0][0] if self._answers else None


class Exchange:
    """The simulated venues of one strategy's run for a parent order of ``order_size``: its
    book (:class:`~router.exchange.market.Market`), its resting orders (one per venue at most),
    its fills and the reports it sends back. The queue model by default: exact FIFO where the
    day has order events, else risk-averse."""

    def __init__(
        self,
        timeline: Timeline,
        order_size: int,
        queue_model: QueueModel | FifoQueue | None = None,
        rules: FillRules | None = None,
    ) -> None:
        self.t = timeline
        self.s = timeline.snapshots
        self.market = Market(timeline)
        self.order_size = order_size
        self.queue_model = queue_model or default_queue(self.s)
        if isinstance(self.queue_model, FifoQueue) and self.s.orders is None:
            raise ValueError("the fifo queue model needs order-level data (Databento MBO or "
                             "LOBSTER); this day has aggregated depth only")  # fmt: skip
        self.rules = rules or FillRules()
        self.resting: dict[int, Resting] = {}
        self.records: list[tuple] = []
        self.reports = Reports()
        self.filled = 0  # every share filled, reported or not yet
        self.limit_taken = 0  # shares limit orders took on arrival from asks at their price
        self.fill_reasons: Counter = Counter()  # resting orders' fills by cause, in shares

    # What the strategy knows by local time ``now``.

    def known(self, now: int) -> int:
        """Shares whose fills were reported by local time ``now``."""
        return self.reports.known(now)

    def in_flight(self, now: int) -> int:
        """Shares of orders (market or limit) sent before local time ``now`` whose answer has
        not come back by then: none of their fills can be known yet, so a decision counts them
        as pending and never sends them again."""
        return self.reports.in_flight(now)

    def next_answer(self, now: int) -> int | None:
        """When the next order's answer comes back after local time ``now`` (None: nothing
        travels)."""
        return self.reports.next_answer(now)

    def to_buy(self, now: int) -> int:
        """The order less what is known filled and what is still travelling."""
        return self.order_size - self.known(now) - self.in_flight(now)

    def received(self, now: int) -> np.ndarray:
        """Per venue, the latest state received by local time ``now`` (-1: none yet)."""
        return self.market.seen_rows(now)

    def quotes(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best ask a plan may count on, its shares) per venue in the states received."""
        return self.market.quotes(rows)

    def plan(self, rows: np.ndarray) -> Plan:
        """An empty ticket over the states received (``rows``, from :meth:`received`)."""
        return Plan(self.market, rows)

    # What the strategy does.

    def take(self, plan: Plan, now: int, how: str = "take") -> int:
        """Send the plan's child orders at local time ``now``: each acts at its venue one
        latency later on the book as it is then (immediate-or-cancel); shares bought."""
        bought = 0
        for venue, shares, limit in plan.send():
            arrival = self._send(venue, shares, now)
            for price, q, row in self.market.execute(venue, shares, limit, arrival):
                self._fill(arrival, row, venue, q, price, float(self.t.fee[venue]), how)
                bought += q
        return bought

    def post(self, venue: int, price: float, shares: int, now: int, seen_size: int) -> None:
        """A limit buy sent at ``now``: one latency later it takes what the venue's displayed
        asks (less what we took) offer at or below ``price``, as any marketable order would
        (the taker fee, no rebate); the rest joins the queue at ``price``, behind what the
        venue displays there then (``seen_size``, the bid size the strategy saw, where the
        venue shows nothing at our price below its best bid). The venue's states up to its
        arrival are applied here, so no print before it can fill it."""
        arrival = self._send(venue, shares, now)
        for ask, q, row in self.market.execute(venue, shares, price, arrival):
            self._fill(arrival, row, venue, q, ask, float(self.t.fee[venue]), "take")
            self.limit_taken += q
            shares -= q
        if shares <= 0:
            return
        row = int(self.market.latest[venue])
        ahead = displayed_at(self.s, row, price)
        if ahead is None:  # our level not shown: we are the best bid, or it lies too deep
            ahead = seen_size if self.s.bid_px[row, 0] > price else 0
        self.resting[venue] = order = Resting(price, shares, float(ahead), ahead, arrived=arrival)
        self._cancel_when_complete(venue, order)  # posted with a take that completes the order

    def cancel_all(self, now: int) -> None:
        """Cancel every resting order at local time ``now``: each cancel lands one latency
        later, and until then the order can still fill; the venues' states are applied up to
        then, when this strategy's next orders arrive too."""
        for venue, order in self.resting.items():
            order.expires = min(order.expires, now + int(self.t.latency_ns[venue]))
        self.run_until(now + self.t.latency_ns)
        self.resting.clear()

    def fills(self, name: str) -> Fills:
        """Every fill of the run, in time order, and the book it leaves at the close."""
        records = sorted(self.records, key=lambda record: record[0])
        return Fills.of(name, self.order_size, records, self.market.closing())

    # How the venues answer.

    def run_until(self, horizon: np.ndarray) -> None:
        """Apply each venue's states up to its exchange-time ``horizon[venue]``, filling the
        orders resting there: the states of venues where we rest in time order, one by one (a
        fill at one may cancel the others); a venue where nothing rests at once."""
        parts = [np.zeros(0, dtype=np.int64)]
        for venue, rows in enumerate(self.t.venue_rows):
            stop = int(np.searchsorted(self.t.venue_ts[venue], horizon[venue], side="right"))
            if venue not in self.resting:
                self.market.apply_rows(venue, stop)
                continue
            parts.append(rows[self.market.cursor[venue] : stop])
        for row in np.sort(np.concatenate(parts)):
            venue = int(self.t.venue_index[row])
            self.market.step(venue)
            order = self.resting.get(venue)
            if order is not None and self.s.ts[row] < order.expires:
                self._check(int(row), venue, order)

    def _send(self, venue: int, shares: int, now: int) -> int:
        """An order of ``shares`` sent at local time ``now``: when it reaches the venue. Its
        answer comes back one latency after that; until then its shares are in flight."""
        latency = int(self.t.latency_ns[venue])
        self.reports.sent(now + 2 * latency, shares)
        return now + latency

    def _fill(
        self,
        ts: int,
        row: int,
        venue: int,
        shares: int,
        price: float,
        fee: float,
        how: str,
        print_index: int = -1,
        level: float | None = None,
    ) -> None:
        """Record a fill at exchange time ``ts``, justified by a print or by the displayed ask
        ``level`` (by default the fill's price); it is reported one latency later. Once the
        fills complete the order, every resting order is cancelled when that is reported (and
        still fills until the cancel lands)."""
        level_price = math.nan if print_index >= 0 else price if level is None else level
        publisher = int(self.t.publishers[venue])
        self.records.append(
            (ts, publisher, shares, price, fee, HOW[how], row, print_index, level_price)
        )
        self.reports.filled(ts + int(self.t.latency_ns[venue]), shares)
        self.filled += shares
        if self.filled >= self.order_size and self.resting:
            reported = self._reported_complete()
            for other, order in self.resting.items():
                self._cancel_after(other, order, reported)

    def _reported_complete(self) -> int:
        """The local time at which the fills reported first reach the order size (the fills,
        all of them, reach it)."""
        when, shares = np.array(sorted(self.reports.every_fill), dtype=np.int64).T
        return int(when[np.searchsorted(np.cumsum(shares), self.order_size)])

    def _cancel_when_complete(self, venue: int, order: Resting) -> None:
        """Once the order is reported complete, the cancel sent then lands one latency later."""
        if self.filled >= self.order_size:
            self._cancel_after(venue, order, self._reported_complete())

    def _cancel_after(self, venue: int, order: Resting, reported: int) -> None:
        """The cancel sent at local time ``reported`` lands one latency later."""
        order.expires = min(order.expires, reported + int(self.t.latency_ns[venue]))

    def _check(self, row: int, venue: int, order: Resting) -> None:
        """One state of a venue where we rest: its prints, the quote, the queue."""
        if isinstance(self.queue_model, FifoQueue):
            found = fifo_fills(order, self.s, row, self.rules)
        else:
            found = passive_fills(order, self.s, row, self.rules, self.queue_model)
        for cause, shares, index in found:
            self._passive(row, venue, order, cause, shares, index)
        if self.rules.quote_cross:
            for price, shares in self.market.levels(venue):
                if price > order.price or order.left <= 0:
                    break
                done = self._passive(row, venue, order, "quote_cross", shares, level=price)
                self.market.take(venue, price, done)

    def _passive(
        self,
        row: int,
        venue: int,
        order: Resting,
        cause: str,
        shares: int,
        index: int = -1,
        level: float | None = None,
    ) -> int:
        """Fill our resting order with up to ``shares`` (never more than it has left), from the
        print ``index`` or the displayed ask ``level``, at its price less the venue's rebate;
        what filled."""
        shares = min(shares, order.left)
        if shares <= 0:
            return 0
        ts, rebate = int(self.s.ts[row]), -float(self.t.rebate[venue])
        self._fill(ts, row, venue, shares, order.price, rebate, cause, index, level)
        self.fill_reasons[cause] += shares
        order.left -= shares
        return shares


def default_queue(snapshots: Snapshots) -> QueueModel | FifoQueue:
    """Exact FIFO where the day has order events, else the conservative risk-averse model."""
    return FifoQueue() if snapshots.orders is not None else RiskAverseQueueModel()
