"""S3 event messages read into plain values, and a batch of them reduced to the objects worth looking at again.

Event mode trusts no event for an object's columns: every event only says "look at this key again", and a
listing of its key range (event_mode.py) answers what the row is now. That makes duplicated, late and reordered
events harmless for correctness; what this module adds is that they are also cheap. A batch names each distinct
key once (`plan_lookups`), and an event whose sequencer is not newer than one this sync already looked at again
costs nothing.

Two message formats reach the queue:
- S3 event notifications (`Records[]`), sent to SQS directly or inside an SNS envelope whose `Message` is
  the JSON text. S3 URL-encodes their keys form-style ("red flower.jpg" arrives as "red+flower.jpg",
  a literal "+" as "%2B"), so they are decoded exactly once with `unquote_plus`.
- EventBridge events (`detail-type`, `detail.bucket.name`, `detail.object.key`), forwarded by a rule.
  AWS does not document whether their keys are encoded, and public consumers disagree (AWS Powertools and
  Data Prepper decode them, moto sends them raw). A key is taken as it is; when it could also be a
  form-encoded one that decodes to something else (it holds "+" or "%XX" and nothing an encoder would
  have escaped), the decoded reading is carried as `alternate_key` and looked up as well. Both answers are
  the truth from S3, so whichever reading is right, the table ends up right.

Sequencers order the events of one key: AWS says to right-pad the shorter one with zeros and compare the
strings, which is the same as comparing them with trailing zeros removed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import unquote_plus

from s3_metadata.object_urls import is_text

S3_NOTIFICATION = "s3"
EVENTBRIDGE = "eventbridge"

CREATED = "created"
REMOVED = "removed"
RESTORE = "restore"
STORAGE_CLASS = "storage_class"
ACCESS_TIER = "access_tier"
# ACLs are not columns of the table: such events need no look.
NO_EFFECT = "no_effect"
# Tags and replication status are columns only with object details (`tags`, `head`): event_mode decides.
TAGGING = "tagging"
REPLICATION = "replication"
# An event type this code does not know yet: its object is described again, which is always a correct answer.
OTHER = "other"

TEST_EVENT = "s3:TestEvent"

_S3_EVENT_KINDS = (
    ("ObjectCreated:", CREATED), ("ObjectRemoved:", REMOVED), ("LifecycleExpiration:", REMOVED),
    ("ObjectRestore:", RESTORE), ("LifecycleTransition", STORAGE_CLASS), ("IntelligentTiering", ACCESS_TIER),
    ("ObjectTagging:", TAGGING), ("ObjectAcl:", NO_EFFECT), ("Replication:", REPLICATION),
)
_EVENTBRIDGE_KINDS = {
    "Object Created": CREATED,
    "Object Deleted": REMOVED,
    "Object Restore Initiated": RESTORE,
    "Object Restore Completed": RESTORE,
    "Object Restore Expired": RESTORE,
    "Object Storage Class Changed": STORAGE_CLASS,
    "Object Access Tier Changed": ACCESS_TIER,
    "Object ACL Updated": NO_EFFECT,
    "Object Tags Added": TAGGING,
    "Object Tags Deleted": TAGGING,
}
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
# What a form encoder can leave behind: printable ASCII without spaces, and "%" only as the start of "%XX".
_MAYBE_FORM_ENCODED = re.compile(r"^(?:[!-$&-~]|%[0-9A-Fa-f]{2})*$")

ObjectRef = tuple[str, str]


@dataclass(frozen=True)
class Touch:
    """What a round of events asks of one stream (see event_mode.py).

    `ranges`: the boundaries (`hi`) of the key ranges to list again; `look`: keys to HEAD whatever the listing says,
    whose rows are sent when their description changed (restores and archive tiers, which no listing of the bucket
    shows); `send`: keys whose rows are described and sent whatever the listing says (tags, replication, events of a
    kind this code does not know); `removed`: keys the events say were deleted, which name the range's deletes;
    `keys`: every key the events name (the sketches take them as probably changed, see sketch.reconcile).
    """

    ranges: frozenset[str | None]
    look: frozenset[str] = frozenset()
    send: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()


class _Unreadable(ValueError):
    """A message body that is not an event this module understands; the message says what is wrong with it."""


@dataclass(frozen=True)
class ObjectEvent:
    """One event about one object, as S3 or EventBridge described it."""

    bucket: str
    key: str
    kind: str
    name: str
    sequencer: str | None
    event_time: datetime | None
    source: str
    via_sns: bool = False
    alternate_key: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """Every reading of the key that has to be looked up."""
        return (self.key,) if self.alternate_key is None else (self.key, self.alternate_key)

    @property
    def identity(self) -> tuple[Any, ...]:
        """What two deliveries of the same event share, even by different routes (direct and through SNS)."""
        return self.bucket, self.key, self.kind, self.name, self.sequencer, self.event_time


@dataclass(frozen=True)
class ParsedMessage:
    """A queue message read: its events, or that it is S3's test message, or why it could not be read."""

    events: tuple[ObjectEvent, ...] = ()
    is_test: bool = False
    error: str | None = None


def parse_message(body: str) -> ParsedMessage:
    """Read one SQS message body; never raises, an unreadable body comes back with `error` set."""
    try:
        return _parse_document(_json(body, "the message body"), via_sns=False)
    except _Unreadable as problem:
        return ParsedMessage(error=str(problem))


def _json(text: Any, what: str) -> Any:
    if not isinstance(text, str):
        raise _Unreadable(f"{what} is not text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _Unreadable(f"{what} is not JSON") from None


def _parse_document(document: Any, via_sns: bool) -> ParsedMessage:
    if not isinstance(document, dict):
        raise _Unreadable("the message is not a JSON object")
    if not via_sns and document.get("Type") == "Notification" and "Message" in document:
        return _parse_document(_json(document["Message"], "the SNS Message"), via_sns=True)
    if document.get("Event") == TEST_EVENT:
        return ParsedMessage(is_test=True)
    if "Records" in document:
        records = document["Records"]
        if not isinstance(records, list):
            raise _Unreadable("'Records' is not a list")
        return ParsedMessage(events=tuple(_s3_record(record, via_sns) for record in records))
    if "detail-type" in document:
        return ParsedMessage(events=(_eventbridge_event(document, via_sns),))
    raise _Unreadable("it is neither an S3 event notification, an SNS notification nor an EventBridge event")


def _field(document: Any, *path: str) -> Any:
    """document[path[0]][path[1]]..., or None where the path breaks off."""
    for name in path:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document


def _text(document: Any, *path: str) -> str:
    value = _field(document, *path)
    if not isinstance(value, str) or not value:
        raise _Unreadable(f"'{'.'.join(path)}' is missing or not a non-empty string")
    return value


def _decode(key: str) -> str:
    try:
        return _valid_key(unquote_plus(key, errors="strict"))
    except UnicodeDecodeError:
        raise _Unreadable(f"the key {key[:200]!r} does not decode to UTF-8") from None


def _valid_key(key: str) -> str:
    """`key`, if it is valid Unicode text as every S3 key is. JSON can spell a lone surrogate (`"\\ud800"`), which
    no request can name: such a message is unreadable (counted, and left on the queue for its redrive policy)."""
    if not is_text(key):
        raise _Unreadable(f"the key {key[:200]!r} is not valid Unicode text (it holds a lone surrogate)")
    return key


def _s3_record(record: Any, via_sns: bool) -> ObjectEvent:
    name = _text(record, "eventName")
    return ObjectEvent(
        bucket=_text(record, "s3", "bucket", "name"),
        key=_decode(_text(record, "s3", "object", "key")),
        kind=s3_event_kind(name),
        name=name,
        sequencer=normalized_sequencer(_field(record, "s3", "object", "sequencer")),
        event_time=event_timestamp(_field(record, "eventTime")),
        source=S3_NOTIFICATION,
        via_sns=via_sns,
    )


def _eventbridge_event(document: Mapping[str, Any], via_sns: bool) -> ObjectEvent:
    if document.get("source") != "aws.s3":
        raise _Unreadable(f"an EventBridge event from {str(document.get('source'))[:100]!r}, not from aws.s3")
    name = _text(document, "detail-type")
    key = _valid_key(_text(document, "detail", "object", "key"))
    return ObjectEvent(
        bucket=_text(document, "detail", "bucket", "name"),
        key=key,
        kind=_EVENTBRIDGE_KINDS.get(name, OTHER),
        name=name,
        sequencer=normalized_sequencer(_field(document, "detail", "object", "sequencer")),
        event_time=event_timestamp(document.get("time")),
        source=EVENTBRIDGE,
        via_sns=via_sns,
        alternate_key=encoded_reading(key),
    )


def s3_event_kind(event_name: str) -> str:
    """What an S3 notification's eventName (with or without its "s3:" prefix) can change in a row."""
    name = event_name[3:] if event_name.startswith("s3:") else event_name
    for prefix, kind in _S3_EVENT_KINDS:
        if name.startswith(prefix):
            return kind
    return OTHER


def encoded_reading(key: str) -> str | None:
    """The decoded form of `key` when `key` could be form-encoded and decodes to something else, else None."""
    if not _MAYBE_FORM_ENCODED.match(key):
        return None
    try:
        decoded = unquote_plus(key, errors="strict")
    except UnicodeDecodeError:
        return None
    return decoded if decoded != key and decoded else None


def event_timestamp(value: Any) -> datetime | None:
    """An event's time as aware UTC, from ISO 8601 text or epoch seconds; None when it cannot be read."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return None


def normalized_sequencer(value: Any) -> str | None:
    """A sequencer in upper case, or None when there is none or it is not hexadecimal (its order is unknown)."""
    if isinstance(value, str) and _HEX.match(value):
        return value.upper()
    return None


def sequencer_key(sequencer: str) -> str:
    """A sort key with AWS's order: right-padding the shorter with zeros only adds trailing zeros, so drop them."""
    return sequencer.upper().rstrip("0")


def sequencer_newer(a: str, b: str) -> bool:
    """Whether sequencer `a` is from a later event than `b` on the same key."""
    return sequencer_key(a) > sequencer_key(b)


@dataclass
class AppliedEvents:
    """What this sync already looked at again: per object the newest sequencer covered, and every event."""

    sequencers: dict[ObjectRef, str] = field(default_factory=dict)
    identities: set[tuple[Any, ...]] = field(default_factory=set)

    def covers(self, event: ObjectEvent) -> bool:
        """Whether a look made after `event` happened has already been applied for every reading of its key."""
        if event.identity in self.identities:
            return True
        if event.sequencer is None:
            return False
        applied = [self.sequencers.get((event.bucket, key)) for key in event.keys]
        return all(s is not None and not sequencer_newer(event.sequencer, s) for s in applied)

    def record(self, event: ObjectEvent) -> None:
        """Note that a look made after `event` happened was applied for every reading of its key."""
        self.identities.add(event.identity)
        if event.sequencer is None:
            return
        for key in event.keys:
            ref = (event.bucket, key)
            known = self.sequencers.get(ref)
            if known is None or sequencer_newer(event.sequencer, known):
                self.sequencers[ref] = sequencer_key(event.sequencer)


LOOKUP = "lookup"
DUPLICATE = "duplicate"
STALE = "stale"


@dataclass(frozen=True)
class LookupPlan:
    """The distinct objects to look at again for a batch, and per event whether it asked for one or was already
    covered."""

    lookups: tuple[ObjectRef, ...]
    decisions: tuple[str, ...]

    def count(self, decision: str) -> int:
        return sum(1 for d in self.decisions if d == decision)


def plan_lookups(events: Iterable[ObjectEvent], applied: AppliedEvents) -> LookupPlan:
    """One look per distinct object of the batch; none for events an applied look already covered (STALE), and
    none of its own for an event whose object another event of the batch already asked for (DUPLICATE).

    Every look starts after the whole batch was received, so it answers for all of the batch's events on its
    key, in whatever order they were sent.
    """
    lookups: dict[ObjectRef, None] = {}
    decisions: list[str] = []
    for event in events:
        if applied.covers(event):
            decisions.append(STALE)
            continue
        refs = [(event.bucket, key) for key in event.keys]
        decisions.append(LOOKUP if any(ref not in lookups for ref in refs) else DUPLICATE)
        lookups.update(dict.fromkeys(refs))
    return LookupPlan(tuple(lookups), tuple(decisions))
