"""The synthetic market behaves like one US equity market: a hand-made Reg NMS sweep, and the
stylized-facts targets of issue 13 (docs/market.md) on five seeds across the session."""

from __future__ import annotations

import numpy as np
import pytest

from producer.market import ASK, BID, Market, MarketParams, VenueStyle, _Side
from producer.orders import Orders
from producer.stylized import facts
from producer.synthetic import generate
from router import load_mbp

WINDOWS = {  # seed: a five-minute window; together they cover the session's U shape
    1: ("13:31:00", "13:35:59"),
    2: ("15:00:00", "15:04:59"),
    3: ("17:00:00", "17:04:59"),
    4: ("19:00:00", "19:04:59"),
    5: ("19:54:00", "19:58:59"),
}


def hand_made_market(asks: dict[int, list[int]]) -> Market:
    """Four venues bidding 100 at 100.00 each; ``asks``: price (cents) -> shares per venue."""
    styles = [VenueStyle(0.25, 200, 0.9, 50_000) for _ in range(4)]
    orders = Orders(np.random.default_rng(0), 4, record=False)
    market = Market(np.random.default_rng(0), styles, MarketParams(), 10_000.5, orders)
    for k, venue in enumerate(market.venues):
        venue.bids, venue.asks = _Side(-1, {}, []), _Side(+1, {}, [])
        orders.queues[k] = {BID: {}, ASK: {}}
        venue.bids.add(10_000, 100)
        orders.join(k, BID, 10_000, 100)
        for price, shares in asks.items():
            venue.asks.add(price, shares[k])
            orders.join(k, ASK, price, shares[k])
    return market


def test_a_large_buy_takes_every_venue_at_a_price_before_the_next() -> None:
    market = hand_made_market({10_001: [300, 200, 100, 400], 10_002: [500] * 4, 10_003: [1000] * 4})
    # a marketable noise buy (u[2] < market_share, u[3] < 1/2, u[4] > metaorder_share) of
    # 5,000 shares (u[5], u[6]), routed to venues 0, 2, 1, 3 in turn (u[7] = 0)
    market.step(1_000_000_000, [0.5, 0.0, 0.01, 0.1, 0.9, 0.999, 0.0, 0.0])
    rows = market.rows.drain()
    prints = rows["action"] == ord("T")
    got = list(zip(rows["venue"][prints], rows["price"][prints], rows["size"][prints], strict=True))
    assert got == [
        (0, 10_001, 300), (2, 10_001, 100), (1, 10_001, 200), (3, 10_001, 400),
        (0, 10_002, 500), (2, 10_002, 500), (1, 10_002, 500), (3, 10_002, 500),
        (0, 10_003, 1000), (2, 10_003, 1000),
    ]  # fmt: skip
    assert (rows["side"][prints] == ord("B")).all()  # the aggressor is a buyer
    after = np.flatnonzero(prints) + 1  # each print's book update: the level reduced by it
    assert (rows["action"][after] == ord("C")).all()
    assert (rows["size"][after] == rows["size"][prints]).all()
    assert (rows["ts_event"][after] == rows["ts_event"][prints]).all()
    assert (np.diff(rows["ts_event"][prints]) == MarketParams().hop_ns).all()  # one hop each
    first_ask = rows["book"][after[0]].reshape(10, 6)[0]  # venue 0 after its 300 at 100.01
    assert (first_ask[1], first_ask[3]) == (10_002, 500)
    last_ask = rows["book"][after[-1]].reshape(10, 6)[0]  # venue 2 after 1,000 at 100.03
    assert last_ask[1] == 10_004  # its 100.03 is gone


def test_a_buy_stops_at_its_limit_two_cents_through() -> None:
    market = hand_made_market({10_001: [100] * 4, 10_004: [5000] * 4})
    market.step(1_000_000_000, [0.5, 0.0, 0.01, 0.1, 0.9, 0.999, 0.0, 0.0])
    rows = market.rows.drain()
    prints = rows["action"] == ord("T")
    assert rows["size"][prints].sum() == 400 and set(rows["price"][prints]) == {10_001}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict]:
    folder = tmp_path_factory.mktemp("market")
    out = {}
    for seed, (start, end) in WINDOWS.items():
        path = folder / f"{seed}.csv"
        generate(path, seed=seed, start=start, end=end)
        out[seed] = facts(load_mbp(path, start, end))
    return out


@pytest.mark.parametrize("seed", WINDOWS)
def test_the_nbbo_rarely_locks_or_crosses_and_trades_print_inside_it(measured, seed) -> None:
    result = measured[seed]
    assert result["nbbo_locked_share"] <= 0.02
    assert result["nbbo_crossed_share"] <= 0.001
    assert result["trade_through_share"] <= 0.005
    assert result["spread_ticks_share"]["1"] >= 0.8  # one tick most of the time


@pytest.mark.parametrize("seed", WINDOWS)
def test_trade_signs_are_positively_and_slowly_autocorrelated(measured, seed) -> None:
    acf = measured[seed]["trade_sign_acf"]
    assert acf["1"] > 0.3 and acf["10"] > 0.05 and acf["20"] > 0.02
    assert acf["10"] > 5 * acf["1"] ** 10  # far slower than a Markov chain's geometric decay


@pytest.mark.parametrize("seed", WINDOWS)
def test_cancels_not_trades_deplete_most_best_queues(measured, seed) -> None:
    assert measured[seed]["depletions_by_trade_share"] < 0.5


@pytest.mark.parametrize("seed", WINDOWS)
def test_volatility_and_volume_are_of_the_order_of_aapl(measured, seed) -> None:
    """Scaled to a 6.5 h day: a daily volatility of 0.5-4 % (AAPL: ~1.5 %) and 10-150 million
    shares on the lit venues (AAPL: ~50 million a day in 2024, all venues)."""
    result, day = measured[seed], 23_400 / 300
    daily_vol_pct = result["realised_vol_bps"]["1min"] * np.sqrt(day) / 100
    assert 0.5 <= daily_vol_pct <= 4
    assert 10e6 <= result["volume"] * day <= 150e6
    sizes = result["trade_size"]
    assert 0.2 <= sizes["odd_lot_share"] <= 0.6 and sizes["median"] == 100
