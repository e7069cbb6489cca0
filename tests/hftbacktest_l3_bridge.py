"""The same order-level (Databento MBO) day in hftbacktest's L3 FIFO queue model and in our
exact FIFO model: messages converted, one-share probes run through both, first fills compared
(tests/test_hftbacktest_l3.py, docs/hftbacktest.md)."""

from __future__ import annotations

import numpy as np

from router import FeeRate, Snapshots, Timeline, VenueFees
from router.analysis.queue_check import Probes
from router.data.order_level import OrderMessages
from router.exchange.fifo import FifoQueue
from router.exchange.fills import HOWS
from router.exchange.latency import VenueLatency
from router.exchange.passive import FillRules
from router.exchange.simulator import Exchange

LATENCY_NS = 1_000  # entry and response, both engines
TICK = 0.01
BID, ASK = ord("B"), ord("A")


def l3_events(messages: OrderMessages) -> np.ndarray:
    """hftbacktest's L3 event array of one venue's Databento MBO messages, in file order (which
    must be exchange and receive time order): R a clear, A an add, M a modify, F a fill (the
    resting order's side; like Databento, hftbacktest keeps the order until a cancel removes
    it), T a trade (the aggressor's side; hftbacktest's L3 exchange ignores trades). A C of a
    whole order is a cancel; a C of part of one is a modify to what is left: hftbacktest's
    cancel deletes the whole order, while its modify to a smaller size at the same price
    keeps the order's place in the queue, as Databento's partial cancel does."""
    import hftbacktest as h

    if len(np.unique(messages.publisher_id)) > 1:
        raise ValueError("one venue at a time: order ids are one venue's")
    for ts in (messages.ts_event, messages.ts_recv):
        if (np.diff(ts) < 0).any():
            raise ValueError("messages out of time order: hftbacktest reads them in order")
    both = h.EXCH_EVENT | h.LOCAL_EVENT
    sides = {BID: h.BUY_EVENT, ASK: h.SELL_EVENT}
    left: dict[int, tuple[float, int]] = {}  # order id: (price, shares resting)
    out = []
    for i in range(len(messages)):
        action, oid = chr(messages.action[i]), int(messages.order_id[i])
        px, size = float(messages.price[i]), int(messages.size[i])
        side = sides.get(int(messages.side[i]), 0)
        if action == "R":
            kind, px, size, oid = h.DEPTH_CLEAR_EVENT, 0.0, 0, 0
            left.clear()
        elif action in "AM":
            kind = (h.ADD_ORDER_EVENT if action == "A" else h.MODIFY_ORDER_EVENT) | side
            left[oid] = (px, size)
        elif action == "C" and size >= left[oid][1]:
            kind, size = h.CANCEL_ORDER_EVENT | side, 0
            del left[oid]
        elif action == "C":
            px, resting = left[oid]
            kind, size = h.MODIFY_ORDER_EVENT | side, resting - size
            left[oid] = (px, size)
        elif action == "F":
            kind = h.FILL_EVENT | side
        elif action == "T":
            kind, oid = h.TRADE_EVENT | side, 0
        else:
            continue  # N: no book change
        ts, recv = int(messages.ts_event[i]), int(messages.ts_recv[i])
        out.append((both | kind, ts, recv, px if px == px else 0.0, float(size), oid, 0, 0.0))
    return np.array(out, dtype=h.event_dtype)


def hftbacktest_fill(
    data: np.ndarray, start: int, buy: bool, price: float, horizon: int
) -> tuple[int, tuple[float, float, float, float]]:
    """hftbacktest (L3 FIFO queue model, its L3 no-partial-fill exchange): a one-share limit
    order (GTC) sent at local time ``start`` at ``price``; the exchange time of its fill within
    ``horizon`` ns of ``start`` (-1: none), and the book hftbacktest's local side showed at
    ``start`` (best bid, its shares, best ask, its shares)."""
    import hftbacktest as h

    stop = int(np.searchsorted(data["exch_ts"], start + horizon + 2 * LATENCY_NS, "right"))
    data = data[:stop]  # hftbacktest reads this buffer without holding a reference to it
    asset = (
        h.BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(LATENCY_NS, LATENCY_NS)
        .l3_fifo_queue_model()
        .no_partial_fill_exchange()  # with the L3 model: L3NoPartialFillExchange
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(TICK)
        .lot_size(1.0)
        .last_trades_capacity(0)
    )
    hbt = h.HashMapMarketDepthBacktest([asset])
    hbt.wait_next_feed(False, 10**12)
    _ok(hbt.elapse(start - hbt.current_timestamp))
    depth = hbt.depth(0)
    book = (depth.best_bid, depth.best_bid_qty, depth.best_ask, depth.best_ask_qty)
    submit = hbt.submit_buy_order if buy else hbt.submit_sell_order
    _ok(submit(0, 1, price, 1.0, h.GTC, h.LIMIT, False))
    _ok(hbt.elapse(horizon + LATENCY_NS))  # a fill is reported one latency after it
    order = hbt.orders(0).get(1)
    when = int(order.exch_timestamp) if order.status == h.FILLED else -1
    hbt.close()
    del data  # only now
    return (when if when <= start + horizon else -1), book


def _ok(code: int) -> None:
    """hftbacktest returns its errors (an event for an order its book does not hold, say) as
    codes: 0 done, 1 the end of the data."""
    if code not in (0, 1):
        raise RuntimeError(f"hftbacktest failed (code {code})")


def hftbacktest_fills(
    messages: OrderMessages, probes: Probes, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each probe's fill time in hftbacktest (-1: none within the horizon), one run each (how
    far its L3 model fills backtest orders above the displayed best depends on how many rest,
    so probes sharing a run could change each other's fills), and the book each one saw when
    sent (probes x 4)."""
    data = l3_events(messages)
    runs = [
        hftbacktest_fill(data, int(t), bool(buy), float(px), horizon)
        for t, buy, px in zip(probes.ts, probes.buy, probes.price, strict=True)
    ]
    return np.array([r[0] for r in runs], dtype=np.int64), np.array([r[1] for r in runs])


def their_cause(messages: OrderMessages, when: int, buy: bool, price: float) -> str:
    """What at exchange time ``when`` can have filled hftbacktest's probe: ``queue`` (a fill of
    an order on our side at our price: one behind ours, as nothing else fills it there),
    ``quote_cross`` (an order of the other side added or moved to our price or through it),
    else ``?``."""
    at = np.flatnonzero(messages.ts_event == when)
    ours, other = (BID, ASK) if buy else (ASK, BID)
    action, side, px = messages.action[at], messages.side[at], messages.price[at]
    if ((action == ord("F")) & (side == ours) & np.isclose(px, price)).any():
        return "queue"
    through = (px <= price + 1e-9) if buy else (px >= price - 1e-9)
    if (np.isin(action, [ord("A"), ord("M")]) & (side == other) & through).any():
        return "quote_cross"
    return "?"


def our_fills(
    snap: Snapshots, probes: Probes, horizon: int, quote_cross: bool
) -> tuple[np.ndarray, list[str]]:
    """Each probe in our exchange (exact FIFO queue, the same latency): its first fill's
    exchange time (-1: none within the horizon) and cause (``queue``, ``swept``,
    ``quote_cross``; '' if none)."""
    latency = VenueLatency(LATENCY_NS / 1e6)
    fees = VenueFees(FeeRate(0.0, 0.0))
    timelines = {
        True: Timeline.of(snap, fees, latency),
        False: Timeline.of(snap.mirrored(), fees, latency),  # a sell is a buy on the mirror
    }
    filled = np.full(len(probes), -1, dtype=np.int64)
    causes = [""] * len(probes)
    for k in range(len(probes)):
        buy, t = bool(probes.buy[k]), int(probes.ts[k])
        run = Exchange(timelines[buy], 1, FifoQueue(), FillRules(quote_cross=quote_cross))
        run.run_until(np.array([t]))
        price = float(probes.price[k]) * (1 if buy else -1)
        run.post(int(probes.venue[k]), price, 1, t, int(probes.ahead[k]))
        run.run_until(np.array([t + horizon]))
        if run.records:
            first = min(run.records, key=lambda record: record[0])
            filled[k], causes[k] = first[0], HOWS[first[5]]
    return filled, causes


def alone_before(snap: Snapshots, when: int, buy: bool, price: float) -> bool:
    """Whether, in the state just before exchange time ``when``, the venue displayed no order
    at ``price`` on the probe's side (one venue): ours was the only one there."""
    row = int(np.searchsorted(snap.ts, when, side="left")) - 1
    px, sz = (snap.bid_px, snap.bid_sz) if buy else (snap.ask_px, snap.ask_sz)
    return row < 0 or not sz[row][np.isclose(px[row], price)].sum()
