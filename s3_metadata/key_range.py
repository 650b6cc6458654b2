"""A connection's slice of the key space: `key_range_start <= key < key_range_end`.

Several connections can split one bucket between them by giving each a slice; slices that meet end to start
(`key_range_end` of one equal to `key_range_start` of the next) cover every key exactly once. Exactness has one
source: `KeyRange.contains`, which the key filter (patterns.KeyFilter) applies wherever it decides whether a key
belongs to the table: every listed page, deletes, versions rows and event mode's scope. Python compares `str` by
code point, which for valid text (no lone surrogates, which S3 keys never hold) is S3's ascending UTF-8 byte order,
so the slice the connector keeps is the slice S3's listing order implies.

The rest of this module is about cost, never about which keys are kept: where a listing should start so that it
does not list the keys below the slice (`list_after`), and which key ranges of the state can still be trusted when
the slice changes (`disjoint`, `changed_between`). A bound computed here may be loose (a few keys outside the slice
listed and dropped by the filter); it is never tight enough to lose a key inside it.
"""
from __future__ import annotations

from dataclasses import dataclass

# The greatest code point: no character sorts after it.
MAX_CHAR = "\U0010FFFF"
# S3 keys are at most 1,024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
_SURROGATES = range(0xD800, 0xE000)


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _previous_char(char: str) -> str:
    """The character just before `char` (which is not U+0000), never a surrogate (no key holds one)."""
    code = ord(char) - 1
    return chr(0xD7FF if code in _SURROGATES else code)


def _next_char(char: str) -> str | None:
    """The character just after `char`, never a surrogate; None after the greatest one."""
    if char == MAX_CHAR:
        return None
    code = ord(char) + 1
    return chr(0xE000 if code in _SURROGATES else code)


def just_below(key: str) -> str:
    """A StartAfter for listing from `key` on: a string below `key` with nothing but exotic keys in between.

    ListObjectsV2 lists the keys strictly after StartAfter, so listing from `key` needs a string just below it. For a
    key ending in U+0000 that is the key without it (nothing lies between). Otherwise the last character is lowered
    by one and U+10FFFF appended: only keys that start with that string and go on lie between it and `key` (such as
    'a' + U+10FFFF + U+10FFFF below 'b'): listed, and dropped by the key filter. When the appended character would
    pass S3's 1,024 bytes it is left out, and a few more keys may be listed and dropped. Always valid UTF-8."""
    if not key:
        raise ValueError("no string is below the empty string")
    head, last = key[:-1], key[-1]
    if last == "\x00":
        return head
    lowered = head + _previous_char(last)
    padded = lowered + MAX_CHAR
    return padded if utf8_length(padded) <= MAX_KEY_BYTES else lowered


def prefix_end(prefix: str) -> str | None:
    """The least string after every string that starts with `prefix` (None: none is, as for the empty prefix): the
    keys starting with `prefix` are exactly those in [prefix, prefix_end(prefix))."""
    stem = prefix.rstrip(MAX_CHAR)
    if not stem:
        return None
    following = _next_char(stem[-1])
    return stem[:-1] + following if following is not None else None


def _below(first: str | None, second: str | None) -> bool:
    """first < second, with None as an end bound (after everything)."""
    return second is None or (first is not None and first < second)


@dataclass(frozen=True)
class KeyRange:
    """Keys `start <= key < end`; None: unbounded on that side. The default holds every key."""

    start: str | None = None
    end: str | None = None

    @property
    def whole(self) -> bool:
        return self.start is None and self.end is None

    def contains(self, key: str) -> bool:
        return (self.start is None or key >= self.start) and (self.end is None or key < self.end)

    def list_after(self, lo: str | None) -> str | None:
        """The StartAfter for listing the keys after `lo` (None: from the first) that the slice holds: `lo`, or a
        string just below `start` when that is later."""
        if self.start is None:
            return lo
        below = just_below(self.start)
        return below if lo is None or lo < below else lo

    def reaches(self, prefix: str) -> bool:
        """Whether some key starting with `prefix` lies in the slice: [prefix, prefix_end) meets [start, end)."""
        low = prefix if self.start is None or prefix > self.start else self.start
        return _below(low, self.end) and _below(low, prefix_end(prefix))

    def disjoint(self, lo: str | None, hi: str | None) -> bool:
        """Whether no key `lo < key <= hi` (None: unbounded) can lie in the slice. False when unsure."""
        return (hi is not None and self.start is not None and hi < self.start) or \
            (lo is not None and self.end is not None and lo >= self.end)

    def describe(self) -> str:
        start = repr(self.start) if self.start is not None else "the first key"
        end = f"before {self.end!r}" if self.end is not None else "the last key"
        return f"from {start} to {end}"


WHOLE = KeyRange()


def changed_between(old: KeyRange, new: KeyRange) -> list[KeyRange]:
    """Slices that hold every key in one of `old` and `new` but not the other (and maybe some in both): the keys whose
    membership changed lie between the two starts or between the two ends."""
    changed = []
    if old.start != new.start:
        low, high = sorted((old.start, new.start), key=lambda s: (s is not None, s or ""))
        changed.append(KeyRange(low, high))
    if old.end != new.end:
        low, high = sorted((old.end, new.end), key=lambda s: (s is None, s or ""))
        changed.append(KeyRange(low, high))
    return changed
