"""The stylized-facts report on hand-made books whose answers are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producer.stylized import facts, main
from producer.synthetic import generate
from router import load_mbp
from tests.mbp import at, row, write

S = 1_000_000_000


def measured(tmp_path, rows):
    return facts(load_mbp(write(tmp_path / "s.csv", rows), "13:36:32", "13:37:00"))


def test_locked_and_crossed_time_shares(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.01, 100, bid=10.00),
        row(t, 5, 10.02, 100, bid=10.01),  # 10.01 / 10.01: locked from 0 s
        row(t + 2 * S, 5, 10.02, 100, bid=10.00),  # 10.00 / 10.01: one tick from 2 s
        row(t + 3 * S, 5, 10.02, 100, bid=10.02),  # 10.02 / 10.01: crossed from 3 s
        row(t + 4 * S, 5, 10.03, 100, bid=10.00),  # one tick again; data end at 4 s
    ]
    result = measured(tmp_path, rows)
    assert result["nbbo_locked_share"] == pytest.approx(0.5)
    assert result["nbbo_crossed_share"] == pytest.approx(0.25)
    assert result["spread_ticks_share"] == {"-1": 0.25, "0": 0.5, "1": 0.25}


def test_trade_throughs_and_depletions_by_cause(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t, 2, 10.01, 100, bid=10.00, bid_size=300),
        row(t, 5, 10.01, 100, bid=10.00, bid_size=300),
        # venue 2 sells 100 at its bid (inside the NBBO): a trade-driven depletion
        row(t + S, 2, 10.01, 100, bid=10.00, bid_size=200, action="T", size=100)
        | {"price": 10.00, "side": "A"},
        # venue 5 prints 50 at 9.99, below the NBB of 10.00: a trade-through
        row(t + 2 * S, 5, 10.01, 100, bid=10.00, bid_size=300, action="T", size=50)
        | {"price": 9.99, "side": "A"},
        row(t + 3 * S, 5, 10.01, 100, bid=10.00, bid_size=100),  # 200 cancelled
    ]
    result = measured(tmp_path, rows)
    assert result["trades"] == 2 and result["volume"] == 150
    assert result["trade_through_share"] == pytest.approx(0.5)
    assert result["best_bid_depletions"] == 2 and result["depletions_by_trade_share"] == 0.5


def test_trade_sign_autocorrelation_of_alternating_signs(tmp_path):
    t = at("13:36:32")
    rows = [
        row(t + i * S // 100, 2, 10.01, 100, action="T", size=100)
        | {"price": 10.00 if i % 2 else 10.01, "side": "A" if i % 2 else "B"}
        for i in range(120)
    ]
    acf = measured(tmp_path, rows)["trade_sign_acf"]
    assert acf["1"] == pytest.approx(-1, abs=0.02) and acf["10"] == pytest.approx(1, abs=0.1)


def test_cli_prints_a_table_or_json(tmp_path, capsys):
    path = write(tmp_path / "s.csv", [row(at("13:36:32"), 2, 10.01, 100)])
    assert main([str(path)]) == 0
    assert "NBBO locked / crossed" in capsys.readouterr().out
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[str(path)]["venues"] == [2]


def test_runs_on_a_real_databento_file(capsys):
    """Databento's own MBP-10 sample (tests/data/README.md): two ESH1 records 46 us apart,
    best bid 3720.25 x 24, ask 3720.50 x 10, one tick of 0.25, no trades."""
    path = Path(__file__).parent / "data" / "databento-glbx-esh1.mbp-10.dbn.zst"
    assert main([str(path), "--tick", "0.25", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[str(path)]
    assert result["venues"] == [1] and result["date"] == "2020-12-28"
    assert result["spread_ticks_share"] == {"1": 1.0} and result["nbbo_locked_share"] == 0
    assert result["trades"] == 0 and result["trade_through_share"] is None
    assert result["best_queue_size"]["1"]["bid"]["median"] == 24
    assert result["best_queue_size"]["1"]["ask"]["median"] == 10


def test_plot_writes_a_png_per_file(tmp_path):
    pytest.importorskip("matplotlib")
    t = at("13:36:32")
    rows = [
        row(t + i * S // 100, 2, 10.01, 100 + i, action="T", size=100)
        | {"price": 10.00 if i % 3 else 10.01, "side": "A" if i % 3 else "B"}
        for i in range(120)
    ]
    path = write(tmp_path / "s.csv", rows)
    assert main([str(path), "--plot", str(tmp_path / "png")]) == 0
    png = tmp_path / "png" / "s.csv.stylized.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = facts(load_mbp(path, "13:36:32", "13:37:00"))
    assert len(result["trade_sign_acf_lags"]) == 50
    assert result["trade_sign_acf_lags"][2] == pytest.approx(1, abs=0.1)  # period 3: lag 3


def test_a_truncated_file_is_one_line_naming_its_record_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "day.dbn"
    generate(path, seed=3, venues=2, rows=2000, fmt="dbn")
    path.write_bytes(path.read_bytes()[:-100])  # the last record cut
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: record ") and "truncated DBN file" in err
    assert err.count("\n") == 1 and "Traceback" not in err
