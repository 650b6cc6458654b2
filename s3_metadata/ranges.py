"""Key ranges: the unit of progress, of parallel listing and of change detection.

Every sync lists every stream in full (S3 cannot filter a listing by date), so it can compare what it sees
with a compact summary of the previous pass instead of trusting LastModified alone. Each stream's key
space is cut into contiguous ranges `(lo, hi]` of a few hundred keys; for each range the state keeps the
number of keys and a 64-bit digest, the sum of one hash per object over every listed column (key, ETag,
size, storage class, LastModified, checksum, and the restore state when the listing reports it). After a
range is listed again:

- same count and digest: nothing in it changed, and nothing is sent;
- otherwise the range's sketch (sketch.py, a few hundred bytes kept beside the digest) is compared with the
  sketch of the range as listed now; it names exactly the objects that appeared or changed (only those are
  sent) and counts those that disappeared, as long as the differences fit its capacity. When they do not,
  every object the sketch cannot prove unchanged is sent;
- a range without a sketch (a state written before sketches existed) falls back to the newest-moment rule:
  if the objects modified after some moment account exactly for the difference, only they are sent,
  otherwise the whole range is, and a sketch is built for next time.
Deletions, and ranges whose deletions cannot be counted, mark the batch `unexplained`: the only kind that
can hide a deletion.

A range without a digest (never listed, or its digest invalidated) is streamed and sent whole; it is
unexplained too, because nothing proves that an object the table holds did not vanish from it.

Because a digest is a sum, two neighbouring ranges merge without re-reading them, and because a range is
only a pair of boundaries, the state stays proportional to the number of ranges, never to the number of
objects. Boundaries need not be keys: `(lo, hi]` holds every key `k` with `lo < k <= hi`, which is exactly
what `StartAfter=lo` lists from.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import partial
from hashlib import blake2b
from math import ceil
from operator import attrgetter
from typing import Any, Callable, Collection, Container, Iterable, Sequence

from s3_metadata.deletes import NOTHING, UNKNOWN, Loss, key_identity, range_loss, unknown_loss
from s3_metadata.key_range import KeyRange, changed_between
from s3_metadata.rows import ListedObject
from s3_metadata.sketch import Sketch, cells_for, key_hash, reconcile

MASK = (1 << 64) - 1
# State stays bounded on very large buckets: past this many ranges a stream's ranges grow instead.
MAX_RANGES_PER_STREAM = 5_000
# A range is split once it holds this many times the target size.
SPLIT_FACTOR = 1.5
# A known range is buffered until it holds this many times max(old count, target); past that it has
# certainly changed and is streamed, so memory stays bounded whatever was added to it.
BUFFER_FACTOR = 2


def fingerprint(obj: ListedObject, include_restore: bool) -> int:
    """A 64-bit hash of every column the listing gives for `obj`: blake2b of the columns' text joined by NULs.

    Every range digest in every user's state is a sum of these, so the text hashed must never change: a different
    text would make every range look changed and re-send every row. It runs once per listed object of every sync,
    so it takes LastModified's text from `obj.last_modified_iso` when the listing gave it (`isoformat()` costs as
    much as the hash), and builds one tuple rather than a list. `tests/unit/test_ranges.py` holds it to the
    original formula over a corpus.
    """
    fields: tuple[str, ...] = (obj.key, obj.e_tag, str(obj.size), obj.storage_class,
                               obj.last_modified_iso or obj.last_modified.isoformat(), obj.checksum_algorithm or "",
                               obj.checksum_type or "")
    restore = obj.restore
    if include_restore and restore is not None:
        fields += (restore.status or "", restore.expiry.isoformat() if restore.expiry else "")
    return int.from_bytes(blake2b("\x00".join(fields).encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class RangeEntry:
    """One range `(previous entry's hi, hi]`; `hi` None is the end of the stream.

    `count`/`digest` describe the range as last seen (None: never seen, so everything in it is sent);
    `done` says the current pass has already listed it. `ids` is the sum of one identity per unit: of each key of
    an object range (deletes.key_identity: how many keys a range lost is decided from it), of each (key, version id)
    of a versions range (versions.py); None in ranges written before it existed. `sketch` (the bytes of a
    sketch.Sketch) is kept by object ranges only, decoded only when the range changed.
    """

    hi: str | None
    count: int | None = None
    digest: int | None = None
    done: bool = False
    ids: int | None = None
    sketch: bytes | None = None

    @property
    def known(self) -> bool:
        return self.count is not None and self.digest is not None


def effective_range_size(range_size: int, total_objects: int | None) -> int:
    """The target range size: the configured one, grown on buckets too large for MAX_RANGES_PER_STREAM."""
    if not total_objects:
        return range_size
    return max(range_size, ceil(total_objects / MAX_RANGES_PER_STREAM))


def merge_sketches(first: bytes | None, second: bytes | None) -> bytes | None:
    """The sketch of two neighbouring ranges, when both have one of the same size (else none: it is rebuilt on
    the merged range's next listing)."""
    if first is None or second is None:
        return None
    one, two = Sketch.from_bytes(first), Sketch.from_bytes(second)
    if len(one.cells) != len(two.cells):
        return None
    return one.merge(two).to_bytes()


def merge_small(entries: Sequence[RangeEntry], target: int) -> list[RangeEntry]:
    """Merge neighbours while their combined count stays within `target` (all entries must be known)."""
    merged: list[RangeEntry] = []
    for entry in entries:
        previous = merged[-1] if merged else None
        if (previous is not None and previous.known and entry.known
                and previous.count + entry.count <= target):  # type: ignore[operator]
            ids = None if previous.ids is None or entry.ids is None else (previous.ids + entry.ids) & MASK
            merged[-1] = RangeEntry(entry.hi, previous.count + entry.count,  # type: ignore[operator]
                                    (previous.digest + entry.digest) & MASK, entry.done, ids,  # type: ignore[operator]
                                    merge_sketches(previous.sketch, entry.sketch))
        else:
            merged.append(entry)
    return merged


@dataclass
class Batch:
    """Objects of one finished piece of a range, ready to be described and sent.

    Once every row of the batch has been emitted, `replacement` takes the place of the state entry whose
    `hi` is `entry_hi`; `lo` and `hi` bound the keys the batch covers, so tracked keys in between that were
    not listed are known to be gone. `loss` (object ranges): how many keys the range lost since it was last
    listed (deletes.py). `unexplained` (versions ranges): the range is not proven to have only gained or changed
    the emitted keys, the only kind of versions batch that can hide a removed version. `previous_ids` is the old
    `ids` of the range.
    """

    lo: str | None
    hi: str | None
    entry_hi: str | None
    objects: list[ListedObject]
    emit: list[bool]
    replacement: list[RangeEntry]
    unexplained: bool = False
    previous_ids: int | None = None
    loss: Loss = NOTHING

    @property
    def emitted(self) -> int:
        return sum(self.emit)


def newest_explaining(objects: Sequence[ListedObject], prints: Sequence[int], entry: RangeEntry) -> list[bool] | None:
    """Which objects to send when a known range changed: those modified after the newest moment such that
    everything modified up to it adds up exactly to the old count and digest; None when no moment does.

    Objects with the same LastModified stand or fall together (S3 keeps whole seconds on some stores).
    """
    count, digest = len(objects), sum(prints) & MASK
    if entry.count is None or entry.digest is None or count < entry.count:
        return None
    order = sorted(range(count), key=lambda i: objects[i].last_modified, reverse=True)
    emit = [False] * count
    taken, taken_digest = 0, 0
    position = 0
    while position < count and count - taken > entry.count:
        moment = objects[order[position]].last_modified
        while position < count and objects[order[position]].last_modified == moment:
            index = order[position]
            emit[index] = True
            taken += 1
            taken_digest += prints[index]
            position += 1
        if count - taken == entry.count and (digest - taken_digest) & MASK == entry.digest:
            return emit
    return None


@dataclass
class RangeScanner:
    """Consumes one range's objects in key order and decides which must be sent.

    A range with a known count and digest is buffered until its end, when the digest tells what changed.
    A range seen for the first time, or one that has grown far past its old size (so it certainly changed
    and must not be held in memory), is streamed: everything is sent, in pieces of `target` objects, each
    of which becomes a finished range of its own, so a long first pass can be resumed piece by piece.
    """

    lo: str | None
    entry: RangeEntry
    target: int
    include_restore: bool
    fingerprint_of: Callable[[Any], int] | None = None
    identity_of: Callable[[Any], int] | None = None
    min_buffer: int = 0
    explain: Callable[[Sequence[Any], Sequence[int], RangeEntry], list[bool] | None] = newest_explaining
    sketches: bool = True
    suspects: Container[str] = ()
    _objects: list[ListedObject] = field(default_factory=list)
    _fingerprints: list[int] = field(default_factory=list)
    _streaming: bool = False
    _piece_lo: str | None = None
    _limit: int = 0

    def __post_init__(self) -> None:
        self._streaming = not self.entry.known
        self._piece_lo = self.lo
        self._limit = max(max(self.entry.count or 0, self.target) * BUFFER_FACTOR, self.min_buffer)
        if self.fingerprint_of is None:  # an object range
            self.fingerprint_of = partial(fingerprint, include_restore=self.include_restore)
            if self.identity_of is None:
                self.identity_of = _object_identity

    def contains(self, key: str) -> bool:
        return self.entry.hi is None or key <= self.entry.hi

    def add(self, obj: ListedObject) -> Batch | None:
        """Take the next object of the range; returns a batch when a streamed piece is complete."""
        batches = self.add_run((obj,))
        return batches[0] if batches else None

    def add_run(self, objects: Sequence[Any]) -> list[Batch]:
        """Take the next objects of the range, in key order: `add` of each in turn, the pieces completed in order.

        A listing hands over a page's run of objects at once, so that the per-object work is the fingerprint alone
        (one `map` over the run), and the buffer grows by slices up to the next point where `add` would act: the
        object that makes a buffered range exceed its limit (it is streamed from then on) or completes a piece.
        """
        batches: list[Batch] = []
        prints = list(map(self.fingerprint_of, objects))  # type: ignore[arg-type]
        position, count = 0, len(objects)
        while position < count:
            held = len(self._objects)
            # Objects until `add` would act: the buffer passing its limit, or a streamed piece reaching the target.
            room = self.target - held if self._streaming else self._limit + 1 - held
            end = min(count, position + max(room, 1))
            self._objects.extend(objects[position:end])
            self._fingerprints.extend(prints[position:end])
            position = end
            if not self._streaming and len(self._objects) > self._limit:
                self._streaming = True
            # A cut on the range's own upper boundary would leave an empty remainder with the same boundary.
            if self._streaming and len(self._objects) >= self.target and objects[end - 1].key != self.entry.hi:
                batches.append(self._cut(final=False))
        return batches

    def finish(self) -> Batch:
        """The range's last batch; call once after its last object."""
        if self._streaming:
            return self._cut(final=True)
        return self._finish_buffered()

    def _cut(self, final: bool) -> Batch:
        objects, prints = self._objects, self._fingerprints
        self._objects, self._fingerprints = [], []
        hi = self.entry.hi if final else objects[-1].key
        piece = RangeEntry(hi, len(objects), sum(prints) & MASK, True, self._ids(objects),
                           self._sketch(objects, prints))
        replacement = [piece] if final else [piece, RangeEntry(self.entry.hi)]
        batch = Batch(self._piece_lo, hi, self.entry.hi, objects, [True] * len(objects), replacement,
                      unexplained=True, loss=UNKNOWN)
        self._piece_lo = hi
        return batch

    def _finish_buffered(self) -> Batch:
        objects, prints = self._objects, self._fingerprints
        count, digest = len(objects), sum(prints) & MASK
        entry = self.entry
        current: bytes | None = entry.sketch
        ids: int | None = None
        loss = NOTHING
        if count == entry.count and digest == entry.digest:
            emit = [False] * count
            ids = entry.ids
        elif self.sketches and entry.sketch is not None:
            suspects = [i for i, o in enumerate(objects) if o.key in self.suspects] if self.suspects else ()
            found = reconcile(Sketch.from_bytes(entry.sketch), entry.count, entry.digest,  # type: ignore[arg-type]
                              [key_hash(o.key) for o in objects], prints, suspects)
            emit = [False] * count
            for index in found.send:
                emit[index] = True
            identities: list[int] = []

            def listed_ids() -> list[int]:
                if not identities:
                    identities.extend(map(self.identity_of, objects))  # type: ignore[arg-type]
                return identities
            if found.complete:
                loss = replace(range_loss(entry.count, entry.ids, listed_ids, count,  # type: ignore[arg-type]
                                          found.send, found.paired), gone=found.gone,
                               doubtful=frozenset(key_hash(objects[i].key) for i in found.paired))
            else:
                loss = unknown_loss(entry.count, entry.ids, listed_ids, count)
            if identities:
                ids = sum(identities) & MASK
            current = found.current.to_bytes()
        else:
            explained = self.explain(objects, prints, entry)
            emit = [True] * count if explained is None else explained
            if explained is not None:
                loss = NOTHING
            elif self.sketches:  # an object range of a state written before sketches
                loss = unknown_loss(entry.count, entry.ids, lambda: list(map(self.identity_of, objects)),  # type: ignore
                                    count)
            else:
                loss = unknown_loss(entry.count, None, tuple, count)
            current = None
        if self.sketches and current is None:
            current = self._sketch(objects, prints)
        unexplained = not loss.none
        return Batch(self.lo, entry.hi, entry.hi, objects, emit, self._pieces(objects, prints, current, ids),
                     unexplained, entry.ids, loss)

    def _ids(self, objects: Sequence[Any]) -> int | None:
        if self.identity_of is None:
            return None
        return sum(self.identity_of(o) for o in objects) & MASK

    def _sketch(self, objects: Sequence[Any], prints: Sequence[int]) -> bytes | None:
        """The sketch of a piece of objects, for object ranges."""
        if not self.sketches:
            return None
        return Sketch.build(cells_for(self.target), [key_hash(o.key) for o in objects], prints).to_bytes()

    def _pieces(self, objects: list[ListedObject], prints: list[int], whole: bytes | None,
                whole_ids: int | None = None) -> list[RangeEntry]:
        """The entries the range becomes: itself, or pieces of `target` objects when it grew past SPLIT_FACTOR times
        that. `whole_ids`: the range's `ids` when already known (an unchanged range keeps its own)."""
        if len(objects) <= self.target * SPLIT_FACTOR:
            ids = whole_ids if whole_ids is not None else self._ids(objects)
            return [RangeEntry(self.entry.hi, len(objects), sum(prints) & MASK, True, ids, whole)]
        pieces = []
        for start in range(0, len(objects), self.target):
            end = min(start + self.target, len(objects))
            hi = self.entry.hi if end == len(objects) else objects[end - 1].key
            pieces.append(RangeEntry(hi, end - start, sum(prints[start:end]) & MASK, True,
                                     self._ids(objects[start:end]), self._sketch(objects[start:end], prints[start:end])))
        return pieces


def _object_identity(obj: ListedObject) -> int:
    return key_identity(obj.key)


@dataclass(frozen=True)
class Part:
    """A run of consecutive ranges one worker lists with a single StartAfter and continuation tokens."""

    lo: str | None
    entries: tuple[RangeEntry, ...]

    @property
    def hi(self) -> str | None:
        return self.entries[-1].hi


def bounds_index(bounds: Sequence[tuple[str | None, str | None]]) -> Callable[[str], int | None]:
    """The index of the `(lo, hi]` bounds (disjoint, in any order; None: open) holding a key, or None."""
    order = sorted(range(len(bounds)), key=lambda i: bounds[i][0] or "")
    starts = [bounds[i][0] or "" for i in order]

    def index(key: str) -> int | None:
        position = bisect_left(starts, key) - 1
        if position < 0:
            return None
        found = order[position]
        lo, hi = bounds[found]
        return found if (lo is None or key > lo) and (hi is None or key <= hi) else None
    return index


def in_parts(parts: Sequence[Part]) -> Callable[[str], bool] | None:
    """Whether a key lies in one of `parts` (as `plan_parts` gives them): what a resumed pass that reads a report
    still needs, so that the keys of ranges done before the kill are not sorted again. None: the parts cover every
    key (a pass from its start)."""
    if len(parts) == 1 and parts[0].lo is None and parts[0].hi is None:
        return None
    index = bounds_index([(part.lo, part.hi) for part in parts])
    return lambda key: index(key) is not None


def plan_parts(entries: Sequence[RangeEntry], max_parts: int, min_objects: int) -> list[Part]:
    """Group the ranges the pass still has to list into at most about `max_parts` parts.

    Ranges already done split the stream into runs; a run is cut where its known counts reach an equal
    share of the work, but never into parts smaller than `min_objects`, because every part pays for one
    extra, partly wasted LIST page at its end.
    """
    pending_total = sum(e.count or 0 for e in entries if not e.done)
    share = max(min_objects, ceil(pending_total / max(1, max_parts)))
    parts: list[Part] = []
    lo: str | None = None
    current: list[RangeEntry] = []
    current_lo: str | None = None
    accumulated = 0
    for entry in entries:
        if entry.done:
            if current:
                parts.append(Part(current_lo, tuple(current)))
                current, accumulated = [], 0
        else:
            if not current:
                current_lo = lo
            current.append(entry)
            accumulated += entry.count if entry.count is not None else share
            if accumulated >= share and entry.hi is not None:
                parts.append(Part(current_lo, tuple(current)))
                current, accumulated = [], 0
        lo = entry.hi
    if current:
        parts.append(Part(current_lo, tuple(current)))
    return parts


def touched_parts(entries: Sequence[RangeEntry], touched: Collection[str | None]) -> list[Part]:
    """The ranges whose boundaries are in `touched`, as parts of consecutive ranges (one listing each)."""
    parts: list[Part] = []
    run: list[RangeEntry] = []
    run_lo: str | None = None
    lo: str | None = None
    for entry in entries:
        if entry.hi in touched:
            if not run:
                run_lo = lo
            run.append(entry)
        elif run:
            parts.append(Part(run_lo, tuple(run)))
            run = []
        lo = entry.hi
    if run:
        parts.append(Part(run_lo, tuple(run)))
    return parts


def range_of(entries: Sequence[RangeEntry], key: str) -> str | None:
    """The boundary of the range that holds `key` (entries in key order, the open range last)."""
    end = len(entries) - (1 if entries and entries[-1].hi is None else 0)
    index = bisect_left(entries, key, 0, end, key=_HI)
    return entries[index].hi if index < len(entries) else None


def split_points(prefixes: Sequence[str], parts: int) -> list[str]:
    """Up to `parts - 1` boundaries spread evenly over sorted common prefixes, for a stream never listed before.

    A boundary may be any string: `(lo, hi]` with hi = "b/" puts every key below "b/" (and a folder marker
    named exactly "b/") in one range and the keys inside "b/" in the next.
    """
    ordered = sorted(set(prefixes))
    if parts <= 1 or len(ordered) < 2:
        return []
    step = len(ordered) / min(parts, len(ordered))
    return sorted({ordered[int(i * step)] for i in range(1, min(parts, len(ordered)))})


_HI = attrgetter("hi")


def replace_entry(entries: Sequence[RangeEntry], entry_hi: str | None,
                  replacement: Iterable[RangeEntry]) -> list[RangeEntry]:
    """The entries with the one whose `hi` is `entry_hi` replaced.

    This runs once per batch, so a stream of n ranges pays it n times: walking the list entry by entry made that
    grow with n squared (a third of a µs per object at 100,000 objects, several at 10 million). Entries are in key
    order, the open range last, so the entry is found by bisection and the list copied in slices.
    """
    end = len(entries)
    if entry_hi is None:
        index = end - 1
    else:
        open_last = end > 0 and entries[-1].hi is None
        try:
            index = bisect_left(entries, entry_hi, 0, end - open_last, key=_HI)
        except TypeError:  # an open range before the end
            index = -1
    if not 0 <= index < end or entries[index].hi != entry_hi:
        # Not in key order (never made by a sync): the first entry with that boundary, as the walk found it.
        index = next((i for i, entry in enumerate(entries) if entry.hi == entry_hi), -1)
        if index < 0:
            raise KeyError(f"no range ends at {entry_hi!r}")
    return [*entries[:index], *replacement, *entries[index + 1:]]


def start_pass(entries: Sequence[RangeEntry]) -> list[RangeEntry]:
    """The entries at the start of a new pass: nothing listed yet; a new stream is one open range."""
    if not entries:
        return [RangeEntry(None)]
    return [replace(e, done=False) for e in entries]


def finish_pass(entries: Sequence[RangeEntry], target: int) -> list[RangeEntry]:
    """The entries once a pass has listed them all: small neighbours merged, ready for the next pass."""
    return [replace(e, done=False) for e in merge_small(entries, target)]


def invalidate_digests(entries: Sequence[RangeEntry]) -> list[RangeEntry]:
    """Keep the boundaries but forget what was in them (the digest no longer covers the same columns)."""
    return [RangeEntry(e.hi, None, None, e.done) for e in entries]


def after_key_range_change(entries: Sequence[RangeEntry], old: KeyRange, new: KeyRange) -> list[RangeEntry]:
    """The entries once the key filter's range changes from `old` to `new`: the boundaries stay; a range that may hold
    a key that entered or left the slice forgets its count and digest (so the next listing sends it whole and does not
    take the keys that left for deletes), a range that lies wholly outside the new slice is known to be empty, and
    every other range keeps what it knew. Every changed range is listed again by the pass in progress, if any."""
    changed = changed_between(old, new)
    result = []
    lo: str | None = None
    for entry in entries:
        if new.disjoint(lo, entry.hi):
            result.append(RangeEntry(entry.hi, 0, 0, False, 0))
        elif any(not region.disjoint(lo, entry.hi) for region in changed):
            result.append(RangeEntry(entry.hi))
        else:
            result.append(entry)
        lo = entry.hi
    return result
