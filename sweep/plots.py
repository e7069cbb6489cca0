"""``--plot``: fills over time for every strategy, and the objective across the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from router import Fills
from router.analysis.plotting import pyplot
from router.analysis.tca import PARTS
from router.exchange.fills import CLEANUP, PASSIVE
from sweep.config import GridConfig


def fills_figure(runs: dict[str, Fills], start_ns: int):
    """Cumulative shares and cash (fees included) against seconds into the window; passive
    fills (limit orders reached in their queue) and clean-up buys are marked on the shares."""
    plt = pyplot()
    fig, (shares_ax, cash_ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    # Strategies often overlap (the router and best_ask may fill identically): vary the styles.
    styles = iter([("-", 3.0), ("--", 2.0), ("-.", 1.5), (":", 1.5), ("-", 1.0)])
    for name, fills in runs.items():
        seconds = np.r_[0.0, (fills.ts - start_ns) / 1e9]
        style, width = next(styles, ("-", 1.0))
        lines = [
            ax.step(seconds, np.r_[0, np.cumsum(v)], where="post", label=name, ls=style, lw=width)
            for ax, v in ((shares_ax, fills.shares), (cash_ax, fills.cash))
        ]
        held = np.cumsum(fills.shares)
        for kind, marker, what in ((PASSIVE, "o", "passive"), (CLEANUP, "x", "clean-up")):
            mine = fills.liquidity == kind
            if mine.any():
                shares_ax.plot(
                    seconds[1:][mine], held[mine], marker, ms=4, ls="none",
                    color=lines[0][0].get_color(), label=f"{name} {what} fills",
                )  # fmt: skip
    shares_ax.set_ylabel("shares filled")
    cash_ax.set_ylabel("cash paid ($)")
    cash_ax.set_xlabel("seconds into the window")
    shares_ax.legend()
    fig.tight_layout()
    return fig


def grid_figure(trials: list[dict], grid: GridConfig):
    """Objective minus the best, over (lambda_over, lambda_under): one map per theta_queue, and
    one row of maps per tau_s when the grid sweeps it."""
    plt = pyplot()
    over, under, thetas = list(grid.lambda_over), list(grid.lambda_under), list(grid.theta_queue)
    taus = list(grid.tau_s) or [None]
    best = min(t["objective"] for t in trials)
    worst = max(t["objective"] for t in trials) - best
    fig, axes = plt.subplots(
        len(taus),
        len(thetas),
        figsize=(3.6 * len(thetas) + 1, 3.4 * len(taus)),
        squeeze=False,
        layout="constrained",
    )
    for row, tau in zip(axes, taus, strict=True):
        for ax, theta in zip(row, thetas, strict=True):
            cost = np.full((len(under), len(over)), np.nan)
            for t in trials:
                if t["theta_queue"] == theta and t.get("tau_s") == tau:
                    cell = (under.index(t["lambda_under"]), over.index(t["lambda_over"]))
                    cost[cell] = t["objective"] - best
                    label = f"{cost[cell]:.2f}"
                    ax.text(cell[1], cell[0], label, ha="center", va="center", color="w")
            image = ax.imshow(cost, origin="lower", cmap="viridis", vmin=0, vmax=worst or 1.0)
            ax.set_xticks(range(len(over)), [f"{v:g}" for v in over])
            ax.set_yticks(range(len(under)), [f"{v:g}" for v in under])
            ax.set_xlabel("lambda_over")
            ax.set_ylabel("lambda_under")
            title = f"theta_queue = {theta:g}" + ("" if tau is None else f", tau_s = {tau:g}")
            ax.set_title(title, fontsize="medium")
    fig.colorbar(image, ax=axes, label="objective above the best ($)")  # one scale for all
    return fig


def savings_figure(evaluation: dict):
    """Savings against each baseline with their 95 % intervals: the mean over orders and the
    volume-weighted figure; out-of-sample in walk_forward mode, else in-sample (so titled)."""
    plt = pyplot()
    walk = evaluation["mode"] == "walk_forward"
    figures = evaluation["out_of_sample" if walk else "in_sample"]
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    for offset, key in ((-0.12, "mean_bps"), (0.12, "weighted_bps")):
        for x, f in enumerate(figures.values()):
            if f.get(key) is None:
                continue
            low, high = f.get(f"{key}_ci95", [f[key], f[key]])
            ax.errorbar(x + offset, f[key], yerr=[[f[key] - low], [high - f[key]]], fmt="o",
                        capsize=4, color="C0" if key == "mean_bps" else "C1",
                        label=key.replace("_bps", "") if x == 0 else None)  # fmt: skip
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(figures)), list(figures))
    ax.set_ylabel("savings, bps (95 % interval)")
    ax.set_title("out-of-sample savings (walk-forward)" if walk else "in-sample savings")
    ax.legend()
    return fig


def folds_figure(evaluation: dict, grid: GridConfig):
    """Each walk-forward fold's chosen grid point, by its test day's date."""
    plt = pyplot()
    points = [p.as_dict() for p in grid.points()]
    chosen = [points.index(f["chosen"]) for f in evaluation["folds"]]
    labels = {i: ", ".join(f"{v:g}" for v in points[i].values()) for i in sorted(set(chosen))}
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(chosen) + 2), 4), layout="constrained")
    ax.plot(range(len(chosen)), chosen, marker="o")
    ax.set_xticks(range(len(chosen)), [f["test_dates"][0][5:] for f in evaluation["folds"]],
                  rotation=90)  # fmt: skip
    ax.set_yticks(list(labels), list(labels.values()))
    ax.set_ylim(-0.5, len(points) - 0.5)
    ax.set_xlabel("test day")
    ax.set_ylabel(", ".join(grid.names))
    ax.set_title(f"chosen point per fold ({len(points)} grid points)")
    return fig


def tca_figure(tca: dict):
    """Each strategy's shortfall parts stacked (bps of the arrival notional), the total
    marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    names = list(tca)
    for i, name in enumerate(names):
        up = down = 0.0
        for k, part in enumerate(PARTS):
            value = tca[name][part] or 0.0
            base = up if value >= 0 else down
            ax.bar(i, value, bottom=base, color=f"C{k}", label=part if i == 0 else None)
            up, down = (up + value, down) if value >= 0 else (up, down + value)
        if tca[name]["shortfall_bps"] is not None:
            ax.plot(i, tca[name]["shortfall_bps"], "k_", markersize=30, mew=2)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("bps of arrival notional (bar: total)")
    ax.set_title("implementation shortfall by part")
    ax.legend(fontsize="small", ncols=3)
    return fig


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=120)
    pyplot().close(fig)


#: More orders than this: no fills PNG per order (the JSON and fills.csv have them all).
MAX_FILLS_PLOTS = 20


def write_plots(
    days: list[tuple[str, dict[str, Fills], int]],
    trials: list[dict],
    grid: GridConfig,
    report: dict,
    out: Path,
) -> list[Path]:
    """In ``out``: grid.png, savings.png, tca.png, folds.png (walk_forward), and per
    (label, runs, window start) order fills.png (one order) or fills-LABEL.png (up to
    ``MAX_FILLS_PLOTS``: the date, with the order's start and side when a day has several)."""
    pyplot()  # fail early, before any file is written
    out.mkdir(parents=True, exist_ok=True)
    figures = {"grid.png": grid_figure(trials, grid)}
    if len(days) <= MAX_FILLS_PLOTS:
        for label, runs, start_ns in days:
            name = "fills.png" if len(days) == 1 else f"fills-{label.replace(':', '')}.png"
            figures[name] = fills_figure(runs, start_ns)
    figures["savings.png"] = savings_figure(report["evaluation"])
    figures["tca.png"] = tca_figure(report["tca"])
    if report["evaluation"]["mode"] == "walk_forward":
        figures["folds.png"] = folds_figure(report["evaluation"], grid)
    for name, fig in figures.items():
        _save(fig, out / name)
    return [out / name for name in figures]
