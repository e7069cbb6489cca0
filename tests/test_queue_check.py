"""Queue-model accuracy against FIFO truth: a hand-made LOBSTER day whose answers are worked out
by hand, and the real day's table where the file is present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from router.analysis import queue_check
from router.exchange.passive import FillRules
from router.exchange.queues import RiskAverseQueueModel
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
    snap = queue_check.load_mbp(path, "13:30:01", "13:30:20", 10, date="2012-06-21", warmup_s=60)
    probes = queue_check.probes(snap, 30.0, 8.0)
    assert probes.buy.tolist() == [True, False] and probes.ahead.tolist() == [100, 100]
    events, reference = queue_check.read_order_messages(path, "2012-06-21")
    filled, ahead = queue_check.fifo_truth(events, reference, probes, snap.venues, 8.0)
    assert filled[0] - probes.ts[0] == 3 * 10**9 and filled[1] == -1
    assert np.isnan(ahead[0]) and ahead[1] == 100


def test_the_risk_averse_model_counts_the_hidden_print_and_misses_the_jump(tmp_path):
    """Risk-averse on the same day: the hidden print of 30 at 100.00 takes 30 off the 100 ahead
    (70 left); the cancel of 60 shows as 150 -> 90: nothing ahead moves (risk-averse), so
    min(70, 90) = 70 stay; order 3's 10 traded leave 60. It never fills: a missed fill."""
    path = write_day(tmp_path, MESSAGES, BOOK)
    snap = queue_check.load_mbp(path, "13:30:01", "13:30:20", 10, date="2012-06-21", warmup_s=60)
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
