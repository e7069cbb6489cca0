"""Stylized facts of a market-data file: does it behave like a real equity market?

    python -m producer.stylized FILE... [--start HH:MM:SS --end HH:MM:SS] [--tick 0.01] [--json]
        [--plot DIR]

Works on any file the loader reads (our synthetic days and real Databento MBP files alike). Per
file it measures, from the venues' top of book and prints:

- the national best bid and offer (NBBO, best bid and ask across venues): the share of time it
  is locked (bid = ask) or crossed (bid > ask), and the time-weighted spread in ticks;
- trade-throughs: prints outside the NBBO in force just before them (below its bid or above its
  ask);
- per venue, the displayed size at the best bid and ask (median, 10th and 90th percentile);
- what depletes the best bid: a drop of a venue's best-bid size, or the level vanishing, is
  counted as trade-driven when the venue printed at that price at that instant, else as a
  cancellation (or a level pulled);
- trade sizes (median, mean, odd-lot share, blocks of 10,000+) and the autocorrelation of trade
  signs (buyer +1, seller -1) at lags 1 to 50;
- realised volatility of the NBBO mid sampled every 1 s, 1 min and 10 min: the square root of
  the sum of squared log returns over the window, in bps;
- messages per second per venue;
- for order-level files (Databento MBO, LOBSTER), how orders live and end
  (:mod:`router.analysis.order_facts`): the share of adds cancelled within 2 s, the share
  executed, cancelled orders' lifetimes, partial cancels (the file is read a second time for
  its order ids).

``--plot DIR`` also writes ``FILE.stylized.png`` per file (spread, sign autocorrelation at lags
1-50, best-bid sizes per venue, trade sizes); it needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from router import DataError, Snapshots, load_mbp
from router.analysis.nbbo import national_best
from router.analysis.order_facts import order_facts
from router.analysis.plotting import pyplot
from router.data.loader import read_order_messages
from router.data.marketdata import BUY_AGGRESSOR, SELL_AGGRESSOR

TICK = 0.01
LAGS = 50
SAMPLING_S = {"1s": 1, "1min": 60, "10min": 600}


def facts(snap: Snapshots, tick: float = TICK) -> dict:
    """The stylized facts of one snapshot set (see the module docstring); spreads in ``tick``
    units."""
    window = snap.window
    inside = (snap.ts >= window.start_ns) & (snap.ts < window.end_ns)
    nbb, nbo = national_best(snap)
    # Time-weighted over the data: each row's NBBO lasts until the next row (the last: 0).
    until = np.r_[snap.ts[1:], snap.ts[-1:]]
    weight = np.where(inside, np.clip(until - snap.ts, 0, None), 0).astype(float)
    quoted = ~np.isnan(nbb) & ~np.isnan(nbo)
    total = weight[quoted].sum() or np.inf  # a single instant: no time to share, shares are 0
    spread_ticks = np.round((nbo - nbb) / tick)
    spread = {
        str(int(t)): float(weight[quoted & (spread_ticks == t)].sum() / total)
        for t in np.unique(spread_ticks[quoted])
        if weight[quoted & (spread_ticks == t)].sum() > 0
    }
    out = {
        "date": window.date,
        "window": [window.start, window.end],
        "venues": [int(v) for v in snap.venues],
        "nbbo_locked_share": float(weight[quoted & (spread_ticks == 0)].sum() / total),
        "nbbo_crossed_share": float(weight[quoted & (spread_ticks < 0)].sum() / total),
        "spread_ticks_share": dict(sorted(spread.items(), key=lambda item: int(item[0]))),
    }
    out |= _trades(snap, nbb, nbo, inside)
    out |= _queues(snap, inside)
    out |= _volatility(snap, nbb, nbo)
    span = snap.ts[inside]
    seconds = max((span[-1] - span[0]) / 1e9, 1e-9) if len(span) else 1.0
    counts = np.bincount(
        np.searchsorted(snap.venues, snap.publisher_id[inside]), minlength=len(snap.venues)
    )
    out["messages_per_s"] = {
        int(v): float(c / seconds) for v, c in zip(snap.venues, counts, strict=True)
    }
    return out


def _trades(snap: Snapshots, nbb: np.ndarray, nbo: np.ndarray, inside: np.ndarray) -> dict:
    """Trade-throughs against the NBBO before each print, sizes, and sign autocorrelation."""
    row = snap.print_row
    mine = inside[row]
    before = np.maximum(row - 1, 0)  # the NBBO in force just before the print's row
    bid, ask = nbb[before], nbo[before]
    px, size, side = snap.print_px[mine], snap.print_sz[mine], snap.print_side[mine]
    bid, ask = bid[mine], ask[mine]
    through = ((px < bid - 1e-9) | (px > ask + 1e-9)) & ~np.isnan(bid) & ~np.isnan(ask)
    signs = np.where(side == BUY_AGGRESSOR, 1.0, np.where(side == SELL_AGGRESSOR, -1.0, 0.0))
    signs = signs[signs != 0]
    acf = []
    if len(signs) > LAGS + 1:
        centred = signs - signs.mean()
        variance = float((centred**2).mean())
        acf = [
            float((centred[:-lag] * centred[lag:]).mean() / variance) for lag in range(1, LAGS + 1)
        ]
    return {
        "trades": len(px),
        "volume": int(size.sum()),
        "trade_through_share": float(through.mean()) if len(px) else None,
        "trade_size": {
            "median": float(np.median(size)) if len(size) else None,
            "mean": float(size.mean()) if len(size) else None,
            "odd_lot_share": float((size < 100).mean()) if len(size) else None,
            "round_lot_share": float((size % 100 == 0).mean()) if len(size) else None,
            "blocks_10000_plus": int((size >= 10_000).sum()),
        },
        "trade_sign_acf": {
            str(lag): value
            for lag, value in zip(
                (1, 5, 10, 20, 50), [acf[i - 1] for i in (1, 5, 10, 20, 50)], strict=True
            )
        }
        if acf
        else {},
        "trade_sign_acf_lags": acf,  # lags 1 to 50
    }


def _queues(snap: Snapshots, inside: np.ndarray) -> dict:
    """Best-queue sizes per venue, and what depletes each venue's best bid."""
    sizes, trade, cancel = {}, 0, 0
    for venue in snap.venues:
        rows = np.flatnonzero((snap.publisher_id == venue) & inside)
        if not len(rows):
            continue
        bid_sz, ask_sz = snap.bid_sz[rows, 0], snap.ask_sz[rows, 0]
        sizes[int(venue)] = {
            side: {
                q: float(np.percentile(values[values > 0], p))
                for q, p in (("p10", 10), ("median", 50), ("p90", 90))
            }
            if (values > 0).any()
            else {}
            for side, values in (("bid", bid_sz), ("ask", ask_sz))
        }
        px, sz = snap.bid_px[rows, 0], bid_sz
        for i in range(1, len(rows)):
            old_px, old_sz, new_px, new_sz = px[i - 1], sz[i - 1], px[i], sz[i]
            if old_sz <= 0:
                continue
            lost = old_sz - new_sz if new_px == old_px else (old_sz if not new_px > old_px else 0)
            if lost <= 0:
                continue
            r = rows[i]
            printed = snap.print_px[snap.print_start[r] : snap.print_start[r + 1]]
            if (printed <= old_px + 1e-9).any() and len(printed):
                trade += 1
            else:
                cancel += 1
    depletions = trade + cancel
    return {
        "best_queue_size": sizes,
        "best_bid_depletions": depletions,
        "depletions_by_trade_share": trade / depletions if depletions else None,
    }


def _volatility(snap: Snapshots, nbb: np.ndarray, nbo: np.ndarray) -> dict:
    """Realised volatility of the NBBO mid, sampled every 1 s / 1 min / 10 min, in bps."""
    window = snap.window
    mid = (nbb + nbo) / 2
    good = ~np.isnan(mid)
    out = {}
    for name, seconds in SAMPLING_S.items():
        first, last = int(snap.ts[0]), int(snap.ts[-1])
        grid = np.arange(
            max(window.start_ns, first), min(window.end_ns, last) + 1, seconds * 1_000_000_000
        )
        if len(grid) < 2 or not good.any():
            out[name] = None
            continue
        ts, values = snap.ts[good], mid[good]
        at = np.searchsorted(ts, grid, side="right") - 1
        sampled = np.where(at >= 0, values[np.maximum(at, 0)], np.nan)
        returns = np.diff(np.log(sampled[~np.isnan(sampled)]))
        out[name] = float(np.sqrt((returns**2).sum()) * 10_000) if len(returns) else None
    return {"realised_vol_bps": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m producer.stylized", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--start", default="00:00:00", help="UTC window start (default: all)")
    parser.add_argument("--end", default="23:59:59.999999999", help="UTC window end")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--date", help="the trading date, for files that carry none (LOBSTER)")
    parser.add_argument("--tick", type=float, default=TICK, help="price increment (0.01)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="also write PNGs per file here")
    args = parser.parse_args(argv)
    if args.plot:
        pyplot()  # fail early, before any file is read
    results = {}
    for path in args.files:
        try:
            snap = load_mbp(path, args.start, args.end, args.depth, date=args.date)
            if snap.quality.order_messages:
                events, _ = read_order_messages(path, args.date)
        except (DataError, FileNotFoundError, ValueError) as exc:  # bad input: one line, no trace
            print(f"error: {exc}", file=sys.stderr)
            return 2
        results[str(path)] = facts(snap, args.tick)
        if snap.quality.order_messages:
            results[str(path)]["orders"] = order_facts(events, snap.window)
        if args.plot:
            plot(snap, results[str(path)], args.plot / f"{path.name}.stylized.png")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for path, result in results.items():
            print(table(path, result))
    return 0


def plot(snap: Snapshots, result: dict, path: Path) -> None:
    """Four panels: the NBBO spread's time shares, the trade-sign autocorrelation at lags 1-50,
    each venue's best-bid sizes, and trade sizes."""
    plt = pyplot()
    fig, ((spread, acf), (queues, sizes)) = plt.subplots(2, 2, figsize=(11, 7))
    ticks = result["spread_ticks_share"]
    spread.bar(list(ticks), [100 * v for v in ticks.values()])
    spread.set(title="NBBO spread", xlabel="ticks", ylabel="% of time")
    lags = result["trade_sign_acf_lags"]
    acf.plot(range(1, len(lags) + 1), lags, marker=".")
    acf.axhline(0, color="grey", lw=0.5)
    acf.set(title="trade-sign autocorrelation", xlabel="lag (trades)", xscale="log")
    inside = (snap.ts >= snap.window.start_ns) & (snap.ts < snap.window.end_ns)
    by_venue = [snap.bid_sz[inside & (snap.publisher_id == v), 0] for v in snap.venues]
    queues.boxplot([np.maximum(q[q > 0], 1) for q in by_venue], showfliers=False)
    queues.set_xticks(range(1, len(snap.venues) + 1), [str(v) for v in snap.venues])
    queues.set(title="best-bid size per venue", xlabel="publisher id", ylabel="shares",
               yscale="log")  # fmt: skip
    printed = snap.print_sz[inside[snap.print_row]]
    if len(printed):
        sizes.hist(printed, bins=np.logspace(0, np.log10(max(printed.max(), 10)), 40))
    sizes.set(title="trade sizes", xlabel="shares", ylabel="trades", xscale="log")
    fig.suptitle(f"{path.name.removesuffix('.stylized.png')}: {result['date']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(path: str, result: dict) -> str:
    """The facts of one file as aligned text."""

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.2f} %"

    lines = [
        f"{path} ({result['date']} {result['window'][0]}-{result['window'][1]} UTC, "
        f"venues {result['venues']})",
        f"  NBBO locked / crossed          {pct(result['nbbo_locked_share'])} / "
        f"{pct(result['nbbo_crossed_share'])}",
        "  NBBO spread (ticks: time)      "
        + ", ".join(f"{k}: {pct(v)}" for k, v in list(result["spread_ticks_share"].items())[:6]),
        f"  trades outside the NBBO        {pct(result['trade_through_share'])} of "
        f"{result['trades']} trades, {result['volume']} shares",
        f"  trade size                     {result['trade_size']}",
        f"  trade-sign ACF (lags)          {result['trade_sign_acf']}",
        f"  best-bid depletions by trades  {pct(result['depletions_by_trade_share'])} of "
        f"{result['best_bid_depletions']}",
        f"  realised vol (bps)             {result['realised_vol_bps']}",
        f"  messages per second            {result['messages_per_s']}",
        f"  best-queue size per venue      {result['best_queue_size']}",
    ]
    if "orders" in result and result["orders"]["adds"]:
        orders = result["orders"]
        lines += [
            f"  adds cancelled within 2 s      {pct(orders['cancelled_within_2s'])} of "
            f"{orders['adds']} (ever: {pct(orders['cancelled'])})",
            f"  adds executed (any fill)       {pct(orders['executed'])}",
            f"  cancelled orders' lifetime (s) {orders['lifetime_cancelled_s']}",
            f"  partial cancels                {pct(orders['partial_cancels'])}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
