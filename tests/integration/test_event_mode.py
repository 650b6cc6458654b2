"""Event mode through the SDK runner: after a first full listing, syncs drain the SQS queue S3 notifies, listing
again only the key ranges its events touched.

moto sends real S3 event notifications to the queue in process (keys form-encoded as S3 does, no sequencer);
messages moto cannot produce (sequencers, duplicates, EventBridge events, poison) are sent with
`send_message` in the shapes AWS documents. After every sync the table must equal S3.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import quote_plus

import boto3
import pytest

from s3_metadata import event_mode
from s3_metadata.aws import S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.event_mode import EventSummary, closing_warnings
from s3_metadata.state import SyncState
from s3_metadata.sync import Sync
from tests.integration.test_full_and_incremental import COMPARED
from tests.support.faults import SimulatedCrash
from tests.support.harness import project_rows
from tests.unit.test_events import eventbridge_event, s3_notification, s3_record, sns_envelope

BUCKET = "test-bucket"
NOTIFIED_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectRestore:*"]
OLD = timedelta(days=30)
SPECIAL_KEYS = ["with space/and+plus.txt", "c++/notes.txt", "unicode/日本語.txt", "percent%20literal.txt",
                "dt=2024-05-01/part-0.parquet"]


class EventQueue:
    """The SQS queue a bucket notifies, seen from the test's side."""

    def __init__(self) -> None:
        self.client = boto3.client("sqs", region_name="us-east-1")
        self.url = self.client.create_queue(QueueName="s3-events")["QueueUrl"]
        self.arn = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.client.send_message(QueueUrl=self.url, MessageBody=body)

    def depth(self) -> int:
        """Messages still in the queue, visible or in flight."""
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(v) for v in attributes["Attributes"].values())


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto really waits for a long poll: an empty queue answers after 1 s instead of 20 s."""
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)


@pytest.fixture
def queue(harness) -> EventQueue:
    """A bucket of old objects whose object events go to a fresh queue (which starts with S3's test event)."""
    harness.s3.create_bucket(BUCKET)
    for i in range(20):
        harness.s3.put(BUCKET, f"k/{i:03d}.csv", b"x" * i)
    harness.s3.put(BUCKET, "cold/a.tar", b"cold", storage_class="GLACIER")
    harness.s3.put(BUCKET, "cold/b.tar", b"cold", storage_class="GLACIER")
    harness.s3.age_all(BUCKET, OLD)
    events = EventQueue()
    harness.s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": events.arn, "Events": NOTIFIED_EVENTS}]})
    return events


@pytest.fixture
def listed(harness, base_config, queue):
    """The event-mode configuration, after its first sync (a full listing) has run."""
    config = base_config(sqs_queue_url=queue.url)
    first = harness.sync(config)
    assert first.ok, first.error
    harness.faults.clear()
    return config


def table_equals_s3(harness) -> bool:
    return project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


def content(harness) -> dict:
    """Every row with every column except Fivetran's own bookkeeping (such as when it was last written)."""
    return {pk: {c: v for c, v in row.items() if not c.startswith("_fivetran")} for pk, row in harness.rows().items()}


def event_summary(output: str) -> dict[str, int]:
    """The counts of the last 'event sync summary' line, by the words that follow each number."""
    line = [text for text in output.splitlines() if "event sync summary" in text][-1]
    counts = {}
    for label in ("messages received", "object events", "test events", "unparseable", "events applied",
                  "duplicate or stale events dropped", "events ignored", "key ranges listed again", "rows upserted",
                  "rows deleted", "LIST", "HEAD", "receive", "delete-batch", "messages deleted"):
        counts[label] = int(re.search(rf"(\d+) {re.escape(label)}", line).group(1))
    return counts


def test_first_sync_lists_and_leaves_the_queue_alone(harness, base_config, queue):
    depth = queue.depth()
    result = harness.sync(base_config(sqs_queue_url=queue.url))
    assert result.ok, result.error
    assert table_equals_s3(harness)
    assert harness.faults.requests["ListObjectsV2"] >= 1
    assert harness.faults.requests["ReceiveMessage"] == 0
    assert queue.depth() == depth > 0


def test_changes_through_the_queue_reach_the_table(harness, listed, queue, capfd):
    s3 = harness.s3
    s3.put(BUCKET, "k/new.csv", b"new")
    s3.put(BUCKET, "k/001.csv", b"overwritten with more bytes")
    s3.delete(BUCKET, "k/002.csv")
    for key in SPECIAL_KEYS:
        s3.put(BUCKET, key, key.encode())
    s3.client.restore_object(Bucket=BUCKET, Key="cold/a.tar", RestoreRequest={"Days": 7})
    capfd.readouterr()

    result = harness.sync(listed)
    assert result.ok, result.error
    assert table_equals_s3(harness)
    rows = harness.rows()
    assert (BUCKET, "k/002.csv") not in rows
    assert rows[(BUCKET, "k/001.csv")]["size"] == len(b"overwritten with more bytes")
    assert rows[(BUCKET, "cold/a.tar")]["restore_status"] == "restored"
    assert {(BUCKET, key) for key in SPECIAL_KEYS} <= set(rows)
    # One bucket of 27 objects is one key range: one listing of it answers every event.
    assert harness.faults.requests["ListObjectsV2"] <= 2
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["restores"].keys() == {"cold/a.tar"}
    assert queue.depth() == 0
    counts = event_summary(capfd.readouterr().out)
    # The test event, and one notification per change: 3 + the special keys + the restore.
    assert counts["messages received"] == 1 + 3 + len(SPECIAL_KEYS) + 1
    assert counts["test events"] == 1
    assert counts["rows deleted"] == 1 and counts["rows upserted"] == 2 + len(SPECIAL_KEYS) + 1

    s3.delete(BUCKET, "cold/a.tar")
    assert harness.sync(listed).ok
    assert table_equals_s3(harness)
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["restores"] == {}


def test_duplicated_and_reordered_messages_change_nothing(harness, listed, queue):
    s3 = harness.s3
    s3.put(BUCKET, "k/dup.csv", b"v1")
    s3.put(BUCKET, "k/dup.csv", b"v2, later")
    s3.delete(BUCKET, "k/003.csv")
    assert harness.sync(listed).ok
    assert table_equals_s3(harness)
    before = content(harness)

    # The same events again, late, duplicated and out of order, direct and through SNS.
    stale = [s3_notification(s3_record("k/003.csv", bucket=BUCKET, sequencer="0A")),
             s3_notification(s3_record("k/dup.csv", "ObjectRemoved:Delete", bucket=BUCKET, sequencer="0B")),
             sns_envelope(s3_notification(s3_record("k/003.csv", bucket=BUCKET, sequencer="0A"))),
             s3_notification(s3_record("k/dup.csv", bucket=BUCKET, sequencer="09"))]
    queue.send(*stale, *reversed(stale))
    harness.faults.clear()
    result = harness.sync(listed)
    assert result.ok, result.error
    assert content(harness) == before
    assert table_equals_s3(harness)
    assert result.upserts == result.deletes == 0
    assert queue.depth() == 0


def test_stale_event_in_a_later_round_costs_no_listing(harness, listed, queue, monkeypatch, capfd):
    monkeypatch.setattr(event_mode, "ROUND_MESSAGES", 1)
    assert harness.sync(listed).ok
    harness.s3.put(BUCKET, "k/seq.csv", b"now")
    harness.sync(listed)
    harness.faults.clear()
    queue.send(s3_notification(s3_record("k/seq.csv", bucket=BUCKET, sequencer="617F0829932A")),
               s3_notification(s3_record("k/seq.csv", bucket=BUCKET, sequencer="617F08299329D189")),
               s3_notification(s3_record("k/seq.csv", bucket=BUCKET, sequencer="617F0829932A0000")))
    capfd.readouterr()
    assert harness.sync(listed).ok
    counts = event_summary(capfd.readouterr().out)
    assert harness.faults.requests["ListObjectsV2"] == 1
    assert (counts["events applied"], counts["duplicate or stale events dropped"]) == (1, 2)
    assert queue.depth() == 0
    assert table_equals_s3(harness)


def test_test_event_is_skipped_and_deleted(harness, listed, queue, capfd):
    assert queue.depth() == 1
    capfd.readouterr()
    result = harness.sync(listed)
    assert result.ok, result.error
    counts = event_summary(capfd.readouterr().out)
    assert (counts["messages received"], counts["test events"], counts["messages deleted"]) == (1, 1, 1)
    assert harness.faults.requests["HeadObject"] == harness.faults.requests["ListObjectsV2"] == 0
    assert result.upserts == 0
    assert queue.depth() == 0


def make_changes(s3) -> None:
    s3.put(BUCKET, "k/after-crash.csv", b"c")
    s3.put(BUCKET, "k/004.csv", b"changed")
    s3.delete(BUCKET, "k/005.csv")


def test_sync_killed_before_deleting_its_messages_converges(harness, listed, queue, monkeypatch):
    monkeypatch.setattr(event_mode, "VISIBILITY_TIMEOUT_SECONDS", 1)
    make_changes(harness.s3)
    depth = queue.depth()
    harness.faults.crash_at("DeleteMessageBatch", 1)
    crashed = harness.sync(listed)
    assert not crashed.ok and isinstance(crashed.error, SimulatedCrash)
    assert queue.depth() == depth
    harness.faults.clear()
    time.sleep(1.5)

    resumed = harness.sync(listed)
    assert resumed.ok, resumed.error
    assert table_equals_s3(harness)
    assert queue.depth() == 0
    # The changes were sent before the crash: listing their range again finds nothing more to send.
    assert (resumed.upserts, resumed.deletes) == (0, 0)


def test_failed_checkpoint_deletes_no_message_and_the_next_sync_converges(harness, listed, queue, monkeypatch):
    import connector
    monkeypatch.setattr(event_mode, "VISIBILITY_TIMEOUT_SECONDS", 1)
    make_changes(harness.s3)
    depth = queue.depth()

    def crash(self, state):
        raise SimulatedCrash("checkpoint lost")
    with monkeypatch.context() as patched:
        patched.setattr(connector.SdkSink, "checkpoint", crash)
        crashed = harness.sync(listed)
    assert not crashed.ok
    assert harness.faults.requests["DeleteMessageBatch"] == 0
    assert queue.depth() == depth
    time.sleep(1.5)

    assert harness.sync(listed).ok
    assert table_equals_s3(harness)
    assert queue.depth() == 0


def test_poison_messages_are_counted_and_left_in_the_queue(harness, listed, queue, capfd):
    harness.s3.put(BUCKET, "k/fine.csv", b"fine")
    queue.send("this is not json", json.dumps({"hello": "world"}), s3_notification({"eventName": "ObjectCreated:Put"}))
    capfd.readouterr()
    result = harness.sync(listed)
    assert result.ok, result.error
    output = capfd.readouterr().out
    assert event_summary(output)["unparseable"] == 3
    warnings = [line for line in output.splitlines() if "could not be read as S3 event notifications" in line]
    assert len(warnings) == 1 and "3 queue messages" in warnings[0] and "not JSON" in warnings[0]
    assert table_equals_s3(harness)
    assert queue.depth() == 3


def test_eventbridge_messages_are_applied_like_notifications(harness, base_config, queue):
    config = base_config(sqs_queue_url=queue.url)
    harness.s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})
    assert harness.sync(config).ok
    s3 = harness.s3
    s3.put(BUCKET, "eb/new.csv", b"n")
    s3.put(BUCKET, "eb/with space.txt", b"s")
    s3.put(BUCKET, "eb/c++.txt", b"p")
    s3.put(BUCKET, "eb/sent encoded.txt", b"e")
    s3.delete(BUCKET, "k/006.csv")
    s3.client.restore_object(Bucket=BUCKET, Key="cold/b.tar", RestoreRequest={"Days": 1})
    queue.send(eventbridge_event("eb/new.csv", bucket=BUCKET),
               eventbridge_event("eb/with space.txt", bucket=BUCKET),
               eventbridge_event("eb/c++.txt", bucket=BUCKET),
               eventbridge_event(quote_plus("eb/sent encoded.txt", safe="/"), bucket=BUCKET),
               eventbridge_event("k/006.csv", "Object Deleted", bucket=BUCKET),
               sns_envelope(eventbridge_event("cold/b.tar", "Object Restore Initiated", bucket=BUCKET, sequencer=None)),
               eventbridge_event("k/007.csv", "Object Tags Added", bucket=BUCKET))
    harness.faults.clear()
    result = harness.sync(config)
    assert result.ok, result.error
    assert table_equals_s3(harness)
    rows = harness.rows()
    assert {(BUCKET, "eb/with space.txt"), (BUCKET, "eb/c++.txt"), (BUCKET, "eb/sent encoded.txt")} <= set(rows)
    assert rows[(BUCKET, "cold/b.tar")]["restore_status"] == "restored"
    # The restore is the one change no listing shows: one HEAD; the tags event changes no column without details.
    assert harness.faults.requests["HeadObject"] == 1
    assert result.upserts == 5 and result.deletes == 1
    assert queue.depth() == 0


def test_events_cost_a_listing_of_their_range_not_a_request_each(harness, listed, queue, capfd):
    assert harness.sync(listed).ok
    events = 200
    for i in range(events):
        harness.s3.put(BUCKET, f"batch/{i:04d}.csv", b"b")
    harness.faults.clear()
    capfd.readouterr()
    result = harness.sync(listed)
    assert result.ok, result.error
    requests = harness.faults.requests
    print(f"\n{events} events: {requests['HeadObject']} HEAD, {requests['ReceiveMessage']} ReceiveMessage, "
          f"{requests['DeleteMessageBatch']} DeleteMessageBatch, {requests['ListObjectsV2']} ListObjectsV2")
    assert requests["HeadObject"] == 0
    # 200 new keys land in the stream's last range, listed again once per round of messages.
    assert requests["ListObjectsV2"] <= 2 * (events // event_mode.ROUND_MESSAGES + 1)
    assert requests["ReceiveMessage"] <= events // 10 + 2
    assert requests["DeleteMessageBatch"] == events // 10
    assert result.upserts == events
    assert table_equals_s3(harness)


def test_events_outside_the_configuration_are_ignored_and_deleted(harness, base_config, queue, capfd):
    config = base_config(sqs_queue_url=queue.url, prefix="k/", exclude_patterns="**/*.tmp")
    assert harness.sync(config).ok
    harness.s3.put(BUCKET, "k/in.csv", b"in")
    harness.s3.put(BUCKET, "k/scratch.tmp", b"excluded")
    harness.s3.put(BUCKET, "elsewhere/out.csv", b"outside the prefix")
    queue.send(s3_notification(s3_record("k/000.csv", bucket="another-bucket")))
    harness.faults.clear()
    capfd.readouterr()
    assert harness.sync(config).ok
    counts = event_summary(capfd.readouterr().out)
    assert (counts["events applied"], counts["events ignored"]) == (1, 3)
    assert harness.faults.requests["ListObjectsV2"] == 1
    keys = {key for _, key in harness.rows()}
    assert "k/in.csv" in keys and not keys & {"k/scratch.tmp", "elsewhere/out.csv"}
    assert queue.depth() == 0


def test_an_object_that_cannot_be_described_gets_a_row_that_says_why(harness, base_config, queue, capfd):
    """With object details, a HEAD that fails writes the row with NULL details and counts it; the object is tracked
    and described again by the next sync, which sends its row once the HEAD works. Its message is deleted."""
    config = base_config(sqs_queue_url=queue.url, object_details="head")
    assert harness.sync(config).ok
    harness.s3.put(BUCKET, "k/denied.csv", b"kms")
    harness.s3.put(BUCKET, "k/readable.csv", b"ok")
    harness.faults.respond("HeadObject", 403, code="AccessDenied", when=lambda op, request, n: "denied" in request.url)
    capfd.readouterr()
    result = harness.sync(config)
    assert result.ok, result.error
    output = capfd.readouterr().out
    assert any("could not be described by HEAD (AccessDenied: 1)" in line for line in output.splitlines())
    rows = harness.rows()
    assert rows[(BUCKET, "k/denied.csv")]["content_type"] is None
    assert rows[(BUCKET, "k/readable.csv")]["content_type"] is not None
    assert "k/denied.csv" in harness.saved_state()["streams"][f"{BUCKET}/"]["restores"]
    assert queue.depth() == 0
    harness.faults.clear()
    assert harness.sync(config).ok  # no event: the drain still looks at the object whose description failed
    assert harness.rows()[(BUCKET, "k/denied.csv")]["content_type"] is not None


def test_message_budget_stops_the_sync_and_the_next_one_continues(harness, base_config, queue, capfd):
    config = base_config(sqs_queue_url=queue.url, event_max_messages=5)
    assert harness.sync(config).ok
    for i in range(12):
        harness.s3.put(BUCKET, f"k/budget-{i:02d}.csv", b"b")
    depth = queue.depth()
    capfd.readouterr()
    assert harness.sync(config).ok
    output = capfd.readouterr().out
    assert event_summary(output)["messages received"] == 5 and "event_max_messages reached" in output
    assert queue.depth() == depth - 5
    for _ in range(3):
        assert harness.sync(config).ok
    assert queue.depth() == 0
    assert table_equals_s3(harness)


def test_an_empty_queue_costs_one_receive(harness, listed, queue):
    assert harness.sync(listed).ok
    harness.faults.clear()
    result = harness.sync(listed)
    assert result.ok, result.error
    assert dict(harness.faults.requests) == {"ReceiveMessage": 1}


def test_an_event_sync_inspects_each_bucket_once(harness, listed, queue, monkeypatch):
    """A drain of several rounds lists each round's ranges, but asks each bucket's versioning and tiering once."""
    monkeypatch.setattr(event_mode, "ROUND_MESSAGES", 2)
    for i in range(6):
        harness.s3.put(BUCKET, f"k/round-{i}.csv", b"r")
    harness.faults.clear()
    assert harness.sync(listed).ok
    assert harness.faults.requests["GetBucketVersioning"] == 1
    assert table_equals_s3(harness)


class RecordingSink:
    """The sink of one sync, with the queue depth seen at every checkpoint."""

    def __init__(self, queue: EventQueue):
        self.queue = queue
        self.rows: dict[tuple[str, str], dict] = {}
        self.depth_at_checkpoints: list[int] = []
        self.warnings: list[str] = []
        self.truncates: list[str] = []

    def upsert(self, table: str, row: dict) -> None:
        self.rows[(table, row["bucket"], row["key"])] = row

    def delete(self, table: str, keys: dict) -> None:
        self.rows.pop((table, keys["bucket"], keys["key"]), None)

    def truncate(self, table: str) -> None:
        self.truncates.append(table)

    def checkpoint(self, state: dict) -> None:
        self.depth_at_checkpoints.append(self.queue.depth())

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_messages_are_deleted_only_after_their_checkpoint(harness, base_config, queue, monkeypatch):
    monkeypatch.setattr(event_mode, "ROUND_MESSAGES", 4)
    sink = RecordingSink(queue)
    config = base_config(sqs_queue_url=queue.url)
    settings = parse_configuration(config)
    state = SyncState()
    Sync(settings, state, sink, S3Gateway(settings)).run()
    for i in range(6):
        harness.s3.put(BUCKET, f"direct/{i}.csv", b"d")
    sink.depth_at_checkpoints.clear()
    sink.truncates.clear()
    sync = Sync(settings, state, sink, S3Gateway(settings))
    summary = sync.drain()
    assert sink.truncates == []  # a drain never truncates
    # 1 test event + 6 creates in rounds of 4: the first round's messages are still queued at its checkpoint; the
    # second round's listing finds nothing the first did not send, so it has nothing new to commit.
    assert sink.depth_at_checkpoints == [7]
    assert queue.depth() == 0
    assert (summary.messages, summary.rounds, summary.checkpoints, sync.summary.upserted) == (7, 2, 2, 6)
    assert {("s3_objects", BUCKET, f"direct/{i}.csv") for i in range(6)} <= set(sink.rows)


def test_a_failed_checkpoint_deletes_nothing(harness, base_config, queue):
    sink = RecordingSink(queue)
    settings = parse_configuration(base_config(sqs_queue_url=queue.url))
    state = SyncState()
    Sync(settings, state, sink, S3Gateway(settings)).run()
    harness.s3.put(BUCKET, "direct/x.csv", b"d")
    harness.faults.clear()
    sync = Sync(settings, state, sink, S3Gateway(settings))

    def failing_checkpoint() -> None:
        raise SimulatedCrash("the checkpoint was not committed")
    sync.checkpoints.commit = failing_checkpoint
    with pytest.raises(SimulatedCrash):
        sync.drain()
    assert harness.faults.requests["DeleteMessageBatch"] == 0
    assert queue.depth() == 2


@pytest.mark.parametrize("counts, expected", [
    pytest.param({}, [], id="all-well"),
    pytest.param({"delete_failures": 3}, ["SQS did not delete 3 processed messages"], id="delete-failures"),
    pytest.param({"unparseable": 2, "unreadable_reasons": Counter({"the message body is not JSON": 2})},
                 ["2 queue messages could not be read", "(the message body is not JSON (2))"], id="unparseable"),
])
def test_closing_warnings(counts, expected):
    warnings = closing_warnings(EventSummary(**counts))
    assert len(warnings) == (1 if expected else 0)
    assert all(part in warnings[0] for part in expected)


def test_sync_versions_keeps_listing_because_events_do_not_maintain_versions(harness, base_config, queue, capfd):
    config = base_config(sqs_queue_url=queue.url, sync_versions="true")
    assert harness.sync(config).ok
    harness.faults.clear()
    harness.s3.put(BUCKET, "k/new.csv", b"n")
    result = harness.sync(config)
    assert result.ok, result.error
    assert harness.faults.requests["ListObjectsV2"] >= 1 and harness.faults.requests["ReceiveMessage"] == 0
    assert "event mode does not maintain s3_object_versions" in capfd.readouterr().out
    assert table_equals_s3(harness)


def test_a_scope_change_in_event_mode_lists_before_draining(harness, listed, queue, capfd):
    """Keys new patterns take in were never listed and no event may ever name them: the next sync lists everything
    (sending only what the listing shows is new to the table), then drains resume (found by the model test)."""
    narrow = {**listed, "exclude_patterns": "cold/**"}
    assert harness.sync(narrow).ok
    assert harness.sync(narrow).ok  # a drain
    harness.faults.clear()
    capfd.readouterr()
    widened = harness.sync(listed)
    assert widened.ok, widened.error
    assert "the buckets, prefixes or patterns changed" in capfd.readouterr().out
    assert harness.faults.requests["ReceiveMessage"] == 0 and harness.faults.requests["ListObjectsV2"] >= 1
    assert table_equals_s3(harness)
    harness.faults.clear()
    assert harness.sync(listed).ok
    assert harness.faults.requests["ReceiveMessage"] >= 1  # back to draining
