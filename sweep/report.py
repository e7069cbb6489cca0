"""The sweep's JSON report: best parameters, the router's figures, baselines, savings, trials,
and a table with one entry per trading day."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from router import Fills, Snapshots, StrategyResult, run_baselines
from router.analysis.coverage import coverage
from router.analysis.metrics import combine, pooled_savings_bps, summarize
from router.analysis.tca import (
    MARKOUTS_S,
    combined_markouts,
    combined_shortfall,
    markouts,
    shortfall,
)
from router.data.marketdata import SIDES
from router.exchange.fills import HOWS
from router.strategies.cont_kukanov import DecisionStats
from router.strategies.orders import ParentOrder
from sweep.backtest import Day, SweepData, replay_router
from sweep.config import GridConfig, GridPoint
from sweep.evaluation import Matrix

BASELINES = ("best_ask", "twap", "vwap")
#: Beside the vwap figures: its schedule is not one a trader could have followed.
VWAP_NOTE = (
    "hindsight benchmark: its schedule follows the volume traded so far as a share of the "
    "whole window's volume, which is known only once the window has closed (prices are never "
    "looked ahead)"
)


def _number(value: float | None) -> float | None:
    """NaN (Tune's stand-in for 'no fills') back to None, which JSON writes as null."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def rank_trials(trials: list[dict], grid: GridConfig) -> list[dict]:
    """Trials by objective, ties in grid order (lambda_over slowest, the last name fastest)."""
    index = _grid_index(grid)
    return sorted(trials, key=lambda t: (t["objective"], index[tuple(t[k] for k in grid.names)]))


def _grid_index(grid: GridConfig) -> dict[tuple, int]:
    index: dict[tuple, int] = {}
    for i, point in enumerate(grid.points()):
        index.setdefault(tuple(point.as_dict()[k] for k in grid.names), i)
    return index


def in_grid_order(trials: list[dict], grid: GridConfig) -> list[dict]:
    """The trials in grid order: the first of equal costs is then the grid's first."""
    index = _grid_index(grid)
    return sorted(trials, key=lambda t: index[tuple(t[k] for k in grid.names)])


def objective_matrix(
    trials: list[dict], grid: GridConfig, runs: list[OrderRun], dates: list[str]
) -> Matrix:
    """Every trial's cost of every order (from the trials, in grid order) and every baseline's
    (from the driver's replay: a baseline's cost does not depend on the grid point)."""
    ordered = in_grid_order(trials, grid)
    baselines = {
        name: [[r.results[name].order_cost for r in runs if r.date == date] for date in dates]
        for name in BASELINES
    }
    return Matrix.of(ordered, grid.names, dates, baselines)


@dataclass(frozen=True, eq=False)
class OrderRun:
    """One parent order replayed by the driver: the best point's router run and the
    baselines, on the order's view of its day (mirrored for a sell)."""

    order: ParentOrder
    snapshots: Snapshots
    runs: dict[str, Fills]  # router first, then the baselines
    results: dict[str, StrategyResult]
    objective: float  # the router's, as a trial computes it
    decisions: DecisionStats | None
    tca: dict[str, dict]  # per strategy: its shortfall and parts (router.analysis.tca)
    markouts: dict[int, dict]  # the router's passive fills, per venue

    @property
    def date(self) -> str:
        return self.snapshots.window.date


def replay_orders(point: GridPoint, day: Day, data: SweepData) -> list[OrderRun]:
    """The router at ``point`` and every baseline, for each order of one day."""
    out = []
    for order in day.orders:
        view = order.view(day.snapshots)
        timeline = data.timeline(view)
        fills, decisions = replay_router(point, timeline, order.size, data)
        runs = {"router": fills, **run_baselines(timeline, order.size)}
        results = {name: summarize(f) for name, f in runs.items()}
        tca = {name: shortfall(runs[name], r, view, order.size) for name, r in results.items()}
        out.append(OrderRun(order, view, runs, results, results["router"].order_cost, decisions,
                            tca, markouts(runs["router"], view)))  # fmt: skip
    return out


def _figures(runs: list[OrderRun]) -> dict:
    """The strategies' figures over ``runs`` (sums; averages over all of them) and the router's
    savings against each baseline, pooled over the orders (total saved over total baseline
    cost, so buys and sells do not cancel out)."""
    combined = {name: combine([r.results[name] for r in runs]) for name in runs[0].results}
    return {
        "optimized": combined["router"].as_dict(),
        "baselines": {name: combined[name].as_dict() for name in BASELINES}
        | {"vwap_note": VWAP_NOTE},
        "savings_vs_baselines_bps": {
            name: pooled_savings_bps([(r.results[name], r.results["router"]) for r in runs])
            for name in BASELINES
        },
    }


def _quality(days: list[Snapshots]) -> dict:
    """The loader's counts summed over days; what each day was read as, listed once."""
    combined: dict = {}
    for day in days:
        for key, value in asdict(day.quality).items():
            if isinstance(value, str):
                combined[key] = ",".join(dict.fromkeys(filter(None, [combined.get(key), value])))
            else:
                combined[key] = combined.get(key, 0) + value
    return combined


def build_report(
    *,
    trials: list[dict],
    grid: GridConfig,
    days: list[Snapshots],
    runs: list[OrderRun],
    router: dict,
    source: str,
    skipped: list[str],
    stream: dict | None,
    max_gap_s: float = 60.0,
) -> dict:
    """The report as a JSON-ready dict. Every number in it was computed by the run.

    The headline figures are over every order of every day (cash and shares summed, average
    prices over all of them); ``days`` gives each day's, ``orders`` each order's. ``router``
    names the model and its settings (and, for Cont & Kukanov, the best run's decision
    statistics over every order).
    """
    ranked = rank_trials(trials, grid)
    best = ranked[0]
    tied = sum(1 for t in ranked if t["objective"] == best["objective"])
    snapshots = days
    window = snapshots[0].window
    names = list(runs[0].results)
    report = {
        "best_parameters": {k: best[k] for k in grid.names},
        "router": router,
        **_figures(runs),
        "trials": {
            "count": len(trials),
            "tied_at_best": tied,
            "all_tied": tied == len(trials),
            "best_objective": best["objective"],
            "best_trial_id": best["trial_id"],
            "nodes": len({t["node_id"] for t in trials}),
        },
        "data": {
            "rows": sum(len(s) for s in snapshots),
            "venues": sorted({int(v) for s in snapshots for v in s.venues}),
            "dates": [s.window.date for s in snapshots],
            "window": {"start": window.start, "end": window.end},
            "source": source,
            "quality": _quality(snapshots),
            "skipped_days": skipped,
            "max_gap_s": max_gap_s,  # a day's data starting or ending further in: a warning
        },
        "days": [
            {
                "date": d.window.date,
                "rows": len(d),
                "venues": [int(v) for v in d.venues],
                "orders": sum(1 for r in runs if r.date == d.window.date),
                "quality": _quality([d]),
                "coverage": asdict(coverage(d)),
                "objective": sum(r.objective for r in runs if r.date == d.window.date),
                **_figures([r for r in runs if r.date == d.window.date]),
            }
            for d in days
        ],
        "orders": [
            {
                "date": r.date,
                **r.order.as_dict(),
                "objective": r.objective,
                **_figures([r]),
                "tca": r.tca,
            }
            for r in runs
        ],
        "tca": {name: combined_shortfall([r.tca[name] for r in runs]) for name in names},
        "markouts": {
            "horizons_s": list(MARKOUTS_S),
            "venues": {str(v): m for v, m in combined_markouts([r.markouts for r in runs]).items()},
        },
    }
    if stream is not None:
        report["data"]["stream"] = stream
    if tied == len(trials) > 1:
        report["trials"]["note"] = (
            "every grid point tied: the parameters do not change this model's decisions, "
            "so best_parameters is simply the first grid point"
        )
    return report


#: Beside the top-level figures, which are those of the point chosen over every day.
IN_SAMPLE_NOTE = (
    "in-sample: best_parameters, router, optimized, savings_vs_baselines_bps, days, orders, tca "
    "and markouts are those of the point with the lowest cost over all days, read out on those "
    "same days, so its savings are biased upwards; "
)
OUT_OF_SAMPLE_NOTES = {
    "walk_forward": "evaluation.out_of_sample gives the walk-forward's out-of-sample savings",
    "in_sample": "evaluation.mode walk_forward gives out-of-sample savings",
}


def arrange(report: dict, warnings: list[dict]) -> dict:
    """The report in reading order: in walk_forward mode the out-of-sample evaluation first,
    then the warnings, then the in-sample figures, labelled so."""
    mode = report["evaluation"]["mode"]
    lead = {"evaluation": report["evaluation"]} if mode == "walk_forward" else {}
    labels = {"in_sample": True, "in_sample_note": IN_SAMPLE_NOTE + OUT_OF_SAMPLE_NOTES[mode]}
    return lead | {"warnings": warnings} | labels | report


def write_outputs(report: dict, trials: list[dict], grid: GridConfig, out: Path) -> None:
    """report.json and trials.csv (one row per trial, best first) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    ranked = rank_trials(trials, grid)
    with open(out / "trials.csv", "w", newline="") as fh:
        columns = [k for k in ranked[0] if k != "costs"]  # per order: in costs.csv
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _number(v) for k, v in row.items()} for row in ranked)


def strict_json(value, key: str = ""):
    """``value`` with every non-finite number replaced by null and a ``<key>_note`` beside it
    saying why, so that any JSON parser reads the report (JSON has no Infinity or NaN).

    The one source of an infinite figure is an objective whose unfilled shares no displayed ask
    could price at the window's end."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = strict_json(v, k)
            if isinstance(v, float) and not math.isfinite(v):
                out[f"{k}_note"] = (
                    "not finite: shares were left unfilled (or a sell oversold) and the side "
                    "that would price them showed nothing at the window's end"
                    if math.isinf(v)
                    else "not a number"
                )
        return out
    if isinstance(value, list):
        return [strict_json(v, key) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


FILLS_COLUMNS = (
    "date", "order_start", "strategy", "ts", "venue", "side", "price", "shares", "how", "fee",
    "rebate", "state_ts", "print_price", "print_shares", "print_side", "level_price",
    "level_shown",
)  # fmt: skip
_OTHER_SIDE = {"A": "B", "B": "A", "N": "N"}


def fill_rows(run: OrderRun):
    """One dict per child fill of every strategy for one order, with what justified it: the
    print (price, shares, aggressor side) or the displayed level (price, shares shown): the
    level taken, or the one that crossed a resting order. A sell's fills are written as the
    market showed them (its replay ran on the mirrored book): prices positive, its levels bids,
    its prints' sides as printed."""
    snap, sell = run.snapshots, run.order.side == "sell"
    sign = -1.0 if sell else 1.0
    for name, fills in run.runs.items():
        for i in range(len(fills.ts)):
            row, index, price = int(fills.row[i]), int(fills.print_index[i]), fills.price[i]
            fee = float(fills.fee[i])
            record = {
                "date": run.date,
                "order_start": run.order.as_dict()["start"],
                "strategy": name,
                "ts": iso_ns(int(fills.ts[i])),
                "venue": int(fills.publisher_id[i]),
                "side": run.order.side,
                "price": sign * float(price),
                "shares": int(fills.shares[i]),
                "how": HOWS[fills.how[i]],
                "fee": max(fee, 0.0),
                "rebate": max(-fee, 0.0),
                "state_ts": iso_ns(int(snap.ts[row])),
            }
            if index >= 0:
                side = SIDES[int(snap.print_side[index])]
                record |= {
                    "print_price": sign * float(snap.print_px[index]),
                    "print_shares": int(snap.print_sz[index]),
                    "print_side": _OTHER_SIDE[side] if sell else side,
                }
            else:
                level_price = float(fills.level_price[i])
                level = np.flatnonzero(snap.ask_px[row] == level_price)
                record |= {
                    "level_price": sign * level_price,
                    "level_shown": int(snap.ask_sz[row, level[0]]) if len(level) else 0,
                }
            yield record


def write_fills(runs: list[OrderRun], path: Path) -> None:
    """fills.csv: every child fill of every strategy at the best point, auditable row by row."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FILLS_COLUMNS)
        writer.writeheader()
        for run in runs:
            writer.writerows(fill_rows(run))


def iso_ns(ts: int) -> str:
    """ISO-8601 UTC with nanoseconds, as Databento writes timestamps."""
    return str(np.datetime64(ts, "ns")) + "Z"
