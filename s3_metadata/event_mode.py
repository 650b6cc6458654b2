"""Event mode: a sync that drains the SQS queue S3 notifies instead of listing the buckets.

It works in rounds, each bounded so that its messages are deleted well within their visibility timeout:
receive up to ROUND_MESSAGES messages, HEAD each distinct object they name (in parallel), upsert what
exists and delete what does not, checkpoint, and only then delete the messages from the queue. A sync
killed anywhere in a round leaves that round's messages in the queue; they come back after the visibility
timeout and lead to the same rows, because every row comes from a HEAD and not from the event. Messages
that cannot be read, and messages whose objects could not be described, stay in the queue for its redrive
policy (a dead-letter queue after maxReceiveCount) and are reported in one warning, never dropped.

The first receive of a sync waits up to OPENING_WAIT_SECONDS for a message; once messages are flowing,
a receive that comes back empty after DRAINING_WAIT_SECONDS ends the sync. So an empty queue costs one
long poll per sync, and a drained one about a second. Both waits are long polls, which ask every SQS
server, so an empty answer means the queue is empty rather than that a sample of it was.

"""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

from s3_metadata.aws import AwsCallError, HeadResult, QueueMessage, S3Gateway
from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS, Settings
from s3_metadata.events import (
    LOOKUP, NO_EFFECT, REPLICATION, STALE, TAGGING, AppliedEvents, ObjectEvent, ObjectRef, ParsedMessage,
    parse_message, plan_lookups,
)
from s3_metadata.patterns import KeyFilter
from s3_metadata.resolve import described_row, head_description
from s3_metadata.restore import RestoreInfo, keeps_tracking
from s3_metadata.rows import PRIMARY_KEY, TABLE, listed_from_head
from s3_metadata.state import MAX_TRACKED_RESTORES, StreamState, SyncState
from s3_metadata.sink import Sink

ROUND_MESSAGES = 500
RECEIVE_BATCH = 10
OPENING_WAIT_SECONDS = 20
DRAINING_WAIT_SECONDS = 1
# Received messages stay hidden from other consumers this long; a round is sized to finish well inside it,
# and a killed sync's messages come back after it.
VISIBILITY_TIMEOUT_SECONDS = 180
# A round stops receiving after this long even when not full, leaving most of the visibility timeout for
# its HEADs, checkpoint and deletes.
ROUND_RECEIVE_SECONDS = 45.0
REASONS_SHOWN = 3

EMPTY = "queue empty"
MAX_MESSAGES = "event_max_messages reached"
TIME_BUDGET = "event_time_budget_seconds reached"


@dataclass
class EventSummary:
    """Counts for the closing log line and for tests.

    Every object event received ends up in exactly one of applied, dropped, ignored and failed.
    """

    messages: int = 0
    events: int = 0
    applied: int = 0
    dropped: int = 0
    test_events: int = 0
    ignored: int = 0
    failed: int = 0
    unparseable: int = 0
    heads: int = 0
    upserted: int = 0
    deleted: int = 0
    messages_deleted: int = 0
    delete_failures: int = 0
    untracked_restores: int = 0
    rounds: int = 0
    checkpoints: int = 0
    stopped_by: str = EMPTY
    elapsed: float = 0.0
    head_errors: Counter[str] = field(default_factory=Counter)
    tag_errors: Counter[str] = field(default_factory=Counter)
    unreadable_headers: Counter[str] = field(default_factory=Counter)
    unreadable_reasons: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Entry:
    """One received message, read, with the events of it that belong to the table."""

    message: QueueMessage
    parsed: ParsedMessage
    relevant: tuple[ObjectEvent, ...]


@dataclass(frozen=True)
class _Answer:
    """S3's answer for an object that exists: its HEAD and, with `tags` chosen, its tags or why they are missing."""

    head: HeadResult
    tags: dict[str, str] | None = None
    tags_error: str | None = None


class _Scope:
    """Which objects belong to the table, which stream's state each one touches, and which events change a row:
    tag events only with `tags` among the object details, replication events only with `head`."""

    def __init__(self, settings: Settings, streams: list[tuple[str, str]]):
        self._streams = streams
        self._filter = KeyFilter(settings.include_patterns, settings.exclude_patterns)
        self._no_effect = {NO_EFFECT} | ({TAGGING} if DETAILS_TAGS not in settings.object_details else set()) \
            | ({REPLICATION} if DETAILS_HEAD not in settings.object_details else set())

    def stream_prefix(self, bucket: str, key: str) -> str | None:
        """The LIST prefix of the stream that holds `key`, or None when the configuration leaves it out."""
        if not self._filter.matches(key):
            return None
        for stream_bucket, prefix in self._streams:
            if stream_bucket == bucket and key.startswith(prefix):
                return prefix
        return None

    def narrow(self, event: ObjectEvent) -> ObjectEvent | None:
        """`event` with only the readings of its key that are in scope; None when none is or it changes nothing."""
        if event.kind in self._no_effect:
            return None
        keys = [key for key in event.keys if self.stream_prefix(event.bucket, key) is not None]
        if not keys:
            return None
        return replace(event, key=keys[0], alternate_key=keys[1] if len(keys) > 1 else None)


def drain_queue(settings: Settings, state: SyncState, sink: Sink, gateway: S3Gateway,
                checkpoint: Callable[[], None], clock: Callable[[], float] = time.monotonic) -> EventSummary:
    """Apply the queue's events to the table until the queue is empty or a budget is spent.

    `checkpoint` must commit `state` (and every row sent before it); messages are deleted only after it returns.
    """
    drainer = _Drainer(settings, state, sink, gateway, checkpoint, clock, _Scope(settings, settings.streams()))
    return drainer.run()


@dataclass
class _Drainer:
    """One sync's drain of the queue."""

    settings: Settings
    state: SyncState
    sink: Sink
    gateway: S3Gateway
    checkpoint: Callable[[], None]
    clock: Callable[[], float]
    scope: _Scope
    summary: EventSummary = field(default_factory=EventSummary)
    applied: AppliedEvents = field(default_factory=AppliedEvents)

    @property
    def queue_url(self) -> str:
        return self.settings.sqs_queue_url or ""

    def run(self) -> EventSummary:
        started = self.clock()
        requests_before = dict(self.gateway.requests)
        deadline = started + self.settings.event_time_budget.total_seconds()
        wait = OPENING_WAIT_SECONDS
        self.sink.info(f"event mode: draining {self.queue_url} (at most {self.settings.event_max_messages} messages "
                       f"or {self.settings.event_time_budget.total_seconds():.0f}s)")
        with ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="s3-event-head") as pool:
            while True:
                messages, stop = self._receive_round(wait, deadline)
                if messages:
                    self._process_round(messages, pool)
                    wait = DRAINING_WAIT_SECONDS
                if stop is not None:
                    self.summary.stopped_by = stop
                    break
        self.summary.elapsed = self.clock() - started
        self._report(requests_before)
        return self.summary

    # -- receiving
    def _receive_round(self, wait: int, deadline: float) -> tuple[list[QueueMessage], str | None]:
        """Up to ROUND_MESSAGES messages, and why the sync must stop after this round (None: it need not)."""
        by_id: dict[str, QueueMessage] = {}
        round_started = self.clock()
        while len(by_id) < ROUND_MESSAGES and self.clock() - round_started < ROUND_RECEIVE_SECONDS:
            allowed = self.settings.event_max_messages - self.summary.messages
            if allowed <= 0:
                return list(by_id.values()), MAX_MESSAGES
            remaining = deadline - self.clock()
            if remaining <= 0:
                return list(by_id.values()), TIME_BUDGET
            received = self.gateway.receive_messages(
                self.queue_url, wait_seconds=int(min(wait, remaining)),
                max_messages=min(RECEIVE_BATCH, allowed, ROUND_MESSAGES - len(by_id)),
                visibility_timeout=VISIBILITY_TIMEOUT_SECONDS)
            if not received:
                return list(by_id.values()), EMPTY
            self.summary.messages += len(received)
            by_id.update((m.message_id, m) for m in received)
            wait = DRAINING_WAIT_SECONDS
        return list(by_id.values()), None

    # -- one round
    def _process_round(self, messages: list[QueueMessage], pool: ThreadPoolExecutor) -> None:
        s = self.summary
        s.rounds += 1
        before = (s.upserted, s.deleted, s.messages_deleted)
        entries = [self._read(message) for message in messages]
        events = [event for entry in entries for event in entry.relevant]
        plan = plan_lookups(events, self.applied)
        answers = dict(zip(plan.lookups, pool.map(self._look_up, plan.lookups)))
        s.heads += len(plan.lookups)
        succeeded = self._apply(answers)
        if succeeded:
            self.checkpoint()
            s.checkpoints += 1
        done = [self._settle(event, decision, succeeded) for event, decision in zip(events, plan.decisions)]
        self._delete_messages(entries, done)
        self.sink.info(
            f"event round {s.rounds}: {len(messages)} messages, {len(events)} object events in scope, "
            f"{len(plan.lookups)} HEADs, {s.upserted - before[0]} rows upserted, {s.deleted - before[1]} rows "
            f"deleted, {s.messages_deleted - before[2]} messages deleted from the queue")

    def _settle(self, event: ObjectEvent, decision: str, succeeded: set[ObjectRef]) -> bool:
        """Count one event's outcome and remember it when applied; returns whether it lets its message be deleted."""
        s = self.summary
        if decision == STALE:
            s.dropped += 1
            return True
        if not all((event.bucket, key) in succeeded for key in event.keys):
            s.failed += 1
            return False
        self.applied.record(event)
        if decision == LOOKUP:
            s.applied += 1
        else:
            s.dropped += 1
        return True

    def _read(self, message: QueueMessage) -> _Entry:
        s = self.summary
        parsed = parse_message(message.body)
        if parsed.error is not None:
            s.unparseable += 1
            s.unreadable_reasons[parsed.error] += 1
            return _Entry(message, parsed, ())
        s.test_events += parsed.is_test
        s.events += len(parsed.events)
        relevant = tuple(e for e in (self.scope.narrow(event) for event in parsed.events) if e is not None)
        s.ignored += len(parsed.events) - len(relevant)
        return _Entry(message, parsed, relevant)

    def _look_up(self, ref: ObjectRef) -> _Answer | None | AwsCallError:
        """S3's answer for one object (HEAD, and its tags when they are a column); a per-object HEAD failure is
        returned, anything worse stops the sync."""
        try:
            head = self.gateway.head_object(ref[0], ref[1], checksums=True)
        except AwsCallError as error:
            return error
        if head is None:
            return None
        if DETAILS_TAGS not in self.settings.object_details:
            return _Answer(head)
        try:
            tags = self.gateway.get_object_tags(ref[0], ref[1])
        except AwsCallError as error:
            return _Answer(head, tags_error=error.code)
        return None if tags is None else _Answer(head, tags)

    def _apply(self, answers: dict[ObjectRef, _Answer | None | AwsCallError]) -> set[ObjectRef]:
        """Send each object's row (or its deletion); returns the objects whose answer was applied in full. An object
        whose tags could not be read gets its row with tags NULL, and its events stay in the queue to be retried."""
        succeeded: set[ObjectRef] = set()
        details = self.settings.object_details
        for (bucket, key), answer in answers.items():
            if isinstance(answer, AwsCallError):
                self.summary.head_errors[answer.code] += 1
                continue
            stream = self.state.stream(bucket, self.scope.stream_prefix(bucket, key) or "")
            if answer is None:
                self.sink.delete(TABLE, {PRIMARY_KEY[0]: bucket, PRIMARY_KEY[1]: key})
                self.summary.deleted += 1
                self._track(stream, key, None)
                succeeded.add((bucket, key))
                continue
            obj = listed_from_head(key, answer.head)
            described = replace(head_description(obj, answer.head, details), tags=answer.tags)
            self.sink.upsert(TABLE, described_row(bucket, obj, described, details))
            self.summary.upserted += 1
            self.summary.unreadable_headers.update(described.unreadable)
            self._track(stream, key, described.restore if keeps_tracking(described.restore) else None)
            if answer.tags_error is not None:
                self.summary.tag_errors[answer.tags_error] += 1
                continue
            succeeded.add((bucket, key))
        return succeeded

    def _track(self, stream: StreamState, key: str, restore: RestoreInfo | None) -> None:
        if not self.state.track(stream, key, restore):
            self.summary.untracked_restores += 1

    def _delete_messages(self, entries: list[_Entry], done: list[bool]) -> None:
        """Delete the messages whose every event was applied or needed nothing; the others come back later.

        `done` holds one flag per relevant event, in the order of `entries`.
        """
        handles = []
        position = 0
        for entry in entries:
            count = len(entry.relevant)
            if entry.parsed.error is None and all(done[position:position + count]):
                handles.append(entry.message.receipt_handle)
            position += count
        if not handles:
            return
        failed = self.gateway.delete_messages(self.queue_url, handles)
        self.summary.messages_deleted += len(handles) - len(failed)
        self.summary.delete_failures += len(failed)

    # -- the closing report
    def _report(self, requests_before: dict[str, int]) -> None:
        s = self.summary
        used = Counter(self.gateway.requests)
        used.subtract(requests_before)
        tagging = (f"{used['GetObjectTagging']} GetObjectTagging requests, "
                   if DETAILS_TAGS in self.settings.object_details else "")
        self.sink.info(
            f"event sync summary: {s.messages} messages received in {s.rounds} rounds ({s.events} object events, "
            f"{s.test_events} test events, {s.unparseable} unparseable), {s.applied} events applied, {s.dropped} "
            f"duplicate or stale events dropped, {s.ignored} events ignored (outside the configuration or not "
            f"affecting the table), {s.failed} events not applied, {s.upserted} rows upserted, {s.deleted} rows "
            f"deleted, {used['ListObjectsV2']} LIST and {used['HeadObject']} HEAD requests, {tagging}"
            f"{used['ReceiveMessage']} receives, {used['DeleteMessageBatch']} delete batches, {s.messages_deleted} "
            f"messages deleted from the queue, {self.gateway.retry_stats.retries} retries, stopped: {s.stopped_by}, "
            f"{s.elapsed:.1f}s")
        for warning in closing_warnings(s) + self.gateway.given_up_warnings():
            self.sink.warning(warning)


def closing_warnings(s: EventSummary) -> list[str]:
    """What a sync's counts say the user should know: one warning per kind of problem, none when all went well."""
    warnings = []
    if s.unparseable:
        reasons = "; ".join(f"{reason} ({count})" for reason, count in s.unreadable_reasons.most_common(REASONS_SHOWN))
        warnings.append(
            f"{s.unparseable} queue messages could not be read as S3 event notifications or EventBridge S3 events "
            f"({reasons}); they were left in the queue, where its redrive policy moves them to the dead-letter "
            "queue. Only S3 notifications (direct or through SNS) and EventBridge events from aws.s3 belong in "
            "this queue.")
    if s.head_errors:
        by_code = ", ".join(f"{code}: {count}" for code, count in sorted(s.head_errors.items()))
        warnings.append(
            f"{sum(s.head_errors.values())} objects could not be described by HEAD ({by_code}); the messages that "
            "name them were left in the queue and are tried again on a later sync (or go to the dead-letter queue). "
            "AccessDenied means the credentials lack s3:GetObject on those objects (or kms:Decrypt on their KMS "
            "key).")
    if s.tag_errors:
        by_code = ", ".join(f"{code}: {count}" for code, count in sorted(s.tag_errors.items()))
        warnings.append(
            f"{sum(s.tag_errors.values())} objects' tags could not be read by GetObjectTagging ({by_code}); their rows "
            "were written with tags NULL, and the messages that name them were left in the queue and are tried again "
            "on a later sync. AccessDenied means the credentials lack s3:GetObjectTagging.")
    if s.unreadable_headers:
        by_code = ", ".join(f"{code}: {count}" for code, count in sorted(s.unreadable_headers.items()))
        warnings.append(f"{sum(s.unreadable_headers.values())} header values could not be read ({by_code}); the "
                        "columns they fill are NULL in those rows.")
    if s.delete_failures:
        warnings.append(
            f"SQS did not delete {s.delete_failures} processed messages; they come back and are applied again, "
            "which changes nothing in the table.")
    if s.untracked_restores:
        warnings.append(
            f"{s.untracked_restores} restores were not tracked because {MAX_TRACKED_RESTORES} already are; their "
            "later changes arrive as restore events, or with the next full listing.")
    return warnings
