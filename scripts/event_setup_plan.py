"""What `scripts/event_setup.py` must change so that buckets send event mode's events to a queue: a plan.

Pure: what exists (a queue's attributes, each bucket's notification configuration, the EventBridge rules) and what is
wanted (`Target`) in, a `Plan` out: the requests to make, in order, each with what it does in words; what is already
in place; and refusals, when a change would replace or clash with something of the user's. The script makes no change
at all when there is a refusal, so a bucket is never half wired.

The rules it keeps:
- A bucket's notification configuration is replaced whole by PutBucketNotificationConfiguration, so the new one is
  the current one with entries added or extended, every other entry (Lambda, SNS, other queues) passed back exactly.
- What already reaches the queue is recognised by content: a queue entry naming the queue's ARN, whose filter covers
  the prefix and whose events cover an event type, is enough for that type, whatever its Id. Missing types go into
  the entry with exactly the prefix filter when there is one (its Id kept), otherwise into a new entry.
- S3 refuses two entries whose filters can match the same key for the same event type ("Configurations overlap");
  such an entry is found here, before any request, and named in a refusal that says what to do.
- The queue policy gets one statement per sender (S3, the EventBridge rule) unless a statement already lets it in;
  every other statement is kept.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from s3_metadata.event_mode import VISIBILITY_TIMEOUT_SECONDS
from s3_metadata.wiring import (
    EVENTBRIDGE_FIELD, EVENTS_SERVICE, QUEUE, S3_SERVICE, Destination, NameFilter, Need, Rule, destinations,
    detail_types, event_types, event_types_overlap, eventbridge_enabled, filter_rules, merged_event_types,
    policy_allows, rule_pattern, rules_covering,
)

QUEUE_RETENTION_SECONDS = 4 * 24 * 3600  # at least 4 days (README), so a paused connection does not lose events
# A message keeps its first enqueue time when it moves to a dead-letter queue, so the DLQ must keep it longer.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
MAX_RECEIVE_COUNT = 5
QUEUE_NAME_LENGTH = 80
RULE_NAME_LENGTH = 64
ID_PREFIX = "fivetran-s3-metadata"
S3_STATEMENT = "FivetranS3MetadataFromS3"
EVENTBRIDGE_STATEMENT = "FivetranS3MetadataFromEventBridge"
TARGET_ID = "fivetran-s3-metadata-queue"
_PLAIN_PREFIX = re.compile(r"^[A-Za-z0-9/_.=-]{1,100}$")


@dataclass(frozen=True)
class Target:
    """What the user asked for: these buckets' keys under these prefixes, wired to one queue."""

    buckets: tuple[str, ...]
    prefixes: tuple[str, ...]
    needs: tuple[Need, ...]
    queue_name: str
    region: str
    account: str
    eventbridge: bool = False
    include_patterns: tuple[str, ...] = ()

    @property
    def dlq_name(self) -> str:
        return self.queue_name[:QUEUE_NAME_LENGTH - 4] + "-dlq"

    @property
    def rule_name(self) -> str:
        return self.queue_name[:RULE_NAME_LENGTH]

    @property
    def rule_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account}:rule/{self.rule_name}"

    def queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{name}"


@dataclass(frozen=True)
class Queue:
    """A queue that exists: its URL and GetQueueAttributes(All)."""

    url: str
    attributes: Mapping[str, str]

    @property
    def arn(self) -> str:
        return self.attributes.get("QueueArn", "")


@dataclass(frozen=True)
class Current:
    """What exists now."""

    bucket_regions: Mapping[str, str]
    notifications: Mapping[str, Mapping[str, Any]]
    queue: Queue | None = None
    dlq: Queue | None = None
    rules: tuple[Rule, ...] = ()
    our_rule: Rule | None = None
    our_rule_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One request to make (a boto3 client method and its parameters), and what it does in words."""

    service: str
    operation: str
    params: Mapping[str, Any]
    says: str


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    in_place: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    queue_url: str = ""
    queue_arn: str = ""
    # With EventBridge: the rules of the user's that already send what is needed to the queue (none: ours is needed).
    rules_in_place: list[Rule] = field(default_factory=list)


def default_queue_name(buckets: Sequence[str]) -> str:
    """fivetran-s3-metadata-<first bucket>, with room for "-dlq" within SQS's 80 characters ('.' is not allowed)."""
    return f"{ID_PREFIX}-{buckets[0]}".replace(".", "-")[:QUEUE_NAME_LENGTH - 4]


def predicted_queue_url(target: Target, name: str) -> str:
    return f"https://sqs.{target.region}.amazonaws.com/{target.account}/{name}"


def plan(target: Target, current: Current) -> Plan:
    """Everything to change, in the order it must be made: queues, queue policy, rule, then buckets (S3 checks that it
    may send to the queue when the notification configuration is put)."""
    result = Plan()
    if not _regions_agree(target, current, result):
        return result
    if target.eventbridge:
        result.rules_in_place = _rules_in_place(target, current)
    _plan_queues(target, current, result)
    if target.eventbridge:
        _plan_rule(target, current, result)
    for bucket in target.buckets:
        document = current.notifications.get(bucket, {})
        if target.eventbridge:
            _plan_eventbridge_bucket(bucket, document, result)
        else:
            _plan_notifications(target, bucket, document, result)
    return result


def _regions_agree(target: Target, current: Current, result: Plan) -> bool:
    """S3 sends notifications only to a queue (and to EventBridge rules) in the bucket's own region."""
    regions = {bucket: current.bucket_regions.get(bucket, target.region) for bucket in target.buckets}
    if len(set(regions.values())) > 1:
        listed = ", ".join(f"'{b}' in {r}" for b, r in regions.items())
        result.refusals.append(
            f"The buckets are in different regions ({listed}), and S3 sends events only to a queue in the bucket's own "
            "region. One connection reads one queue: set up one connection per region.")
        return False
    queue_region = current.queue.arn.split(":")[3] if current.queue and current.queue.arn.count(":") >= 5 else None
    bucket_region = next(iter(regions.values()))
    if queue_region and queue_region != bucket_region:
        result.refusals.append(
            f"The queue is in {queue_region} and the buckets in {bucket_region}, and S3 sends events only to a queue "
            "in the bucket's own region. Leave sqs_queue_url empty to create a queue there, or give one in "
            f"{bucket_region}.")
        return False
    return True


# -- queues
def _plan_queues(target: Target, current: Current, result: Plan) -> None:
    queue = current.queue
    name = queue.url.rstrip("/").rsplit("/", 1)[-1] if queue else target.queue_name
    result.queue_arn = queue.arn if queue else target.queue_arn(name)
    result.queue_url = queue.url if queue else predicted_queue_url(target, name)
    if queue is not None and not _queue_usable(queue, result):
        return
    dlq_arn = _plan_dlq(target, current, result) if queue is None or "RedrivePolicy" not in queue.attributes else None
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}) if dlq_arn else None
    policy = _merged_policy(target, queue.attributes.get("Policy") if queue else None, result.queue_arn, result)
    if queue is None:
        attributes = {"MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
                      "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "SqsManagedSseEnabled": "true"}
        attributes.update({k: v for k, v in (("RedrivePolicy", redrive), ("Policy", policy)) if v})
        result.steps.append(Step("sqs", "create_queue", {"QueueName": name, "Attributes": attributes},
                                 f"create the SQS queue {name}: retention {_days(QUEUE_RETENTION_SECONDS)}, visibility "
                                 f"timeout {VISIBILITY_TIMEOUT_SECONDS} s, moved to {target.dlq_name} after "
                                 f"{MAX_RECEIVE_COUNT} receives, encrypted with SSE-SQS, and a policy that lets "
                                 f"{_senders(target, result)} send to it"))
        return
    retention = int(queue.attributes.get("MessageRetentionPeriod", QUEUE_RETENTION_SECONDS))
    if retention < QUEUE_RETENTION_SECONDS:
        _set_attribute(result, queue, "MessageRetentionPeriod", str(QUEUE_RETENTION_SECONDS),
                       f"raise its message retention from {_days(retention)} to {_days(QUEUE_RETENTION_SECONDS)}")
    else:
        result.in_place.append(f"queue {name}: message retention {_days(retention)}")
    if redrive:
        _set_attribute(result, queue, "RedrivePolicy", redrive,
                       f"move a message to the dead-letter queue {target.dlq_name} after {MAX_RECEIVE_COUNT} receives")
    else:
        result.in_place.append(f"queue {name}: dead-letter queue {_redrive_summary(queue)}")
    if policy:
        _set_attribute(result, queue, "Policy", policy, f"extend its policy to let {_senders(target, result)} send to it "
                                                        "(its other statements kept)")
    else:
        result.in_place.append(f"queue {name}: its policy lets {_senders(target, result)} send to it")


def _queue_usable(queue: Queue, result: Plan) -> bool:
    name = queue.url.rsplit("/", 1)[-1]
    if queue.attributes.get("FifoQueue") == "true":
        result.refusals.append(f"The queue {name} is a FIFO queue, and S3 event notifications cannot be sent to one. "
                               "Use a standard queue (leave sqs_queue_url empty to have one created).")
        return False
    key = queue.attributes.get("KmsMasterKeyId")
    if key == "alias/aws/sqs":
        result.refusals.append(
            f"The queue {name} is encrypted with the AWS managed key alias/aws/sqs, whose key policy cannot let S3 or "
            "EventBridge encrypt messages. Use SSE-SQS or a customer managed key whose policy allows the sender "
            "kms:GenerateDataKey and kms:Decrypt.")
        return False
    if key:
        result.notes.append(f"the queue {name} is encrypted with the KMS key {key}: its key policy must allow "
                            f"{S3_SERVICE} (or {EVENTS_SERVICE}) kms:GenerateDataKey and kms:Decrypt, and the "
                            "connector's credentials kms:Decrypt")
    return True


def _plan_dlq(target: Target, current: Current, result: Plan) -> str | None:
    """The dead-letter queue's ARN, creating it when it does not exist."""
    dlq = current.dlq
    if dlq is None:
        result.steps.append(Step("sqs", "create_queue", {"QueueName": target.dlq_name, "Attributes": {
            "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}},
            f"create the SQS queue {target.dlq_name} as the dead-letter queue: retention "
            f"{_days(DLQ_RETENTION_SECONDS)}, encrypted with SSE-SQS"))
        return target.queue_arn(target.dlq_name)
    if dlq.attributes.get("FifoQueue") == "true":
        result.refusals.append(f"The queue {target.dlq_name} exists and is a FIFO queue, which cannot be the dead-letter "
                               "queue of a standard queue. Rename or delete it, or give the queue a redrive policy.")
        return None
    result.in_place.append(f"dead-letter queue {target.dlq_name} exists")
    return dlq.arn


def _set_attribute(result: Plan, queue: Queue, name: str, value: str, says: str) -> None:
    queue_name = queue.url.rsplit("/", 1)[-1]
    result.steps.append(Step("sqs", "set_queue_attributes", {"QueueUrl": queue.url, "Attributes": {name: value}},
                             f"queue {queue_name}: {says}"))


def _redrive_summary(queue: Queue) -> str:
    try:
        redrive = json.loads(queue.attributes["RedrivePolicy"])
        return f"{str(redrive['deadLetterTargetArn']).rsplit(':', 1)[-1]} after {redrive['maxReceiveCount']} receives"
    except (ValueError, KeyError, TypeError):
        return "set"


def _days(seconds: int) -> str:
    return f"{seconds / 86400:g} days"


def _rule_senders(target: Target, result: Plan) -> list[tuple[str, str]]:
    """(name, ARN) of the EventBridge rules that send to the queue: the user's that do already, else ours."""
    return [(r.name, r.arn) for r in result.rules_in_place] or [(target.rule_name, target.rule_arn)]


def _senders(target: Target, result: Plan) -> str:
    if target.eventbridge:
        names = [name for name, _ in _rule_senders(target, result)]
        return f"the EventBridge rule{'s' if len(names) > 1 else ''} {', '.join(names)}"
    return "S3 (" + ", ".join(f"bucket {b}" for b in target.buckets) + ")"


def _merged_policy(target: Target, policy: str | None, queue_arn: str, result: Plan) -> str | None:
    """The queue's policy with a statement for the sender added; None when it already lets the sender in."""
    if target.eventbridge:
        sid, service = EVENTBRIDGE_STATEMENT, EVENTS_SERVICE
        sources = [arn for _, arn in _rule_senders(target, result)]
        condition_operator = "ArnEquals"
    else:
        sid, service, sources = S3_STATEMENT, S3_SERVICE, [f"arn:aws:s3:::{b}" for b in target.buckets]
        condition_operator = "ArnLike"
    if all(policy_allows(policy, service, queue_arn, source) for source in sources):
        return None
    try:
        document = json.loads(policy) if policy else {"Version": "2012-10-17", "Statement": []}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        result.refusals.append("The queue's policy is not a JSON object, so it cannot be extended; fix or remove it.")
        return None
    statements = document.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    ours = next((s for s in statements if isinstance(s, dict) and s.get("Sid") == sid), None)
    if ours is not None:
        earlier = ((ours.get("Condition") or {}).get(condition_operator) or {}).get("aws:SourceArn") or []
        sources = list(dict.fromkeys([*(earlier if isinstance(earlier, list) else [earlier]), *sources]))
    condition: dict[str, Any] = {condition_operator: {"aws:SourceArn": sources if len(sources) > 1 else sources[0]}}
    if not target.eventbridge:
        condition["StringEquals"] = {"aws:SourceAccount": target.account}
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
                 "Resource": queue_arn, "Condition": condition}
    document["Statement"] = [s for s in statements if s is not ours] + [statement]
    return json.dumps(document, separators=(",", ":"))


# -- S3 event notifications
def notification_id(prefix: str, taken: set[str]) -> str:
    """An Id not used by another entry of the bucket, naming the prefix when it is plain text."""
    if not prefix:
        base = ID_PREFIX
    elif _PLAIN_PREFIX.match(prefix):
        base = f"{ID_PREFIX}:{prefix}"
    else:
        base = f"{ID_PREFIX}:{hashlib.sha256(prefix.encode()).hexdigest()[:16]}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base} ({n})"
    return candidate


def _plan_notifications(target: Target, bucket: str, document: Mapping[str, Any], result: Plan) -> None:
    queue_arn = result.queue_arn
    entries = destinations(document)
    new_document = {k: [dict(e) for e in v] if isinstance(v, list) else v for k, v in document.items()}
    taken = {e.id for e in entries}
    said: list[str] = []
    extended: set[int] = set()
    for prefix in target.prefixes:
        wanted = _missing(entries, queue_arn, prefix, event_types(target.needs), target.include_patterns)
        where = f"keys under '{prefix}'" if prefix else "every key"
        if not wanted:
            result.in_place.append(f"bucket {bucket}: sends every event type event mode needs for {where} to the queue")
            continue
        exact = next((e for e in entries if e.kind == QUEUE and e.arn == queue_arn
                      and e.filter == NameFilter(prefix)), None)
        clashes = [e for e in entries if e is not exact and e.filter.overlaps(NameFilter(prefix))
                   and any(event_types_overlap(w, t) for w in wanted for t in e.events)]
        if clashes:
            result.refusals.append(_overlap_refusal(bucket, prefix, wanted, clashes, queue_arn))
            continue
        if exact is not None:
            events = merged_event_types(exact.events, wanted)
            new_document[QUEUE][exact.index]["Events"] = list(events)
            extended.add(exact.index)
            said.append(f"add {', '.join(wanted)} to the queue configuration '{exact.id}' for {where}")
        else:
            entry: dict[str, Any] = {"Id": notification_id(prefix, taken), "QueueArn": queue_arn,
                                     "Events": list(wanted)}
            rules = filter_rules(NameFilter(prefix))
            if rules:
                entry["Filter"] = rules
            taken.add(entry["Id"])
            new_document.setdefault(QUEUE, []).append(entry)
            said.append(f"add the queue configuration '{entry['Id']}' for {where}: {', '.join(wanted)}")
    if said and not result.refusals:
        kept = [e for e in entries if not (e.kind == QUEUE and e.index in extended)]
        _put_notifications(bucket, new_document, "; ".join(said), kept, eventbridge_enabled(document), result)


def _missing(entries: list[Destination], queue_arn: str, prefix: str, wanted: Sequence[str],
             include_patterns: Sequence[str]) -> list[str]:
    to_queue = [e for e in entries if e.kind == QUEUE and e.arn == queue_arn and e.filter.covers(prefix, include_patterns)]
    return [t for t in wanted if not any(e.sends(t) for e in to_queue)]


def _overlap_refusal(bucket: str, prefix: str, wanted: Sequence[str], clashes: list[Destination],
                     queue_arn: str) -> str:
    where = f"keys under '{prefix}'" if prefix else "every key"
    found = "; ".join(
        f"{clash.describe()} sends "
        + ", ".join(t for t in clash.events if any(event_types_overlap(t, w) for w in wanted))
        + f" for {clash.filter.describe()}" + (" to this same queue" if clash.arn == queue_arn else "")
        for clash in clashes)
    ours = [c for c in clashes if c.kind == QUEUE and c.arn == queue_arn]
    remedies = []
    if ours:
        remedies.append(f"delete {', '.join(c.describe() for c in ours)}, which the new configuration supersedes")
    if len(ours) < len(clashes):
        remedies += ["run again with --eventbridge (the bucket then also sends its events to EventBridge, and its "
                     "notification configuration keeps what it has)",
                     "point the other configuration at an SNS topic that both its destination and the queue subscribe "
                     "to (the connector reads SNS envelopes)",
                     f"narrow its prefix or suffix so it cannot match {where}"]
    return (f"Bucket {bucket}: the queue cannot get {', '.join(wanted)} for {where}: {found}; S3 refuses two "
            "configurations whose filters can match the same key for the same event type (\"Configurations overlap\"). "
            "To go on, " + "; or ".join(remedies) + ". Then run this command again.")


def _put_notifications(bucket: str, document: Mapping[str, Any], says: str, kept: list[Destination],
                       eventbridge_kept: bool, result: Plan) -> None:
    """PutBucketNotificationConfiguration of the whole new `document`, saying what it keeps as it was."""
    others = [e.describe() for e in kept]
    keeping = f"; keep {len(others)} other configuration{'s' if len(others) != 1 else ''} unchanged" + (
        f" ({', '.join(others)})" if others else "")
    if eventbridge_kept:
        keeping += " and its EventBridge setting"
    result.steps.append(Step("s3", "put_bucket_notification_configuration",
                             {"Bucket": bucket, "NotificationConfiguration": dict(document)},
                             f"bucket {bucket}: {says}{keeping}"))


# -- EventBridge
def _plan_eventbridge_bucket(bucket: str, document: Mapping[str, Any], result: Plan) -> None:
    if eventbridge_enabled(document):
        result.in_place.append(f"bucket {bucket}: sends its events to EventBridge")
        return
    if any(e.kind == QUEUE and e.arn == result.queue_arn for e in destinations(document)):
        result.notes.append(f"bucket {bucket} also sends S3 event notifications to the queue: each change will arrive "
                            "twice (harmless, but twice the messages); remove that configuration if EventBridge is "
                            "to replace it")
    new_document = {**document, EVENTBRIDGE_FIELD: {}}
    _put_notifications(bucket, new_document, "send its events to EventBridge", destinations(document), False, result)


def _rules_in_place(target: Target, current: Current) -> list[Rule]:
    """The enabled rules targeting the queue that together send every detail type needed for every bucket and
    prefix (a pattern this code cannot read counts for nothing); empty when they do not."""
    wanted = detail_types(target.needs)
    live = [r for r in current.rules if r.enabled]
    used: dict[str, Rule] = {}
    for bucket in target.buckets:
        for prefix in target.prefixes:
            covering = rules_covering(live, bucket, prefix, wanted, [], unreadable_matches=False)
            if not covering:
                return []
            used.update((r.name, r) for r in covering)
    return list(used.values())


def _plan_rule(target: Target, current: Current, result: Plan) -> None:
    """A rule matching the buckets, prefixes and detail types, targeting the queue, unless rules already do."""
    wanted = detail_types(target.needs)
    if result.rules_in_place:
        names = sorted(r.name for r in result.rules_in_place)
        result.in_place.append(f"EventBridge rule{'s' if len(names) > 1 else ''} {', '.join(names)} "
                               f"send{'' if len(names) > 1 else 's'} what event mode needs to the queue")
        return
    pattern = rule_pattern(target.buckets, target.prefixes, wanted)
    ours = current.our_rule
    same = ours is not None and ours.enabled and ours.pattern is not None and json.loads(ours.pattern) == pattern
    if not same:
        result.steps.append(Step("events", "put_rule", {
            "Name": target.rule_name, "EventPattern": json.dumps(pattern), "State": "ENABLED",
            "Description": "S3 object events for the Fivetran S3 metadata connector (event mode)"},
            f"{'update' if ours else 'create'} the EventBridge rule {target.rule_name}: {', '.join(wanted)} of "
            + ", ".join(f"bucket {b}" for b in target.buckets)
            + ("" if not any(target.prefixes) else " under " + ", ".join(f"'{p}'" for p in target.prefixes))))
    if result.queue_arn not in current.our_rule_targets:
        result.steps.append(Step("events", "put_targets", {
            "Rule": target.rule_name, "Targets": [{"Id": TARGET_ID, "Arn": result.queue_arn}]},
            f"make the queue a target of the EventBridge rule {target.rule_name}"))


# -- what the connector's credentials need
def connector_policy(target: Target, queue_arn: str, object_details: Sequence[str] = ()) -> dict[str, Any]:
    """The IAM policy of the connector's credentials for this wiring (README, "IAM policy", plus event mode)."""
    buckets = [f"arn:aws:s3:::{b}" for b in target.buckets]
    # ListBucketVersions: a versioned bucket's deletes are found among its delete markers, with or without
    # sync_versions.
    bucket_actions = ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucketVersions",
                      "s3:GetIntelligentTieringConfiguration", "s3:GetBucketNotification"]
    object_actions = ["s3:GetObject"]
    if "tags" in object_details:
        object_actions.append("s3:GetObjectTagging")
    if "head" in object_details:
        object_actions += ["s3:GetObjectRetention", "s3:GetObjectLegalHold"]
    statements: list[dict[str, Any]] = [
        {"Sid": "ListAndInspect", "Effect": "Allow", "Action": bucket_actions, "Resource": buckets},
        {"Sid": "DescribeObjects", "Effect": "Allow", "Action": object_actions, "Resource": [f"{b}/*" for b in buckets]},
        {"Sid": "EventQueue", "Effect": "Allow",
         "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "Resource": queue_arn},
    ]
    if target.eventbridge:
        statements.append({"Sid": "CheckEventRules", "Effect": "Allow",
                           "Action": ["events:ListRuleNamesByTarget", "events:DescribeRule"],
                           "Resource": f"arn:aws:events:{target.region}:{target.account}:rule/*"})
    return {"Version": "2012-10-17", "Statement": statements}
