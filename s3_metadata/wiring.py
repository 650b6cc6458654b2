"""What event mode needs a bucket to send to its queue, and whether a bucket's wiring does so.

Shared by the setup check (`setup.check_event_wiring`, with the connector's read-only permissions) and the setup
script (`scripts/event_setup.py`, which makes the changes), so that both agree on what "wired" means. Every
function is pure: documents and texts as AWS returns them in, answers out.

Two wirings reach the queue:
- S3 event notifications: the bucket's notification configuration holds a queue configuration that names the
  queue's ARN, the event types and a key filter (prefix and suffix). S3 refuses a configuration in which two
  entries (queue, topic or Lambda, whatever their destination) have filters that can match the same key for the
  same event type ("Configurations overlap"); `filters_overlap` and `event_types_overlap` decide that as S3 does:
  two prefixes overlap when one starts with the other, two suffixes when one ends with the other, an absent one
  overlaps everything, and a key both filters match exists exactly when both overlap.
- EventBridge: the bucket sends every event to the default event bus, and a rule whose pattern matches the
  bucket, the keys and the detail types targets the queue.
Either way the queue's policy must let the sender (s3.amazonaws.com, or events.amazonaws.com for the rule) call
sqs:SendMessage on it.

Filter values in a notification configuration are URL-encoded as S3 documents it ('+' for a space, '%XX' for
characters outside its safe set), so they are decoded before they are compared with the configured prefixes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote_plus, unquote_plus

from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS

FIX_COMMAND = "python -m scripts.event_setup --configuration configuration.json --apply"

QUEUE, TOPIC, LAMBDA = "QueueConfigurations", "TopicConfigurations", "LambdaFunctionConfigurations"
ARN_FIELD = {QUEUE: "QueueArn", TOPIC: "TopicArn", LAMBDA: "LambdaFunctionArn"}
KIND_NAME = {QUEUE: "queue", TOPIC: "SNS topic", LAMBDA: "Lambda function"}
EVENTBRIDGE_FIELD = "EventBridgeConfiguration"
S3_SERVICE, EVENTS_SERVICE = "s3.amazonaws.com", "events.amazonaws.com"
# Characters S3 lists as safe in keys; every other one is percent-encoded in a filter value (a space as '+').
_FILTER_SAFE = "/!*'()"
_WILDCARDS = "*?"


@dataclass(frozen=True)
class Need:
    """One kind of change the table must hear about: the S3 notification event type that carries it, and the
    EventBridge detail types that carry it (none: EventBridge does not send it)."""

    event_type: str
    detail_types: tuple[str, ...]


ALWAYS = (
    Need("s3:ObjectCreated:*", ("Object Created",)),
    Need("s3:ObjectRemoved:*", ("Object Deleted",)),
    Need("s3:ObjectRestore:*", ("Object Restore Initiated", "Object Restore Completed", "Object Restore Expired")),
    Need("s3:LifecycleTransition", ("Object Storage Class Changed",)),
    # Deletes by a lifecycle rule are not s3:ObjectRemoved events; EventBridge sends them as "Object Deleted".
    Need("s3:LifecycleExpiration:*", ("Object Deleted",)),
    Need("s3:IntelligentTiering", ("Object Access Tier Changed",)),
)
WITH_TAGS = (Need("s3:ObjectTagging:*", ("Object Tags Added", "Object Tags Deleted")),)
# Replication events (sent only with replication metrics on) change replication_status; EventBridge has none.
WITH_HEAD = (Need("s3:Replication:*", ()),)


def needs(object_details: Iterable[str]) -> tuple[Need, ...]:
    """What event mode must hear about with these object details: tag events only with `tags`, replication
    events only with `head` (without them the connector ignores such events)."""
    chosen = set(object_details)
    return ALWAYS + (WITH_TAGS if DETAILS_TAGS in chosen else ()) + (WITH_HEAD if DETAILS_HEAD in chosen else ())


def event_types(wanted: Iterable[Need]) -> tuple[str, ...]:
    return tuple(need.event_type for need in wanted)


def detail_types(wanted: Iterable[Need]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for need in wanted for t in need.detail_types))


# -- event types
def event_type_covers(configured: str, wanted: str) -> bool:
    """Whether a configuration naming `configured` sends every event of type `wanted` ('s3:ObjectCreated:*' covers
    's3:ObjectCreated:Put'; 's3:ObjectCreated:Put' does not cover 's3:ObjectCreated:*')."""
    if configured == wanted:
        return True
    return configured.endswith(":*") and wanted.startswith(configured[:-1])


def event_types_overlap(a: str, b: str) -> bool:
    """Whether some event has both types, which S3 refuses in two configurations whose filters overlap."""
    return event_type_covers(a, b) or event_type_covers(b, a)


def merged_event_types(existing: Sequence[str], added: Sequence[str]) -> tuple[str, ...]:
    """`existing` then `added`, without duplicates or types a wildcard among them already covers."""
    merged = list(dict.fromkeys((*existing, *added)))
    return tuple(t for t in merged if not any(o != t and event_type_covers(o, t) for o in merged))


# -- key filters
@dataclass(frozen=True)
class NameFilter:
    """A notification's key filter, decoded: "" stands for no prefix (or no suffix), which matches every key."""

    prefix: str = ""
    suffix: str = ""

    def overlaps(self, other: NameFilter) -> bool:
        """Whether some key matches both: S3's rule for overlapping prefixes and suffixes."""
        prefixes = self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)
        suffixes = self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)
        return prefixes and suffixes

    def covers(self, prefix: str, include_patterns: Sequence[str] = ()) -> bool:
        """Whether it matches every key under `prefix` that the include patterns can select."""
        if not prefix.startswith(self.prefix):
            return False
        if not self.suffix:
            return True
        return bool(include_patterns) and all(literal_suffix(p).endswith(self.suffix) for p in include_patterns)

    def describe(self) -> str:
        parts = [f"prefix '{self.prefix}'"] if self.prefix else []
        parts += [f"suffix '{self.suffix}'"] if self.suffix else []
        return "keys with " + " and ".join(parts) if parts else "every key"


def literal_suffix(pattern: str) -> str:
    """Everything after a glob's last wildcard: every key the pattern matches ends with it."""
    last = max(pattern.rfind(w) for w in _WILDCARDS)
    return pattern[last + 1:]


def encode_filter_value(value: str) -> str:
    """A prefix or suffix as S3 wants it in a filter rule."""
    return quote_plus(value, safe=_FILTER_SAFE)


def decode_filter_value(value: str) -> str:
    return unquote_plus(value)


def filter_rules(name_filter: NameFilter) -> dict[str, Any] | None:
    """The `Filter` member of a configuration with this filter; None when it has none."""
    rules = [{"Name": name, "Value": encode_filter_value(value)}
             for name, value in (("prefix", name_filter.prefix), ("suffix", name_filter.suffix)) if value]
    return {"Key": {"FilterRules": rules}} if rules else None


# -- a bucket's notification configuration
@dataclass(frozen=True)
class Destination:
    """One entry of a bucket's notification configuration."""

    kind: str
    index: int
    id: str
    arn: str
    events: tuple[str, ...]
    filter: NameFilter

    def describe(self) -> str:
        name = f"'{self.id}' " if self.id else ""
        return f"the {KIND_NAME[self.kind]} configuration {name}({self.arn})"

    def sends(self, event_type: str) -> bool:
        return any(event_type_covers(e, event_type) for e in self.events)


def destinations(document: Mapping[str, Any]) -> list[Destination]:
    """Every queue, topic and Lambda configuration of a GetBucketNotificationConfiguration answer."""
    found = []
    for kind, arn_field in ARN_FIELD.items():
        for index, entry in enumerate(document.get(kind) or []):
            values = {"prefix": "", "suffix": ""}
            for rule in ((entry.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []:
                name = str(rule.get("Name", "")).lower()
                if name in values:
                    values[name] = decode_filter_value(str(rule.get("Value", "")))
            found.append(Destination(kind, index, str(entry.get("Id") or ""), str(entry.get(arn_field, "")),
                                     tuple(entry.get("Events") or ()), NameFilter(values["prefix"], values["suffix"])))
    return found


def eventbridge_enabled(document: Mapping[str, Any]) -> bool:
    return document.get(EVENTBRIDGE_FIELD) is not None


def reaching_queue(document: Mapping[str, Any], queue_arn: str, prefix: str, wanted: Iterable[str],
                   include_patterns: Sequence[str] = ()) -> tuple[str, ...]:
    """Those of the `wanted` event types that the bucket's queue configurations send to the queue for every key
    under `prefix` (that the include patterns select)."""
    to_queue = [d for d in destinations(document)
                if d.kind == QUEUE and d.arn == queue_arn and d.filter.covers(prefix, include_patterns)]
    return tuple(t for t in wanted if any(d.sends(t) for d in to_queue))


# -- queue policies
def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _principal_allows(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return service in _listed(principal.get("Service")) or "*" in _listed(principal.get("AWS"))


def _source_arn_allows(condition: Any, source_arn: str) -> bool:
    """Whether the statement's conditions on aws:SourceArn let `source_arn` through; other keys are not judged."""
    if not isinstance(condition, dict):
        return True
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            continue
        base = operator.removesuffix("IfExists")
        for key, values in tests.items():
            if key.lower() != "aws:sourcearn":
                continue
            patterns = [str(v) for v in _listed(values)]
            if base in ("ArnLike", "StringLike"):
                allowed = any(fnmatchcase(source_arn, p) for p in patterns)
            elif base in ("ArnEquals", "StringEquals"):
                allowed = source_arn in patterns
            else:
                continue
            if not allowed:
                return False
    return True


def policy_allows(policy: str | None, service: str, queue_arn: str, source_arn: str) -> bool:
    """Whether the queue's policy has an Allow statement that lets `service` send messages to the queue on behalf
    of `source_arn` (a bucket's or a rule's ARN). Deny statements and conditions on other keys are not judged."""
    try:
        document = json.loads(policy) if policy else {}
    except ValueError:
        return False
    statements = _listed(document.get("Statement")) if isinstance(document, dict) else []
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if not _principal_allows(statement.get("Principal"), service):
            continue
        actions = [str(a).lower() for a in _listed(statement.get("Action"))]
        if not any(fnmatchcase("sqs:sendmessage", a) for a in actions):
            continue
        resources = [str(r) for r in _listed(statement.get("Resource"))] or ["*"]
        if not any(fnmatchcase(queue_arn, r) for r in resources):
            continue
        if _source_arn_allows(statement.get("Condition"), source_arn):
            return True
    return False


# -- EventBridge rules
@dataclass(frozen=True)
class Rule:
    """An EventBridge rule that targets the queue, as DescribeRule tells it."""

    name: str
    arn: str
    pattern: str | None
    enabled: bool


def _matches(values: Any, text: str) -> bool | None:
    """Whether an event-pattern field's list of matchers matches `text`; None when it uses matchers not read here."""
    unknown = False
    for value in _listed(values):
        if isinstance(value, str):
            if value == text:
                return True
        elif isinstance(value, dict) and set(value) == {"prefix"} and isinstance(value["prefix"], str):
            if text.startswith(value["prefix"]):
                return True
        else:
            unknown = True
    return None if unknown else False


def _covers_keys(values: Any, prefix: str) -> bool | None:
    """Whether a key field's matchers match every key under `prefix`; None when they use matchers not read here."""
    unknown = False
    for value in _listed(values):
        if isinstance(value, dict) and set(value) == {"prefix"} and isinstance(value["prefix"], str):
            if prefix.startswith(value["prefix"]):
                return True
        elif not isinstance(value, str):
            unknown = True
    return None if unknown else False


_IGNORED_FIELDS = {"version", "account", "region", "id", "time"}


def pattern_gaps(pattern: str | None, bucket: str, prefix: str, wanted: Sequence[str]) -> tuple[str, ...] | None:
    """The detail types among `wanted` that a rule's pattern does not match for every key under `prefix` in
    `bucket`; None when the pattern uses fields or matchers this function does not read (it cannot tell)."""
    try:
        document = json.loads(pattern) if pattern else None
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    detail = document.get("detail", {})
    if set(document) - _IGNORED_FIELDS - {"source", "detail-type", "detail", "resources"} or not isinstance(detail, dict):
        return None
    if set(detail) - {"bucket", "object"}:
        return None
    bucket_field, object_field = detail.get("bucket", {}), detail.get("object", {})
    if not isinstance(bucket_field, dict) or not isinstance(object_field, dict) or set(bucket_field) - {"name"} \
            or set(object_field) - {"key"}:
        return None
    checks = [
        _matches(document["source"], "aws.s3") if "source" in document else True,
        _matches(document["resources"], f"arn:aws:s3:::{bucket}") if "resources" in document else True,
        _matches(bucket_field["name"], bucket) if "name" in bucket_field else True,
        _covers_keys(object_field["key"], prefix) if "key" in object_field else True,
    ]
    if None in checks:
        return None
    if not all(checks):
        return tuple(wanted)
    if "detail-type" not in document:
        return ()
    answers = [(t, _matches(document["detail-type"], t)) for t in wanted]
    if any(matched is None for _, matched in answers):
        return None
    return tuple(t for t, matched in answers if not matched)


def rule_pattern(buckets: Sequence[str], prefixes: Sequence[str], wanted: Sequence[str]) -> dict[str, Any]:
    """The event pattern of a rule that sends the `wanted` detail types of keys under `prefixes` in `buckets`.

    AWS does not document whether EventBridge keys are URL-encoded, so a prefix that encoding would change is
    matched in both forms (events outside the configuration are ignored by the connector anyway).
    """
    detail: dict[str, Any] = {"bucket": {"name": list(buckets)}}
    if any(prefixes):
        forms = dict.fromkeys(f for p in prefixes for f in (p, encode_filter_value(p)))
        detail["object"] = {"key": [{"prefix": f} for f in forms]}
    return {"source": ["aws.s3"], "detail-type": list(wanted), "detail": detail}


# -- a bucket's whole wiring, for the setup check
@dataclass(frozen=True)
class Wiring:
    """What the check found for one bucket: problems to fix, and notes about what it could not verify."""

    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def bucket_wiring(bucket: str, document: Mapping[str, Any], queue_arn: str, policy: str | None,
                  prefixes: Sequence[str], wanted: Sequence[Need], include_patterns: Sequence[str] = (),
                  rules: Sequence[Rule] | None = None) -> Wiring:
    """Whether every need reaches the queue for every key under `prefixes`: directly, through EventBridge (`rules`
    are those targeting the queue; None when they could not be read), or, unverifiably, through an SNS topic."""
    problems: list[str] = []
    notes: list[str] = []
    everything = destinations(document)
    topics = [d for d in everything if d.kind == TOPIC]
    eventbridge = eventbridge_enabled(document)
    live_rules = [r for r in rules or () if r.enabled]
    direct_used = False
    rules_used: dict[str, Rule] = {}
    for prefix in prefixes:
        where = f"keys under '{prefix}'" if prefix else "every key"
        direct = set(reaching_queue(document, queue_arn, prefix, event_types(wanted), include_patterns))
        missing = []
        for need in wanted:
            if need.event_type in direct:
                direct_used = True
                continue
            if eventbridge and need.detail_types:
                covering = rules_covering(live_rules, bucket, prefix, need.detail_types, notes)
                if rules is None or covering:
                    rules_used.update((r.name, r) for r in covering)
                    continue
            elif eventbridge:
                notes.append(f"bucket '{bucket}' sends events to EventBridge, which has no {need.event_type} events")
                continue
            topic = next((d for d in topics if d.sends(need.event_type) and d.filter.covers(prefix, include_patterns)),
                         None)
            if topic is not None:
                notes.append(f"bucket '{bucket}' sends {need.event_type} for {where} to {topic.describe()}: that the "
                             "topic delivers to the queue was not checked")
                continue
            missing.append(need.event_type)
        if missing:
            problems.append(f"bucket '{bucket}' does not send {', '.join(missing)} to the queue for {where}"
                            + _eventbridge_hint(eventbridge, rules, live_rules) + ".")
    if direct_used and not policy_allows(policy, S3_SERVICE, queue_arn, f"arn:aws:s3:::{bucket}"):
        problems.append(f"the queue's policy does not allow {S3_SERVICE} to call sqs:SendMessage for "
                        f"arn:aws:s3:::{bucket}, so S3 cannot deliver its notifications.")
    for rule in rules_used.values():
        if not policy_allows(policy, EVENTS_SERVICE, queue_arn, rule.arn):
            problems.append(f"the queue's policy does not allow {EVENTS_SERVICE} to call sqs:SendMessage for the "
                            f"EventBridge rule {rule.arn}, so the rule cannot deliver.")
    if eventbridge and rules is None:
        notes.append(f"bucket '{bucket}' sends events to EventBridge; the rules that target the queue were not "
                     "checked (they need events:ListRuleNamesByTarget and events:DescribeRule)")
    return Wiring(tuple(problems), tuple(dict.fromkeys(notes)))


def rules_covering(rules: Sequence[Rule], bucket: str, prefix: str, wanted: Sequence[str], notes: list[str],
                   unreadable_matches: bool = True) -> list[Rule]:
    """The rules that together match every one of `wanted` for keys under `prefix`; empty when they do not. A rule
    whose pattern cannot be read counts as matching everything when `unreadable_matches` (noted), else as nothing."""
    covering: list[Rule] = []
    left = set(wanted)
    for rule in rules:
        gaps = pattern_gaps(rule.pattern, bucket, prefix, wanted)
        if gaps is None:
            if not unreadable_matches:
                continue
            notes.append(f"the pattern of EventBridge rule '{rule.name}' uses fields or matchers this check does not "
                         "read: it is assumed to match")
            gaps = ()
        matched = set(wanted) - set(gaps)
        if matched & left:
            covering.append(rule)
            left -= matched
    return covering if not left else []


def _eventbridge_hint(eventbridge: bool, rules: Sequence[Rule] | None, live_rules: Sequence[Rule]) -> str:
    if not eventbridge or rules is None:
        return ""
    if not live_rules:
        return " (EventBridge is on for the bucket, but no enabled EventBridge rule targets the queue)"
    return " (nor do the EventBridge rules that target the queue match them)"
