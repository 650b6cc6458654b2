"""Delete detection: how many objects a key range lost, which of them can be named, and what that costs.

One policy for every kind of bucket, decided here and nowhere else.

**How many a range lost (exactly).** Each object range keeps, beside its count, digest and sketch (ranges.py,
sketch.py), `ids`: the sum of a 64-bit hash of every key in it. When a range changed, its sketch names the listed
objects that are new or changed (`appeared`); whether each of those is a new key or a changed one is what decides
how many keys were lost, since `lost = old count - (listed now - new keys)`. The sketch can only guess that split by
pairing 16-bit key hashes, and a deleted key and a new key with the same key hash look like one changed object. So
the guess is checked against the key sum: if nothing was lost, the keys listed now minus the new ones must add up to
exactly the old key sum. A `Loss` is *proven* when that check settles it: nothing lost (the usual case: a range
that only gained or changed objects), or the only other possibility (one key lost, when a single pairing was in
doubt), or deletes alone (nothing appeared, so the count difference is the loss). Otherwise it is the pairing's count
(a lower bound), or unknown when the sketch could not be decoded.

**Which can be named.** S3 keeps a name only in a versioned bucket, and only while a delete marker exists:
- versioned buckets: every range whose loss is not proven to be zero is listed with ListObjectVersions (nothing
  else in S3 can tell a delete from a change), and the lost keys are found among the keys whose latest version is a
  delete marker newer than the previous pass. When the key sum is known, the exact subset of those whose key hashes
  add up to the lost keys' sum is taken, so a delete already sent by an earlier sync is never sent again; otherwise
  every such marker is (a superset: rows stay right, a delete may be sent twice).
- keys the stream tracks (restores, failed descriptions) are named by the state itself, in any bucket.
- everything else lost cannot be named: deletes in unversioned buckets, and in versioned ones versions deleted for
  good (DeleteObject with the VersionId of a key's only versions, or a lifecycle rule removing an expired delete
  marker first). Those are counted per range and reported in the sync's closing warning; event mode names them,
  and a reconciliation removes their rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import blake2b
from itertools import combinations
from typing import Any, Callable, Iterable, Sequence

MASK = (1 << 64) - 1
# Subsets tried when looking for the lost keys by their key-sum (a bound on CPU for ranges that lost many keys).
MAX_SUBSETS = 20_000
# A delete marker written up to this long before the previous pass started may still postdate its range's listing
# (S3's Date header has whole seconds): such markers are candidates too.
MARKER_SLACK = timedelta(seconds=2)


def key_identity(key: str) -> int:
    """The 64-bit hash of a key alone whose sum over a range is the range's `ids` (blake2b, its own domain)."""
    return int.from_bytes(blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, person=b"s3key").digest(),
                          "big")


@dataclass(frozen=True)
class Loss:
    """What a range lost since it was last listed.

    `count`: how many keys (None: unknown, the sketch could not be decoded). `proven`: the count is exact (else it is
    a lower bound). `new`: indices of the listed objects that are new keys, as far as known (None: unknown).
    `lost_ids`: the sum of the lost keys' `key_identity` when the key sums allow it (None otherwise).
    `if_none_new`: when the count is unknown, (count, lost_ids) in case no listed key is new (the common case of a
    range that only lost and changed objects): a versioned range's markers can prove it (see
    `named_in_versioned_range`).
    """

    count: int | None
    proven: bool
    new: frozenset[int] | None = None
    lost_ids: int | None = None
    if_none_new: tuple[int, int] | None = None

    @property
    def none(self) -> bool:
        """Nothing was lost, for certain."""
        return self.proven and self.count == 0


NOTHING = Loss(0, True, frozenset(), 0)
UNKNOWN = Loss(None, False)


def unknown_loss(old_count: int | None, old_ids: int | None, listed_ids: Callable[[], Sequence[int]],
                 listed: int) -> Loss:
    """The loss of a changed range whose sketch could not say what changed: unknown, with what it would be if no
    listed key were new, when the range keeps a key sum."""
    if old_count is None or old_ids is None or listed > old_count:
        return UNKNOWN
    return Loss(None, False, if_none_new=(old_count - listed, (old_ids - sum(listed_ids())) & MASK))


def range_loss(old_count: int, old_ids: int | None, listed_ids: Callable[[], Sequence[int]], listed: int,
               appeared: Sequence[int], paired: Iterable[int]) -> Loss:
    """The loss of a changed range whose sketch was decoded.

    `appeared`: indices of the listed objects new or changed since the range was stored; `paired`: those of them the
    sketch paired with a disappeared element of the same key hash (taken for changed). `listed_ids` computes every
    listed object's key identity (only called when the range keeps a key sum).
    """
    paired_set = set(paired)
    guess = [i for i in appeared if i not in paired_set]
    guessed = old_count - listed + len(guess)
    if old_ids is None:
        if guessed < 0:  # more new keys than the pairing found: it paired a new key, nothing is known
            return UNKNOWN
        return Loss(guessed, not appeared, frozenset(guess))
    ids = listed_ids()
    surplus = (sum(ids) - old_ids) & MASK  # the new keys' ids minus the lost keys' ids
    new_keys = listed - old_count  # how many keys are new if none was lost
    if new_keys >= 0:
        found = _subset_with_sum([(i, ids[i]) for i in appeared], new_keys, surplus, guess)
        if found is not None:
            return Loss(0, True, frozenset(found), 0)
    if not appeared:
        return Loss(old_count - listed, True, frozenset(), (old_ids - sum(ids)) & MASK)
    if guessed <= 0:
        # The pairing accounts for no lost key (or for too few new ones), and the key sum says keys were lost: some
        # pairing was a lost key and a new one sharing a key hash. With a single pairing in doubt and the count
        # agreeing, that is exactly one of each; otherwise at least one key was lost.
        doubtful = len(appeared) - len(guess)
        if guessed == 0 and doubtful == 1:
            new = frozenset(appeared)
            return Loss(1, True, new, (old_ids - sum(ids) + sum(ids[i] for i in new)) & MASK)
        return Loss(max(1, old_count - listed), False)
    new = frozenset(guess)
    return Loss(guessed, False, new, (old_ids - sum(ids) + sum(ids[i] for i in new)) & MASK)


def _subset_with_sum(items: Sequence[tuple[int, int]], size: int, total: int,
                     first: Sequence[int] = ()) -> list[int] | None:
    """Indices of `size` items whose values add up to `total` (mod 2**64), trying `first` before anything else;
    None when no subset does (or the search bound was reached first). Up to four items the search is exhaustive in
    O(n^2) (two-sums and sums of pairs); beyond, it tries at most MAX_SUBSETS combinations."""
    if size > len(items) or size < 0:
        return None
    values = dict(items)
    if len(first) == size and sum(values[i] for i in first) & MASK == total:
        return list(first)
    if size == 0:
        return [] if total == 0 else None
    if size == 1:
        return next(([i] for i, value in items if value == total), None)
    if size == 2:
        return _two_sum(items, total)
    if size == 3:
        for position, (i, value) in enumerate(items):
            pair = _two_sum(items[position + 1:], (total - value) & MASK)
            if pair is not None:
                return [i, *pair]
        return None
    if size == 4 and len(items) * len(items) <= 4 * MAX_SUBSETS * 10:
        pairs: dict[int, tuple[int, int]] = {}
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                (i, x), (j, y) = items[a], items[b]
                other = pairs.get((total - x - y) & MASK)
                if other is not None and i not in other and j not in other:
                    return [*other, i, j]
                pairs.setdefault((x + y) & MASK, (i, j))
        return None
    for tried, combination in enumerate(combinations(items, size)):
        if tried >= MAX_SUBSETS:
            return None
        if sum(value for _, value in combination) & MASK == total:
            return [i for i, _ in combination]
    return None


def _two_sum(items: Sequence[tuple[int, int]], total: int) -> list[int] | None:
    seen: dict[int, int] = {}
    for i, value in items:
        other = seen.get((total - value) & MASK)
        if other is not None:
            return [other, i]
        seen[value] = i
    return None


@dataclass(frozen=True)
class Named:
    """The deletes a versioned range's listing names, and how many of its lost keys remain unnamed."""

    keys: tuple[str, ...]
    unnamed: int | None


def needs_version_listing(loss: Loss) -> bool:
    """Whether a range of a versioned bucket must be listed with ListObjectVersions to find its deletes."""
    return not loss.none


def marker_candidates(versions: Iterable[tuple[dict[str, Any], bool]], listed: set[str],
                      since: datetime | None) -> list[tuple[str, datetime]]:
    """Keys not listed now whose latest version is a delete marker written since `since` (any, when None)."""
    found = []
    for entry, marker in versions:
        if not (marker and entry.get("IsLatest")) or entry["Key"] in listed:
            continue
        when = entry["LastModified"]
        if since is None or when >= since - MARKER_SLACK:
            found.append((entry["Key"], when))
    return found


def named_in_range(loss: Loss, candidates: Sequence[tuple[str, datetime | None]], tracked_gone: Sequence[str],
                   identity: Callable[[str], int] = key_identity) -> Named:
    """Which keys a range's deletes are, and how many of its lost keys nothing names.

    `tracked_gone`: keys the stream tracked that are not listed: lost for certain. `candidates`: keys that may have
    been lost since the range was last listed, with when (newest are tried first): those whose latest version is a
    delete marker (versioned buckets), and those events say were removed (event mode). The lost keys among them are
    found exactly when the key sums allow (a subset whose identities add up to what the range lost); otherwise every
    candidate is deleted (rows stay right, a delete may be sent twice), unless the range is proven to have lost no
    other key, when none is (their deletes were sent when the range was last listed).
    """
    tracked = list(tracked_gone)
    skip = set(tracked)
    seen: set[str] = set()
    others = []
    for key, when in sorted(candidates, key=lambda c: (c[1] is not None, c[1]), reverse=True):
        if key not in skip and key not in seen:
            seen.add(key)
            others.append(key)
    count, lost_ids = (loss.count, loss.lost_ids) if loss.count is not None else loss.if_none_new or (None, None)
    if count is None:
        return Named(tuple(tracked + others), None)
    wanted = count - len(tracked)
    if lost_ids is not None and 0 <= wanted <= len(others):
        rest = (lost_ids - sum(identity(k) for k in tracked)) & MASK
        found = _subset_with_sum([(i, identity(key)) for i, key in enumerate(others)], wanted, rest,
                                 list(range(wanted)))
        if found is not None:
            return Named(tuple(tracked + [others[i] for i in sorted(found)]), 0)
    if loss.count is None:
        return Named(tuple(tracked + others), None)
    if loss.proven and wanted <= 0:
        return Named(tuple(tracked), 0)
    return Named(tuple(tracked + others), max(0, wanted - len(others)))


