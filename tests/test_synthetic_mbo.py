"""The synthetic market order by order: its MBO rebuilds into exactly the MBP-10 the same seed
writes, Databento's own decoder reads its records back, and its order-level facts are measured
as a real day's are (the facts worked out by hand on a small sequence)."""

from __future__ import annotations

from pathlib import Path

import databento_dbn
import numpy as np
import pytest

from producer.synthetic import generate, main
from router.analysis.order_facts import order_facts
from router.data.loader import load_mbp, read_order_messages
from router.data.marketdata import Snapshots, Window
from router.data.order_level import OrderMessages
from tests.mbp import at

#: A busy two minutes near the open on three venues: sweeps across venues, refills, fades.
DAY = {"seed": 11, "venues": 3, "start": "13:30", "end": "13:31:59"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mbo")
    paths = {"mbp": folder / "day.csv", "dbn": folder / "day.dbn", "csv": folder / "day.mbo.csv"}
    generate(paths["mbp"], **DAY)
    generate(paths["dbn"], **DAY, fmt="dbn", schema="mbo")
    generate(paths["csv"], **DAY, fmt="csv", schema="mbo")
    return paths


@pytest.mark.parametrize("form", ["dbn", "csv"])
def test_the_mbp10_built_from_the_mbo_is_the_mbp10_the_seed_writes(written, form):
    """Every row, every column: book, times, venues and prints (the MBO's opening snapshot lies
    before the window)."""
    mbp = load_mbp(written["mbp"], "13:30", "13:31:59", 10)
    mbo = load_mbp(written[form], "13:30", "13:31:59", 10)
    assert len(mbp) > 10_000 and mbo.quality.order_messages > len(mbp)
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(mbo, name), getattr(mbp, name), err_msg=name)
    q = mbo.quality
    assert (q.orders_unknown, q.cancels_beyond_size, q.adds_of_live_orders) == (0, 0, 0)
    assert q.clears == 3 and q.order_events_past_last_row == 0


def test_databentos_decoder_reads_every_record_back(written):
    """Decoded by databento-dbn and encoded again by it: the bytes we wrote; the Transcoder's
    CSV reads to the same messages as the DBN."""
    data = written["dbn"].read_bytes()
    decoder = databento_dbn.DBNDecoder()
    decoder.write(data)
    metadata, *records = decoder.decode()
    assert str(metadata.schema) == "mbo" and metadata.symbols == ["AAPL"]
    assert b"".join(bytes(r) for r in records) == data[len(data) - 56 * len(records) :]
    assert {chr(r.action) for r in records} == set("RACTF")
    from_dbn, _ = read_order_messages(written["dbn"])
    from_csv, _ = read_order_messages(written["csv"])
    for name in ("ts_event", "ts_recv", "publisher_id", "order_id", "action", "side", "size"):
        np.testing.assert_array_equal(getattr(from_csv, name), getattr(from_dbn, name))
    np.testing.assert_array_equal(from_csv.price, from_dbn.price)


def test_an_execution_is_a_trade_then_each_order_met_oldest_first(written):
    """Each execution event: a trade of the aggressor's side, then per resting order a fill and
    its book change of the same shares, the fills adding up to the trade."""
    events, _ = read_order_messages(written["dbn"])
    trades = np.flatnonzero(events.action == ord("T"))[:200]
    for i in trades.tolist():
        j, filled = i + 1, 0
        while j < len(events) and events.action[j] == ord("F"):
            assert events.action[j + 1] == ord("C") and events.size[j + 1] == events.size[j]
            assert events.side[j] != events.side[i] and events.order_id[j + 1] == events.order_id[j]
            filled += int(events.size[j])
            j += 2
        assert filled == events.size[i]


def test_the_cli_writes_mbo(tmp_path, capsys):
    out = tmp_path / "aapl.dbn.zst"
    main(["--seed", "3", "--venues", "2", "--start", "13:30", "--end", "13:30:10", "--format",
          "dbn", "--schema", "mbo", "--out", str(out)])  # fmt: skip
    assert "wrote" in capsys.readouterr().out
    assert load_mbp(out, "13:30", "13:30:10", 10).quality.schema == "mbo"


def messages(rows) -> OrderMessages:
    ts, action, order, size = (np.array(c) for c in zip(*rows, strict=True))
    n = len(ts)
    return OrderMessages(
        ts_event=at("13:30:00") + (ts * 1e9).astype(np.int64), ts_recv=np.zeros(n, np.int64),
        publisher_id=np.full(n, 2), order_id=order.astype(np.uint64),
        action=np.array([ord(a) for a in action], np.uint8), side=np.full(n, ord("B"), np.uint8),
        price=np.full(n, 10.0), size=size, last=np.ones(n, bool), number=np.arange(1, n + 1),
    )  # fmt: skip


def test_order_facts_by_hand():
    """Order 1 is cancelled whole after 1 s; order 2 loses 30 to a partial cancel, then its
    last 70 execute; order 3 is cancelled after 5 s; order 4 executes 10 of 50 and lives on;
    order 5, added before the window, is not counted. Four adds: cancelled 2 (1 within 2 s),
    executed 2; of three cancel records (not executions), one partial."""
    facts = order_facts(messages([
        (-1, "A", 5, 100),
        (0, "A", 1, 100), (0, "A", 2, 100), (0, "A", 3, 100), (0, "A", 4, 50),
        (1, "C", 1, 100), (2, "C", 2, 30), (3, "F", 2, 70), (3, "C", 2, 70),
        (5, "C", 3, 100), (6, "F", 4, 10), (6, "C", 4, 10),
    ]), Window.on("2024-08-01", "13:30:00", "13:31"))  # fmt: skip
    assert facts["adds"] == 4
    assert (facts["cancelled"], facts["cancelled_within_2s"], facts["executed"]) == (0.5, 0.25, 0.5)
    assert facts["lifetime_cancelled_s"] == {"median": 3.0, "p90": pytest.approx(4.6)}
    assert facts["partial_cancels"] == pytest.approx(1 / 3)
