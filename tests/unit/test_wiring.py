"""Unit tests for s3_metadata.wiring: what event mode needs a bucket to send, S3's overlap rule, queue policies,
EventBridge patterns, and the setup check's verdict on a bucket's whole wiring.

The overlap cases are the examples of AWS's "Configuring event notifications using object key name filtering"
(valid and invalid configurations), so the rule here is S3's own.
"""
from __future__ import annotations

import json

import pytest

from s3_metadata.events import NO_EFFECT, OTHER, parse_message, s3_event_kind
from s3_metadata.wiring import (
    ALWAYS, WITH_HEAD, WITH_TAGS, NameFilter, Rule, bucket_wiring, decode_filter_value, destinations, detail_types,
    encode_filter_value, event_type_covers, event_types, event_types_overlap, filter_rules, literal_suffix,
    merged_event_types, needs, pattern_gaps, policy_allows, reaching_queue, rule_pattern,
)
from tests.unit.test_events import eventbridge_event

BUCKET = "photos"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:events"
OTHER_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:other"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:audit"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:thumbs"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/events"
EVERY_TYPE = list(event_types(ALWAYS))
S3_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": QUEUE_ARN,
    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"}}}]})
EVENTBRIDGE_POLICY = json.dumps({"Statement": [{
    "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
    "Resource": QUEUE_ARN, "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARN}}}]})


def entry(arn: str, events: list[str], prefix: str = "", suffix: str = "", id_: str = "") -> dict:
    """One configuration as GetBucketNotificationConfiguration returns it."""
    field = {"sqs": "QueueArn", "sns": "TopicArn", "lambda": "LambdaFunctionArn"}[arn.split(":")[2]]
    value = {"Id": id_ or f"id-{arn.rsplit(':', 1)[-1]}", field: arn, "Events": events}
    rules = [{"Name": n, "Value": v} for n, v in (("Prefix", prefix), ("Suffix", suffix)) if v]
    if rules:
        value["Filter"] = {"Key": {"FilterRules": rules}}
    return value


def document(*entries: dict, eventbridge: bool = False) -> dict:
    kinds = {"QueueArn": "QueueConfigurations", "TopicArn": "TopicConfigurations",
             "LambdaFunctionArn": "LambdaFunctionConfigurations"}
    result: dict = {}
    for e in entries:
        kind = next(kinds[k] for k in kinds if k in e)
        result.setdefault(kind, []).append(e)
    if eventbridge:
        result["EventBridgeConfiguration"] = {}
    return result


@pytest.mark.parametrize("details, expected", [
    pytest.param((), event_types(ALWAYS), id="none"),
    pytest.param(("tags",), event_types(ALWAYS) + ("s3:ObjectTagging:*",), id="tags"),
    pytest.param(("head",), event_types(ALWAYS) + ("s3:Replication:*",), id="head"),
    pytest.param(("head", "tags"), event_types(ALWAYS) + ("s3:ObjectTagging:*", "s3:Replication:*"), id="both"),
])
def test_needs_follow_object_details(details, expected):
    assert event_types(needs(details)) == expected
    assert "s3:LifecycleExpiration:*" in expected  # lifecycle deletes are not s3:ObjectRemoved events


def test_every_need_is_an_event_the_connector_acts_on():
    """The event types asked for are ones events.py reads as a change, and every change it reads is asked for."""
    asked = ALWAYS + WITH_TAGS + WITH_HEAD
    kinds = {s3_event_kind(need.event_type.replace("*", "Anything")) for need in asked}
    assert OTHER not in kinds and NO_EFFECT not in kinds
    for name in ("ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated", "ObjectRestore:Completed",
                 "LifecycleTransition", "LifecycleExpiration:Delete", "IntelligentTiering", "ObjectTagging:Put",
                 "Replication:OperationFailedReplication"):
        assert any(event_type_covers(t, f"s3:{name}") for t in event_types(asked)), name
    for detail_type in detail_types(asked):
        kind = parse_message(eventbridge_event("k", detail_type=detail_type)).events[0].kind
        assert kind not in (OTHER, NO_EFFECT), detail_type


@pytest.mark.parametrize("configured, wanted, covers", [
    pytest.param("s3:ObjectCreated:*", "s3:ObjectCreated:*", True, id="same-wildcard"),
    pytest.param("s3:ObjectCreated:*", "s3:ObjectCreated:Put", True, id="wildcard-covers-subtype"),
    pytest.param("s3:ObjectCreated:Put", "s3:ObjectCreated:*", False, id="subtype-does-not-cover-wildcard"),
    pytest.param("s3:ObjectCreated:*", "s3:ObjectRemoved:*", False, id="other-family"),
    pytest.param("s3:LifecycleTransition", "s3:LifecycleTransition", True, id="plain-type"),
    pytest.param("s3:ObjectRemoved:*", "s3:LifecycleExpiration:Delete", False, id="lifecycle-is-not-removed"),
    pytest.param("s3:ObjectRestore:*", "s3:ObjectRestore:Delete", True, id="restore-expiry"),
])
def test_event_type_covers(configured, wanted, covers):
    assert event_type_covers(configured, wanted) is covers
    assert event_types_overlap(configured, wanted) is (covers or event_type_covers(wanted, configured))


@pytest.mark.parametrize("a, b, overlap", [
    # AWS's valid examples
    pytest.param(NameFilter("images/"), NameFilter("logs/"), False, id="aws-valid-distinct-prefixes"),
    pytest.param(NameFilter(suffix=".jpg"), NameFilter(suffix=".png"), False, id="aws-valid-distinct-suffixes"),
    pytest.param(NameFilter("images", ".jpg"), NameFilter("images", ".png"), False,
                 id="aws-valid-same-prefix-distinct-suffixes"),
    # AWS's invalid examples
    pytest.param(NameFilter(), NameFilter("images"), True, id="aws-invalid-root-prefix"),
    pytest.param(NameFilter(suffix="jpg"), NameFilter(suffix="pg"), True, id="aws-invalid-suffixes"),
    pytest.param(NameFilter("images", "jpg"), NameFilter(suffix="jpg"), True, id="aws-invalid-prefix-and-suffix"),
    # and the reasoning behind them
    pytest.param(NameFilter("logs/"), NameFilter("logs/2024/"), True, id="nested-prefixes"),
    pytest.param(NameFilter("logs/", ".gz"), NameFilter("logs/2024/", ".json"), False, id="nested-but-suffixes-differ"),
    pytest.param(NameFilter("a/", ".gz"), NameFilter(suffix="x.gz"), True, id="a-key-matches-both"),
])
def test_filters_overlap_as_s3_decides(a, b, overlap):
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


@pytest.mark.parametrize("name_filter, prefix, patterns, covers", [
    pytest.param(NameFilter(), "", (), True, id="no-filter-covers-all"),
    pytest.param(NameFilter("logs/"), "logs/2024/", (), True, id="broader-prefix"),
    pytest.param(NameFilter("logs/2024/"), "logs/", (), False, id="narrower-prefix"),
    pytest.param(NameFilter("logs/", ".gz"), "logs/", (), False, id="suffix-misses-other-keys"),
    pytest.param(NameFilter("logs/", ".gz"), "logs/", ("logs/**/*.gz",), True, id="suffix-and-patterns-agree"),
    pytest.param(NameFilter("logs/", ".gz"), "logs/", ("logs/**/*.gz", "logs/*.json"), False,
                 id="one-pattern-selects-other-keys"),
    pytest.param(NameFilter(suffix=".gz"), "", ("**/x*",), False, id="pattern-ends-in-wildcard"),
])
def test_filter_covers_a_prefix(name_filter, prefix, patterns, covers):
    assert name_filter.covers(prefix, patterns) is covers


@pytest.mark.parametrize("pattern, suffix", [
    pytest.param("logs/**/*.gz", ".gz", id="extension"),
    pytest.param("data/file.csv", "data/file.csv", id="no-wildcard"),
    pytest.param("a/*", "", id="ends-in-star"),
    pytest.param("a/?b", "b", id="question-mark"),
])
def test_literal_suffix(pattern, suffix):
    assert literal_suffix(pattern) == suffix


@pytest.mark.parametrize("raw, encoded", [
    pytest.param("logs/2024/", "logs/2024/", id="plain"),
    pytest.param("my photos/", "my+photos/", id="space-as-plus"),
    pytest.param("c++/", "c%2B%2B/", id="plus-encoded"),
    pytest.param("日本/", "%E6%97%A5%E6%9C%AC/", id="unicode"),
    pytest.param("a(1)!*'/", "a(1)!*'/", id="s3-safe-characters"),
])
def test_filter_values_are_encoded_as_s3_wants_them(raw, encoded):
    assert encode_filter_value(raw) == encoded
    assert decode_filter_value(encoded) == raw


def test_destinations_read_every_kind_with_decoded_filters():
    found = destinations(document(entry(QUEUE_ARN, ["s3:ObjectCreated:*"], prefix="my+photos/"),
                                  entry(TOPIC_ARN, ["s3:ObjectRemoved:*"], suffix=".jpg", id_="audit"),
                                  entry(LAMBDA_ARN, ["s3:ObjectCreated:Put"])))
    assert [(d.kind, d.arn, d.filter) for d in found] == [
        ("QueueConfigurations", QUEUE_ARN, NameFilter("my photos/")),
        ("TopicConfigurations", TOPIC_ARN, NameFilter(suffix=".jpg")),
        ("LambdaFunctionConfigurations", LAMBDA_ARN, NameFilter()),
    ]
    assert found[1].describe() == f"the SNS topic configuration 'audit' ({TOPIC_ARN})"
    assert filter_rules(NameFilter("my photos/")) == {"Key": {"FilterRules": [{"Name": "prefix",
                                                                               "Value": "my+photos/"}]}}
    assert filter_rules(NameFilter()) is None


def test_merged_event_types_drop_what_a_wildcard_covers():
    assert merged_event_types(["s3:ObjectCreated:Put", "s3:ObjectAcl:Put"], ["s3:ObjectCreated:*"]) == (
        "s3:ObjectAcl:Put", "s3:ObjectCreated:*")


@pytest.mark.parametrize("entries, prefix, reaching", [
    pytest.param([entry(QUEUE_ARN, EVERY_TYPE)], "", EVERY_TYPE, id="all"),
    pytest.param([entry(QUEUE_ARN, EVERY_TYPE, prefix="logs/")], "", [], id="narrower-prefix-reaches-nothing"),
    pytest.param([entry(QUEUE_ARN, EVERY_TYPE, prefix="logs/")], "logs/x/", EVERY_TYPE, id="broader-prefix"),
    pytest.param([entry(OTHER_QUEUE_ARN, EVERY_TYPE)], "", [], id="another-queue"),
    pytest.param([entry(QUEUE_ARN, ["s3:ObjectCreated:Put"]), entry(QUEUE_ARN, ["s3:ObjectRemoved:*"], id_="b")], "",
                 ["s3:ObjectRemoved:*"], id="split-over-entries-and-subtype-is-not-enough"),
])
def test_reaching_queue(entries, prefix, reaching):
    assert list(reaching_queue(document(*entries), QUEUE_ARN, prefix, EVERY_TYPE)) == reaching


def statement(**fields) -> str:
    base = {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": QUEUE_ARN}
    base.update(fields)
    return json.dumps({"Statement": [{k: v for k, v in base.items() if v is not None}]})


@pytest.mark.parametrize("policy, allows", [
    pytest.param(None, False, id="no-policy"),
    pytest.param("not json", False, id="unreadable"),
    pytest.param(S3_POLICY, True, id="bucket-arn"),
    pytest.param(statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}), True, id="wildcard-arn"),
    pytest.param(statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::other"}}), False, id="other-bucket"),
    pytest.param(statement(Condition={"ArnEquals": {"aws:SourceArn": ["arn:aws:s3:::x", f"arn:aws:s3:::{BUCKET}"]}}),
                 True, id="one-of-a-list"),
    pytest.param(statement(Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}}), True,
                 id="account-condition-not-judged"),
    pytest.param(statement(), True, id="no-condition"),
    pytest.param(statement(Principal="*"), True, id="any-principal"),
    pytest.param(statement(Principal={"Service": "sns.amazonaws.com"}), False, id="other-service"),
    pytest.param(statement(Action=["sqs:*"]), True, id="action-wildcard"),
    pytest.param(statement(Action="sqs:ReceiveMessage"), False, id="other-action"),
    pytest.param(statement(Resource="arn:aws:sqs:us-east-1:123456789012:*"), True, id="resource-wildcard"),
    pytest.param(statement(Resource=OTHER_QUEUE_ARN), False, id="other-queue"),
    pytest.param(statement(Effect="Deny"), False, id="deny-is-not-allow"),
])
def test_policy_allows(policy, allows):
    assert policy_allows(policy, "s3.amazonaws.com", QUEUE_ARN, f"arn:aws:s3:::{BUCKET}") is allows


ALL_DETAIL_TYPES = list(detail_types(ALWAYS))


def pattern(**fields) -> str:
    base = {"source": ["aws.s3"], "detail-type": ALL_DETAIL_TYPES, "detail": {"bucket": {"name": [BUCKET]}}}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize("text, prefix, gaps", [
    pytest.param(pattern(), "", (), id="everything"),
    pytest.param(json.dumps(rule_pattern([BUCKET], ["logs/"], ALL_DETAIL_TYPES)), "logs/", (), id="ours"),
    pytest.param(json.dumps(rule_pattern([BUCKET], ["logs/"], ALL_DETAIL_TYPES)), "", tuple(ALL_DETAIL_TYPES),
                 id="ours-does-not-cover-the-whole-bucket"),
    pytest.param(pattern(**{"detail-type": ["Object Created"]}), "", tuple(ALL_DETAIL_TYPES[1:]), id="one-type"),
    pytest.param(pattern(**{"detail-type": None}), "", (), id="every-type"),
    pytest.param(pattern(detail={"bucket": {"name": ["other"]}}), "", tuple(ALL_DETAIL_TYPES), id="other-bucket"),
    pytest.param(pattern(detail={}), "", (), id="every-bucket"),
    pytest.param(pattern(source=["aws.ec2"]), "", tuple(ALL_DETAIL_TYPES), id="other-source"),
    pytest.param(pattern(detail={"object": {"key": [{"prefix": "lo"}]}}), "logs/", (), id="broader-key-prefix"),
    pytest.param(pattern(detail={"object": {"key": ["logs/a"]}}), "logs/", tuple(ALL_DETAIL_TYPES),
                 id="one-key-is-not-a-prefix"),
    pytest.param(pattern(detail={"object": {"key": [{"wildcard": "logs/*"}]}}), "logs/", None, id="unread-matcher"),
    pytest.param(pattern(detail={"reason": ["PutObject"]}), "", None, id="unread-field"),
    pytest.param("{", "", None, id="not-json"),
])
def test_pattern_gaps(text, prefix, gaps):
    assert pattern_gaps(text, BUCKET, prefix, ALL_DETAIL_TYPES) == gaps


def test_rule_pattern_matches_both_readings_of_an_encodable_prefix():
    assert rule_pattern(["a", "b"], ["my photos/", "logs/"], ["Object Created"]) == {
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["a", "b"]},
                   "object": {"key": [{"prefix": "my photos/"}, {"prefix": "my+photos/"}, {"prefix": "logs/"}]}}}


WIRED = document(entry(QUEUE_ARN, EVERY_TYPE))
OURS_RULE = Rule("events", RULE_ARN, pattern(), True)


@pytest.mark.parametrize("doc, policy, prefixes, rules, problems, notes", [
    pytest.param(WIRED, S3_POLICY, [""], None, [], [], id="wired-directly"),
    pytest.param(document(entry(QUEUE_ARN, EVERY_TYPE[:2])), S3_POLICY, [""], None,
                 ["does not send s3:ObjectRestore:*, s3:LifecycleTransition, s3:LifecycleExpiration:*, "
                  "s3:IntelligentTiering to the queue for every key"], [], id="some-types-missing"),
    pytest.param(document(entry(QUEUE_ARN, EVERY_TYPE, prefix="logs/")), S3_POLICY, ["logs/", "data/"], None,
                 ["for keys under 'data/'"], [], id="one-prefix-missing"),
    pytest.param(document(entry(OTHER_QUEUE_ARN, EVERY_TYPE)), S3_POLICY, [""], None,
                 ["does not send s3:ObjectCreated:*"], [], id="wired-to-another-queue"),
    pytest.param(WIRED, None, [""], None, ["policy does not allow s3.amazonaws.com"], [], id="no-policy"),
    pytest.param(document(eventbridge=True), EVENTBRIDGE_POLICY, [""], [OURS_RULE], [], [], id="eventbridge"),
    pytest.param(document(eventbridge=True), S3_POLICY, [""], [OURS_RULE],
                 ["policy does not allow events.amazonaws.com to call sqs:SendMessage for the EventBridge rule"], [],
                 id="eventbridge-policy-missing"),
    pytest.param(document(eventbridge=True), EVENTBRIDGE_POLICY, [""], [],
                 ["no enabled EventBridge rule targets the queue"], [], id="eventbridge-without-rule"),
    pytest.param(document(eventbridge=True), EVENTBRIDGE_POLICY, [""], [Rule("events", RULE_ARN, pattern(), False)],
                 ["no enabled EventBridge rule targets the queue"], [], id="eventbridge-rule-disabled"),
    pytest.param(document(eventbridge=True), EVENTBRIDGE_POLICY, [""],
                 [Rule("events", RULE_ARN, pattern(**{"detail-type": ["Object Created"]}), True)],
                 ["does not send s3:ObjectRemoved:*, s3:ObjectRestore:*, s3:LifecycleTransition, "
                  "s3:LifecycleExpiration:*, s3:IntelligentTiering to the queue for every key (nor do the EventBridge "
                  "rules"], [], id="eventbridge-rule-partial"),
    pytest.param(document(eventbridge=True), EVENTBRIDGE_POLICY, [""], None, [],
                 ["were not checked (they need events:ListRuleNamesByTarget and events:DescribeRule)"],
                 id="eventbridge-rules-unreadable"),
    pytest.param(document(entry(TOPIC_ARN, EVERY_TYPE)), None, [""], None, [],
                 [f"to the SNS topic configuration 'id-audit' ({TOPIC_ARN}): that the topic delivers to the queue"],
                 id="through-sns-not-verifiable"),
    pytest.param(document(entry(QUEUE_ARN, EVERY_TYPE[:3]), eventbridge=True), S3_POLICY, [""], [OURS_RULE],
                 ["policy does not allow events.amazonaws.com"], [], id="mixed-paths-need-both-senders"),
])
def test_bucket_wiring(doc, policy, prefixes, rules, problems, notes):
    found = bucket_wiring(BUCKET, doc, QUEUE_ARN, policy, prefixes, ALWAYS, (), rules)
    assert len(found.problems) == len(problems), found
    for problem, expected in zip(found.problems, problems):
        assert expected in problem
    assert all(any(expected in note for note in found.notes) for expected in notes), found
    assert bool(found.notes) is bool(notes), found


def test_replication_through_eventbridge_is_noted_not_failed():
    found = bucket_wiring(BUCKET, document(eventbridge=True), QUEUE_ARN, EVENTBRIDGE_POLICY, [""], needs(["head"]),
                          (), [OURS_RULE])
    assert found.problems == ()
    assert found.notes == (f"bucket '{BUCKET}' sends events to EventBridge, which has no s3:Replication:* events",)
