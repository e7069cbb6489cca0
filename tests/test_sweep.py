"""The sweep: the pure backtest without Ray, the CLI end to end on a real local Ray cluster."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from router import FeeRate, Fills, RouterParams, VenueFees, load_mbp
from router.strategies.orders import ParentOrder
from sweep import SweepData, run_backtest
from sweep.__main__ import main
from sweep.backtest import Day
from sweep.config import PENALTIES, GridPoint
from tests.mbp import at, row, write
from tests.sweep_cli import run_sweep

ROOT = Path(__file__).resolve().parent.parent
FEES = VenueFees(FeeRate(0.003, 0.002))


def test_run_backtest_is_a_pure_function_of_params_and_data(tmp_path):
    rows = [row(at("13:36:32"), 1, 10.00, 300), row(at("13:36:33"), 2, 10.01, 200)]
    snap = load_mbp(write(tmp_path / "d.csv", rows), "13:36:32", "13:36:40")
    point = GridPoint(RouterParams(0.1, 0.1, 0.1))
    full = run_backtest(point, SweepData.build(snap, FEES, 500, 100))
    assert full == {
        "objective": pytest.approx(300 * 10.003 + 200 * 10.013),
        "costs": [[pytest.approx(300 * 10.003 + 200 * 10.013)]],  # one day, one order
        "total_cash": pytest.approx(300 * 10.003 + 200 * 10.013),
        "avg_fill_px": pytest.approx((300 * 10.003 + 200 * 10.013) / 500),
        "filled_shares": 500,
        "unfilled_shares": 0,
        "overfilled_shares": 0,
        "order_cost": pytest.approx(300 * 10.003 + 200 * 10.013),
        "cost_per_share": pytest.approx((300 * 10.003 + 200 * 10.013) / 500),
        "taken_shares": 500,
        "passive_shares": 0,
        "cleanup_shares": 0,
        "fees_paid": pytest.approx(500 * 0.003),
        "rebates_earned": 0.0,
        "closing_shares_beyond_depth": 0,
        "surplus_cost": 0.0,
        "surplus_mark_to_market": 0.0,
        # arrival mid 9.995 (venue 1's 9.99/10.00); 300 taken at 10.00 then (mid 9.995), 200
        # at 10.01 at 1 s (mid 10.00: venue 1 still shows its ask): $ spread 1.5 + 2.0, timing
        # 200 x 0.005 = 1.0, fees 1.5; the shortfall, 5,003.5 - 500 x 9.995 = 6.0
        **{
            f"tca_{k}_bps": pytest.approx(v / (500 * 9.995) * 10_000)
            for k, v in {
                "shortfall": 6.0,
                "spread": 3.5,
                "timing": 1.0,
                "cleanup": 0.0,
                "fees": 1.5,
                "rebates": 0.0,
                "opportunity": 0.0,
            }.items()
        },
    }
    short = run_backtest(point, SweepData.build(snap, FEES, 700, 100))
    # 200 shares missing; the router took every displayed share, so none is left to walk: all
    # 200 lie beyond, priced at the worst displayed ask, venue 2's 10.01 plus fee (not at the
    # 10.00 it already bought out).
    assert short["unfilled_shares"] == 200 and short["closing_shares_beyond_depth"] == 200
    assert short["objective"] == short["order_cost"]
    assert short["objective"] == pytest.approx(short["total_cash"] + 200 * 10.013)


def sweep_on_a_generated_day(tmp_path_factory, config_name: str):
    """One real `python -m sweep` run on a generated day (file source, local Ray)."""
    work = tmp_path_factory.mktemp("sweep")
    config = (ROOT / "configs" / config_name).read_text()
    config = config.replace("../data/synthetic_day.csv", "day.csv").replace("seed: 7", "seed: 11")
    (work / "c.yaml").write_text(config)
    return work, run_sweep(work / "c.yaml", work / "out")


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    """The default config: the Cont & Kukanov router."""
    return sweep_on_a_generated_day(tmp_path_factory, "default.yaml")


@pytest.fixture(scope="module")
def static_run(tmp_path_factory):
    """configs/static.yaml: the task's static allocator."""
    return sweep_on_a_generated_day(tmp_path_factory, "static.yaml")


def test_cli_prints_exactly_one_json_object(sweep_run):
    work, done = sweep_run
    report = json.loads(done.stdout)  # raises if anything else shares stdout
    assert json.loads((work / "out" / "report.json").read_text()) == report


def check_report(report: dict, grid: dict, trials: int) -> None:
    """Every share of the order accounted for, filled or unfilled (the router perhaps beyond
    the order; the static allocator may leave a few unfilled at the close, as on seed 11's day,
    and the baselines fill it all), best parameters inside the grid, bps consistent with the
    costs per share of the order."""
    for key, value in report["best_parameters"].items():
        assert value in grid[key]
    baselines = {k: v for k, v in report["baselines"].items() if k != "vwap_note"}
    strategies = {"optimized": report["optimized"], **baselines}
    for name, figures in strategies.items():
        filled = figures["filled_shares"]
        assert filled - figures["overfilled_shares"] + figures["unfilled_shares"] == 5000, name
        assert figures["avg_fill_px"] == pytest.approx(figures["total_cash"] / filled)
        parts = ("taken_shares", "passive_shares", "cleanup_shares")
        assert sum(figures[k] for k in parts) == filled, name
    for figures in baselines.values():  # takers never buy beyond their target, nor short of it
        assert figures["overfilled_shares"] == 0 and figures["unfilled_shares"] == 0
        assert figures["cost_per_share"] == pytest.approx(figures["avg_fill_px"])
    for name, bps in report["savings_vs_baselines_bps"].items():
        base = report["baselines"][name]["cost_per_share"]
        mine = report["optimized"]["cost_per_share"]
        assert bps == pytest.approx((base - mine) / base * 10_000)
    assert report["trials"]["count"] == trials
    assert report["data"]["venues"] == [2, 5, 8, 9] and report["data"]["source"] == "file"


def test_static_report_says_every_grid_point_tied(static_run):
    work, done = static_run
    report = json.loads(done.stdout)
    check_report(report, {k: [0.1, 0.4, 1.0, 0.6, 0.3, 0.5] for k in PENALTIES}, 27)
    assert report["router"] == {"model": "static"}
    # The static allocator cannot tell grid points apart; the report must say so.
    assert report["trials"]["tied_at_best"] == 27 and report["trials"]["all_tied"]
    assert "every grid point tied" in report["trials"]["note"]
    assert report["best_parameters"] == {
        "lambda_over": 0.1,
        "lambda_under": 0.1,
        "theta_queue": 0.1,
    }
    with open(work / "out" / "trials.csv") as fh:
        trials = list(csv.DictReader(fh))
    assert len(trials) == 27 and len({t["trial_id"] for t in trials}) == 27


def test_cont_kukanov_report_tells_grid_points_apart(sweep_run):
    report = json.loads(sweep_run[1].stdout)
    check_report(
        report,
        {
            "lambda_over": [0.002, 0.01, 0.05],
            "lambda_under": [0.002, 0.01, 0.05],
            "theta_queue": [0.0, 0.001, 0.005],
            "tau_s": [2, 5, 10],
        },
        81,
    )
    assert not report["trials"]["all_tied"] and "note" not in report["trials"]
    with open(sweep_run[0] / "out" / "trials.csv") as fh:
        trials = list(csv.DictReader(fh))
    for tau in ("2.0", "5.0", "10.0"):  # the penalties matter at every horizon, not only tau_s
        assert len({t["objective"] for t in trials if t["tau_s"] == tau}) > 1, tau
    router, optimized = report["router"], report["optimized"]
    assert router["model"] == "cont_kukanov"
    assert router["tau_s"] == report["best_parameters"]["tau_s"]
    decisions = router["decisions"]
    assert decisions["limit_filled"] == optimized["passive_shares"]
    assert sum(decisions["passive_fills_by_cause"].values()) == optimized["passive_shares"]
    assert optimized["rebates_earned"] > 0  # passive fills earn the venue's rebate


def readme_report_keys() -> dict[str, list[str]]:
    """The README's 'Report keys' list: top-level key -> its documented sub-keys."""
    text = (ROOT / "README.md").read_text()
    section = text.split("Report keys", 1)[1].split("\n## ", 1)[0]
    keys = {}
    for item in re.split(r"\n- ", section)[1:]:
        name, _, rest = item.partition(":")
        keys[name.strip("` ")] = re.findall(r"`(\w+)`", rest)
    return keys


def test_readme_lists_exactly_the_report_keys(sweep_run):
    report = json.loads(sweep_run[1].stdout)
    documented = readme_report_keys()
    assert set(documented) == set(report)
    one_mode = {"in_sample", "train_days", "test_days", "folds", "out_of_sample"}
    by_kind = {"strategy", "orders", "intervals"}  # warnings: each kind has some of these
    for key, value in report.items():
        entries = value if isinstance(value, list) else [value]  # days, warnings: each entry's
        if not all(isinstance(entry, dict) for entry in entries) or not entries:
            continue  # in_sample, in_sample_note; no warning
        keys = set().union(*entries)
        assert keys <= set(documented[key]), key
        optional = {"note", "queue_power", "stream", *one_mode, *by_kind}
        assert set(documented[key]) - keys <= optional, key


def test_missing_config_file_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "none.yaml")]) == 2
    assert f"config file not found: {tmp_path / 'none.yaml'}" in capsys.readouterr().err


def test_unknown_config_key_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("data: {path: d.csv}\ngird: {}\n")
    assert main([str(tmp_path / "c.yaml")]) == 2
    assert "unknown key(s) 'gird'" in capsys.readouterr().err


def test_a_failing_trial_fails_the_sweep_with_its_id(tmp_path):
    import ray

    from sweep.config import GridConfig
    from sweep.grid import SweepError, run_grid

    broken = SweepData(days=(Day(None, (ParentOrder(0, 1, 100),)),), fees=FEES, step=100)
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        with pytest.raises(
            SweepError, match=r"trial trainable_\w+_00000.*failed: .*AttributeError"
        ):
            run_grid(
                broken, GridConfig((0.1,), (0.1,), (0.1,)), storage_path=str(tmp_path), verbose=0
            )
    finally:
        ray.shutdown()


def small_day_config(work: Path, extra: str = "") -> Path:
    """A config on a small generated day (fast trials), written into ``work``."""
    from producer.synthetic import generate

    generate(work / "day.csv", seed=3, venues=4, rows=3000)
    (work / "c.yaml").write_text("data: {path: day.csv}\n" + extra)
    return work / "c.yaml"


def test_trials_run_on_the_worker_nodes_of_a_three_node_cluster(tmp_path):
    """--address joins an existing cluster; trials run where the CPUs are, not on the driver's node.

    The head (where the driver and its object store are) has no CPUs, so every trial must run
    on one of the two worker nodes, each with its own object store: the snapshot arrays travel
    between nodes. Which worker takes how many trials is Tune's choice (it reuses a warm actor
    for millisecond trials), so the test pins only what is certain.
    """
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = {cluster.add_node(num_cpus=1).node_id for _ in range(2)}
    cluster.wait_for_nodes()
    try:
        done = run_sweep(small_day_config(tmp_path), tmp_path / "out", "--address", cluster.address)
    finally:
        cluster.shutdown()
    report = json.loads(done.stdout)
    with open(tmp_path / "out" / "trials.csv") as fh:
        nodes = [row["node_id"] for row in csv.DictReader(fh)]
    assert len(nodes) == report["trials"]["count"] == 27
    assert set(nodes) <= workers  # never the head: it has no CPUs
    assert report["trials"]["nodes"] == len(set(nodes))


def test_plot_writes_both_pngs(tmp_path):
    done = run_sweep(small_day_config(tmp_path), tmp_path / "out", "--plot", "--smoke-test")
    assert json.loads(done.stdout)["trials"]["count"] == 1  # --smoke-test: one grid point
    for name in ("fills.png", "grid.png", "savings.png", "tca.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"\x89PNG")


def test_fills_plot_marks_passive_and_clean_up_fills():
    from router.exchange.fills import HOW
    from sweep.plots import fills_figure

    start = 1_000_000_000_000
    router = Fills.of(
        "router",
        300,
        [
            (start + 1, 2, 100, 10.0, 0.003, HOW["take"], 0, -1, 10.0),
            (start + 2, 2, 100, 9.99, -0.002, HOW["queue"], 1, 0, float("nan")),
            (start + 3, 5, 100, 10.01, 0.003, HOW["cleanup"], 2, -1, 10.01),
        ],
    )
    twap = Fills.of("twap", 300, [(start + 1, 2, 300, 10.0, 0.003, HOW["take"], 0, -1, 10.0)])
    fig = fills_figure({"router": router, "twap": twap}, start)
    shares_ax = fig.axes[0]
    marks = {line.get_label(): line for line in shares_ax.get_lines()}
    assert set(marks) == {"router", "twap", "router passive fills", "router clean-up fills"}
    # Each mark sits on the cumulative shares after its fill: 200 after the passive one.
    assert list(marks["router passive fills"].get_ydata()) == [200]
    assert list(marks["router clean-up fills"].get_ydata()) == [300]
    assert marks["router passive fills"].get_color() == marks["router"].get_color()


def test_grid_plot_has_one_map_per_theta_and_tau_and_every_trial_in_its_cell():
    from sweep.config import GridConfig
    from sweep.plots import grid_figure

    grid = GridConfig((0.01, 0.05), (0.01,), (0.0, 0.001), (2.0, 10.0))
    trials = [p.as_dict() | {"objective": 100.0 + i} for i, p in enumerate(grid.points())]
    fig = grid_figure(trials, grid)
    maps = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in maps] == [
        "theta_queue = 0, tau_s = 2",
        "theta_queue = 0.001, tau_s = 2",
        "theta_queue = 0, tau_s = 10",
        "theta_queue = 0.001, tau_s = 10",
    ]
    labels = [[t.get_text() for t in ax.texts] for ax in maps]
    # Grid order: lambda_over slowest, tau_s fastest; each cell is the objective above the best.
    assert labels == [["0.00", "4.00"], ["2.00", "6.00"], ["1.00", "5.00"], ["3.00", "7.00"]]


def test_a_tau_s_grid_is_swept_reported_and_plotted(tmp_path):
    grid = "{lambda_over: [0.01], lambda_under: [0.01, 0.05], theta_queue: [0], tau_s: [5, 20]}"
    config = small_day_config(tmp_path, f"router: {{model: cont_kukanov}}\ngrid: {grid}\n")
    report = json.loads(run_sweep(config, tmp_path / "out", "--plot").stdout)
    assert report["trials"]["count"] == 4
    best = report["best_parameters"]
    assert set(best) == {*PENALTIES, "tau_s"} and best["tau_s"] in (5, 20)
    assert report["router"]["tau_s"] == best["tau_s"]  # the settings of the reported run
    with open(tmp_path / "out" / "trials.csv") as fh:
        trials = list(csv.DictReader(fh))
    assert sorted(float(t["tau_s"]) for t in trials) == [5, 5, 20, 20]
    assert float(trials[0]["objective"]) == report["trials"]["best_objective"]
    assert (tmp_path / "out" / "grid.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_trials_and_the_local_cluster(tmp_path, signal_name):
    """SIGINT (Ctrl-C) or SIGTERM mid-sweep: exit 130, no JSON, no best from a partial grid,
    no Ray left behind."""
    import os
    import signal
    import time

    from tests.audit_gate import interruptible

    values = ", ".join(str(v / 100) for v in range(1, 41))
    grid = f"grid: {{lambda_over: [{values}], lambda_under: [{values}]}}\n"  # 4,800 trials
    config = small_day_config(tmp_path, grid)
    env = os.environ | {"RAY_ADDRESS": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "sweep", str(config), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",  # readline, then communicate, may split a multi-byte character
        cwd=ROOT,
        env=env,
        preexec_fn=interruptible,
    )
    seen = ""
    deadline = time.monotonic() + 120
    while "TERMINATED" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()  # the first trials have finished
    assert "TERMINATED" in seen, seen[-2000:]
    process.send_signal(getattr(signal, signal_name))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-3000:]
    assert out == ""
    assert "interrupted (sweep stopped early:" in err
    assert not (tmp_path / "out" / "report.json").exists()
    leftover = subprocess.run(["pgrep", "-f", f"raylet.*{tmp_path.name}"], capture_output=True)
    assert leftover.stdout == b""


def test_several_days_sum_their_objectives(tmp_path):
    from producer.synthetic import generate_days

    paths = generate_days(tmp_path / "d.csv", seed=3, days=2, rows=3000)
    days = [load_mbp(p) for p in paths]
    point = GridPoint(RouterParams(0.1, 0.1, 0.1))
    both = run_backtest(point, SweepData.build(days, FEES, 5000, 100))
    each = [run_backtest(point, SweepData.build(d, FEES, 5000, 100)) for d in days]
    assert both["objective"] == pytest.approx(sum(e["objective"] for e in each))
    for key in ("total_cash", "filled_shares", "fees_paid", "taken_shares"):
        assert both[key] == pytest.approx(sum(e[key] for e in each)), key
    assert both["avg_fill_px"] == pytest.approx(both["total_cash"] / both["filled_shares"])


def check_days_table(report: dict, dates: list[str]) -> None:
    """The per-day table adds up to the headline figures."""
    days = report["days"]
    assert [d["date"] for d in days] == dates == report["data"]["dates"]
    assert sum(d["rows"] for d in days) == report["data"]["rows"]
    assert sum(d["objective"] for d in days) == pytest.approx(report["trials"]["best_objective"])
    baselines = [(k, v) for k, v in report["baselines"].items() if k != "vwap_note"]
    for name, figures in [("optimized", report["optimized"]), *baselines]:
        per_day = [d["optimized"] if name == "optimized" else d["baselines"][name] for d in days]
        for key in ("total_cash", "filled_shares", "fees_paid"):
            assert figures[key] == pytest.approx(sum(f[key] for f in per_day)), (name, key)
    for day in days:
        assert day["venues"] and set(day["savings_vs_baselines_bps"]) == {
            "best_ask",
            "twap",
            "vwap",
        }


def test_a_two_day_sweep_from_files_reports_each_day(tmp_path):
    from producer.synthetic import generate_days

    generate_days(tmp_path / "days" / "d.csv", seed=3, days=2, rows=3000)
    grid = "grid: {lambda_over: [0.1], lambda_under: [0.1, 0.6], theta_queue: [0.1]}\n"
    (tmp_path / "c.yaml").write_text("data: {path: days/d-*.csv}\n" + grid)
    report = json.loads(run_sweep(tmp_path / "c.yaml", tmp_path / "out", "--plot").stdout)
    check_days_table(report, ["2024-08-01", "2024-08-02"])
    assert report["optimized"]["filled_shares"] == 10_000 and report["trials"]["count"] == 2
    for date in ("2024-08-01", "2024-08-02"):
        assert (tmp_path / "out" / f"fills-{date}.png").read_bytes().startswith(b"\x89PNG")


def test_fills_csv_audits_every_fill_against_what_justified_it(sweep_run):
    """fills.csv has every child fill of every strategy; passive fills come from seller prints
    at or below the bid, each print share used once; takes come from displayed levels."""
    work, done = sweep_run
    report = json.loads(done.stdout)
    with open(work / "out" / "fills.csv") as fh:
        rows = list(csv.DictReader(fh))
    by_strategy = {}
    for fill in rows:
        by_strategy[fill["strategy"]] = by_strategy.get(fill["strategy"], 0) + int(fill["shares"])
    assert {k: v for k, v in by_strategy.items() if k != "router"} == {
        "best_ask": 5000,
        "twap": 5000,
        "vwap": 5000,
    }
    assert report["optimized"]["filled_shares"] == by_strategy["router"] >= 5000
    per_print: dict[tuple, int] = {}
    for fill in rows:
        if fill["how"] in ("queue", "swept"):
            assert fill["print_side"] == "A" and float(fill["print_price"]) <= float(fill["price"])
            key = (
                fill["strategy"],
                fill["venue"],
                fill["state_ts"],
                fill["print_price"],
                fill["print_shares"],
            )
            per_print[key] = per_print.get(key, 0) + int(fill["shares"])
            assert per_print[key] <= int(fill["print_shares"])
            assert float(fill["rebate"]) > 0 and float(fill["fee"]) == 0
        elif fill["how"] == "quote_cross":  # an ask at or below a resting bid
            assert float(fill["level_price"]) <= float(fill["price"])
            assert int(fill["level_shown"]) > 0 and float(fill["rebate"]) > 0
        else:
            assert fill["how"] in ("take", "cleanup")
            assert float(fill["level_price"]) == float(fill["price"])
            assert int(fill["level_shown"]) > 0 and float(fill["fee"]) > 0


def test_fills_csv_shows_the_ask_that_crossed_a_resting_bid(tmp_path):
    """Our bid rests at 10.00; the ask falls to 9.99 with 40 shown (quote crossing on): we fill
    40 at 10.00, and the row shows the evidence, the 9.99 ask level and its 40 shares."""
    from router.exchange.passive import FillRules
    from router.strategies.orders import ParentOrder
    from sweep.report import OrderRun, fill_rows
    from tests.test_cont_kukanov import replay_resting, state

    events = [state(1, bid_size=100, bid=9.98, ask=9.99, ask_size=40)]
    fills, run = replay_resting(tmp_path, events, rules=FillRules(quote_cross=True))
    assert fills == [40]
    snap = run.s
    order = ParentOrder(0, 1, 10_000)
    fills = {"router": Fills.of("router", 10_000, run.records)}
    day = OrderRun(order, snap, fills, {}, 0.0, None, {}, {})
    (record,) = fill_rows(day)
    assert (record["how"], record["price"], record["shares"]) == ("quote_cross", 10.0, 40)
    assert (record["level_price"], record["level_shown"]) == (9.99, 40)
    assert record["rebate"] == 0.002 and record["fee"] == 0.0


def order_run(side: str, prices: dict[str, float]):
    """A 100-share order whose strategies each filled at one price (mirrored for a sell), no
    fees."""
    from router import Closing, summarize
    from router.exchange.fills import HOW
    from router.strategies.orders import ParentOrder
    from sweep.report import OrderRun

    sign = -1 if side == "sell" else 1
    results = {
        name: summarize(
            Fills.of(name, 100, [(1, 2, 100, sign * price, 0.0, HOW["take"], 0, -1, 0.0)]),
            Closing(),
        )
        for name, price in prices.items()
    }
    return OrderRun(ParentOrder(0, 1, 100, side), None, {}, results, 0.0, None, {}, {})


def test_the_vwap_baseline_is_labelled_hindsight():
    """VWAP's schedule divides the volume so far by the whole window's: the report says so
    beside its figures, on the headline and on each day."""
    from sweep.report import BASELINES, _figures

    figures = _figures([order_run("buy", dict.fromkeys(("router", *BASELINES), 10.0))])
    assert figures["baselines"]["vwap_note"].startswith("hindsight benchmark")
    assert set(figures["baselines"]) == {"best_ask", "twap", "vwap", "vwap_note"}


def test_savings_pool_buys_and_sells_without_cancelling_out():
    """A buy at 9.99 against baselines at 10.00 and a sell at 10.01 against 10.00 each save $1
    on $1,000: 10 bps pooled (their costs, 999 and -1,001 against 1,000 and -1,000, would net
    to nothing as one cost per share)."""
    from sweep.report import BASELINES, _figures

    buy = order_run("buy", {"router": 9.99} | dict.fromkeys(BASELINES, 10.0))
    sell = order_run("sell", {"router": 10.01} | dict.fromkeys(BASELINES, 10.0))
    savings = _figures([buy, sell])["savings_vs_baselines_bps"]
    assert savings == {name: pytest.approx(10.0) for name in BASELINES}
    assert _figures([sell])["savings_vs_baselines_bps"]["twap"] == pytest.approx(10.0)


def walk_forward_config(
    tmp_path,
    grid: str = "{lambda_over: [0.002, 0.05], lambda_under: [0.01], theta_queue: [0, 0.005]}",
) -> tuple[Path, list[Path]]:
    """Four days, two orders a day (buys and sells), a Cont & Kukanov grid (four points; tau_s 5
    unless swept), train 2 days, test 1: the config and the days' files."""
    from producer.synthetic import generate_days

    paths = generate_days(tmp_path / "days" / "d.csv", seed=5, days=4, rows=2500)
    (tmp_path / "c.yaml").write_text(
        "data: {path: days/d-*.csv, warmup_s: 0}\n"
        f"router: {{model: cont_kukanov{'' if 'tau_s' in grid else ', tau_s: 5'}}}\n"
        f"grid: {grid}\n"
        "orders: {per_day: 2, size: [500, 1500], side: both, horizon_s: 120, seed: 1}\n"
        "evaluation: {mode: walk_forward, train_days: 2, test_days: 1}\n"
    )
    return tmp_path / "c.yaml", paths


def walk_forward_case(tmp_path, *args: str) -> tuple[dict, dict]:
    """The walk-forward of :func:`walk_forward_config` swept with ``args``; and the
    walk-forward that replays of every point without Ray give."""
    from sweep.config import load_config
    from sweep.evaluation import Matrix, walk_forward
    from sweep.report import replay_orders

    config_path, paths = walk_forward_config(tmp_path)
    report = json.loads(run_sweep(config_path, tmp_path / "out", *args).stdout)
    config = load_config(config_path)
    data = SweepData.configured([load_mbp(p) for p in paths], config)
    trials = [point.as_dict() | run_backtest(point, data) for point in config.grid.points()]
    runs = [r for day in data.days for r in replay_orders(config.grid.points()[0], day, data)]
    dates = [d.snapshots.window.date for d in data.days]
    baselines = {
        name: [[r.results[name].order_cost for r in runs if r.date == d] for d in dates]
        for name in ("best_ask", "twap", "vwap")
    }
    matrix = Matrix.of(trials, config.grid.names, dates, baselines)
    return report, walk_forward(matrix, 2, 1)


def assert_same_walk_forward(report: dict, expected: dict) -> None:
    evaluation = report["evaluation"]
    assert [f["test_dates"] for f in evaluation["folds"]] == [["2024-08-05"], ["2024-08-06"]]
    assert [f["chosen"] for f in evaluation["folds"]] == [f["chosen"] for f in expected["folds"]]
    assert flat(evaluation["folds"]) == pytest.approx(flat(expected["folds"]))
    assert flat(evaluation["out_of_sample"]) == pytest.approx(flat(expected["out_of_sample"]))


def test_a_walk_forward_sweep_matches_single_process_replays(tmp_path):
    report, expected = walk_forward_case(tmp_path, "--plot")
    for name in ("folds.png", "savings.png", "tca.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(b"\x89PNG"), name
    assert len(list((tmp_path / "out").glob("fills-2024-08-0?-*-*.png"))) == 8  # one an order
    assert len(report["orders"]) == 8 and {o["side"] for o in report["orders"]} == {"buy", "sell"}
    assert_same_walk_forward(report, expected)


def test_a_walk_forward_on_a_three_node_cluster_matches_single_process_replays(tmp_path):
    """The head has no CPUs: every trial runs on one of two worker nodes, the days travel
    between object stores; each fold's numbers are still those of a single process."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = {cluster.add_node(num_cpus=1).node_id for _ in range(2)}
    cluster.wait_for_nodes()
    try:
        report, expected = walk_forward_case(tmp_path, "--address", cluster.address)
    finally:
        cluster.shutdown()
    with open(tmp_path / "out" / "trials.csv") as fh:
        assert {row["node_id"] for row in csv.DictReader(fh)} <= workers
    assert_same_walk_forward(report, expected)


def readme_code(heading: str) -> str:
    """The first Python block of the README's section ``heading``."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_recomputes_every_fold_from_costs_csv(tmp_path, monkeypatch):
    """costs.csv is the objective matrix: the README's pandas block, run as printed, finds each
    fold's point and the out-of-sample savings of the report, exactly. The report leads with
    them, labels the rest in-sample, and (not --quiet) prints each warning on stderr."""
    grid = "{lambda_over: [0.002, 0.05], lambda_under: [0.01], theta_queue: [0], tau_s: [5, 10]}"
    config, _ = walk_forward_config(tmp_path, grid)
    done = run_sweep(config, tmp_path / "results", quiet=False)
    report = json.loads(done.stdout)
    monkeypatch.chdir(tmp_path)
    block: dict = {}
    exec(readme_code("Out of sample"), block)

    costs, evaluation = block["costs"], report["evaluation"]
    assert len(costs) == 4 * 8 and list(costs.columns[:5]) == [*PENALTIES, "tau_s", "trial_id"]
    best = costs[costs.trial_id == report["trials"]["best_trial_id"]]
    orders = report["orders"]  # the best point's, by day then start
    for key in ("date", "start", "side", "size"):
        assert list(best[key]) == [o[key] for o in orders], key
    assert list(best.cost) == [o["objective"] for o in orders]
    for name in ("best_ask", "twap", "vwap"):
        assert list(best[name]) == [o["baselines"][name]["order_cost"] for o in orders]

    assert len(evaluation["folds"]) == 2
    recomputed = zip(block["chosen"], block["fold_bps"], strict=True)
    for fold, (trial, bps) in zip(evaluation["folds"], recomputed, strict=True):
        point = costs[costs.trial_id == trial].iloc[0]
        assert fold["chosen"] == {key: point[key] for key in fold["chosen"]}
        assert bps == fold["out_of_sample_bps"]
    assert block["out_of_sample"] == {
        name: figures["weighted_bps"] for name, figures in evaluation["out_of_sample"].items()
    }

    assert list(report)[:4] == ["evaluation", "warnings", "in_sample", "in_sample_note"]
    assert report["in_sample"] is True and "evaluation.out_of_sample" in report["in_sample_note"]
    assert "few_days" in {w["kind"] for w in report["warnings"]}  # two test days
    for entry in report["warnings"]:
        assert f"warning: {entry['message']}\n" in done.stderr


def flat(value, prefix: str = "") -> dict:
    """Nested dicts and lists as one dict of paths to numbers (and other leaves)."""
    if isinstance(value, dict):
        return {
            k: v for key, item in value.items() for k, v in flat(item, f"{prefix}/{key}").items()
        }
    if isinstance(value, list):
        return {
            k: v for i, item in enumerate(value) for k, v in flat(item, f"{prefix}/{i}").items()
        }
    return {prefix: value}


def test_a_walk_forward_with_too_few_days_fails_before_any_trial(tmp_path, capfd):
    rows = [row(at("13:36:32"), 1, 10.00, 300), row(at("13:36:33"), 2, 10.01, 200)]
    write(tmp_path / "d.csv", rows)
    (tmp_path / "c.yaml").write_text(
        "data: {path: d.csv, window: {start: '13:36:32', end: '13:36:40'}}\n"
        "evaluation: {mode: walk_forward, train_days: 2}\n"
    )
    assert main([str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "walk-forward needs at least train_days + test_days = 3 days, the data have 1" in (
        capfd.readouterr().err
    )
    assert not (tmp_path / "out" / "tune").exists()  # no trial ran
