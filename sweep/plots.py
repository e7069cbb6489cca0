"""``--plot``: fills over time for every strategy, and the objective across the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from router import Fills
from router.config import GridConfig
from sweep.grid import PARAMS


def _pyplot():
    """matplotlib is an optional extra: fail with the install command, not an ImportError."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'sor-sweep[plot]' (or: pip install matplotlib)"
        ) from None
    return plt


def plot_fills(runs: dict[str, Fills], start_ns: int, path: Path) -> None:
    """Cumulative shares and cash (fees included) against seconds into the window."""
    plt = _pyplot()
    fig, (shares_ax, cash_ax) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    # Strategies often overlap (the router and best_ask may fill identically): vary the styles.
    styles = iter([("-", 3.0), ("--", 2.0), ("-.", 1.5), (":", 1.5), ("-", 1.0)])
    for name, fills in runs.items():
        seconds = np.r_[0.0, (fills.ts - start_ns) / 1e9]
        style, width = next(styles, ("-", 1.0))
        for ax, values in ((shares_ax, fills.shares), (cash_ax, fills.cash)):
            ax.step(
                seconds, np.r_[0, np.cumsum(values)], where="post", label=name, ls=style, lw=width
            )
    shares_ax.set_ylabel("shares filled")
    cash_ax.set_ylabel("cash paid ($)")
    cash_ax.set_xlabel("seconds into the window")
    shares_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_grid(trials: list[dict], grid: GridConfig, path: Path) -> None:
    """Objective minus the best, over (lambda_over, lambda_under), one map per theta_queue."""
    plt = _pyplot()
    over, under, thetas = (list(getattr(grid, k)) for k in PARAMS)
    best = min(t["objective"] for t in trials)
    worst = max(t["objective"] for t in trials) - best
    fig, axes = plt.subplots(1, len(thetas), figsize=(4 * len(thetas), 3.6), squeeze=False)
    for ax, theta in zip(axes[0], thetas, strict=True):
        cost = np.full((len(under), len(over)), np.nan)
        for t in trials:
            if t["theta_queue"] == theta:
                cell = (under.index(t["lambda_under"]), over.index(t["lambda_over"]))
                cost[cell] = t["objective"] - best
                ax.text(cell[1], cell[0], f"{cost[cell]:.2f}", ha="center", va="center", color="w")
        image = ax.imshow(cost, origin="lower", cmap="viridis", vmin=0, vmax=worst or 1.0)
        ax.set_xticks(range(len(over)), [f"{v:g}" for v in over])
        ax.set_yticks(range(len(under)), [f"{v:g}" for v in under])
        ax.set_xlabel("lambda_over")
        ax.set_ylabel("lambda_under")
        ax.set_title(f"theta_queue = {theta:g}")
        fig.colorbar(image, ax=ax, label="objective above the best ($)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_plots(
    runs: dict[str, Fills], trials: list[dict], grid: GridConfig, start_ns: int, out: Path
) -> list[Path]:
    """fills.png and grid.png in ``out``."""
    _pyplot()  # fail early, before any file is written
    out.mkdir(parents=True, exist_ok=True)
    fills_png, grid_png = out / "fills.png", out / "grid.png"
    plot_fills(runs, start_ns, fills_png)
    plot_grid(trials, grid, grid_png)
    return [fills_png, grid_png]
