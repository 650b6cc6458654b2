"""Keys that are not valid Unicode text (issue 16, item 7).

JSON can spell a lone surrogate (`"\\ud800"`), and an event message carrying one used to raise UnicodeEncodeError
while its key was quoted for the HEAD: the sync died before deleting any message, and the message came back to
kill the next sync. Such a message is now unreadable (counted, left on the queue for its redrive policy), and a
HEAD of such a key, on either path, is a per-object failure that sends nothing. A listing cannot carry one: both
listing readers either refuse such a body (raw XML cannot hold a surrogate) or decode a url-encoded key that is not
UTF-8 as botocore does, with U+FFFD (see tests/differential/test_listing_differential.py).
"""
from __future__ import annotations

import re

import pytest

from s3_metadata import event_mode
from s3_metadata.aws import KEY_NOT_TEXT, AwsCallError, S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.events import parse_message
from s3_metadata.listing_xml import parse_objects_page
from tests.integration.test_event_mode import BUCKET, EventQueue, event_summary, table_equals_s3
from tests.unit.test_events import eventbridge_event, s3_notification, s3_record, sns_envelope
from tests.unit.test_listing_xml import Refused, contents, expected_objects, listing

SURROGATE = "bad/\ud800.csv"


@pytest.mark.parametrize("body", [
    pytest.param(s3_notification(s3_record(SURROGATE)), id="notification"),
    pytest.param(s3_notification(s3_record("bad/%ED%A0%80.csv")), id="notification-encoded-surrogate"),
    pytest.param(sns_envelope(s3_notification(s3_record(SURROGATE))), id="through-sns"),
    pytest.param(eventbridge_event(SURROGATE), id="eventbridge"),
    pytest.param(s3_notification(s3_record("good.csv"), s3_record("a\udfffb")), id="one-bad-record-of-two"),
])
def test_a_key_that_is_not_text_makes_the_message_unreadable(body):
    assert "\\ud" in body or "%ED%A0%80" in body  # JSON spells the surrogate, as a message on the wire would
    parsed = parse_message(body)
    assert parsed.events == ()
    assert parsed.error is not None
    assert "not valid Unicode text" in parsed.error or "does not decode to UTF-8" in parsed.error


def test_a_text_key_with_the_same_characters_escaped_is_read():
    parsed = parse_message(s3_notification(s3_record("ok/%5Cud800.csv")))
    assert parsed.error is None and parsed.events[0].key == "ok/\\ud800.csv"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)


def test_an_event_sync_survives_a_key_that_is_not_text(harness, base_config, capfd):
    harness.s3.create_bucket(BUCKET)
    harness.s3.put(BUCKET, "k/old.csv", b"old")
    queue = EventQueue()
    config = base_config(sqs_queue_url=queue.url)
    assert harness.sync(config).ok  # the first sync lists
    harness.s3.put(BUCKET, "k/new.csv", b"new")
    queue.send(s3_notification(s3_record(SURROGATE, bucket=BUCKET)), eventbridge_event(SURROGATE, bucket=BUCKET),
               s3_notification(s3_record("k/new.csv", bucket=BUCKET)))
    harness.faults.clear()
    capfd.readouterr()
    result = harness.sync(config)
    assert result.ok, result.error
    output = capfd.readouterr().out
    counts = event_summary(output)
    assert (counts["unparseable"], counts["events applied"], counts["LIST"]) == (2, 1, 1)
    assert re.search(r"2 queue messages could not be read.*not valid Unicode text", output)
    assert table_equals_s3(harness) and (BUCKET, "k/new.csv") in harness.rows()
    assert queue.depth() == 2  # the two unreadable ones, for the queue's redrive policy
    again = harness.sync(config)  # they come back, and are counted again
    assert again.ok, again.error


@pytest.mark.parametrize("direct", [True, False], ids=["direct-head", "botocore-head"])
def test_a_head_of_a_key_that_is_not_text_fails_that_object_only(moto_s3, faults, direct):
    moto_s3.create_bucket(BUCKET)
    moto_s3.put(BUCKET, "fine", b"x")
    gateway = S3Gateway(parse_configuration({"bucket": BUCKET, "aws_access_key_id": "AKIATESTEXAMPLE00001",
                                             "aws_secret_access_key": "testing"}))
    assert gateway.head_object(BUCKET, "fine").size == 1
    if not direct:
        gateway._direct_heads._object_urls[BUCKET] = None
    before = faults.requests["HeadObject"]
    with pytest.raises(AwsCallError) as raised:
        gateway.head_object(BUCKET, SURROGATE)
    assert (raised.value.operation, raised.value.code, raised.value.status) == ("HeadObject", KEY_NOT_TEXT, None)
    assert faults.requests["HeadObject"] == before  # nothing was sent
    assert gateway.head_object(BUCKET, "fine").size == 1



@pytest.mark.parametrize("wire, key", [
    pytest.param("bad%FF", "bad\ufffd", id="byte-that-is-not-utf8"),
    pytest.param("bad%ED%A0%80", "bad\ufffd\ufffd\ufffd", id="encoded-surrogate"),
    pytest.param("bad%C3", "bad\ufffd", id="truncated-sequence"),
])
def test_a_listed_key_that_is_not_utf8_reads_as_botocore_reads_it(wire, key):
    """A store that lists a key of bytes that are not UTF-8 (url-encoded) gives botocore U+FFFD for them, and our
    reader the same: the row says that key, and its HEAD asks for it (valid text, so no failure of its own)."""
    body = listing(contents(wire, encoded=False))
    (ours,) = parse_objects_page(body, False).objects
    (theirs,) = expected_objects(body, False).objects
    assert ours.key == theirs.key == key


@pytest.mark.parametrize("raw", [b"bad&#xD800;", b"bad\xed\xa0\x80"], ids=["character-reference", "utf8-bytes"])
def test_a_surrogate_in_a_listing_body_is_refused_by_both_readers(raw):
    body = listing(contents("PLACEHOLDER", encoded=False)).replace(b"PLACEHOLDER", raw)
    assert parse_objects_page(body, False) is None
    with pytest.raises(Refused):
        expected_objects(body, False)
