"""Databento DBN files for tests, made with databento-dbn's own encoder (its Metadata and record
classes), and the CSVs Databento's Transcoder writes from them."""

from __future__ import annotations

import io
from pathlib import Path

import databento_dbn as dbn
import zstandard

from router.data.prices import FIXED_SCALE
from tests.mbp import at

DAY_START = at("00:00:00")


def fixed(dollars: float | None) -> int:
    return dbn.UNDEF_PRICE if dollars is None else round(dollars * FIXED_SCALE)


def mbp(
    ts: int, publisher: int, ask: float | None, ask_size: int, *, bid: float | None = None,
    bid_size: int = 100, action: str = "A", side: str = "A", price: float | None = None,
    size: int = 0, levels: int = 1, instrument: int = 38, schema: str = "mbp-1",
):  # fmt: skip
    """One MBP-1, MBP-10 or CMBP-1 record: the venue's book after one message. Deeper levels step
    one cent away; an ask of None is an empty level."""
    bid = (None if ask is None else round(ask - 0.01, 2)) if bid is None else bid
    pairs = []
    for n in range(levels):
        step = 0.01 * n
        shown = {
            "bid_px": fixed(None if bid is None else bid - step),
            "ask_px": fixed(None if ask is None else ask + step),
            "bid_sz": bid_size if bid is not None else 0,
            "ask_sz": ask_size if ask is not None else 0,
        }
        if schema == "cmbp-1":
            pairs.append(dbn.ConsolidatedBidAskPair(**shown, bid_pb=publisher, ask_pb=publisher))
        else:
            pairs.append(dbn.BidAskPair(**shown, bid_ct=1, ask_ct=1))
    common = {
        "publisher_id": publisher, "instrument_id": instrument, "ts_event": ts,
        "price": fixed(price if price is not None else ask), "size": size,
        "action": dbn.Action(action), "side": dbn.Side(side), "ts_recv": ts + 1000,
        "flags": 130,
    }  # fmt: skip
    if schema == "cmbp-1":
        return dbn.CMBP1Msg(rtype=dbn.RType.CMBP_1, **common, levels=pairs[0])
    if levels == 10:
        return dbn.MBP10Msg(**common, depth=0, sequence=1, levels=pairs)
    return dbn.MBP1Msg(**common, depth=0, sequence=1, levels=pairs[0])


def encode(records: list, schema: str = "mbp-1") -> bytes:
    """A whole DBN stream: metadata, then the records."""
    metadata = dbn.Metadata(
        dataset="XNAS.ITCH", start=DAY_START, end=DAY_START + 86_400 * FIXED_SCALE,
        stype_in=dbn.SType.RAW_SYMBOL, stype_out=dbn.SType.INSTRUMENT_ID,
        schema=dbn.Schema.from_str(schema), symbols=["AAPL"],
    )  # fmt: skip
    return metadata.encode() + b"".join(bytes(r) for r in records)


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def write_dbn(path: Path, records: list, schema: str = "mbp-1", compress: bool = False) -> Path:
    data = encode(records, schema)
    path.write_bytes(zstd(data) if compress else data)
    return path


def transcode(data: bytes, *, pretty_px: bool, pretty_ts: bool = True) -> bytes:
    """The CSV that Databento's Transcoder (the batch CSV writer) makes of a DBN stream."""
    out = io.BytesIO()
    transcoder = dbn.Transcoder(
        out, dbn.Encoding.CSV, dbn.Compression.NONE, pretty_px=pretty_px, pretty_ts=pretty_ts
    )
    transcoder.write(data)
    transcoder.flush()
    return out.getvalue()
