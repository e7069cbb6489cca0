"""The order book rebuilt from order-level messages: hand-made sequences worked out by hand, and
the compiled builder against a slow dict-of-orders book on random sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from router.data.book_builder import build_book
from router.data.order_level import _first_seen

B, A = ord("B"), ord("A")


def run(messages, depth=2, n_prices=10):
    """``messages``: (ts, action, side, price index, size, order) tuples on venue 0, each its
    own event; the builder's output, the prices the indices themselves."""
    ts, action, side, price, size, order = (
        np.array(c, dtype=np.int64) for c in zip(*messages, strict=True)
    )
    return build_book(ts, np.zeros(len(ts), dtype=np.int64), order, action.astype(np.uint8),
                      side.astype(np.uint8), price, size, np.ones(len(ts), dtype=bool),
                      np.arange(n_prices, dtype=float), depth)  # fmt: skip


def msg(ts, action, side=B, price=-1, size=0, order=0):
    return ts, ord(action), side, price, size, order


def test_adds_cancels_and_the_best_levels_by_hand():
    """Bids of 100 at 5 and 50 at 4, an ask of 30 at 7; 40 of the first cancelled, then the
    rest: the best bid falls to 4."""
    built = run([
        msg(1, "A", B, 5, 100, 1), msg(2, "A", B, 4, 50, 2), msg(3, "A", A, 7, 30, 3),
        msg(4, "C", B, 5, 40, 1), msg(5, "C", B, 5, 60, 1),
    ])  # fmt: skip
    assert np.nan_to_num(built.bid_px, nan=-1).tolist() == [
        [5, -1],
        [5, 4],
        [5, 4],
        [5, 4],
        [4, -1],
    ]
    assert built.bid_sz.tolist() == [[100, 0], [100, 50], [100, 50], [60, 50], [50, 0]]
    assert built.ask_px[-1, 0] == 7 and np.isnan(built.ask_px[-1, 1])
    assert built.ask_sz[-1].tolist() == [30, 0]


def test_trades_and_fills_leave_the_book_to_the_cancel_that_follows():
    built = run([
        msg(1, "A", B, 5, 100, 1), msg(2, "T", A, 5, 30), msg(2, "F", B, 5, 30, 1),
        msg(2, "C", B, 5, 30, 1),
    ])  # fmt: skip
    # emitted: the add, the trade (its print), the instant's last record; the fill is not
    assert built.emitted.tolist() == [0, 1, 3]
    assert built.bid_sz[:, 0].tolist() == [100, 100, 70]


def test_priority_a_smaller_size_keeps_it_a_larger_size_or_a_new_price_loses_it():
    """Order 1 added at 10 ns. Modified down at 20: still 10. Up at 30: 30. To another price at
    40: 40. A cancel reports the priority the order had."""
    built = run([
        msg(10, "A", B, 5, 100, 1), msg(20, "M", B, 5, 80, 1), msg(25, "C", B, 5, 1, 1),
        msg(30, "M", B, 5, 120, 1), msg(35, "C", B, 5, 1, 1), msg(40, "M", B, 6, 119, 1),
        msg(45, "C", B, 6, 1, 1),
    ])  # fmt: skip
    assert built.priority.tolist() == [10, 10, 10, 10, 30, 30, 40]
    # shares that left their place: the cut, the cancel, the whole order (to the back), ...
    assert built.gone_sz.tolist() == [0, 20, 1, 79, 1, 119, 1]
    assert built.gone_px.tolist() == [-1, 5, 5, 5, 5, 5, 6]
    assert built.bid_px[-1, 0] == 6 and built.bid_sz[-1, 0] == 118


def test_unknown_orders_are_counted_and_a_clear_empties_the_book():
    built = run([
        msg(1, "C", B, 5, 10, 9), msg(2, "F", B, 5, 10, 9), msg(3, "A", A, 7, 30, 3),
        msg(4, "R"), msg(5, "C", A, 7, 30, 3),
    ])  # fmt: skip
    assert built.counts["orders_unknown"] == 3  # the last cancel names an order the clear ended
    assert built.counts["clears"] == 1
    assert built.emitted.tolist() == [0, 2, 3]  # the unknown orders changed nothing
    assert built.ask_sz[:, 0].tolist() == [0, 30, 0]


def test_a_row_per_instant_where_the_levels_change_and_every_trade():
    ts = np.array([1, 1, 1, 2])
    action = np.array([ord("A"), ord("T"), ord("A"), ord("A")], dtype=np.uint8)
    built = build_book(ts, np.zeros(4, dtype=np.int64), np.arange(4), action,
                       np.full(4, B, dtype=np.uint8), np.array([5, 5, 6, 4]), np.full(4, 10),
                       np.ones(4, dtype=bool), np.arange(10.0), 1)  # fmt: skip
    # the trade, the instant's last; at ts 2 a bid below the best leaves the top level as it was
    assert built.emitted.tolist() == [1, 2]


def slow_book(messages):
    """A dict of orders: after each message, per side, {price: shares} of live orders."""
    orders: dict[int, list] = {}
    out = []
    for _, action, side, price, size, order in messages:
        if action == ord("A") or (action == ord("M") and order not in orders):
            if side in (A, B) and price >= 0 and size > 0:
                orders[order] = [side, price, size]
        elif action == ord("M"):
            orders[order][1:] = [price, size]
            if size == 0:
                del orders[order]
        elif action == ord("C") and order in orders:
            orders[order][2] -= min(size, orders[order][2])
            if orders[order][2] == 0:
                del orders[order]
        elif action == ord("R"):
            orders.clear()
        levels = {B: {}, A: {}}
        for s, p, q in orders.values():
            levels[s][p] = levels[s].get(p, 0) + q
        out.append(levels)
    return out


@st.composite
def sequences(draw):
    messages, live = [], []
    for ts in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from("AAACCMRTF" if live else "AAR"))
        if kind == "A":
            order = 1000 + ts
            side, price = draw(st.sampled_from([B, A])), draw(st.integers(0, 9))
            messages.append(msg(ts, "A", side, price, draw(st.integers(1, 50)), order))
            live.append((order, side))
        elif kind in "CMF":
            order, side = draw(st.sampled_from(live))
            size = draw(st.integers(0 if kind == "M" else 1, 60))
            messages.append(msg(ts, kind, side, draw(st.integers(0, 9)), size, order))
        else:
            messages.append(msg(ts, kind, draw(st.sampled_from([B, A])), draw(st.integers(0, 9)),
                                draw(st.integers(1, 9))))  # fmt: skip
    return messages


@settings(max_examples=300, deadline=None)
@given(sequences())
def test_the_compiled_builder_matches_a_dict_of_orders(messages):
    """Cancels of shares elsewhere than the order's price still cancel the order (the id
    decides); after every message the row in force shows the slow book's top five levels, and a
    row is written where they changed (or a trade printed)."""
    built = run(messages, depth=5)
    books = slow_book(messages)

    def top(levels: dict) -> tuple:
        return (sorted(levels[B].items(), reverse=True)[:5], sorted(levels[A].items())[:5])

    for i, (levels, message) in enumerate(zip(books, messages, strict=True)):
        row = int(np.searchsorted(built.emitted, i, side="right")) - 1  # the row in force
        changed = i == 0 or top(books[i - 1]) != top(levels) or message[1] == ord("T")
        assert (built.emitted[row] == i) == changed or row < 0, message
        if row < 0:
            assert not levels[B] and not levels[A]
            continue
        for px, sz, want in ((built.bid_px, built.bid_sz, top(levels)[0]),
                             (built.ask_px, built.ask_sz, top(levels)[1])):  # fmt: skip
            got = [(int(p), int(q)) for p, q in zip(px[row], sz[row], strict=True) if q > 0]
            assert got == want, (row, message)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30),
    st.lists(st.integers(0, 29), max_size=300),
    st.integers(0, 60),
)
def test_order_ids_are_numbered_in_first_appearance_as_pandas_factorize_does(keys, picks, shift):
    """The compiled hash against pandas: any 64-bit ids, repeated, and ids that differ only in
    their high bits (the table's slot comes from the high bits of a product: they collide)."""
    pool = np.array(keys, dtype=np.uint64) << np.uint64(shift)
    ids = pool[np.array(picks, dtype=np.int64) % len(pool)] if picks else pool
    np.testing.assert_array_equal(_first_seen(ids), pd.factorize(ids)[0])
