"""``--plot``: fills over time for every strategy, and the objective across the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from router import Fills
from router.config import GridConfig
from router.plotting import pyplot
from router.replay import CLEANUP, PASSIVE


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


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=120)
    pyplot().close(fig)


def write_plots(
    days: list[tuple[str, dict[str, Fills], int]], trials: list[dict], grid: GridConfig, out: Path
) -> list[Path]:
    """grid.png and, per (label, runs, window start) order, fills.png (one order) or
    fills-LABEL.png (several: the date, with the order's start and side when a day has
    several) in ``out``."""
    pyplot()  # fail early, before any file is written
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for label, runs, start_ns in days:
        path = out / ("fills.png" if len(days) == 1 else f"fills-{label.replace(':', '')}.png")
        _save(fills_figure(runs, start_ns), path)
        written.append(path)
    _save(grid_figure(trials, grid), out / "grid.png")
    return [*written, out / "grid.png"]
