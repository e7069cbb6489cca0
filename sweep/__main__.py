"""``python -m sweep CONFIG.yaml``: consume once, sweep the grid on Ray Tune, print one JSON.

stdout carries only the JSON report; Ray's and Tune's output go to stderr (``--quiet``: nowhere).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import ray

from producer.source import load_configured
from router import Snapshots
from router.config import Config, ConfigError, GridPoint, load_config
from sweep.backtest import SweepData
from sweep.grid import SweepError, SweepInterrupted, run_grid
from sweep.report import build_report, rank_trials, replay_day, write_outputs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sweep",
        description="Tune the Cont & Kukanov router's parameters with a Ray Tune grid search.",
    )
    parser.add_argument("config", type=Path, help="YAML config (see configs/default.yaml)")
    parser.add_argument("--source", choices=("kafka", "file"), help="override the config's source")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--address", help="Ray cluster to join ('auto', host:port)")
    parser.add_argument("--quiet", action="store_true", help="print only the JSON report")
    parser.add_argument("--plot", action="store_true", help="also write PNG plots (extra: plot)")
    parser.add_argument(
        "--smoke-test", action="store_true", help="one grid point only: a fast end-to-end check"
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def stdout_for_json(quiet: bool):
    """Yield a stream onto the real stdout; meanwhile fd 1 goes to stderr (quiet: fds 1 and 2
    go to /dev/null), so nothing Ray, Tune or a worker prints can corrupt the JSON."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    sink = os.open(os.devnull, os.O_WRONLY) if quiet else os.dup(2)
    os.dup2(sink, 1)
    if quiet:
        os.dup2(sink, 2)
    try:
        with open(saved_out, "w", closefd=False) as real_stdout:
            yield real_stdout
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, sink):
            os.close(fd)


@dataclass(frozen=True)
class Loaded:
    """The trading days the driver built once, and where they came from."""

    days: list[Snapshots]
    skipped: list[str]  # empty days skipped (data.skip_empty_days)
    stream: dict | None = None  # Kafka: the stream id, its runs and when it was produced


def load_days(config: Config, source: str) -> Loaded:
    """The snapshot arrays of every day, built once by the driver: from Kafka (consume once)
    or from the files."""
    if source == "kafka":
        from sweep.kafka_source import consume_days

        consumed = consume_days(config)
        stream = {
            "id": consumed.stream,
            "runs": consumed.runs,
            "produced_at": consumed.produced_at,
        }
        return Loaded(consumed.days, [], stream)
    return Loaded(*load_configured(config.data))


def run(config: Config, args: argparse.Namespace) -> dict:
    """The whole sweep; returns the report."""
    source = args.source or config.source
    grid = config.grid.first() if args.smoke_test else config.grid
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    loaded = load_days(config, source)
    timings["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    context = ray.init(
        address=args.address or config.ray_address,
        log_to_driver=not args.quiet,
        configure_logging=True,
        logging_level="ERROR" if args.quiet else "INFO",
    )
    timings["ray_init"] = time.perf_counter() - clock
    try:
        if context.dashboard_url:
            print(f"Ray dashboard: http://{context.dashboard_url}", file=sys.stderr)
        clock = time.perf_counter()
        data = SweepData.build(
            loaded.days,
            config.venues,
            config.order.size,
            config.order.step,
            config.router.placement(),
        )
        trials = run_grid(
            data,
            grid,
            storage_path=str((args.out / "tune").resolve()),
            verbose=0 if args.quiet else 1,
        )
        timings["trials"] = time.perf_counter() - clock
    finally:
        ray.shutdown()

    clock = time.perf_counter()
    best = rank_trials(trials, grid)[0]
    best_point = GridPoint.of(best)
    days = [replay_day(best_point, day, data) for day in data.days]
    objective_total = sum(d.objective for d in days)
    if objective_total != best["objective"]:
        raise SweepError(
            f"the best trial's replay is not reproducible: objective {best['objective']} in the"
            f" trial, {objective_total} replayed by the driver"
        )
    router = config.router.settings()
    if best_point.tau_s is not None:  # swept: the report's settings are the best run's
        router["tau_s"] = best_point.tau_s
    if days[0].decisions is not None:
        router["decisions"] = sum((d.decisions for d in days[1:]), days[0].decisions).as_dict()
    report = build_report(
        trials=trials, grid=grid, days=days, router=router, source=source,
        skipped=loaded.skipped, stream=loaded.stream,
    )  # fmt: skip
    if args.plot:
        from sweep.plots import write_plots

        runs = [(d.snapshots.window.date, d.runs, d.snapshots.window.start_ns) for d in days]
        for path in write_plots(runs, trials, grid, args.out):
            print(f"wrote {path}", file=sys.stderr)
    timings["report"] = time.perf_counter() - clock
    report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    write_outputs(report, trials, grid, args.out)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.source:
        config = replace(config, source=args.source)
    err = os.fdopen(os.dup(2), "w")
    try:
        with stdout_for_json(args.quiet) as out:
            report = run(config, args)
            out.write(json.dumps(report, indent=2) + "\n")
    except (KeyboardInterrupt, SweepInterrupted) as exc:
        detail = f" ({exc})" if str(exc) else ""
        print(f"interrupted{detail}: trials stopped, Ray shut down", file=err)
        return 130
    except Exception as exc:  # one clear line for the user; the traceback when not quiet
        if not args.quiet:
            import traceback

            traceback.print_exc(file=err)
        print(f"error: {exc}", file=err)
        return 1
    finally:
        err.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
