"""The orders behind the synthetic market's books: ids, first-in-first-out queues, and the
Databento MBO records each event makes.

Why a layer and not a new market: the aggregated market (:mod:`producer.market`) decides every
event: which level, how many shares; this layer only says which orders they were, with its own
random stream. So the MBP-10 a seed writes is the same with or without it, and the MBO it
writes rebuilds into exactly that MBP-10 (a test holds it). Per level, orders queue in arrival
order:

- an add joins the back of its level (Databento ``A``);
- a cancel of ``shares`` at a level takes them from particular orders: the newest order with
  probability ``YOUNG_CANCEL_P`` (most cancels on real days hit orders seconds old), else one
  at random; a whole order where the shares cover it, else a partial cancel that keeps its
  place (``C`` records of one event);
- a marketable order printing ``shares`` at a level is one trade record (``T``, the aggressor's
  side) and, for each resting order it meets from the front, its fill (``F``) and its shares
  leaving the book (``C``), as Databento writes Nasdaq's executions;
- a level the market refills behind the book after a cancel joins at that venue's next event
  (the MBP-10 shows it there first).

The opening book is a snapshot: per venue a clear (``R``) and each resting order (``A``),
flagged ``F_SNAPSHOT``, one nanosecond before the window.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from producer.market import ACTION, ASK, BID, FLAG_LAST, Rows

F_SNAPSHOT = 32
ACTIONS = ACTION | {"F": ord("F"), "R": ord("R")}
FIELDS = ("ts_event", "venue", "action", "side", "price", "size", "order_id", "flags", "event")
#: Of cancels: the share that take the newest order at the level (the rest: one at random).
YOUNG_CANCEL_P = 0.7
#: Orders per level in the opening book: about one per this many shares.
OPENING_ORDER_SHARES = 150
NO_EVENT = -1  # the opening snapshot: written before every event


class Orders:
    """Each venue's orders, per side and price a queue of [order id, shares], oldest first;
    and the MBO records made, each with the MBP-10 row of its event (``event``)."""

    def __init__(self, rng: np.random.Generator, venues: int) -> None:
        self.rng = rng
        self.queues = [{BID: {}, ASK: {}} for _ in range(venues)]
        self.next_id = 1_000_001
        self.records = Rows(FIELDS, book_width=0)
        self.open: list[tuple] = []  # this event's records, until its row closes it
        self.deferred: list[list[tuple[int, int, int]]] = [[] for _ in range(venues)]

    # ------------------------------------------------------------------ the opening book
    def opening(self, ts: int, venue: int, side: int, price: int, shares: int) -> None:
        """A level of the opening book: split into orders, each a snapshot add."""
        count = max(1, round(shares / OPENING_ORDER_SHARES))
        cuts = (
            np.sort(
                self.rng.choice(np.arange(1, shares), size=min(count, shares) - 1, replace=False)
            )
            if shares > 1
            else np.zeros(0, int)
        )
        for size in np.diff(np.r_[0, cuts, shares]).tolist():
            self._join(venue, side, price, size)
            self._record(ts, venue, "A", side, price, size, self.next_id - 1, F_SNAPSHOT)

    def clear(self, ts: int, venue: int) -> None:
        self._record(ts, venue, "R", ord("N"), 0, 0, 0, F_SNAPSHOT)

    def close_opening(self) -> None:
        """The snapshot's records are written before every event."""
        self._close(NO_EVENT)

    # ------------------------------------------------------------------ events
    def add(self, ts: int, venue: int, side: int, price: int, shares: int) -> None:
        self._flush(ts, venue)
        self._join(venue, side, price, shares)
        self._record(ts, venue, "A", side, price, shares, self.next_id - 1)

    def refill(self, venue: int, side: int, price: int, shares: int, ts: int | None) -> None:
        """A level added behind the book: in the event under way at ``ts``, or (None: after
        its event's row) at the venue's next event."""
        if ts is None:
            self.deferred[venue].append((side, price, shares))
            return
        self._join(venue, side, price, shares)
        self._record(ts, venue, "A", side, price, shares, self.next_id - 1)

    def cancel(self, ts: int, venue: int, side: int, price: int, shares: int) -> None:
        self._flush(ts, venue)
        queue = self.queues[venue][side][price]
        while shares > 0:
            k = self._pick(queue, shares)
            order = queue[k]
            q = min(shares, order[1])
            self._record(ts, venue, "C", side, price, q, order[0])
            order[1] -= q
            shares -= q
            if order[1] == 0:
                del queue[k]
        self._end_queue(venue, side, price)

    def execute(self, ts: int, venue: int, side: int, price: int, shares: int) -> None:
        """A trade of ``shares`` against the resting ``side`` at ``price``, oldest first."""
        self._flush(ts, venue)
        aggressor = ASK if side == BID else BID
        self._record(ts, venue, "T", aggressor, price, shares, 0)
        queue = self.queues[venue][side][price]
        while shares > 0:
            order = queue[0]
            q = min(shares, order[1])
            self._record(ts, venue, "F", side, price, q, order[0])
            self._record(ts, venue, "C", side, price, q, order[0])
            order[1] -= q
            shares -= q
            if order[1] == 0:
                queue.popleft()
        self._end_queue(venue, side, price)

    def close(self, row: int) -> None:
        """The event's MBP-10 row was written as ``row``: its records belong to it."""
        self._close(row)

    # ------------------------------------------------------------------ inner workings
    def _pick(self, queue: deque, shares: int) -> int:
        """Which order a cancel of ``shares`` takes next: among those it can take whole (else
        all), the newest with probability ``YOUNG_CANCEL_P``, else one at random."""
        whole = [k for k, order in enumerate(queue) if order[1] <= shares]
        choices = whole or range(len(queue))
        if self.rng.random() < YOUNG_CANCEL_P:
            return choices[-1]
        return choices[int(self.rng.integers(len(choices)))]

    def _join(self, venue: int, side: int, price: int, shares: int) -> None:
        self.queues[venue][side].setdefault(price, deque()).append([self.next_id, shares])
        self.next_id += 1

    def _end_queue(self, venue: int, side: int, price: int) -> None:
        if not self.queues[venue][side][price]:
            del self.queues[venue][side][price]

    def _flush(self, ts: int, venue: int) -> None:
        """Levels refilled since the venue's last event join now, first in this event."""
        for side, price, shares in self.deferred[venue]:
            self._join(venue, side, price, shares)
            self._record(ts, venue, "A", side, price, shares, self.next_id - 1)
        self.deferred[venue].clear()

    def _record(self, ts, venue, action, side, price, size, order, flags=0) -> None:
        self.open.append((ts, venue, ACTIONS[action], side, price, size, order, flags))

    def _close(self, event: int) -> None:
        """The records so far are one event (per venue, for the opening): each venue's last
        record flagged ``F_LAST``."""
        last = {record[1]: i for i, record in enumerate(self.open)}
        for i, record in enumerate(self.open):
            flags = record[7] | (FLAG_LAST if last[record[1]] == i else 0)
            self.records.append((*record[:7], flags, event))
        self.open.clear()
