"""What one listed batch means for the destination: rows to upsert, rows to delete, restores to track.

This is the sync's one decision about output, kept pure so it can be tested as a table of cases: the
batch (which objects the range scan says to send), the HEAD answers and version listing the sync fetched
for it, and what the stream remembers go in; rows, deletes and tracking changes come out. Nothing here
talks to S3 or the SDK.

- A row is sent when the range scan says so, or when a HEAD shows restore columns that differ from what
  the row was last sent with (a restore started, completed or expired behind LastModified).
- An object that vanished between LIST and HEAD gets no row (the next sync sees it gone).
- Deletes: tracked keys inside the batch that were not listed, and, when the batch may hide deletes, keys
  whose latest version is a delete marker. A batch may hide deletes when its range is not proven to have
  only gained objects *and* the stream has sent rows before (a pass completed, or this pass resumed after a
  kill): that follows from the stream's history, not from whether the range still has a digest.
- Versions batches (see versions.py) send every version of each emitted key, and say whether a version may
  have been removed, which only rebuilding the versions table can undo.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from s3_metadata.ranges import Batch
from s3_metadata.restore import ERROR_PREFIX, RestoreInfo, keeps_tracking
from s3_metadata.restore_mode import RestoreMode, last_sent, listed_restore
from s3_metadata.rows import ListedObject, object_row, version_row
from s3_metadata.versions import identities_explained

# What a HEAD said of one object: its restore columns, or None when the object no longer exists.
Described = RestoreInfo | None


@dataclass
class Outcome:
    """Everything a batch sends, in the order it must be sent."""

    upserts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    tracking: dict[str, RestoreInfo | None] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class StreamView:
    """What resolving a batch needs to know about its stream and bucket."""

    bucket: str
    mode: RestoreMode
    tracked: Mapping[str, RestoreInfo]
    has_history: bool
    keep: Callable[[str], bool]


def may_hide_deletes(batch: Batch, has_history: bool) -> bool:
    """Whether objects the table holds may have vanished from this batch's keys without a trace in it."""
    return batch.unexplained and has_history


def resolve(batch: Batch, view: StreamView, described: Mapping[int, Described], gone_tracked: Sequence[str],
            versions: Sequence[tuple[dict[str, Any], bool]] | None) -> Outcome:
    """The rows, deletes and tracking changes of `batch` (see the module docstring)."""
    out = Outcome()
    listed: set[str] = set()
    for index, obj in enumerate(batch.objects):
        listed.add(obj.key)
        restore = listed_restore(view.mode, obj)
        if index in described:
            answer = described[index]
            if answer is None:
                out.tracking[obj.key] = None
                continue
            restore = answer
            out.tracking[obj.key] = answer if keeps_tracking(answer) else None
        if restore.status and restore.status.startswith(ERROR_PREFIX):
            out.errors[restore.status[len(ERROR_PREFIX):]] += 1
        if batch.emit[index] or (index in described and restore != _previous(view, obj)):
            out.upserts.append(object_row(view.bucket, obj, restore))
    gone = set(gone_tracked) - listed
    if versions is not None and may_hide_deletes(batch, view.has_history):
        gone.update(entry["Key"] for entry, marker in versions
                    if marker and entry.get("IsLatest") and entry["Key"] not in listed)
    for key in sorted(gone):
        out.tracking[key] = None
        if view.keep(key):
            out.deletes.append(key)
    return out


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


def _previous(view: StreamView, obj: ListedObject) -> RestoreInfo:
    return view.tracked.get(obj.key) or last_sent(obj)
