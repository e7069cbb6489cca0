"""The report's warnings, on report parts made by hand: each fires above its threshold and not
at it."""

from __future__ import annotations

import pytest

from sweep.report import BASELINES, VWAP_NOTE
from sweep.report_warnings import (
    MIN_INTERVAL_DAYS,
    SURPLUS_SHARE,
    UNKNOWN_SIDE_SHARE,
    few_days,
    report_warnings,
    short_windows,
    strategy_warnings,
    unknown_sides,
)

CONT_KUKANOV = {"model": "cont_kukanov", "fills": {"unsigned_trades": "ignore"}}


def prints(unknown: int, sell: int, buy: int) -> dict:
    return {"prints_unknown_side": unknown, "prints_sell_aggressor": sell,
            "prints_buy_aggressor": buy}  # fmt: skip


def order(size: int = 1000, **strategies: dict) -> dict:
    """One entry of the report's ``orders``: every strategy filled exactly, unless
    ``strategies`` (router, best_ask, ...) says otherwise."""
    zero = {"closing_shares_beyond_depth": 0, "unfilled_shares": 0, "overfilled_shares": 0}
    figures = {name: zero | strategies.get(name, {}) for name in ("router", *BASELINES)}
    baselines = {name: figures[name] for name in BASELINES}
    return {"size": size, "optimized": figures["router"],
            "baselines": baselines | {"vwap_note": VWAP_NOTE}}  # fmt: skip


def test_unknown_sides_warn_above_five_percent_of_prints_when_they_fill_nothing():
    (warning,) = unknown_sides(prints(6, 47, 47), CONT_KUKANOV)
    assert warning["kind"] == "unknown_side"
    assert (warning["value"], warning["threshold"]) == (0.06, UNKNOWN_SIDE_SHARE)
    assert warning["message"].startswith("6.0% of prints (6 of 100) have no aggressor side")
    assert "fills.unsigned_trades" in warning["message"]
    assert unknown_sides(prints(5, 48, 47), CONT_KUKANOV) == []  # at the threshold
    both = {"model": "cont_kukanov", "fills": {"unsigned_trades": "both"}}
    assert unknown_sides(prints(6, 47, 47), both) == []  # N prints fill as seller-initiated
    assert unknown_sides(prints(6, 47, 47), {"model": "static"}) == []  # nothing rests
    assert unknown_sides(prints(0, 0, 0), CONT_KUKANOV) == []


def test_one_day_without_sides_in_a_month_warns_though_the_total_does_not():
    """19 days of 1,000 signed prints and one of 500 unsigned: 2.6 % over all, 100 % that day."""
    days = [{"date": f"2024-08-{d:02d}", "quality": prints(0, 500, 500)} for d in range(1, 20)]
    days.append({"date": "2024-08-20", "quality": prints(500, 0, 0)})
    total = prints(500, 9500, 9500)
    (warning,) = unknown_sides(total, CONT_KUKANOV, days)
    assert warning["value"] == 1.0
    assert warning["message"].startswith("100.0% of prints on 2024-08-20 (the most on 2024-08-20)")
    assert unknown_sides(total, CONT_KUKANOV, days[:-1]) == []


FULL = {
    "first_event": "2024-08-01T13:36:32+00:00",
    "last_event": "2024-08-01T13:45:14+00:00",
    "starts_late_s": 0.0,
    "ends_early_s": 0.0,
    "longest_gap_s": 3.0,
}


def test_a_day_whose_data_end_early_warns_with_its_figures():
    """A day ending 208 s before its window's end (a .zst missing its last frame reads so),
    another 30 s late: one warning, the first day's, at data.max_gap_s 60."""
    short = FULL | {"last_event": "2024-08-01T13:41:46+00:00", "ends_early_s": 208.0}
    late = FULL | {"starts_late_s": 30.0}
    days = [{"date": "2024-08-01", "coverage": short}, {"date": "2024-08-02", "coverage": late}]
    (warning,) = short_windows(days, 60.0)
    assert (warning["kind"], warning["value"], warning["threshold"]) == ("short_window", 208, 60)
    assert warning["message"].startswith(
        "2024-08-01: the data start 0 s after the window's start and end 208 s before its end "
        "(first event 2024-08-01T13:36:32+00:00, last 2024-08-01T13:41:46+00:00), more than "
        "data.max_gap_s (60 s)"
    )
    assert short_windows(days, 208.0) == []


def test_an_audited_day_whose_prints_all_lack_a_side_warns():
    """Every print of side N: the router got no passive fills, and the report must say why."""
    report = {
        "data": {"quality": prints(812, 0, 0), "max_gap_s": 60.0},
        "days": [{"date": "2024-08-01", "quality": prints(812, 0, 0), "coverage": FULL}],
        "router": CONT_KUKANOV,
        "orders": [order(5000, router={"unfilled_shares": 3707})],
        "evaluation": {"mode": "in_sample", "in_sample": {"twap": {"days": 10}}},
    }
    warnings = report_warnings(report)
    assert [(w["kind"], w["value"]) for w in warnings] == [("unknown_side", 1.0),
                                                           ("unfilled", 3707)]  # fmt: skip
    assert warnings[1]["message"].startswith("router: 3,707 shares in 1 of 1 orders left unfilled")


@pytest.mark.parametrize(
    ("kind", "field"),
    [("beyond_depth", "closing_shares_beyond_depth"), ("unfilled", "unfilled_shares")],
)
def test_any_share_beyond_the_depth_or_unfilled_warns_per_strategy(kind, field):
    orders = [order(twap={field: 30}), order(), order(twap={field: 70}, router={field: 1})]
    warnings = strategy_warnings(orders)
    assert [(w["kind"], w["strategy"], w["value"], w["orders"]) for w in warnings] == [
        (kind, "router", 1, 1),
        (kind, "twap", 100, 2),
    ]
    assert warnings[1]["threshold"] == 0
    assert warnings[1]["message"].startswith("twap: 100 shares in 2 of 3 orders")
    assert strategy_warnings([order(), order()]) == []


def test_a_surplus_above_two_percent_of_an_order_warns_per_strategy():
    at_threshold = order(1000, router={"overfilled_shares": 20})
    assert SURPLUS_SHARE == 0.02 and strategy_warnings([at_threshold]) == []
    above = order(1000, router={"overfilled_shares": 21}, vwap={"overfilled_shares": 100})
    warnings = strategy_warnings([at_threshold, above, order(500, vwap={"overfilled_shares": 5})])
    assert [(w["strategy"], w["value"], w["orders"]) for w in warnings] == [
        ("router", 0.021, 1),
        ("vwap", 0.1, 1),  # its other order's surplus is 1 %
    ]
    assert {w["kind"] for w in warnings} == {"surplus"}
    assert (
        "1 of 3 orders filled beyond their size by more than 2% of it (up to 2.1%)"
        in (warnings[0]["message"])
    )


def test_savings_resting_on_fewer_than_ten_days_warn_once_per_day_count():
    evaluation = {
        "mode": "walk_forward",
        "folds": [{"out_of_sample_bps": {"twap": 1.0}}],
        "out_of_sample": {
            "twap": {"orders": 40, "days": MIN_INTERVAL_DAYS - 1, "weighted_bps": 1.0},
            "vwap": {"orders": 40, "days": MIN_INTERVAL_DAYS - 1, "weighted_bps": 1.0},
            "best_ask": {"orders": 1, "days": 1, "note": "one day: no interval"},
        },
        "plateau": {"points_indistinguishable": 3, "of": 9},
    }
    warnings = few_days(evaluation)
    assert [(w["value"], w["intervals"]) for w in warnings] == [
        (1, ["evaluation.out_of_sample.best_ask"]),
        (9, ["evaluation.out_of_sample.twap", "evaluation.out_of_sample.vwap"]),
    ]
    assert {w["threshold"] for w in warnings} == {MIN_INTERVAL_DAYS}
    assert ": resting on 1 day, fewer than 10" in warnings[0]["message"]
    enough = {"in_sample": {"twap": {"orders": 100, "days": MIN_INTERVAL_DAYS}}}
    assert few_days(enough) == []
