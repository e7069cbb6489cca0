"""How right our queue models are: hypothetical orders on an order-level day, their fills under
exact first-in-first-out priority (the truth the order ids give) against what each aggregated
model (book + prints) simulates.

    python -m router.analysis.queue_check FILE... [--date D] [--start 13:35] [--end 19:55]
                                          [--every 2] [--horizon 60] [--models fifo,...]
                                          [--json OUT] [--plot DIR]

Every ``--every`` seconds, on each venue, a one-share buy joins the back of the best bid and a
one-share sell the back of the best ask (no latency: the test is of the queue, not of the
wire). Truth, from the order ids (each message's priority time and the shares it took out of
their queue place, :mod:`router.data.book_builder`): our order stands behind every share at its
price when it joins; a cancel or a modify of an order that was there before ours moves it up;
a fill of an order that came after ours means ours would have filled first: it fills then; a
trade through our price (a seller printing below our bid, a hidden order's included) fills it.
A hidden execution at our price (a trade no displayed order gave, LOBSTER's type 5) neither
moves nor fills it: the displayed orders ahead are still there, and the venue matched the
hidden one for reasons (its own priority rules) that would not favour ours.

The models run in our exchange (:class:`~router.exchange.simulator.Exchange`) on the same day's
book and prints, as a strategy's limit order would; ``fifo`` is the exchange's own exact model
on the day's order events, which should reproduce the truth without quote crossing. Reported
per model and for the truth: the share filled within 1, 10 and 60 s (the horizon), the median
time to fill of the orders filled within the horizon, false fills (the model fills within the
horizon, the truth does not) and missed fills (the reverse), the share filled both ways but
earlier (or later) than the truth, and the queue-position error at 5 s (mean absolute
difference of the shares ahead, over orders resting in both). Shares are of all probes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from router.analysis.plotting import pyplot
from router.data.book_builder import TRADE
from router.data.loader import order_snapshots, read_order_messages
from router.data.marketdata import NS_PER_SECOND, DataError, Snapshots, Window
from router.data.messages import Where
from router.data.order_level import OrderMessages, Reference, run_book
from router.exchange.fees import FeeRate, VenueFees
from router.exchange.fifo import FifoQueue
from router.exchange.passive import FillRules
from router.exchange.queues import PowerProbability, ProbQueueModel, RiskAverseQueueModel
from router.exchange.simulator import Exchange
from router.exchange.timeline import Timeline

FILL = ord("F")
BID, ASK = ord("B"), ord("A")
CHECKPOINT_S = 5.0  # when the queue position is compared
WARMUP_S = 300.0  # loaded before the window, so that the first probe finds a book
WITHIN_S = (1.0, 10.0)  # and the horizon
MODELS = {
    "fifo": FifoQueue(),  # the exchange's exact model: it should give the truth (a self-check)
    "risk_averse": RiskAverseQueueModel(),
    **{f"prob_power_{p}": ProbQueueModel(PowerProbability(float(p))) for p in (1, 2, 3)},
}
NO_FEES = VenueFees(FeeRate(0.0, 0.0))


@dataclass(frozen=True)
class Probes:
    """The hypothetical orders: when each joins, its venue index, whether it buys, its price
    and the shares displayed there (all ahead of it)."""

    ts: np.ndarray
    venue: np.ndarray
    buy: np.ndarray
    price: np.ndarray
    ahead: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


def probes(snap: Snapshots, every_s: float, horizon_s: float) -> Probes:
    """Every ``every_s`` seconds of the window, up to a horizon before its end, on each venue
    with a two-sided book: a buy at the best bid and a sell at the best ask."""
    window = snap.window
    times = np.arange(window.start_ns, window.end_ns - round(horizon_s * NS_PER_SECOND),
                      round(every_s * NS_PER_SECOND), dtype=np.int64)  # fmt: skip
    out = []
    for v, publisher in enumerate(snap.venues):
        rows = np.flatnonzero(snap.publisher_id == publisher)
        at = np.searchsorted(snap.ts[rows], times, side="right") - 1  # the state in force
        ok = at >= 0
        row = rows[np.maximum(at, 0)]
        ok &= (snap.bid_sz[row, 0] > 0) & (snap.ask_sz[row, 0] > 0)
        for buy, px, sz in ((True, snap.bid_px, snap.bid_sz), (False, snap.ask_px, snap.ask_sz)):
            out.append((times[ok], np.full(ok.sum(), v), np.full(ok.sum(), buy),
                        px[row[ok], 0], sz[row[ok], 0]))  # fmt: skip
    columns = [np.concatenate(c) for c in zip(*out, strict=True)]
    order = np.lexsort((~columns[2], columns[1], columns[0]))
    return Probes(*(c[order] for c in columns))


def fifo_truth(
    events: OrderMessages, reference: Reference | None, probes: Probes, publishers: np.ndarray,
    horizon_s: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each probe's fill time under FIFO priority (-1: not within the horizon) and the shares
    ahead of it at the checkpoint (NaN: filled before)."""
    run = run_book(events, 1, reference)
    built = run.built
    # Scanned in time order (a file in receive order may have event times out of order).
    when = np.argsort(events.ts_event, kind="stable")
    columns = (events.ts_event, run.venue, events.action, events.side, run.price, built.priority,
               built.gone_px, built.gone_sz)  # fmt: skip
    return _fifo(
        *(np.ascontiguousarray(c[when]) for c in columns),
        probes.ts,
        np.searchsorted(run.venues, publishers[probes.venue]),  # the probe's venue, as indexed
        probes.buy,
        np.searchsorted(run.prices, probes.price),
        probes.ahead.astype(np.int64),
        round(horizon_s * NS_PER_SECOND),
        round(CHECKPOINT_S * NS_PER_SECOND),
    )


@njit(cache=True)
def _fifo(ts, venue, action, side, price, priority, gone_px, gone_sz, p_ts, p_venue, p_buy,
          p_price, p_ahead, horizon, checkpoint):  # fmt: skip
    n = len(p_ts)
    filled = np.full(n, -1, dtype=np.int64)
    ahead_at = np.full(n, np.nan)
    for k in range(n):
        t, v, px, ahead = p_ts[k], p_venue[k], p_price[k], p_ahead[k]
        ours = BID if p_buy[k] else ASK
        seller = ASK if p_buy[k] else BID  # the aggressor that can reach us
        i = np.searchsorted(ts, t, side="right")
        checked = False
        while i < len(ts) and ts[i] <= t + horizon:
            if not checked and ts[i] > t + checkpoint:
                ahead_at[k], checked = ahead, True
            if venue[i] == v:
                if gone_sz[i] > 0 and side[i] == ours and gone_px[i] == px and priority[i] <= t:
                    ahead = max(ahead - gone_sz[i], 0)  # one ahead of us left its place
                elif action[i] == FILL and side[i] == ours and price[i] == px and priority[i] > t:
                    filled[k] = ts[i]  # an order behind ours executed: ours first
                    break
                elif (
                    action[i] == TRADE
                    and side[i] == seller
                    and price[i] >= 0
                    and ((price[i] < px) if p_buy[k] else (price[i] > px))
                ):
                    filled[k] = ts[i]  # a trade through our price
                    break
            i += 1
        if not checked and filled[k] < 0:
            ahead_at[k] = ahead
    return filled, ahead_at


def model_fills(
    snap: Snapshots, probes: Probes, model, rules: FillRules, horizon_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each probe's fill time in our exchange under a queue model (-1: none within the horizon)
    and the shares ahead it believes at the checkpoint (NaN: filled before)."""
    timelines = {True: Timeline.of(snap, NO_FEES), False: Timeline.of(snap.mirrored(), NO_FEES)}
    filled = np.full(len(probes), -1, dtype=np.int64)
    ahead_at = np.full(len(probes), np.nan)
    horizon = round(horizon_s * NS_PER_SECOND)
    steps = sorted({min(round(s * NS_PER_SECOND), horizon) for s in (1, CHECKPOINT_S, 10, 20, 40)}
                   | {horizon})  # fmt: skip
    for k in range(len(probes)):
        buy, v, t = bool(probes.buy[k]), int(probes.venue[k]), int(probes.ts[k])
        timeline = timelines[buy]
        exchange = Exchange(timeline, 1, model, rules)
        at = np.full(len(timeline.publishers), t)
        exchange.run_until(at)
        price = float(probes.price[k]) * (1 if buy else -1)
        exchange.post(v, price, 1, t, int(probes.ahead[k]))
        for step in steps:
            exchange.run_until(at + step)
            if exchange.filled:
                filled[k] = min(record[0] for record in exchange.records)
                break
            if step == round(CHECKPOINT_S * NS_PER_SECOND):
                ahead_at[k] = exchange.resting[v].ahead
    return filled, ahead_at


def figures(
    filled: np.ndarray, ahead_at: np.ndarray, probes: Probes, horizon_s: float,
    truth: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:  # fmt: skip
    """Fill shares, median time, and against the truth: false and missed fills, queue error."""
    if not len(probes):
        return {}
    wait = np.where(filled >= 0, (filled - probes.ts) / NS_PER_SECOND, np.inf)
    out = {f"filled_within_{s:g}s": float((wait <= s).mean()) for s in (*WITHIN_S, horizon_s)}
    done = np.isfinite(wait)
    out["median_time_to_fill_s"] = float(np.median(wait[done])) if done.any() else None
    if truth is not None:
        true_fill = truth[0] >= 0
        out["false_fills"] = float((~true_fill & (filled >= 0)).mean())
        out["missed_fills"] = float((true_fill & (filled < 0)).mean())
        both = true_fill & (filled >= 0)
        out["earlier_than_truth"] = float((both & (filled < truth[0])).mean())
        out["later_than_truth"] = float((both & (filled > truth[0])).mean())
        both = np.isfinite(ahead_at) & np.isfinite(truth[1])
        out["queue_error_at_5s_shares"] = (
            float(np.abs(ahead_at[both] - truth[1][both]).mean()) if both.any() else None
        )
    return out


def check(
    path: Path, date: str | None, start: str, end: str, every_s: float, horizon_s: float,
    models: dict | None = None, plot_dir: Path | None = None,
) -> dict:  # fmt: skip
    """The accuracy table of one order-level file (see the module docstring); with
    ``plot_dir``, its fill-time curves as a PNG there too."""
    events, reference = read_order_messages(path, date)  # the file read once
    window = Window.on(date or "1970-01-01", start, end, WARMUP_S)
    snap = order_snapshots(Where(path, "message"), events, window, date, 10, reference)
    chosen = probes(snap, every_s, horizon_s)
    table, fills = score(snap, events, reference, chosen, horizon_s, models)
    if plot_dir is not None:
        plot_dir.mkdir(parents=True, exist_ok=True)
        figure = fill_curves(fills, chosen, horizon_s, f"{path.name}, {len(chosen)} probes")
        figure.savefig(plot_dir / f"queues-{path.stem}.png", dpi=120)
    return {
        "file": str(path), "date": snap.window.date, "window_utc": [start, end],
        "orders": len(chosen), "every_s": every_s, "horizon_s": horizon_s, "models": table,
    }  # fmt: skip


def score(
    snap: Snapshots, events: OrderMessages, reference: Reference | None, chosen: Probes,
    horizon_s: float, models: dict | None = None,
) -> tuple[dict, dict[str, np.ndarray]]:  # fmt: skip
    """The table for one day's probes (truth first, then each model with and without quote
    crossing), and each one's fill times."""
    truth = fifo_truth(events, reference, chosen, snap.venues, horizon_s)
    table = {"fifo_truth": figures(*truth, chosen, horizon_s)}
    fills = {"fifo_truth": truth[0]}
    for name, model in (MODELS if models is None else models).items():
        for cross in (False, True):
            found = model_fills(snap, chosen, model, FillRules(quote_cross=cross), horizon_s)
            label = name + (" + quote_cross" if cross else "")
            table[label] = figures(*found, chosen, horizon_s, truth)
            fills[label] = found[0]
    return table, fills


def fill_curves(fills: dict[str, np.ndarray], probes: Probes, horizon_s: float, title: str):
    """The share of probes filled against seconds waited, the truth thick and black."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    seconds = np.linspace(0, horizon_s, 241)
    for name, filled in fills.items():
        wait = np.where(filled >= 0, (filled - probes.ts) / NS_PER_SECOND, np.inf)
        share = (wait[None, :] <= seconds[:, None]).mean(axis=1) if len(wait) else seconds * 0
        truth = name == "fifo_truth"
        style = "--" if "cross" in name else "-"
        ax.plot(seconds, share, label=name, lw=3 if truth else 1,
                color="black" if truth else None, ls=style)  # fmt: skip
    ax.set_xlabel("seconds waited")
    ax.set_ylabel("share of probes filled")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--date", help="the trading date (LOBSTER files carry none)")
    parser.add_argument("--start", default="13:35", help="UTC, HH:MM[:SS]")
    parser.add_argument("--end", default="19:55", help="UTC, HH:MM[:SS]")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between probes")
    parser.add_argument("--horizon", type=float, default=60.0, help="seconds a probe waits")
    parser.add_argument(
        "--models", default=",".join(MODELS),
        help=f"comma-separated, of {', '.join(MODELS)} (default: all; each runs with and "
        "without quote crossing, the truth always): fewer run faster on a busy day",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the tables here too")
    parser.add_argument("--plot", type=Path, help="fill-time curves, a PNG per file, here")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        parser.error(f"--models: {', '.join(unknown) or 'none given'}; expected some of "
                     f"{', '.join(MODELS)}")  # fmt: skip
    models = {name: MODELS[name] for name in names}
    try:
        tables = [check(f, args.date, args.start, args.end, args.every, args.horizon, models,
                        args.plot) for f in args.files]  # fmt: skip
    except (DataError, FileNotFoundError) as exc:  # bad input: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(tables, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
