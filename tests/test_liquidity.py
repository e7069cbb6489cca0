"""Each displayed share is ours at most once: hand-made books worked out by hand, and a
property: buying S shares at one instant never costs less than walking the consolidated book."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import FeeRate, RouterParams, VenueFees, load_mbp, simulate_all
from router.exchange.liquidity import ASK, BID, Liquidity
from tests.mbp import at, row, write

FEES = VenueFees(FeeRate(0.003, 0.002))


def buys(fills) -> list[tuple]:
    return [
        (int(t), int(p), int(s), round(float(px), 2))
        for t, p, s, px in zip(fills.ts, fills.publisher_id, fills.shares, fills.price, strict=True)
    ]


def best_ask(tmp_path, rows, order: int, end: str = "13:37:00"):
    snap = load_mbp(write(tmp_path / "l.csv", rows), "13:36:32", end)
    return buys(simulate_all(snap, FEES, order, 100, RouterParams(0.1, 0.1, 0.1))["best_ask"])


def test_the_same_ask_is_never_sold_twice(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.00, 100),
        row(t + 1, 2, 10.00, 100, bid=9.98),  # another message of the venue: the same 100
        row(t + 2, 2, 10.00, 100),
    ]
    assert best_ask(tmp_path, rows, 500) == [(t, 2, 100, 10.00)]


def test_a_level_refills_only_beyond_what_we_took(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.00, 100),
        row(t + 1, 2, 10.00, 150),  # 50 new shares joined the level
        row(t + 2, 2, 10.00, 120),  # 30 of those left (traded or cancelled)
        row(t + 3, 2, 10.00, 300),  # 180 more joined
    ]
    assert best_ask(tmp_path, rows, 1000) == [
        (t, 2, 100, 10.00), (t + 1, 2, 50, 10.00), (t + 3, 2, 180, 10.00),
    ]  # fmt: skip


def test_a_level_gone_and_rebuilt_is_new_liquidity(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.00, 100),
        row(t + 1, 2, 10.01, 40),  # the best ask moved past 10.00: that level ended
        row(t + 2, 2, 10.00, 100),  # rebuilt: 100 new shares
    ]
    assert best_ask(tmp_path, rows, 1000) == [
        (t, 2, 100, 10.00), (t + 1, 2, 40, 10.01), (t + 2, 2, 100, 10.00),
    ]  # fmt: skip


def test_a_marketable_order_walks_the_displayed_levels(tmp_path):
    t = at("13:36:32")
    rows = [row(t, 2, 10.00, 100, levels=3), row(t, 5, 10.01, 50, levels=3)]
    write(tmp_path / "deep.csv", rows, levels=3)
    snap = load_mbp(tmp_path / "deep.csv", "13:36:32", "13:37:00", depth=3)
    fills = buys(simulate_all(snap, FEES, 300, 100, RouterParams(0.1, 0.1, 0.1))["best_ask"])
    # Venue 2 shows 100 at 10.00, 10.01, 10.02; venue 5 shows 50 at 10.01, 10.02, 10.03. The
    # cheapest 300: one child order to venue 2 for 250 up to 10.02, one to venue 5 for 50.
    assert fills == [(t, 2, 100, 10.00), (t, 2, 100, 10.01), (t, 2, 50, 10.02), (t, 5, 50, 10.01)]


@pytest.mark.parametrize(
    ("side", "shown", "gone", "kept"),
    [
        (ASK, [10.01, 10.02, 10.04], [10.00, 10.03], [10.01, 10.04, 10.05]),
        (BID, [9.99, 9.98, 9.96], [10.00, 9.97], [9.99, 9.96, 9.95]),
        (ASK, [], [10.00, 11.00], []),
    ],
)
def test_which_levels_a_state_shows_gone(side, shown, gone, kept):
    """Better than the best, or inside the shown range and absent: gone. Beyond the shown depth:
    not visible, so what we took there stays taken."""
    liquidity = Liquidity(1, side)
    for price in gone + kept:
        liquidity.take(0, price, 10)
    liquidity.observe(0, np.array(shown, dtype=float), np.full(len(shown), 100))
    assert sorted(liquidity.taken[0]) == sorted(kept)


books = st.lists(
    st.tuples(
        st.sampled_from([2, 5, 8]),
        st.integers(0, 5),  # best ask in cents above 10.00
        st.lists(st.sampled_from([0, 37, 100, 200, 500]), min_size=3, max_size=3),
    ),
    min_size=1, max_size=3, unique_by=lambda b: b[0],
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(book=books, order=st.sampled_from([100, 300, 800, 1500]))
def test_one_instant_never_costs_less_than_walking_the_consolidated_book(tmp_path_factory, book,
                                                                          order):  # fmt: skip
    t = at("13:36:32")
    rows = []
    levels = []  # (price + fee, shares) of every displayed level
    for venue, cents, sizes in book:
        message = row(t, venue, 10.00 + cents / 100, 0, levels=3)
        for n, size in enumerate(sizes):
            price = round(10.00 + (cents + n) / 100, 2)
            message |= {f"ask_px_{n:02d}": price if size else "", f"ask_sz_{n:02d}": size}
            levels += [(price + 0.003, size)] if size else []
        rows.append(message)
    path = write(tmp_path_factory.mktemp("walk") / "w.csv", rows, levels=3)
    snap = load_mbp(path, "13:36:32", "13:37:00", depth=3)
    runs = simulate_all(snap, FEES, order, 100, RouterParams(0.1, 0.1, 0.1))
    for name in ("router", "best_ask"):
        fills = runs[name]
        bought = int(fills.shares.sum())
        walk, left = 0.0, bought
        for unit, size in sorted(levels):
            walk += unit * min(size, left)
            left -= min(size, left)
        assert left == 0, name  # never more than displayed
        assert float(fills.cash.sum()) >= walk - 1e-6, name
