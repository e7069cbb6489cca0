"""Each fill rule matters: break it and a hand-made case worked out by hand comes out wrong.

Every test runs a case twice, once as the code is and once with one rule broken through
monkeypatch, and checks that the right answer comes only from the real rule."""

from __future__ import annotations

import pytest

import router.analysis.metrics
import router.exchange.liquidity
import router.exchange.passive
import router.exchange.simulator
import tests.test_cont_kukanov
from router import Closing, Fills, load_mbp, simulate_all, summarize
from router.data.marketdata import BUY_AGGRESSOR
from router.exchange.fills import HOW
from router.exchange.market import Market
from tests.mbp import at, row, write
from tests.test_cont_kukanov import replay_resting, state
from tests.test_latency import (
    MS,
    best_ask_fills,
    close_after_a_fill_not_yet_known,
    decide_while_an_order_travels,
    plannable_after_an_unseen_rebuild,
)
from tests.test_liquidity import best_ask
from tests.test_simulator import FEES, PARAMS


def test_sellers_only(tmp_path, monkeypatch):
    events = [state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=600, side="B")]
    assert replay_resting(tmp_path, events)[0] == [0]
    monkeypatch.setattr(router.exchange.passive, "SELL_AGGRESSOR", BUY_AGGRESSOR)  # buyers too
    assert replay_resting(tmp_path, events)[0] != [0]


def test_the_queue_ahead_goes_first(tmp_path, monkeypatch):
    events = [state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=300)]
    assert replay_resting(tmp_path, events, left=500, ahead=200, displayed=200)[0] == [100]
    original = router.exchange.passive.passive_fills

    def ahead_ignored(order, *args):
        order.ahead = 0.0
        return original(order, *args)

    monkeypatch.setattr(router.exchange.simulator, "passive_fills", ahead_ignored)
    assert replay_resting(tmp_path, events, left=500, ahead=200, displayed=200)[0] == [300]


def test_each_displayed_share_once(tmp_path, monkeypatch):
    t = at("13:36:32")
    rows = [row(t, 2, 10.00, 100), row(t + 1, 2, 10.00, 100, bid=9.98)]
    assert best_ask(tmp_path, rows, 500) == [(t, 2, 100, 10.00)]
    monkeypatch.setattr(router.exchange.liquidity.Liquidity, "take", lambda *args: None)
    assert best_ask(tmp_path, rows, 500) != [(t, 2, 100, 10.00)]


def test_a_level_gone_is_new_liquidity(tmp_path, monkeypatch):
    t = at("13:36:32")
    rows = [row(t, 2, 10.00, 100), row(t + 1, 2, 10.01, 40), row(t + 2, 2, 10.00, 100)]
    assert (t + 2, 2, 100, 10.00) in best_ask(tmp_path, rows, 1000)
    monkeypatch.setattr(router.exchange.liquidity, "_gone", lambda *args: False)
    assert (t + 2, 2, 100, 10.00) not in best_ask(tmp_path, rows, 1000)


def test_quote_crossing_fills_by_default(tmp_path, monkeypatch):
    events = [state(1, bid_size=100, bid=9.99, ask=10.00, ask_size=40)]
    assert replay_resting(tmp_path, events)[0] == [40]
    ignoring = router.exchange.passive.FillRules(quote_cross=False)
    monkeypatch.setattr(tests.test_cont_kukanov, "FillRules", lambda: ignoring)  # default off
    assert replay_resting(tmp_path, events)[0] == [0]


@pytest.mark.parametrize("latency_ms", [100])
def test_orders_act_at_their_arrival(tmp_path, latency_ms):
    start = at("13:36:32")
    rows = [
        row(start, 2, 10.00, 100),
        row(start + 50_000_000, 2, 10.05, 100),
        row(start + 300_000_000, 2, 10.05, 100),
    ]
    with_latency = best_ask_fills(tmp_path, rows, 100, latency_ms=latency_ms)
    assert with_latency == [(start + 400_000_000, 2, 100, 10.05)]
    assert best_ask_fills(tmp_path, rows, 100) != with_latency  # latency broken: another answer


def test_plans_read_only_the_states_received(tmp_path, monkeypatch):
    assert plannable_after_an_unseen_rebuild(tmp_path)[0] == [0]
    monkeypatch.setattr(  # plans read the book as applied to the orders' arrival
        Market, "planning_levels", lambda market, venue, row: market.levels(venue, row)
    )
    assert plannable_after_an_unseen_rebuild(tmp_path)[0] == [100]


def test_the_close_counts_only_the_fills_known(tmp_path, monkeypatch):
    assert close_after_a_fill_not_yet_known(tmp_path)[1:] == [(MS, 100, 10.01, "cleanup")]
    monkeypatch.setattr(router.exchange.simulator.Exchange, "known", lambda run, now: run.filled)
    assert close_after_a_fill_not_yet_known(tmp_path)[1:] == []  # a fill it could not know


def test_what_travels_is_not_sent_again(tmp_path, monkeypatch):
    assert decide_while_an_order_travels(tmp_path)[0] == 1
    monkeypatch.setattr(router.exchange.simulator.Exchange, "in_flight", lambda run, now: 0)
    decisions, fills = decide_while_an_order_travels(tmp_path)
    assert decisions == 2 and sum(q for _, q, _ in fills) == 600  # bought twice


def test_the_close_walks_what_the_strategy_left(tmp_path, monkeypatch):
    rows = [row(at("13:36:32"), 1, 10.00, 250), row(at("13:36:33"), 2, 10.01, 50)]
    snap = load_mbp(write(tmp_path / "thin.csv", rows), "13:36:32", "13:36:40")

    def router_cost() -> float:
        return summarize(simulate_all(snap, FEES, 1000, 100, PARAMS)["router"]).order_cost

    assert router_cost() == pytest.approx(250 * 10.003 + 750 * 10.011)
    original = Market.closing
    monkeypatch.setattr(Market, "closing", lambda market: original(Market(market.timeline)))
    assert router_cost() == pytest.approx(450 * 10.003 + 550 * 10.011)  # its 200 sold again


def test_a_surplus_never_earns_more_than_its_cost(monkeypatch):
    fills = Fills.of("router", 100, [(1, 2, 150, 10.00, -0.002, HOW["queue"], 0, 0, float("nan"))])
    closing = Closing(asks=((10.02, 1000),), bids=((10.05, 0.003, 1000),))
    assert summarize(fills, closing).order_cost == pytest.approx(100 * 9.998 + 50 * 0.003)
    # credit the surplus at the bid, whatever it cost
    monkeypatch.setattr(router.analysis.metrics, "surplus_cost", lambda fills: float("inf"))
    assert summarize(fills, closing).order_cost == pytest.approx(150 * 9.998 - 50 * 10.047)
