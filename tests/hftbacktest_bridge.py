"""The same single-venue day in hftbacktest and in our engine: events converted, one order run
through both, fills compared (tests/test_hftbacktest.py, docs/hftbacktest.md)."""

from __future__ import annotations

import numpy as np

from router import FeeRate, Snapshots, Timeline, VenueFees
from router.data.marketdata import BUY_AGGRESSOR, SELL_AGGRESSOR
from router.exchange.latency import VenueLatency
from router.exchange.market import Plan
from router.exchange.passive import FillRules
from router.exchange.queues import RiskAverseQueueModel
from router.exchange.simulator import Exchange

LATENCY_NS = 1_000  # entry and response, both engines


def events(snap: Snapshots) -> np.ndarray:
    """hftbacktest's event array of one venue's day: per state, its prints (aggressor side
    flagged), then its depth changes (levels gone as quantity 0)."""
    import hftbacktest as h

    both = h.EXCH_EVENT | h.LOCAL_EVENT
    out, before = [], {"bid": {}, "ask": {}}
    seen = np.maximum.accumulate(snap.ts_recv)  # as our engine counts a state seen; sorted
    for row in range(len(snap)):
        ts, recv = int(snap.ts[row]), int(seen[row])
        for p in range(snap.print_start[row], snap.print_start[row + 1]):
            side = {SELL_AGGRESSOR: h.SELL_EVENT, BUY_AGGRESSOR: h.BUY_EVENT}.get(
                int(snap.print_side[p]), 0
            )
            out.append(
                (
                    both | h.TRADE_EVENT | side,
                    ts,
                    recv,
                    snap.print_px[p],
                    float(snap.print_sz[p]),
                    0,
                    0,
                    0.0,
                )
            )
        for name, flag in (("bid", h.BUY_EVENT), ("ask", h.SELL_EVENT)):
            prices, sizes = getattr(snap, f"{name}_px")[row], getattr(snap, f"{name}_sz")[row]
            now = {float(p): float(q) for p, q in zip(prices, sizes, strict=True) if q > 0}
            changed = {p: 0.0 for p in before[name] if p not in now}
            changed |= {p: q for p, q in now.items() if before[name].get(p) != q}
            out += [
                (both | h.DEPTH_EVENT | flag, ts, recv, p, q, 0, 0, 0.0) for p, q in changed.items()
            ]
            before[name] = now
    return np.array(out, dtype=h.event_dtype)


def hftbacktest_run(snap: Snapshots, start: int, shares: int, marketable: bool):
    """hftbacktest (risk-averse queue, partial-fill exchange): at ``start`` a buy of
    ``shares`` at the best bid (GTC) or at the best ask (IOC); (exchange ts, shares, price) of
    each fill seen."""
    import hftbacktest as h
    from hftbacktest.order import IOC

    data = events(snap)  # hftbacktest reads this buffer without holding a reference to it
    asset = (
        h.BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(LATENCY_NS, LATENCY_NS)
        .risk_adverse_queue_model()
        .partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(0.01)
        .lot_size(1.0)
        .last_trades_capacity(0)
    )
    hbt = h.HashMapMarketDepthBacktest([asset])
    hbt.wait_next_feed(False, 10**12)
    hbt.elapse(start - hbt.current_timestamp)
    depth = hbt.depth(0)
    price = depth.best_ask if marketable else depth.best_bid
    force = IOC if marketable else h.GTC
    hbt.submit_buy_order(0, 1, price, float(shares), force, h.LIMIT, False)
    fills, held = [], 0.0
    while hbt.wait_next_feed(True, 60 * 10**9) != 1 and held < shares:
        position = hbt.position(0)
        if position != held:
            order = hbt.orders(0).get(1)
            fills.append(
                (int(order.exch_timestamp), int(position - held), round(order.exec_price, 2))
            )
            held = position
    hbt.close()
    del data  # only now
    return fills


def our_run(snap: Snapshots, start: int, shares: int, marketable: bool, quote_cross=False):
    """Our engine, the same order: (exchange ts, shares, price) of each fill."""
    timeline = Timeline.of(snap, VenueFees(FeeRate(0.0, 0.0)), VenueLatency(LATENCY_NS / 1e6))
    run = Exchange(timeline, 10**9, RiskAverseQueueModel(), FillRules(quote_cross=quote_cross))
    run.run_until(np.array([start]))
    seen = run.market.seen_rows(start)
    if marketable:
        plan = Plan(run.market, seen)
        plan.buy(0, shares)  # at the best ask seen, up to what shows there
        run.take(plan, start, "take")
    else:
        row = int(seen[0])
        run.post(0, float(snap.bid_px[row, 0]), shares, start, int(snap.bid_sz[row, 0]))
        run.run_until(np.array([snap.window.end_ns]))
    return [(int(r[0]), int(r[2]), round(float(r[3]), 2)) for r in run.records]
