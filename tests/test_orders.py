"""Parent orders: an order's view of a day is what loading its own window would give, and a
sell is exactly a buy on the book reflected about a price."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from producer.synthetic import generate
from router import FeeRate, RouterParams, Snapshots, Timeline, VenueFees, load_mbp, run_baselines
from router.data.marketdata import BUY_AGGRESSOR, SELL_AGGRESSOR
from router.exchange.fills import PASSIVE
from router.exchange.latency import VenueLatency
from router.strategies.cont_kukanov import PlacementSettings, run_cont_kukanov
from router.strategies.orders import OrderGenerator, ParentOrder, time_of_day, whole_window

S = 1_000_000_000
FEES = VenueFees(FeeRate(0.003, 0.002))


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("orders") / "day.csv"
    generate(path, seed=4, venues=3, rows=8000)
    return path


@pytest.fixture(scope="module")
def day(csv) -> Snapshots:
    return load_mbp(csv, "13:36:32", "13:45:14", depth=10)


def test_an_order_sees_what_loading_its_own_window_gives(csv, day) -> None:
    order = ParentOrder(at("13:40:00"), 120 * S, 1000)
    got = order.view(replace(day, window=replace(day.window, warmup_ns=60 * S)))
    expected = load_mbp(csv, "13:40:00", "13:41:59.999999999", depth=10, warmup_s=60)
    assert got.window == expected.window
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def test_the_default_order_is_the_whole_window(day) -> None:
    (order,) = whole_window(day.window, 5000)
    view = order.view(day)
    assert view.window == day.window and order.side == "buy"
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(view, name), getattr(day, name), err_msg=name)


def reflected(snap: Snapshots, centre: float) -> Snapshots:
    """The book reflected about ``centre`` by hand: bid p becomes an ask at 2c - p, and the
    reverse; sellers' prints become buyers'."""
    side = np.where(
        snap.print_side == SELL_AGGRESSOR,
        BUY_AGGRESSOR,
        np.where(snap.print_side == BUY_AGGRESSOR, SELL_AGGRESSOR, snap.print_side),
    ).astype(snap.print_side.dtype)
    return replace(
        snap,
        ask_px=2 * centre - snap.bid_px, ask_sz=snap.bid_sz,
        bid_px=2 * centre - snap.ask_px, bid_sz=snap.ask_sz,
        print_px=2 * centre - snap.print_px, print_side=side,
    )  # fmt: skip


def test_a_sell_is_a_buy_on_the_book_reflected_about_a_price(day) -> None:
    """Every fill of every strategy: the same time, venue, shares and cause; the price on the
    reflected book is 2c minus the sale price (c = $222), the cost 2c x shares more."""
    order = ParentOrder(at("13:37:00"), 300 * S, 3000, "sell")
    sell = order.view(day)
    buy = replace(order, side="buy").view(reflected(day, 222.0))
    latency = VenueLatency(1.0)
    runs = []
    for snap in (sell, buy):
        timeline = Timeline.of(snap, FEES, latency)
        fills = run_baselines(timeline, order.size)
        fills["router"] = run_cont_kukanov(
            timeline, order.size, RouterParams(0.01, 0.01, 0.001), PlacementSettings(tau_s=5)
        )[0]
        runs.append(fills)
    for name, sold in runs[0].items():
        bought = runs[1][name]
        assert len(sold.ts) > 0, name
        for column in ("ts", "publisher_id", "shares", "how", "row", "print_index"):
            np.testing.assert_array_equal(getattr(sold, column), getattr(bought, column))
        np.testing.assert_allclose(bought.price, 2 * 222.0 + sold.price, atol=1e-9)
        np.testing.assert_allclose(bought.cash.sum(), sold.cash.sum() + 444.0 * sold.shares.sum())
    assert (runs[0]["router"].liquidity == PASSIVE).any()  # resting offers filled too


def test_generated_orders_are_seeded_per_day_and_fit_the_window(day) -> None:
    generator = OrderGenerator(per_day=20, size=(500, 2000), side="both", horizon_s=60, seed=3)
    first = generator.orders(0, day.window)
    assert first == generator.orders(0, day.window)
    assert first != generator.orders(1, day.window)
    assert len(first) == 20 and {o.side for o in first} == {"buy", "sell"}
    for order in first:
        window = order.window(day.window.date, 0)
        assert day.window.start_ns <= window.start_ns and window.end_ns <= day.window.end_ns
        assert 500 <= order.size <= 2000 and order.size % 100 == 0
        assert (order.start_ns - at("00:00")) % S == 0
    fixed = OrderGenerator(per_day=3, size=(1000, 1000), side="sell", horizon_s=60,
                           starts=("13:40:00", "13:37:00"))  # fmt: skip
    assert [time_of_day(o.start_ns) for o in fixed.orders(0, day.window)] == [
        "13:37:00", "13:40:00", "13:40:00",
    ]  # fmt: skip


def at(text: str) -> int:
    """Nanoseconds after midnight."""
    hours, minutes, *seconds = (int(x) for x in text.split(":"))
    return ((hours * 60 + minutes) * 60 + (seconds[0] if seconds else 0)) * S


def test_fills_csv_writes_a_sell_as_the_market_showed_it(day) -> None:
    """A sell replays on the mirrored book; its fills.csv rows are the real market's: positive
    prices, resting offers filled by buyers' prints at or above them, takes at bids shown."""
    from router.strategies.orders import Orders
    from sweep.backtest import SweepData
    from sweep.config import GridPoint
    from sweep.report import fill_rows, replay_orders

    orders = Orders(fixed=(ParentOrder(at("13:37:00"), 300 * S, 3000, "sell"),))
    placement = PlacementSettings(tau_s=5)
    data = SweepData.build(day, FEES, orders, 100, placement, VenueLatency(1.0))
    (run,) = replay_orders(GridPoint(RouterParams(0.01, 0.01, 0.001)), data.days[0], data)
    rows = [r for r in fill_rows(run) if r["strategy"] == "router"]
    assert rows and all(r["side"] == "sell" and 200 < r["price"] < 250 for r in rows)
    passive = [r for r in rows if r["how"] in ("queue", "swept")]
    assert passive and all(r["print_side"] == "B" for r in passive)
    assert all(r["print_price"] >= r["price"] - 1e-9 for r in passive)
    taken = [r for r in rows if r["how"] == "take"]
    assert all(r["level_price"] == r["price"] for r in taken)
    bids = set(np.round(day.bid_px[:, 0], 2))
    assert {round(r["price"], 2) for r in taken} <= bids  # sold at bids the data showed


def test_a_sell_that_oversold_with_no_asks_to_buy_back_costs_infinity(day) -> None:
    """Selling 1,100 of 1,000 when the market shows no ask at the close: buying the surplus back
    cannot be priced, so the cost is infinite (as a buy's missing shares with no ask are), not
    free; a buy's surplus with no bid still fetches nothing."""
    from router import Fills, summarize
    from router.exchange.fills import HOW
    from router.exchange.market import Market

    quiet = replace(day, ask_px=np.full_like(day.ask_px, np.nan), ask_sz=np.zeros_like(day.ask_sz))
    order = ParentOrder(at("13:38:00"), 60 * S, 1000, "sell")
    view = order.view(quiet)
    fills = Fills.of("router", 1000, [(view.window.start_ns, 2, 1100, -220.0, -0.002,
                                        HOW["queue"], 0, -1, np.nan)])  # fmt: skip
    assert summarize(fills, Market(Timeline.of(view, FEES)).closing()).order_cost == np.inf
    bought = replace(order, side="buy").view(
        replace(day, bid_px=np.full_like(day.bid_px, np.nan), bid_sz=np.zeros_like(day.bid_sz))
    )
    fills = Fills.of("router", 1000, [(bought.window.start_ns, 2, 1100, 220.0, -0.002,
                                        HOW["queue"], 0, -1, np.nan)])  # fmt: skip
    cost = summarize(fills, Market(Timeline.of(bought, FEES)).closing()).order_cost
    assert cost == pytest.approx(1100 * (220.0 - 0.002))  # the surplus fetched nothing


def test_the_static_taker_places_whole_lots_only(tmp_path) -> None:
    """After a child of 100 (the static allocator's lot) filled only 3, 97 are missing: not a
    whole lot, so the allocator places nothing more (it used to be asked for 97 and fail); they
    stay unfilled and are priced at the close. 197 missing: one lot of 100 is placed."""
    from router.exchange.market import Market, Plan
    from router.strategies.baselines import router_taker
    from tests.mbp import row, write

    t = (13 * 3600 + 36 * 60 + 32) * S + day_start()
    rows = [row(t, 2, 10.00, 300), row(t, 5, 10.02, 500)]
    snap = load_mbp(write(tmp_path / "d.csv", rows), "13:36:32", "13:36:40")
    timeline = Timeline.of(snap, FEES)
    take = router_taker(RouterParams(0.1, 0.1, 0.1), 100, timeline.fee, timeline.rebate)
    for missing, placed in ((97, []), (197, [(0, 100)])):
        market = Market(timeline)
        plan = Plan(market, market.seen_rows(t))
        take(plan, missing)
        assert [(venue, shares) for venue, shares, _ in plan.send()] == placed


def day_start() -> int:
    """2024-08-01 00:00 UTC in ns, the tests' trading day."""
    return int(np.datetime64("2024-08-01T00:00", "ns").astype(np.int64))
