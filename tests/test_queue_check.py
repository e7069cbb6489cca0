"""Queue-model accuracy against FIFO truth: a hand-made LOBSTER day whose answers are worked out
by hand, and the real day's table where the file is present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from router.analysis import queue_check
from router.data.loader import load_mbp, read_order_messages
from router.exchange.passive import FillRules
from router.exchange.queues import RiskAverseQueueModel
from tests.mbp import at
from tests.test_lobster import REAL_DAY, write_day

E = 9_999_999_999
#: 09:30:00 New York = 13:30:00 UTC. A bid of 100 (order 1) rests at 100.00 and an ask of 100
#: at 100.10. The probe buys one share at 100.00 at 13:30:01, behind order 1's 100.
MESSAGES = [
    "34200,1,1,100,1000000,1",
    "34200,1,2,100,1001000,-1",
    "34201.5,1,3,50,1000000,1",  # order 3 joins behind the probe
    "34202,5,0,30,1000000,1",  # a hidden bid at 100.00 executed: nothing for FIFO
    "34203,2,1,60,1000000,1",  # 60 of order 1, ahead of the probe, cancelled: 40 ahead
    "34204,4,3,10,1000000,1",  # order 3, behind the probe, executed: the probe first
]
BOOK = [
    [E, 0, 1000000, 100, E, 0, -E, 0],
    [1001000, 100, 1000000, 100, E, 0, -E, 0],
    [1001000, 100, 1000000, 150, E, 0, -E, 0],
    [1001000, 100, 1000000, 150, E, 0, -E, 0],
    [1001000, 100, 1000000, 90, E, 0, -E, 0],
    [1001000, 100, 1000000, 80, E, 0, -E, 0],
]


def test_fifo_truth_by_hand(tmp_path):
    """One probe pair at 13:30:01. The buy: the hidden execution (13:30:02) moves nothing; the
    cancel (13:30:03) leaves 40 ahead; order 3's execution (13:30:04) fills it, 3 s after it
    joined; at 5 s it had filled already. The sell at 100.10: nothing reaches it."""
    path = write_day(tmp_path, MESSAGES, BOOK)
    snap = load_mbp(path, "13:30:01", "13:30:20", 10, date="2012-06-21", warmup_s=60)
    probes = queue_check.probes(snap, 30.0, 8.0)
    assert probes.buy.tolist() == [True, False] and probes.ahead.tolist() == [100, 100]
    events, reference = read_order_messages(path, "2012-06-21")
    filled, ahead = queue_check.fifo_truth(events, reference, probes, snap.venues, 8.0)
    assert filled[0] - probes.ts[0] == 3 * 10**9 and filled[1] == -1
    assert np.isnan(ahead[0]) and ahead[1] == 100


def test_the_risk_averse_model_counts_the_hidden_print_and_misses_the_jump(tmp_path):
    """Risk-averse on the same day: the hidden print of 30 at 100.00 takes 30 off the 100 ahead
    (70 left); the cancel of 60 shows as 150 -> 90: nothing ahead moves (risk-averse), so
    min(70, 90) = 70 stay; order 3's 10 traded leave 60. It never fills: a missed fill."""
    path = write_day(tmp_path, MESSAGES, BOOK)
    snap = load_mbp(path, "13:30:01", "13:30:20", 10, date="2012-06-21", warmup_s=60)
    probes = queue_check.probes(snap, 30.0, 8.0)
    filled, ahead = queue_check.model_fills(snap, probes, RiskAverseQueueModel(), FillRules(),
                                            8.0)  # fmt: skip
    assert filled.tolist() == [-1, -1] and ahead.tolist() == [60.0, 100.0]
    found = queue_check.figures(filled, ahead, probes, 8.0, (np.array([probes.ts[0] + 3 * 10**9,
                                                                       -1]), ahead))  # fmt: skip
    assert found["missed_fills"] == 0.5 and found["false_fills"] == 0.0


def test_the_cli_writes_the_table(tmp_path, capsys):
    path = write_day(tmp_path, MESSAGES, BOOK)
    out = tmp_path / "q.json"
    window = ["--start", "13:30:01", "--end", "13:30:20", "--every", "30", "--horizon", "8"]
    plots = tmp_path / "plots"
    queue_check.main([str(path), "--date", "2012-06-21", *window, "--json", str(out), "--plot",
                      str(plots)])  # fmt: skip
    assert (plots / f"queues-{path.stem}.png").stat().st_size > 10_000
    written = json.loads(out.read_text())[0]
    assert written["orders"] == 2 and "risk_averse + quote_cross" in written["models"]
    assert written["models"]["fifo_truth"]["filled_within_10s"] == 0.5
    assert json.loads(capsys.readouterr().out) == [written]
    assert written["models"]["fifo"]["false_fills"] == 0.0  # the exchange's FIFO is the truth


def test_the_cli_runs_the_models_asked_for_and_refuses_unknown_ones(tmp_path, capsys):
    path = write_day(tmp_path, MESSAGES, BOOK)
    window = ["--start", "13:30:01", "--end", "13:30:20", "--every", "30", "--horizon", "8"]
    queue_check.main([str(path), "--date", "2012-06-21", *window, "--models", "fifo"])
    assert set(json.loads(capsys.readouterr().out)[0]["models"]) == {
        "fifo_truth", "fifo", "fifo + quote_cross",
    }  # fmt: skip
    with pytest.raises(SystemExit):
        queue_check.main([str(path), "--date", "2012-06-21", "--models", "fifo,lifo"])
    assert "--models: lifo; expected some of fifo, risk_averse" in capsys.readouterr().err


@pytest.mark.skipif(not REAL_DAY.is_file(), reason="the real LOBSTER day is absent")
def test_the_real_day_table_runs(tmp_path):
    """Seven minutes of the real day (the end covers its minute), a probe pair a minute: every
    model has its row."""
    found = queue_check.check(REAL_DAY, "2012-06-21", "14:00", "14:06", 60.0, 60.0,
                              models={"risk_averse": RiskAverseQueueModel()})  # fmt: skip
    assert found["orders"] == 12 and set(found["models"]) == {
        "fifo_truth",
        "risk_averse",
        "risk_averse + quote_cross",
    }


def fifo_market(seed: int, messages: int = 6_000):
    """A random order-level day on one venue that keeps price-time priority: limit orders join
    the back of their level, cancels take any live order, and market orders execute against the
    best level's oldest order first (a trade, the fill and the cancel per order they meet, one
    event). No hidden orders. Returns its order messages and Snapshots."""
    from router.data.loader import Where, Window, order_snapshots
    from router.data.order_level import OrderMessages

    rng = np.random.default_rng(seed)
    book = {ord("B"): {}, ord("A"): {}}  # side -> price (cents) -> [[order id, shares], ...]
    rows, t, next_id = [], at("13:30:00"), 1

    def emit(action, side, price, size, order, last=True):
        rows.append((t, action, side, price / 100, size, order, last))

    while len(rows) < messages:
        t += int(rng.exponential(0.05) * 1e9) + 1
        bids, asks = book[ord("B")], book[ord("A")]
        best_bid, best_ask = max(bids, default=22_299), min(asks, default=22_301)
        r = rng.random()
        if r < 0.5 or not (bids and asks):
            side = ord("B") if rng.random() < 0.5 else ord("A")
            away = int(rng.integers(0, 4))
            price = best_bid - away if side == ord("B") else best_ask + away
            if (side == ord("B") and price >= best_ask) or (side == ord("A") and price <= best_bid):
                price = best_bid if side == ord("B") else best_ask
            size = int(rng.integers(1, 6)) * 100
            book[side].setdefault(price, []).append([next_id, size])
            emit(ord("A"), side, price, size, next_id)
            next_id += 1
        elif r < 0.88:
            side = ord("B") if rng.random() < 0.5 else ord("A")
            levels = book[side]
            if not levels:
                continue
            price = list(levels)[int(rng.integers(0, len(levels)))]
            queue = levels[price]
            k = int(rng.integers(0, len(queue)))
            order, size = queue.pop(k)
            if not queue:
                del levels[price]
            emit(ord("C"), side, price, size, order)
        else:  # a market order against the other side's best levels, oldest first
            resting = ord("B") if rng.random() < 0.5 else ord("A")
            aggressor = ord("A") if resting == ord("B") else ord("B")
            wanted = int(rng.integers(1, 8)) * 100
            levels, records = book[resting], []
            while wanted > 0 and levels:
                price = max(levels) if resting == ord("B") else min(levels)
                order, size = levels[price][0]
                q = min(wanted, size)
                records += [
                    (ord("T"), aggressor, price, q, 0),
                    (ord("F"), resting, price, q, order),
                    (ord("C"), resting, price, q, order),
                ]
                wanted -= q
                if q == size:
                    levels[price].pop(0)
                    if not levels[price]:
                        del levels[price]
                else:
                    levels[price][0][1] -= q
            for j, record in enumerate(records):
                emit(*record, last=j == len(records) - 1)
    ts, action, side, price, size, order, last = (np.array(c) for c in zip(*rows, strict=True))
    events = OrderMessages(
        ts_event=ts, ts_recv=ts, publisher_id=np.full(len(ts), 2, dtype=np.uint16),
        order_id=order.astype(np.uint64), action=action.astype(np.uint8),
        side=side.astype(np.uint8), price=price, size=size, last=last.astype(bool),
        number=np.arange(1, len(ts) + 1),
    )  # fmt: skip
    end = int((ts[-1] - at("13:30:00")) // 10**9)
    window = Window.on("2024-08-01", "13:30:00", f"13:{30 + end // 60:02d}:{end % 60:02d}", 0.0)
    snap = order_snapshots(Where("generated", "message"), events, window, "2024-08-01", 10, None)
    return events, snap


@pytest.mark.parametrize("seed", range(4))
def test_fifo_never_fills_later_than_risk_averse_without_hidden_orders(seed):
    """On a market that keeps price-time priority and has no hidden orders, the risk-averse
    model (only prints move the queue; quote crossing off) never fills a probe before FIFO
    does: the prints at our price take the orders ahead of us first, so they move the truth at
    least as far, and the truth also counts cancellations ahead."""
    events, snap = fifo_market(seed)
    chosen = queue_check.probes(snap, 5.0, 30.0)
    assert len(chosen) > 50
    table, fills = queue_check.score(snap, events, None, chosen, 30.0,
                                     {"risk_averse": RiskAverseQueueModel()})  # fmt: skip
    truth, model = fills["fifo_truth"], fills["risk_averse"]
    assert ((truth >= 0) | (model < 0)).all()  # the model never fills what the truth does not
    both = (truth >= 0) & (model >= 0)
    assert (model[both] >= truth[both]).all()
    assert table["risk_averse"]["later_than_truth"] > 0  # cancellations ahead: the truth sooner


def test_the_true_queue_ahead_counts_cancellations_not_hidden_prints(tmp_path):
    """Without order 3's execution the buy rests past 5 s: ahead of it, the 100 it joined
    behind less the 60 cancelled (the hidden execution of 30 took none of them): 40."""
    path = write_day(tmp_path, MESSAGES[:-1], BOOK[:-1])
    snap = load_mbp(path, "13:30:01", "13:30:20", 10, date="2012-06-21",
                                warmup_s=60)  # fmt: skip
    probes = queue_check.probes(snap, 30.0, 8.0)
    events, reference = read_order_messages(path, "2012-06-21")
    filled, ahead = queue_check.fifo_truth(events, reference, probes, snap.venues, 8.0)
    assert filled.tolist() == [-1, -1] and ahead.tolist() == [40.0, 100.0]
