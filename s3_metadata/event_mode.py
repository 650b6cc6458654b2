"""Event mode: a sync that drains the SQS queue S3 notifies, and lists only the key ranges its events touched.

Events only say where to look. Each round of messages is turned into the key ranges its objects fall in
(`plan_touches`), and those ranges are listed again exactly as a listing pass lists them (`Sync.refresh`): their
rows, deletes, counts, digests, key sums and sketches come out as from a pass. So duplicated, late and reordered
events are harmless, a change no event reported is found too if it sits in a touched range, and every range's
sketch stays the one of its last listing, so a verification pass (passes.py) later sends only what no event
reported, however many events a range had.

What a listing cannot show is asked for by key: a restore or an archive-tier change gets a HEAD (the row is sent
when its restore columns changed), and a tags or replication change, or an event of a kind this code does not know,
gets its row described and sent. A removed object names the delete of its range: deletes events name are exact,
and a range that lost more keys than its events name counts the rest in the closing warning.

A round is bounded so that its messages are deleted well within their visibility timeout: receive up to
ROUND_MESSAGES messages, list their ranges (in parallel), checkpoint, and only then delete the messages. A sync
killed anywhere in a round leaves that round's messages in the queue; they come back after the visibility timeout
and lead to the same rows. Messages that cannot be read stay in the queue for its redrive policy (a dead-letter
queue after maxReceiveCount) and are reported in one warning, never dropped. A message whose object could not be
described is deleted like the others: the row says why (`error:<Code>`), and the object is tracked and described
again by every later sync until it succeeds, as in a listing pass.

The first receive of a sync waits up to OPENING_WAIT_SECONDS for a message; once messages are flowing, a receive
that comes back empty after DRAINING_WAIT_SECONDS ends the sync. So an empty queue costs one long poll per sync,
and a drained one about a second. Both waits are long polls, which ask every SQS server, so an empty answer means
the queue is empty rather than that a sample of it was.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from s3_metadata.aws import QueueMessage, S3Gateway
from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS, Settings
from s3_metadata.events import (
    ACCESS_TIER, NO_EFFECT, OTHER, REMOVED, REPLICATION, RESTORE, STALE, TAGGING, AppliedEvents, ObjectEvent,
    ParsedMessage, Touch, parse_message, plan_lookups,
)
from s3_metadata.ranges import range_of
from s3_metadata.restore import ERROR_PREFIX, HEAD_FAILED, TAGS_FAILED
from s3_metadata.sink import Sink
from s3_metadata.state import SyncState, stream_id

ROUND_MESSAGES = 500
RECEIVE_BATCH = 10
OPENING_WAIT_SECONDS = 20
DRAINING_WAIT_SECONDS = 1
# Received messages stay hidden from other consumers this long; a round is sized to finish well inside it,
# and a killed sync's messages come back after it.
VISIBILITY_TIMEOUT_SECONDS = 180
# A round stops receiving after this long even when not full, leaving most of the visibility timeout for
# its listings, checkpoint and deletes.
ROUND_RECEIVE_SECONDS = 45.0
REASONS_SHOWN = 3

EMPTY = "queue empty"
MAX_MESSAGES = "event_max_messages reached"
TIME_BUDGET = "event_time_budget_seconds reached"

# Event kinds whose change no listing shows: the key gets a HEAD, and its row is sent if its description changed.
_LOOK = frozenset({RESTORE, ACCESS_TIER})
# Event kinds whose change only a description shows: the key's row is described and sent.
_SEND = frozenset({TAGGING, REPLICATION, OTHER})


@dataclass
class EventSummary:
    """Counts for the closing log line and for tests.

    Every object event received ends up in exactly one of applied, dropped and ignored.
    """

    messages: int = 0
    events: int = 0
    applied: int = 0
    dropped: int = 0
    test_events: int = 0
    ignored: int = 0
    unparseable: int = 0
    ranges: int = 0
    messages_deleted: int = 0
    delete_failures: int = 0
    rounds: int = 0
    checkpoints: int = 0
    stopped_by: str = EMPTY
    elapsed: float = 0.0
    unreadable_reasons: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Entry:
    """One received message, read, with the events of it that belong to the table."""

    message: QueueMessage
    parsed: ParsedMessage
    relevant: tuple[ObjectEvent, ...]


class _Scope:
    """Which objects belong to the table (the key filter: key range and patterns), which stream's state each one
    touches, and which events change a row: tag events only with `tags` among the object details, replication events
    only with `head`."""

    def __init__(self, settings: Settings, streams: list[tuple[str, str]]):
        self._streams = streams
        self._filter = settings.key_filter()
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


@dataclass(frozen=True)
class RoundPlan:
    """What a round of events asks: per stream id, the ranges to list again and the keys to look at; per event,
    whether it asked for anything (`events.LOOKUP`, `DUPLICATE`) or an earlier round already covered it (STALE)."""

    touches: dict[str, Touch]
    decisions: tuple[str, ...]


def plan_touches(events: list[ObjectEvent], applied: AppliedEvents, state: SyncState, scope: _Scope) -> RoundPlan:
    """The ranges and keys a round's events touch (a pure function of the events and the state's ranges)."""
    lookups = plan_lookups(events, applied)
    ranges: dict[str, set[str | None]] = {}
    keys: dict[str, dict[str, set[str]]] = {}
    for event, decision in zip(events, lookups.decisions):
        if decision == STALE:
            continue
        for key in event.keys:
            prefix = scope.stream_prefix(event.bucket, key)
            stream = state.streams.get(stream_id(event.bucket, prefix or ""))
            if prefix is None or stream is None:
                continue
            sid = stream_id(event.bucket, prefix)
            ranges.setdefault(sid, set()).add(range_of(stream.ranges, key))
            wanted = keys.setdefault(sid, {"look": set(), "send": set(), "removed": set(), "keys": set()})
            wanted["keys"].add(key)
            if event.kind == REMOVED:
                wanted["removed"].add(key)
            elif event.kind in _LOOK:
                wanted["look"].add(key)
            elif event.kind in _SEND:
                wanted["send"].add(key)
    touches = {sid: Touch(frozenset(his), frozenset(keys[sid]["look"]), frozenset(keys[sid]["send"]),
                          frozenset(keys[sid]["removed"]), frozenset(keys[sid]["keys"])) for sid, his in ranges.items()}
    return RoundPlan(touches, lookups.decisions)


def failed_descriptions(state: SyncState) -> dict[str, Touch]:
    """The ranges of the objects whose description failed in an earlier sync (HEAD or GetObjectTagging): no event
    will come for them, so every drain lists their ranges again and looks at them, as a listing pass would."""
    touches = {}
    for sid, stream in state.streams.items():
        keys = frozenset(key for key, info in stream.restores.items()
                         if (info.note or "").startswith((HEAD_FAILED, TAGS_FAILED))
                         or (info.status or "").startswith(ERROR_PREFIX))
        if keys:
            touches[sid] = Touch(frozenset(range_of(stream.ranges, key) for key in keys), look=keys)
    return touches


def drain_queue(settings: Settings, state: SyncState, sink: Sink, gateway: S3Gateway,
                checkpoint: Callable[[], None], refresh: Callable[[Mapping[str, Touch]], Any],
                clock: Callable[[], float] = time.monotonic) -> EventSummary:
    """Apply the queue's events to the table until the queue is empty or a budget is spent.

    `refresh` lists the touched ranges and sends their rows (sync.Sync.refresh); `checkpoint` must commit `state`
    (and every row sent before it); messages are deleted only after it returns.
    """
    drainer = _Drainer(settings, state, sink, gateway, checkpoint, refresh, clock, _Scope(settings, settings.streams()))
    return drainer.run()


@dataclass
class _Drainer:
    """One sync's drain of the queue."""

    settings: Settings
    state: SyncState
    sink: Sink
    gateway: S3Gateway
    checkpoint: Callable[[], None]
    refresh: Callable[[Mapping[str, Touch]], Any]
    clock: Callable[[], float]
    scope: _Scope
    summary: EventSummary = field(default_factory=EventSummary)
    applied: AppliedEvents = field(default_factory=AppliedEvents)

    @property
    def queue_url(self) -> str:
        return self.settings.sqs_queue_url or ""

    def run(self) -> EventSummary:
        started = self.clock()
        deadline = started + self.settings.event_time_budget.total_seconds()
        wait = OPENING_WAIT_SECONDS
        self.sink.info(f"event mode: draining {self.queue_url} (at most {self.settings.event_max_messages} messages "
                       f"or {self.settings.event_time_budget.total_seconds():.0f}s)")
        retries = failed_descriptions(self.state)
        if retries:
            self.refresh(retries)
            self.summary.ranges += sum(len(touch.ranges) for touch in retries.values())
            self.checkpoint()
            self.summary.checkpoints += 1
        while True:
            messages, stop = self._receive_round(wait, deadline)
            if messages:
                self._process_round(messages)
                wait = DRAINING_WAIT_SECONDS
            if stop is not None:
                self.summary.stopped_by = stop
                break
        self.summary.elapsed = self.clock() - started
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
            received = self.gateway.queues.receive_messages(
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
    def _process_round(self, messages: list[QueueMessage]) -> None:
        s = self.summary
        s.rounds += 1
        entries = [self._read(message) for message in messages]
        events = [event for entry in entries for event in entry.relevant]
        plan = plan_touches(events, self.applied, self.state, self.scope)
        if plan.touches:
            self.refresh(plan.touches)
            s.ranges += sum(len(touch.ranges) for touch in plan.touches.values())
        self.checkpoint()
        s.checkpoints += 1
        for event, decision in zip(events, plan.decisions):
            if decision == STALE:
                s.dropped += 1
                continue
            self.applied.record(event)
            s.applied += 1
        deleted_before = s.messages_deleted
        self._delete_messages(entries)
        self.sink.info(
            f"event round {s.rounds}: {len(messages)} messages, {len(events)} object events in scope, "
            f"{sum(len(t.ranges) for t in plan.touches.values())} key ranges listed again, "
            f"{s.messages_deleted - deleted_before} messages deleted from the queue")

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

    def _delete_messages(self, entries: list[_Entry]) -> None:
        """Delete every message that could be read: its events were applied (or needed nothing). Unreadable ones stay
        for the queue's redrive policy."""
        handles = [entry.message.receipt_handle for entry in entries if entry.parsed.error is None]
        if not handles:
            return
        failed = self.gateway.queues.delete_messages(self.queue_url, handles)
        self.summary.messages_deleted += len(handles) - len(failed)
        self.summary.delete_failures += len(failed)



def summary_line(s: EventSummary, requests: Mapping[str, int], upserted: int, deleted: int, retries: int,
                 tagging: bool) -> str:
    """The closing line of a drain: messages, events, what was listed and sent, and the requests it took."""
    tags = f"{requests.get('GetObjectTagging', 0)} GetObjectTagging, " if tagging else ""
    return (f"event sync summary: {s.messages} messages received in {s.rounds} rounds ({s.events} object events, "
            f"{s.test_events} test events, {s.unparseable} unparseable), {s.applied} events applied, {s.dropped} "
            f"duplicate or stale events dropped, {s.ignored} events ignored (outside the configuration or not "
            f"affecting the table), {s.ranges} key ranges listed again, {upserted} rows upserted, {deleted} rows "
            f"deleted, {requests.get('ListObjectsV2', 0)} LIST, {requests.get('HeadObject', 0)} HEAD, {tags}"
            f"{requests.get('ListObjectVersions', 0)} version-listing, {requests.get('ReceiveMessage', 0)} receive "
            f"and {requests.get('DeleteMessageBatch', 0)} delete-batch requests, {s.messages_deleted} messages deleted "
            f"from the queue, {retries} retries, stopped: {s.stopped_by}, {s.elapsed:.1f}s")


def closing_warnings(s: EventSummary) -> list[str]:
    """What a drain's counts say the user should know: one warning per kind of problem, none when all went well."""
    warnings = []
    if s.unparseable:
        reasons = "; ".join(f"{reason} ({count})" for reason, count in s.unreadable_reasons.most_common(REASONS_SHOWN))
        warnings.append(
            f"{s.unparseable} queue messages could not be read as S3 event notifications or EventBridge S3 events "
            f"({reasons}); they were left in the queue, where its redrive policy moves them to the dead-letter "
            "queue. Only S3 notifications (direct or through SNS) and EventBridge events from aws.s3 belong in "
            "this queue.")
    if s.delete_failures:
        warnings.append(
            f"SQS did not delete {s.delete_failures} processed messages; they come back and are applied again, "
            "which changes nothing in the table.")
    return warnings
