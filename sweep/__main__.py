"""``python -m sweep CONFIG.yaml``: consume once, sweep the grid on Ray Tune, print one JSON.

stdout carries only the JSON report; Ray's and Tune's output go to stderr (``--quiet``: nowhere).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import ray

from producer.source import load_configured
from router import DataError, Snapshots
from router.analysis.coverage import coverage
from sweep.backtest import SweepData
from sweep.config import Config, ConfigError, DataConfig, GridConfig, GridPoint, load_config
from sweep.costs import write_costs
from sweep.evaluation import check_days, evaluate
from sweep.grid import SweepError, SweepInterrupted, run_grid
from sweep.report import (
    OrderRun,
    arrange,
    build_report,
    objective_matrix,
    rank_trials,
    replay_orders,
    strict_json,
    write_fills,
    write_outputs,
)
from sweep.report_warnings import report_warnings

#: How long joining an existing Ray cluster may take before the sweep gives up.
RAY_CONNECT_TIMEOUT_S = 30.0
_stderr_fd = 2  # main() points this at a copy of the real stderr, which --quiet silences


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
    stored: list[ray.ObjectRef] | None = None  # Kafka: each day already in Ray's object store


def load_sweep_days(config: Config, source: str) -> Loaded:
    """The snapshot arrays of every day, built once by the driver: from Kafka (consume once,
    each day put in Ray's object store as soon as it is verified, so the driver never holds
    more than one day of its own; Ray must be up) or from the files."""
    if source == "kafka":
        from sweep.kafka_source import consume_days

        consumed = consume_days(config, on_day=ray.put)
        stream = {
            "id": consumed.stream,
            "runs": consumed.runs,
            "produced_at": consumed.produced_at,
        }
        # the object store's copies, read in place: no second copy in the driver
        return Loaded(ray.get(consumed.days), [], stream, consumed.days)
    return Loaded(*load_configured(config.data))


def check_coverage(days: list[Snapshots], data: DataConfig) -> None:
    """With ``data.require_full_window``, a day whose data start later or end earlier in its
    window than ``data.max_gap_s`` is an error (otherwise the report warns)."""
    if not data.require_full_window:
        return
    for day in days:
        found = coverage(day)
        if found.short_by() > data.max_gap_s:
            raise DataError(
                f"{day.window.date}: the data cover {day.window.start} to {day.window.end} UTC "
                f"from {found.first_event} to {found.last_event}: they start "
                f"{found.starts_late_s:g} s late and end {found.ends_early_s:g} s early, more "
                f"than data.max_gap_s ({data.max_gap_s:g} s); a file cut short (a .zst cut at a "
                "frame boundary reads cleanly)? Set data.require_full_window: false to sweep "
                "such days with a warning"
            )


@dataclass(frozen=True)
class Outcome:
    """A finished sweep: its report, and what the output files are made of."""

    report: dict
    trials: list[dict]
    grid: GridConfig
    runs: list[OrderRun]


def connect_ray(address: str | None, quiet: bool):
    """``ray.init``, bounded: an address that does not answer fails in seconds, one that
    answers but never completes the handshake within RAY_CONNECT_TIMEOUT_S (Ray itself would
    retry for ten minutes). No address (and no ``RAY_ADDRESS``, which Ray sets for a job's
    driver) starts a new local cluster of our own: never the last cluster started on this
    machine, which Ray would otherwise join, alive or dead."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address != "auto" and "://" not in address:
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError) as exc:
            raise SweepError(
                f"no Ray cluster answers at {address} ({exc}); start one there (ray start "
                "--head) or leave ray.address / --address unset to start a local cluster"
            ) from None
    watchdog = None
    if address:
        watchdog = threading.Timer(RAY_CONNECT_TIMEOUT_S, _give_up_on, [address])
        watchdog.daemon = True
        watchdog.start()
    try:
        context = ray.init(
            address=address or "local",
            log_to_driver=not quiet,
            configure_logging=True,
            logging_level="ERROR" if quiet else "INFO",
        )
    except SystemExit as exc:  # SIGTERM met Ray's own handler, installed inside ray.init
        if exc.code == signal.SIGTERM:
            raise KeyboardInterrupt from None  # ended as Ctrl-C is: one line, exit 130
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
    signal.signal(signal.SIGTERM, _interrupt)  # after ray.init, which installs its own
    return context


def _give_up_on(address: str) -> None:
    """ray.init cannot be interrupted from another thread: say why and end the process."""
    os.write(
        _stderr_fd,
        f"error: could not join the Ray cluster at {address} within "
        f"{RAY_CONNECT_TIMEOUT_S:g} s; is a Ray head running there (ray status)?\n".encode(),
    )
    os._exit(1)


def run(config: Config, args: argparse.Namespace) -> Outcome:
    """The whole sweep, up to the report; files are written by the caller, which shuts Ray
    down afterwards (days read from Kafka live in its object store)."""
    source = args.source or config.source
    grid = config.grid.first() if args.smoke_test else config.grid
    timings: dict[str, float] = {}

    def start_ray():
        clock = time.perf_counter()
        context = connect_ray(args.address or config.ray_address, args.quiet)
        timings["ray_init"] = time.perf_counter() - clock
        return context

    if source == "kafka":  # days go into the object store as they arrive: Ray first
        if config.router.queue_model == "fifo":  # before Ray starts: Kafka carries no orders
            raise SweepError(
                "router.queue_model: fifo needs order-level data (Databento MBO or LOBSTER read "
                "from files); Kafka carries aggregated depth only: use auto, risk_averse or "
                "prob_power, or source: file"
            )
        context = start_ray()
    clock = time.perf_counter()
    loaded = load_sweep_days(config, source)
    if config.evaluation.mode == "walk_forward":  # before any trial runs
        try:
            check_days(len(loaded.days), config.evaluation.train_days, config.evaluation.test_days)
        except ValueError as exc:
            raise SweepError(f"evaluation: {exc}") from None
    check_coverage(loaded.days, config.data)
    try:
        config = replace(config, router=config.router.for_days(loaded.days))
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    timings["load"] = time.perf_counter() - clock

    if source != "kafka":
        context = start_ray()
    if context.dashboard_url:
        print(f"Ray dashboard: http://{context.dashboard_url}", file=sys.stderr)
    clock = time.perf_counter()
    data = SweepData.configured(loaded.days, config)
    trials = run_grid(
        data,
        grid,
        storage_path=str((args.out / "tune").resolve()),
        verbose=0 if args.quiet else 1,
        stored=loaded.stored,
    )
    timings["trials"] = time.perf_counter() - clock

    clock = time.perf_counter()
    best = rank_trials(trials, grid)[0]
    best_point = GridPoint.of(best)
    runs = [run for day in data.days for run in replay_orders(best_point, day, data)]
    objective_total = sum(r.objective for r in runs)
    if objective_total != best["objective"]:
        raise SweepError(
            f"the best trial's replay is not reproducible: objective {best['objective']} in the"
            f" trial, {objective_total} replayed by the driver"
        )
    router = config.router.settings()
    if data.placement is not None:  # the rules that decided which resting orders filled
        router["fills"] = asdict(data.placement.fills)
    if best_point.tau_s is not None:  # swept: the report's settings are the best run's
        router["tau_s"] = best_point.tau_s
    if runs[0].decisions is not None:
        router["decisions"] = sum((r.decisions for r in runs[1:]), runs[0].decisions).as_dict()
    report = build_report(
        trials=trials, grid=grid, days=loaded.days, runs=runs, router=router, source=source,
        skipped=loaded.skipped, stream=loaded.stream, max_gap_s=config.data.max_gap_s,
    )  # fmt: skip
    settings = config.evaluation
    try:
        report["evaluation"] = evaluate(
            objective_matrix(trials, grid, runs, [d.snapshots.window.date for d in data.days]),
            settings.mode, settings.train_days, settings.test_days,
        )  # fmt: skip
    except ValueError as exc:
        raise SweepError(f"evaluation: {exc}") from None
    report = arrange(report, report_warnings(report))
    timings["report"] = time.perf_counter() - clock
    report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return Outcome(strict_json(report), trials, grid, runs)


def write_files(outcome: Outcome, args: argparse.Namespace) -> None:
    """report.json, trials.csv, costs.csv, fills.csv and, with --plot, the PNGs in --out."""
    write_outputs(outcome.report, outcome.trials, outcome.grid, args.out)
    dates = outcome.report["data"]["dates"]
    write_costs(outcome.trials, outcome.grid, outcome.runs, dates, args.out / "costs.csv")
    write_fills(outcome.runs, args.out / "fills.csv")
    if args.plot:
        from sweep.plots import write_plots

        one_a_day = len({r.date for r in outcome.runs}) == len(outcome.runs)
        runs = [
            (
                r.date if one_a_day else f"{r.date}-{r.order.as_dict()['start']}-{r.order.side}",
                r.runs,
                r.snapshots.window.start_ns,
            )
            for r in outcome.runs
        ]
        for path in write_plots(runs, outcome.trials, outcome.grid, outcome.report, args.out):
            print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.source:
        config = replace(config, source=args.source)
    global _stderr_fd
    err = os.fdopen(os.dup(2), "w")
    _stderr_fd = err.fileno()
    signal.signal(signal.SIGTERM, _interrupt)  # until Ray starts; connect_ray sets it again
    try:
        with stdout_for_json(args.quiet) as out, _ray_shut_down_at_the_end():
            outcome = run(config, args)
            out.write(json.dumps(outcome.report, indent=2, allow_nan=False) + "\n")
            out.flush()
            if not args.quiet:  # where a user looks, beside the JSON they may not read
                for entry in outcome.report["warnings"]:
                    print(f"warning: {entry['message']}", file=err)
            try:
                write_files(outcome, args)
            except OSError as exc:
                print(f"error: the report is on stdout, but writing to {args.out} failed: {exc}",
                      file=err)  # fmt: skip
                return 1
    except (ConfigError, DataError) as exc:  # bad input found once loading: one line, exit 2
        print(f"error: {exc}", file=err)
        return 2
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


@contextlib.contextmanager
def _ray_shut_down_at_the_end():
    """Ray stays up until the files are written: the report reads the days in its store."""
    try:
        yield
    finally:
        if ray.is_initialized():
            ray.shutdown()


def _interrupt(signum: int, frame) -> None:
    """SIGTERM ends the sweep as Ctrl-C does: Tune stops its trials, no best from a partial
    grid, exit 130."""
    os.kill(os.getpid(), signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
