"""The default day's fills, pinned byte for byte: a change to the exchange or a strategy that
moves any fill of any strategy (a refactor must not) fails here and says which strategy moved.
A change meant to move fills updates the pins in the same commit and says why."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from producer.source import load_configured
from router import RouterParams
from sweep.backtest import SweepData
from sweep.config import GridPoint, load_config
from sweep.report import FILLS_COLUMNS, fill_rows, replay_orders

DEFAULT = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
#: The default sweep's best point on its day (README: tau 5 s, penalties 0.05, 0.002, 0).
BEST = GridPoint(RouterParams(0.05, 0.002, 0.0), 5.0)
#: Per strategy: the sha256 (first 16 hex digits) of its fills.csv rows, and their number.
PINNED = {
    "router": ("5474168d1f56df6b", 34),
    "best_ask": ("6ae307a23f95f974", 8),
    "twap": ("5eaa3ff71e187cac", 25),
    "vwap": ("3abee7366b82e8e6", 3007),
}


def fills_csv_by_strategy(folder: Path) -> dict[str, str]:
    """fills.csv at the best point on the default day (generated into ``folder``), one text per
    strategy, header included."""
    text = DEFAULT.read_text().replace("../data/synthetic_day.csv", "day.csv")
    (folder / "default.yaml").write_text(text)
    config = load_config(folder / "default.yaml")
    data = SweepData.configured(load_configured(config.data)[0], config)
    runs = replay_orders(BEST, data.days[0], data)
    out = {}
    for name in PINNED:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FILLS_COLUMNS)
        writer.writeheader()
        for run in runs:
            writer.writerows(row for row in fill_rows(run) if row["strategy"] == name)
        out[name] = buffer.getvalue()
    return out


def test_every_strategys_fills_on_the_default_day_are_pinned(tmp_path):
    texts = fills_csv_by_strategy(tmp_path)
    found = {
        name: (hashlib.sha256(text.encode()).hexdigest()[:16], text.count("\n") - 1)
        for name, text in texts.items()
    }
    assert found == PINNED
