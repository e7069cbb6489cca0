"""Open a market-data file: its format recognised by content, zstd decompressed as a stream.

Names do not decide: a ``.csv`` that is really DBN, or a download without its extension, reads
the same. zstd (the Databento batch default) is decompressed on the fly, one frame after the
other, and a file that ends inside a frame is an error: zstd's own streaming reader would
return the part before the cut as if it were the whole file.
"""

from __future__ import annotations

import codecs
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import zstandard

from router.data.marketdata import DataError

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DBN_MAGIC = b"DBN"
GZIP_MAGIC = b"\x1f\x8b"
DBZ_MAGIC = b"\x50\x2a\x4d\x18"  # a zstd skippable frame: Databento's legacy DBZ format
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (LOBSTER ships its days so)
_READ = 1 << 18


class _ZstdReader(io.RawIOBase):
    """Decompresses zstd frames one after another; a cut inside a frame is a DataError."""

    def __init__(self, raw: io.BufferedReader, path: Path) -> None:
        self._raw, self._path = raw, path
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False  # input fed to the current frame, its end not reached yet
        self._out, self._at = memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._at >= len(self._out):
            compressed = self._raw.read(_READ)
            if not compressed:
                if self._in_frame:
                    raise DataError(
                        f"{self._path}: truncated zstd file: it ends inside a compressed frame "
                        "(an interrupted download?); download it again"
                    )
                return 0
            self._out, self._at = memoryview(self._decompress(compressed)), 0
        n = min(len(buffer), len(self._out) - self._at)
        buffer[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n

    def _decompress(self, data: bytes) -> bytes:
        parts = []
        try:
            while data:
                parts.append(self._frame.decompress(data))
                self._in_frame = not self._frame.eof
                if self._in_frame:
                    break
                data = self._frame.unused_data
                self._frame = zstandard.ZstdDecompressor().decompressobj()
        except zstandard.ZstdError as exc:
            raise DataError(f"{self._path}: corrupt zstd data ({exc})") from None
        return b"".join(parts)


@contextlib.contextmanager
def open_market_file(path: Path) -> Iterator[tuple[str, io.BufferedReader]]:
    """Yield (format, stream): format is ``csv``, ``dbn``, ``csv+zstd``, ``dbn+zstd`` or
    ``zip``, and the stream gives the (decompressed) bytes from the start."""
    with open(path, "rb") as raw:
        magic = raw.peek(4)[:4]
        if magic == ZSTD_MAGIC:
            stream = io.BufferedReader(_ZstdReader(raw, path), buffer_size=_READ)
            yield _kind(path, stream.peek(4)[:4], compressed=True) + "+zstd", stream
        else:
            yield _kind(path, magic, compressed=False), raw


def _kind(path: Path, magic: bytes, *, compressed: bool) -> str:
    inside = " inside its zstd compression" if compressed else ""
    if not magic:
        raise DataError(f"{path}: empty file{inside}; expected Databento CSV or DBN")
    if magic[:3] == DBN_MAGIC:
        return "dbn"
    if magic in ZIP_MAGIC and not compressed:
        return "zip"
    if magic[:2] == GZIP_MAGIC:
        raise DataError(
            f"{path}: gzip-compressed{inside}; we read plain or zstd-compressed CSV and DBN: "
            "decompress it (gunzip) or download it with zstd compression"
        )
    if magic == DBZ_MAGIC:
        raise DataError(
            f"{path}: Databento's legacy DBZ format; convert it to DBN first "
            "(Databento's dbn CLI: dbn FILE --dbn -o FILE.dbn)"
        )
    if b"\x00" in magic or not _looks_like_text(magic):
        raise DataError(
            f"{path}: binary data{inside} (starts with {magic.hex(' ')}); "
            "expected Databento CSV, DBN, or either compressed with zstd"
        )
    return "csv"


def _looks_like_text(magic: bytes) -> bool:
    """UTF-8 (a character cut at the end is fine) without control characters."""
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(magic, final=False)
    except UnicodeDecodeError:
        return False
    return all(c >= " " or c in "\t\r\n" for c in text)
