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
  delete marker. When the key sum is known, the exact subset of those whose key hashes add up to the lost keys' sum
  is taken (the newest markers first), so a delete already sent by an earlier sync is never sent again. Otherwise a
  candidate whose key hash the decoded sketch did not see leave is none, and every other marker is deleted (a
  superset: rows stay right, a delete may be sent twice), those written more than MARKER_SLACK (AWS_MARKER_SLACK on
  AWS) before the stream's last pass began excepted when some marker is newer than that (the clocks of the objects
  and of Date agree).
- keys the stream tracks (restores, failed descriptions) are named by the state itself, in any bucket.
- everything else lost cannot be named: deletes in unversioned buckets, and in versioned ones versions deleted for
  good (DeleteObject with the VersionId of a key's only versions, or a lifecycle rule removing an expired delete
  marker first). Those are counted per range and reported in the sync's closing warning; event mode names them,
  and a reconciliation removes their rows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from hashlib import blake2b
from itertools import combinations
from math import comb
from typing import Any, Callable, Iterable, Mapping, Sequence

from s3_metadata.sketch import key_hash

MASK = (1 << 64) - 1
# Subsets tried when looking for the lost keys by their key-sum (a bound on CPU for ranges that lost many keys).
MAX_SUBSETS = 20_000
# How long before its stream's last pass began a delete marker may still be one a range lost since that pass listed
# it, in `_recent`: a bound on the skew between the clock that stamps objects and the one that answers Date. On AWS
# both are S3's own, synchronised clocks, so minutes; an S3-compatible store's clocks nothing vouches for, so an hour.
# (Every marker between the bound and the last pass is deleted again: the smaller, the fewer deletes sent twice by
# syncs that run more often than the bound.)
MARKER_SLACK = timedelta(hours=1)
AWS_MARKER_SLACK = timedelta(minutes=5)
# Pairs of candidates the search of four lost keys may build (`_subset_with_sum`).
MAX_PAIRS = 40 * MAX_SUBSETS


def key_identity(key: str) -> int:
    """The 64-bit hash of a key alone whose sum over a range is the range's `ids` (blake2b, its own domain)."""
    return int.from_bytes(blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, person=b"s3key").digest(),
                          "big")


@dataclass(frozen=True)
class Loss:
    """What a range lost since it was last listed.

    `count`: how many keys (None: unknown, the sketch could not be decoded). `proven`: the count is exact (else it is
    the likeliest count, a lower bound). `new`: indices of the listed objects that are new keys, as far as known.
    `lost_ids`: the sum of the lost keys' `key_identity`, when the key sums give it.
    `hypotheses`: (count, lost_ids) pairs the range may have lost, the likeliest first, when the count is not proven:
    a versioned range's delete markers can prove one (`named_in_range`), as a subset of them adding up to its sum.
    `gone`: the 16-bit key hashes of what left the range (the decoded sketch's disappeared elements), when known: a
    candidate whose key hash is not among them was already gone when the range was last listed. `doubtful`: the key
    hashes of the listed objects the sketch paired as changed (each could be a new key beside a lost twin).
    """

    count: int | None
    proven: bool
    new: frozenset[int] | None = None
    lost_ids: int | None = None
    hypotheses: tuple[tuple[int, int], ...] = ()
    gone: frozenset[int] | None = None
    doubtful: frozenset[int] = frozenset()

    @property
    def none(self) -> bool:
        """Nothing was lost, for certain."""
        return self.proven and self.count == 0


NOTHING = Loss(0, True, frozenset(), 0)
UNKNOWN = Loss(None, False)
# Pairings in doubt that `range_loss` turns into hypotheses (2 ** this many at most).
MAX_DOUBTFUL = 4


def unknown_loss(old_count: int | None, old_ids: int | None, listed_ids: Callable[[], Sequence[int]],
                 listed: int) -> Loss:
    """The loss of a changed range whose sketch could not say what changed: unknown, with what it would be if no
    listed key were new (the common case of a range that only lost and changed objects), when the range keeps a key
    sum."""
    if old_count == 0:
        return Loss(0, True, frozenset(range(listed)), 0, gone=frozenset())  # an empty range can lose nothing
    if old_count is None or old_ids is None:
        return UNKNOWN
    if listed > old_count:
        return _small_range_loss(old_count, old_ids, listed_ids, listed)
    return Loss(None, False, hypotheses=((old_count - listed, (old_ids - sum(listed_ids())) & MASK),))


def _small_range_loss(old_count: int, old_ids: int, listed_ids: Callable[[], Sequence[int]], listed: int) -> Loss:
    """The loss of a range that grew past what its sketch could decode, when it held few keys: it lost nothing if
    some `old_count` listed keys add up to its key sum (the old keys are all there), and a range of one key that is
    not listed lost exactly that key. Larger ranges stay unknown (the search would cost too much)."""
    if old_count > 2:
        return UNKNOWN
    ids = listed_ids()
    found = _subset_with_sum(list(enumerate(ids)), old_count, old_ids)
    if found is not None:
        return Loss(0, True, frozenset(range(listed)) - set(found), 0)
    if old_count == 1:
        return Loss(1, True, frozenset(range(listed)), old_ids)
    return UNKNOWN


def range_loss(old_count: int, old_ids: int | None, listed_ids: Callable[[], Sequence[int]], listed: int,
               appeared: Sequence[int], paired: Iterable[int]) -> Loss:
    """The loss of a changed range whose sketch was decoded.

    `appeared`: indices of the listed objects new or changed since the range was stored; `paired`: those of them the
    sketch paired with a disappeared element of the same key hash (taken for changed). `listed_ids` computes every
    listed object's key identity (only called when the range keeps a key sum).
    """
    paired_set = set(paired)
    paired_list = [i for i in appeared if i in paired_set]
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

    def lost_if_new(new: Sequence[int]) -> tuple[int, int]:
        return old_count - listed + len(new), (old_ids - sum(ids) + sum(ids[i] for i in new)) & MASK

    # Each pairing may be a lost key and a new one sharing a key hash rather than a changed object: every way of
    # reading the doubtful ones is a hypothesis, the pairing's own reading first. (Nothing lost was ruled out above.)
    doubtful = paired_list[:MAX_DOUBTFUL]
    hypotheses = []
    for size in range(len(doubtful) + 1):
        for extra in combinations(doubtful, size):
            count, lost = lost_if_new(guess + list(extra))
            if count > 0:
                hypotheses.append((count, lost))
    if not hypotheses:
        return Loss(None, False)
    count, lost = hypotheses[0]
    nothing_lost_ruled_out = new_keys < 0 or _exhaustive(new_keys, len(appeared))
    if len(hypotheses) == 1 and len(doubtful) == len(paired_list) and nothing_lost_ruled_out:
        # One reading is left: no pairing is in doubt (a new object has no partner, a lost one none listed), or the
        # only one in doubt must be a lost key and a new one sharing a key hash since the key sum rules out "nothing
        # lost". The count and sum are exact.
        new = guess if count == guessed else appeared
        return Loss(count, True, frozenset(new), lost)
    return Loss(count, False, frozenset(guess) if count == guessed else None, lost, tuple(hypotheses))


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
    if size == 4 and _exhaustive(size, len(items)):
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


def _searched(size: int, items: int) -> bool:
    """Whether looking for `size` lost keys among `items` candidates settles the question: a subset would have been
    found if there were one (or there cannot be one)."""
    return size < 0 or size > items or _exhaustive(size, items)


def _exhaustive(size: int, items: int) -> bool:
    """Whether `_subset_with_sum` tries every subset of `size` of `items` items (so not finding one proves none)."""
    return size <= 3 or (size == 4 and items * items <= MAX_PAIRS) or comb(items, size) <= MAX_SUBSETS


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
    # The sum of the unnamed keys' identities, when known (it is kept to check the events that name them later).
    unnamed_ids: int | None = None
    # False: `unnamed` is only a lower bound (the candidates could not settle the count; the closing warning says
    # "at least").
    exact: bool = True


@dataclass(frozen=True)
class Unnamed:
    """A stream's lost keys that no listing could name yet: how many, the sum of their identities (None when
    unknown), and whether some range lost keys it could not even count. An event that names one of them later, after
    its range's sketch already took the loss in, claims it (`claim_unnamed`): without this ledger, a delete a pass
    counted before its event was drained would never be sent."""

    count: int = 0
    ids: int | None = 0
    uncounted: bool = False

    def plus(self, count: int | None, ids: int | None) -> Unnamed:
        """The ledger with a range's unnamed keys added (`count` None: the range could not count them)."""
        if count is None:
            return replace(self, ids=None if self.count else self.ids, uncounted=True)
        if count <= 0:
            return self
        total = None if ids is None or self.ids is None else (self.ids + ids) & MASK
        return Unnamed(self.count + count, total, self.uncounted)


def claim_unnamed(ledger: Unnamed, keys: Sequence[str],
                  identity: Callable[[str], int] = key_identity) -> tuple[list[str], Unnamed]:
    """Which of `keys` (removed by events, not listed, and not lost since their range was last listed, so lost
    before) are keys the ledger holds, and the ledger without them.

    With the identities known, a subset adding up to every held key is exact, as is the one key matching a ledger of
    one; a key matching nothing was named before (a duplicate event). Otherwise which keys are held cannot be checked:
    all are claimed, since a row left live is worse than a delete sent twice. A ledger that holds uncounted losses
    claims every key, for good (until a reconciliation empties it)."""
    unique = sorted(set(keys))
    if not unique or (ledger.count <= 0 and not ledger.uncounted):
        return [], ledger
    if ledger.ids is not None and not ledger.uncounted and _searched(ledger.count, len(unique)):
        values = [(i, identity(key)) for i, key in enumerate(unique)]
        found = _subset_with_sum(values, ledger.count, ledger.ids, list(range(ledger.count))) \
            if ledger.count <= len(unique) else None
        if found is not None:
            return [unique[i] for i in sorted(found)], Unnamed()
        if ledger.count == 1:
            return [], ledger
    left = max(0, ledger.count - len(unique))
    return unique, Unnamed(left, None if left or ledger.uncounted else 0, ledger.uncounted)


def named_by_report(candidates: Sequence[str], unnamed: int | None, unnamed_ids: int | None, every: bool,
                    identity: Callable[[str], int] = key_identity) -> list[str]:
    """Which keys a range lost that a report names: `candidates` are the keys an S3 Inventory report lists in the
    range that are neither listed nor deleted now, so gone from S3. The keys the range lost since its last listing
    (`unnamed` of them, their identities adding up to `unnamed_ids`; None: too much changed to count them) are among
    them when the report was written before they were deleted; the others were lost before, and their deletes were
    sent then or counted then.

    The subset whose sums match is exactly the range's lost keys, and is taken. Without one, every candidate is taken
    when `every` (the report a bootstrap read, in the pass after it: the table holds every key it lists) or when the
    range could not count its losses (a row left live is worse than a delete sent twice); otherwise none is (the
    range's loss stays counted): a newer report's candidates hold every key deleted since it was written, whose
    deletes were mostly sent already.
    """
    unique = sorted(set(candidates))
    if unnamed is None:
        return unique
    found = None
    if unnamed_ids is not None and 0 < unnamed <= len(unique):
        values = [(i, identity(key)) for i, key in enumerate(unique)]
        found = _subset_with_sum(values, unnamed, unnamed_ids, list(range(unnamed)))
    if found is not None:
        return [unique[i] for i in sorted(found)]
    return unique if every else []


def needs_version_listing(loss: Loss) -> bool:
    """Whether a range of a versioned bucket must be listed with ListObjectVersions to find its deletes."""
    return not loss.none


def marker_candidates(versions: Iterable[tuple[dict[str, Any], bool]], listed: set[str]) -> list[tuple[str, datetime]]:
    """Keys not listed now whose latest version is a delete marker, with when it was written.

    Every such marker is a candidate, however old: which of them the range lost since its last listing is decided by
    the key sums (`named_in_range`, newest markers tried first); only where they cannot decide are markers written
    well before the last pass left out, and then only when the listing shows the clocks agree (`_recent`)."""
    return [(entry["Key"], entry["LastModified"]) for entry, marker in versions
            if marker and entry.get("IsLatest") and entry["Key"] not in listed]


def named_in_range(loss: Loss, candidates: Sequence[tuple[str, datetime | None]], tracked_gone: Sequence[str],
                   identity: Callable[[str], int] = key_identity, since: datetime | None = None) -> Named:
    """Which keys a range's deletes are, and how many of its lost keys nothing names.

    `tracked_gone`: keys the stream tracked that are not listed: lost for certain. `candidates`: keys that may have
    been lost since the range was last listed, with when (newest are tried first): those whose latest version is a
    delete marker (versioned buckets), and those events say were removed (event mode); a candidate whose 16-bit key
    hash is not among what the decoded sketch saw leave (`Loss.gone`) was gone before, and is none. The lost keys
    among them are found exactly when the key sums allow (a subset whose identities add up to what the range lost);
    otherwise every candidate is deleted (rows stay right, a delete may be sent twice), unless the count is settled:
    proven, or every reading the sketch left was searched in full without a match, when the likeliest (the sketch's
    own pairing) is taken, since any other needs a lost key and a new one sharing a 16-bit key hash in one range
    between two syncs. With the count settled and no subset matching it, some lost key is none of the candidates (deleted for
    good): with one lost key, no candidate is deleted (their deletes were sent when the range was last listed).
    """
    tracked = list(tracked_gone)
    skip = set(tracked)
    seen: set[str] = set()
    others = []
    written: dict[str, datetime | None] = {}
    for key, when in sorted(candidates, key=lambda c: (c[1] is not None, c[1]), reverse=True):
        if loss.gone is not None and key_hash(key) not in loss.gone:
            continue  # not in the range when it was last listed: its delete was decided then
        if key not in skip and key not in seen:
            seen.add(key)
            others.append(key)
            written[key] = when
    tracked_ids = sum(identity(k) for k in tracked)
    values = [(i, identity(key)) for i, key in enumerate(others)]
    hypotheses = loss.hypotheses or ((((loss.count, loss.lost_ids),) if loss.lost_ids is not None else ()))
    for count, lost_ids in hypotheses:
        wanted = count - len(tracked)
        if 0 <= wanted <= len(others):
            found = _subset_with_sum(values, wanted, (lost_ids - tracked_ids) & MASK, list(range(wanted)))
            if found is not None:  # a 64-bit sum matched: these are the lost keys, and no other key was lost
                return Named(tuple(tracked + [others[i] for i in sorted(found)]), 0, 0)
    recent = _recent(others, written, since)
    if loss.count is None:
        return Named(tuple(tracked + recent), None)
    wanted = loss.count - len(tracked)
    searched_all = bool(hypotheses) and all(_searched(count - len(tracked), len(others)) for count, _ in hypotheses)
    # A candidate sharing the key hash of a listed object the sketch paired as changed may be the lost half of a
    # lost key and a new one sharing a key hash: the likeliest reading cannot be trusted to leave it out.
    twin = bool(loss.doubtful) and any(key_hash(key) in loss.doubtful for key in others)
    if not (loss.proven or (searched_all and not twin)):
        at_least = min((_unnamed_at_least(count - len(tracked), len(others)) for count, _ in hypotheses), default=0)
        return Named(tuple(tracked + recent), max(at_least, wanted - len(recent)), exact=False)
    # Settled: proven, or the sketch's own pairing taken (a pairing that was instead a new key beside a lost one
    # sharing its 16-bit key hash would hide one lost key per such pair, 1 in 65,536 for each: documented, and the
    # count is given as it is likeliest).
    if wanted <= 0:
        return Named(tuple(tracked), 0, 0)  # nothing else lost: the candidates' deletes were sent before
    if loss.lost_ids is not None and (wanted > len(others) or _exhaustive(wanted, len(others))):
        # No subset of the candidates adds up to the settled count and sum: some lost key is none of them (deleted
        # for good). With one lost key, that is it, and no candidate was lost.
        if wanted == 1 or not recent:  # no candidate deleted: the lost keys not tracked are all unnamed
            return Named(tuple(tracked), wanted, (loss.lost_ids - tracked_ids) & MASK)
        return Named(tuple(tracked + recent), max(1, wanted - len(recent)))
    # The recent candidates deleted are taken for lost since the last listing (their markers are newer than it).
    return Named(tuple(tracked + recent), max(0, wanted - len(recent)))


def _unnamed_at_least(wanted: int, candidates: int) -> int:
    """How many lost keys are none of the candidates at least, if the range lost `wanted` (besides tracked keys) and
    no subset of the candidates matched its key sum."""
    if wanted > candidates:
        return wanted - candidates
    return 1 if wanted > 0 and _exhaustive(wanted, candidates) else 0


def _recent(keys: Sequence[str], written: Mapping[str, datetime | None], since: datetime | None) -> list[str]:
    """The candidates a range that cannot name its losses exactly deletes: those events name, and delete markers
    written since `since` (its stream's last complete pass began, less MARKER_SLACK), when the clocks agree, which
    the listing shows by holding such a marker. A marker older than that was already gone when the range was last
    listed, so its delete was decided then; sending it again costs a row. Where no marker is that recent (a store
    whose object times do not follow its Date header), every candidate is deleted."""
    if since is None or not any(when is not None and when >= since for when in written.values()):
        return list(keys)
    return [key for key in keys if written[key] is None or written[key] >= since]


