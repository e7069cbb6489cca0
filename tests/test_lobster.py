"""LOBSTER's message and orderbook files: a hand-made day worked out by hand, the real sample
day (our book after every message equals LOBSTER's), and each bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from router import DataError, load_mbp
from router.data.lobster import order_messages
from router.data.marketdata import BUY_AGGRESSOR, SELL_AGGRESSOR
from router.data.order_level import rebuild

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "lobster"
REAL_DAY = REAL / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
STEM = "TEST_2012-06-21_34200000_57600000"
E = 9_999_999_999  # LOBSTER's dummy price of an empty level
#: time, type, order id, size, price x 10,000, direction (1 buy order, -1 sell order)
MESSAGES = [
    "34200.000000001,1,11,100,1000000,1",  # a bid of 100 at 100.00 (an ask rests already)
    "34200.5,1,12,30,999900,1",  # a bid of 30 at 99.99
    "34201,2,11,40,1000000,1",  # 40 of the first cancelled
    "34202,4,11,60,1000000,1",  # its last 60 executed: a seller's print of 60 at 100.00
    "34203,5,0,20,1000500,-1",  # a hidden sell order executed: a buyer's print, no book change
    "34204,7,0,0,-1,-1",  # a halt
    "34205,3,99,50,1001000,-1",  # the ask resting before the file began, deleted
]
#: ask px, ask size, bid px, bid size per level (two levels), after each message
BOOK = [
    [1001000, 50, 1000000, 100, E, 0, -E, 0],
    [1001000, 50, 1000000, 100, E, 0, 999900, 30],
    [1001000, 50, 1000000, 60, E, 0, 999900, 30],
    [1001000, 50, 999900, 30, E, 0, -E, 0],
    [1001000, 50, 999900, 30, E, 0, -E, 0],
    [1001000, 50, 999900, 30, E, 0, -E, 0],
    [E, 0, 999900, 30, E, 0, -E, 0],
]


def write_day(folder: Path, messages=MESSAGES, book=BOOK) -> Path:
    """The pair on disk; the message file's path."""
    message = folder / f"{STEM}_message_2.csv"
    message.write_text("\n".join(messages) + "\n")
    lines = [",".join(str(v) for v in row) for row in book]
    (folder / f"{STEM}_orderbook_2.csv").write_text("\n".join(lines) + "\n")
    return message


def load(path: Path, **kwargs):
    return load_mbp(path, "13:30", "13:31", 2, **({"date": "2012-06-21"} | kwargs))


def test_a_hand_made_day_reads_as_worked_out(tmp_path):
    snap = load(write_day(tmp_path))
    # 09:30 New York on 2012-06-21 (EDT) is 13:30 UTC; nanoseconds kept
    start = int(np.datetime64("2012-06-21T13:30:00.000000001", "ns").astype(np.int64))
    assert snap.ts[0] == start and snap.ts_recv[0] == start
    # a row per message but the halt, which changes nothing (the hidden execution prints)
    assert snap.publisher_id.tolist() == [2] * 6
    assert snap.bid_px[:, 0].tolist() == [100.00, 100.00, 100.00, 99.99, 99.99, 99.99]
    assert snap.bid_sz[:, 0].tolist() == [100, 100, 60, 30, 30, 30]
    assert snap.ask_sz[:, 0].tolist() == [50] * 5 + [0]
    assert snap.print_start.tolist() == [0, 0, 0, 0, 1, 2, 2]
    assert snap.print_px.tolist() == [100.00, 100.05] and snap.print_sz.tolist() == [60, 20]
    assert snap.print_side.tolist() == [SELL_AGGRESSOR, BUY_AGGRESSOR]
    q = snap.quality
    assert (q.order_messages, q.halts, q.hidden_executions, q.orders_unknown) == (7, 1, 1, 1)
    assert q.anonymous_shares_added == 50 and q.source_format == "lobster"


def test_the_zip_lobster_ships_reads_the_same(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    write_day(folder)
    archive = tmp_path / "day.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.iterdir():
            zf.write(path, path.name)
        zf.writestr("LOBSTER_SampleFiles_ReadMe.txt", "read me")
    zipped, plain = load(archive), load(folder / f"{STEM}_message_2.csv")
    assert zipped.quality.source_format == "lobster+zip"
    for name in ("ts", "bid_px", "bid_sz", "ask_px", "ask_sz", "print_px", "print_side"):
        assert np.array_equal(getattr(zipped, name), getattr(plain, name), equal_nan=True)


@pytest.mark.parametrize(
    "change, expected",
    [
        ("orderbook_disagrees", "line 3: LOBSTER's orderbook line 3 disagrees"),
        ("no_orderbook", f"{STEM}_orderbook_2.csv is missing beside it"),
        ("no_date", "LOBSTER files carry no date; set data.date (the file name says 2012-06-21)"),
        ("lines_apart", "6 lines, but"),
        ("bad_type", "line 2: type 6 is not 1-5 or 7"),
        ("bad_time", "line 1: time 'x' is not seconds after midnight"),
        ("zip_of_else", "expected one LOBSTER message file and its orderbook file"),
    ],
)
def test_bad_lobster_input_is_refused_naming_the_file_and_line(tmp_path, change, expected):
    messages, book, kwargs = list(MESSAGES), [list(r) for r in BOOK], {}
    if change == "orderbook_disagrees":
        book[2][3] = 70  # 100.00 shows 70, but the messages leave 60
    elif change == "lines_apart":
        book = book[:-1]
    elif change == "bad_type":
        messages[1] = "34200.5,6,12,30,999900,1"
    elif change == "bad_time":
        messages[0] = "x,1,11,100,1000000,1"
    elif change == "no_date":
        kwargs["date"] = None
    path = write_day(tmp_path, messages, book)
    if change == "no_orderbook":
        (tmp_path / f"{STEM}_orderbook_2.csv").unlink()
    elif change == "zip_of_else":
        path = tmp_path / "other.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("notes.txt", "not market data")
    with pytest.raises(DataError, match=None) as caught:
        load(path, **kwargs)
    assert expected in str(caught.value)


@pytest.mark.skipif(not REAL_DAY.is_file(), reason=f"the real LOBSTER day is not in {REAL}")
def test_our_book_after_every_message_of_the_real_day_equals_lobsters():
    """GOOG, 2012-06-21, 147,916 messages at 139,379 instants: after every instant, our book's
    ten levels equal LOBSTER's orderbook line, level by level (prices and sizes)."""
    events, reference, _ = order_messages(REAL_DAY, "2012-06-21")
    _, built, _ = rebuild(events, 10, reference)
    assert built.disagrees_at == -1
    ts = events.ts_event
    last = np.flatnonzero(events.last & np.r_[ts[1:] != ts[:-1], True])  # each instant's end
    rows = np.searchsorted(built.emitted, last, side="right") - 1  # the row in force after it
    assert len(last) == 139_379 and (rows >= 0).all()
    for side in ("bid", "ask"):
        sizes = getattr(built, f"{side}_sz")[rows]
        ours = np.where(sizes > 0, getattr(built, f"{side}_px")[rows], 0)
        theirs_sz = getattr(reference, f"{side}_sz")[last]
        theirs = np.where(theirs_sz > 0, getattr(reference, f"{side}_px")[last], 0)
        assert np.array_equal(sizes, theirs_sz) and np.array_equal(ours, theirs)
    assert built.counts["orders_unknown"] == 3895 and built.counts["orphan_shares"] == 24_803


def test_whole_numbers_written_with_a_decimal_point_read_and_a_fraction_is_refused(tmp_path):
    book = [list(r) for r in BOOK]
    book[0][1] = "50.0"
    assert load(write_day(tmp_path, MESSAGES, book)).ask_sz[0, 0] == 50
    book[0][1] = "50.5"
    with pytest.raises(DataError, match=r"orderbook_2.csv: line 1: .* is not whole numbers"):
        load(write_day(tmp_path, MESSAGES, book))


def test_a_databento_file_is_opened_once(tmp_path):
    """Recognising LOBSTER's zip by content is the one sniff every file already gets, not a
    second open of every CSV and DBN file (which a hook stopping at each open, as the producer's
    Ctrl-C test has, turned into a hang)."""
    import subprocess
    import sys

    from tests.mbp import at, row, write

    path = write(tmp_path / "d.csv", [row(at("13:36:32"), 2, 10.00, 100)])
    probe = f"""
import sys
opened = []
sys.addaudithook(lambda e, a: opened.append(1) if e == "open" and str(a[0]) == {str(path)!r} else 0)
from router import load_mbp
load_mbp({str(path)!r}, "13:36:32", "13:36:40")
print(len(opened))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1"]
