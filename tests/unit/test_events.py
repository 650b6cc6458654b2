"""Unit tests for s3_metadata.events: message formats, key decoding, sequencer order and the batch reduction.

The message builders follow the shapes in AWS's documentation (S3 "Event message structure" and "EventBridge
event message structure"); the integration tests send the same shapes through a real queue.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from s3_metadata.events import (
    ACCESS_TIER, CREATED, DUPLICATE, EVENTBRIDGE, LOOKUP, NO_EFFECT, OTHER, REMOVED, REPLICATION, RESTORE,
    S3_NOTIFICATION, STALE, STORAGE_CLASS, TAGGING, AppliedEvents, ObjectEvent, encoded_reading, event_timestamp, parse_message, plan_lookups,
    s3_event_kind, sequencer_key, sequencer_newer,
)

BUCKET = "amzn-s3-demo-bucket"
SEQUENCER = "0055AED6DCD90281E5"
EVENT_TIME = "1970-01-01T00:00:00.000Z"


def s3_record(key: str, name: str = "ObjectCreated:Put", bucket: str = BUCKET, sequencer: str | None = SEQUENCER,
              event_time: str = EVENT_TIME) -> dict[str, Any]:
    """One record of an S3 event notification; `key` as S3 writes it (form-encoded)."""
    obj: dict[str, Any] = {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e"}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": event_time,
        "eventName": name, "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "testConfigRule",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }


def s3_notification(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def sns_envelope(message: str) -> str:
    """An SNS notification as SQS receives it without raw message delivery: the S3 message is a JSON string."""
    return json.dumps({"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
                       "TopicArn": "arn:aws:sns:us-east-1:123456789012:s3-events", "Subject": "Amazon S3 Notification",
                       "Message": message, "Timestamp": "2024-05-01T12:00:00.000Z", "SignatureVersion": "1"})


def eventbridge_event(key: str, detail_type: str = "Object Created", bucket: str = BUCKET,
                      sequencer: str | None = "617f08299329d189", event_time: str = "2021-11-12T00:00:00Z",
                      source: str = "aws.s3") -> str:
    """An S3 event as EventBridge delivers it to an SQS target."""
    obj: dict[str, Any] = {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                           "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"}
    if sequencer is not None:
        obj["sequencer"] = sequencer
    return json.dumps({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": detail_type, "source": source,
        "account": "111122223333", "time": event_time, "region": "us-east-1", "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": obj, "request-id": "N4N7GDK58NMKJ12R",
                   "requester": "123456789012", "source-ip-address": "1.2.3.4", "reason": "PutObject"},
    })


TEST_EVENT = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2014-10-13T15:57:02.089Z",
                         "Bucket": BUCKET, "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH"})


def summary(body: str) -> tuple:
    """What a parsed message says, as plain tuples."""
    parsed = parse_message(body)
    events = [(e.bucket, e.key, e.kind, e.sequencer, e.source, e.via_sns, e.alternate_key) for e in parsed.events]
    return events, parsed.is_test, parsed.error is not None


@pytest.mark.parametrize("body, expected", [
    pytest.param(s3_notification(s3_record("HappyFace.jpg")),
                 ([(BUCKET, "HappyFace.jpg", CREATED, SEQUENCER, S3_NOTIFICATION, False, None)], False, False),
                 id="s3-notification-direct"),
    pytest.param(sns_envelope(s3_notification(s3_record("HappyFace.jpg", "ObjectRemoved:Delete"))),
                 ([(BUCKET, "HappyFace.jpg", REMOVED, SEQUENCER, S3_NOTIFICATION, True, None)], False, False),
                 id="s3-notification-in-sns"),
    pytest.param(s3_notification(s3_record("a", sequencer="0A"), s3_record("b", "ObjectRemoved:Delete", sequencer=None),
                                 s3_record("c", "ObjectRestore:Completed", bucket="other")),
                 ([(BUCKET, "a", CREATED, "0A", S3_NOTIFICATION, False, None),
                   (BUCKET, "b", REMOVED, None, S3_NOTIFICATION, False, None),
                   ("other", "c", RESTORE, SEQUENCER, S3_NOTIFICATION, False, None)], False, False),
                 id="several-records-in-one-message"),
    pytest.param(s3_notification(), ([], False, False), id="no-records"),
    pytest.param(s3_notification(s3_record("k", sequencer="00ab")),
                 ([(BUCKET, "k", CREATED, "00AB", S3_NOTIFICATION, False, None)], False, False),
                 id="sequencer-upper-cased"),
    pytest.param(s3_notification(s3_record("k", sequencer="not-hex")),
                 ([(BUCKET, "k", CREATED, None, S3_NOTIFICATION, False, None)], False, False),
                 id="sequencer-not-hex-is-unknown-order"),
    pytest.param(TEST_EVENT, ([], True, False), id="test-event"),
    pytest.param(sns_envelope(TEST_EVENT), ([], True, False), id="test-event-in-sns"),
    pytest.param(eventbridge_event("example-key"),
                 ([(BUCKET, "example-key", CREATED, "617F08299329D189", EVENTBRIDGE, False, None)], False, False),
                 id="eventbridge-direct"),
    pytest.param(sns_envelope(eventbridge_event("example-key", "Object Deleted", sequencer=None)),
                 ([(BUCKET, "example-key", REMOVED, None, EVENTBRIDGE, True, None)], False, False),
                 id="eventbridge-in-sns"),
])
def test_parse_message(body, expected):
    assert summary(body) == expected


@pytest.mark.parametrize("detail_type, kind", [
    pytest.param("Object Created", CREATED, id="created"),
    pytest.param("Object Deleted", REMOVED, id="deleted"),
    pytest.param("Object Restore Initiated", RESTORE, id="restore-initiated"),
    pytest.param("Object Restore Completed", RESTORE, id="restore-completed"),
    pytest.param("Object Restore Expired", RESTORE, id="restore-expired"),
    pytest.param("Object Storage Class Changed", STORAGE_CLASS, id="storage-class-changed"),
    pytest.param("Object Access Tier Changed", ACCESS_TIER, id="access-tier-changed"),
    pytest.param("Object ACL Updated", NO_EFFECT, id="acl-updated"),
    pytest.param("Object Tags Added", TAGGING, id="tags-added"),
    pytest.param("Object Tags Deleted", TAGGING, id="tags-deleted"),
    pytest.param("Object Teleported", OTHER, id="unknown-detail-type-is-looked-up"),
])
def test_eventbridge_detail_types(detail_type, kind):
    parsed = parse_message(eventbridge_event("k", detail_type))
    assert parsed.error is None
    assert [(e.kind, e.name) for e in parsed.events] == [(kind, detail_type)]


@pytest.mark.parametrize("name, kind", [
    pytest.param("ObjectCreated:Put", CREATED, id="put"),
    pytest.param("ObjectCreated:CompleteMultipartUpload", CREATED, id="multipart"),
    pytest.param("s3:ObjectCreated:Copy", CREATED, id="with-s3-prefix"),
    pytest.param("ObjectRemoved:DeleteMarkerCreated", REMOVED, id="delete-marker"),
    pytest.param("LifecycleExpiration:Delete", REMOVED, id="lifecycle-expiration"),
    pytest.param("ObjectRestore:Post", RESTORE, id="restore-post"),
    pytest.param("ObjectRestore:Delete", RESTORE, id="restore-expired"),
    pytest.param("LifecycleTransition", STORAGE_CLASS, id="lifecycle-transition"),
    pytest.param("IntelligentTiering", ACCESS_TIER, id="intelligent-tiering"),
    pytest.param("ObjectTagging:Put", TAGGING, id="tagging"),
    pytest.param("ObjectTagging:Delete", TAGGING, id="tagging-delete"),
    pytest.param("ObjectAcl:Put", NO_EFFECT, id="acl"),
    pytest.param("Replication:OperationFailedReplication", REPLICATION, id="replication"),
    pytest.param("ReducedRedundancyLostObject", OTHER, id="lost-object-is-looked-up"),
    pytest.param("SomethingNew:Happened", OTHER, id="unknown-is-looked-up"),
])
def test_s3_event_kinds(name, kind):
    assert s3_event_kind(name) == kind


@pytest.mark.parametrize("encoded, key", [
    pytest.param("red+flower.jpg", "red flower.jpg", id="plus-is-space"),
    pytest.param("c%2B%2B/notes.txt", "c++/notes.txt", id="encoded-plus"),
    pytest.param("with+space/and%2Bplus.txt", "with space/and+plus.txt", id="space-and-plus"),
    pytest.param("unicode/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt", "unicode/日本語.txt", id="percent-encoded-utf8"),
    pytest.param("emoji/%F0%9F%99%82.bin", "emoji/🙂.bin", id="four-byte-utf8"),
    pytest.param("dt%3D2024-05-01/part-0.parquet", "dt=2024-05-01/part-0.parquet", id="hive-partition"),
    pytest.param("percent%2520encoded.txt", "percent%20encoded.txt", id="decoded-exactly-once"),
    pytest.param("%2Bleading", "+leading", id="leading-plus"),
    pytest.param("test%2Ffile", "test/file", id="encoded-slash"),
])
def test_s3_notification_keys_are_decoded_once(encoded, key):
    parsed = parse_message(s3_notification(s3_record(encoded)))
    assert [e.key for e in parsed.events] == [key]


@pytest.mark.parametrize("raw, alternate", [
    pytest.param("example-key", None, id="plain"),
    pytest.param("logs/2024/app.log", None, id="slashes"),
    pytest.param("dt=2024-05-01/x", None, id="equals-is-not-a-decoding"),
    pytest.param("with space+plus.txt", None, id="raw-space-cannot-be-encoded"),
    pytest.param("unicode/日本語+x.txt", None, id="raw-unicode-cannot-be-encoded"),
    pytest.param("100%.txt", None, id="bare-percent-cannot-be-encoded"),
    pytest.param("a+b.txt", "a b.txt", id="plus-could-be-a-space"),
    pytest.param("c%2B%2B.txt", "c++.txt", id="percent-sequence"),
    pytest.param("unicode/%E6%97%A5.txt", "unicode/日.txt", id="percent-encoded-utf8"),
    pytest.param("%FF.bin", None, id="not-utf8-when-decoded"),
])
def test_eventbridge_keys_are_taken_as_sent_with_a_decoded_alternate(raw, alternate):
    parsed = parse_message(eventbridge_event(raw))
    assert [(e.key, e.alternate_key) for e in parsed.events] == [(raw, alternate)]
    assert encoded_reading(raw) == alternate


@pytest.mark.parametrize("body, reason", [
    pytest.param("", "not JSON", id="empty"),
    pytest.param("{not json", "not JSON", id="malformed-json"),
    pytest.param('["Records"]', "not a JSON object", id="json-array"),
    pytest.param('"a string"', "not a JSON object", id="json-string"),
    pytest.param('{"hello": "world"}', "neither", id="unknown-shape"),
    pytest.param('{"Records": {"s3": {}}}', "not a list", id="records-not-a-list"),
    pytest.param(s3_notification({"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}}}),
                 "'s3.object.key' is missing", id="record-without-key"),
    pytest.param(s3_notification({"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "k"}}}),
                 "'s3.bucket.name' is missing", id="record-without-bucket"),
    pytest.param(s3_notification({"s3": {"bucket": {"name": BUCKET}, "object": {"key": "k"}}}),
                 "'eventName' is missing", id="record-without-event-name"),
    pytest.param(s3_notification(s3_record("%FF%FE")), "does not decode to UTF-8", id="key-not-utf8"),
    pytest.param(s3_notification(s3_record("k"), "not a record"), "missing", id="one-bad-record-spoils-the-message"),
    pytest.param(json.dumps({"Type": "Notification", "Message": "{oops"}), "SNS Message is not JSON",
                 id="sns-message-not-json"),
    pytest.param(json.dumps({"Type": "Notification", "Message": {"Records": []}}), "SNS Message is not text",
                 id="sns-message-not-a-string"),
    pytest.param(sns_envelope(sns_envelope(TEST_EVENT)), "neither", id="sns-in-sns"),
    pytest.param(eventbridge_event("k", source="aws.ec2"), "not from aws.s3", id="eventbridge-other-source"),
    pytest.param(json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {"name": "b"}}}),
                 "'detail.object.key' is missing", id="eventbridge-without-key"),
    pytest.param(json.dumps({"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns.example"}), "neither",
                 id="sns-subscription-confirmation"),
])
def test_unreadable_messages_say_why(body, reason):
    parsed = parse_message(body)
    assert parsed.events == () and not parsed.is_test
    assert parsed.error is not None and reason in parsed.error


@pytest.mark.parametrize("value, expected", [
    pytest.param("1970-01-01T00:00:00.000Z", datetime(1970, 1, 1, tzinfo=timezone.utc), id="s3-notification"),
    pytest.param("2021-11-12T00:00:00Z", datetime(2021, 11, 12, tzinfo=timezone.utc), id="eventbridge"),
    pytest.param("2021-11-12T02:00:00+02:00", datetime(2021, 11, 12, tzinfo=timezone.utc), id="offset"),
    pytest.param(1636675200.5, datetime(2021, 11, 12, 0, 0, 0, 500000, tzinfo=timezone.utc), id="epoch-seconds"),
    pytest.param("yesterday", None, id="words"),
    pytest.param(None, None, id="missing"),
    pytest.param(True, None, id="boolean"),
])
def test_event_timestamp(value, expected):
    assert event_timestamp(value) == expected


@pytest.mark.parametrize("a, b, a_newer, b_newer", [
    pytest.param("0055AED6DCD90281E5", "0055AED6DCD90281E4", True, False, id="same-length"),
    pytest.param("0055AED6DCD90281E5", "0055AED6DCD90281E5", False, False, id="equal"),
    pytest.param("617F08299329D189", "617F08299329D1890000", False, False, id="trailing-zeros-are-padding"),
    pytest.param("617F0829932A", "617F08299329D189", True, False, id="shorter-but-later"),
    pytest.param("617F08299329", "617F08299329D189", False, True, id="shorter-and-earlier"),
    # Right-padding, as AWS says, not numeric order: "1" is "10" against "0F", so it is later.
    pytest.param("1", "0F", True, False, id="right-pad-not-numeric"),
    pytest.param("2", "10", True, False, id="two-pads-to-twenty"),
    pytest.param("00ab", "00AA", True, False, id="case-insensitive"),
])
def test_sequencer_order(a, b, a_newer, b_newer):
    assert sequencer_newer(a, b) is a_newer
    assert sequencer_newer(b, a) is b_newer


def test_sequencer_key_sorts_like_padded_strings():
    sequencers = ["617F08299329D189", "617F0829932A", "0055AED6DCD90281E5", "617F08299329", "617F08299329D18900"]
    width = max(len(s) for s in sequencers)
    assert sorted(sequencers, key=sequencer_key) == sorted(sequencers, key=lambda s: s.ljust(width, "0"))


def event(key: str, sequencer: str | None = None, bucket: str = BUCKET, kind: str = CREATED,
          alternate: str | None = None, at: int = 0) -> ObjectEvent:
    return ObjectEvent(bucket, key, kind, "ObjectCreated:Put", sequencer,
                       datetime(2024, 5, 1, 12, 0, at, tzinfo=timezone.utc), S3_NOTIFICATION, alternate_key=alternate)


def applied(*events: ObjectEvent) -> AppliedEvents:
    history = AppliedEvents()
    for e in events:
        history.record(e)
    return history


@pytest.mark.parametrize("events, history, lookups, decisions", [
    pytest.param([event("a"), event("b"), event("c")], applied(), [(BUCKET, "a"), (BUCKET, "b"), (BUCKET, "c")],
                 [LOOKUP, LOOKUP, LOOKUP], id="distinct-keys"),
    pytest.param([event("a", "05"), event("a", "03"), event("a", "05"), event("a", None, at=9)], applied(),
                 [(BUCKET, "a")], [LOOKUP, DUPLICATE, DUPLICATE, DUPLICATE],
                 id="one-head-per-key-whatever-the-order"),
    pytest.param([event("a"), event("a", bucket="other")], applied(), [(BUCKET, "a"), ("other", "a")],
                 [LOOKUP, LOOKUP], id="same-key-other-bucket"),
    pytest.param([event("a", "03"), event("a", "05"), event("a", "07")], applied(event("a", "05")),
                 [(BUCKET, "a")], [STALE, STALE, LOOKUP], id="older-or-equal-than-applied-is-stale"),
    pytest.param([event("a", "617F08299329D189")], applied(event("a", "617F08299329D1890000")), [], [STALE],
                 id="stale-across-lengths"),
    pytest.param([event("a", "617F0829932A")], applied(event("a", "617F08299329D189")), [(BUCKET, "a")], [LOOKUP],
                 id="newer-across-lengths"),
    pytest.param([event("a", None, at=1)], applied(event("a", "09", at=0)), [(BUCKET, "a")], [LOOKUP],
                 id="no-sequencer-is-looked-up-again"),
    pytest.param([event("a", None, at=1)], applied(event("a", None, at=1)), [], [STALE],
                 id="exact-repeat-without-sequencer-is-stale"),
    pytest.param([event("b", "01")], applied(event("a", "09")), [(BUCKET, "b")], [LOOKUP],
                 id="sequencers-are-per-key"),
    pytest.param([event("a+b", alternate="a b")], applied(), [(BUCKET, "a+b"), (BUCKET, "a b")], [LOOKUP],
                 id="both-readings-of-an-ambiguous-key"),
    pytest.param([event("a b"), event("a+b", alternate="a b")], applied(), [(BUCKET, "a b"), (BUCKET, "a+b")],
                 [LOOKUP, LOOKUP], id="ambiguous-key-adds-its-missing-reading"),
    pytest.param([event("a+b", "03", alternate="a b")], applied(event("a+b", "05")), [(BUCKET, "a+b"), (BUCKET, "a b")],
                 [LOOKUP], id="ambiguous-key-stale-only-when-both-readings-are"),
])
def test_plan_lookups(events, history, lookups, decisions):
    plan = plan_lookups(events, history)
    assert list(plan.lookups) == lookups
    assert list(plan.decisions) == decisions


def test_applied_keeps_the_newest_sequencer():
    history = applied(event("a", "0A"), event("a", "03"), event("a", "0A00"))
    assert history.sequencers == {(BUCKET, "a"): "0A"}
    assert history.covers(event("a", "09")) and not history.covers(event("a", "0B"))
