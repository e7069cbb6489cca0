"""The Databento MBP loader: window, ordering, folding, both timestamp styles, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from router import DataError, Snapshots, load_mbp
from tests.mbp import at, row, write


def edge_rows(**style) -> list[dict]:
    return [
        row(at("13:36:31.999999999"), 1, 10.00, 100, **style),  # before the window
        row(at("13:36:32"), 2, 10.01, 200, **style),  # first instant inside
        row(at("13:45:14.999999999"), 1, 10.02, 300, **style),  # end covers the whole second
        row(at("13:45:15"), 1, 10.03, 400, **style),  # after the window
    ]


def test_window_is_inclusive_at_the_resolution_written(tmp_path):
    snap = load_mbp(write(tmp_path / "edges.csv", edge_rows()))
    assert list(snap.ts) == [at("13:36:32"), at("13:45:14.999999999")]
    assert snap.quality.rows_before_window == 1 and snap.quality.rows_after_window == 1
    finer = load_mbp(write(tmp_path / "edges.csv", edge_rows()), "13:36:32", "13:45:14.5")
    assert list(finer.ts) == [at("13:36:32")]


def test_integer_nanosecond_timestamps_load_the_same(tmp_path):
    iso = load_mbp(write(tmp_path / "iso.csv", edge_rows()))
    ns = load_mbp(write(tmp_path / "ns.csv", edge_rows(iso_ts=False)))
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(iso, name), getattr(ns, name))


def test_instant_keeps_each_venues_last_message_and_sums_its_trades(tmp_path):
    t = at("13:40:00")
    rows = [
        row(t, 5, 10.05, 100, action="T", size=30),
        row(t, 3, 10.03, 100),
        row(t, 5, 10.06, 70, action="T", size=20),  # same venue, same instant: supersedes
        row(t - 1, 5, 10.00, 999),  # earlier ts_event later in the file: sorted first
        row(t, 3, 10.04, 900),
    ]
    snap = load_mbp(write(tmp_path / "fold.csv", rows))
    assert list(snap.ts) == [t - 1, t, t]
    assert list(snap.publisher_id) == [5, 3, 5]
    assert list(snap.ask_px[:, 0]) == [10.00, 10.04, 10.06]
    assert list(snap.ask_sz[:, 0]) == [999, 900, 70]
    assert list(snap.volume) == [0, 0, 50]
    assert snap.quality.messages_folded == 2 and snap.quality.trade_rows == 2


def test_each_instant_keeps_its_lowest_trade_price_and_the_shares_traded_there(tmp_path):
    t = at("13:40:00")
    trades = [(10.02, 30), (10.01, 20), (10.03, 7), (10.01, 5)]  # a sweep down the bids
    rows = [row(t, 5, 10.04, 100, action="T", size=size) | {"price": px} for px, size in trades]
    rows += [row(t, 3, 10.03, 100), row(t + 1, 5, 10.04, 100, action="T", size=9)]
    snap = load_mbp(write(tmp_path / "trades.csv", rows))
    assert list(snap.publisher_id) == [3, 5, 5]
    np.testing.assert_array_equal(snap.low_trade_px, [np.nan, 10.01, 10.04])
    assert list(snap.low_trade_sz) == [0, 25, 9] and list(snap.volume) == [0, 62, 9]


def test_mbp10_loads_requested_depth_and_mbp1_refuses_deeper(tmp_path):
    deep = write(tmp_path / "mbp10.csv", [row(at("13:40:00"), 1, 10.00, 100, levels=10)], levels=10)
    snap = load_mbp(deep, depth=10)
    assert snap.ask_px.shape == (1, 10) and snap.depth == 10
    np.testing.assert_allclose(snap.ask_px[0], [10.00 + 0.01 * n for n in range(10)])
    assert pd.read_csv(deep, nrows=0).shape[1] == 74  # Databento's MBP-10 column count
    shallow = write(tmp_path / "mbp1.csv", [row(at("13:40:00"), 1, 10.00, 100)])
    assert load_mbp(shallow).depth == 1
    with pytest.raises(DataError, match=r"missing column\(s\) bid_px_01.*1 book level"):
        load_mbp(shallow, depth=2)


def test_empty_level_has_no_price_and_no_size(tmp_path):
    rows = [row(at("13:40:00"), 1, 10.00, 0)]
    rows[0]["ask_px_00"] = ""
    snap = load_mbp(write(tmp_path / "empty.csv", rows))
    assert np.isnan(snap.ask_px[0, 0]) and snap.ask_sz[0, 0] == 0
    assert snap.quality.empty_ask_snapshots == 1


def test_round_trips_through_a_file_and_pickle(tmp_path):
    snap = load_mbp(write(tmp_path / "rt.csv", edge_rows()))
    snap.save(tmp_path / "snap.npz")
    for back in (Snapshots.load(tmp_path / "snap.npz"), pickle.loads(pickle.dumps(snap))):
        for name in Snapshots._ARRAYS:
            np.testing.assert_array_equal(getattr(back, name), getattr(snap, name))
        assert back.window == snap.window and back.quality == snap.quality


def bad(tmp_path, column, value, line_index=1):
    rows = edge_rows()
    rows[line_index][column] = value
    return write(tmp_path / "bad.csv", rows)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("ts_event", "yesterday", r"bad.csv: line 3: ts_event 'yesterday' is not an ISO-8601"),
        ("ask_px_00", -1.0, r"line 3: ask_px_00 is -1.0; expected a finite positive price"),
        ("ask_sz_00", "NaN", r"line 3: ask_sz_00 is 'NaN'; expected a whole number"),
        ("ask_sz_00", -5, r"line 3: ask_sz_00 is -5; expected a non-negative whole number"),
        ("bid_sz_00", 12.5, r"line 3: bid_sz_00 is '12.5'; expected a whole number"),
        ("ask_px_00", "", r"line 3: ask_px_00 is blank; expected .*blank only when the size is 0"),
        ("ask_px_00", "abc", r"line 3: ask_px_00 is 'abc'; expected a finite price"),
        ("publisher_id", "x", r"line 3: publisher_id is 'x'; expected a whole number"),
    ],
)
def test_bad_values_name_the_file_line_and_expectation(tmp_path, column, value, message):
    with pytest.raises(DataError, match=message):
        load_mbp(bad(tmp_path, column, value))


def test_a_trade_without_a_price_names_its_line(tmp_path):
    rows = edge_rows()
    rows[1] |= {"action": "T", "size": 10, "price": ""}
    with pytest.raises(DataError, match=r"bad.csv: line 3: trade price blank is not a finite"):
        load_mbp(write(tmp_path / "bad.csv", rows))


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path / "cols.csv", edge_rows())
    pd.read_csv(path).drop(columns=["ask_sz_00", "action"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"cols.csv: missing column\(s\) action, ask_sz_00"):
        load_mbp(path)


def test_empty_window_says_how_many_rows_fell_outside(tmp_path):
    path = write(tmp_path / "w.csv", edge_rows())
    with pytest.raises(
        DataError, match=r"no rows inside the window .* \(4 rows before it, 0 after"
    ):
        load_mbp(path, "14:00", "14:05")


def test_several_dates_need_an_explicit_date(tmp_path):
    rows = [row(at("13:40:00"), 1, 10.0, 100), row(at("13:40:00", "2024-08-02"), 1, 10.0, 100)]
    path = write(tmp_path / "days.csv", rows)
    with pytest.raises(DataError, match="span dates 2024-08-01 to 2024-08-02; one trading day per"):
        load_mbp(path)
    assert len(load_mbp(path, date="2024-08-02")) == 1


def test_minute_resolution_window(tmp_path):
    path = write(tmp_path / "t.csv", edge_rows())
    # 13:36 starts at 13:36:00 and an end of 13:45 covers that whole minute: every row is in.
    assert len(load_mbp(path, "13:36", "13:45")) == 4
    assert len(load_mbp(path, "13:37", "13:45")) == 2


@pytest.mark.parametrize("text", ["25:00", "13:61:00", "13:36:32.1234567891", "noon"])
def test_bad_window_times(tmp_path, text):
    path = write(tmp_path / "t.csv", edge_rows())
    with pytest.raises(ValueError, match="time of day"):
        load_mbp(path, text, "13:45:14")
