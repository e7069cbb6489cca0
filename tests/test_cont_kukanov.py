"""The Cont & Kukanov replay: queue-model fills on hand-made events, no look-ahead, and the
default day's sweep telling grid points apart."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.common import default_day
from router import FeeRate, Timeline, VenueFees, load_mbp
from router.exchange.fills import CLEANUP, HOW, PASSIVE
from router.exchange.passive import FillRules, Resting
from router.exchange.queues import ProbQueueModel, RiskAverseQueueModel
from router.exchange.simulator import Exchange
from router.strategies.cont_kukanov import DecisionStats, PlacementSettings, run_cont_kukanov
from router.strategies.outflow import SellerFlow
from router.strategies.placement import RouterParams
from sweep import SweepData, run_backtest
from sweep.backtest import replay_router
from sweep.config import GridPoint
from tests.mbp import at, row, write

FEES = VenueFees(FeeRate(0.003, 0.002))


def state(t, *, bid_size, bid=10.00, ask=10.01, ask_size=500, trade_px=None, traded=0, side="A"):
    """One venue-1 message at second t; a trade when trade_px is given, a seller hitting the
    bid unless ``side`` says otherwise."""
    message = row(at("13:36:32") + t * 1_000_000_000, 1, ask, ask_size, bid=bid, bid_size=bid_size)
    if trade_px is not None:
        message |= {"action": "T", "price": trade_px, "size": traded, "side": side}
    return message


def replay_resting(tmp_path, events, model=None, left=200, ahead=300, displayed=300, rules=None):
    """Rest a bid of ``left`` at 10.00 behind ``ahead`` of the ``displayed`` shares, then apply
    ``events``; the shares filled by each event."""
    snap = load_mbp(write(tmp_path / "q.csv", [state(0, bid_size=displayed), *events]))
    run = Exchange(
        Timeline.of(snap, FEES), 10_000, model or RiskAverseQueueModel(), rules or FillRules()
    )
    run.run_until(np.array([snap.ts[0]]))
    run.resting[0] = Resting(10.00, left, float(ahead), displayed)
    fills = []
    for ts in snap.ts[1:]:
        before = run.filled
        run.run_until(np.array([ts]))
        fills.append(run.filled - before)
    return fills, run


def test_risk_averse_queue_moves_only_with_trades_and_fills_past_the_front(tmp_path):
    events = [
        state(1, bid_size=200, trade_px=10.00, traded=100),  # 100 sold ahead of us: 200 left
        state(2, bid_size=50),  # 150 cancelled: the ahead count can't exceed what is displayed
        state(3, bid_size=0, bid=9.99, trade_px=10.00, traded=120),  # 70 reach us
        state(4, bid_size=300, bid=9.99, trade_px=9.99, traded=500),  # swept below us: the rest
    ]
    fills, run = replay_resting(tmp_path, events)
    assert fills == [0, 0, 70, 130]
    assert run.fill_reasons == {"queue": 70, "swept": 130}
    prices = {r[3] for r in run.records}
    fees = {r[4] for r in run.records}
    assert prices == {10.00} and fees == {-0.002}  # the bid price less the rebate, no taker fee


def test_probabilistic_queue_credits_some_cancellations_to_the_front(tmp_path):
    # 300 ahead of us, 200 behind; 150 cancel, then 250 trade at our price.
    events = [state(1, bid_size=350), state(2, bid_size=100, trade_px=10.00, traded=250)]
    averse, _ = replay_resting(tmp_path, events, displayed=500)
    prob, _ = replay_resting(tmp_path, events, ProbQueueModel(), displayed=500)
    assert averse == [0, 0]  # still 300 ahead: the 250 traded do not reach us
    # power 3: P(behind) = 200^3 / (200^3 + 300^3) = 0.229, so 115.7 of the 150 were ahead
    assert prob == [0, int(250 - (300 - 150 * (1 - 200**3 / (200**3 + 300**3))))]  # whole shares


def queue_after_a_print_under_a_higher_bid(tmp_path) -> list[int]:
    """200 ahead of us at 10.00, 200 shown. A seller prints 50 at 10.00 while the bid shows
    10.01 above us (our level unseen at depth 1): 150 stay ahead, and 150 are shown there. The
    bid comes back to 10.00 showing 150: no cancellation happened, so 150 stay ahead. A sell
    print of 200 at 10.00 then fills us 200 - 150 = 50. Counting the 50 printed again as a
    cancellation (prob_power, power 3) would leave 150 - 50 x 27/28 = 101.8 ahead and fill 98."""
    events = [
        state(1, bid_size=300, bid=10.01, trade_px=10.00, traded=50),
        state(2, bid_size=150),
        state(3, bid_size=100, bid=9.99, trade_px=10.00, traded=200),
    ]
    fills, _ = replay_resting(tmp_path, events, ProbQueueModel(), left=100, ahead=200,
                              displayed=200)  # fmt: skip
    return fills


def test_a_print_under_a_higher_bid_is_not_counted_again_as_a_cancellation(tmp_path):
    assert queue_after_a_print_under_a_higher_bid(tmp_path) == [0, 0, 50]


def test_the_queue_ahead_shrinks_with_our_level_shown_deeper_in_the_book(tmp_path):
    """Our bid at 10.00 with 300 ahead; the bid rises to 10.01 and the second level shows 120 at
    10.00: at most 120 can be ahead of us. A sell print of 150 at 10.00 then fills us 30."""
    t = at("13:36:32")
    rows = [
        row(t, 1, 10.01, 500, bid=10.00, bid_size=300, levels=2),
        row(t + 10**9, 1, 10.02, 500, bid=10.01, bid_size=80, levels=2) | {"bid_sz_01": 120},
        row(t + 2 * 10**9, 1, 10.01, 500, bid=9.99, bid_size=0, levels=2, action="T", size=150)
        | {"price": 10.00, "side": "A"},
    ]
    snap = load_mbp(write(tmp_path / "deep.csv", rows, levels=2), depth=2)
    run = Exchange(Timeline.of(snap, FEES), 10_000, RiskAverseQueueModel(), FillRules())
    run.run_until(np.array([snap.ts[0]]))
    run.resting[0] = Resting(10.00, 200, 300.0, 300)
    run.run_until(np.array([snap.ts[1]]))
    assert run.resting[0].ahead == 120
    run.run_until(np.array([snap.ts[2]]))
    assert run.filled == 30


def test_a_buyer_initiated_print_at_our_price_fills_nothing(tmp_path):
    events = [state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=600, side="B")]
    fills, _ = replay_resting(tmp_path, events)
    assert fills == [0]  # a buyer lifted an offer at 10.00: it never reaches a bid


def test_a_sell_print_of_300_with_200_ahead_fills_100(tmp_path):
    events = [state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=300)]
    fills, run = replay_resting(tmp_path, events, left=500, ahead=200, displayed=200)
    assert fills == [100] and run.fill_reasons == {"queue": 100}


def test_a_sweep_below_our_price_fills_us_from_the_shares_below(tmp_path):
    # 300 ahead of us at 10.00; a seller prints 300 at 10.00 (the queue ahead), then 80 at 9.99:
    # the level 10.00, ours included, went before 9.99, so those 80 shares are ours.
    t = at("13:36:32") + 1_000_000_000
    sweep = [
        state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=300),
        row(t, 1, 10.01, 500, bid=9.99, bid_size=20, action="T", size=80)
        | {"price": 9.99, "side": "A"},
    ]
    fills, run = replay_resting(tmp_path, sweep)
    assert sum(fills) == 80 and run.fill_reasons == {"swept": 80}


def test_a_print_below_our_price_with_our_level_still_shown_goes_through_the_queue(tmp_path):
    # 200 ahead of us at 10.00; a seller prints 250 at 9.99, yet the state still shows 200 at
    # 10.00: the level was not swept, so the print first takes the 200 ahead, then 50 of ours.
    events = [state(1, bid_size=200, trade_px=9.99, traded=250)]
    fills, run = replay_resting(tmp_path, events, left=200, ahead=200, displayed=200)
    assert fills == [50] and run.fill_reasons == {"queue": 50}
    # A print of 150 below: all of it went to the queue ahead; 50 are still ahead of us.
    events = [state(1, bid_size=200, trade_px=9.99, traded=150)]
    fills, run = replay_resting(tmp_path, events, left=200, ahead=200, displayed=200)
    assert fills == [0] and run.resting[0].ahead == 50


def test_unsigned_prints_fill_only_when_asked(tmp_path):
    events = [state(1, bid_size=0, bid=9.99, trade_px=10.00, traded=400, side="N")]
    assert replay_resting(tmp_path, events)[0] == [0]
    both = FillRules(unsigned_trades="both")
    assert replay_resting(tmp_path, events, rules=both)[0] == [100]  # 300 ahead of us


def test_a_pulled_level_fills_nothing_and_a_crossing_ask_only_with_quote_cross(tmp_path):
    events = [
        state(1, bid_size=100, bid=9.99),  # the others at 10.00 cancelled: no evidence of a fill
        state(2, bid_size=100, bid=9.99, ask=10.00, ask_size=40),  # the ask falls to our price
    ]
    fills, run = replay_resting(tmp_path, events)  # quote_cross on by default
    assert fills == [0, 40] and run.fill_reasons == {"quote_cross": 40}
    fills, run = replay_resting(tmp_path, events, rules=FillRules(quote_cross=False))
    assert fills == [0, 0] and run.fill_reasons == {}


def test_with_quote_cross_the_same_displayed_ask_fills_us_once(tmp_path):
    events = [
        state(1, bid_size=100, bid=9.99, ask=10.00, ask_size=40),  # the ask falls to our price
        state(2, bid_size=120, bid=9.99, ask=10.00, ask_size=40),  # the same 40, shown again
        state(3, bid_size=120, bid=9.99, ask=10.00, ask_size=70),  # 30 more sellers at 10.00
    ]
    fills, run = replay_resting(tmp_path, events, rules=FillRules(quote_cross=True))
    assert fills == [40, 0, 30] and run.fill_reasons == {"quote_cross": 70}


def test_the_outflow_estimate_ignores_the_future():
    config, snap = default_day()
    timeline = Timeline.of(snap, config.venues)
    now = snap.window.start_ns + 120 * 1_000_000_000
    later = snap.ts > now
    scrambled = {"bid_sz": snap.bid_sz.copy(), "print_sz": snap.print_sz.copy()}
    rng = np.random.default_rng(0)
    scrambled["bid_sz"][later] = rng.permutation(scrambled["bid_sz"][later])
    after = later[snap.print_row]
    scrambled["print_sz"][after] = rng.permutation(scrambled["print_sz"][after])
    future_changed = Timeline.of(replace(snap, **scrambled), config.venues)
    tau = 10 * 1_000_000_000
    a = SellerFlow.of(timeline).samples(now, tau)
    b = SellerFlow.of(future_changed).samples(now, tau)
    # Windows of 10 s sliding by 1 s, starting at the first state loaded (just after 13:36:32).
    assert len(a) == (now - tau - int(snap.ts[0])) // 10**9 + 1 == 110
    assert np.array_equal(a, b) and a.sum() > 0
    assert not np.array_equal(
        SellerFlow.of(timeline).samples(now + 60 * tau, tau),
        SellerFlow.of(future_changed).samples(now + 60 * tau, tau),
    )


def test_the_outflow_counts_only_what_would_fill_a_bid(tmp_path):
    """Seller prints at or below the bid shown at the window's start; not buyers, not prints
    above that bid, not cancellations."""
    events = [
        state(1, bid_size=200, trade_px=10.00, traded=100),  # a seller at the bid: counts
        state(2, bid_size=150, trade_px=10.00, traded=50, side="B"),  # a buyer: never
        state(3, bid_size=10),  # 140 cancelled: not credited
        state(4, bid_size=10, bid=9.99, trade_px=9.99, traded=30),  # below the bid: counts
    ]
    snap = load_mbp(write(tmp_path / "f.csv", [state(0, bid_size=300), *events]))
    flow = SellerFlow.of(Timeline.of(snap, FEES))
    start, second = snap.window.start_ns, 1_000_000_000
    assert flow.samples(start + 5 * second, 5 * second)[0, 0] == 130  # window (0 s, 5 s]
    both = SellerFlow.of(Timeline.of(snap, FEES), FillRules(unsigned_trades="both"))
    assert both.samples(start + 5 * second, 5 * second)[0, 0] == 130  # no N prints here


def test_the_outflow_counts_a_print_from_when_it_was_received(tmp_path):
    """A seller prints 100 at the 10.00 bid at 5 ms; it reaches us at 50 ms. A decision at
    10 ms cannot know of it; one at 55 ms, over (45 ms, 55 ms], can."""
    ms = 1_000_000
    start = at("13:36:32")
    late = row(start + 5 * ms, 2, 10.01, 500, bid=10.00) | {
        "action": "T", "side": "A", "price": 10.00, "size": 100,
        "ts_recv": row(start + 50 * ms, 2, 0, 0)["ts_event"],
    }  # fmt: skip
    rows = [row(start, 2, 10.01, 500, bid=10.00), late]
    snap = load_mbp(write(tmp_path / "o.csv", rows), "13:36:32", "13:37:00")
    flow = SellerFlow.of(Timeline.of(snap, FEES))
    assert flow.samples(start + 10 * ms, 10 * ms).tolist() == [[0.0]]
    assert flow.samples(start + 55 * ms, 10 * ms)[0].tolist() == [100.0]


def test_no_decision_before_min_samples_windows(tmp_path):
    events = [state(t, bid_size=100, trade_px=10.00, traded=10) for t in range(1, 40)]
    snap = load_mbp(
        write(tmp_path / "m.csv", [state(0, bid_size=100), *events]), "13:36:32", "13:37:11"
    )
    settings = PlacementSettings(tau_s=5, min_samples=30)
    fills, stats = run_cont_kukanov(
        Timeline.of(snap, FEES), 300, RouterParams(0.05, 0.05, 0), settings
    )
    # Windows of 5 s slide by 0.5 s: at start + 5k s there are 10(k - 1) + 1 of them, so the
    # first decision with 30 is at k = 4, 20 s in.
    assert stats.decisions > 0 and min(stats.samples) == 31
    first = (fills.ts[fills.how != HOW["cleanup"]].min() - snap.window.start_ns) / 1e9
    assert first >= 20


def test_decisions_before_a_time_do_not_depend_on_data_after_it(tmp_path):
    config, snap = default_day()
    cut = snap.window.start_ns + 40 * 1_000_000_000  # decisions start after 30 sample windows
    later = snap.ts > cut
    bid_sz = snap.bid_sz.copy()
    bid_sz[later] = bid_sz[later] // 2 + 1
    other = replace(snap, bid_sz=bid_sz)
    params, settings = RouterParams(0.01, 0.01, 0.001), PlacementSettings(tau_s=5)
    a, _ = run_cont_kukanov(Timeline.of(snap, config.venues), 5000, params, settings)
    b, _ = run_cont_kukanov(Timeline.of(other, config.venues), 5000, params, settings)
    early_a, early_b = a.ts <= cut, b.ts <= cut
    assert early_a.any()
    for name in ("ts", "publisher_id", "shares", "price", "liquidity"):
        assert np.array_equal(getattr(a, name)[early_a], getattr(b, name)[early_b]), name


def test_never_more_than_the_order_and_a_shortfall_is_cleaned_up(tmp_path):
    events = [state(t, bid_size=100) for t in range(1, 30)]  # no trades: nothing passive fills
    path = write(tmp_path / "quiet.csv", [state(0, bid_size=100), *events])
    snap = load_mbp(path, "13:36:32", "13:37:01")
    fills, stats = run_cont_kukanov(
        Timeline.of(snap, FEES), 300, RouterParams(0.01, 0.001, 0.0), PlacementSettings(tau_s=5)
    )
    assert fills.shares.sum() == 300
    assert (fills.liquidity != PASSIVE).all() and stats.limit_filled == 0
    assert fills.shares[fills.liquidity == CLEANUP].sum() == 300 - stats.market_ordered


def test_a_horizon_shorter_than_a_millisecond_is_refused():
    """1e-10 s rounds to a 0 ns step: the decision clock would never move."""
    with pytest.raises(ValueError, match=r"tau_s must be at least 0.001 s, got 1e-10"):
        PlacementSettings(tau_s=1e-10)
    assert PlacementSettings(tau_s=0.001).tau_s == 0.001


def test_the_default_day_sweep_tells_grid_points_apart():
    config, snap = default_day()
    data = SweepData.build(snap, config.venues, 5000, 100, config.router.placement())
    # The penalties alone, at one horizon, must change decisions (not only tau_s).
    points = [p for p in config.grid.points() if p.tau_s == 10]
    assert len(points) == 27
    objectives = [run_backtest(p, data)["objective"] for p in points]
    assert len(set(objectives)) > 1
    again = [run_backtest(p, data)["objective"] for p in points[:3]]
    assert again == objectives[:3]  # deterministic for the seed


def test_a_grid_point_with_tau_s_replays_at_that_horizon():
    config, snap = default_day()
    data = SweepData.build(snap, config.venues, 5000, 100, config.router.placement())
    assert data.placement.tau_s == 10  # router.tau_s's default: the default config sweeps it
    params = RouterParams(0.01, 0.01, 0.001)
    timeline = data.timeline(snap)
    fills, stats = replay_router(GridPoint(params, 5.0), timeline, 5000, data)
    direct, direct_stats = run_cont_kukanov(
        Timeline.of(snap, config.venues), 5000, params, replace(data.placement, tau_s=5.0)
    )
    assert np.array_equal(fills.ts, direct.ts) and np.array_equal(fills.shares, direct.shares)
    assert stats == direct_stats
    # Without tau_s the point replays at router.tau_s; the first decision waits one horizon.
    default, _ = replay_router(GridPoint(params), timeline, 5000, data)
    assert not np.array_equal(fills.ts, default.ts)
    first_5, first_10 = ((f.ts.min() - snap.window.start_ns) / 1e9 for f in (fills, default))
    assert first_5 >= 5 and first_10 >= 10


def test_a_tau_s_point_on_static_data_is_an_error():
    config, snap = default_day()
    static = SweepData.build(snap, config.venues, 5000, 100)  # no placement: the static router
    with pytest.raises(ValueError, match="tau_s applies to the Cont & Kukanov router"):
        point = GridPoint(RouterParams(0.01, 0.01, 0.0), 5.0)
        replay_router(point, static.timeline(snap), 5000, static)


def test_the_readme_defines_exactly_the_decision_statistics():
    """README's list under "Decision statistics" has one item per key of router.decisions."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("Decision statistics in the report (`router.decisions`)", 1)[1]
    items = re.findall(r"^  - `(\w+)`", section.split("\n\n", 1)[0], flags=re.MULTILINE)
    assert items == list(DecisionStats().as_dict())
