"""The versions walk: what keeps `s3_object_versions` equal to ListObjectVersions after every sync.

A noncurrent version removed for good (a lifecycle NoncurrentVersionExpiration, or DeleteObject with a
VersionId) changes nothing ListObjectsV2 shows, so with `sync_versions` on each versioned stream is also
walked with ListObjectVersions, in key ranges of its own. The unit of a versions range is a key with all
its versions and delete markers (a key's versions never straddle two ranges). Each range keeps:

- `count` and `digest`: the number of keys and the sum of one hash per key over every version's columns,
  so a range whose versions did not change sends nothing, and one that only gained versions sends only
  the keys that did (the same newest-moment rule as the object ranges);
- `ids`: the sum of one hash per (key, version id). When a changed range's identities are not its old
  ones plus versions written after some moment, a version (or a whole key) was removed. Its row cannot be
  named (the state holds no version ids, only sums), so the sync rebuilds the versions table: it truncates
  it and sends every version again. That costs one more ListObjectVersions walk and one row per version,
  and happens only in syncs that follow such a removal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from typing import Any, Iterator, Protocol, Sequence

from s3_metadata.listing import (
    Position, Request, check_order, check_start, nothing_between, past_bounds, skipped_keys_returned,
    versions_listing, versions_next_page,
)
from s3_metadata.ranges import MASK
from s3_metadata.timestamps import to_utc

Entry = tuple[dict[str, Any], bool]


class VersionsSource(Protocol):
    def list_versions_page(self, bucket: str, prefix: str, key_marker: str | None,
                           version_marker: str | None) -> Any: ...


@dataclass(frozen=True, slots=True)
class KeyVersions:
    """Every version and delete marker of one key, as ListObjectVersions gave them."""

    key: str
    last_modified: datetime
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class VersionsPage:
    objects: list[KeyVersions]
    date: datetime | None = None


def _hash(text: str) -> int:
    return int.from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def version_identity(entry: dict[str, Any]) -> int:
    return _hash(f"{entry['Key']}\x00{entry.get('VersionId') or 'null'}")


def _version_fingerprint(entry: dict[str, Any], marker: bool) -> int:
    """Every column of a version but IsLatest, which follows from the others: a new version adds exactly its own
    fingerprint to the range, so a range that only gained versions is recognised as such."""
    algorithms = entry.get("ChecksumAlgorithm") or ()
    fields = (entry["Key"], entry.get("VersionId") or "null", "1" if marker else "0",
              (entry.get("ETag") or "").strip('"'), str(entry.get("Size") or 0), entry.get("StorageClass") or "",
              to_utc(entry["LastModified"]).isoformat(), ",".join(algorithms), entry.get("ChecksumType") or "")
    return _hash("\x00".join(fields))


def unit_fingerprint(unit: KeyVersions) -> int:
    return sum(_version_fingerprint(entry, marker) for entry, marker in unit.entries) & MASK


def unit_identity(unit: KeyVersions) -> int:
    return sum(version_identity(entry) for entry, _ in unit.entries) & MASK


def explain_versions(units: Sequence[KeyVersions], prints: Sequence[int], entry: Any) -> list[bool] | None:
    """The keys to send when a known versions range changed: those holding a version written after the newest
    moment such that everything else adds up exactly to the old digest and identities; None when none does."""
    if entry.digest is None or entry.ids is None:
        return None
    stamped = sorted(((to_utc(version["LastModified"]), index, _version_fingerprint(version, marker),
                       version_identity(version))
                      for index, unit in enumerate(units) for version, marker in unit.entries), reverse=True)
    digest, ids = sum(prints) & MASK, sum(unit_identity(u) for u in units) & MASK
    emit = [False] * len(units)
    position = 0
    while position < len(stamped):
        moment = stamped[position][0]
        while position < len(stamped) and stamped[position][0] == moment:
            _, index, fingerprint, identity = stamped[position]
            emit[index] = True
            digest, ids = (digest - fingerprint) & MASK, (ids - identity) & MASK
            position += 1
        if digest == entry.digest and ids == entry.ids:
            return emit
    return None


def identities_explained(units: Sequence[KeyVersions], old_ids: int) -> bool:
    """Whether the versions of `units` are the old ones plus versions written after some moment (no removal)."""
    stamped = sorted(((to_utc(entry["LastModified"]), version_identity(entry)) for unit in units
                      for entry, _ in unit.entries), reverse=True)
    remaining = sum(identity for _, identity in stamped) & MASK
    if remaining == old_ids:
        return True
    position = 0
    while position < len(stamped):
        moment = stamped[position][0]
        while position < len(stamped) and stamped[position][0] == moment:
            remaining = (remaining - stamped[position][1]) & MASK
            position += 1
        if remaining == old_ids:
            return True
    return False


def key_versions(key: str, entries: list[Entry]) -> KeyVersions:
    """A key's unit: its versions and delete markers, and when the newest was written."""
    return KeyVersions(key, max(to_utc(entry["LastModified"]) for entry, _ in entries), tuple(entries))


def walk_key_versions(source: VersionsSource, bucket: str, prefix: str, lo: str | None, hi: str | None,
                      endpoint: str = "The S3 endpoint", end: str | None = None) -> Iterator[VersionsPage]:
    """Yield the keys with `lo < key <= hi` and `key < end` (a key range's exclusive end) under `prefix` with all
    their versions, page by page; a key whose versions continue on the next page is held back until they are all in.
    The walk ends where listing.next_page says the listing is complete, or past its bounds."""
    if nothing_between(lo, hi, end):
        return
    past = past_bounds(hi, end)
    listing = versions_listing(endpoint, bucket)
    sent = Request(after=None if lo is None else Position(lo))
    held: tuple[str, list[Entry]] | None = None
    held_versions: set[str] = set()
    previous = lo
    while True:
        page = source.list_versions_page(bucket, prefix, sent.after.key if sent.after else None,
                                         sent.after.version if sent.after else None)
        entries: list[Entry] = [(e, False) for e in page.versions] + [(e, True) for e in page.delete_markers]
        entries.sort(key=lambda item: item[0]["Key"])
        if entries:
            check_start(listing, sent, Position(entries[0][0]["Key"], entries[0][0].get("VersionId") or "null"))
        units: list[KeyVersions] = []
        past_hi = False
        for entry, marker in entries:
            key = entry["Key"]
            if lo is not None and key <= lo:
                continue
            if past(key):
                past_hi = True
                break
            if held is not None and held[0] == key:
                version = entry.get("VersionId") or "null"
                if version in held_versions:  # a version the page before listed: the store ignored VersionIdMarker
                    raise skipped_keys_returned(listing, sent, Position(key, version))
                held_versions.add(version)
                held[1].append((entry, marker))
                continue
            if held is not None:
                units.append(key_versions(*held))
            held = (key, [(entry, marker)])
            held_versions = {entry.get("VersionId") or "null"}
        following = None if past_hi else versions_next_page(listing, sent, page)
        done = following is None
        if done and held is not None:
            units.append(key_versions(*held))
            held = None
        check_order(units, previous, endpoint, bucket)  # type: ignore[arg-type]
        if units:
            previous = units[-1].key
        yield VersionsPage(units)
        if done:
            return
        sent = following  # type: ignore[assignment]
