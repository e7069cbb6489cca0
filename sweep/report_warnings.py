"""The report's ``warnings``: figures that look fine but rest on something weak, each said with
its figure and the threshold it crossed. Pure functions of the report's parts, so tests build
their inputs by hand."""

from __future__ import annotations

from router.analysis.coverage import Coverage
from sweep.report import BASELINES

#: Above this share of prints without an aggressor side, ignoring them starves resting orders.
UNKNOWN_SIDE_SHARE = 0.05
#: Any share priced beyond the displayed depth is priced by a guess (the worst level shown).
BEYOND_DEPTH_SHARES = 0
#: Any share left unfilled is a trade the replay never made, priced at the close.
UNFILLED_SHARES = 0
#: Beyond a cancel race's few lots, surplus is a strategy buying what it did not need.
SURPLUS_SHARE = 0.02
#: Days are the intervals' independent samples: fewer than this and an interval is wide and
#: leans on the day figures being near normal (unequal or skewed days then cover below 95 %).
MIN_INTERVAL_DAYS = 10


def report_warnings(report: dict) -> list[dict]:
    """Every warning the report's parts call for (an empty list when none does)."""
    return [
        *unknown_sides(report["data"]["quality"], report["router"], report["days"]),
        *strategy_warnings(report["orders"]),
        *few_days(report["evaluation"]),
        *short_windows(report["days"], report["data"]["max_gap_s"]),
    ]


def _warning(kind: str, message: str, value: float, threshold: float, **context) -> dict:
    """One entry: the figures for a program, the message (stating them) for a reader."""
    return {"kind": kind, "message": message, "value": value, "threshold": threshold, **context}


def unknown_sides(quality: dict, router: dict, days: list[dict] = ()) -> list[dict]:
    """Prints of unknown side (``N``) fill no resting order unless ``fills.unsigned_trades`` is
    ``both``: above a few percent of the prints, the router's passive fills are understated.
    Over all days (``quality``), or else on the days (each with its own ``quality``) where it
    happens: one such day in a long month would vanish in the total."""
    unsigned = router.get("fills", {}).get("unsigned_trades")
    if unsigned in (None, "both"):
        return []  # None: the static router rests nothing
    unknown, prints = _unsigned(quality)
    where = "of prints"
    if unknown <= UNKNOWN_SIDE_SHARE * prints:
        shares = {d["date"]: _unsigned(d["quality"]) for d in days}
        dates = [date for date, (n, total) in shares.items() if n > UNKNOWN_SIDE_SHARE * total]
        if not dates:
            return []
        worst = max(dates, key=lambda date: shares[date][0] / shares[date][1])
        unknown, prints = shares[worst]
        where = f"of prints on {', '.join(dates)} (the most on {worst})"
    share = unknown / prints
    return [_warning(
        "unknown_side",
        f"{share:.1%} {where} ({unknown:,} of {prints:,}) have no aggressor side (N): "
        "resting orders fill only from seller-initiated prints unless fills.unsigned_trades is "
        "both, so the router's passive fills are understated",
        share, UNKNOWN_SIDE_SHARE,
    )]  # fmt: skip


def _unsigned(quality: dict) -> tuple[int, int]:
    """Prints of unknown side, and all prints, in a quality count."""
    counts = ("prints_unknown_side", "prints_sell_aggressor", "prints_buy_aggressor")
    return quality["prints_unknown_side"], sum(quality[k] for k in counts)


def strategy_warnings(orders: list[dict]) -> list[dict]:
    """Per strategy (the router and each baseline), over the report's ``orders``: shares priced
    beyond the displayed depth, shares left unfilled, and orders with a large surplus."""
    out = []
    for name in ("router", *BASELINES):
        figures = [(o["size"], o["optimized"] if name == "router" else o["baselines"][name])
                   for o in orders]  # fmt: skip
        out += _shares(
            "beyond_depth", name, [f["closing_shares_beyond_depth"] for _, f in figures],
            BEYOND_DEPTH_SHARES,
            "priced beyond the displayed depth at the window's end, at the worst level shown: "
            "that part of its order cost is a guess",
        )  # fmt: skip
        out += _shares(
            "unfilled", name, [f["unfilled_shares"] for _, f in figures], UNFILLED_SHARES,
            "left unfilled: its order cost prices them on the book the window closes with, "
            "trades it never made",
        )  # fmt: skip
        out += _surplus(name, [f["overfilled_shares"] / size for size, f in figures])
    return out


def _shares(kind: str, name: str, shares: list[int], threshold: int, what: str) -> list[dict]:
    """One warning when the shares summed over orders exceed ``threshold``."""
    total, hit = sum(shares), sum(1 for s in shares if s > 0)
    if total <= threshold:
        return []
    message = f"{name}: {total:,} shares in {hit} of {len(shares)} orders {what}"
    return [_warning(kind, message, total, threshold, strategy=name, orders=hit)]


def _surplus(name: str, fractions: list[float]) -> list[dict]:
    """One warning when any order's surplus exceeds ``SURPLUS_SHARE`` of its size."""
    over = [f for f in fractions if f > SURPLUS_SHARE]
    if not over:
        return []
    return [_warning(
        "surplus",
        f"{name}: {len(over)} of {len(fractions)} orders filled beyond their size by more than "
        f"{SURPLUS_SHARE:.0%} of it (up to {max(over):.1%}); the surplus is sold back at the "
        "close in the order cost",
        max(over), SURPLUS_SHARE, strategy=name, orders=len(over),
    )]  # fmt: skip


def few_days(evaluation: dict) -> list[dict]:
    """Savings whose interval rests on fewer than ``MIN_INTERVAL_DAYS`` days (every savings
    output in the evaluation says on how many days it rests); one warning per day count."""
    by_days: dict[int, list[str]] = {}
    for path, days in _savings_days(evaluation, "evaluation"):
        if days < MIN_INTERVAL_DAYS:
            by_days.setdefault(days, []).append(path)
    return [
        _warning(
            "few_days",
            f"{', '.join(paths)}: resting on {days} day{'s' * (days != 1)}, fewer than "
            f"{MIN_INTERVAL_DAYS}: days are the interval's independent samples, so it is wide, "
            "leans on day figures being near normal, or is missing (one day)",
            days, MIN_INTERVAL_DAYS, intervals=paths,
        )
        for days, paths in sorted(by_days.items())
    ]  # fmt: skip


def _savings_days(value, path: str):
    """(path, days) of every dict under ``value`` that says on how many days it rests."""
    if isinstance(value, dict):
        if type(value.get("days")) is int:
            yield path, value["days"]
        for key, item in value.items():
            yield from _savings_days(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _savings_days(item, f"{path}[{i}]")


def short_windows(days: list[dict], max_gap_s: float) -> list[dict]:
    """A day whose data start later or end earlier in its window than ``max_gap_s``: a file
    cut short reads exactly like this (a .zst cut at a frame boundary decompresses cleanly),
    and every figure of the day then covers less of the window than the report says."""
    out = []
    for day in days:
        found = day["coverage"]
        short = Coverage(**found).short_by()
        if short > max_gap_s:
            out.append(_warning(
                "short_window",
                f"{day['date']}: the data start {found['starts_late_s']:g} s after the window's "
                f"start and end {found['ends_early_s']:g} s before its end (first event "
                f"{found['first_event']}, last {found['last_event']}), more than data.max_gap_s "
                f"({max_gap_s:g} s): a file cut short, or a quiet market? "
                "(data.require_full_window: true makes this an error)",
                short, max_gap_s, date=day["date"],
            ))  # fmt: skip
    return out
