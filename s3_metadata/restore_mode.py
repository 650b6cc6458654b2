"""Where a bucket's restore status comes from, and the one rule that says which objects need a HEAD.

Each bucket gets exactly one mode per sync (decided in buckets.py, logged once):

- `listing`: the listing's RestoreStatus is trusted (a restore it reported was confirmed by HEAD, or the
  user chose it). GLACIER and DEEP_ARCHIVE objects cost no HEAD; a restore that starts or completes changes
  the listing, hence the range digest, hence the row.
- `head`: the listing cannot show restores (the user chose HEAD, the endpoint rejects or ignores the
  request, or it once disagreed with HEAD). Nothing a listing shows changes when a restore starts on an old
  archived object, so every GLACIER and DEEP_ARCHIVE object is HEADed on every sync.
- `confirming`: AWS itself, not yet confirmed. AWS documents listing RestoreStatus, so a restore that starts
  changes the listing and the range digest as in `listing`; until HEAD has confirmed one report, rows of
  archived objects take their restore columns from HEAD whenever they are sent.

Only AWS can be `confirming`: an S3-compatible endpoint that has not proved it reports restores is `head`,
because a store that ignores the request looks exactly like a bucket where nothing was ever restored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Container, Sequence

from s3_metadata.restore import (
    ARCHIVE_CLASSES, ARCHIVE_TIERS, ARCHIVED, ERROR_PREFIX, INTELLIGENT_TIERING, NOT_APPLICABLE, RestoreInfo,
)
from s3_metadata.rows import ListedObject

LISTING = "listing"
HEAD = "head"
CONFIRMING = "confirming"


@dataclass(frozen=True)
class Tiering:
    """What is known about a bucket's Intelligent-Tiering archive tiers.

    `known` False: the configuration could not be read, so objects are only HEADed when sent or tracked.
    `archive_after` None (and known): no archive tier, so nothing is ever archived.
    """

    known: bool
    archive_after: timedelta | None = None


@dataclass(frozen=True)
class RestoreMode:
    """A bucket's restore-status mode for one sync.

    `request_restore_status`: listings ask for RestoreStatus, so range digests cover it (kept on for `head`
    buckets in `auto`, so that confirming the listing later does not invalidate every digest).
    `remember`: the mode is evidence worth keeping in the state (`restore_sources`), so the probe is not repeated.
    """

    source: str
    request_restore_status: bool
    reason: str
    remember: bool = False

    def describe(self) -> str:
        what = {LISTING: "from the listing", HEAD: "from HEAD of every GLACIER/DEEP_ARCHIVE object, every sync",
                CONFIRMING: "from the listing, confirmed by HEAD of archived objects when they are sent"}[self.source]
        return f"restore status {what} ({self.reason})"


def needs_head(mode: RestoreMode, tiering: Tiering, obj: ListedObject, sent: bool, tracked: bool,
               now: datetime) -> bool:
    """Whether `obj` needs a HEAD this sync for its restore columns to be true."""
    if obj.storage_class in ARCHIVE_CLASSES:
        if mode.source == LISTING:
            return False
        return mode.source == HEAD or sent or tracked
    if obj.storage_class == INTELLIGENT_TIERING:
        if not tiering.known:
            return sent or tracked
        if tiering.archive_after is None:
            return tracked
        return sent or tracked or obj.last_modified <= now - tiering.archive_after
    return False


# Why an object is HEADed: its restore columns depend on the answer, or only its object details do.
FOR_RESTORE = "restore"
FOR_DETAILS = "details"


def head_purpose(mode: RestoreMode, tiering: Tiering, obj: ListedObject, sent: bool, tracked: bool, now: datetime,
                 details: bool) -> str | None:
    """Whether and why `obj` gets a HEAD this sync: the one rule for every HEAD of a listing sync.

    FOR_RESTORE when its restore columns need one (`needs_head`). Otherwise, with object details on, FOR_DETAILS
    when it is sent (its row must carry the details, so every sent object is HEADed: one HEAD per new or changed
    object) or tracked (an earlier description failed and is tried again). None: no HEAD. One answer, so no
    object is ever HEADed twice in one sync; the HEAD made for restore status also gives the details.
    """
    if needs_head(mode, tiering, obj, sent, tracked, now):
        return FOR_RESTORE
    if details and (sent or tracked):
        return FOR_DETAILS
    return None


# The storage classes `needs_head` can answer True for: without object details, no other object gets a HEAD.
_HEAD_CLASSES = ARCHIVE_CLASSES | {INTELLIGENT_TIERING}


def head_purposes(mode: RestoreMode, tiering: Tiering, objects: Sequence[ListedObject], sent: Sequence[bool],
                  tracked: Container[str], now: datetime, details: bool) -> dict[int, str]:
    """`head_purpose` of every object of a batch, for those that get a HEAD: their index to why.

    This asks for every listed object of every sync, so without object details an object of a class `needs_head`
    never answers True for (most of a bucket) is passed over without asking: it can get no HEAD.
    """
    purposes: dict[int, str] = {}
    for index, obj in enumerate(objects):
        if not details and obj.storage_class not in _HEAD_CLASSES:
            continue
        purpose = head_purpose(mode, tiering, obj, sent[index], obj.key in tracked, now, details)
        if purpose is not None:
            purposes[index] = purpose
    return purposes


def kept_in_listing_mode(info: RestoreInfo, details: bool) -> bool:
    """Whether a tracked object stays tracked in a bucket whose restore status comes from the listing: an
    Intelligent-Tiering archive tier (only HEAD shows it), and with object details a failed description, which
    the next HEAD retries, or a replication still pending, which the next HEAD looks at again."""
    return info.archive_status in ARCHIVE_TIERS or (
        details and ((info.status or "").startswith(ERROR_PREFIX) or info.note is not None))


def listed_restore(mode: RestoreMode, obj: ListedObject) -> RestoreInfo:
    """The restore columns of a row built without a HEAD."""
    if mode.source == LISTING and obj.restore is not None:
        return obj.restore
    return NOT_APPLICABLE


def last_sent(obj: ListedObject) -> RestoreInfo:
    """The restore columns an untracked object was last sent with: archived for GLACIER and DEEP_ARCHIVE (a
    restore would have been tracked), nothing otherwise."""
    return RestoreInfo(ARCHIVED) if obj.storage_class in ARCHIVE_CLASSES else NOT_APPLICABLE
