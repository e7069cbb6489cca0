"""Replay semantics on small hand-made books whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from router import (
    Closing,
    FeeRate,
    RouterParams,
    VenueFees,
    load_mbp,
    savings_bps,
    simulate_all,
    summarize,
)
from tests.mbp import at, row, write

FEES = VenueFees(default=FeeRate(0.003, 0.002), by_publisher={2: FeeRate(0.001, 0.002)})
PARAMS = RouterParams(0.4, 0.6, 0.3)
NO_CLOSE = Closing()  # for runs that fill exactly: never used


@pytest.fixture
def two_venues(tmp_path):
    """Venue 1 (fee 0.003) and venue 2 (fee 0.001); 400 shares trade in the window."""
    rows = [
        row(at("13:36:32"), 1, 10.00, 300),
        row(at("13:36:32"), 2, 10.01, 250),
        row(at("13:36:40"), 2, 10.01, 150, action="T", size=100),
        row(at("13:37:00"), 1, 10.02, 500),
        row(at("13:37:40"), 2, 10.03, 200, action="T", size=300),
        row(at("13:37:50"), 1, 10.05, 1000),
    ]
    # Window of 87 s as written: two TWAP buckets, [13:36:32, 13:37:32) and [13:37:32, end].
    return load_mbp(write(tmp_path / "two.csv", rows), "13:36:32", "13:37:59")


def fills_of(result):
    return [
        (int(t), int(p), int(s), float(px))
        for t, p, s, px in zip(
            result.ts, result.publisher_id, result.shares, result.price, strict=True
        )
    ]


def test_router_splits_by_price_including_fees(two_venues):
    router = simulate_all(two_venues, FEES, 400, 100, PARAMS)["router"]
    # Unit costs 10.003 (venue 1) < 10.011 (venue 2): 300 at venue 1, then 100 at venue 2.
    assert fills_of(router) == [(at("13:36:32"), 1, 300, 10.00), (at("13:36:32"), 2, 100, 10.01)]
    assert summarize(router, NO_CLOSE).total_cash == pytest.approx(300 * 10.003 + 100 * 10.011)


def test_best_ask_sweeps_the_consolidated_book_at_once(two_venues):
    best = simulate_all(two_venues, FEES, 400, 100, PARAMS)["best_ask"]
    # A marketable order: the 300 shown at venue 1 (10.00), then 100 of venue 2's 250 (10.01).
    assert fills_of(best) == [(at("13:36:32"), 1, 300, 10.00), (at("13:36:32"), 2, 100, 10.01)]


def test_twap_buys_each_bucket_target(two_venues):
    twap = simulate_all(two_venues, FEES, 400, 100, PARAMS)["twap"]
    assert fills_of(twap) == [(at("13:36:32"), 1, 200, 10.00), (at("13:37:40"), 1, 200, 10.02)]
    assert summarize(twap, NO_CLOSE).total_cash == pytest.approx(200 * 10.003 + 200 * 10.023)


def test_vwap_follows_traded_volume(two_venues):
    vwap = simulate_all(two_venues, FEES, 400, 100, PARAMS)["vwap"]
    # 100 of 400 shares traded by 13:36:40, all 400 by 13:37:40.
    assert fills_of(vwap) == [(at("13:36:40"), 1, 100, 10.00), (at("13:37:40"), 1, 300, 10.02)]


def test_metrics_and_savings(two_venues):
    runs = simulate_all(two_venues, FEES, 400, 100, PARAMS)
    router, vwap = summarize(runs["router"], NO_CLOSE), summarize(runs["vwap"], NO_CLOSE)
    assert router.filled_shares == 400 and router.unfilled_shares == 0
    assert router.avg_fill_px == pytest.approx(4002.0 / 400)
    assert vwap.avg_fill_px == pytest.approx((100 * 10.003 + 300 * 10.023) / 400)
    expected = (vwap.avg_fill_px - router.avg_fill_px) / vwap.avg_fill_px * 10_000
    assert savings_bps(vwap, router) == pytest.approx(expected)
    assert expected > 0


def test_shortfall_is_priced_on_the_book_the_strategy_left(tmp_path):
    rows = [row(at("13:36:32"), 1, 10.00, 250), row(at("13:36:33"), 2, 10.01, 50)]
    snap = load_mbp(write(tmp_path / "thin.csv", rows), "13:36:32", "13:36:40")
    runs = simulate_all(snap, FEES, 1000, 100, PARAMS)
    router, best = summarize(runs["router"]), summarize(runs["best_ask"])
    # The router buys whole steps only: 200 of venue 1's 250, nothing of venue 2's 50.
    assert (router.filled_shares, router.unfilled_shares) == (200, 800)
    assert (best.filled_shares, best.unfilled_shares) == (300, 700)
    # Its 800 missing shares walk the last displayed asks less what it took there, ask plus
    # fee: venue 1's 50 left at 10.00 + 0.003, venue 2's 50 at 10.01 + 0.001; the other 700 lie
    # beyond the displayed depth, priced at the worst displayed ask (10.011) and counted.
    left = [(round(p, 6), q) for p, q in runs["router"].closing.asks]
    assert left == [(10.003, 50), (10.011, 50)]
    cost = 200 * 10.003 + 50 * 10.003 + 50 * 10.011 + 700 * 10.011
    assert router.order_cost == pytest.approx(cost)
    assert router.cost_per_share == pytest.approx(cost / 1000)
    # best_ask took every displayed share: all 700 it misses lie beyond, at 10.011.
    assert runs["best_ask"].closing.asks == ()
    assert best.order_cost == pytest.approx(250 * 10.003 + 50 * 10.011 + 700 * 10.011)
    assert router.closing_shares_beyond_depth == 700 and best.closing_shares_beyond_depth == 700
    # Both used the same displayed shares, so neither is cheaper (the close once sold the
    # router again the 200 it had taken, and it came out 2.40 cheaper).
    assert router.order_cost == pytest.approx(best.order_cost)
    # The bids, as displayed: venue 2's 10.00 (fee 0.001) first, then venue 1's 9.99 (0.003).
    assert [(p, round(f, 6), q) for p, f, q in runs["router"].closing.bids] == [
        (10.00, 0.001, 100),
        (9.99, 0.003, 100),
    ]


def test_a_surplus_is_sold_back_down_the_displayed_bids_never_above_its_cost():
    from router import Fills
    from router.exchange.fills import HOW

    fills = Fills.of("router", 100, [(1, 2, 400, 10.00, -0.002, HOW["queue"], 0, 0, float("nan"))])
    closing = Closing(asks=((10.02, 500),), bids=((9.98, 0.003, 100), (9.97, 0.003, 50)))
    result = summarize(fills, closing)
    # 300 too many, which cost 9.998 each (2,999.40): 100 at 9.98, 50 at 9.97, 150 beyond the
    # displayed bids at 9.97 fetch 2,992.00 gross, below their cost; less 0.90 of fees.
    assert result.order_cost == pytest.approx(400 * 9.998 - (2992.00 - 0.90))
    assert result.surplus_cost == pytest.approx(2999.40)
    assert result.surplus_mark_to_market == pytest.approx(2992.00 - 0.90 - 2999.40)  # -8.30
    assert result.closing_shares_beyond_depth == 150


@pytest.mark.parametrize(
    ("bid", "credit", "mark"),
    [
        (10.05, 499.90 - 0.15, 502.50 - 0.15 - 499.90),  # price rose: sold at cost, less fee
        (9.98, 499.00 - 0.15, 499.00 - 0.15 - 499.90),  # price fell: sold at the bid
    ],
)
def test_a_surplus_never_earns(bid, credit, mark):
    from router import Fills
    from router.exchange.fills import HOW

    fills = Fills.of("router", 100, [(1, 2, 150, 10.00, -0.002, HOW["queue"], 0, 0, float("nan"))])
    result = summarize(fills, Closing(asks=((10.02, 1000),), bids=((bid, 0.003, 1000),)))
    assert (result.filled_shares, result.overfilled_shares, result.unfilled_shares) == (150, 50, 0)
    # 50 too many at 9.998 (499.90): the lower of 50 x bid and that, less 50 x 0.003
    assert result.order_cost == pytest.approx(150 * 9.998 - credit)
    assert result.order_cost >= 100 * 9.998 + 0.15 - 1e-9  # never below the order's own cost
    assert result.surplus_mark_to_market == pytest.approx(mark)
    assert result.cost_per_share == pytest.approx(result.order_cost / 100)


def test_the_surplus_is_the_last_shares_bought():
    from router import Fills
    from router.analysis.metrics import surplus_cost
    from router.exchange.fills import HOW

    fills = Fills.of("router", 100, [
        (1, 2, 80, 10.00, -0.002, HOW["queue"], 0, 0, float("nan")),
        (2, 2, 70, 10.01, 0.003, HOW["take"], 0, -1, 10.01),
    ])  # fmt: skip
    assert surplus_cost(fills) == pytest.approx(50 * 10.013)  # 50 of the second fill


def test_strategy_that_fills_nothing_has_no_average(tmp_path):
    rows = [row(at("13:36:32"), 1, 10.00, 50)]
    snap = load_mbp(write(tmp_path / "odd.csv", rows), "13:36:32", "13:36:40")
    snap_closing = Closing()  # no ask at the end: cannot be priced
    router = summarize(simulate_all(snap, FEES, 100, 100, PARAMS)["router"], snap_closing)
    assert router.avg_fill_px is None and router.unfilled_shares == 100
    assert router.order_cost == float("inf") and savings_bps(router, router) is None


@pytest.mark.parametrize(("size", "step"), [(150, 100), (0, 100), (-100, 100), (100, 0)])
def test_order_must_be_a_positive_multiple_of_step(two_venues, size, step):
    with pytest.raises(ValueError, match="order"):
        simulate_all(two_venues, FEES, size, step, PARAMS)


def test_vwap_without_trades_follows_the_twap_schedule(tmp_path):
    rows = [row(at("13:36:32"), 1, 10.00, 1000), row(at("13:37:40"), 1, 10.02, 1000)]
    snap = load_mbp(write(tmp_path / "quiet.csv", rows), "13:36:32", "13:37:59")
    runs = simulate_all(snap, FEES, 400, 100, PARAMS)
    assert fills_of(runs["vwap"]) == fills_of(runs["twap"])
    assert [s for s in runs["vwap"].shares] == [200, 200]


def test_every_strategy_fills_the_order_on_the_default_day():
    from bench.common import default_day

    config, snap = default_day()
    runs = simulate_all(snap, config.venues, config.order.size, config.order.step, PARAMS)
    for name, fills in runs.items():
        result = summarize(fills, NO_CLOSE)
        assert (result.filled_shares, result.unfilled_shares) == (5000, 0), name
