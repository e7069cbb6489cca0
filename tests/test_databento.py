"""Real Databento inputs: DBN and every CSV form Databento writes, plain or zstd, read the same;
trade aggressor sides kept; prices never silently 1e9 off; bad files named with what is wrong."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from router import DataError, Snapshots, expand_paths, load_days, load_mbp
from router.data.marketdata import BUY_AGGRESSOR, SELL_AGGRESSOR, UNKNOWN_SIDE
from tests import dbn
from tests.mbp import at


def records(schema: str = "mbp-1", levels: int = 1, date: str = "2024-08-01") -> list:
    """A small day: three venues, trades of every aggressor side, an emptied ask."""
    t = at("13:40:00", date)
    make = dict(levels=levels, schema=schema)
    return [
        dbn.mbp(at("13:36:00", date), 2, 222.95, 100, **make),  # before the window
        dbn.mbp(t, 2, 222.92, 300, **make),
        dbn.mbp(t, 5, 222.93, 200, bid_size=400, **make),
        dbn.mbp(t + 5, 2, 222.92, 300, action="T", side="A", price=222.91, size=100, **make),
        dbn.mbp(t + 5, 2, 222.92, 300, action="T", side="B", price=222.92, size=40, **make),
        dbn.mbp(t + 5, 2, 222.92, 260, bid_size=0, action="C", side="A", **make),
        dbn.mbp(t + 9, 8, None, 0, bid=222.90, bid_size=50, **make),  # no ask displayed
        dbn.mbp(t + 9, 8, 222.94, 100, action="T", side="N", price=222.94, size=7, **make),
        dbn.mbp(at("13:50:00", date), 5, 222.99, 100, **make),  # after the window
    ]


def assert_same(got: Snapshots, expected: Snapshots) -> None:
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
    assert got.window == expected.window


def test_dbn_made_with_databentos_encoder_reads_back_exactly(tmp_path):
    snap = load_mbp(dbn.write_dbn(tmp_path / "day.dbn", records()), depth=1)
    t = at("13:40:00")
    assert list(snap.ts) == [t, t, t + 5, t + 9]
    assert list(snap.ts_recv) == [t + 1000, t + 1000, t + 1005, t + 1009]
    assert list(snap.publisher_id) == [2, 5, 2, 8]
    np.testing.assert_array_equal(snap.ask_px[:, 0], [222.92, 222.93, 222.92, 222.94])
    assert list(snap.ask_sz[:, 0]) == [300, 200, 260, 100]
    np.testing.assert_array_equal(snap.bid_px[:, 0], [222.91, 222.92, np.nan, 222.93])
    assert list(snap.bid_sz[:, 0]) == [100, 400, 0, 100]
    assert list(snap.print_start) == [0, 0, 0, 2, 3]
    np.testing.assert_array_equal(snap.print_px, [222.91, 222.92, 222.94])
    assert list(snap.print_sz) == [100, 40, 7]
    assert list(snap.print_side) == [SELL_AGGRESSOR, BUY_AGGRESSOR, UNKNOWN_SIDE]
    q = snap.quality
    assert (q.source_format, q.schema, q.price_format) == ("dbn", "mbp-1", "fixed")
    assert (q.rows_read, q.rows_before_window, q.rows_after_window) == (9, 1, 1)
    assert (q.prints_sell_aggressor, q.prints_buy_aggressor, q.prints_unknown_side) == (1, 1, 1)
    assert q.messages_folded == 3 and q.snapshots == 4


@pytest.mark.parametrize("schema", ["mbp-1", "mbp-10", "tbbo", "cmbp-1"])
def test_every_schema_loads_the_same_from_dbn_zstd_and_every_transcoded_csv(tmp_path, schema):
    levels = 10 if schema == "mbp-10" else 1
    made = records("cmbp-1" if schema == "cmbp-1" else "mbp-1", levels)
    if schema == "tbbo":  # trades only, each with the book before it
        made = [r for r in made if r.action == "T"]
    raw = dbn.encode(made, schema)
    depth = 2 if levels == 10 else 1
    expected = load_mbp(dbn.write_dbn(tmp_path / "d.dbn", made, schema), depth=depth)
    assert expected.quality.schema == schema
    if schema == "cmbp-1":  # the consolidated book is one venue, whatever printed where
        assert set(expected.publisher_id) == {0}
    files = {  # name: (bytes, the price format it is read as)
        "d.dbn.zst": (dbn.zstd(raw), "fixed"),
        "fixed.csv": (dbn.transcode(raw, pretty_px=False), "fixed"),
        "pretty.csv": (dbn.transcode(raw, pretty_px=True), "decimal"),
        "ns.csv": (dbn.transcode(raw, pretty_px=True, pretty_ts=False), "decimal"),
        "fixed.csv.zst": (dbn.zstd(dbn.transcode(raw, pretty_px=False)), "fixed"),
        "no-extension": (raw, "fixed"),  # recognised by content, not by name
    }
    for name, (data, price_format) in files.items():
        (tmp_path / name).write_bytes(data)
        got = load_mbp(tmp_path / name, depth=depth)
        assert_same(got, expected)
        assert (got.quality.schema, got.quality.price_format) == (schema, price_format), name


def test_to_df_csv_forms_load_the_same(tmp_path):
    """The databento client's to_df().to_csv(): ts_recv as the index column, float or
    fixed-point prices, New York offsets or integer timestamps."""
    raw = dbn.encode(records())
    expected = load_mbp(dbn.write_dbn(tmp_path / "d.dbn", records()))
    frame = pd.read_csv(pd.io.common.BytesIO(dbn.transcode(raw, pretty_px=False)))
    fixed = frame.set_index("ts_recv")
    fixed.to_csv(tmp_path / "fixed.csv")
    floats = fixed.copy()
    for column in ("price", "bid_px_00", "ask_px_00"):
        floats[column] = floats[column].where(floats[column] < dbn.dbn.UNDEF_PRICE) / 1e9
    new_york = floats.copy()
    for column in ("ts_event",):
        stamps = pd.to_datetime(new_york[column], utc=True).dt.tz_convert("America/New_York")
        new_york[column] = stamps.astype(str)
    new_york.index = pd.to_datetime(new_york.index, utc=True).tz_convert("America/New_York")
    floats.to_csv(tmp_path / "floats.csv")
    new_york.to_csv(tmp_path / "ny.csv")
    for name in ("fixed.csv", "floats.csv", "ny.csv"):
        assert_same(load_mbp(tmp_path / name), expected)


def test_fixed_point_prices_are_never_read_as_dollars(tmp_path):
    raw = dbn.transcode(dbn.encode(records()), pretty_px=False)
    (tmp_path / "fixed.csv").write_bytes(raw)
    assert load_mbp(tmp_path / "fixed.csv").ask_px.max() < 1000
    with pytest.raises(
        DataError,
        match=r"fixed.csv: line 2: price is '222950000000': a price of 1e7 dollars"
        r" or more can only be Databento fixed-point \(1e-9 units, 222.95 dollars\); set "
        r"data.prices: fixed",
    ):
        load_mbp(tmp_path / "fixed.csv", prices="decimal")
    pretty = dbn.transcode(dbn.encode(records()), pretty_px=True)
    (tmp_path / "pretty.csv").write_bytes(pretty)
    with pytest.raises(
        DataError,
        match=r"pretty.csv: line 2: price is '222.950000000'; expected "
        r"a whole number of Databento fixed-point units",
    ):
        load_mbp(tmp_path / "pretty.csv", prices="fixed")


def test_undefined_fixed_price_is_an_empty_level(tmp_path):
    raw = dbn.transcode(dbn.encode(records()[:7]), pretty_px=False)  # venue 8 ends askless
    assert b"9223372036854775807" in raw
    (tmp_path / "fixed.csv").write_bytes(raw)
    snap = load_mbp(tmp_path / "fixed.csv")
    row = int(np.flatnonzero(snap.publisher_id == 8)[0])
    assert np.isnan(snap.ask_px[row, 0]) and snap.ask_sz[row, 0] == 0
    assert snap.bid_px[row, 0] == 222.90 and snap.quality.empty_ask_snapshots == 1


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        (["222", "223"], r"every price a whole number below 1e\+07 \(e.g. 222\)"),
        (["222000000000", "223"], r"prices from 223 to 2.22e\+11"),
    ],
)
def test_auto_refuses_prices_it_cannot_decide(tmp_path, prices, message):
    frame = pd.read_csv(
        pd.io.common.BytesIO(dbn.transcode(dbn.encode(records()[1:3]), pretty_px=True)), dtype=str
    )
    for column in ("price", "bid_px_00", "ask_px_00"):
        frame[column] = prices
    frame.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"odd.csv: cannot tell whether prices are decimal .*"
        + message
        + ".*set data.prices to decimal or fixed",
    ):
        load_mbp(tmp_path / "odd.csv")
    decimal = load_mbp(tmp_path / "odd.csv", prices="decimal") if prices[0] == "222" else None
    assert decimal is None or decimal.ask_px[0, 0] == 222.0


@pytest.mark.parametrize(
    ("schema", "record"),
    [
        ("ohlcv-1s", None),
        ("definition", None),
        ("bbo-1s", None),
    ],
)
def test_another_schema_is_named(tmp_path, schema, record):
    made = [record(at("13:40:00"))] if record else []
    path = tmp_path / "other.dbn"
    path.write_bytes(dbn.encode(made, schema))
    with pytest.raises(
        DataError,
        match=rf"other.dbn: schema {schema} is not one we read; expected"
        r" one of mbp-1, mbp-10, tbbo, cmbp-1, mbo",
    ):
        load_mbp(path)


def test_a_csv_of_another_record_type_is_named(tmp_path):
    raw = dbn.transcode(dbn.encode(records()[1:3]), pretty_px=True).replace(
        b",1,2,38,", b",195,2,38,"
    )
    (tmp_path / "bbo.csv").write_bytes(raw)
    with pytest.raises(DataError, match=r"bbo.csv: line 2: record type 195 \(bbo-1s\) is not"):
        load_mbp(tmp_path / "bbo.csv")


def test_truncated_files_are_errors_naming_what_is_cut(tmp_path):
    raw = dbn.encode(records())
    (tmp_path / "cut.dbn").write_bytes(raw[:-30])
    with pytest.raises(
        DataError,
        match=r"cut.dbn: record 9: truncated DBN file: it ends 50 bytes "
        r"into a 80-byte mbp-1 record",
    ):
        load_mbp(tmp_path / "cut.dbn")
    (tmp_path / "head.dbn").write_bytes(raw[:40])
    with pytest.raises(DataError, match=r"head.dbn: truncated DBN file: it ends inside its meta"):
        load_mbp(tmp_path / "head.dbn")
    big = dbn.encode(records() * 2000)  # big enough that zstd frames it in several blocks
    packed = dbn.zstd(big)
    for name, data in (("cut.dbn.zst", packed[: len(packed) // 2]), ("end.dbn.zst", packed[:-4])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=rf"{name}: truncated zstd file: it ends inside a "):
            load_mbp(tmp_path / name)


def test_several_instruments_in_one_file_are_refused(tmp_path):
    made = records()
    made[3] = dbn.mbp(at("13:40:00") + 5, 2, 222.92, 300, instrument=99)
    with pytest.raises(DataError, match=r"mixed.dbn: several instruments \(38, 99\); load one"):
        load_mbp(dbn.write_dbn(tmp_path / "mixed.dbn", made))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"empty.x: empty file; expected Databento CSV or DBN"),
        (b"\x1f\x8b\x08\x00rest", r"empty.x: gzip-compressed; .*decompress it \(gunzip\)"),
        (b"\x00\x01\x02\x03\x04", r"empty.x: binary data \(starts with 00 01 02 03\)"),
        (dbn.zstd(b""), r"empty.x: empty file inside its zstd compression"),
        (b"P*M\x18\x00\x00", r"empty.x: Databento's legacy DBZ format"),
    ],
)
def test_files_that_are_not_market_data_say_what_they_are(tmp_path, data, message):
    (tmp_path / "empty.x").write_bytes(data)
    with pytest.raises(DataError, match=message):
        load_mbp(tmp_path / "empty.x")


def day_file(folder, date: str, name: str | None = None, compress: bool = False):
    """A DBN file of ``records()`` on ``date``."""
    path = folder / (name or f"{date}.dbn" + (".zst" if compress else ""))
    return dbn.write_dbn(path, records(date=date), compress=compress)


def test_several_days_load_in_date_order_each_at_its_own_date(tmp_path):
    for date, compress in (("2024-08-02", True), ("2024-08-01", False)):
        day_file(tmp_path, date, compress=compress)
    paths = expand_paths([tmp_path / "*.dbn*"])
    days, skipped = load_days(paths)
    assert [d.window.date for d in days] == ["2024-08-01", "2024-08-02"] and skipped == []
    assert_same(load_mbp(tmp_path / "2024-08-01.dbn"), days[0])
    assert days[1].ts[0] - days[0].ts[0] == 86_400 * 10**9


def test_bad_day_sets_are_named(tmp_path):
    with pytest.raises(DataError, match=r"data.path: the pattern .*nothing-\*.csv matches no file"):
        expand_paths([tmp_path / "nothing-*.csv"])
    first = day_file(tmp_path, "2024-08-01")
    again = day_file(tmp_path, "2024-08-01", name="copy.dbn")
    with pytest.raises(
        DataError,
        match=r"copy.dbn: trading date 2024-08-01 again \(also .*2024-08"
        r"-01.dbn\); one file per day",
    ):
        load_days([first, again])
    empty = tmp_path / "empty-day.dbn"
    dbn.write_dbn(empty, [dbn.mbp(at("10:00:00", "2024-08-05"), 2, 222.9, 100)])
    with pytest.raises(
        DataError,
        match=r"empty-day.dbn: no rows inside the window 2024-08-05 "
        r"13:36:32 to 13:45:14 UTC \(1 rows before it, 0 after\).*skip_empty_days",
    ):
        load_days([first, empty])
    days, skipped = load_days([first, empty], skip_empty=True)
    assert len(days) == 1 and skipped == [f"2024-08-05 ({empty})"]


def test_a_blank_price_in_a_fixed_point_csv_is_an_empty_level(tmp_path):
    frame = pd.read_csv(io.BytesIO(dbn.transcode(dbn.encode(records()), pretty_px=False)),
                        dtype=str, keep_default_na=False)  # fmt: skip
    frame.loc[frame["ask_px_00"] == str(dbn.dbn.UNDEF_PRICE), "ask_px_00"] = ""
    frame.to_csv(tmp_path / "blank.csv", index=False)
    got = load_mbp(tmp_path / "blank.csv", prices="fixed")
    assert_same(got, load_mbp(dbn.write_dbn(tmp_path / "d.dbn", records())))


def test_big_prices_with_fractions_are_refused_clearly(tmp_path):
    frame = pd.read_csv(io.BytesIO(dbn.transcode(dbn.encode(records()[1:3]), pretty_px=True)),
                        dtype=str)  # fmt: skip
    for column in ("price", "bid_px_00", "ask_px_00"):
        frame[column] = ["22290000000.5", "22290000001"]
    frame.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(DataError, match=r"cannot tell .* prices from 2.229e\+10 to 2.229e\+10"):
        load_mbp(tmp_path / "odd.csv")


def test_an_events_last_record_is_its_book_whatever_the_file_order(tmp_path):
    """A trade and the book update of one venue message share ts_event and sequence; the
    update (flag F_LAST) is the book after the event even when the file lists it first."""
    t = at("13:40:00")
    trade = dbn.mbp(t, 2, 10.02, 300, action="T", side="A", price=10.01, size=100)
    update = dbn.mbp(t, 2, 10.02, 300, bid_size=0)
    trade.flags = 0  # more records of this event follow
    for name, made in (("in-order.dbn", [trade, update]), ("reversed.dbn", [update, trade])):
        snap = load_mbp(dbn.write_dbn(tmp_path / name, made))
        assert list(snap.bid_sz[:, 0]) == [0] and list(snap.print_sz) == [100], name
