"""Transaction cost analysis of one order's fills: implementation shortfall against the arrival
mid, split into parts that sum to it, and markouts of passive fills (adverse selection).

Shortfall = order cost - size x arrival mid, where the order cost is the objective's (cash,
plus missing shares bought or surplus sold back at the close). With m0 the NBBO mid when the
order starts and m_t the NBBO mid at a fill's exchange time, per share filled q at price p:

- ``spread``: q (p - m_t) for fills before the close: paid by takes, earned (negative) by
  resting orders filled below the mid;
- ``timing``: q (m_t - m0) for those fills: how the market moved before we traded;
- ``cleanup``: q (p - m0) for the shares bought at the close;
- ``fees`` and ``rebates`` (negative): q x fee over every fill;
- ``opportunity``: what the close added: missing shares bought up the displayed asks, or
  surplus sold back down the bids, against m0.

m0 is the NBBO mid in force at the order's start (the first one after it when the data start
later); m_t is taken at the fill's exchange time.

They add up to the shortfall exactly. In bps, each is divided by size x |m0|. A sell replays on
the mirrored book (prices negated), where the same formulas give its shortfall.
"""

from __future__ import annotations

import numpy as np

from router.analysis.metrics import StrategyResult
from router.analysis.nbbo import at_times, mids
from router.data.marketdata import Snapshots
from router.exchange.fills import CLEANUP, PASSIVE, Fills

PARTS = ("spread", "timing", "cleanup", "fees", "rebates", "opportunity")
MARKOUTS_S = (1, 10)


def shortfall(fills: Fills, result: StrategyResult, snap: Snapshots, size: int) -> dict:
    """The shortfall in bps of the arrival mid, and its parts (``PARTS``), also in bps."""
    mid_rows = mids(snap)
    arrival = _arrival_mid(snap, mid_rows)
    if not np.isfinite(arrival) or not np.isfinite(result.order_cost):
        return {"shortfall_bps": None, **dict.fromkeys(PARTS)}
    shares, price = fills.shares.astype(float), fills.price
    closing = fills.liquidity == CLEANUP
    mid = at_times(snap, mid_rows, fills.ts)
    mid = np.where(np.isnan(mid), arrival, mid)
    dollars = {
        "spread": float((shares * (price - mid))[~closing].sum()),
        "timing": float((shares * (mid - arrival))[~closing].sum()),
        "cleanup": float((shares * (price - arrival))[closing].sum()),
        "fees": float((shares * np.maximum(fills.fee, 0)).sum()),
        "rebates": float((shares * np.minimum(fills.fee, 0)).sum()),
        "opportunity": result.order_cost
        - result.total_cash
        - (size - result.filled_shares) * arrival,
    }
    notional = size * abs(arrival)
    total = result.order_cost - size * arrival
    return {
        "arrival_mid": abs(arrival),
        "notional": notional,
        "shortfall_bps": total / notional * 10_000,
    } | {k: v / notional * 10_000 for k, v in dollars.items()}


def combined_shortfall(parts: list[dict]) -> dict:
    """Several orders' shortfalls as one: each figure weighted by the order's notional (size x
    arrival mid), so the result is total dollars over total notional."""
    usable = [p for p in parts if p["shortfall_bps"] is not None]
    weight = sum(p["notional"] for p in usable)
    keys = ("shortfall_bps", *PARTS)
    if not weight:
        return {"orders": 0, **dict.fromkeys(keys)}
    out = {k: sum(p[k] * p["notional"] for p in usable) / weight for k in keys}
    return {"orders": len(usable), **out}


def combined_markouts(per_order: list[dict[int, dict]]) -> dict[int, dict]:
    """Several orders' markouts per venue, share-weighted."""
    counts = ("fills", "shares", *(f"{s}s_shares" for s in MARKOUTS_S))
    out: dict[int, dict] = {}
    moved: dict[int, dict[int, float]] = {}  # per venue and horizon: bps x shares, summed
    for markout in per_order:
        for venue, entry in markout.items():
            total = out.setdefault(venue, dict.fromkeys(counts, 0))
            for key in counts:
                total[key] += entry[key]
            for seconds in MARKOUTS_S:
                weighted = (entry[f"{seconds}s_bps"] or 0.0) * entry[f"{seconds}s_shares"]
                sums = moved.setdefault(venue, dict.fromkeys(MARKOUTS_S, 0.0))
                sums[seconds] += weighted
    for venue, total in out.items():
        for seconds in MARKOUTS_S:
            weight = total[f"{seconds}s_shares"]
            total[f"{seconds}s_bps"] = moved[venue][seconds] / weight if weight else None
    return out


def _arrival_mid(snap: Snapshots, mid: np.ndarray) -> float:
    """The NBBO mid in force when the order starts (or, when the data start later, the first
    one after it); ``mid``: after every row."""
    known = np.flatnonzero(np.isfinite(mid) & (snap.ts <= snap.window.start_ns))
    if len(known):
        return float(mid[known[-1]])
    later = np.flatnonzero(np.isfinite(mid))
    return float(mid[later[0]]) if len(later) else np.nan


def markouts(fills: Fills, snap: Snapshots) -> dict[int, dict]:
    """Per venue, the passive fills' markouts: the NBBO mid ``MARKOUTS_S`` seconds after each
    fill against its price, in bps, share-weighted; positive when the market then moved our
    way (up after a buy), negative for adverse selection. Fills too close to the data's end
    for a horizon are left out of it: ``Ns_shares`` gives the shares each figure is over."""
    passive = fills.liquidity == PASSIVE
    out: dict[int, dict] = {}
    mid_rows = mids(snap) if passive.any() else None
    last = snap.ts[-1] if len(snap) else 0
    for venue in np.unique(fills.publisher_id[passive]):
        mine = passive & (fills.publisher_id == venue)
        shares, price, ts = fills.shares[mine].astype(float), fills.price[mine], fills.ts[mine]
        entry: dict = {"fills": int(mine.sum()), "shares": int(shares.sum())}
        for seconds in MARKOUTS_S:
            later = ts + seconds * 1_000_000_000
            known = later <= last
            move = (
                (at_times(snap, mid_rows, later[known]) - price[known])
                / np.abs(price[known])
                * 10_000
            )
            weights = shares[known]
            entry[f"{seconds}s_bps"] = (
                float((move * weights).sum() / weights.sum()) if weights.sum() else None
            )
            entry[f"{seconds}s_shares"] = int(weights.sum())  # the shares it is over
        out[int(venue)] = entry
    return out
