"""Tests for producer.synthetic: the file must look like a Databento MBP-10 CSV, be
reproducible (results are only comparable on identical data) and behave like one market."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from producer.synthetic import generate, main

SMALL_ROWS = 3_000
WINDOW_START = pd.Timestamp("2024-08-01T13:36:32Z")
WINDOW_END = pd.Timestamp("2024-08-01T13:45:14.999999999Z")
ISO_NS = re.compile(r"^2024-08-01T\d{2}:\d{2}:\d{2}\.\d{9}Z$")


def expected_header() -> list[str]:
    """The column order Databento uses for mbp-10 CSV, written out independently."""
    head = "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,"
    head += "flags,ts_in_delta,sequence"
    columns = head.split(",")
    for level in range(10):
        for field in ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct"):
            columns.append(f"{field}_{level:02d}")
    return [*columns, "symbol"]


def levels(df: pd.DataFrame, field: str) -> np.ndarray:
    """The ten columns of one book field (e.g. ``bid_px``) as a rows x 10 array."""
    return df[[f"{field}_{level:02d}" for level in range(10)]].to_numpy()


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "small.csv"
    generate(path, seed=7, rows=SMALL_ROWS)
    return path


@pytest.fixture(scope="module")
def small(small_csv: Path) -> pd.DataFrame:
    return pd.read_csv(small_csv)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, pd.DataFrame]:
    path = tmp_path_factory.mktemp("default") / "default.csv"
    written = generate(path)
    return written, pd.read_csv(path)


@pytest.fixture(scope="module")
def default(default_run: tuple[int, pd.DataFrame]) -> pd.DataFrame:
    return default_run[1]


def test_header_is_databento_mbp10(small_csv: Path) -> None:
    header = small_csv.read_text().splitlines()[0].split(",")
    assert len(header) == 74
    assert header == expected_header()


def test_same_seed_gives_identical_bytes(tmp_path: Path, small_csv: Path) -> None:
    again = tmp_path / "again.csv"
    generate(again, seed=7, rows=SMALL_ROWS)
    assert again.read_bytes() == small_csv.read_bytes()


def test_different_seed_gives_different_file(tmp_path: Path, small_csv: Path) -> None:
    other = tmp_path / "other.csv"
    generate(other, seed=8, rows=SMALL_ROWS)
    assert other.read_bytes() != small_csv.read_bytes()


def test_default_uses_four_real_publishers(default: pd.DataFrame) -> None:
    assert set(default["publisher_id"]) == {2, 5, 8, 9}


@pytest.mark.parametrize(("venues", "publishers"), [(1, {2}), (8, {2, 5, 8, 9, 37, 38, 43, 44})])
def test_venue_count_picks_publishers_in_order(
    tmp_path: Path, venues: int, publishers: set[int]
) -> None:
    path = tmp_path / "venues.csv"
    generate(path, seed=1, venues=venues, rows=2_000)
    assert set(pd.read_csv(path)["publisher_id"]) == publishers


@pytest.mark.parametrize("venues", [0, 9])
def test_venue_count_out_of_range_is_rejected(tmp_path: Path, venues: int) -> None:
    with pytest.raises(ValueError, match="venues"):
        generate(tmp_path / "bad.csv", venues=venues, rows=100)
    with pytest.raises(SystemExit):
        main(["--seed", "1", "--venues", str(venues), "--out", str(tmp_path / "bad.csv")])
    assert not list(tmp_path.iterdir())


def test_constant_fields(small: pd.DataFrame) -> None:
    assert set(small["rtype"]) == {10}
    assert set(small["instrument_id"]) == {38}
    assert set(small["symbol"]) == {"AAPL"}
    assert set(small["action"]) == {"A", "C", "T"}
    assert set(small["side"]) == {"A", "B"}
    assert small["depth"].between(0, 9).all()
    assert small["ts_in_delta"].between(10_000, 300_000).all()


def test_timestamps_are_iso_ns_inside_window(small: pd.DataFrame) -> None:
    for column in ("ts_recv", "ts_event"):
        assert small[column].str.match(ISO_NS).all(), column
    recv = pd.to_datetime(small["ts_recv"], utc=True)
    event = pd.to_datetime(small["ts_event"], utc=True)
    assert recv.min() >= WINDOW_START and recv.max() <= WINDOW_END
    assert event.min() >= WINDOW_START and event.max() <= WINDOW_END
    latency_us = (recv - event).dt.total_seconds() * 1e6
    assert latency_us.between(10, 200).all()
    assert recv.is_monotonic_increasing  # rows are in ts_recv order


def test_each_venue_feed_is_in_order(small: pd.DataFrame) -> None:
    event = pd.to_datetime(small["ts_event"], utc=True)
    for _, rows in small.groupby("publisher_id"):
        assert event[rows.index].is_monotonic_increasing
        assert (rows["sequence"].diff().dropna() > 0).all()


def test_rows_cover_the_whole_window(default: pd.DataFrame) -> None:
    recv = pd.to_datetime(default["ts_recv"], utc=True)
    assert recv.min() - WINDOW_START < pd.Timedelta(seconds=5)
    assert WINDOW_END - recv.max() < pd.Timedelta(seconds=5)


def test_books_are_ordered_on_a_one_cent_grid(default: pd.DataFrame) -> None:
    bids, asks = levels(default, "bid_px"), levels(default, "ask_px")
    assert (bids[:, 0] < asks[:, 0]).all()
    assert (np.diff(bids, axis=1) < 0).all()
    assert (np.diff(asks, axis=1) > 0).all()
    for prices in (bids, asks, default[["price"]].to_numpy()):
        assert np.allclose(prices * 100, np.round(prices * 100), atol=1e-6)


def test_mid_moves_like_a_few_minutes_of_aapl(default: pd.DataFrame) -> None:
    mid = (default["bid_px_00"] + default["ask_px_00"]) / 2
    assert mid.between(222.90 * 0.97, 222.90 * 1.03).all()  # opens at $222.90
    assert mid.max() - mid.min() > 0.05  # the price does move


def test_sizes_and_counts_are_plausible(default: pd.DataFrame) -> None:
    for field in ("bid_sz", "ask_sz", "bid_ct", "ask_ct"):
        values = levels(default, field)
        assert values.dtype.kind == "i" and (values > 0).all(), field
    assert default["size"].dtype.kind == "i" and (default["size"] > 0).all()
    for side in ("bid", "ask"):
        counts, sizes = levels(default, f"{side}_ct"), levels(default, f"{side}_sz")
        assert (counts <= sizes).all()  # every order rests at least one share


def test_sizes_are_mostly_round_lots(default: pd.DataFrame) -> None:
    round_share = (default["size"] % 100 == 0).mean()
    assert 0.6 < round_share < 0.98


def test_trades_hit_the_best_level(default: pd.DataFrame) -> None:
    trades = default[default["action"] == "T"]
    assert 0.05 <= len(trades) / len(default) <= 0.10
    sells, buys = trades[trades["side"] == "A"], trades[trades["side"] == "B"]
    assert len(sells) > 0 and len(buys) > 0
    assert np.allclose(sells["price"], sells["bid_px_00"])
    assert np.allclose(buys["price"], buys["ask_px_00"])
    resting = np.where(trades["side"] == "A", trades["bid_sz_00"], trades["ask_sz_00"])
    assert (trades["size"] <= resting).all()


def test_trade_is_followed_by_its_book_update(default: pd.DataFrame) -> None:
    for _, rows in default.groupby("publisher_id"):
        rows = rows.reset_index(drop=True)
        after = rows.index[rows["action"] == "T"] + 1
        after = after[after < len(rows)]
        assert (rows.loc[after, "action"] == "C").all()
        assert (rows.loc[after, "ts_event"].to_numpy() == rows.loc[after - 1, "ts_event"]).all()


def test_venues_differ_in_spread_and_activity(default: pd.DataFrame) -> None:
    spread = (default["ask_px_00"] - default["bid_px_00"]) * 100
    by_venue = spread.groupby(default["publisher_id"]).mean()
    share = default["publisher_id"].value_counts(normalize=True)
    assert by_venue.max() - by_venue.min() > 0.2  # cents
    assert by_venue.idxmin() == 2 and share.idxmax() == 2  # XNAS is tightest and busiest
    assert share.max() - share.min() > 0.05


def test_default_rate_is_about_120_rows_a_second(default_run: tuple[int, pd.DataFrame]) -> None:
    written, frame = default_run
    assert written == len(frame)
    assert 55_000 <= written <= 80_000  # 523 s near the open


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli" / "aapl.csv"
    main(["--seed", "3", "--venues", "2", "--rows", "500", "--out", str(out)])
    frame = pd.read_csv(out)
    assert f"wrote {len(frame)} rows" in capsys.readouterr().out
    assert 400 <= len(frame) <= 600 and set(frame["publisher_id"]) == {2, 5}
    assert [p.name for p in out.parent.iterdir()] == ["aapl.csv"]  # no temp file left behind


def test_dbn_form_loads_to_the_same_arrays_and_databento_decodes_it(
    tmp_path: Path, small_csv: Path
) -> None:
    import databento_dbn

    from router import Snapshots, load_mbp

    for name in ("small.dbn", "small.dbn.zst"):
        generate(tmp_path / name, seed=7, rows=SMALL_ROWS, fmt="dbn")
        got, expected = load_mbp(tmp_path / name, depth=10), load_mbp(small_csv, depth=10)
        for array in Snapshots._ARRAYS:
            np.testing.assert_array_equal(getattr(got, array), getattr(expected, array))
        assert got.quality.source_format == ("dbn+zstd" if name.endswith("zst") else "dbn")
    decoder = databento_dbn.DBNDecoder()  # Databento's own decoder reads every record back
    decoder.write((tmp_path / "small.dbn").read_bytes())
    metadata, *records = decoder.decode()
    assert str(metadata.schema) == "mbp-10" and metadata.symbols == ["AAPL"]
    first = pd.read_csv(small_csv, nrows=1).iloc[0]
    assert len(records) == len(pd.read_csv(small_csv))
    assert records[0].pretty_ask_px_00 == first["ask_px_00"]
    assert records[0].sequence == first["sequence"] and records[0].ask_sz_09 == first["ask_sz_09"]


def test_several_days_are_weekdays_with_their_own_seeds(tmp_path: Path, small_csv: Path) -> None:
    main(["--seed", "7", "--rows", str(SMALL_ROWS), "--days", "3", "--date", "2024-08-01",
          "--out", str(tmp_path / "d.csv")])  # fmt: skip
    files = sorted(tmp_path.glob("d-*.csv"))
    assert [f.name for f in files] == ["d-20240801.csv", "d-20240802.csv", "d-20240805.csv"]
    assert files[0].read_bytes() == small_csv.read_bytes()  # day 0 keeps the seed itself
    asks = [pd.read_csv(f, usecols=["ask_px_00"])["ask_px_00"] for f in files]
    assert not asks[1].equals(asks[2])  # distinct seeds, distinct days
    assert pd.read_csv(files[2], nrows=1)["ts_event"][0].startswith("2024-08-05T13:36:3")
    for before, after in itertools.pairwise(asks):  # opens near the last close
        assert abs(after.iloc[0] / before.iloc[-1] - 1) < 0.015


def test_window_can_be_any_part_of_the_session(tmp_path: Path) -> None:
    out = tmp_path / "late.csv"
    main(["--seed", "2", "--start", "19:59:30", "--end", "19:59:59", "--out", str(out)])
    recv = pd.to_datetime(pd.read_csv(out)["ts_recv"], utc=True)
    assert recv.min() >= pd.Timestamp("2024-08-01T19:59:30Z")
    assert recv.max() < pd.Timestamp("2024-08-01T20:00:00Z")
    assert len(recv) > 30 * 100  # busier near the close than the session's average
    with pytest.raises(SystemExit):
        main(["--seed", "2", "--start", "25:00", "--out", str(tmp_path / "bad.csv")])


def test_every_print_reduces_its_level_by_exactly_its_shares(small: pd.DataFrame) -> None:
    for _, rows in small.groupby("publisher_id"):
        rows = rows.reset_index(drop=True)
        for i in rows.index[rows["action"] == "T"]:
            trade, after = rows.loc[i], rows.loc[i + 1]
            side = "bid" if trade["side"] == "A" else "ask"  # a seller hits the bid
            assert trade["price"] == trade[f"{side}_px_00"]  # at the venue's own best
            assert after["action"] == "C" and after["size"] == trade["size"]
            shown = dict(zip(levels(rows.loc[[i + 1]], f"{side}_px")[0],
                             levels(rows.loc[[i + 1]], f"{side}_sz")[0], strict=True))  # fmt: skip
            left = trade[f"{side}_sz_00"] - trade["size"]
            assert shown.get(trade["price"], 0) == left


def test_large_orders_sweep_every_venue_at_a_price_before_the_next(small: pd.DataFrame) -> None:
    trades = small[small["action"] == "T"].copy()
    trades["at"] = pd.to_datetime(trades["ts_event"], utc=True)
    # one routed order: prints of one aggressor side less than a millisecond apart
    new_order = (trades["at"].diff() > pd.Timedelta(milliseconds=1)) | (
        trades["side"] != trades["side"].shift()
    )
    sweeps = 0
    for _, order in trades.groupby(new_order.cumsum()):
        order = order.sort_values("at", kind="stable")  # the file is in receive order
        prices = order["price"].to_numpy() * (1 if order["side"].iloc[0] == "B" else -1)
        assert (np.diff(prices) >= 0).all()  # never back to a better price: it was taken
        sweeps += order["publisher_id"].nunique() > 1
    assert sweeps >= 5
