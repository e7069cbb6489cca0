"""The orders behind the synthetic market's books: ids, first-in-first-out queues, and the
Databento MBO records each event makes.

The market (:mod:`producer.market`) decides every event: which level, which side, how many
shares; this layer holds the orders that make each level, with its own random stream, and
says which orders an event was. Per level, orders queue in arrival order:

- an add joins the back of its level (Databento ``A``);
- a cancel takes one order at the level, at random, whole (``C``): real cancels almost never
  cut an order; a level pulled (a stale quote fading) cancels every order at it;
- a marketable order printing ``shares`` at a level is one trade record (``T``, the aggressor's
  side) and, for each resting order it meets from the front, its fill (``F``) and its shares
  leaving the book (``C``), as Databento writes Nasdaq's executions;
- a level the market refills behind the book after a cancel joins at once, and its add is
  written at that venue's next event (the MBP-10 shows it there first).

The opening book is a snapshot: per venue a clear (``R``) and each resting order (``A``),
flagged ``F_SNAPSHOT``, before the window. Records are kept only when asked for (``record``):
the MBP-10 needs the orders (a cancel's size is its order's), not their records.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from producer.market import ACTION, ASK, BID, FLAG_LAST, Rows

F_SNAPSHOT = 32
ACTIONS = ACTION | {"F": ord("F"), "R": ord("R")}
FIELDS = ("ts_event", "venue", "action", "side", "price", "size", "order_id", "flags", "event")
#: Orders per level in the opening book: about one per this many shares.
OPENING_ORDER_SHARES = 150
NO_EVENT = -1  # the opening snapshot: written before every event


class Orders:
    """Each venue's orders, per side and price a queue of [order id, shares], oldest first;
    and the MBO records made, each with the MBP-10 row of its event (``event``)."""

    def __init__(self, rng: np.random.Generator, venues: int, record: bool = True) -> None:
        self.rng, self.record = rng, record
        self.queues = [{BID: {}, ASK: {}} for _ in range(venues)]
        self.next_id = 1_000_001
        self.records = Rows(FIELDS, book_width=0)
        self.open: list[tuple] = []  # this event's records, until its row closes it
        # per venue, refilled levels not yet written: (side, price, shares, order id)
        self.deferred: list[list[tuple[int, int, int, int]]] = [[] for _ in range(venues)]

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
            order = self.join(venue, side, price, size)
            self._record(ts, venue, "A", side, price, size, order, F_SNAPSHOT)

    def clear(self, ts: int, venue: int) -> None:
        self._record(ts, venue, "R", ord("N"), 0, 0, 0, F_SNAPSHOT)

    def close_opening(self) -> None:
        """The snapshot's records are written before every event."""
        self._close(NO_EVENT)

    # ------------------------------------------------------------------ events
    def add(self, ts: int, venue: int, side: int, price: int, shares: int) -> None:
        self._flush(ts, venue)
        order = self.join(venue, side, price, shares)
        self._record(ts, venue, "A", side, price, shares, order)

    def refill(self, venue: int, side: int, price: int, shares: int, ts: int | None) -> None:
        """A level added behind the book: recorded in the event under way at ``ts``, or (None:
        after its event's row) at the venue's next event."""
        order = self.join(venue, side, price, shares)
        if ts is None:
            self.deferred[venue].append((side, price, shares, order))
            return
        self._record(ts, venue, "A", side, price, shares, order)

    def pick(self, venue: int, side: int, price: int) -> int:
        """The order a cancel at the level takes: one at random (its place in the queue)."""
        return int(self.rng.integers(len(self.queues[venue][side][price])))

    def size(self, venue: int, side: int, price: int, k: int) -> int:
        return self.queues[venue][side][price][k][1]

    def count(self, venue: int, side: int, price: int) -> int:
        """Orders at the level (0 where none)."""
        queue = self.queues[venue][side].get(price)
        return len(queue) if queue else 0

    def cancel(self, ts: int, venue: int, side: int, price: int, k: int | None) -> None:
        """Order ``k`` of the level leaves whole; None: every order at it."""
        self._flush(ts, venue)
        queue = self.queues[venue][side][price]
        for order in list(queue) if k is None else [queue[k]]:
            self._record(ts, venue, "C", side, price, order[1], order[0])
        if k is None:
            queue.clear()
        else:
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
    def join(self, venue: int, side: int, price: int, shares: int) -> int:
        """A new order at the back of its level; its id."""
        order = self.next_id
        self.queues[venue][side].setdefault(price, deque()).append([order, shares])
        self.next_id += 1
        return order

    def _end_queue(self, venue: int, side: int, price: int) -> None:
        if not self.queues[venue][side][price]:
            del self.queues[venue][side][price]

    def _flush(self, ts: int, venue: int) -> None:
        """Levels refilled since the venue's last event are written now, first in this one."""
        for side, price, shares, order in self.deferred[venue]:
            self._record(ts, venue, "A", side, price, shares, order)
        self.deferred[venue].clear()

    def _record(self, ts, venue, action, side, price, size, order, flags=0) -> None:
        if self.record:
            self.open.append((ts, venue, ACTIONS[action], side, price, size, order, flags))

    def _close(self, event: int) -> None:
        """The records so far are one event (per venue, for the opening): each venue's last
        record flagged ``F_LAST``."""
        last = {record[1]: i for i, record in enumerate(self.open)}
        for i, record in enumerate(self.open):
            flags = record[7] | (FLAG_LAST if last[record[1]] == i else 0)
            self.records.append((*record[:7], flags, event))
        self.open.clear()
