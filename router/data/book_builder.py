"""The order book built from order-level messages (Databento MBO semantics), compiled.

Messages come in file order, already mapped to dense indices: each venue's book is a pair of
size-per-price arrays (prices as indices into the day's sorted prices), each live order its
side, price, size and priority time. Actions, as Databento defines them for MBO:

- ``A`` add: a new order joins the back of its level (priority: its ``ts_event``);
- ``C`` cancel: ``size`` shares of the order leave the book (all of them: the order is gone);
- ``M`` modify: new price and/or size; a new price or a larger size loses priority (the order
  goes to the back), a smaller size keeps it; a modify of an order never added is an add;
- ``R`` clear: the venue's book is emptied;
- ``T`` trade, ``F`` fill, ``N`` none: the book does not change (a fill's shares leave the book
  through the cancel that accompanies it). ``T`` records are the prints.

A cancel or fill of an order never added is counted, never fatal, and changes nothing. Some
sources (LOBSTER) show orders resting before the file began, or beyond its depth, only as they
are cancelled or filled or as a level comes into view: ``reference`` books (the source's own
book after each message) then add or remove *anonymous* shares at a level where the source's
book shows more or fewer than the messages explain, only at prices the previous reference book
did not show (beyond its depth); anywhere else a difference is an error the caller reports
with the message's number. With a reference, a cancel of an unknown order takes the level's
anonymous shares, then shares of orders whose id the source lost (counted as orphans).

The book after an event is emitted at its last record (``last``), once per run of records with
the same ``ts_event`` and venue, where its ``depth`` levels differ from the venue's last row (as
Databento's MBP-N has a record only where the top N levels change); every ``T`` record is
emitted too, for its print.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

ADD, CANCEL, MODIFY, CLEAR, TRADE, FILL = (ord(c) for c in "ACMRTF")
BID, ASK = ord("B"), ord("A")
#: Counters the kernel returns, in this order (``BookCounts``).
COUNTS = (
    "orders_unknown",  # cancels and fills of an order never added (or already gone)
    "modifies_of_unknown",  # modifies of an order never added: read as adds
    "adds_of_live_orders",  # an add reusing a live order's id: the old order is replaced
    "cancels_beyond_size",  # a cancel of more shares than the order had left
    "clears",
    "anonymous_shares_added",  # shares a reference book showed that no message explains
    "anonymous_shares_removed",  # shares the messages left that a reference book did not show
    "orphan_shares",  # shares an unknown order's cancel took from a level beyond its anonymous
)


@dataclass(frozen=True)
class Built:
    """What the kernel returns: the records emitted (indices into the messages), the book after
    each (prices, NaN where a level is empty; sizes), each message's order priority time (-1:
    none or unknown), where and how many shares each message took out of their queue place
    (the exact queue position needs them), the counters, and the first message whose
    reference book disagrees (-1)."""

    emitted: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    priority: np.ndarray
    gone_px: np.ndarray  # per message, the price index its shares left (-1: none)
    gone_sz: np.ndarray  # and how many left their place there (a cancel, a modify)
    counts: dict[str, int]
    disagrees_at: int


def build_book(
    ts: np.ndarray,
    venue: np.ndarray,
    order: np.ndarray,
    action: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    last: np.ndarray,
    prices: np.ndarray,
    depth: int,
    reference: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Built:
    """Replay the messages (see the module docstring); ``venue`` and ``order`` are dense indices
    (``order`` per venue and order id), ``price`` indices into ``prices``, the day's sorted
    prices (-1: undefined). ``reference``: (bid_px, bid_sz, ask_px, ask_sz) price indices and
    sizes of the source's book after each message (one venue), or None."""
    n_venues = int(venue.max()) + 1 if len(venue) else 1
    n_orders = int(order.max()) + 1 if len(order) else 1
    if reference is None:
        empty = np.zeros((0, 1), dtype=np.int64)
        reference = (empty, empty, empty, empty)
    out = _build(
        ts, venue, order, action, side, price, size, last,
        n_venues, prices.astype(np.float64), n_orders, depth, *reference,
    )  # fmt: skip
    emitted, bid_px, bid_sz, ask_px, ask_sz, priority, gone_px, gone_sz, counts, disagrees = out
    return Built(emitted, bid_px, bid_sz, ask_px, ask_sz, priority, gone_px, gone_sz,
                 dict(zip(COUNTS, counts.tolist(), strict=True)), int(disagrees))  # fmt: skip


@njit(cache=True)
def _take_best(levels, start, step, stop):
    """The first non-empty level from ``start`` moving by ``step`` (-1 or +1), or ``stop``."""
    p = start
    while p != stop and levels[p] == 0:
        p += step
    return p


@njit(cache=True)
def _top(levels, prices, best, step, stop, depth, px_out, sz_out):
    """The ``depth`` best non-empty levels from ``best`` outward into the output row."""
    p, k = best, 0
    while p != stop and k < depth:
        if levels[p] > 0:
            px_out[k] = prices[p]
            sz_out[k] = levels[p]
            k += 1
        p += step
    while k < depth:
        px_out[k] = np.nan
        sz_out[k] = 0
        k += 1


@njit(cache=True)
def _build(
    ts, venue, order, action, side, price, size, last,
    n_venues, prices, n_orders, depth, ref_bid_px, ref_bid_sz, ref_ask_px, ref_ask_sz,
):  # fmt: skip
    n = len(ts)
    n_prices = len(prices)
    bids = np.zeros((n_venues, n_prices), dtype=np.int64)
    asks = np.zeros((n_venues, n_prices), dtype=np.int64)
    anon_bids = np.zeros((n_venues, n_prices), dtype=np.int64)
    anon_asks = np.zeros((n_venues, n_prices), dtype=np.int64)
    best_bid = np.full(n_venues, -1, dtype=np.int64)
    best_ask = np.full(n_venues, n_prices, dtype=np.int64)
    o_side = np.zeros(n_orders, dtype=np.uint8)  # 0: not live
    o_price = np.zeros(n_orders, dtype=np.int64)
    o_size = np.zeros(n_orders, dtype=np.int64)
    o_prio = np.zeros(n_orders, dtype=np.int64)
    o_epoch = np.zeros(n_orders, dtype=np.int64)
    epoch = np.ones(n_venues, dtype=np.int64)  # a clear starts a new epoch: older orders dead
    priority = np.full(n, -1, dtype=np.int64)
    gone_px = np.full(n, -1, dtype=np.int64)  # where shares left their place in a queue
    gone_sz = np.zeros(n, dtype=np.int64)
    counts = np.zeros(len(COUNTS), dtype=np.int64)
    emit = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        emit[i] = action[i] == TRADE or (
            last[i] and not (i + 1 < n and ts[i + 1] == ts[i] and venue[i + 1] == venue[i])
        )
    m = int(emit.sum())
    emitted = np.empty(m, dtype=np.int64)
    shown = np.full(n_venues, -1, dtype=np.int64)  # each venue's last row written
    out_bid_px = np.empty((m, depth), dtype=np.float64)
    out_bid_sz = np.empty((m, depth), dtype=np.int64)
    out_ask_px = np.empty((m, depth), dtype=np.float64)
    out_ask_sz = np.empty((m, depth), dtype=np.int64)
    has_reference = ref_bid_px.shape[0] == n and n > 0
    ref_depth = ref_bid_px.shape[1]
    row = 0
    disagrees_at = -1
    prev_last = -1  # the reference row of the previous event
    for i in range(n):
        v, o, a, s, p, q = venue[i], order[i], action[i], side[i], price[i], size[i]
        live = o_side[o] != 0 and o_epoch[o] == epoch[v]
        if a == ADD or (a == MODIFY and not live):
            if a == MODIFY:
                counts[1] += 1
            if live:
                counts[2] += 1
                _remove(o, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v, n_prices)
            if ((s == BID) | (s == ASK)) and p >= 0 and q > 0:
                _insert(o, s, p, q, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v)
                o_prio[o] = ts[i]
                o_epoch[o] = epoch[v]
            priority[i] = ts[i]
        elif a == MODIFY:
            priority[i] = o_prio[o]
            gone_px[i] = o_price[o]
            gone_sz[i] = o_size[o] - q
            if p != o_price[o] or q > o_size[o]:
                o_prio[o] = ts[i]  # to the back of its (new) level
                gone_sz[i] = o_size[o]
            keep_side = o_side[o]
            _remove(o, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v, n_prices)
            if q > 0:
                _insert(o, keep_side, p, q, o_side, o_price, o_size, bids, asks, best_bid,
                        best_ask, v)  # fmt: skip
        elif a == CANCEL:
            if live:
                priority[i] = o_prio[o]
                if q > o_size[o]:
                    counts[3] += 1
                gone_px[i], gone_sz[i] = o_price[o], min(q, o_size[o])
                _reduce(o, gone_sz[i], o_side, o_price, o_size, bids, asks, best_bid, best_ask,
                        v, n_prices)  # fmt: skip
            else:
                counts[0] += 1
                if has_reference:
                    gone_px[i] = p
                    gone_sz[i] = _reduce_unknown(s, p, q, v, bids, asks, anon_bids, anon_asks,
                                                 best_bid, best_ask, n_prices, counts)  # fmt: skip
        elif a == FILL:
            if live:
                priority[i] = o_prio[o]
            else:
                counts[0] += 1
        elif a == CLEAR:
            counts[4] += 1
            epoch[v] += 1
            bids[v, :] = 0
            asks[v, :] = 0
            anon_bids[v, :] = 0
            anon_asks[v, :] = 0
            best_bid[v] = -1
            best_ask[v] = n_prices
        if has_reference and last[i] and disagrees_at < 0:
            best_bid[v], bid_ok = _reconcile(
                bids[v],
                anon_bids[v],
                best_bid[v],
                ref_bid_px,
                ref_bid_sz,
                i,
                prev_last,
                ref_depth,
                -1,
                counts,
            )
            best_ask[v], ask_ok = _reconcile(
                asks[v],
                anon_asks[v],
                best_ask[v],
                ref_ask_px,
                ref_ask_sz,
                i,
                prev_last,
                ref_depth,
                1,
                counts,
            )
            prev_last = i
            if not (bid_ok and ask_ok):
                disagrees_at = i
        if emit[i]:
            _top(bids[v], prices, best_bid[v], -1, -1, depth, out_bid_px[row], out_bid_sz[row])
            _top(asks[v], prices, best_ask[v], 1, n_prices, depth, out_ask_px[row],
                 out_ask_sz[row])  # fmt: skip
            before = shown[v]
            if a == TRADE or before < 0 or _changed(out_bid_px, out_bid_sz, out_ask_px,
                                                    out_ask_sz, row, before, depth):  # fmt: skip
                emitted[row] = i
                shown[v] = row
                row += 1
    return (emitted[:row], out_bid_px[:row], out_bid_sz[:row], out_ask_px[:row],
            out_ask_sz[:row], priority, gone_px, gone_sz, counts, disagrees_at)  # fmt: skip


@njit(cache=True)
def _changed(bid_px, bid_sz, ask_px, ask_sz, row, before, depth):
    """Whether row ``row``'s levels differ from row ``before``'s (prices where sizes show)."""
    for k in range(depth):
        if bid_sz[row, k] != bid_sz[before, k] or ask_sz[row, k] != ask_sz[before, k]:
            return True
        if bid_sz[row, k] > 0 and bid_px[row, k] != bid_px[before, k]:
            return True
        if ask_sz[row, k] > 0 and ask_px[row, k] != ask_px[before, k]:
            return True
    return False


@njit(cache=True)
def _insert(o, s, p, q, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v):
    o_side[o], o_price[o], o_size[o] = s, p, q
    if s == BID:
        bids[v, p] += q
        if p > best_bid[v]:
            best_bid[v] = p
    else:
        asks[v, p] += q
        if p < best_ask[v]:
            best_ask[v] = p


@njit(cache=True)
def _remove(o, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v, n_prices):
    _reduce(o, o_size[o], o_side, o_price, o_size, bids, asks, best_bid, best_ask, v, n_prices)


@njit(cache=True)
def _reduce(o, q, o_side, o_price, o_size, bids, asks, best_bid, best_ask, v, n_prices):
    """``q`` shares of a live order leave the book; the order is gone at zero."""
    p = o_price[o]
    o_size[o] -= q
    if o_side[o] == BID:
        bids[v, p] -= q
        if p == best_bid[v] and bids[v, p] == 0:
            best_bid[v] = _take_best(bids[v], p, -1, -1)
    else:
        asks[v, p] -= q
        if p == best_ask[v] and asks[v, p] == 0:
            best_ask[v] = _take_best(asks[v], p, 1, n_prices)
    if o_size[o] == 0:
        o_side[o] = 0


@njit(cache=True)
def _reduce_unknown(s, p, q, v, bids, asks, anon_bids, anon_asks, best_bid, best_ask, n_prices,
                    counts):  # fmt: skip
    """A cancel of an order never added takes the level's anonymous shares first, then, as far
    as the level has any, shares of orders whose id the source lost (LOBSTER writes some
    Nasdaq replaces as the deletion of an id it never added): those are counted."""
    if p < 0 or not ((s == BID) | (s == ASK)):
        return 0
    anon, levels = (anon_bids, bids) if s == BID else (anon_asks, asks)
    from_anon = min(q, anon[v, p])
    orphan = min(q - from_anon, levels[v, p] - from_anon)
    anon[v, p] -= from_anon
    levels[v, p] -= from_anon + orphan
    counts[7] += orphan
    if s == BID and p == best_bid[v] and levels[v, p] == 0:
        best_bid[v] = _take_best(levels[v], p, -1, -1)
    if s == ASK and p == best_ask[v] and levels[v, p] == 0:
        best_ask[v] = _take_best(levels[v], p, 1, n_prices)
    return from_anon + orphan


@njit(cache=True)
def _reconcile(levels, anon, best, ref_px, ref_sz, i, prev, ref_depth, step, counts):
    """Make one side's levels in the view of reference row ``i`` equal to it, with anonymous
    shares, where the price lay beyond the previous reference row's view. Returns the side's
    best level afterwards, and False where a price the previous row showed differs (the
    message file does not explain the book there)."""
    n_prices = len(levels)
    stop = -1 if step < 0 else n_prices
    shown = 0
    while shown < ref_depth and ref_sz[i, shown] > 0:
        shown += 1
    full = shown == ref_depth  # then the view ends at the worst level shown
    worst = ref_px[i, shown - 1] if shown else stop
    prev_full = prev >= 0 and ref_sz[prev, ref_depth - 1] > 0
    prev_worst = ref_px[prev, ref_depth - 1] if prev_full else stop
    ok = True
    p, k = best, 0
    while True:
        if p != stop and full and (p - worst) * step > 0:
            p = stop  # our levels beyond the view: not compared
        if p == stop and k >= shown:
            break
        if k < shown and (p == stop or (ref_px[i, k] - p) * step < 0):
            price, want = ref_px[i, k], ref_sz[i, k]  # a level we lack
            k += 1
        else:
            price, want = p, 0
            if k < shown and ref_px[i, k] == p:
                want = ref_sz[i, k]
                k += 1
            p = _take_best(levels, p + step, step, stop)
        have = levels[price]
        if have == want:
            continue
        beyond = prev < 0 or (prev_full and (price - prev_worst) * step > 0)
        if not beyond:
            ok = False
        elif want > have:
            counts[5] += want - have
            anon[price] += want - have
            levels[price] = want
        else:
            counts[6] += have - want
            anon[price] = max(anon[price] - (have - want), 0)
            levels[price] = want
    new_best = ref_px[i, 0] if shown else _take_best(levels, best if best != stop else stop,
                                                     step, stop)  # fmt: skip
    return new_best, ok
