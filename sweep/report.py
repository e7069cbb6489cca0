"""The sweep's JSON report: best parameters, the router's figures, baselines, savings, trials."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from router import Snapshots, StrategyResult, savings_bps
from router.config import GridConfig

BASELINES = ("best_ask", "twap", "vwap")


def _number(value: float | None) -> float | None:
    """NaN (Tune's stand-in for 'no fills') back to None, which JSON writes as null."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def rank_trials(trials: list[dict], grid: GridConfig) -> list[dict]:
    """Trials by objective, ties in grid order (lambda_over slowest, the last name fastest)."""
    index: dict[tuple, int] = {}
    for i, point in enumerate(grid.points()):
        index.setdefault(tuple(point.as_dict()[k] for k in grid.names), i)
    return sorted(trials, key=lambda t: (t["objective"], index[tuple(t[k] for k in grid.names)]))


def build_report(
    *,
    trials: list[dict],
    grid: GridConfig,
    baselines: dict[str, StrategyResult],
    optimized: StrategyResult,
    router: dict,
    snapshots: Snapshots,
    source: str,
) -> dict:
    """The report as a JSON-ready dict. Every number in it was computed by the run.

    ``optimized`` is the best parameters' run replayed by the driver; ``router`` names the
    model and its settings (and, for Cont & Kukanov, the best run's decision statistics).
    """
    ranked = rank_trials(trials, grid)
    best = ranked[0]
    tied = sum(1 for t in ranked if t["objective"] == best["objective"])
    window = snapshots.window
    report = {
        "best_parameters": {k: best[k] for k in grid.names},
        "router": router,
        "optimized": optimized.as_dict(),
        "baselines": {name: baselines[name].as_dict() for name in BASELINES},
        "savings_vs_baselines_bps": {
            name: savings_bps(baselines[name], optimized) for name in BASELINES
        },
        "trials": {
            "count": len(trials),
            "tied_at_best": tied,
            "all_tied": tied == len(trials),
            "best_objective": best["objective"],
            "best_trial_id": best["trial_id"],
            "nodes": len({t["node_id"] for t in trials}),
        },
        "data": {
            "rows": len(snapshots),
            "venues": [int(v) for v in snapshots.venues],
            "window": {"date": window.date, "start": window.start, "end": window.end},
            "source": source,
            "quality": snapshots.quality.__dict__,
        },
    }
    if tied == len(trials) > 1:
        report["trials"]["note"] = (
            "every grid point tied: the parameters do not change this model's decisions, "
            "so best_parameters is simply the first grid point"
        )
    return report


def write_outputs(report: dict, trials: list[dict], grid: GridConfig, out: Path) -> None:
    """report.json and trials.csv (one row per trial, best first) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    ranked = rank_trials(trials, grid)
    with open(out / "trials.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ranked[0]))
        writer.writeheader()
        writer.writerows({k: _number(v) for k, v in row.items()} for row in ranked)
