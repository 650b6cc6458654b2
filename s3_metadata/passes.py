"""Which kind of sync is due, and the passes that truncate a table and send it again.

A sync is one of:
- a listing pass (sync.py), the first of a connection, and every sync in listing mode;
- in event mode (`sqs_queue_url`), once the first pass is complete, a drain of the queue (event_mode.py), except
  when a verification pass (`verify_every_hours`: a listing pass that sends only what changed without an event
  reaching the table, and counts deletes no event named) or a reconciliation is due.

Two kinds of pass begin by truncating a table, recorded in the state so that a pass killed half way resumes
without truncating again:
- the clean pass: the first sync from an empty state (a re-sync, a reset, a lost state file: the destination may
  hold rows of objects deleted since) and every reconciliation (`reconcile_every_hours`) truncate `s3_objects` (and
  `s3_object_versions`), and every object is sent again;
- the versions rebuild: a version removed for good (which ListObjectVersions no longer shows, so its row cannot be
  named) truncates `s3_object_versions`, and every version is sent again.

The decisions are plain functions over the settings and the state; the sink only receives the truncates and the
lines that say what happened.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from hashlib import blake2b
from typing import Iterable

from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS, Settings
from s3_metadata.deletes import Unnamed
from s3_metadata.details import newly_chosen
from s3_metadata.ranges import after_key_range_change, invalidate_digests, start_pass
from s3_metadata.restore import HEAD_FAILED, REPLICATION_NOTE, TAGS_FAILED, keeps_tracking
from s3_metadata.rows import TABLE, VERSIONS_TABLE
from s3_metadata.sink import Sink
from s3_metadata.state import REBUILD_DUE, REBUILD_RUNNING, StreamState, SyncState, stream_id

LISTING_PASS = "listing pass"
VERIFICATION_PASS = "verification pass"
DRAIN = "drain"


def snapshot_complete(settings: Settings, state: SyncState) -> bool:
    """Whether every configured stream has finished a full listing and none is in the middle of one."""
    return all((s := state.streams.get(stream_id(b, p))) is not None and s.watermark is not None and not s.in_pass
               for b, p in settings.streams())


def reconcile_due(settings: Settings, state: SyncState, now: datetime) -> bool:
    """Whether this sync must (re)start or continue a reconciliation pass."""
    if settings.reconcile_every is None:
        return False
    if state.reconcile_started is not None:
        return True
    if not snapshot_complete(settings, state):
        return False
    return state.last_reconcile is None or now - state.last_reconcile >= settings.reconcile_every


def verify_due(settings: Settings, state: SyncState, now: datetime) -> bool:
    """Whether an event-mode connection's verification pass is due: `verify_every` since the last pass began."""
    last = min((s.watermark for s in state.streams.values() if s.watermark is not None), default=None)
    return last is None or now - last >= settings.verify_every


def scope_digest(settings: Settings) -> str:
    """A digest of the settings that decide which keys belong to the table."""
    text = json.dumps([settings.buckets, settings.prefixes, settings.include_patterns, settings.exclude_patterns])
    return blake2b(text.encode(), digest_size=8).hexdigest()


def sync_kind(settings: Settings, state: SyncState, now: datetime) -> str:
    """What this sync does: a listing pass, an event-mode verification pass, or a drain of the queue.

    In event mode, a change of the buckets, prefixes or patterns makes the next sync a listing pass: keys the new
    settings take in were never listed, and no event may ever name them. (A state written before the scope was kept
    has none, and is taken to match.)"""
    if not settings.sqs_queue_url or settings.sync_versions:
        return LISTING_PASS
    if not snapshot_complete(settings, state) or reconcile_due(settings, state, now):
        return LISTING_PASS
    if state.scope is not None and state.scope != scope_digest(settings):
        return VERIFICATION_PASS
    return VERIFICATION_PASS if verify_due(settings, state, now) else DRAIN


def forget_notes_of_unchosen_details(settings: Settings, state: SyncState) -> None:
    """A tracked object's failed GetObjectTagging, failed HEAD for its details or pending replication matters only
    while that detail is chosen: without it the next description could not repeat the note, and the row would be sent
    again unchanged. An object with nothing else to track is no longer tracked."""
    for stream in state.streams.values():
        for key, info in list(stream.restores.items()):
            if info.note is None or _note_still_chosen(info.note, settings.object_details):
                continue
            cleared = replace(info, note=None)
            if keeps_tracking(cleared):
                stream.restores[key] = cleared
            else:
                del stream.restores[key]


def _note_still_chosen(note: str, details: tuple[str, ...]) -> bool:
    if note.startswith(TAGS_FAILED):
        return DETAILS_TAGS in details
    if note.startswith(HEAD_FAILED):
        return bool(details)  # every detail is read after a HEAD
    if note == REPLICATION_NOTE:
        return DETAILS_HEAD in details
    return True


def send_again_for_new_details(settings: Settings, state: SyncState, sink: Sink) -> None:
    """When object details are chosen that the rows already sent do not carry, make every stream list and send every
    object again (a full listing also in event mode), so no row keeps NULL details for good. Recorded at once: a
    pass killed half way resumes, and the ranges it had finished before are sent again by the next one."""
    added = newly_chosen(state.object_details, settings.object_details)
    if added and state.streams:
        sink.info(f"object_details now includes {', '.join(added)}: every object is sent again with its details, at "
                  "one HEAD (and GetObjectTagging with tags) per object, once")
        for stream in state.streams.values():
            stream.ranges = invalidate_digests(stream.ranges)
            stream.watermark = None
    state.object_details = settings.object_details


def adopt_key_range(settings: Settings, state: SyncState, sink: Sink) -> None:
    """When key_range_start or key_range_end changed, make the ranges that hold keys which entered or left the slice
    list and send again (ranges.after_key_range_change), with a full listing also in event mode, where no event
    reports a key entering the slice. Rows of keys that left it stay, as when prefixes or patterns change."""
    old, new = state.key_range, settings.key_range
    if old != new and state.streams:
        sink.info(f"the key range changed (it was {old.describe()}, it is now {new.describe()}): the key ranges that "
                  "hold keys which entered or left it are listed and sent again; rows of keys now outside it stay in "
                  "the table")
        for stream in state.streams.values():
            stream.ranges = after_key_range_change(stream.ranges, old, new)
            stream.version_ranges = after_key_range_change(stream.version_ranges, old, new)
            stream.watermark = None
    state.key_range = new


def begin_clean_pass_if_due(settings: Settings, state: SyncState, sink: Sink, now: datetime,
                            streams: Iterable[tuple[str, str]]) -> bool:
    """Truncate and re-send everything when the state is new or a reconciliation is due; returns whether this sync
    began a reconciliation (a first sync's truncate is not one)."""
    if state.reconcile_started is not None:
        sink.info(f"resuming the pass that truncated the tables at {state.reconcile_started.isoformat()}")
        return False
    fresh = not state.streams or all(not s.passes and not s.in_pass for s in state.streams.values())
    if not fresh and not reconcile_due(settings, state, now):
        return False
    # Rows synced before the truncate are marked deleted; every object still in S3 is sent again by this pass.
    sink.truncate(TABLE)
    if settings.sync_versions:
        sink.truncate(VERSIONS_TABLE)
    state.reconcile_started = now
    for bucket, prefix in streams:
        stream = state.stream(bucket, prefix)
        stream.ranges = invalidate_digests(start_pass(stream.ranges))
        if stream.version_ranges:
            stream.version_ranges = invalidate_digests(start_pass(stream.version_ranges))
        stream.pass_started = None
        stream.unnamed = Unnamed()  # every row is sent again: no lost key is owed a delete
    state.versions_rebuild = None
    if fresh:
        sink.info("starting from an empty state: the tables are truncated and every object is sent, so rows of "
                  "objects deleted since an earlier sync do not stay live")
        return False
    sink.info("reconciliation: every row is marked deleted and every object still in S3 is sent again")
    return True


def end_clean_pass_if_done(settings: Settings, state: SyncState, sink: Sink, now: datetime) -> None:
    if not snapshot_complete(settings, state):
        return
    if state.reconcile_started is not None:
        state.last_reconcile = state.reconcile_started
        state.reconcile_started = None
        from_reports = sorted(sid for sid, s in state.streams.items() if s.inventory is not None)
        if from_reports:
            sink.info("every object has been sent again since the truncate, from S3 Inventory reports for "
                      f"{', '.join(from_reports)}: the tables match those reports, and the next sync's listing "
                      "catches up what changed since they were written")
        else:
            sink.info("every object has been sent again since the truncate: the tables match S3")
    elif settings.reconcile_every is not None and state.last_reconcile is None:
        state.last_reconcile = now


def begin_versions_rebuild_if_due(state: SyncState, sink: Sink, walked: list[StreamState], when: str) -> bool:
    """Truncate s3_object_versions and invalidate every versions range of the `walked` streams when a removed
    version was detected, or when the table may hold rows no versions range accounts for (versions synced before
    the versions walk existed, or a versions range that lost its digests). Returns whether a rebuild began."""
    if state.versions_rebuild == REBUILD_RUNNING or state.reconcile_started is not None:
        return False
    unaccounted = [s for s in walked if s.passes > 0 and not s.version_passes and not s.in_pass]
    if state.versions_rebuild != REBUILD_DUE and not unaccounted:
        return False
    sink.truncate(VERSIONS_TABLE)
    for stream in walked:
        stream.version_ranges = invalidate_digests(start_pass(stream.version_ranges))
    state.versions_rebuild = REBUILD_RUNNING
    sink.info(f"rebuilding s3_object_versions {when}: a version was removed for good (or the table may hold rows the "
              "versions walk does not account for), so the table is truncated and every version is sent again")
    return True


def end_versions_rebuild_if_done(state: SyncState, walked: Iterable[StreamState]) -> None:
    if state.versions_rebuild == REBUILD_RUNNING and all(not s.in_pass for s in walked):
        state.versions_rebuild = None
