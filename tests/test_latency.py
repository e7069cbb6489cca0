"""Latency, worked out by hand: decisions on what has been received, orders acting on the book
at their arrival, cancels in flight that still fill, and the overfill they cause."""

from __future__ import annotations

import numpy as np
import pytest

from router import FeeRate, RouterParams, Timeline, VenueFees, load_mbp, summarize
from router.analysis.metrics import Closing
from router.exchange.fills import HOWS
from router.exchange.latency import VenueLatency
from router.exchange.market import Plan
from router.exchange.passive import FillRules, Resting
from router.exchange.queues import RiskAverseQueueModel
from router.exchange.simulator import Exchange
from router.strategies.baselines import run_baselines
from router.strategies.cont_kukanov import PlacementSettings, close, run_cont_kukanov
from tests.mbp import at, row, write

FEES = VenueFees(FeeRate(0.003, 0.002))
MS = 1_000_000


def best_ask_fills(tmp_path, rows, order, latency_ms=0.0):
    snap = load_mbp(write(tmp_path / "l.csv", rows), "13:36:32", "13:37:00")
    timeline = Timeline.of(snap, FEES, VenueLatency(latency_ms))
    fills = run_baselines(timeline, order)["best_ask"]
    return [
        (int(t), int(p), int(s), round(float(px), 2))
        for t, p, s, px in zip(fills.ts, fills.publisher_id, fills.shares, fills.price, strict=True)
    ]


def test_no_decision_reads_a_state_before_it_is_received(tmp_path):
    start = at("13:36:32")
    late = row(start + 1 * MS, 5, 10.01, 200) | {
        "ts_recv": row(start + 2000 * MS, 5, 0, 0)["ts_event"]
    }
    rows = [row(start, 2, 10.00, 100), late]
    # Venue 5's ask exists from 1 ms but reaches us 2 s in: only then can it be bought.
    assert best_ask_fills(tmp_path, rows, 300) == [
        (start, 2, 100, 10.00),
        (start + 2000 * MS, 5, 200, 10.01),
    ]


def test_an_order_acts_on_the_book_at_its_arrival(tmp_path):
    start = at("13:36:32")
    rows = [
        row(start, 2, 10.00, 100),
        row(start + 50 * MS, 2, 10.05, 100),  # the 10.00 ask is gone before our order lands
        row(start + 300 * MS, 2, 10.05, 100),
    ]
    # With 100 ms latency the order sent at 0 (up to 10.00) lands at 100 ms and finds 10.05:
    # nothing. Its answer comes at 200 ms; the next state seen, at 300 ms, is bought at 400 ms.
    assert best_ask_fills(tmp_path, rows, 100, latency_ms=100) == [
        (start + 400 * MS, 2, 100, 10.05)
    ]
    assert best_ask_fills(tmp_path, rows, 100) == [(start, 2, 100, 10.00)]  # no latency


def test_a_cancel_in_flight_still_fills_and_overfills(tmp_path):
    """An order of 100 done, a second order of 100 resting elsewhere: its cancel, sent when we
    learn the first filled, lands two latencies after that fill; a sell print in between fills
    it, 100 shares beyond the order."""
    start = at("13:36:32")
    sell = {"action": "T", "side": "A", "price": 10.00, "size": 100}
    rows = [
        row(start, 2, 10.01, 500, bid=10.00, bid_size=0),
        row(start, 5, 10.01, 500, bid=10.00, bid_size=0),
        row(start + 10 * MS, 2, 10.01, 500, bid=9.99) | sell,  # fills order A
        row(start + 15 * MS, 5, 10.01, 500, bid=9.99) | sell,  # A's answer not back: fills B
        row(start + 30 * MS, 5, 10.01, 500, bid=9.99) | sell,  # B's cancel landed at 20 ms
    ]
    snap = load_mbp(write(tmp_path / "c.csv", rows), "13:36:32", "13:37:00")
    timeline = Timeline.of(snap, FEES, VenueLatency(5.0))
    run = Exchange(timeline, 100, RiskAverseQueueModel(), FillRules())
    run.resting = {v: Resting(10.00, 100, 0.0, 0) for v in (0, 1)}
    run.run_until(np.full(2, start + 40 * MS))
    assert [(r[0], r[1], r[2]) for r in run.records] == [
        (start + 10 * MS, 2, 100),
        (start + 15 * MS, 5, 100),
    ]
    assert run.known(start + 14 * MS) == 0 and run.known(start + 15 * MS) == 100
    fills = run.records
    from router import Fills

    closing = Closing(((10.02, 1000),), ((9.98, 0.003, 1000),))
    result = summarize(Fills.of("router", 100, fills), closing)
    assert result.overfilled_shares == 100
    # the surplus (cost 10.00 - 0.002 rebate) sold back at the lower bid, less the fee
    assert result.order_cost == pytest.approx(result.total_cash - 100 * (9.98 - 0.003))


def test_an_order_posted_as_the_order_completes_is_cancelled_once_we_learn_it(tmp_path):
    """One decision takes 100 (the whole order) on venue 2 and posts 300 on venue 5, both sent
    at 0 with 1 ms latency. The take fills at 1 ms; we learn it at 2 ms and cancel the post,
    which lands at 3 ms: the sell print at 2 ms still fills it (overfill), later ones do not."""
    start = at("13:36:32")
    sell = {"action": "T", "side": "A", "price": 9.99, "size": 100}
    rows = [
        row(start, 2, 10.00, 100, bid=9.99, bid_size=0),
        row(start, 5, 10.01, 500, bid=9.99, bid_size=0),
        *(row(start + t * MS, 5, 10.01, 500, bid=9.98) | sell for t in (2, 3, 100)),
    ]
    snap = load_mbp(write(tmp_path / "p.csv", rows), "13:36:32", "13:37:00")
    run = Exchange(Timeline.of(snap, FEES, VenueLatency(1.0)), 100, RiskAverseQueueModel(),
               FillRules())  # fmt: skip
    run.run_until(np.full(2, start + MS))
    plan = Plan(run.market, run.market.seen_rows(start))
    plan.buy(0, 100)
    assert run.take(plan, start, "take") == 100
    run.post(1, 9.99, 300, start, 0)
    run.run_until(np.full(2, start + 200 * MS))
    assert [(r[0] - start, r[1], r[2]) for r in run.records] == [(MS, 2, 100), (2 * MS, 5, 100)]


def test_a_resting_order_is_not_filled_by_prints_before_it_arrives(tmp_path):
    start = at("13:36:32")
    sell = {"action": "T", "side": "A", "price": 10.00, "size": 100}
    rows = [
        row(start, 2, 10.01, 500, bid=10.00, bid_size=0),
        row(start + 3 * MS, 2, 10.01, 500, bid=10.00, bid_size=0) | sell,  # before we land
        row(start + 8 * MS, 2, 10.01, 500, bid=10.00) | sell,
    ]
    snap = load_mbp(write(tmp_path / "a.csv", rows), "13:36:32", "13:37:00")
    run = Exchange(
        Timeline.of(snap, FEES, VenueLatency(5.0)), 1000, RiskAverseQueueModel(), FillRules()
    )
    run.run_until(np.array([start]))
    run.post(0, 10.00, 100, start, 0)  # sent at 0, lands at 5 ms: nobody ahead by then
    run.run_until(np.array([start + 20 * MS]))
    assert [(r[0], r[2]) for r in run.records] == [(start + 8 * MS, 100)]


def test_a_limit_order_arriving_at_or_above_the_ask_takes_it_and_rests_the_rest(tmp_path):
    """A bid of 100 at 9.99 sent at 0 lands at 1 ms, where the ask has fallen to 9.99 (40
    shown): it takes those 40 at 9.99 plus the taker fee, and 60 rest. With quote crossing on,
    the same 40 shown again fill nothing; 30 more shown later fill the resting bid."""
    start = at("13:36:32")
    rows = [
        row(start, 2, 10.01, 500, bid=9.99),
        row(start + MS // 2, 2, 9.99, 40, bid=9.98),
        row(start + 2 * MS, 2, 9.99, 40, bid=9.98),
        row(start + 3 * MS, 2, 9.99, 70, bid=9.98),
    ]
    snap = load_mbp(write(tmp_path / "x.csv", rows), "13:36:32", "13:37:00")
    run = Exchange(Timeline.of(snap, FEES, VenueLatency(1.0)), 1000, RiskAverseQueueModel(),
               FillRules(quote_cross=True))  # fmt: skip
    run.run_until(np.array([start + MS]))
    run.post(0, 9.99, 100, start, 100)
    run.run_until(np.array([start + 10 * MS]))
    assert [(r[0] - start, r[2], r[3], r[4], HOWS[r[5]]) for r in run.records] == [
        (MS, 40, 9.99, 0.003, "take"),
        (3 * MS, 30, 9.99, -0.002, "quote_cross"),
    ]
    assert run.resting[0].left == 30 and run.limit_taken == 40


def plannable_after_an_unseen_rebuild(tmp_path) -> tuple[list[int], list[int]]:
    """We take the 100 shown at 10.00 at 1 ms. The level goes (2 ms) and 100 new shares show
    at 10.00 (3 ms), both received at 50 ms. What a decision may plan at 10.00 at 4 ms (having
    applied the venue's states up to 5 ms, its orders' arrival) and at 50 ms."""
    start = at("13:36:32")
    late = {"ts_recv": row(start + 50 * MS, 2, 0, 0)["ts_event"]}
    rows = [
        row(start, 2, 10.00, 100),
        row(start + 2 * MS, 2, 10.01, 100) | late,
        row(start + 3 * MS, 2, 10.00, 100) | late,
    ]
    snap = load_mbp(write(tmp_path / "s.csv", rows), "13:36:32", "13:37:00")
    run = Exchange(Timeline.of(snap, FEES, VenueLatency(1.0)), 1000, RiskAverseQueueModel(),
               FillRules())  # fmt: skip
    run.run_until(np.array([start + MS]))
    plan = Plan(run.market, run.market.seen_rows(start))
    plan.buy(0, 100)
    assert run.take(plan, start, "take") == 100
    run.run_until(np.array([start + 5 * MS]))  # a decision at 4 ms applies states to 5 ms
    seen = run.market.seen_rows(start + 4 * MS)
    assert seen.tolist() == [0]
    early = run.market.quotes(seen)[1].tolist()  # what a decision sizes its market order on
    assert Plan(run.market, seen).quotes()[1].tolist() == early  # and what its plan walks
    return early, Plan(run.market, run.market.seen_rows(start + 50 * MS)).quotes()[1].tolist()


def test_what_a_decision_may_take_is_known_only_from_the_states_received(tmp_path):
    """At 4 ms the decision has seen only the first state, where it took everything: nothing to
    plan there. At 50 ms it has seen the level go and the new shares."""
    assert plannable_after_an_unseen_rebuild(tmp_path) == ([0], [100])


def test_the_clean_up_buys_at_the_asks_received_and_acts_one_latency_after_the_close(tmp_path):
    """No decision (too few outflow windows): the whole order of 200 is bought at the close.
    Received by then: 100 at 10.00 on venue 2, 100 at 10.01 on venue 5. Venue 2's ask moved to
    10.02 just before the close, received after it. The clean-up, sent at the close, plans 100
    at 10.00 and 100 at 10.01; arriving 1 ms later it finds venue 2 at 10.02 (above its limit:
    nothing) and buys venue 5's 100 at 10.01. 100 stay unfilled."""
    start = at("13:36:32")
    end = at("13:36:33")  # the window covers the second 13:36:32
    moved = row(end - MS // 2, 2, 10.02, 100) | {"ts_recv": row(end + 10 * MS, 2, 0, 0)["ts_event"]}
    rows = [row(start, 2, 10.00, 100), row(start, 5, 10.01, 100), moved]
    snap = load_mbp(write(tmp_path / "e.csv", rows), "13:36:32", "13:36:32")
    assert snap.window.end_ns == end
    fills, stats = run_cont_kukanov(
        Timeline.of(snap, FEES, VenueLatency(1.0)), 200, RouterParams(0.01, 0.01, 0.0),
        PlacementSettings(tau_s=0.1, min_samples=10**6),
    )  # fmt: skip
    assert stats.decisions == 0
    assert [(int(t), int(p), int(q), float(px)) for t, p, q, px in zip(
        fills.ts, fills.publisher_id, fills.shares, fills.price, strict=True)
    ] == [(end + MS, 5, 100, 10.01)]  # fmt: skip
    assert HOWS[fills.how[0]] == "cleanup"


def close_after_a_fill_not_yet_known(tmp_path) -> list[tuple]:
    """Our bid for the whole order of 100 fills 0.5 ms before the close; with 1 ms latency we
    learn it 0.5 ms after. The fills, (ts - close, shares, price, how), once the run closes."""
    start = at("13:36:32")
    end = at("13:36:33")
    sell = {"action": "T", "side": "A", "price": 10.00, "size": 100}
    rows = [
        row(start, 2, 10.01, 500, bid=10.00, bid_size=0),
        row(end - MS // 2, 2, 10.01, 500, bid=9.99) | sell,
    ]
    snap = load_mbp(write(tmp_path / "k.csv", rows), "13:36:32", "13:36:32")
    run = Exchange(Timeline.of(snap, FEES, VenueLatency(1.0)), 100, RiskAverseQueueModel(),
               FillRules())  # fmt: skip
    run.run_until(np.array([start]))
    run.resting[0] = Resting(10.00, 100, 0.0, 0)
    close(run, end)
    return [(r[0] - end, r[2], r[3], HOWS[r[5]]) for r in run.records]


def test_the_clean_up_buys_what_we_do_not_know_filled_at_the_close(tmp_path):
    """At the close we know of no fill: the clean-up buys 100 at the 10.01 ask, and the order
    ends 100 shares overfilled."""
    assert close_after_a_fill_not_yet_known(tmp_path) == [
        (-MS // 2, 100, 10.00, "queue"),
        (MS, 100, 10.01, "cleanup"),
    ]


def test_decisions_wait_for_what_they_can_see():
    """The default day with a second of feed delay added: what the Cont & Kukanov router does
    in its first minute must equal what it does on the original data shifted by that second."""
    from dataclasses import replace

    from bench.common import default_day
    from router.strategies.cont_kukanov import PlacementSettings, run_cont_kukanov

    config, snap = default_day()
    later = replace(snap, ts_recv=snap.ts_recv + 1000 * MS)
    params, settings = RouterParams(0.01, 0.01, 0.0), PlacementSettings(tau_s=5)
    a, _ = run_cont_kukanov(Timeline.of(snap, config.venues), 5000, params, settings)
    b, _ = run_cont_kukanov(Timeline.of(later, config.venues), 5000, params, settings)
    assert not np.array_equal(a.ts, b.ts)  # a second late, the decisions see other states


def decide_while_an_order_travels(tmp_path) -> tuple[int, list[tuple]]:
    """Latency 5 ms, a decision every 5 ms, below twice the latency; an order of 300. The
    decisions' count and the fills, (ts - start, shares, how)."""
    start = at("13:36:32")
    rows = [row(start - 1_000 * MS, 2, 10.01, 5000, bid=10.00, bid_size=100)]
    rows += [row(start + t * MS, 2, 10.01, 5000, bid=10.00, bid_size=100) for t in range(1, 30)]
    snap = load_mbp(write(tmp_path / "f.csv", rows), "13:36:32", "13:36:32", warmup_s=1.0)
    fills, stats = run_cont_kukanov(
        Timeline.of(snap, FEES, VenueLatency(5.0)), 300, RouterParams(0.05, 1.0, 0.0),
        PlacementSettings(tau_s=0.005),
    )  # fmt: skip
    return stats.decisions, [(int(t - start), int(q), HOWS[h]) for t, q, h in zip(
        fills.ts, fills.shares, fills.how, strict=True)]  # fmt: skip


def test_a_decision_never_sends_again_what_is_still_travelling(tmp_path):
    """The first decision (at the window's start) buys the whole order of 300 at market (no
    seller ever prints, so a resting bid could not fill: λ_u of $1 a share makes market the
    cheaper way); its order lands at 5 ms and its answer is back at 10 ms. The decision at 5 ms
    knows of no fill yet, but the 300 are travelling: it sends nothing. At 10 ms the fills are
    known: done, 300 bought once (counting only known fills, it used to buy 300 more at 5 ms)."""
    assert decide_while_an_order_travels(tmp_path) == (1, [(5 * MS, 300, "take")])
