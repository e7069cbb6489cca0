"""Router core benchmark: the allocator against its enumeration, replay speed and scaling.

.venv/bin/python -m bench.router [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import timeit
from pathlib import Path

from bench.common import default_day, machine, median, timed
from producer.synthetic import generate
from router import RouterParams, Timeline, Venue, allocate, compute_cost, load_mbp, run_router
from router.strategies.baselines import simulate_all

PARAMS = RouterParams(0.4, 0.6, 0.3)


def enumerate_allocate(order_size, venues, lambda_over, lambda_under, theta_queue, step=100):
    """The task's pseudocode: every split, the first cheapest wins."""
    splits: list[list[int]] = [[]]
    for venue in venues:
        splits = [
            [*alloc, q]
            for alloc in splits
            for q in range(0, min(order_size - sum(alloc), venue.ask_size) + 1, step)
        ]
    best_cost, best_split = math.inf, []
    for alloc in splits:
        if sum(alloc) == order_size:
            cost = compute_cost(alloc, venues, order_size, lambda_over, lambda_under, theta_queue)
            if cost < best_cost:
                best_cost, best_split = cost, alloc
    return best_split, best_cost


def allocator_ratio(repeats: int) -> dict:
    """5 venues, 5,000 shares, sizes 1,000-3,000: both timed in this run, several books."""
    books = [
        [
            Venue(222.80 + 0.01 * (i * k % 4), 1000 + 500 * ((i + k) % 5), 0.0025 + 1e-4 * i, 0.002)
            for i in range(5)
        ]
        for k in range(1, 4)
    ]
    args = (0.4, 0.6, 0.3)
    oracle, fast = [], []
    for venues in books:
        assert allocate(5000, venues, *args) == enumerate_allocate(5000, venues, *args)
        slow = timeit.repeat(
            lambda v=venues: enumerate_allocate(5000, v, *args), number=1, repeat=3
        )
        quick = timeit.repeat(lambda v=venues: allocate(5000, v, *args), number=200, repeat=repeats)
        oracle.append(median(slow))
        fast.append(median(quick) / 200)
    return {
        "oracle_median_s": median(oracle),
        "allocate_median_s": median(fast),
        "ratio": median(oracle) / median(fast),
        "per_book_ratios": [o / f for o, f in zip(oracle, fast, strict=True)],
    }


def replay_times(snapshots, config, repeats: int) -> dict:
    size, step = config.order.size, config.order.step

    def router() -> None:
        run_router(Timeline.of(snapshots, config.venues), size, step, PARAMS)

    def everything() -> None:
        simulate_all(snapshots, config.venues, size, step, PARAMS)

    router(), everything()  # warm-up
    router_s = median([timed(router) for _ in range(repeats)])
    all_s = median([timed(everything) for _ in range(repeats)])
    return {
        "rows": len(snapshots),
        "router_median_s": router_s,
        "router_rows_per_s": len(snapshots) / router_s,
        "all_four_median_s": all_s,
        "all_four_rows_per_s": len(snapshots) / all_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    config, day = default_day()
    path = config.data.single_file
    load_s = median([timed(lambda: load_mbp(path)) for _ in range(5)])
    one = replay_times(day, config, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp, "big.csv")
        generate(big, seed=7, venues=4, rows=10 * day.quality.rows_read)
        big_load_s = median([timed(lambda: load_mbp(big)) for _ in range(3)])
        ten = replay_times(load_mbp(big), config, max(3, args.repeats // 3))
    figures = {
        "allocator_5_venues_5000_shares": allocator_ratio(args.repeats),
        "load_default_day_median_s": load_s,
        "load_rows_per_s": day.quality.rows_read / load_s,
        "replay_default_day": one,
        "replay_10x_rows": ten,
        "ratios_10x_over_1x": {
            "load": big_load_s / load_s,
            "router": ten["router_median_s"] / one["router_median_s"],
            "all_four": ten["all_four_median_s"] / one["all_four_median_s"],
        },
        "machine": machine(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
