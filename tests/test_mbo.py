"""Databento MBO, order by order: DBN written by databento-dbn's own encoder, and the CSV its
Transcoder writes from it, rebuilt into the book worked out by hand."""

from __future__ import annotations

import databento_dbn as dbn
import numpy as np
import pytest

from router import DataError, load_mbp
from router.data.marketdata import SELL_AGGRESSOR
from tests.dbn import encode, fixed, transcode, write_dbn
from tests.mbp import at

T0 = at("13:40:00")
LAST = 128  # F_LAST


def mbo(ts, action, side, price, size, order, flags=LAST, sequence=1):
    return dbn.MBOMsg(
        publisher_id=2, instrument_id=38, ts_event=ts, order_id=order, price=fixed(price),
        size=size, action=dbn.Action(action), side=dbn.Side(side), ts_recv=ts + 1000,
        flags=flags, sequence=sequence,
    )  # fmt: skip


#: A bid of 100 at 222.90 and an ask of 300 at 222.92; a seller takes 40 of the bid (a trade,
#: the fill, the cancel: one event); the ask is modified to 200 at 222.91; a cancel names an
#: order never added.
RECORDS = [
    mbo(T0, "A", "B", 222.90, 100, 1),
    mbo(T0 + 1_000, "A", "A", 222.92, 300, 2),
    mbo(T0 + 2_000, "T", "A", 222.90, 40, 0, flags=0),
    mbo(T0 + 2_000, "F", "B", 222.90, 40, 1, flags=0),
    mbo(T0 + 2_000, "C", "B", 222.90, 40, 1),
    mbo(T0 + 3_000, "M", "A", 222.91, 200, 2),
    mbo(T0 + 4_000, "C", "A", 222.95, 10, 99),
]


def check_the_day(snap) -> None:
    """A row per event but the last, whose unknown order changed nothing."""
    assert snap.ts.tolist() == [T0 + k * 1_000 for k in range(4)]
    assert snap.ts_recv.tolist() == [t + 1_000 for t in snap.ts.tolist()]
    assert snap.bid_px[:, 0].tolist() == [222.90] * 4
    assert snap.bid_sz[:, 0].tolist() == [100, 100, 60, 60]
    assert np.isnan(snap.ask_px[0, 0])
    assert snap.ask_px[1:, 0].tolist() == [222.92, 222.92, 222.91]
    assert snap.ask_sz[:, 0].tolist() == [0, 300, 300, 200]
    assert snap.print_start.tolist() == [0, 0, 0, 1, 1]
    assert (snap.print_px.tolist(), snap.print_sz.tolist()) == ([222.90], [40])
    assert snap.print_side.tolist() == [SELL_AGGRESSOR]
    q = snap.quality
    assert (q.schema, q.order_messages, q.orders_unknown) == ("mbo", 7, 1)


@pytest.mark.parametrize("compress", [False, True])
def test_dbn_mbo_rebuilds_the_book_worked_out_by_hand(tmp_path, compress):
    path = write_dbn(tmp_path / "day.dbn", RECORDS, "mbo", compress)
    check_the_day(load_mbp(path, "13:40:00", "13:40:01", 2))


@pytest.mark.parametrize("pretty_px", [True, False])
def test_the_transcoders_mbo_csv_reads_the_same(tmp_path, pretty_px):
    path = tmp_path / "day.csv"
    path.write_bytes(transcode(encode(RECORDS, "mbo"), pretty_px=pretty_px))
    check_the_day(load_mbp(path, "13:40:00", "13:40:01", 2))


def test_a_file_without_last_flags_ends_events_where_the_instant_changes(tmp_path):
    """Flags dropped: the three records of the trade at one instant are still one event."""
    records = [mbo(r.ts_event, chr(r.action), chr(r.side), r.pretty_price, r.size, r.order_id,
                   flags=0) for r in RECORDS]  # fmt: skip
    check_the_day(load_mbp(write_dbn(tmp_path / "d.dbn", records, "mbo"), "13:40:00",
                           "13:40:01", 2))  # fmt: skip


@pytest.mark.parametrize("order_id", ["1.5", "-3", "x", "18446744073709551616"])
def test_an_order_id_that_is_not_a_whole_number_is_refused_naming_its_line(tmp_path, order_id):
    """It was read straight as a 64-bit integer: "1.5" ended in a bare ValueError."""
    lines = transcode(encode(RECORDS, "mbo"), pretty_px=True).decode().splitlines()
    column = lines[0].split(",").index("order_id")
    fields = lines[2].split(",")
    fields[column] = order_id
    lines[2] = ",".join(fields)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"bad.csv: line 3: order_id is '{order_id}'; expected"):
        load_mbp(path, "13:40:00", "13:40:01", 2)
