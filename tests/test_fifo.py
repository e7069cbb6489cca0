"""The exact FIFO queue in the exchange: hand-made order-level days whose fills are worked out
by hand, each rule broken once (a mutant the tests catch), and the exchange's FIFO against the
slow FIFO truth of :mod:`router.analysis.queue_check` on random price-time-priority days."""

from __future__ import annotations

import numpy as np
import pytest

import router.exchange.fifo
import router.exchange.simulator
from router.analysis import queue_check
from router.data.loader import Where, Window, order_snapshots
from router.data.marketdata import Snapshots
from router.data.order_level import OrderMessages
from router.exchange.fees import FeeRate, VenueFees
from router.exchange.fifo import FifoQueue
from router.exchange.passive import FillRules
from router.exchange.simulator import Exchange
from router.exchange.timeline import Timeline
from sweep.config import RouterConfig
from tests.mbp import at
from tests.test_queue_check import fifo_market

T0 = at("13:30:00")
S = 10**9
B, A = ord("B"), ord("A")
#: The book before our order: bids 100 (order 1, first) and 50 (order 2) at 10.00, an ask of
#: 100 (order 3) at 10.05. Our buy joins at 10.00 at 1 s, behind 150.
OPEN = [(0.0, "A", B, 10.00, 100, 1), (0.1, "A", B, 10.00, 50, 2), (0.2, "A", A, 10.05, 100, 3)]


def day(records) -> Snapshots:
    """A day on one venue (publisher 2) from (seconds after 13:30, action, side, price, size,
    order id[, last]) records; an event's last record ends it unless told otherwise."""
    rows = [(*r, True) if len(r) == 6 else r for r in records]
    t, action, side, price, size, order, last = (np.array(c) for c in zip(*rows, strict=True))
    ts = T0 + np.round(t * S).astype(np.int64)
    events = OrderMessages(
        ts_event=ts,
        ts_recv=ts,
        publisher_id=np.full(len(ts), 2, dtype=np.uint16),
        order_id=order.astype(np.uint64),
        action=np.array([ord(a) for a in action], np.uint8),
        side=side.astype(np.uint8),
        price=price.astype(float),
        size=size.astype(np.int64),
        last=last.astype(bool),
        number=np.arange(1, len(ts) + 1),
    )
    window = Window.on("2024-08-01", "13:30:00", "13:31:00", 0.0)
    return order_snapshots(Where("hand-made", "message"), events, window, "2024-08-01", 10, None)


def rest(snap: Snapshots, shares: int = 100, price: float = 10.00, until_s: float = 59):
    """Our buy of ``shares`` at ``price`` joins at 1 s (no latency): (shares, cause, print
    index) of each fill by ``until_s``, and the shares still ahead of it then."""
    exchange = Exchange(
        Timeline.of(snap, VenueFees(FeeRate(0.0, 0.0))),
        10**6,
        FifoQueue(),
        FillRules(quote_cross=False),
    )
    exchange.run_until(np.array([T0 + S]))
    seen = int(snap.bid_sz[np.searchsorted(snap.ts, T0 + S, side="right") - 1, 0])
    exchange.post(0, price, shares, T0 + S, seen)
    exchange.run_until(np.array([T0 + round(until_s * S)]))
    fills = [
        (r[2], ("take", "queue", "swept", "quote_cross")[r[5]], r[7]) for r in exchange.records
    ]
    return fills, exchange.resting[0].ahead


def execution(t, aggressor, resting, price, size, order, last=True):
    """A match as Databento writes it: the trade (aggressor's side), the resting order's fill
    and its book change; the event's last record unless told."""
    return [
        (t, "T", aggressor, price, size, 0, False),
        (t, "F", resting, price, size, order, False),
        (t, "C", resting, price, size, order, last),
    ]


def test_it_joins_behind_the_displayed_queue_and_cancels_ahead_move_it_up():
    """150 ahead at 1 s. Order 4 joins behind us (2 s); 30 of order 1 cancelled (3 s): 120
    ahead; order 4 cancelled (4 s): behind us, nothing moves; order 2 cancelled: 70 ahead."""
    snap = day(
        [
            *OPEN,
            (2, "A", B, 10.0, 80, 4),
            (3, "C", B, 10.0, 30, 1),
            (4, "C", B, 10.0, 80, 4),
            (5, "C", B, 10.0, 50, 2),
        ]
    )
    assert rest(snap, until_s=2.5) == ([], 150)
    assert rest(snap, until_s=3.5) == ([], 120)
    assert rest(snap, until_s=4.5) == ([], 120)
    assert rest(snap) == ([], 70)


def test_executions_ahead_fill_nothing_an_execution_behind_fills_ours_each_share_once():
    """A seller takes order 1's 100 (2 s): ahead of us, 50 left, nothing for us. Order 4 joins
    behind us (3 s); a seller sells 60 (4 s): order 2's 50, then 10 of order 4. An order behind
    us executed, so ours came first: those 10 fill ours (each traded share once), justified by
    the print of that execution; nothing is ahead any more."""
    snap = day(
        OPEN
        + execution(2, A, B, 10.00, 100, 1)
        + [(3, "A", B, 10.00, 40, 4)]
        + execution(4, A, B, 10.00, 50, 2, last=False)
        + execution(4, A, B, 10.00, 10, 4)
    )
    assert rest(snap, until_s=3.5) == ([], 50)
    fills, ahead = rest(snap)
    assert ahead == 0 and len(fills) == 1 and fills[0][:2] == (10, "queue")
    assert snap.print_px[fills[0][2]] == 10.00 and snap.print_sz[fills[0][2]] == 10


def test_a_modify_up_goes_to_the_back_a_modify_down_keeps_its_place():
    """Order 1 (100, ahead) cut to 70 (2 s): 120 ahead; order 2 (50) raised to 90 (3 s): it
    goes behind us, 70 ahead; order 2 executed now fills ours."""
    snap = day(
        [
            *OPEN,
            (2, "M", B, 10.0, 70, 1),
            (3, "M", B, 10.0, 90, 2),
            *execution(4, A, B, 10.0, 90, 2),
        ]
    )
    assert rest(snap, until_s=2.5) == ([], 120)
    assert rest(snap, until_s=3.5) == ([], 70)
    assert rest(snap)[0][0][:2] == (90, "queue")


def test_a_hidden_execution_at_our_price_neither_moves_nor_fills_a_trade_through_fills():
    """A print of 40 at 10.00 with no displayed order's fill (a hidden bid, 2 s): 150 still
    ahead, no fill. A seller printing 25 at 9.99 (3 s) while 10.00 shows: a trade through our
    price, so ours would have traded: 25 fill it (swept)."""
    snap = day([*OPEN, (2, "T", A, 10.0, 40, 0), (3, "T", A, 9.99, 25, 0)])
    assert rest(snap, until_s=2.5) == ([], 150)
    fills, _ = rest(snap)
    assert [f[:2] for f in fills] == [(25, "swept")]


def test_events_before_it_arrived_count_once():
    """A cancel of 30 of order 1 and an add of 30 (order 4) in one event at 0.5 s leave the
    top levels as they were: no row then, so both belong to the next row (2 s), after our
    order arrived; the displayed size it joined behind (150) has them already."""
    snap = day(
        [
            *OPEN,
            (0.5, "C", B, 10.0, 30, 1, False),
            (0.5, "A", B, 10.0, 30, 4, True),
            (2, "A", A, 10.06, 10, 5),
        ]
    )
    assert rest(snap) == ([], 150)


def test_a_sell_rests_at_the_ask_on_the_mirrored_book():
    """A sell at 10.05 behind order 3's 100; order 6 joins behind it (2 s), a buyer takes order
    3's 100 and 20 of order 6 (3 s): ours first: 20 fill it."""
    snap = day(
        [
            *OPEN,
            (2, "A", A, 10.05, 50, 6),
            *execution(3, B, A, 10.05, 100, 3),
            *execution(3, B, A, 10.05, 20, 6),
        ]
    )
    mirror = snap.mirrored()
    assert mirror.orders is not None and (mirror.orders.price < 0).all()
    exchange = Exchange(
        Timeline.of(mirror, VenueFees(FeeRate(0.0, 0.0))), 10**6, rules=FillRules(quote_cross=False)
    )
    assert isinstance(exchange.queue_model, FifoQueue)  # the default on an order-level day
    exchange.run_until(np.array([T0 + S]))
    exchange.post(0, -10.05, 100, T0 + S, 100)
    exchange.run_until(np.array([T0 + 59 * S]))
    assert [r[2] for r in exchange.records] == [20]


def test_mutants_fail():
    """Break a rule and a case above comes out wrong: orders ahead counted as behind (an
    execution ahead would fill ours); executions not told from cancels (none would fill)."""
    ahead_fills = day(OPEN + execution(2, A, B, 10.00, 100, 1))
    behind_fills = day([*OPEN, (2, "A", B, 10.0, 40, 4), *execution(3, A, B, 10.0, 40, 4)])
    assert rest(ahead_fills)[0] == [] and rest(behind_fills)[0][0][0] == 40
    original = router.exchange.fifo.fifo_fills

    def everyone_behind(order, *args):
        order.arrived = -2
        return original(order, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(router.exchange.simulator, "fifo_fills", everyone_behind)
        assert rest(ahead_fills)[0] != []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(router.exchange.fifo, "EXECUTED", ord("X"))
        assert rest(behind_fills)[0] == []


@pytest.mark.parametrize("seed", range(4))
def test_the_exchange_fifo_is_the_fifo_truth(seed):
    """On random price-time-priority days, probes in the exchange under FIFO (quote crossing
    off, no latency) fill exactly when the slow truth from the raw messages says, with the
    same shares ahead at 5 s."""
    events, snap = fifo_market(seed)
    chosen = queue_check.probes(snap, 5.0, 30.0)
    truth = queue_check.fifo_truth(events, None, chosen, snap.venues, 30.0)
    model = queue_check.model_fills(snap, chosen, FifoQueue(), FillRules(quote_cross=False), 30.0)
    assert len(chosen) > 50 and (truth[0] >= 0).sum() > 10
    np.testing.assert_array_equal(model[0], truth[0])
    np.testing.assert_array_equal(model[1], truth[1])


def test_order_events_travel_with_the_rows(tmp_path):
    """Saved and loaded, sliced to a window: the same events, the same rows."""
    snap = day([*OPEN, (2, "C", B, 10.0, 30, 1), *execution(3, A, B, 10.0, 70, 1)])
    assert len(snap.orders) == 3 and snap.quality.order_events == 3
    snap.save(tmp_path / "day.npz")
    back = Snapshots.load(tmp_path / "day.npz")
    for name in ("start", *back.orders.COLUMNS):
        np.testing.assert_array_equal(getattr(back.orders, name), getattr(snap.orders, name))
    later = snap.between(Window.on("2024-08-01", "13:30:02.5", "13:31:00"))
    assert later.orders.start.tolist() == [0, 2] and later.orders.ts.tolist() == [T0 + 3 * S] * 2


def test_the_queue_model_auto_is_fifo_on_order_level_days_only():
    order_level = day(OPEN)
    aggregated = Snapshots(**{**order_level.__dict__, "orders": None})
    router = RouterConfig(model="cont_kukanov")
    assert router.queue_model == "auto"
    assert router.for_days([order_level]).queue_model == "fifo"
    assert router.for_days([aggregated]).queue_model == "risk_averse"
    assert router.for_days([order_level, aggregated]).queue_model == "auto"
    with pytest.raises(
        ValueError,
        match=r"router.queue_model: fifo needs order-level data.*"
        r"2024-08-01 has aggregated depth only",
    ):
        RouterConfig(model="cont_kukanov", queue_model="fifo").for_days([aggregated])
    with pytest.raises(ValueError, match="aggregated depth only"):
        Exchange(Timeline.of(aggregated, VenueFees(FeeRate(0.0, 0.0))), 100, FifoQueue())
