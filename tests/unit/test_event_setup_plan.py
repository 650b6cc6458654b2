"""Unit tests for scripts/event_setup_plan.py: what exists and what is wanted in, the requests to make out.

The tables say, for a bucket's notification configuration, a queue's attributes and the EventBridge rules, which
requests the setup script makes, what it leaves exactly as it was, and when it refuses (changing nothing).
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from s3_metadata.wiring import ALWAYS, WITH_TAGS, Rule, detail_types, event_types, policy_allows, rule_pattern
from scripts.event_setup_plan import (
    DLQ_RETENTION_SECONDS, EVENTBRIDGE_STATEMENT, MAX_RECEIVE_COUNT, QUEUE_RETENTION_SECONDS, S3_STATEMENT, Current,
    Queue, Target, connector_policy, default_queue_name, notification_id, plan, predicted_queue_url,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = "photos"
NAME = "fivetran-s3-metadata-photos"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{NAME}"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{NAME}"
DLQ_ARN = f"{QUEUE_ARN}-dlq"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{NAME}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:audit"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:thumbs"
EVERY_TYPE = list(event_types(ALWAYS))


def target(prefixes: tuple[str, ...] = ("",), buckets: tuple[str, ...] = (BUCKET,), **fields: Any) -> Target:
    return Target(buckets=buckets, prefixes=prefixes, needs=fields.pop("needs", ALWAYS), queue_name=NAME,
                  region=REGION, account=ACCOUNT, **fields)


def s3_policy(*buckets: str, sid: str = S3_STATEMENT) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": sid, "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": QUEUE_ARN, "Condition": {"ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in buckets]}}}]})


def queue(**attributes: str) -> Queue:
    """The queue, set up as the script sets it up unless `attributes` say otherwise (None removes one)."""
    base = {"QueueArn": QUEUE_ARN, "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}),
            "Policy": s3_policy(BUCKET)}
    base.update(attributes)
    return Queue(QUEUE_URL, {k: v for k, v in base.items() if v is not None})


def current(notification: dict | None = None, **fields: Any) -> Current:
    return Current(bucket_regions=fields.pop("bucket_regions", {BUCKET: REGION}),
                   notifications=fields.pop("notifications", {BUCKET: notification or {}}),
                   queue=fields.pop("queue", queue()), **fields)


def entry(arn: str, events: list[str], prefix: str = "", suffix: str = "", id_: str | None = None) -> dict:
    field = {"sqs": "QueueArn", "sns": "TopicArn", "lambda": "LambdaFunctionArn"}[arn.split(":")[2]]
    value: dict[str, Any] = {"Id": id_ or arn.rsplit(":", 1)[-1], field: arn, "Events": events}
    rules = [{"Name": n, "Value": v} for n, v in (("Prefix", prefix), ("Suffix", suffix)) if v]
    if rules:
        value["Filter"] = {"Key": {"FilterRules": rules}}
    return value


LAMBDA = entry(LAMBDA_ARN, ["s3:ObjectCreated:Put"], prefix="incoming/")
TOPIC = entry(TOPIC_ARN, ["s3:ObjectRemoved:*"], prefix="audit/")
TWO_OTHERS = {"LambdaFunctionConfigurations": [LAMBDA], "TopicConfigurations": [TOPIC]}


def ours(events: list[str], prefix: str = "", id_: str = "fivetran-s3-metadata") -> dict:
    """A queue configuration as the script writes it."""
    value: dict[str, Any] = {"Id": id_, "QueueArn": QUEUE_ARN, "Events": events}
    if prefix:
        value["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
    return value


def put_document(result) -> dict | None:
    """The notification configuration the plan puts, or None when it puts none."""
    puts = [s for s in result.steps if s.operation == "put_bucket_notification_configuration"]
    assert len(puts) <= 1
    return dict(puts[0].params["NotificationConfiguration"]) if puts else None


@pytest.mark.parametrize("existing, prefixes, expected", [
    pytest.param({}, ("",), {"QueueConfigurations": [ours(EVERY_TYPE)]}, id="empty-bucket"),
    pytest.param(TWO_OTHERS, ("logs/",),
                 {**TWO_OTHERS, "QueueConfigurations": [ours(EVERY_TYPE, "logs/", "fivetran-s3-metadata:logs/")]},
                 id="two-others-kept-exactly"),
    pytest.param({"LambdaFunctionConfigurations": [entry(LAMBDA_ARN, ["s3:ObjectAcl:Put"])]}, ("",),
                 {"LambdaFunctionConfigurations": [entry(LAMBDA_ARN, ["s3:ObjectAcl:Put"])],
                  "QueueConfigurations": [ours(EVERY_TYPE)]}, id="same-keys-other-event-types"),
    pytest.param({"QueueConfigurations": [ours(EVERY_TYPE)]}, ("",), None, id="already-wired"),
    pytest.param({"QueueConfigurations": [entry(QUEUE_ARN, EVERY_TYPE + ["s3:ObjectAcl:Put"], id_="by-hand")]},
                 ("logs/", "data/"), None, id="wired-by-hand-for-the-whole-bucket"),
    pytest.param({"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:*", "s3:ObjectAcl:Put"], id_="mine")]},
                 ("",), {"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:*", "s3:ObjectAcl:Put"]
                                                       + EVERY_TYPE[1:], id_="mine")]},
                 id="partly-wired-entry-extended-under-its-id"),
    pytest.param({"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:Put"], id_="old")]}, ("",),
                 {"QueueConfigurations": [entry(QUEUE_ARN, EVERY_TYPE, id_="old")]},
                 id="own-subtype-widened-under-its-id"),
    pytest.param({"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:*"], id_="mine")]}, ("logs/",),
                 {"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:*"], id_="mine"),
                                          ours(EVERY_TYPE[1:], "logs/", "fivetran-s3-metadata:logs/")]},
                 id="broader-entry-covers-some-types-the-rest-added"),
    pytest.param({}, ("a/", "b/"), {"QueueConfigurations": [ours(EVERY_TYPE, "a/", "fivetran-s3-metadata:a/"),
                                                            ours(EVERY_TYPE, "b/", "fivetran-s3-metadata:b/")]},
                 id="one-entry-per-prefix"),
    pytest.param({}, ("my photos/",), {"QueueConfigurations": [ours(EVERY_TYPE, "my+photos/",
                                                                    notification_id("my photos/", set()))]},
                 id="prefix-value-encoded"),
    pytest.param({"TopicConfigurations": [entry(TOPIC_ARN, ["s3:ObjectCreated:*"], prefix="x/",
                                                id_="fivetran-s3-metadata")]}, ("y/",),
                 {"TopicConfigurations": [entry(TOPIC_ARN, ["s3:ObjectCreated:*"], prefix="x/",
                                                id_="fivetran-s3-metadata")],
                  "QueueConfigurations": [ours(EVERY_TYPE, "y/", "fivetran-s3-metadata:y/")]}, id="id-taken"),
    pytest.param({"EventBridgeConfiguration": {}}, ("",),
                 {"EventBridgeConfiguration": {}, "QueueConfigurations": [ours(EVERY_TYPE)]},
                 id="eventbridge-setting-kept"),
])
def test_notifications_are_merged(existing, prefixes, expected):
    result = plan(target(prefixes), current(existing))
    assert result.refusals == []
    document = put_document(result)
    if expected is None:
        assert document is None
        assert any("sends every event type event mode needs" in item for item in result.in_place)
        return
    assert document == expected


@pytest.mark.parametrize("existing, prefixes, says", [
    pytest.param(TWO_OTHERS, ("",), [f"the Lambda function configuration 'thumbs' ({LAMBDA_ARN}) sends "
                                     "s3:ObjectCreated:Put for keys with prefix 'incoming/'",
                                     f"the SNS topic configuration 'audit' ({TOPIC_ARN}) sends s3:ObjectRemoved:* for "
                                     "keys with prefix 'audit/'", "--eventbridge"], id="whole-bucket-over-two-others"),
    pytest.param({"LambdaFunctionConfigurations": [entry(LAMBDA_ARN, ["s3:ObjectCreated:*"], suffix=".jpg")]},
                 ("logs/",), ["sends s3:ObjectCreated:* for keys with suffix '.jpg'", "Configurations overlap"],
                 id="suffix-overlaps-prefix"),
    pytest.param({"QueueConfigurations": [entry(QUEUE_ARN, ["s3:ObjectCreated:Put"], id_="old")]}, ("logs/",),
                 ["sends s3:ObjectCreated:Put for every key to this same queue", "delete the queue configuration 'old'"],
                 id="own-queue-subtype-for-more-keys"),
    pytest.param({"QueueConfigurations": [ours(EVERY_TYPE, "logs/", "fivetran-s3-metadata:logs/")]}, ("",),
                 ["which the new configuration supersedes"], id="prefix-widened"),
])
def test_overlapping_configurations_are_refused(existing, prefixes, says):
    result = plan(target(prefixes), current(existing))
    assert len(result.refusals) == 1
    for text in says:
        assert text in result.refusals[0]
    assert put_document(result) is None


def test_a_new_queue_gets_a_dead_letter_queue_and_a_policy():
    result = plan(target(), current({}, queue=None))
    assert [(s.service, s.operation) for s in result.steps] == [
        ("sqs", "create_queue"), ("sqs", "create_queue"), ("s3", "put_bucket_notification_configuration")]
    dlq, main = result.steps[0].params, result.steps[1].params
    assert dlq == {"QueueName": f"{NAME}-dlq", "Attributes": {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
                                                              "SqsManagedSseEnabled": "true"}}
    attributes = main["Attributes"]
    assert main["QueueName"] == NAME
    assert attributes["MessageRetentionPeriod"] == str(4 * 24 * 3600)
    assert attributes["VisibilityTimeout"] == "180"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}
    assert policy_allows(attributes["Policy"], "s3.amazonaws.com", QUEUE_ARN, f"arn:aws:s3:::{BUCKET}")
    assert json.loads(attributes["Policy"])["Statement"][0]["Condition"]["StringEquals"] == {
        "aws:SourceAccount": ACCOUNT}
    assert (result.queue_url, result.queue_arn) == (QUEUE_URL, QUEUE_ARN) == (predicted_queue_url(target(), NAME),
                                                                               QUEUE_ARN)


OTHER_STATEMENT = {"Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "sqs:*", "Resource": QUEUE_ARN}


@pytest.mark.parametrize("found, dlq, changes, in_place", [
    pytest.param(queue(), None, {}, 3, id="set-up-already"),
    pytest.param(queue(MessageRetentionPeriod="86400"), None, {"MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS)},
                 2, id="retention-raised"),
    pytest.param(queue(MessageRetentionPeriod="1209600"), None, {}, 3, id="longer-retention-kept"),
    pytest.param(queue(RedrivePolicy=None), None, {"create_queue": f"{NAME}-dlq", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": MAX_RECEIVE_COUNT})}, 2, id="dead-letter-queue-created"),
    pytest.param(queue(RedrivePolicy=None), Queue(f"{QUEUE_URL}-dlq", {"QueueArn": DLQ_ARN}), {
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": MAX_RECEIVE_COUNT})}, 2,
        id="existing-dead-letter-queue-used"),
    pytest.param(queue(RedrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:mine",
                                                 "maxReceiveCount": 10})), None, {}, 3, id="own-redrive-kept"),
    pytest.param(queue(Policy=None), None, {"Policy": [S3_STATEMENT]}, 2, id="policy-added"),
    pytest.param(queue(Policy=json.dumps({"Version": "2012-10-17", "Statement": [OTHER_STATEMENT]})), None,
                 {"Policy": ["Mine", S3_STATEMENT]}, 2, id="policy-extended-keeping-others"),
    pytest.param(queue(Policy=s3_policy("old-bucket")), None, {"Policy": [S3_STATEMENT]}, 2,
                 id="own-statement-widened"),
])
def test_an_existing_queue_is_completed(found, dlq, changes, in_place):
    result = plan(target(), current({"QueueConfigurations": [ours(EVERY_TYPE)]}, queue=found, dlq=dlq))
    assert result.refusals == []
    made: dict[str, Any] = {}
    for step in result.steps:
        if step.operation == "create_queue":
            made["create_queue"] = step.params["QueueName"]
        else:
            assert step.operation == "set_queue_attributes" and step.params["QueueUrl"] == QUEUE_URL
            made.update(step.params["Attributes"])
    if "Policy" in made:
        policy = json.loads(made["Policy"])
        made["Policy"] = [s["Sid"] for s in policy["Statement"]]
        assert policy_allows(json.dumps(policy), "s3.amazonaws.com", QUEUE_ARN, f"arn:aws:s3:::{BUCKET}")
        if "old-bucket" in json.dumps(found.attributes):
            assert "arn:aws:s3:::old-bucket" in json.dumps(policy)
    assert made == changes
    assert len([i for i in result.in_place if i.startswith("queue")]) == in_place


@pytest.mark.parametrize("found, regions, says", [
    pytest.param(queue(FifoQueue="true"), {BUCKET: REGION}, "is a FIFO queue", id="fifo"),
    pytest.param(queue(KmsMasterKeyId="alias/aws/sqs"), {BUCKET: REGION}, "AWS managed key alias/aws/sqs",
                 id="aws-managed-key"),
    pytest.param(Queue("https://sqs.eu-west-1.amazonaws.com/1/q", {"QueueArn": "arn:aws:sqs:eu-west-1:1:q"}),
                 {BUCKET: REGION}, "The queue is in eu-west-1 and the buckets in us-east-1", id="queue-elsewhere"),
    pytest.param(queue(), {BUCKET: REGION, "other": "eu-west-1"}, "'other' in eu-west-1", id="buckets-in-two-regions"),
])
def test_unusable_queues_and_regions_are_refused(found, regions, says):
    result = plan(target(buckets=tuple(regions)), current(queue=found, bucket_regions=regions,
                                                          notifications={b: {} for b in regions}))
    assert len(result.refusals) == 1 and says in result.refusals[0], result.refusals
    assert put_document(result) is None


def test_a_customer_managed_key_is_noted():
    result = plan(target(), current({"QueueConfigurations": [ours(EVERY_TYPE)]}, queue=queue(KmsMasterKeyId="k-1")))
    assert result.refusals == [] and result.steps == []
    assert "kms:GenerateDataKey" in result.notes[0]


EVERY_DETAIL_TYPE = list(detail_types(ALWAYS))
OUR_PATTERN = json.dumps(rule_pattern([BUCKET], [""], EVERY_DETAIL_TYPE))
EVENTBRIDGE_POLICY = json.dumps({"Statement": [{
    "Sid": EVENTBRIDGE_STATEMENT, "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sqs:SendMessage", "Resource": QUEUE_ARN, "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARN}}}]})


def test_eventbridge_from_nothing():
    result = plan(target(eventbridge=True), current(TWO_OTHERS, queue=None))
    assert [(s.service, s.operation) for s in result.steps] == [
        ("sqs", "create_queue"), ("sqs", "create_queue"), ("events", "put_rule"), ("events", "put_targets"),
        ("s3", "put_bucket_notification_configuration")]
    policy = result.steps[1].params["Attributes"]["Policy"]
    assert policy_allows(policy, "events.amazonaws.com", QUEUE_ARN, RULE_ARN)
    assert not policy_allows(policy, "s3.amazonaws.com", QUEUE_ARN, f"arn:aws:s3:::{BUCKET}")
    assert json.loads(result.steps[2].params["EventPattern"]) == json.loads(OUR_PATTERN)
    assert result.steps[3].params == {"Rule": NAME, "Targets": [{"Id": "fivetran-s3-metadata-queue", "Arn": QUEUE_ARN}]}
    assert put_document(result) == {**TWO_OTHERS, "EventBridgeConfiguration": {}}


@pytest.mark.parametrize("rules, our_rule, targets, operations", [
    pytest.param((Rule(NAME, RULE_ARN, OUR_PATTERN, True),), Rule(NAME, RULE_ARN, OUR_PATTERN, True), (QUEUE_ARN,),
                 [], id="in-place"),
    pytest.param((Rule("by-hand", RULE_ARN, json.dumps({"source": ["aws.s3"]}), True),), None, (), [],
                 id="a-rule-of-the-users-covers-it"),
    pytest.param((Rule(NAME, RULE_ARN, OUR_PATTERN, False),), Rule(NAME, RULE_ARN, OUR_PATTERN, False), (QUEUE_ARN,),
                 ["put_rule"], id="disabled-rule-enabled"),
    pytest.param((), Rule(NAME, RULE_ARN, json.dumps(rule_pattern(["old"], [""], EVERY_DETAIL_TYPE)), True), (),
                 ["put_rule", "put_targets"], id="stale-rule-updated"),
    pytest.param((Rule("odd", RULE_ARN, json.dumps({"detail": {"x": [{"wildcard": "*"}]}}), True),), None, (),
                 ["put_rule", "put_targets"], id="unreadable-rule-not-trusted"),
])
def test_eventbridge_rule(rules, our_rule, targets, operations):
    result = plan(target(eventbridge=True), current({"EventBridgeConfiguration": {}},
                                                    queue=queue(Policy=EVENTBRIDGE_POLICY), rules=rules,
                                                    our_rule=our_rule, our_rule_targets=targets))
    assert [s.operation for s in result.steps] == operations


def test_a_rule_of_the_users_is_what_the_queue_policy_lets_in():
    theirs = Rule("by-hand", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/by-hand", json.dumps({"source": ["aws.s3"]}), True)
    result = plan(target(eventbridge=True), current({"EventBridgeConfiguration": {}}, queue=queue(Policy=None),
                                                    rules=(theirs,)))
    assert [s.operation for s in result.steps] == ["set_queue_attributes"]
    policy = result.steps[0].params["Attributes"]["Policy"]
    assert policy_allows(policy, "events.amazonaws.com", QUEUE_ARN, theirs.arn)
    assert not policy_allows(policy, "events.amazonaws.com", QUEUE_ARN, RULE_ARN)
    assert "let the EventBridge rule by-hand send to it" in result.steps[0].says


def test_eventbridge_notes_a_queue_that_also_gets_notifications():
    result = plan(target(eventbridge=True), current({"QueueConfigurations": [ours(EVERY_TYPE)]},
                                                    queue=queue(Policy=EVENTBRIDGE_POLICY)))
    assert any("each change will arrive twice" in note for note in result.notes)
    assert put_document(result) == {"QueueConfigurations": [ours(EVERY_TYPE)], "EventBridgeConfiguration": {}}


def test_tags_add_their_event_type():
    result = plan(target(needs=ALWAYS + WITH_TAGS), current({"QueueConfigurations": [ours(EVERY_TYPE)]}))
    assert put_document(result) == {"QueueConfigurations": [ours(EVERY_TYPE + ["s3:ObjectTagging:*"])]}


@pytest.mark.parametrize("details, eventbridge, object_actions, statements", [
    pytest.param((), False, ["s3:GetObject"], 3, id="plain"),
    pytest.param(("head", "tags"), True,
                 ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"], 4,
                 id="everything"),
])
def test_connector_policy(details, eventbridge, object_actions, statements):
    policy = connector_policy(target(eventbridge=eventbridge), QUEUE_ARN, details)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert len(by_sid) == statements
    # ListBucketVersions always: a versioned bucket's deletes are read from its delete markers.
    assert by_sid["ListAndInspect"]["Action"] == ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning",
                                                  "s3:ListBucketVersions", "s3:GetIntelligentTieringConfiguration",
                                                  "s3:GetBucketNotification"]
    assert by_sid["DescribeObjects"]["Action"] == object_actions
    assert by_sid["EventQueue"] == {"Sid": "EventQueue", "Effect": "Allow", "Resource": QUEUE_ARN, "Action": [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]}
    if eventbridge:
        assert by_sid["CheckEventRules"]["Resource"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/*"


def test_names_fit_aws_limits():
    name = default_queue_name(["a." * 31 + "b"])
    assert name.startswith("fivetran-s3-metadata-a-a-") and "." not in name and len(name) == 76
    long = Target((BUCKET,), ("",), ALWAYS, "q" * 80, REGION, ACCOUNT)
    assert len(long.dlq_name) == 80 and long.dlq_name.endswith("-dlq") and len(long.rule_name) == 64


@pytest.mark.parametrize("prefix, taken, expected", [
    pytest.param("", set(), "fivetran-s3-metadata", id="whole-bucket"),
    pytest.param("logs/2024/", set(), "fivetran-s3-metadata:logs/2024/", id="plain-prefix"),
    pytest.param("", {"fivetran-s3-metadata"}, "fivetran-s3-metadata (2)", id="taken"),
])
def test_notification_id(prefix, taken, expected):
    assert notification_id(prefix, taken) == expected


def test_notification_id_of_an_unusual_prefix_is_a_digest():
    made = notification_id("日本 語/", set())
    assert made.startswith("fivetran-s3-metadata:") and len(made) == len("fivetran-s3-metadata:") + 16
    assert made.isascii()
