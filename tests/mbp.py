"""Hand-made Databento MBP CSV files for tests, in the exact column order Databento writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FIXED = [
    "ts_recv", "ts_event", "rtype", "publisher_id", "instrument_id", "action", "side", "depth",
    "price", "size", "flags", "ts_in_delta", "sequence",
]  # fmt: skip


def columns(levels: int) -> list[str]:
    book = [
        f"{k}_{n:02d}"
        for n in range(levels)
        for k in ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct")
    ]
    return FIXED + book + ["symbol"]


def iso(ts_ns: int) -> str:
    """Databento's ISO-8601 form: nanoseconds and a trailing Z."""
    stamp = pd.Timestamp(ts_ns, tz="UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ns % 1_000_000_000:09d}Z"


def at(clock: str, date: str = "2024-08-01") -> int:
    """ns since epoch of a UTC time of day such as '13:36:32.5'."""
    return pd.Timestamp(f"{date}T{clock}", tz="UTC").value


def row(ts: int, publisher: int, ask: float, ask_size: int, *, bid: float | None = None,
        bid_size: int = 100, action: str = "A", size: int = 0, levels: int = 1,
        iso_ts: bool = True) -> dict:  # fmt: skip
    """One message: the venue's book after it. Deeper levels step one cent away."""
    bid = round(ask - 0.01, 2) if bid is None else bid
    record = {
        "ts_recv": ts, "ts_event": ts, "rtype": 10 if levels > 1 else 1,
        "publisher_id": publisher, "instrument_id": 38, "action": action,
        "side": "B" if action == "T" else "A", "depth": 0, "price": ask, "size": size,
        "flags": 130, "ts_in_delta": 165000, "sequence": 1, "symbol": "AAPL",
    }  # fmt: skip
    for n in range(levels):
        record |= {
            f"bid_px_{n:02d}": round(bid - 0.01 * n, 2),
            f"ask_px_{n:02d}": round(ask + 0.01 * n, 2),
            f"bid_sz_{n:02d}": bid_size, f"ask_sz_{n:02d}": ask_size,
            f"bid_ct_{n:02d}": 1, f"ask_ct_{n:02d}": 1,
        }  # fmt: skip
    if iso_ts:
        record["ts_recv"], record["ts_event"] = iso(record["ts_recv"]), iso(ts)
    return record


def write(path: Path, rows: list[dict], levels: int = 1) -> Path:
    pd.DataFrame(rows, columns=columns(levels)).to_csv(path, index=False)
    return path
