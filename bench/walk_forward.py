"""Walk-forward benchmarks (issue 14): the time of one trial, and how it grows.

    .venv/bin/python -m bench.walk_forward [--repeats 3]

1. One whole regular session (13:30-20:00 UTC, 4 venues, seed 7) with 20 parent orders a day
   (1,000-5,000 shares, buys and sells, 300 s each), one grid point: ``run_backtest``'s time
   (a trial's work, without Ray).
2. A trial's time against the number of days (1, 5, 20 days of the month, 10 orders a day) and
   of orders (1, 5, 20 a day, on one day).

The 20-day x 81-point walk-forward itself is ``python -m sweep configs/month.yaml`` (its
``timings_s`` in the report). Days come from ``data/month`` (``python -m producer.synthetic
--seed 7 --days 20 --out data/month/aapl.csv``), made here if absent.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import MONTH, ROOT, TRIAL_POINT, ensure_month, machine, trial_seconds
from producer.synthetic import generate
from router import load_mbp
from router.strategies.orders import OrderGenerator, Orders
from sweep.backtest import SweepData
from sweep.config import load_config


def orders_seconds(days: list, orders: Orders, repeats: int) -> float:
    """The median time of one grid point replayed for every order of ``days``."""
    config = load_config(ROOT / "configs" / "month.yaml")
    data = SweepData.build(days, config.venues, orders, 100,
                           config.router.placement(config.fills), config.latency)  # fmt: skip
    return trial_seconds(data, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures: dict = {"point": TRIAL_POINT.as_dict()}
    with tempfile.TemporaryDirectory(prefix="bench-wf-") as tmp:
        path = Path(tmp) / "session.dbn.zst"
        generate(path, seed=7, start="13:30", end="19:59:59", fmt="dbn")
        session = load_mbp(path, "13:30", "19:59:59")
        twenty = Orders(generator=OrderGenerator(20, (1000, 5000), "both", 300.0))
        figures["full_session_20_orders"] = {
            "rows": len(session),
            "trial_s": orders_seconds([session], twenty, args.repeats),
        }
    ensure_month()
    month = [load_mbp(p) for p in sorted(MONTH.parent.glob("aapl-*.csv"))]
    ten = Orders(generator=OrderGenerator(10, (1000, 5000), "both", 120.0))
    figures["trial_s_by_days"] = {
        str(n): orders_seconds(month[:n], ten, args.repeats) for n in (1, 5, 20)
    }
    figures["trial_s_by_orders_a_day"] = {
        str(n): orders_seconds(
            month[:1], Orders(generator=OrderGenerator(n, (1000, 5000), "both", 120.0)),
            args.repeats,
        )
        for n in (1, 5, 20)
    }  # fmt: skip
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
