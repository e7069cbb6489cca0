"""Faults a new user or an unlucky operator meets: each is refused with a message naming what is
wrong (file and line, key, broker and topic), or handled and counted; never a silently wrong
result, never a hang. The README's "Bad input" section lists the same cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from producer.synthetic import generate
from router import DataError, Snapshots, load_mbp


@pytest.fixture(scope="module")
def day_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "day.csv"
    generate(path, seed=5, venues=4, rows=3000)
    return path


def lines_of(path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def write_lines(path, lines: list[str]):
    path.write_text("".join(lines))
    return path


def assert_same(got: Snapshots, expected: Snapshots) -> None:
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def test_a_row_missing_a_middle_field_is_named_not_shifted(tmp_path, day_csv):
    lines = lines_of(day_csv)
    fields = lines[10].split(",")
    del fields[10]  # flags
    lines[10] = ",".join(fields)
    with pytest.raises(
        DataError,
        match=r"bad.csv: line 11: 73 fields, the header has 74: a field "
        r"is missing and the columns after it would shift",
    ):
        load_mbp(write_lines(tmp_path / "bad.csv", lines))


def test_an_extra_field_is_named(tmp_path, day_csv):
    lines = lines_of(day_csv)
    lines[5] = lines[5].replace(",", ",7,", 1)
    with pytest.raises(DataError, match=r"line 6: 75 fields, the header has 74: a field is extra"):
        load_mbp(write_lines(tmp_path / "bad.csv", lines))


def test_a_cut_last_row_is_named(tmp_path, day_csv):
    text = day_csv.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    cut = text[: len(text) - len(last) - 1 + last.index(",", 300) + 2]  # inside a middle field
    (tmp_path / "cut.csv").write_text(cut)
    count = len(text.splitlines())
    with pytest.raises(DataError, match=rf"cut.csv: line {count}: the file ends inside this line"):
        load_mbp(tmp_path / "cut.csv")
    (tmp_path / "cut.csv").write_text(cut + "\n")  # cut, then a line end: too few fields
    with pytest.raises(DataError, match=rf"cut.csv: line {count}: \d+ fields, the header has 74"):
        load_mbp(tmp_path / "cut.csv")


def test_a_blank_line_is_named(tmp_path, day_csv):
    lines = lines_of(day_csv)
    lines.insert(7, "\n")
    with pytest.raises(DataError, match=r"bad.csv: line 8: a blank line; expected a row"):
        load_mbp(write_lines(tmp_path / "bad.csv", lines))


def test_shuffled_rows_load_as_the_original_when_sequence_numbers_are_there(tmp_path, day_csv):
    lines = lines_of(day_csv)
    body = lines[1:]
    np.random.default_rng(1).shuffle(body)
    got = load_mbp(write_lines(tmp_path / "shuffled.csv", [lines[0], *body]), depth=10)
    assert_same(got, load_mbp(day_csv, depth=10))


def test_within_an_instant_sequence_decides_and_disorder_across_instants_is_counted(tmp_path):
    from tests.mbp import at, row, write

    t = at("13:40:00")
    rows = [
        row(t, 2, 10.02, 300) | {"sequence": 12},
        row(t, 2, 10.01, 100) | {"sequence": 11},  # later in the file, earlier in the feed
        row(t + 5, 2, 10.03, 200) | {"sequence": 10},  # later in time, earlier in the feed
    ]
    snap = load_mbp(write(tmp_path / "seq.csv", rows))
    assert list(snap.ask_px[:, 0]) == [10.02, 10.03]  # sequence 12 is the venue's last at t
    assert snap.quality.rows_out_of_sequence == 1 and snap.quality.messages_folded == 1


def test_a_state_received_before_it_happened_counts_as_received_when_it_happened(tmp_path):
    """A capture clock behind the exchange's: ts_recv 3 ms before ts_event. The state cannot
    have been seen before it existed: it is seen at its ts_event, and counted."""
    from tests.mbp import at, row, write

    t, ms = at("13:40:00"), 1_000_000
    early = row(t + 10 * ms, 2, 10.01, 100)
    early["ts_recv"] = row(t + 7 * ms, 2, 0, 0)["ts_event"]
    snap = load_mbp(write(tmp_path / "recv.csv", [row(t, 2, 10.02, 300), early]))
    assert snap.ts_recv.tolist() == [t, t + 10 * ms]
    assert snap.quality.rows_received_before_event == 1


@pytest.mark.parametrize("which", ["every row", "trade rows"])
def test_duplicated_rows_are_dropped_and_counted(tmp_path, day_csv, which):
    lines = lines_of(day_csv)
    copies = [line for line in lines[1:] if which == "every row" or ",T," in line]
    got = load_mbp(write_lines(tmp_path / "twice.csv", lines + copies), depth=10)
    expected = load_mbp(day_csv, depth=10)
    assert_same(got, expected)
    assert got.quality.duplicates_dropped == len(copies) > 0
    assert int(got.volume.sum()) == int(expected.volume.sum())


def test_two_symbols_are_two_instruments_whatever_instrument_id_says(tmp_path, day_csv):
    frame = pd.read_csv(day_csv, dtype=str, keep_default_na=False)
    frame.loc[100:, "symbol"] = "MSFT"
    frame.to_csv(tmp_path / "two.csv", index=False)
    message = r"line 102: symbol 'MSFT', and 'AAPL' before it: several instruments in one file"
    with pytest.raises(DataError, match=message):
        load_mbp(tmp_path / "two.csv")
    frame.drop(columns="instrument_id").to_csv(tmp_path / "noid.csv", index=False)
    with pytest.raises(DataError, match=message):
        load_mbp(tmp_path / "noid.csv")


def test_mixed_timestamp_forms_are_named_without_contradiction(tmp_path, day_csv):
    frame = pd.read_csv(day_csv, dtype=str, keep_default_na=False)
    frame.loc[3, "ts_event"] = str(pd.Timestamp(frame.loc[3, "ts_event"]).value)
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"mixed.csv: line 5: ts_event '\d+' is integer nanoseconds"
        r" but line 2 has an ISO-8601 timestamp \('2024-08-01T13:36:32.\d+Z'\); a "
        r"file must write every timestamp one way",
    ):
        load_mbp(tmp_path / "mixed.csv")


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity"])
def test_infinite_prices_are_refused_at_load(tmp_path, day_csv, text):
    frame = pd.read_csv(day_csv, dtype=str, keep_default_na=False)
    frame.loc[20, "bid_px_00"] = text
    frame.to_csv(tmp_path / "inf.csv", index=False)
    with pytest.raises(
        DataError,
        match=rf"inf.csv: line 22: bid_px_00 is '{text}'; expected a "
        r"finite price",
    ):
        load_mbp(tmp_path / "inf.csv")


# --------------------------------------------------------------------------- the sweep's CLI
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def sweep_process(config, out, *flags, **popen):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "sweep", str(config), "--out", str(out), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",  # readline, then communicate, may split a multi-byte character
        cwd=ROOT,
        **popen,
    )


def small_config(tmp_path, day_csv, extra: str = ""):
    (tmp_path / "c.yaml").write_text(f"data: {{path: {day_csv}}}\n" + extra)
    return tmp_path / "c.yaml"


def test_an_unreachable_ray_address_fails_fast_naming_it(tmp_path, day_csv):
    import time

    start = time.monotonic()
    process = sweep_process(
        small_config(tmp_path, day_csv), tmp_path / "out", "--address", "127.0.0.1:6390", "--quiet"
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and out == ""
    assert "no Ray cluster answers at 127.0.0.1:6390" in err and "ray start --head" in err
    assert time.monotonic() - start < 30


def test_a_dead_cluster_recorded_on_the_machine_is_never_joined(tmp_path, day_csv):
    """Ray's ray.init() without an address joins the last cluster `ray start` recorded in its
    temp folder, alive or not; the sweep starts its own instead and finishes."""
    import json
    import os
    import shutil
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # short: Ray's socket paths
    (temp / "ray").mkdir()
    (temp / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")  # nothing listens there
    grid = "grid: {lambda_over: [0.1], lambda_under: [0.1], theta_queue: [0.1]}\n"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": str(temp)}
    process = sweep_process(
        small_config(tmp_path, day_csv, grid), tmp_path / "out", "--quiet", env=env
    )
    try:
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
        shutil.rmtree(temp, ignore_errors=True)
    assert process.returncode == 0, err
    assert json.loads(out)["trials"]["count"] == 1


def test_a_huge_grid_is_refused_before_ray_starts(tmp_path, day_csv):
    values = ", ".join(str(v) for v in range(1, 101))
    grid = f"grid: {{lambda_over: [{values}], lambda_under: [{values}], theta_queue: [{values}]}}\n"
    process = sweep_process(small_config(tmp_path, day_csv, grid), tmp_path / "out")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and out == ""
    assert "grid: 1,000,000 grid points, more than grid.max_points (10,000)" in err


def test_no_ask_at_the_end_gives_strict_json_with_a_reason(tmp_path):
    import json

    import pandas as pd

    from tests.mbp import at, row, write
    from tests.sweep_cli import run_sweep

    rows = [row(at("13:36:32"), 2, 10.00, 300), row(at("13:40:00"), 2, 10.01, 0)]
    write(tmp_path / "d.csv", rows)  # 300 shares shown, then no ask: 5,000 cannot all fill
    (tmp_path / "c.yaml").write_text(
        "data: {path: d.csv}\ngrid: {lambda_over: [0.1], lambda_under: [0.1], theta_queue: [0.1]}\n"
    )
    done = run_sweep(tmp_path / "c.yaml", tmp_path / "out")
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout
    report = json.loads(done.stdout)
    assert report["trials"]["best_objective"] is None
    assert "showed nothing at the window's end" in report["trials"]["best_objective_note"]
    assert report["days"][0]["objective"] is None and report["optimized"]["unfilled_shares"] == 4700
    unfilled = [w for w in report["warnings"] if w["kind"] == "unfilled"]
    assert {w["strategy"]: w["value"] for w in unfilled}["router"] == 4700
    # costs.csv writes the infinite cost so that pandas reads it back
    assert ",inf," in (tmp_path / "out" / "costs.csv").read_text()
    assert pd.read_csv(tmp_path / "out" / "costs.csv").cost.tolist() == [float("inf")]


def test_a_report_that_cannot_be_written_still_goes_to_stdout(tmp_path, day_csv):
    import json

    (tmp_path / "out" / "report.json").mkdir(parents=True)  # a folder where the file goes
    grid = "grid: {lambda_over: [0.1], lambda_under: [0.1], theta_queue: [0.1]}\n"
    process = sweep_process(small_config(tmp_path, day_csv, grid), tmp_path / "out", "--quiet")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1
    assert json.loads(out)["trials"]["count"] == 1  # the finished sweep is not thrown away
    assert f"the report is on stdout, but writing to {tmp_path / 'out'} failed" in err


def test_the_fifo_queue_on_aggregated_data_is_refused_naming_the_key(tmp_path, day_csv):
    router = "router: {model: cont_kukanov, queue_model: fifo}\n"
    process = sweep_process(small_config(tmp_path, day_csv, router), tmp_path / "out", "--quiet")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1 and out == ""
    assert "router.queue_model: fifo needs order-level data" in err
    assert "has aggregated depth only: use auto, risk_averse or prob_power" in err


def test_every_cli_gives_bad_input_one_line_and_exit_2(tmp_path, capsys):
    """A file that is not market data, read by the sweep, the producer, the stylized facts
    and the queue check: one line naming it, exit 2, no traceback (the sweep not quiet)."""
    import subprocess
    import sys

    from producer.__main__ import main as producer
    from producer.stylized import main as stylized
    from router.analysis.queue_check import main as queue_check

    bad = tmp_path / "bad.csv"
    bad.write_text("this,is,not\n1,2,3\n")
    (tmp_path / "c.yaml").write_text(f"data: {{path: {bad}}}\n")
    sweep = subprocess.run(
        [sys.executable, "-m", "sweep", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert sweep.returncode == 2 and sweep.stdout == ""
    assert sweep.stderr.startswith(f"error: {bad}") and "Traceback" not in sweep.stderr
    assert sweep.stderr.count("\n") == 1
    for cli, args in ((producer, [str(tmp_path / "c.yaml")]), (stylized, [str(bad)]),
                      (queue_check, [str(bad)])):  # fmt: skip
        assert cli(args) == 2, cli.__module__
        err = capsys.readouterr().err
        assert err.startswith(f"error: {bad}") and err.count("\n") == 1, (cli.__module__, err)


def _prices_case(tmp_path, asks: list[float], bids: list[float] | None = None) -> Path:
    from tests.mbp import at, row, write

    bids = bids or [223.00] * len(asks)
    rows = [row(at(f"13:37:{i:02d}"), 2, ask, 100, bid=bid, size=0)
            for i, (ask, bid) in enumerate(zip(asks, bids, strict=True))]  # fmt: skip
    return write(tmp_path / "d.csv", rows)


def test_a_zero_ask_with_size_is_refused_naming_its_line(tmp_path):
    """Databento writes an empty level as its undefined price, never 0: a 0 with size would
    read as a free ask (the router "bought" 5,000 shares for 6 dollars)."""
    path = _prices_case(tmp_path, [223.01, 0.0, 223.02])
    with pytest.raises(DataError, match=rf"{path}: line 3: ask_px_00 is 0\.0; expected a finite "
                       r"positive price \(blank only when the size is 0\)"):  # fmt: skip
        load_mbp(path)


def test_a_price_off_the_files_scale_is_refused_naming_its_line(tmp_path):
    """Eight asks near 223 and one of 30,000: more than 100 times the median price."""
    path = _prices_case(tmp_path, [223.01] * 4 + [30_000.0] + [223.02] * 4)
    with pytest.raises(
        DataError,
        match=rf"{path}: line 6: ask_px_00 is 30000\.0; expected a price on the file's scale "
        r"\(its median price is 223\.005: between 2\.23005 and 22300\.5; a price written in "
        r"other units",
    ):
        load_mbp(path)
    load_mbp(_prices_case(tmp_path, [223.01] * 4 + [22_000.0] + [223.02] * 4))  # under 100x


def test_a_fixed_point_price_written_in_dollars_is_refused(tmp_path):
    """data.prices: fixed, one price written as 223 (dollars): read as 0.000000223 dollars it
    made best_ask's cost fall by 10,026 dollars."""
    from tests.mbp import at, row

    rows = [row(at(f"13:37:{i:02d}"), 2, 223.01, 100, bid=223.00) for i in range(3)]
    frame = pd.DataFrame(rows)
    for column in ("price", "ask_px_00", "bid_px_00"):
        frame[column] = (frame[column] * 1e9).round().astype("int64")
    frame.loc[1, "ask_px_00"] = 223
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"line 3: ask_px_00 is '223': 2\.23e-07 dollars in Databento fixed-point units "
        r"\(1e-9 dollars\), below a hundredth of a cent; .*\(a price written in dollars\? "
        r"data\.prices: decimal or auto\)",
    ):
        load_mbp(tmp_path / "d.csv", prices="fixed")


def test_coverage_of_a_window_worked_by_hand(tmp_path):
    """Rows at 13:36:40, 13:36:50 and 13:40:00 in the window 13:36:32 to 13:45:14 (its last
    second included: it ends at 13:45:15): 8 s late, 190 s the longest gap, 315 s early."""
    from router.analysis.coverage import coverage
    from tests.mbp import at, row, write

    rows = [row(at(t), 2, 223.01, 100) for t in ("13:36:40", "13:36:50", "13:40:00")]
    day = load_mbp(write(tmp_path / "d.csv", rows))
    found = coverage(day)
    assert (found.first_event, found.last_event) == (
        "2024-08-01T13:36:40+00:00",
        "2024-08-01T13:40:00+00:00",
    )
    assert (found.starts_late_s, found.longest_gap_s, found.ends_early_s) == (8.0, 190.0, 315.0)


def test_a_zst_cut_at_a_frame_boundary_is_caught_by_the_coverage_check(tmp_path):
    """The day written as two zstd frames, the second lost: it decompresses cleanly and reads
    as a shorter day. The report warns; data.require_full_window refuses it before Ray."""
    import subprocess
    import sys

    import zstandard

    from router.analysis.coverage import coverage

    generate(tmp_path / "day.csv", seed=5, venues=2, rows=3000)
    lines = (tmp_path / "day.csv").read_bytes().splitlines(keepends=True)
    cut = tmp_path / "d.csv.zst"
    cut.write_bytes(zstandard.ZstdCompressor().compress(b"".join(lines[: len(lines) * 6 // 10])))
    day = load_mbp(cut)
    assert coverage(day).ends_early_s > 60  # read cleanly, but ends early
    (tmp_path / "c.yaml").write_text(
        f"data: {{path: {cut}, require_full_window: true}}\n"
        "grid: {lambda_over: [0.1], lambda_under: [0.1], theta_queue: [0.1]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "sweep", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: 2024-08-01: the data cover 13:36:32 to 13:45:14 UTC ")
    assert "more than data.max_gap_s (60 s); a file cut short" in done.stderr
    assert not (tmp_path / "o" / "tune").exists()  # refused before any trial


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_during_ray_init_ends_the_sweep(tmp_path, day_csv, signal_name):
    """SIGTERM or Ctrl-C while ray.init starts the local cluster: exit 130, one line, no
    report, and no Ray server left (the first was about to start)."""
    import os
    import signal
    import subprocess

    from tests import audit_gate

    # held where ray.init is about to start the cluster's first server
    gate, hook = audit_gate.install(tmp_path, "subprocess.Popen", "gcs_server", index=1)
    env = os.environ | {"PYTHONPATH": f"{hook}:{ROOT}", "RAY_ADDRESS": ""}
    process = sweep_process(
        small_config(tmp_path, day_csv), tmp_path / "out", env=env,
        preexec_fn=audit_gate.interruptible,
    )  # fmt: skip
    writer = audit_gate.reached(gate, lambda: process.poll() is None, "ray.init's first server")
    try:
        process.send_signal(getattr(signal, signal_name))
        out, err = process.communicate(timeout=60)
    finally:
        os.close(writer)
        process.kill()
    assert process.returncode == 130, err[-2000:]
    assert out == "" and err.rstrip().endswith("interrupted: trials stopped, Ray shut down")
    assert not (tmp_path / "out" / "report.json").exists()
    leftover = subprocess.run(["pgrep", "-f", f"gcs_server.*{tmp_path.name}"], capture_output=True)
    assert leftover.stdout == b""
