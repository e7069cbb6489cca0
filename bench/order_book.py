"""How fast the compiled order book rebuilds a day from order-level messages (issue 20: at least
2 million messages a second on one core), and its peak memory.

    .venv/bin/python -m bench.order_book [--messages 10000000] [--depth 10] [--repeats 3]

The day is random but consistent: four venues; orders join near a drifting mid, about half the
adds cancelled soon, some filled (a trade, the fill and the cancel that takes the shares, as
Databento writes an execution), a few modified; every cancel names a live order. Throughput is
messages over the median time (after one compiling call), of the compiled book alone (the
kernel) and of the whole rebuild, which also hashes the order ids (compiled, timed alone as
``ids_s``) and prices (``pandas.factorize``) into dense indices and gathers the rows written.
Peak memory is the process's maximum resident set, measured in a fresh process for the rebuild
alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from numba import njit

from bench.common import machine, median
from router.data.book_builder import build_book
from router.data.order_level import OrderMessages, _sorted_codes, order_index, rebuild

A, C, M, T, F, BID, ASK = (ord(c) for c in "ACMTFBA")


@njit(cache=True)
def _generate(n, seed):
    """Order messages: (ts, venue, order id, action, side, price in ticks, size, last)."""
    np.random.seed(seed)
    ts = np.empty(n, np.int64)
    venue = np.empty(n, np.int64)
    oid = np.empty(n, np.int64)
    action = np.empty(n, np.uint8)
    side = np.empty(n, np.uint8)
    price = np.empty(n, np.int64)
    size = np.empty(n, np.int64)
    last = np.ones(n, np.bool_)
    live = np.empty(n, np.int64)  # live order ids (swap-remove)
    o_side = np.zeros(n + 1, np.uint8)
    o_price = np.zeros(n + 1, np.int64)
    o_size = np.zeros(n + 1, np.int64)
    o_venue = np.zeros(n + 1, np.int64)
    n_live, next_id, mid, t, i = 0, 1, 22_300, 0, 0
    while i < n:
        t += np.random.randint(1, 20_000)
        if np.random.random() < 0.001:
            mid += np.random.randint(-1, 2)
        r = np.random.random()
        if n_live < 50 or r < 0.5:  # add
            s = BID if np.random.random() < 0.5 else ASK
            away = 1 + np.random.randint(0, 10)
            p = mid - away if s == BID else mid + away
            q = 100 * np.random.randint(1, 5)
            v = np.random.randint(0, 4)
            o_side[next_id], o_price[next_id], o_size[next_id], o_venue[next_id] = s, p, q, v
            ts[i], venue[i], oid[i], action[i], side[i], price[i], size[i] = (
                t,
                v,
                next_id,
                A,
                s,
                p,
                q,
            )
            live[n_live] = next_id
            n_live += 1
            next_id += 1
            i += 1
            continue
        k = np.random.randint(0, n_live)
        o = live[k]
        v, s, p, q = o_venue[o], o_side[o], o_price[o], o_size[o]
        if r < 0.9 or i + 3 > n:  # cancel the whole order
            ts[i], venue[i], oid[i], action[i], side[i], price[i], size[i] = t, v, o, C, s, p, q
            live[k] = live[n_live - 1]
            n_live -= 1
            i += 1
        elif r < 0.95:  # modify: a smaller size keeps its place
            q2 = max(q - 100, 100)
            o_size[o] = q2
            ts[i], venue[i], oid[i], action[i], side[i], price[i], size[i] = t, v, o, M, s, p, q2
            i += 1
        else:  # executed: trade (aggressor the other side), fill, cancel; one event
            ts[i : i + 3], venue[i : i + 3], price[i : i + 3], size[i : i + 3] = t, v, p, q
            oid[i], action[i], side[i], last[i] = 0, T, ASK if s == BID else BID, False
            oid[i + 1], action[i + 1], side[i + 1], last[i + 1] = o, F, s, False
            oid[i + 2], action[i + 2], side[i + 2] = o, C, s
            i += 3
            live[k] = live[n_live - 1]
            n_live -= 1
    return ts, venue, oid, action, side, price, size, last


def synthetic_day(n: int, seed: int = 7) -> OrderMessages:
    ts, venue, oid, action, side, price, size, last = _generate(n, seed)
    start = int(np.datetime64("2024-08-01T13:30", "ns").astype(np.int64))
    return OrderMessages(
        ts_event=start + ts, ts_recv=start + ts + 50_000,
        publisher_id=np.array([2, 5, 8, 9], dtype=np.uint16)[venue],
        order_id=oid.astype(np.uint64), action=action, side=side, price=price / 100.0, size=size,
        last=last, number=np.arange(1, n + 1),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    day = synthetic_day(args.messages)
    if args.memory_only:  # high-water marks: after making the day, and after its rebuild too
        made = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rebuild(day, args.depth)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"peak_after_making_the_day_mb": made, "peak_after_rebuild_mb": peak}))
        return
    rebuild(synthetic_day(10_000), args.depth)  # compile (or load numba's cache)
    times, kernel, ids = [], [], []
    price, prices = _sorted_codes(day.price)
    venue = np.searchsorted(np.unique(day.publisher_id), day.publisher_id)
    order = order_index(venue, day.order_id, 4)
    for _ in range(args.repeats):
        start = time.perf_counter()
        _, built, _ = rebuild(day, args.depth)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        build_book(day.ts_event, venue, order, day.action, day.side, price, day.size, day.last,
                   prices, args.depth)  # fmt: skip
        kernel.append(time.perf_counter() - start)
        start = time.perf_counter()
        order_index(venue, day.order_id, 4)
        ids.append(time.perf_counter() - start)
    memory = subprocess.run(
        [sys.executable, "-m", "bench.order_book", "--messages", str(args.messages),
         "--depth", str(args.depth), "--memory-only"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    seconds = median(times)
    print(json.dumps({
        "messages": args.messages,
        "depth": args.depth,
        "rows_emitted": len(built.emitted),
        "rebuild_s": seconds,
        "messages_per_s": args.messages / seconds,
        "kernel_s": median(kernel),
        "kernel_messages_per_s": args.messages / median(kernel),
        "ids_s": median(ids),
        "counts": built.counts,
        "memory": json.loads(memory),
        "machine": machine(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
