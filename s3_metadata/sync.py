"""One sync: every stream listed in parts, changed objects described and sent, progress checkpointed.

The shape of a sync:
1. Configuration and state are validated before any request, and every bucket is checked (HeadBucket)
   and routed to its region before any row is written, so most mistakes fail fast and explained.
2. Each stream's pending ranges are grouped into parts, and the parts of all streams are listed by a
   pool of workers. A worker feeds its objects through a `RangeScanner`, which decides which must be sent.
3. Objects to send that need a restore check, and tracked restores, are HEADed on a second pool; a
   batch's rows are upserted once its HEADs are back, and only then does its range count as done.
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
from typing import Any, Callable, Mapping, Protocol

from s3_metadata.aws import AwsCallError, S3Gateway
from s3_metadata.configuration import Settings, parse_configuration
from s3_metadata.listing import walk_part
from s3_metadata.patterns import KeyFilter, list_prefixes
from s3_metadata.ranges import (
    Batch, Part, RangeEntry, RangeScanner, effective_range_size, finish_pass, invalidate_digests, plan_parts,
    replace_entry, start_pass,
)
from s3_metadata.restore import NOT_APPLICABLE, RestoreInfo, error_info, needs_head, restore_from_head
from s3_metadata.rows import PRIMARY_KEY, ListedObject, object_row
from s3_metadata.state import (
    DIGEST_LISTING, StreamState, SyncState, is_fivetran_example_state, load_state, stream_id,
)

CHECKPOINT_EVERY = 10_000
MAX_TRACKED_RESTORES = 10_000
MIN_PART_OBJECTS = 20_000
PROGRESS_EVERY_PAGES = 50
# When S3 sends no Date header, the pass is taken to start this long before the client's clock.
CLOCK_SAFETY = timedelta(minutes=5)


class Sink(Protocol):
    """Where a sync's output goes: the SDK's operations and logger in production."""

    def upsert(self, row: dict[str, Any]) -> None: ...
    def delete(self, keys: dict[str, Any]) -> None: ...
    def checkpoint(self, state: dict[str, Any]) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...


class SyncStopped(Exception):
    """Raised in workers after another worker failed, so they stop without adding errors of their own."""


@dataclass
class Summary:
    """Counts for the closing log line; every field is updated under the sync's lock."""

    listed: int = 0
    filtered_out: int = 0
    upserted: int = 0
    deleted: int = 0
    head_errors: Counter[str] = field(default_factory=Counter)
    untracked_restores: int = 0
    streams_completed: int = 0
    checkpoints: int = 0


@dataclass
class StreamRun:
    """A stream during one sync."""

    state: StreamState
    since: datetime | None
    target: int
    tracked: list[str]
    parts_left: int = 0


@dataclass
class PendingBatch:
    batch: Batch
    heads: dict[int, Future]
    gone: list[str]


def plan_streams(settings: Settings) -> list[tuple[str, str]]:
    """(bucket, LIST prefix) pairs, in configuration order."""
    prefixes = list_prefixes(settings.prefixes, settings.include_patterns)
    return [(bucket, prefix) for bucket in settings.buckets for prefix in prefixes]


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
        self._lock = threading.Lock()
        self._checkpoint_lock = threading.Lock()
        self._since_checkpoint = 0
        self._stop = threading.Event()
        self._head_pool = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="s3-head")
        self._list_workers = max(1, min(8, settings.max_concurrency // 2))
        self._list_pool = ThreadPoolExecutor(self._list_workers, thread_name_prefix="s3-list")

    # -- the whole sync
    def run(self) -> Summary:
        started = self.clock()
        streams = plan_streams(self.settings)
        for bucket in self.settings.buckets:
            self.gateway.bucket_region(bucket)
        self._forget_removed_streams(streams)
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

    def _prepare(self, bucket: str, prefix: str) -> StreamRun:
        stream = self.state.stream(bucket, prefix)
        if stream.digest_mode != DIGEST_LISTING:
            stream.ranges = invalidate_digests(stream.ranges)
            stream.digest_mode = DIGEST_LISTING
        resumed = stream.in_pass
        if not resumed:
            stream.ranges = start_pass(stream.ranges)
        since = stream.watermark - self.settings.lookback if stream.watermark else None
        target = effective_range_size(self.settings.range_size, stream.known_objects)
        done = sum(1 for e in stream.ranges if e.done)
        self.sink.info(
            f"stream s3://{bucket}/{prefix}: watermark {stream.watermark.isoformat() if stream.watermark else 'none'}"
            f" (sending objects modified since {since.isoformat() if since else 'the beginning'}), "
            + (f"resuming a pass started {stream.pass_started.isoformat()} with {done} of {len(stream.ranges)} ranges "
               "already done" if resumed else f"new pass over {len(stream.ranges)} key ranges")
            + f", {len(stream.restores)} tracked restores")
        return StreamRun(stream, since, target, sorted(stream.restores))

    # -- listing
    def _list_part(self, run: StreamRun, part: Part) -> None:
        stream = run.state
        entries = list(part.entries)
        index = 0
        scanner = self._scanner(run, part.lo, entries[0])
        pending: deque[PendingBatch] = deque()
        pages = 0
        for page in walk_part(self.gateway, stream.bucket, stream.prefix, part.lo, part.hi, False):
            if self._stop.is_set():
                raise SyncStopped()
            pages += 1
            if pages == 1:
                self._note_pass_start(stream, page.date)
            listed = len(page.objects)
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
                self.summary.listed += listed
                self.summary.filtered_out += listed - kept
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
        return RangeScanner(lo, entry, run.target, run.since, include_restore=False)

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
        """Start the HEADs a batch needs; the rows are sent when they are back."""
        stream = run.state
        heads: dict[int, Future] = {}
        seen: set[str] = set()
        for index, obj in enumerate(batch.objects):
            tracked = obj.key in stream.restores
            if tracked:
                seen.add(obj.key)
            if (batch.emit[index] or tracked) and obj.restore is None and needs_head(obj.storage_class):
                heads[index] = self._head_pool.submit(self._describe, stream.bucket, obj)
        gone = [key for key in self._tracked_between(run, batch.lo, batch.hi) if key not in seen]
        return PendingBatch(batch, heads, gone)

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

    def _tracked_between(self, run: StreamRun, lo: str | None, hi: str | None) -> list[str]:
        keys = run.tracked
        start = 0 if lo is None else bisect.bisect_right(keys, lo)
        end = len(keys) if hi is None else bisect.bisect_right(keys, hi)
        return keys[start:end]

    def _drain(self, run: StreamRun, pending: deque[PendingBatch], block: bool) -> None:
        while pending and (block or all(f.done() for f in pending[0].heads.values())):
            self._complete(run, pending.popleft())

    def _complete(self, run: StreamRun, pending: PendingBatch) -> None:
        stream = run.state
        batch = pending.batch
        upserted = 0
        errors: Counter[str] = Counter()
        tracked_changes: dict[str, RestoreInfo | None] = {}
        for index, obj in enumerate(batch.objects):
            previous = stream.restores.get(obj.key)
            if index in pending.heads:
                restore = pending.heads[index].result()
                if restore is None:
                    tracked_changes[obj.key] = None
                    continue
            else:
                restore = obj.restore or NOT_APPLICABLE
            if restore.status and restore.status.startswith("error:"):
                errors[restore.status[len("error:"):]] += 1
            if batch.emit[index] or (previous is not None and previous != restore):
                self.sink.upsert(object_row(stream.bucket, obj, restore))
                upserted += 1
            if restore.is_tracked or (restore.status or "").startswith("error:"):
                tracked_changes[obj.key] = restore
            elif previous is not None:
                tracked_changes[obj.key] = None
        deleted = 0
        for key in pending.gone:
            if self.filter.matches(key):
                self.sink.delete({PRIMARY_KEY[0]: stream.bucket, PRIMARY_KEY[1]: key})
                deleted += 1
            tracked_changes[key] = None
        with self._lock:
            self._apply_tracking(stream, tracked_changes)
            stream.ranges = replace_entry(stream.ranges, batch.entry_hi, batch.replacement)
            self.summary.upserted += upserted
            self.summary.deleted += deleted
            self.summary.head_errors.update(errors)
            self._since_checkpoint += len(batch.objects)
            due = self._since_checkpoint >= CHECKPOINT_EVERY
        if due:
            self._checkpoint()

    def _apply_tracking(self, stream: StreamState, changes: Mapping[str, RestoreInfo | None]) -> None:
        """Update the tracked restores (caller holds the lock), within MAX_TRACKED_RESTORES over all streams."""
        total = sum(len(s.restores) for s in self.state.streams.values())
        for key, info in changes.items():
            if info is None:
                if stream.restores.pop(key, None) is not None:
                    total -= 1
            elif key in stream.restores:
                stream.restores[key] = info
            elif total < MAX_TRACKED_RESTORES:
                stream.restores[key] = info
                total += 1
            else:
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
        self.sink.info(f"stream s3://{stream.bucket}/{stream.prefix}: pass complete, {total} objects in "
                       f"{len(stream.ranges)} key ranges; next watermark {stream.watermark.isoformat() if stream.watermark else 'none'}")
        self._checkpoint(force=True)

    def _checkpoint(self, force: bool = False) -> None:
        with self._checkpoint_lock:
            with self._lock:
                if not force and self._since_checkpoint < CHECKPOINT_EVERY:
                    return
                snapshot = self.state.to_json()
                self._since_checkpoint = 0
                self.summary.checkpoints += 1
            self.sink.checkpoint(snapshot)

    def _report(self, elapsed: float) -> None:
        s = self.summary
        requests = self.gateway.requests
        self.sink.info(
            f"sync summary: {s.listed} objects listed ({s.filtered_out} excluded by patterns), {s.upserted} rows "
            f"upserted, {s.deleted} rows deleted, {requests['ListObjectsV2']} LIST and {requests['HeadObject']} HEAD "
            f"requests, {sum(s.head_errors.values())} restore errors, {self.gateway.retry_stats.retries} retries "
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
             gateway_factory: Callable[[Settings], S3Gateway] = S3Gateway) -> Summary:
    """Validate everything, then sync; the entry point `update()` calls."""
    settings = parse_configuration(configuration)
    if settings.unknown_keys:
        sink.warning(f"unknown configuration keys are ignored: {', '.join(settings.unknown_keys)}")
    if state and is_fivetran_example_state(state):
        sink.info("found the state of Fivetran's example S3 connector; this connector starts with a full sync")
    sync_state = load_state(state)
    return Sync(settings, sync_state, sink, gateway_factory(settings)).run()
