"""One listing sync: every stream listed in parts, changed objects described and sent, progress checkpointed.

The shape of a sync:
1. Configuration and state are validated before any request, and every bucket is checked (HeadBucket),
   routed to its region and inspected (versioning, restore-status source, Intelligent-Tiering archive
   tiers) before any row is written, so most mistakes fail fast and explained.
2. Each stream's pending ranges are grouped into parts, and the parts of all streams are listed by a
   pool of workers. A worker feeds its objects through a `RangeScanner`, which decides which must be sent.
3. Objects that need a HEAD (restore state not in the listing, tracked restores, Intelligent-Tiering
   objects old enough to be archived) and version listings of changed ranges of versioned buckets run on
   a second pool; a batch's rows are sent once those are back, and only then does its range count as done.
4. The state is checkpointed every CHECKPOINT_EVERY objects at a range boundary and at every stream's
   end, so a killed sync resumes at the last finished range and re-sends at most one interval.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from s3_metadata.aws import AwsCallError, S3Gateway
from s3_metadata.buckets import LISTING, BucketInspector, BucketPlan
from s3_metadata.configuration import Settings, parse_configuration
from s3_metadata.listing import walk_part, walk_versions
from s3_metadata.patterns import KeyFilter
from s3_metadata.ranges import (
    Batch, Part, RangeEntry, RangeScanner, effective_range_size, finish_pass, invalidate_digests, plan_parts,
    replace_entry, split_points, start_pass,
)
from s3_metadata.event_mode import drain_queue
from s3_metadata.restore import (
    ARCHIVE_CLASSES, ARCHIVE_TIERS, ARCHIVED, ERROR_PREFIX, INTELLIGENT_TIERING, NOT_APPLICABLE, RestoreInfo, error_info, keeps_tracking,
    needs_head, restore_from_head,
)
from s3_metadata.sink import Sink
from s3_metadata.rows import PRIMARY_KEY, TABLE, VERSIONS_TABLE, ListedObject, object_row, version_row
from s3_metadata.state import (
    DIGEST_LISTING, DIGEST_LISTING_RESTORE, MAX_TRACKED_RESTORES, StreamState, SyncState, is_fivetran_example_state,
    load_state, stream_id,
)

CHECKPOINT_EVERY = 10_000
MIN_PART_OBJECTS = 20_000
PROGRESS_EVERY_PAGES = 50
# When S3 sends no Date header, the pass is taken to start this long before the client's clock.
CLOCK_SAFETY = timedelta(minutes=5)


class SyncStopped(Exception):
    """Raised in workers after another worker failed, so they stop without adding errors of their own."""


@dataclass
class Summary:
    """Counts for the closing log line; every field is updated under the sync's lock."""

    listed: int = 0
    filtered_out: int = 0
    upserted: int = 0
    deleted: int = 0
    versions_upserted: int = 0
    head_errors: Counter[str] = field(default_factory=Counter)
    untracked_restores: int = 0
    streams_completed: int = 0
    checkpoints: int = 0
    reconciled: bool = False


@dataclass
class StreamRun:
    """A stream during one sync."""

    state: StreamState
    plan: BucketPlan
    since: datetime | None
    target: int
    tracked: list[str]
    parts_left: int = 0


@dataclass
class PendingBatch:
    batch: Batch
    heads: dict[int, Future]
    versions: Future | None
    gone: list[str]


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


def trusted_restore(plan: BucketPlan, obj: ListedObject) -> RestoreInfo | None:
    """The listing's restore view of `obj` when this bucket's listing is trusted for it, else None."""
    return obj.restore if plan.restore_source == LISTING else None


def last_sent(obj: ListedObject) -> RestoreInfo:
    """The restore columns an untracked object was last sent with: archived for GLACIER and DEEP_ARCHIVE (a
    restore would have been tracked), nothing otherwise."""
    return RestoreInfo(ARCHIVED) if obj.storage_class in ARCHIVE_CLASSES else NOT_APPLICABLE


def wants_head(plan: BucketPlan, obj: ListedObject, send: bool, tracked: bool, now: datetime) -> bool:
    """Whether `obj` needs a HEAD this sync: its restore state is unknown and it is sent, tracked, or an
    Intelligent-Tiering object old enough to have moved to an archive tier without LastModified changing."""
    if trusted_restore(plan, obj) is not None or not needs_head(obj.storage_class):
        return False
    if plan.head_all_archived and obj.storage_class in ARCHIVE_CLASSES:
        return True
    if obj.storage_class == INTELLIGENT_TIERING and plan.tiering.known:
        if plan.tiering.archive_after is None:
            return False
        return send or tracked or obj.last_modified <= now - plan.tiering.archive_after
    return send or tracked


class Sync:
    def __init__(self, settings: Settings, state: SyncState, sink: Sink, gateway: S3Gateway,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.state = state
        self.sink = sink
        self.gateway = gateway
        self.clock = clock
        self.filter = KeyFilter(settings.include_patterns, settings.exclude_patterns)
        self.summary = Summary()
        self.now = datetime.now(timezone.utc)
        self.plans: dict[str, BucketPlan] = {}
        self._lock = threading.Lock()
        self._checkpoint_lock = threading.Lock()
        self._since_checkpoint = 0
        self._last_checkpoint: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._head_pool = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="s3-head")
        self._list_workers = max(1, min(8, settings.max_concurrency // 2))
        self._list_pool = ThreadPoolExecutor(self._list_workers, thread_name_prefix="s3-list")

    # -- the whole sync
    def run(self) -> Summary:
        started = self.clock()
        streams = self.settings.streams()
        for bucket in self.settings.buckets:
            self.gateway.bucket_region(bucket)
        self._forget_removed_streams(streams)
        self._inspect_buckets(streams)
        self._begin_reconcile_if_due(streams)
        runs = [self._prepare(bucket, prefix) for bucket, prefix in streams]
        try:
            work: list[Future] = []
            for run in runs:
                parts = plan_parts(run.state.ranges, self._list_workers, MIN_PART_OBJECTS)
                run.parts_left = len(parts)
                if not parts:
                    self._complete_stream(run)
                work.extend(self._list_pool.submit(self._list_part, run, part) for part in parts)
            self._wait(work)
        finally:
            self._list_pool.shutdown(wait=True, cancel_futures=True)
            self._head_pool.shutdown(wait=True, cancel_futures=True)
        self._end_reconcile_if_done()
        self._checkpoint(force=True)
        self._report(self.clock() - started)
        return self.summary

    def _wait(self, work: list[Future]) -> None:
        first_error: BaseException | None = None
        for future in as_completed(work):
            error = future.exception()
            if error is not None and first_error is None and not isinstance(error, SyncStopped):
                first_error = error
                self._stop.set()
        if first_error is not None:
            raise first_error

    def _forget_removed_streams(self, streams: list[tuple[str, str]]) -> None:
        wanted = {stream_id(b, p) for b, p in streams}
        for sid in sorted(set(self.state.streams) - wanted):
            self.sink.info(f"stream s3://{sid} is no longer configured; its state is dropped (its rows stay)")
            del self.state.streams[sid]

    def _inspect_buckets(self, streams: list[tuple[str, str]]) -> None:
        inspector = BucketInspector(self.settings, self.gateway, self.sink.warning)
        for bucket in self.settings.buckets:
            prefixes = [p for b, p in streams if b == bucket]
            tracked = sorted(k for p in prefixes for k in self.state.stream(bucket, p).restores)
            plan = inspector.plan(bucket, prefixes[0], tracked, self.state.restore_sources.get(bucket))
            if plan.decided:
                self.state.restore_sources[bucket] = plan.restore_source
            self.plans[bucket] = plan
            self.sink.info(f"bucket {bucket}: {'versioned' if plan.versioned else 'unversioned'}, restore status from "
                           f"{plan.restore_source}, Intelligent-Tiering archive tiers "
                           + ("unknown" if not plan.tiering.known else
                              f"after {plan.tiering.archive_after.days} days" if plan.tiering.archive_after else "off"))

    def _begin_reconcile_if_due(self, streams: list[tuple[str, str]]) -> None:
        if self.settings.reconcile_every is None:
            self.state.reconcile_started = None
            return
        if not reconcile_due(self.settings, self.state, self.now) or self.state.reconcile_started is not None:
            if self.state.reconcile_started is not None:
                self.sink.info("resuming the reconciliation pass started "
                               f"{self.state.reconcile_started.isoformat()}")
            return
        # Rows synced before the truncate are marked deleted; every object still in S3 is sent again below.
        self.sink.truncate(TABLE)
        if self.settings.sync_versions:
            self.sink.truncate(VERSIONS_TABLE)
        self.state.reconcile_started = self.now
        for bucket, prefix in streams:
            stream = self.state.stream(bucket, prefix)
            stream.ranges = invalidate_digests(start_pass(stream.ranges))
            stream.pass_started = None
        self.summary.reconciled = True
        self.sink.info("reconciliation: every row is marked deleted and every object still in S3 is sent again")

    def _end_reconcile_if_done(self) -> None:
        if not snapshot_complete(self.settings, self.state):
            return
        if self.state.reconcile_started is not None:
            self.state.last_reconcile = self.state.reconcile_started
            self.state.reconcile_started = None
            self.sink.info("reconciliation complete")
        elif self.settings.reconcile_every is not None and self.state.last_reconcile is None:
            self.state.last_reconcile = self.now

    def _prepare(self, bucket: str, prefix: str) -> StreamRun:
        stream = self.state.stream(bucket, prefix)
        plan = self.plans[bucket]
        mode = DIGEST_LISTING_RESTORE if plan.request_restore_status else DIGEST_LISTING
        if stream.digest_mode != mode:
            stream.ranges = invalidate_digests(stream.ranges)
            stream.digest_mode = mode
        if stream.restores and plan.restore_source == LISTING:
            stream.restores = {k: v for k, v in stream.restores.items() if v.archive_status in ARCHIVE_TIERS}
        resumed = stream.in_pass
        if not resumed:
            stream.ranges = start_pass(stream.ranges)
            if stream.ranges == [RangeEntry(None)]:
                stream.ranges = self._first_pass_split(bucket, prefix)
        since = stream.watermark - self.settings.lookback if stream.watermark else None
        target = effective_range_size(self.settings.range_size, stream.known_objects)
        done = sum(1 for e in stream.ranges if e.done)
        self.sink.info(
            f"stream s3://{bucket}/{prefix}: watermark {stream.watermark.isoformat() if stream.watermark else 'none'}"
            f" (sending objects modified since {since.isoformat() if since else 'the beginning'}), "
            + (f"resuming a pass started {stream.pass_started.isoformat()} with {done} of {len(stream.ranges)} ranges "
               "already done" if resumed else f"new pass over {len(stream.ranges)} key ranges")
            + f", {len(stream.restores)} tracked restores")
        return StreamRun(stream, plan, since, target, sorted(stream.restores))

    def _first_pass_split(self, bucket: str, prefix: str) -> list[RangeEntry]:
        """Boundaries for a stream never listed before, from its common prefixes, so its parts list at once.

        Costs one or two LIST requests, once in a stream's life, and only for streams of more than one page.
        """
        if not self.gateway.list_page(bucket, prefix, None, None).next_token:
            return [RangeEntry(None)]
        page = self.gateway.list_page(bucket, prefix, None, None, delimiter="/")
        prefixes = page.common_prefixes
        if len(prefixes) == 1 and not page.entries:
            prefixes = self.gateway.list_page(bucket, prefixes[0], None, None, delimiter="/").common_prefixes
        return [RangeEntry(hi) for hi in split_points(prefixes, self._list_workers)] + [RangeEntry(None)]

    # -- listing
    def _list_part(self, run: StreamRun, part: Part) -> None:
        stream = run.state
        entries = list(part.entries)
        index = 0
        scanner = self._scanner(run, part.lo, entries[0])
        pending: deque[PendingBatch] = deque()
        pages = 0
        restore_status = run.plan.request_restore_status
        for page in walk_part(self.gateway, stream.bucket, stream.prefix, part.lo, part.hi, restore_status):
            if self._stop.is_set():
                raise SyncStopped()
            pages += 1
            if pages == 1:
                self._note_pass_start(stream, page.date)
            kept = 0
            for obj in page.objects:
                if not self.filter.matches(obj.key):
                    continue
                kept += 1
                while not scanner.contains(obj.key):
                    pending.append(self._dispatch(run, scanner.finish()))
                    index += 1
                    scanner = self._scanner(run, entries[index - 1].hi, entries[index])
                batch = scanner.add(obj)
                if batch is not None:
                    pending.append(self._dispatch(run, batch))
            with self._lock:
                self.summary.listed += len(page.objects)
                self.summary.filtered_out += len(page.objects) - kept
            self._drain(run, pending, block=False)
            if pages % PROGRESS_EVERY_PAGES == 0 and page.objects:
                self.sink.info(f"stream s3://{stream.bucket}/{stream.prefix}: {pages} pages listed in this part, "
                               f"now at key {page.objects[-1].key[:200]!r}")
        if pages == 0:
            self._note_pass_start(stream, None)
        pending.append(self._dispatch(run, scanner.finish()))
        for later in range(index + 1, len(entries)):
            pending.append(self._dispatch(run, self._scanner(run, entries[later - 1].hi, entries[later]).finish()))
        self._drain(run, pending, block=True)
        with self._lock:
            run.parts_left -= 1
            last = run.parts_left == 0
        if last:
            self._complete_stream(run)

    def _scanner(self, run: StreamRun, lo: str | None, entry: RangeEntry) -> RangeScanner:
        return RangeScanner(lo, entry, run.target, run.since, include_restore=run.plan.request_restore_status)

    def _note_pass_start(self, stream: StreamState, date: datetime | None) -> None:
        if date is None:
            date = datetime.now(timezone.utc) - CLOCK_SAFETY
            self.sink.warning("S3 sent no Date header; the pass start is taken from this machine's clock minus "
                              f"{CLOCK_SAFETY}")
        with self._lock:
            if stream.pass_started is None or date < stream.pass_started:
                stream.pass_started = date

    # -- describing and sending
    def _dispatch(self, run: StreamRun, batch: Batch) -> PendingBatch:
        """Start the requests a batch needs; its rows are sent when they are back."""
        stream = run.state
        heads: dict[int, Future] = {}
        seen: set[str] = set()
        for index, obj in enumerate(batch.objects):
            tracked = obj.key in stream.restores
            if tracked:
                seen.add(obj.key)
            if wants_head(run.plan, obj, batch.emit[index], tracked, self.now):
                heads[index] = self._head_pool.submit(self._describe, stream.bucket, obj)
        versions = None
        if run.plan.versioned and (batch.resent or (self.settings.sync_versions and batch.emitted)):
            versions = self._head_pool.submit(self._versions, run, batch.lo, batch.hi)
        gone = [key for key in self._tracked_between(run, batch.lo, batch.hi) if key not in seen]
        return PendingBatch(batch, heads, versions, gone)

    def _describe(self, bucket: str, obj: ListedObject) -> RestoreInfo | None:
        if self._stop.is_set():
            raise SyncStopped()
        try:
            head = self.gateway.head_object(bucket, obj.key)
        except AwsCallError as error:
            return error_info(error.code)
        if head is None:
            return None
        return restore_from_head(obj.storage_class, head.restore, head.archive_status)

    def _versions(self, run: StreamRun, lo: str | None, hi: str | None) -> list[tuple[dict[str, Any], bool]]:
        if self._stop.is_set():
            raise SyncStopped()
        return list(walk_versions(self.gateway, run.state.bucket, run.state.prefix, lo, hi))

    def _tracked_between(self, run: StreamRun, lo: str | None, hi: str | None) -> list[str]:
        keys = run.tracked
        start = 0 if lo is None else bisect.bisect_right(keys, lo)
        end = len(keys) if hi is None else bisect.bisect_right(keys, hi)
        return keys[start:end]

    def _drain(self, run: StreamRun, pending: deque[PendingBatch], block: bool) -> None:
        while pending and (block or self._ready(pending[0])):
            self._complete(run, pending.popleft())

    @staticmethod
    def _ready(pending: PendingBatch) -> bool:
        return all(f.done() for f in pending.heads.values()) and (pending.versions is None or pending.versions.done())

    def _complete(self, run: StreamRun, pending: PendingBatch) -> None:
        stream = run.state
        batch = pending.batch
        upserted = 0
        errors: Counter[str] = Counter()
        tracking: dict[str, RestoreInfo | None] = {}
        listed_keys = set()
        for index, obj in enumerate(batch.objects):
            listed_keys.add(obj.key)
            previous = stream.restores.get(obj.key)
            restore = trusted_restore(run.plan, obj) or NOT_APPLICABLE
            if index in pending.heads:
                described = pending.heads[index].result()
                if described is None:  # deleted between LIST and HEAD: nothing to write
                    tracking[obj.key] = None
                    continue
                restore = described
                tracking[obj.key] = restore if keeps_tracking(restore) else None
            if restore.status and restore.status.startswith(ERROR_PREFIX):
                errors[restore.status[len(ERROR_PREFIX):]] += 1
            if batch.emit[index] or (index in pending.heads and restore != (previous or last_sent(obj))):
                self.sink.upsert(TABLE, object_row(stream.bucket, obj, restore))
                upserted += 1
        deleted = self._send_deletes(stream, pending, listed_keys, tracking)
        versions = self._send_versions(run, pending)
        with self._lock:
            self._apply_tracking(stream, tracking)
            stream.ranges = replace_entry(stream.ranges, batch.entry_hi, batch.replacement)
            self.summary.upserted += upserted
            self.summary.deleted += deleted
            self.summary.versions_upserted += versions
            self.summary.head_errors.update(errors)
            self._since_checkpoint += len(batch.objects)
            due = self._since_checkpoint >= CHECKPOINT_EVERY
        if due:
            self._checkpoint()

    def _send_deletes(self, stream: StreamState, pending: PendingBatch, listed: set[str],
                      tracking: dict[str, RestoreInfo | None]) -> int:
        """Delete the rows of objects known to be gone: tracked keys no longer listed, and keys whose latest
        version is a delete marker in a changed range of a versioned bucket."""
        gone = set(pending.gone)
        if pending.versions is not None and pending.batch.resent:
            gone.update(entry["Key"] for entry, marker in pending.versions.result()
                        if marker and entry.get("IsLatest") and entry["Key"] not in listed)
        deleted = 0
        for key in sorted(gone):
            tracking[key] = None
            if self.filter.matches(key):
                self.sink.delete(TABLE, {PRIMARY_KEY[0]: stream.bucket, PRIMARY_KEY[1]: key})
                deleted += 1
        return deleted

    def _send_versions(self, run: StreamRun, pending: PendingBatch) -> int:
        if pending.versions is None or not self.settings.sync_versions:
            return 0
        sent = 0
        for entry, marker in pending.versions.result():
            if self.filter.matches(entry["Key"]):
                self.sink.upsert(VERSIONS_TABLE, version_row(run.state.bucket, entry, marker, False))
                sent += 1
        return sent

    def _apply_tracking(self, stream: StreamState, changes: Mapping[str, RestoreInfo | None]) -> None:
        """Update the tracked restores (caller holds the lock)."""
        for key, info in changes.items():
            if not self.state.track(stream, key, info):
                self.summary.untracked_restores += 1

    # -- progress
    def _complete_stream(self, run: StreamRun) -> None:
        stream = run.state
        with self._lock:
            total = sum(e.count or 0 for e in stream.ranges)
            stream.ranges = finish_pass(stream.ranges, effective_range_size(self.settings.range_size, total))
            stream.watermark = stream.pass_started
            stream.pass_started = None
            stream.passes += 1
            self.summary.streams_completed += 1
        watermark = stream.watermark.isoformat() if stream.watermark else "none"
        self.sink.info(f"stream s3://{stream.bucket}/{stream.prefix}: pass complete, {total} objects in "
                       f"{len(stream.ranges)} key ranges; next watermark {watermark}")
        self._checkpoint(force=True)

    def _checkpoint(self, force: bool = False) -> None:
        """Commit the state (and every row sent before it); a state equal to the last one committed is skipped."""
        with self._checkpoint_lock:
            with self._lock:
                if not force and self._since_checkpoint < CHECKPOINT_EVERY:
                    return
                snapshot = self.state.to_json()
                self._since_checkpoint = 0
                if snapshot == self._last_checkpoint:
                    return
                self._last_checkpoint = snapshot
                self.summary.checkpoints += 1
            self.sink.checkpoint(snapshot)

    def _report(self, elapsed: float) -> None:
        s = self.summary
        requests = self.gateway.requests
        self.sink.info(
            f"sync summary: {s.listed} objects listed ({s.filtered_out} excluded by patterns), {s.upserted} rows "
            f"upserted, {s.deleted} rows deleted, {s.versions_upserted} version rows, {requests['ListObjectsV2']} LIST, "
            f"{requests['HeadObject']} HEAD and {requests['ListObjectVersions']} version-listing requests, "
            f"{sum(s.head_errors.values())} restore errors, {self.gateway.retry_stats.retries} retries "
            f"({self.gateway.retry_stats.waited:.1f}s of backoff), {s.checkpoints} checkpoints, {elapsed:.1f}s")
        if s.head_errors:
            by_code = ", ".join(f"{code}: {count}" for code, count in sorted(s.head_errors.items()))
            self.sink.warning(
                f"{sum(s.head_errors.values())} objects could not be described by HEAD ({by_code}); their rows carry "
                "restore_status 'error:<Code>' and they are tried again on every sync. AccessDenied means the "
                "credentials lack s3:GetObject on those objects (or their KMS key).")
        if s.untracked_restores:
            self.sink.warning(
                f"{s.untracked_restores} restores were not tracked because {MAX_TRACKED_RESTORES} already are; their "
                "later restore changes are only seen when the object otherwise changes (see README, 'Limits').")


def run_sync(configuration: Mapping[str, Any] | None, state: Mapping[str, Any] | None, sink: Sink,
             gateway_factory: Callable[[Settings], S3Gateway] = S3Gateway) -> Any:
    """Validate everything, then run a listing sync, or drain the event queue once the snapshot is complete."""
    settings = parse_configuration(configuration)
    if settings.unknown_keys:
        sink.warning(f"unknown configuration keys are ignored: {', '.join(settings.unknown_keys)}")
    if state and is_fivetran_example_state(state):
        sink.info("found the state of Fivetran's example S3 connector; this connector starts with a full sync")
    sync_state = load_state(state)
    gateway = gateway_factory(settings)
    now = datetime.now(timezone.utc)
    if settings.sqs_queue_url and settings.sync_versions:
        sink.warning("sync_versions is on, and event mode does not maintain s3_object_versions: this connection keeps "
                     "listing every sync; turn sync_versions off to sync from the queue")
    elif settings.sqs_queue_url and snapshot_complete(settings, sync_state) \
            and not reconcile_due(settings, sync_state, now):
        return drain_queue(settings, sync_state, sink, gateway, lambda: sink.checkpoint(sync_state.to_json()))
    return Sync(settings, sync_state, sink, gateway).run()
