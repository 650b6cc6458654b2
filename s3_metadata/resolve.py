"""What one listed batch means for the destination: rows to upsert, rows to delete, restores to track.

This is the sync's one decision about output, kept pure so it can be tested as a table of cases: the
batch (which objects the range scan says to send), the HEAD answers and version listing the sync fetched
for it, and what the stream remembers go in; rows, deletes and tracking changes come out. Nothing here
talks to S3 or the SDK.

- A row is sent when the range scan says so, or when a HEAD shows restore columns that differ from what
  the row was last sent with (a restore started, completed or expired behind LastModified), or a description
  that failed before now succeeds (or fails differently): `row_due`. An object HEADed only to check its
  restore status gets no row when that status is unchanged, details or not.
- With object details on, every row carries the detail columns from its object's HEAD (and tags); a row
  without a HEAD cannot be due then, because restore_mode.head_purpose HEADs every object that is sent. A
  HEAD or GetObjectTagging that fails leaves those columns NULL, is counted by code, and the object is
  tracked like a failed restore HEAD, so the next sync describes it again and sends its row once it succeeds.
- An object that vanished between LIST and HEAD (or GetObjectTagging) gets no row (the next sync sees it gone).
- Deletes (deletes.py decides which keys): tracked keys inside the batch that were not listed, and, in a
  versioned bucket whose range may have lost keys, the lost keys among those whose latest version is a delete
  marker. Only a stream that has sent rows before (a pass completed, or this pass resumed after a kill) can
  have rows to delete: that follows from the stream's history, not from whether the range still has a digest.
  Lost keys nothing names are counted (`Outcome.unnamed`) for the closing warning.
- Versions batches (see versions.py) send every version of each emitted key, and say whether a version may
  have been removed, which only rebuilding the versions table can undo.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from s3_metadata.configuration import DETAILS_HEAD
from s3_metadata.deletes import marker_candidates, named_in_range
from s3_metadata.details import detail_values, head_details
from s3_metadata.ranges import Batch
from s3_metadata.restore import (
    ERROR_PREFIX, HEAD_FAILED, REPLICATION_NOTE, TAGS_FAILED, RestoreInfo, error_info, keeps_tracking, restore_from_head,
)
from s3_metadata.restore_mode import FOR_RESTORE, RestoreMode, last_sent, listed_restore
from s3_metadata.rows import ListedObject, object_row, version_row
from s3_metadata.versions import identities_explained

# x-amz-replication-status of an object not replicated yet: it changes behind LastModified, so it is tracked.
PENDING = "PENDING"


@dataclass(frozen=True)
class Description:
    """What this sync's requests said of one object that exists.

    `restore`: its row's restore columns. `head`: the HEAD detail columns (None when not asked or the HEAD failed).
    `tags`: its tags (None when not asked or GetObjectTagging failed). `head_error` / `tags_error`: the code of the
    request that failed. `unreadable`: headers whose values could not be read (their columns are NULL).
    """

    restore: RestoreInfo
    head: Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = None
    head_error: str | None = None
    tags_error: str | None = None
    unreadable: tuple[str, ...] = ()

    @property
    def observed(self) -> RestoreInfo:
        """What the tracked objects remember of it: its restore columns, and in `note` a failure (so it is described
        again next sync) or a replication still pending (so the next sync sees it complete or fail). The two are
        compared apart, so a restore that changes is sent even while the same request keeps failing."""
        note = None
        if self.head_error is not None:
            note = HEAD_FAILED + self.head_error
        elif self.tags_error is not None:
            note = TAGS_FAILED + self.tags_error
        elif self.head is not None and self.head.get("replication_status") == PENDING:
            note = REPLICATION_NOTE
        return RestoreInfo(self.restore.status, self.restore.expiry, self.restore.archive_status, note)


# What the requests said of one object: its description (or, from callers that only HEAD for restore status, its
# restore columns), or None when the object no longer exists.
Described = Description | RestoreInfo | None


@dataclass
class Outcome:
    """Everything a batch sends, in the order it must be sent, and what went wrong describing it (by code).

    `unnamed`: how many keys the batch's range lost that no delete could name (counted for the closing warning;
    None when the range changed too much to count them), and `unnamed_ids` the sum of their identities when known.
    `unclaimed`: keys events removed that are not listed and that this range did not lose since its last listing:
    lost before, and counted then or deleted then (the stream's ledger of unnamed keys decides, `claim_unnamed`).
    """

    upserts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    tracking: dict[str, RestoreInfo | None] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    tag_errors: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    unnamed: int | None = 0
    unnamed_ids: int | None = 0
    unnamed_exact: bool = True  # False: `unnamed` is a lower bound (deletes.Named.exact)
    unclaimed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StreamView:
    """What resolving a batch needs to know about its stream and bucket; `details` are the chosen object details.

    `versioned`: the bucket keeps delete markers. `deletes_since`: delete markers older than this were gone when the
    stream's last complete pass listed their range (deletes.MARKER_SLACK, or AWS_MARKER_SLACK on AWS, before it
    began); None when unknown.
    """

    bucket: str
    mode: RestoreMode
    tracked: Mapping[str, RestoreInfo]
    has_history: bool
    keep: Callable[[str], bool]
    details: tuple[str, ...] = ()
    versioned: bool = False
    deletes_since: datetime | None = None


def as_description(answer: Description | RestoreInfo) -> Description:
    """A description from either form of answer (restore columns alone: a HEAD made for restore status only)."""
    return answer if isinstance(answer, Description) else Description(answer)


def head_description(obj: ListedObject, head: Any, details: Sequence[str]) -> Description:
    """The description of `obj` from its HEAD (an `aws.HeadResult`), before any tags are read."""
    restore = restore_from_head(obj.storage_class, head.restore, head.archive_status)
    if DETAILS_HEAD not in details:
        return Description(restore)
    values, unreadable = head_details(head)
    return Description(restore, values, unreadable=unreadable)


def failed_description(mode: RestoreMode, obj: ListedObject, purpose: str, code: str) -> Description:
    """The description of `obj` when its HEAD failed with `code`: the restore columns say so when they needed the
    HEAD; otherwise they are what the listing says, and only the details are missing."""
    restore = error_info(code) if purpose == FOR_RESTORE else listed_restore(mode, obj)
    return Description(restore, head_error=code)


def previous_restore(tracked: Mapping[str, RestoreInfo], obj: ListedObject) -> RestoreInfo:
    """What `obj`'s row was last sent with, as far as a HEAD can change it behind LastModified."""
    return tracked.get(obj.key) or last_sent(obj)


def remembered(observed: RestoreInfo) -> bool:
    """Whether a described object is tracked, so later syncs HEAD it again: its restore state can change behind
    LastModified, a request about it failed, or its replication is still pending (restore.keeps_tracking)."""
    return keeps_tracking(observed)


def described_row(bucket: str, obj: ListedObject, description: Description, details: Sequence[str]) -> dict[str, Any]:
    """The full row of a described object: listing columns, restore columns and every chosen detail column."""
    return {**object_row(bucket, obj, description.restore),
            **detail_values(details, description.head, description.tags)}


def row_due(sent: bool, described: Description | None, previous: RestoreInfo) -> bool:
    """Whether an object gets a row: the range scan sends it, or its HEAD shows something its row does not."""
    return sent or (described is not None and described.observed != previous)


def resolve(batch: Batch, view: StreamView, described: Mapping[int, Described], gone_tracked: Sequence[str],
            versions: Sequence[tuple[dict[str, Any], bool]] | None, removed: Sequence[str] = ()) -> Outcome:
    """The rows, deletes and tracking changes of `batch` (see the module docstring). `gone_tracked`: the tracked keys
    of the batch's range; `versions`: its version listing, when one was needed; `removed`: keys of the range events
    say were removed (event mode)."""
    out = Outcome()
    upsert = out.upserts.append
    for index, (obj, sent) in enumerate(zip(batch.objects, batch.emit)):
        description = None
        if index in described:
            answer = described[index]
            if answer is None:
                out.tracking[obj.key] = None
                continue
            description = as_description(answer)
            observed = description.observed
            out.tracking[obj.key] = observed if remembered(observed) else None
            _count_problems(out, description)
        # What the row was last sent with matters only to an object the range scan does not send anyway.
        if not sent and not row_due(sent, description, previous_restore(view.tracked, obj)):
            continue
        if description is None:
            if view.details:
                raise AssertionError(f"object {obj.key!r} is sent without the HEAD its details need")
            upsert(object_row(view.bucket, obj, listed_restore(view.mode, obj)))
        else:
            upsert(described_row(view.bucket, obj, description, view.details))
    _resolve_deletes(out, batch, view, gone_tracked, versions, removed)
    return out


def _resolve_deletes(out: Outcome, batch: Batch, view: StreamView, gone_tracked: Sequence[str],
                     versions: Sequence[tuple[dict[str, Any], bool]] | None, removed: Sequence[str]) -> None:
    """The batch's deletes (deletes.py decides which keys they are) and how many lost keys stay unnamed."""
    listed = {obj.key for obj in batch.objects} if gone_tracked or removed or versions is not None else set()
    tracked_gone = sorted(set(gone_tracked) - listed)
    if not view.has_history:
        out.unnamed = 0
        gone: Sequence[str] = tracked_gone
    else:
        candidates: list[tuple[str, datetime | None]] = [(key, None) for key in removed if key not in listed]
        if versions is not None:
            candidates += marker_candidates(versions, listed)
        named = named_in_range(batch.loss, candidates, tracked_gone, since=view.deletes_since)
        gone, out.unnamed, out.unnamed_ids = named.keys, named.unnamed, named.unnamed_ids
        out.unnamed_exact = named.exact
        out.unclaimed = sorted({key for key in removed if key not in listed} - set(gone))
    for key in sorted(gone):
        out.tracking[key] = None
        if view.keep(key):
            out.deletes.append(key)


def removal_suspected(batch: Batch, has_history: bool) -> bool:
    """Whether a versions batch may have lost a version (or a key) whose row the versions table still holds."""
    if not batch.unexplained or not has_history:
        return False
    if batch.previous_ids is None:
        return True
    return not identities_explained(batch.objects, batch.previous_ids)


def version_rows(batch: Batch, bucket: str, keep: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The rows of s3_object_versions for every emitted key of a versions batch, all its versions included (a new
    version turns the previous latest one noncurrent)."""
    return [version_row(bucket, entry, marker, False) for unit, emit in zip(batch.objects, batch.emit)
            if emit and keep(unit.key) for entry, marker in unit.entries]


def _count_problems(out: Outcome, description: Description) -> None:
    """Count what went wrong describing one object: a HEAD that failed, or restore columns that say why they are
    not known (`error:<Code>`, also for a HEAD whose x-amz-restore could not be read), once; a failed tagging."""
    status = description.restore.status or ""
    if status.startswith(ERROR_PREFIX):
        out.errors[status[len(ERROR_PREFIX):]] += 1
    elif description.head_error is not None:
        out.errors[description.head_error] += 1
    if description.tags_error is not None:
        out.tag_errors[description.tags_error] += 1
    out.unreadable.update(description.unreadable)
