"""The compact form of a stream's key ranges in the state: one base85 text of binary records per list.

Why compact: the state grows with a bucket's ranges (about 4,000 at a million objects), each with a sketch of a few
hundred bytes, and the SDK writes the whole state at every checkpoint (and `fivetran debug` logs it). As JSON lists
with a base85 sketch per range it took 1.5 MB at a million objects; as one binary text it takes what the sketches,
digests and key sums are, plus a few bytes per range, and boundaries that share a prefix with the one before (keys
in folders do) cost only their differing tail.

One record per range, in order:
- flags (1 byte): OPEN (the open range, no boundary), KNOWN (count and digest follow), DONE, IDS (8 bytes follow),
  SKETCH (a sketch follows);
- unless OPEN, the boundary: varint length of the prefix its UTF-8 shares with the previous boundary, varint length
  of the rest, the rest;
- KNOWN: varint count, digest (8 bytes, big-endian); IDS: the identity sum (8 bytes); SKETCH: varint length, bytes.
The text starts with a format byte, so a later layout can be told apart. Keys are UTF-8 with lone surrogates passed
through, as everywhere keys are hashed.
"""
from __future__ import annotations

import base64
import binascii
from typing import Sequence

from s3_metadata.ranges import RangeEntry

FORMAT = 1
_OPEN, _KNOWN, _DONE, _IDS, _SKETCH = 1, 2, 4, 8, 16
_ALL_FLAGS = _OPEN | _KNOWN | _DONE | _IDS | _SKETCH


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _shared(a: bytes, b: bytes) -> int:
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


def encode_ranges(entries: Sequence[RangeEntry]) -> str:
    """The entries as one base85 text (RFC 1924 alphabet: no quote, no backslash, so JSON keeps it as it is)."""
    out = bytearray((FORMAT,))
    previous = b""
    for entry in entries:
        flags = ((_OPEN if entry.hi is None else 0) | (_KNOWN if entry.known else 0) | (_DONE if entry.done else 0)
                 | (_IDS if entry.ids is not None else 0) | (_SKETCH if entry.sketch is not None else 0))
        out.append(flags)
        if entry.hi is not None:
            boundary = entry.hi.encode("utf-8", "surrogatepass")
            shared = _shared(previous, boundary)
            _varint(shared, out)
            _varint(len(boundary) - shared, out)
            out += boundary[shared:]
            previous = boundary
        if entry.known:
            _varint(entry.count, out)  # type: ignore[arg-type]
            out += entry.digest.to_bytes(8, "big")  # type: ignore[union-attr]
        if entry.ids is not None:
            out += entry.ids.to_bytes(8, "big")
        if entry.sketch is not None:
            _varint(len(entry.sketch), out)
            out += entry.sketch
    return _b85encode(bytes(out))


# Bytes per slice of `_b85encode` (a multiple of 4) and characters per slice of `_b85decode` (a multiple of 5).
_ENCODE_SLICE = 1 << 16
_DECODE_SLICE = _ENCODE_SLICE // 4 * 5


def _b85encode(data: bytes) -> str:
    """`base64.b85encode(data)`, a slice at a time. The standard library's is written in Python and holds an int and a
    5-byte object per 4 bytes of input while it works: about 25 times the input, 100 MB of transient memory to encode
    the ranges of a 3,000,000-object stream at a checkpoint, 300 MB at 10,000,000. Base85 turns each 4 bytes into 5
    characters on their own and pads only the end, so slices of a multiple of 4 bytes join into the same text."""
    return "".join(base64.b85encode(data[i:i + _ENCODE_SLICE]).decode("ascii")
                   for i in range(0, len(data), _ENCODE_SLICE)) if data else ""


def _b85decode(text: str) -> bytes:
    """`base64.b85decode(text)`, a slice of a multiple of 5 characters at a time, for the same reason."""
    return b"".join(base64.b85decode(text[i:i + _DECODE_SLICE].encode("ascii"))
                    for i in range(0, len(text), _DECODE_SLICE))


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.position = 0

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise ValueError("it ends in the middle of a range")
        value = self.data[self.position]
        self.position += 1
        return value

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("it holds a number too large")

    def take(self, size: int) -> bytes:
        if size > len(self.data) - self.position:
            raise ValueError("it ends in the middle of a range")
        value = self.data[self.position:self.position + size]
        self.position += size
        return value


def decode_ranges(text: str) -> list[RangeEntry]:
    """The entries of `encode_ranges`' text; ValueError says what is wrong with a text that is not one."""
    try:
        data = _b85decode(text)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise ValueError("it is not base85 text") from None
    if not data or data[0] != FORMAT:
        raise ValueError(f"its format is not {FORMAT}")
    reader = _Reader(data)
    reader.position = 1
    entries: list[RangeEntry] = []
    previous = b""
    while reader.position < len(data):
        flags = reader.byte()
        if flags & ~_ALL_FLAGS:
            raise ValueError(f"range {len(entries)} has unknown flags {flags}")
        hi = None
        if not flags & _OPEN:
            shared = reader.varint()
            if shared > len(previous):
                raise ValueError(f"range {len(entries)} shares more of its boundary than the previous one has")
            boundary = previous[:shared] + reader.take(reader.varint())
            try:
                hi = boundary.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                raise ValueError(f"range {len(entries)} has a boundary that is not UTF-8") from None
            previous = boundary
        count = digest = ids = None
        if flags & _KNOWN:
            count = reader.varint()
            digest = int.from_bytes(reader.take(8), "big")
        if flags & _IDS:
            ids = int.from_bytes(reader.take(8), "big")
        sketch = reader.take(reader.varint()) if flags & _SKETCH else None
        entries.append(RangeEntry(hi, count, digest, bool(flags & _DONE), ids, sketch))
    return entries
