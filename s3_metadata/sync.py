"""One listing sync: every stream listed in parts, changed objects described and sent, progress checkpointed.

The shape of a sync:
1. Configuration and state are validated before any request, and every bucket is checked (HeadBucket),
   routed to its region and inspected (versioning, restore-status mode, Intelligent-Tiering archive tiers)
   before any row is written, so most mistakes fail fast and explained.
2. A sync that starts from an empty state, and a reconciliation, begin by truncating the tables, so exactly
   the objects S3 holds are live once the pass completes (recorded in state: a resumed pass does not
   truncate again).
3. Each stream's pending ranges are grouped into parts, and the parts of all streams are listed by a pool
   of workers (lister.py); a `RangeScanner` decides which objects must be sent.
4. HEADs (restore_mode.py decides which objects need one) and version listings of batches that may hide
   deletes run on a second pool; resolve.py turns a batch and those answers into rows, deletes and tracking
   changes, and only then does its range count as done.
5. checkpointing.py commits the state every CHECKPOINT_EVERY objects, at least every minute, and at every
   stream's end, so a killed sync resumes at the last finished range.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Container, Iterable, Mapping
from urllib.parse import urlsplit

from s3_metadata import checkpointing
from s3_metadata.aws import AwsCallError, S3Gateway, configured_endpoint
from s3_metadata.buckets import BucketInspector, BucketPlan
from s3_metadata.checkpointing import Checkpointer
from s3_metadata.configuration import Settings, parse_configuration
from s3_metadata.errors import SyncError
from s3_metadata.event_mode import EventSummary, closing_warnings, drain_queue, summary_line
from s3_metadata.events import Touch
from s3_metadata.inventory import Manifest, lists_versions
from s3_metadata.inventory_source import Cursor, find_report, report_objects, report_versions
from s3_metadata.lister import PartLister, Stopped
from s3_metadata.listing import Page, walk_part, walk_versions
from s3_metadata.memory import limit_malloc_arenas
from s3_metadata.progress import Progress, Snapshot
from s3_metadata.ranges import (
    Batch, Part, RangeEntry, RangeScanner, bounds_index, effective_range_size, finish_pass, in_parts,
    invalidate_digests, plan_parts, replace_entry, split_points, start_pass, touched_parts,
)
from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS
from s3_metadata.passes import (
    DRAIN, VERIFICATION_PASS, adopt_key_range, begin_clean_pass_if_due, begin_versions_rebuild_if_due,
    end_clean_pass_if_done, end_versions_rebuild_if_done, forget_notes_of_unchosen_details, scope_digest,
    send_again_for_new_details, sync_kind,
)
from s3_metadata.deletes import AWS_MARKER_SLACK, MARKER_SLACK, claim_unnamed, named_by_report, needs_version_listing
from s3_metadata.resolve import (
    Described, Outcome, StreamView, failed_description, head_description, previous_restore, removal_suspected, resolve,
    row_due, version_rows,
)
from s3_metadata.restore import RestoreInfo
from s3_metadata.restore_mode import LISTING, head_purposes, kept_in_listing_mode
from s3_metadata.rows import PRIMARY_KEY, TABLE, VERSIONS_TABLE, ListedObject
from s3_metadata.sink import Sink
from s3_metadata.state import (
    DIGEST_LISTING, DIGEST_LISTING_RESTORE, MAX_TRACKED_RESTORES, REBUILD_DUE, REBUILD_RUNNING, StreamState, SyncState,
    is_fivetran_example_state, load_state, stream_id,
)
from s3_metadata.versions import explain_versions, unit_fingerprint, unit_identity, walk_key_versions

# Every part but the last pays for one partly wasted LIST page at its end, and with half a CPU (Fivetran's
# production envelope) two parts already keep the CPU busy: parts of at least 50,000 objects keep the extra pages
# under 1 per 50 pages.
MIN_PART_OBJECTS = 50_000
# A known versions range is held in memory up to this many keys before it is streamed (and, being no longer
# comparable as a whole, treated as possibly having lost a version).
VERSIONS_BUFFER = 50_000
# When S3 sends no Date header, the pass is taken to start this long before the client's clock.
CLOCK_SAFETY = timedelta(minutes=5)


# Keys kept in memory by the pass after a bootstrap, of ranges that lost keys, for the report to name (about 100 bytes
# each).
MAX_LOSSY_KEYS = 1_000_000


@dataclass
class Summary:
    """Counts for the closing log line; every field is updated under the sync's lock."""

    listed: int = 0
    versions_listed: int = 0
    filtered_out: int = 0
    upserted: int = 0
    deleted: int = 0
    versions_upserted: int = 0
    head_errors: Counter[str] = field(default_factory=Counter)
    tag_errors: Counter[str] = field(default_factory=Counter)
    unreadable_headers: Counter[str] = field(default_factory=Counter)
    untracked_restores: int = 0
    unmarked_deletes: int = 0
    ranges_with_deletes: int = 0
    ranges_uncounted: int = 0
    streams_completed: int = 0
    reconciled: bool = False
    versions_rebuilt: bool = False


@dataclass(frozen=True)
class Lossy:
    """A range that lost keys no listing could name: its bounds, the keys listed or deleted there now, and how many
    keys it lost with the sum of their identities (None: not known)."""

    lo: str | None
    hi: str | None
    keys: frozenset[str]
    unnamed: int | None
    unnamed_ids: int | None


@dataclass
class StreamRun:
    """A stream during one sync. `versions`: the stream is also walked with ListObjectVersions (versions.py).
    `touch`: the stream is not in a pass: only the ranges events touched are listed again (`Sync.refresh`)."""

    state: StreamState
    plan: BucketPlan
    target: int
    tracked: list[str]
    has_history: bool
    versions: bool = False
    versions_history: bool = False
    parts_left: int = 0
    touch: Touch | None = None
    # The S3 Inventory report this pass reads instead of listing (inventory_source.py), if any.
    report: Manifest | None = None
    # A listing pass of a stream with inventory_source: ranges that lost keys no listing could name, for a report to
    # name (`_name_from_report`), and how many keys they hold.
    lossy: list[Lossy] = field(default_factory=list)
    lossy_keys: int = 0
    listed: int = 0
    upserted: int = 0
    deleted: int = 0
    unnamed: int = 0


@dataclass
class VersionsBatch:
    """A versions batch: it waits for no request."""

    batch: Batch

    @staticmethod
    def ready() -> bool:
        return True


@dataclass
class PendingBatch:
    batch: Batch
    heads: dict[int, Future]
    versions: Future | None
    gone: list[str]
    removed: list[str] = field(default_factory=list)

    def ready(self) -> bool:
        return all(f.done() for f in self.heads.values()) and (self.versions is None or self.versions.done())


def endpoint_label(settings: Settings) -> str:
    """How messages name the S3 endpoint in use: scheme, host and port only (never user-info or a path)."""
    url = configured_endpoint(settings)
    if not url:
        return "AWS S3"
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"The endpoint {parts.scheme}://{parts.hostname or ''}{port}"
    except ValueError:
        return "The configured S3 endpoint"


class Sync:
    def __init__(self, settings: Settings, state: SyncState, sink: Sink, gateway: S3Gateway,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.state = state
        self.sink = sink
        self.gateway = gateway
        self.clock = clock
        self.filter = settings.key_filter()
        self.key_range = settings.key_range
        self.summary = Summary()
        self.now = datetime.now(timezone.utc)
        self.plans: dict[str, BucketPlan] = {}
        self._lock = threading.Lock()
        self.checkpoints = Checkpointer(sink, state.to_json, self._lock, clock,
                                        every_objects=checkpointing.CHECKPOINT_EVERY,
                                        every_seconds=checkpointing.CHECKPOINT_SECONDS)
        self._stop = threading.Event()
        self._head_pool = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="s3-head")
        self._list_workers = max(1, min(8, settings.max_concurrency // 2))
        self._list_pool = ThreadPoolExecutor(self._list_workers, thread_name_prefix="s3-list")
        self.progress = Progress(sink.info, clock)
        self._marker_slack = MARKER_SLACK if configured_endpoint(settings) else AWS_MARKER_SLACK
        # What the ranges of this pass's streams were when it began: for the progress lines.
        self._runs: list[StreamRun] = []
        self._ranges_known = 0
        self._objects_known = 0

    # -- the whole sync
    def run(self) -> Summary:
        """Run the sync; an explained failure says what of it was committed."""
        try:
            return self._run()
        except SyncError as error:
            raise type(error)(f"{error} {self.checkpoints.failure_note()}") from None

    def _run(self) -> Summary:
        started = self.clock()
        streams = self.settings.streams()
        for bucket in self.settings.buckets:
            self.gateway.bucket_region(bucket)
        self._forget_removed_streams(streams)
        self._inspect_buckets(streams)
        truncated = self.state.reconcile_started
        self.summary.reconciled = begin_clean_pass_if_due(self.settings, self.state, self.sink, self.now, streams)
        if self.state.reconcile_started != truncated:
            # The truncate and the state that says it happened are committed together at once, so a sync killed
            # before its first range neither loses it nor truncates twice.
            self.checkpoints.commit()
        self.summary.versions_rebuilt = begin_versions_rebuild_if_due(
            self.state, self.sink, self._versions_streams(streams), "before this pass")
        runs = [self._prepare(bucket, prefix) for bucket, prefix in streams]
        self._runs = runs
        self._ranges_known = sum(len(r.state.ranges) for r in runs if r.state.known_objects is not None)
        self._objects_known = sum(r.state.known_objects or 0 for r in runs)
        self.checkpoints.scale_to(self._objects_known)
        try:
            work: list[Future] = []
            for run in runs:
                parts = plan_parts(run.state.ranges, 1 if run.report else self._list_workers, MIN_PART_OBJECTS)
                version_parts = plan_parts(run.state.version_ranges, self._list_workers, MIN_PART_OBJECTS) \
                    if run.versions else []
                run.parts_left = len(parts) + len(version_parts)
                if not run.parts_left:
                    self._complete_stream(run)
                if run.report is not None:
                    work.append(self._list_pool.submit(self._read_report, run, parts))
                else:
                    work.extend(self._list_pool.submit(self._list_part, run, part) for part in parts)
                if run.report is not None and version_parts and lists_versions(run.report):
                    work.append(self._list_pool.submit(self._read_report_versions, run, version_parts))
                else:
                    work.extend(self._list_pool.submit(self._list_versions_part, run, part)
                                for part in version_parts)
            self._wait(work)
            end_versions_rebuild_if_done(self.state, [r.state for r in runs if r.versions])
            if self.state.versions_rebuild == REBUILD_DUE:
                self._rebuild_versions(streams)
        finally:
            self.close()
        end_clean_pass_if_done(self.settings, self.state, self.sink, self.now)
        self._report(self.clock() - started)
        self.checkpoints.commit()
        return self.summary

    def refresh(self, touches: Mapping[str, Touch]) -> Summary:
        """Event mode: list again only the key ranges events touched, as a pass would list them.

        Each range's rows, deletes, count, digest, key sum and sketch come out exactly as from a listing pass, so
        the sketches stay those of the last listing of every range and a later verification pass sends only what
        no event reported. The streams stay out of any pass (no watermark, no pass counted). May be called once per
        round of events; `close` ends the sync.
        """
        try:
            return self._refresh(touches)
        except SyncError as error:
            raise type(error)(f"{error} {self.checkpoints.failure_note()}") from None

    def _refresh(self, touches: Mapping[str, Touch]) -> Summary:
        streams = [(b, p) for b, p in self.settings.streams() if stream_id(b, p) in touches]
        for bucket in dict.fromkeys(b for b, _ in streams):
            self.gateway.bucket_region(bucket)
        self._inspect_buckets([s for s in streams if s[0] not in self.plans], probe=False)
        work: list[Future] = []
        runs: list[StreamRun] = []
        for bucket, prefix in streams:
            touch = touches[stream_id(bucket, prefix)]
            run = self._prepare_refresh(bucket, prefix, touch)
            runs.append(run)
            work.extend(self._list_pool.submit(self._list_part, run, part)
                        for part in touched_parts(run.state.ranges, touch.ranges))
        self._wait(work)
        with self._lock:
            for run in runs:
                run.state.ranges = start_pass(run.state.ranges)
        return self.summary

    def _prepare_refresh(self, bucket: str, prefix: str, touch: Touch) -> StreamRun:
        stream, plan = self._stream_in_mode(bucket, prefix)
        target = effective_range_size(self.settings.range_size, stream.known_objects)
        return StreamRun(stream, plan, target, sorted(stream.restores), True, touch=touch)

    def close(self) -> None:
        """Stop the workers (the sync's requests in flight finish first)."""
        self._stop.set()
        self._list_pool.shutdown(wait=True, cancel_futures=True)
        self._head_pool.shutdown(wait=True, cancel_futures=True)

    def _wait(self, work: list[Future]) -> None:
        first_error: BaseException | None = None
        for future in as_completed(work):
            error = future.exception()
            if error is not None and first_error is None and not isinstance(error, Stopped):
                first_error = error
                self._stop.set()
        if first_error is not None:
            raise first_error

    def _forget_removed_streams(self, streams: list[tuple[str, str]]) -> None:
        wanted = {stream_id(b, p) for b, p in streams}
        for sid in sorted(set(self.state.streams) - wanted):
            self.sink.info(f"stream s3://{sid} is no longer configured; its state is dropped (its rows stay)")
            del self.state.streams[sid]

    def _inspect_buckets(self, streams: list[tuple[str, str]], probe: bool = True) -> None:
        """Plan each bucket of `streams` (buckets.py). `probe`: a bucket whose restore-status mode is not decided
        yet may spend a listing and a few HEADs finding out; without it (event mode's drains) it keeps the cautious
        mode until a listing pass decides."""
        inspector = BucketInspector(self.settings, self.gateway, self.sink.warning, self.sink.info)
        for bucket in dict.fromkeys(b for b, _ in streams):
            prefixes = [p for b, p in streams if b == bucket]
            # Only restores can confirm the listing: failed descriptions would spend the probe's HEADs for nothing.
            tracked = sorted(k for p in prefixes for k, v in self.state.stream(bucket, p).restores.items()
                             if v.is_tracked)
            plan = inspector.plan(bucket, prefixes[0], tracked, self.state.restore_sources.get(bucket), probe)
            if plan.restore.remember:
                self.state.restore_sources[bucket] = plan.restore.source
            self.plans[bucket] = plan
            tiering = plan.tiering
            self.sink.info(f"bucket {bucket}: {'versioned' if plan.versioned else 'unversioned'}, "
                           f"{plan.restore.describe()}, Intelligent-Tiering archive tiers "
                           + ("unknown" if not tiering.known else
                              f"after {tiering.archive_after.days} days" if tiering.archive_after else "off"))

    def _versions_streams(self, streams: list[tuple[str, str]]) -> list[StreamState]:
        return [self.state.stream(b, p) for b, p in streams if self.settings.sync_versions and self.plans[b].versioned]

    def _rebuild_versions(self, streams: list[tuple[str, str]]) -> None:
        """A second walk of the versioned streams, in the same sync, after a removed version was detected."""
        self.checkpoints.commit()
        if not begin_versions_rebuild_if_due(self.state, self.sink, self._versions_streams(streams), "after this pass"):
            return
        self.summary.versions_rebuilt = True
        runs: list[StreamRun] = []
        for bucket, prefix in streams:
            stream = self.state.stream(bucket, prefix)
            if self.settings.sync_versions and self.plans[bucket].versioned:
                runs.append(StreamRun(stream, self.plans[bucket], self.settings.range_size, [], False, versions=True))
        work: list[Future] = []
        for run in runs:
            parts = plan_parts(run.state.version_ranges, self._list_workers, MIN_PART_OBJECTS)
            run.parts_left = len(parts)
            work.extend(self._list_pool.submit(self._list_versions_part, run, part, None, False) for part in parts)
        self._wait(work)
        for run in runs:
            run.state.version_ranges = finish_pass(run.state.version_ranges, self.settings.range_size)
            run.state.version_passes += 1
        self.state.versions_rebuild = None
        self.checkpoints.commit()

    def _stream_in_mode(self, bucket: str, prefix: str) -> tuple[StreamState, BucketPlan]:
        """The stream and its bucket's plan; the stream's digests are forgotten when the restore-status mode changed
        what they cover (whether the listing's RestoreStatus is in them)."""
        stream = self.state.stream(bucket, prefix)
        plan = self.plans[bucket]
        mode = DIGEST_LISTING_RESTORE if plan.restore.request_restore_status else DIGEST_LISTING
        if stream.digest_mode != mode:
            stream.ranges = invalidate_digests(stream.ranges)
            stream.digest_mode = mode
        return stream, plan

    def _prepare(self, bucket: str, prefix: str) -> StreamRun:
        stream, plan = self._stream_in_mode(bucket, prefix)
        if stream.restores and plan.restore.source == LISTING:
            details = bool(self.settings.object_details)
            stream.restores = {k: v for k, v in stream.restores.items() if kept_in_listing_mode(v, details)}
        resumed = stream.in_pass
        # Rows of this stream may be live in the destination: from this pass before a kill, or from a completed
        # pass (unless this pass began by truncating the tables).
        has_history = resumed or (stream.passes > 0 and self.state.reconcile_started is None)
        versions = self.settings.sync_versions and plan.versioned
        versions_history = resumed or (stream.version_passes > 0 and self.state.reconcile_started is None
                                       and self.state.versions_rebuild != REBUILD_RUNNING)
        report = self._report_for(stream, resumed)
        if not resumed:
            stream.ranges = start_pass(stream.ranges)
            if versions:
                stream.version_ranges = start_pass(stream.version_ranges)
            if stream.ranges == [RangeEntry(None)] and report is None:
                stream.ranges = self._first_pass_split(bucket, prefix)
        target = effective_range_size(self.settings.range_size, stream.known_objects)
        done = sum(1 for e in stream.ranges if e.done)
        self.sink.info(
            f"stream s3://{bucket}/{prefix}: "
            + (f"resuming a pass started {stream.pass_started.isoformat() if stream.pass_started else 'earlier'} with "
               f"{done} of {len(stream.ranges)} ranges already done" if resumed
               else f"new pass over {len(stream.ranges)} key ranges")
            + f", {len(stream.restores)} tracked objects"
            + (f", reading the S3 Inventory report {report.where} (scanned {report.scanned.isoformat()}, "
               f"{len(report.files)} data files) instead of listing" if report is not None else ""))
        return StreamRun(stream, plan, target, sorted(stream.restores), has_history, versions, versions_history,
                         report=report)

    def _report_for(self, stream: StreamState, resumed: bool) -> Manifest | None:
        """The S3 Inventory report a stream's pass reads instead of listing: only a stream's first pass (or that
        pass resumed), only with inventory_source; a resumed pass whose report is gone lists the rest."""
        source = self.settings.inventory_source
        if source is None or stream.passes > 0 or (resumed and stream.inventory is None):
            return None
        report = find_report(self.gateway, source, stream.bucket, stream.inventory if resumed else None,
                             stream.prefix, self.settings.sync_versions)
        if report is None:
            self.sink.warning(f"stream s3://{stream.bucket}/{stream.prefix}: the S3 Inventory report "
                              f"{stream.inventory} this pass began with is gone; the rest of the pass lists")
        stream.inventory = None if report is None else report.where
        return report

    def _first_pass_split(self, bucket: str, prefix: str) -> list[RangeEntry]:
        """Boundaries for a stream never listed before, from its common prefixes, so its parts list at once.

        Costs one or two LIST requests, once in a stream's life, and only for streams of more than one page (of the
        key range: the requests start at its start, and common prefixes outside it make no boundary).
        """
        after = self.key_range.list_after(None)
        first = self.gateway.list_page(bucket, prefix, after, None)
        end = self.key_range.end
        if not first.truncated or (end is not None and first.objects and first.objects[-1].key >= end):
            return [RangeEntry(None)]
        page = self.gateway.list_page(bucket, prefix, after, None, delimiter="/")
        prefixes = page.common_prefixes
        if len(prefixes) == 1 and not page.entries:
            prefixes = self.gateway.list_page(bucket, prefixes[0], after, None, delimiter="/").common_prefixes
        inside = [p for p in prefixes if self.key_range.contains(p)]
        return [RangeEntry(hi) for hi in split_points(inside, self._list_workers)] + [RangeEntry(None)]

    # -- listing
    def _read_report(self, run: StreamRun, parts: list[Part]) -> None:
        """A pass that reads an S3 Inventory report: its objects, sorted, feed the parts in key order, as pages of a
        listing would."""
        report = run.report
        assert report is not None

        def on_file(number: int, files: int) -> None:
            if number == files or number % 10 == 0:
                self.sink.info(f"stream s3://{run.state.bucket}/{run.state.prefix}: read {number} of {files} "
                               "S3 Inventory data files")

        done = sum(e.count or 0 for e in run.state.ranges if e.done)

        def on_count(objects: int) -> None:
            # The ranges are built at the size the stream's total calls for (effective_range_size), with the cells
            # that size has: a listing's first pass cannot know its total and merges small ranges at its end, whose
            # sketches then hold 24 cells for up to 2,000 objects. A resumed pass sorts only the rest.
            run.target = effective_range_size(self.settings.range_size, objects + done)

        objects = report_objects(self.gateway, report, run.state.bucket, run.state.prefix,
                                 run.plan.restore.request_restore_status, on_file, self._report_keep(parts), on_count)
        _feed_parts(Cursor(objects, report.scanned), parts, lambda part, pages: self._list_part(run, part, pages))

    def _read_report_versions(self, run: StreamRun, parts: list[Part]) -> None:
        """The versions walk of a pass that reads a report with all versions: the report's versions and delete
        markers, grouped by key and sorted, feed the versions parts as a ListObjectVersions walk's pages would (a
        second read of the report, and no ListObjectVersions request)."""
        report = run.report
        assert report is not None
        units = report_versions(self.gateway, report, run.state.bucket, run.state.prefix, self._report_keep(parts))
        _feed_parts(Cursor(units, report.scanned), parts,
                    lambda part, pages: self._list_versions_part(run, part, pages))

    def _report_keep(self, parts: list[Part]) -> Callable[[str], bool] | None:
        """Which of a report's keys a pass keeps before its sort: the connection's (key range, patterns), in the
        parts it still has to do (a resumed pass does not sort again the keys of the ranges done before the kill)."""
        matches = None if self.filter.is_trivial else self.filter.matches
        inside = in_parts(parts)
        if inside is None or matches is None:
            return inside or matches
        return lambda key: inside(key) and matches(key)

    def _list_part(self, run: StreamRun, part: Part, pages: Iterable[Page] | None = None) -> None:
        stream = run.state
        endpoint = endpoint_label(self.settings)
        if pages is None:
            pages = walk_part(self.gateway, stream.bucket, stream.prefix, self.key_range.list_after(part.lo),
                              part.hi, run.plan.restore.request_restore_status, endpoint, self.key_range.end)
        counter = {"pages": 0}

        def on_page(page: Page, kept: int) -> None:
            counter["pages"] += 1
            if counter["pages"] == 1 and run.touch is None:
                self._note_pass_start(stream, page.date)
            with self._lock:
                self.summary.listed += len(page.objects)
                run.listed += len(page.objects)
                self.summary.filtered_out += len(page.objects) - kept
            self.checkpoints.maybe()
            if run.touch is None:
                self.progress.maybe(self._progress)

        suspects = run.touch.keys if run.touch is not None else ()
        lister: PartLister[PendingBatch] = PartLister(
            part, pages, self.filter,
            lambda lo, entry: RangeScanner(lo, entry, run.target, run.plan.restore.request_restore_status,
                                           suspects=suspects),
            lambda batch: self._dispatch(run, batch), lambda pending: self._complete(run, pending), on_page,
            self._stop.is_set)
        lister.run()
        if run.touch is not None:
            return
        self._part_done(run)

    def _list_versions_part(self, run: StreamRun, part: Part, pages: Iterable[Any] | None = None,
                            completes_stream: bool = True) -> None:
        """List one part of a stream's versions ranges (or take its `pages` of a report) and send the versions of
        every key that changed."""
        stream = run.state
        if pages is None:
            pages = walk_key_versions(self.gateway, stream.bucket, stream.prefix, self.key_range.list_after(part.lo),
                                      part.hi, endpoint_label(self.settings), self.key_range.end)

        def on_page(page: Page, kept: int) -> None:
            with self._lock:
                self.summary.versions_listed += sum(len(unit.entries) for unit in page.objects)
            self.checkpoints.maybe()

        lister: PartLister[VersionsBatch] = PartLister(
            part, pages, self.filter,  # type: ignore[arg-type]
            lambda lo, entry: RangeScanner(lo, entry, self.settings.range_size, False, unit_fingerprint,
                                           unit_identity, VERSIONS_BUFFER, explain_versions, sketches=False),
            VersionsBatch, lambda pending: self._complete_versions(run, pending.batch), on_page, self._stop.is_set)
        lister.run()
        if not completes_stream:
            return
        self._part_done(run)

    def _part_done(self, run: StreamRun) -> None:
        """One part of the stream (objects or versions) is listed; the last one completes the stream's pass."""
        with self._lock:
            run.parts_left -= 1
            last = run.parts_left == 0
        if last:
            self._complete_stream(run)

    def _complete_versions(self, run: StreamRun, batch: Batch) -> None:
        stream = run.state
        rows = version_rows(batch, stream.bucket, self.filter.matches)
        removed = removal_suspected(batch, run.versions_history)
        for row in rows:
            self.sink.upsert(VERSIONS_TABLE, row)
        with self._lock:
            stream.version_ranges = replace_entry(stream.version_ranges, batch.entry_hi, batch.replacement)
            self.summary.versions_upserted += len(rows)
            if removed and self.state.versions_rebuild is None:
                self.state.versions_rebuild = REBUILD_DUE
            self.checkpoints.add(len(batch.objects))
        self.checkpoints.maybe()

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
        plan = run.plan
        tracked: Container[str] = stream.restores
        touch = run.touch
        if touch is not None and (touch.send or touch.look):
            for index, obj in enumerate(batch.objects):
                if obj.key in touch.send:
                    batch.emit[index] = True
            if touch.look:
                tracked = set(stream.restores) | touch.look
        heads: dict[int, Future] = {}
        for index, purpose in head_purposes(plan.restore, plan.tiering, batch.objects, batch.emit, tracked, self.now,
                                            bool(self.settings.object_details)).items():
            obj = batch.objects[index]
            heads[index] = self._head_pool.submit(self._describe, run, obj, purpose, batch.emit[index],
                                                  previous_restore(stream.restores, obj))
        versions = None
        if plan.versioned and run.has_history and needs_version_listing(batch.loss):
            versions = self._head_pool.submit(self._versions, run, batch.lo, batch.hi)
        gone = self._tracked_between(run, batch.lo, batch.hi)
        removed = [key for key in touch.removed if (batch.lo is None or key > batch.lo)
                   and (batch.hi is None or key <= batch.hi)] if touch is not None else []
        return PendingBatch(batch, heads, versions, gone, removed)

    def _describe(self, run: StreamRun, obj: ListedObject, purpose: str, sent: bool, previous: RestoreInfo) -> Described:
        """The one boundary of one object's description: whatever describing it raises, other than what stops the
        whole sync (a SyncError: credentials, the bucket, the endpoint), fails only this object. Its row says why
        (`error:Unexpected<Type>` where its restore status needed the HEAD, NULL details otherwise), it is counted
        and tracked, and the sync goes on. Only the exception's type is kept: its message could quote anything."""
        try:
            return self._describe_object(run, obj, purpose, sent, previous)
        except (SyncError, Stopped):
            raise
        except Exception as error:  # noqa: BLE001 (see the docstring: one object's failure is that object's)
            return failed_description(run.plan.restore, obj, purpose, f"Unexpected{type(error).__name__}")

    def _describe_object(self, run: StreamRun, obj: ListedObject, purpose: str, sent: bool,
                         previous: RestoreInfo) -> Described:
        """HEAD one object (with ChecksumMode when its row carries the HEAD details) and, with `tags` chosen, read
        its tags when its row will be sent: one GetObjectTagging per row, none for an object HEADed only to find
        its restore status unchanged."""
        if self._stop.is_set():
            raise Stopped()
        bucket = run.state.bucket
        details = self.settings.object_details
        try:
            head = self.gateway.head_object(bucket, obj.key, checksums=DETAILS_HEAD in details)
        except AwsCallError as error:
            return failed_description(run.plan.restore, obj, purpose, error.code)
        if head is None:
            return None
        described = head_description(obj, head, details)
        if DETAILS_TAGS not in details or not row_due(sent, described, previous):
            return described
        try:
            tags = self.gateway.get_object_tags(bucket, obj.key)
        except AwsCallError as error:
            return replace(described, tags_error=error.code)
        return None if tags is None else replace(described, tags=tags)

    def _versions(self, run: StreamRun, lo: str | None, hi: str | None) -> list[tuple[dict[str, Any], bool]]:
        if self._stop.is_set():
            raise Stopped()
        return list(walk_versions(self.gateway, run.state.bucket, run.state.prefix, self.key_range.list_after(lo),
                                  hi, endpoint_label(self.settings), self.key_range.end))

    def _tracked_between(self, run: StreamRun, lo: str | None, hi: str | None) -> list[str]:
        keys = run.tracked
        start = 0 if lo is None else bisect.bisect_right(keys, lo)
        end = len(keys) if hi is None else bisect.bisect_right(keys, hi)
        return keys[start:end]

    def _complete(self, run: StreamRun, pending: PendingBatch) -> None:
        stream = run.state
        batch = pending.batch
        view = StreamView(stream.bucket, run.plan.restore, stream.restores, run.has_history, self.filter.matches,
                          self.settings.object_details, run.plan.versioned,
                          stream.watermark - self._marker_slack if stream.watermark is not None else None)
        described = {index: future.result() for index, future in pending.heads.items()}
        versions = pending.versions.result() if pending.versions is not None else None
        outcome = resolve(batch, view, described, pending.gone, versions, pending.removed)
        for row in outcome.upserts:
            self.sink.upsert(TABLE, row)
        for key in outcome.deletes:
            self.sink.delete(TABLE, {PRIMARY_KEY[0]: stream.bucket, PRIMARY_KEY[1]: key})
        with self._lock:
            claimed = self._claim_unnamed(stream, outcome)
            for key in claimed:
                self.sink.delete(TABLE, {PRIMARY_KEY[0]: stream.bucket, PRIMARY_KEY[1]: key})
            deletes = outcome.deletes + claimed
            self._apply_tracking(stream, outcome.tracking)
            stream.ranges = replace_entry(stream.ranges, batch.entry_hi, batch.replacement)
            self.summary.upserted += len(outcome.upserts)
            self.summary.deleted += len(deletes)
            run.upserted += len(outcome.upserts)
            run.deleted += len(deletes)
            run.unnamed += outcome.unnamed or 0
            self.summary.head_errors.update(outcome.errors)
            self.summary.tag_errors.update(outcome.tag_errors)
            self.summary.unreadable_headers.update(outcome.unreadable)
            if run.has_history:
                self._count_unmarked_deletes(outcome.unnamed, outcome.unnamed_exact)
                stream.unnamed = stream.unnamed.plus(outcome.unnamed, outcome.unnamed_ids)
                if outcome.unnamed != 0 and self.settings.inventory_source and run.report is None and run.touch is None:
                    self._note_lossy(run, batch, deletes, outcome)
            self.checkpoints.add(len(batch.objects))
        self.checkpoints.maybe()

    def _note_lossy(self, run: StreamRun, batch: Batch, deletes: list[str], outcome: Outcome) -> None:
        """A range of a listing pass lost keys it could not name: keep what it holds now, for a report to name what
        it held then (caller holds the lock). Up to MAX_LOSSY_KEYS keys; past that, deletes stay counted."""
        keys = frozenset(o.key for o in batch.objects).union(deletes)
        if run.lossy_keys + len(keys) > MAX_LOSSY_KEYS:
            return
        run.lossy.append(Lossy(batch.lo, batch.hi, keys, outcome.unnamed, outcome.unnamed_ids))
        run.lossy_keys += len(keys)

    def _name_from_report(self, run: StreamRun) -> None:
        """A listing pass is done and some ranges lost keys no listing could name (unversioned buckets, keys deleted
        for good): an S3 Inventory report names them, as keys it lists there that are neither listed nor deleted
        now (deletes.named_by_report), and their rows are deleted. The report is the one a bootstrap read, in the
        pass after it (the table then holds exactly its keys), else the newest, which names only what the key sums
        prove each range lost. Costs one read of the report, only
        in passes where some range lost keys it could not name; a report that cannot be read leaves them counted."""
        stream = run.state
        source = self.settings.inventory_source
        try:
            report = find_report(self.gateway, source, stream.bucket, stream.inventory, stream.prefix) \
                if source else None
            if report is None:
                self.sink.warning(f"stream s3://{stream.bucket}/{stream.prefix}: the S3 Inventory report "
                                  f"{stream.inventory} is gone, so the keys deleted since it was written stay "
                                  "counted, not named")
                return
            candidates = self._report_candidates(run, report)
        except SyncError as error:  # a report not found or unreadable, a permission missing: the pass's own work
            # is done, and its deletes stay counted as without a report
            self.sink.warning(f"stream s3://{stream.bucket}/{stream.prefix}: the keys deleted since the last pass "
                              f"stay counted, not named from an S3 Inventory report: {error}")
            return
        every = stream.inventory is not None  # the bootstrap's report: the table holds every key it lists
        gone = sorted({key for lossy, keys in zip(run.lossy, candidates)
                       for key in named_by_report(keys, lossy.unnamed, lossy.unnamed_ids, every)})
        with self._lock:
            claimed = self._take_claimed(stream, gone)
            self.summary.unmarked_deletes = max(0, self.summary.unmarked_deletes - len(claimed))
            if not self.summary.unmarked_deletes:
                self.summary.ranges_with_deletes = 0
            run.unnamed = max(0, run.unnamed - len(claimed))
            for key in gone:
                self.sink.delete(TABLE, {PRIMARY_KEY[0]: stream.bucket, PRIMARY_KEY[1]: key})
            self.summary.deleted += len(gone)
            run.deleted += len(gone)
        self.sink.info(f"stream s3://{stream.bucket}/{stream.prefix}: {len(gone)} objects deleted since the S3 "
                       f"Inventory report {report.where} was written, named by it")

    def _report_candidates(self, run: StreamRun, report: Manifest) -> list[list[str]]:
        """For each of the run's lossy ranges, the keys the report lists there that are neither listed nor deleted
        now."""
        lossy_range = bounds_index([(lossy.lo, lossy.hi) for lossy in run.lossy])
        matches = self.filter.matches

        def keep(key: str) -> bool:  # before the report's sort: only the keys of lossy ranges are sorted
            return lossy_range(key) is not None and matches(key)

        candidates: list[list[str]] = [[] for _ in run.lossy]
        objects = report_objects(self.gateway, report, run.state.bucket, run.state.prefix, False, None, keep)
        try:
            for obj in objects:
                index = lossy_range(obj.key)
                if index is not None and obj.key not in run.lossy[index].keys:
                    candidates[index].append(obj.key)
        finally:
            objects.close()
        return candidates

    def _claim_unnamed(self, stream: StreamState, outcome: Outcome) -> list[str]:
        """Deletes of keys events name that an earlier listing counted but could not name (caller holds the lock):
        the delete and its counting are committed together, so it is sent once."""
        return [key for key in self._take_claimed(stream, outcome.unclaimed) if self.filter.matches(key)]

    def _take_claimed(self, stream: StreamState, keys: list[str]) -> list[str]:
        """The keys of `keys` the stream's ledger of counted-but-unnamed deletes holds, taken off the ledger and off
        the deletes the closing warning will report (caller holds the lock). Events name them (`_claim_unnamed`), or
        the report a bootstrap read (`_name_from_report`)."""
        claimed, stream.unnamed = claim_unnamed(stream.unnamed, keys)
        if claimed:
            deletes, ranges, uncounted, at_least = self.state.unreported_deletes
            left = max(0, deletes - len(claimed))
            # No counted delete left: no range holds one either (the warning would say "no deleted object counted").
            self.state.unreported_deletes = (left, ranges if left else 0, uncounted, at_least if left else 0)
        return claimed

    def _count_unmarked_deletes(self, unnamed: int | None, exact: bool) -> None:
        """Keys a range lost that no delete could name (deletes.py): counted, for the closing warning, which says
        "at least" when some range's count is a lower bound (caller holds the lock)."""
        deletes, ranges, uncounted, at_least = self.state.unreported_deletes
        if unnamed is None:
            self.summary.ranges_uncounted += 1
            self.state.unreported_deletes = (deletes, ranges, uncounted + 1, at_least)
        elif unnamed:
            self.summary.unmarked_deletes += unnamed
            self.summary.ranges_with_deletes += 1
            self.state.unreported_deletes = (deletes + unnamed, ranges + 1, uncounted, at_least + (not exact))

    def _apply_tracking(self, stream: StreamState, changes: Mapping[str, Any]) -> None:
        """Update the tracked objects (caller holds the lock)."""
        for key, info in changes.items():
            if not self.state.track(stream, key, info):
                self.summary.untracked_restores += 1

    # -- progress
    def _complete_stream(self, run: StreamRun) -> None:
        stream = run.state
        if stream.pass_started is None:  # no part asked S3 for a page (all of them lie outside the key range)
            self._note_pass_start(stream, None)
        if run.lossy:
            self._name_from_report(run)
        with self._lock:
            total = sum(e.count or 0 for e in stream.ranges)
            stream.ranges = finish_pass(stream.ranges, effective_range_size(self.settings.range_size, total))
            if run.versions:
                keys = sum(e.count or 0 for e in stream.version_ranges)
                stream.version_ranges = finish_pass(stream.version_ranges,
                                                    effective_range_size(self.settings.range_size, keys))
                stream.version_passes += 1
            stream.watermark = stream.pass_started
            stream.pass_started = None
            if run.report is None:  # a bootstrap's report stays the reference of the pass after it
                stream.inventory = None
            stream.passes += 1
            self.summary.streams_completed += 1
        watermark = stream.watermark.isoformat() if stream.watermark else "none"
        self.sink.info(f"stream s3://{stream.bucket}/{stream.prefix}: pass complete, {total} objects in "
                       f"{len(stream.ranges)} key ranges ({run.listed} listed, {run.upserted} rows upserted, "
                       f"{run.deleted} deleted, {run.unnamed} deletes counted but not markable); pass started "
                       f"{watermark}")
        self.checkpoints.commit()

    def _progress(self) -> Snapshot:
        with self._lock:
            done = sum(1 for r in self._runs for e in r.state.ranges if e.done) if self._ranges_known else 0
            return Snapshot(self.summary.listed, self.summary.upserted + self.summary.deleted,
                            self.gateway.requests["HeadObject"], done, self._ranges_known, self._objects_known)

    def _report(self, elapsed: float) -> None:
        s = self.summary
        requests = self.gateway.requests
        tagging = (f"{requests['GetObjectTagging']} GetObjectTagging, "
                   if DETAILS_TAGS in self.settings.object_details else "")
        self.sink.info(
            f"sync summary: {s.listed} objects listed ({s.filtered_out} excluded by patterns), {s.upserted} rows "
            f"upserted, {s.deleted} rows deleted, {s.unmarked_deletes} deletes counted but not markable, "
            f"{s.versions_upserted} version rows, {requests['ListObjectsV2']} LIST, "
            f"{requests['HeadObject']} HEAD, {tagging}{requests['ListObjectVersions']} version-listing requests, "
            f"{sum(s.head_errors.values())} objects not described, {self.gateway.retry_stats.retries} retries "
            f"({self.gateway.retry_stats.waited:.1f}s of backoff), {self.checkpoints.committed} checkpoints, "
            f"{elapsed:.1f}s")
        for warning in self._take_warnings():
            self.sink.warning(warning)

    def _take_warnings(self) -> list[str]:
        """What this sync's counts say the user should know: one warning per kind of problem. The deletes counted
        and not reported yet are in it, and count as reported from now on (the next checkpoint commits that)."""
        s = self.summary
        found = []
        problems = []
        if s.head_errors:
            problems.append(
                f"{sum(s.head_errors.values())} objects could not be described by HEAD ({_by_code(s.head_errors)}); "
                "their rows carry restore_status 'error:<Code>' where the restore status needs HEAD, and NULL object "
                "details, and they are tried again on every sync. AccessDenied means the credentials lack "
                "s3:GetObject on those objects (or kms:Decrypt on their KMS key); SlowDown means S3 kept throttling "
                "after every retry." + (" Unexpected<Error> is a fault of this connector in describing those objects "
                                        "(the rest of the sync went on): please report it with this log."
                                        if any(code.startswith("Unexpected") for code in s.head_errors) else ""))
        if s.tag_errors:
            problems.append(
                f"{sum(s.tag_errors.values())} objects' tags could not be read by GetObjectTagging "
                f"({_by_code(s.tag_errors)}); their rows carry tags NULL and they are tried again on every sync. "
                "AccessDenied means the credentials lack s3:GetObjectTagging; NotImplemented means the store does "
                "not support object tags (take 'tags' out of object_details).")
        if s.unreadable_headers:
            problems.append(
                f"{sum(s.unreadable_headers.values())} header values could not be read "
                f"({_by_code(s.unreadable_headers)}); the columns they fill are NULL in those rows.")
        problems += self.gateway.given_up_warnings()
        if problems:
            found.append(" ".join(problems))
        if any(self.state.unreported_deletes):
            found.append(self._unmarked_deletes_warning())
            with self._lock:
                self.state.unreported_deletes = (0, 0, 0, 0)
        if s.untracked_restores:
            what = ("objects (restores, pending replications, failed descriptions)" if self.settings.object_details
                    else "restores")
            found.append(
                f"{s.untracked_restores} {what} were not tracked because {MAX_TRACKED_RESTORES} already are; their "
                "later changes behind LastModified are only seen when the object otherwise changes (see "
                "docs/guarantees.md, 'Limits').")
        return found

    def _unmarked_deletes_warning(self) -> str:
        """The deletes counted and not reported yet, this sync's and those of a sync killed before its warning."""
        deletes, ranges, uncounted_ranges, at_least = self.state.unreported_deletes
        counted = (f"{'at least ' if at_least else ''}{deletes} objects deleted since the last sync in {ranges} key "
                   "ranges" if deletes else "no deleted object counted")
        uncounted = (f"; in {uncounted_ranges} more ranges too much changed to count deletes"
                     if uncounted_ranges else "")
        if self.settings.sqs_queue_url:
            return (f"{counted}{uncounted}, whose delete events never reached the table (lost, or older than the "
                    "queue's retention) and whose rows could not be marked deleted: S3 keeps no trace of them to name "
                    "the object by. Their rows stay until a reconciliation (reconcile_every_hours); check the queue's "
                    "dead-letter queue and retention.")
        return (f"{counted}{uncounted}, whose rows could not be marked deleted: S3 keeps no trace of them to name the "
                "object by (deletes in unversioned buckets; in versioned buckets, objects deleted for good: "
                "DeleteObject with a VersionId, or a lifecycle rule removing an expired delete marker). Their rows "
                "stay until a reconciliation (reconcile_every_hours) or, in event mode, their delete events mark "
                "them.")

    def drain(self) -> EventSummary:
        """Event mode: drain the queue, listing again the ranges its events touch (`refresh`), then report."""
        started = self.clock()
        try:
            events = drain_queue(self.settings, self.state, self.sink, self.gateway, self.checkpoints.commit,
                                 self.refresh, self.clock)
        except SyncError as error:
            raise type(error)(f"{error} {self.checkpoints.failure_note()}") from None
        finally:
            self.close()
        events.elapsed = self.clock() - started
        self.sink.info(summary_line(events, self.gateway.requests, self.summary.upserted, self.summary.deleted,
                                    self.gateway.retry_stats.retries, DETAILS_TAGS in self.settings.object_details))
        for warning in closing_warnings(events) + self._take_warnings():
            self.sink.warning(warning)
        self.checkpoints.commit()
        return events


def _feed_parts(cursor: Cursor, parts: list[Part], list_part: Callable[[Part, Iterable[Any]], None]) -> None:
    """Feed consecutive parts the pages of a report's sorted objects (or units of versions), in key order; the
    whole report is read and sorted before the first part starts."""
    try:
        cursor.start()
        for part in parts:
            list_part(part, cursor.pages(part.lo, part.hi))
    finally:
        cursor.close()


def _by_code(counts: Counter[str]) -> str:
    return ", ".join(f"{code}: {count}" for code, count in sorted(counts.items()))


def run_sync(configuration: Mapping[str, Any] | None, state: Mapping[str, Any] | None, sink: Sink,
             gateway_factory: Callable[[Settings], S3Gateway] = S3Gateway) -> Any:
    """Validate everything, then run a listing sync, or drain the event queue once the snapshot is complete."""
    limit_malloc_arenas()
    settings = parse_configuration(configuration)
    for warning in settings.warnings:
        sink.warning(warning)
    if state and is_fivetran_example_state(state):
        sink.info("found the state of Fivetran's example S3 connector; this connector starts with a full sync")
    sync_state = load_state(state)
    send_again_for_new_details(settings, sync_state, sink)
    forget_notes_of_unchosen_details(settings, sync_state)
    adopt_key_range(settings, sync_state, sink)
    gateway = gateway_factory(settings)
    gateway.log_retries_to(sink.warning)
    if settings.sqs_queue_url and settings.sync_versions:
        sink.warning("sync_versions is on, and event mode does not maintain s3_object_versions: this connection keeps "
                     "listing every sync; turn sync_versions off to sync from the queue")
    kind = sync_kind(settings, sync_state, datetime.now(timezone.utc))
    sync = Sync(settings, sync_state, sink, gateway)
    if kind == DRAIN:
        return sync.drain()
    scope = scope_digest(settings)
    if sync_state.scope not in (None, scope) and settings.sqs_queue_url:
        sink.info("event mode: the buckets, prefixes or patterns changed, so this sync lists everything before the "
                  "queue is drained again")
    sync_state.scope = scope
    if kind == VERIFICATION_PASS:
        sink.info(f"event mode: verification pass (verify_every_hours = {settings.verify_every.total_seconds() / 3600:g}):"
                  " every range is listed and compared with its sketch; only what no event reported is sent")
    return sync.run()
