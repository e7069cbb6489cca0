"""Shortfall parts and markouts on a hand-made book whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from router import Closing, Fills, load_mbp, summarize
from router.analysis.tca import PARTS, combined_shortfall, markouts, shortfall
from router.exchange.fills import HOW
from tests.mbp import at, row, write

S = 1_000_000_000


@pytest.fixture
def snap(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.02, 500, bid=10.00),  # mid 10.01 at the start
        row(t + 2 * S, 2, 10.01, 500, bid=10.00),  # mid 10.005
        row(t + 4 * S, 2, 10.03, 500, bid=10.01),  # mid 10.02
    ]
    return load_mbp(write(tmp_path / "d.csv", rows), "13:36:32", "13:37:00")


def test_the_parts_sum_to_the_shortfall_worked_out_by_hand(snap):
    """An order of 300 shares with m0 = 10.01: a take of 100 at 10.02 (fee 0.003) at 1 s (mid
    10.01); a resting bid filled 100 at 10.00 (rebate 0.002) at 3 s (mid 10.005); 100 missing,
    bought at the close at 10.033 (ask 10.03 plus fee). In dollars: spread 1.0 - 0.5, timing
    -0.5, fees 0.3, rebates -0.2, opportunity 100 x (10.033 - 10.01) = 2.3; the shortfall,
    3,005.4 - 300 x 10.01 = 2.4."""
    t = at("13:36:32")
    fills = Fills.of("router", 300, [
        (t + S, 2, 100, 10.02, 0.003, HOW["take"], 0, -1, 10.02),
        (t + 3 * S, 2, 100, 10.00, -0.002, HOW["queue"], 1, -1, float("nan")),
    ])  # fmt: skip
    result = summarize(fills, Closing(asks=((10.033, 500),)))
    assert result.order_cost == pytest.approx(3005.4)
    got = shortfall(fills, result, snap, 300)
    bps = 10_000 / (300 * 10.01)
    assert got["shortfall_bps"] == pytest.approx(2.4 * bps)
    expected = {"spread": 0.5, "timing": -0.5, "cleanup": 0.0, "fees": 0.3, "rebates": -0.2,
                "opportunity": 2.3}  # fmt: skip
    assert {k: got[k] for k in PARTS} == pytest.approx({k: v * bps for k, v in expected.items()})
    assert sum(got[k] for k in PARTS) == pytest.approx(got["shortfall_bps"])
    assert got["arrival_mid"] == pytest.approx(10.01)
    twice = combined_shortfall([got, got | {"shortfall_bps": None}])  # one order unpriced
    assert twice["orders"] == 1 and twice["spread"] == pytest.approx(got["spread"])


def test_markouts_of_passive_fills_per_venue(snap):
    """A bid filled at 10.00 at 1 s: 1 s later (2 s) the mid is 10.005, +5 bps; 10 s later is
    past the data's end (4 s), so left out and counted. Takes have no markout."""
    t = at("13:36:32")
    fills = Fills.of("router", 200, [
        (t + S, 2, 100, 10.00, -0.002, HOW["queue"], 0, -1, float("nan")),
        (t + S, 2, 100, 10.02, 0.003, HOW["take"], 0, -1, 10.02),
    ])  # fmt: skip
    got = markouts(fills, snap)
    assert got == {2: {"fills": 1, "shares": 100, "1s_bps": pytest.approx(5.0), "1s_shares": 100,
                       "10s_bps": None, "10s_shares": 0}}  # fmt: skip


def test_an_order_window_without_rows_has_no_shortfall(snap):
    """A quiet spell: the order's window holds no rows; the shortfall is unknown, not a crash."""
    from dataclasses import replace

    empty = snap.between(replace(snap.window, start_ns=snap.ts[-1] + S, end_ns=snap.ts[-1] + 2 * S))
    fills = Fills.of("router", 100, [])
    got = shortfall(fills, summarize(fills, Closing(asks=((10.03, 500),))), empty, 100)
    assert len(empty) == 0 and got["shortfall_bps"] is None


def test_markouts_combine_share_weighted_over_orders():
    """Venue 2: 100 shares at +5 bps and 300 at -1 bps one second on: (500 - 300) / 400 = +0.5;
    at 10 s only the second order's shares are known: -2."""
    from router.analysis.tca import combined_markouts

    first = {2: {"fills": 1, "shares": 100, "1s_bps": 5.0, "1s_shares": 100,
                 "10s_bps": None, "10s_shares": 0}}  # fmt: skip
    second = {2: {"fills": 2, "shares": 300, "1s_bps": -1.0, "1s_shares": 300,
                  "10s_bps": -2.0, "10s_shares": 300}}  # fmt: skip
    got = combined_markouts([first, second])[2]
    assert got == {"fills": 3, "shares": 400, "1s_shares": 400, "10s_shares": 300,
                   "1s_bps": pytest.approx(0.5), "10s_bps": pytest.approx(-2.0)}  # fmt: skip
