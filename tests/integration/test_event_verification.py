"""Event mode's verification pass (issue 17 item 3): lost events are repaired by a listing pass that sends only what
no event reported, and deletes nothing named are counted exactly; reconciliation is not needed for anything else.

The queue gets moto's real notifications; a share of the messages is dropped before the connector reads them, as a
queue past its retention, a misconfigured notification or a consumer bug would drop them.
"""
from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest

from s3_metadata import event_mode
from s3_metadata.events import parse_message
from tests.integration.test_event_mode import EventQueue
from tests.integration.test_full_and_incremental import COMPARED
from tests.support.harness import project_rows

BUCKET = "test-bucket"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)


def drop_messages(queue: EventQueue, share: float, seed: int) -> list[tuple[str, str]]:
    """Take every message off the queue, put back all but `share` of them; the (event name, key) of those lost."""
    rng = random.Random(seed)
    kept, lost = [], []
    while True:
        received = queue.client.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                VisibilityTimeout=600).get("Messages", [])
        if not received:
            break
        for message in received:
            queue.client.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
            parsed = parse_message(message["Body"])
            if parsed.events and rng.random() < share:
                lost += [(e.name, e.key) for e in parsed.events]
            else:
                kept.append(message["Body"])
    queue.send(*kept)
    return lost


def verification_due(harness) -> dict:
    """The saved state, with every stream's last pass moved a day back: the next sync is a verification pass."""
    state = harness.saved_state()
    for stream in state["streams"].values():
        stream["watermark"] = "2020-01-01T00:00:00+00:00"
    return state


def event_mode_bucket(harness, objects: int) -> tuple[list[str], EventQueue, dict]:
    """A bucket of old objects notifying a queue, after the first listing and the drain of S3's test event."""
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    names = [f"d/{i:05d}" for i in range(objects)]
    s3.bulk_put(BUCKET, names)
    s3.age_all(BUCKET, timedelta(days=30))
    queue = EventQueue()
    s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": queue.arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    return names, queue, {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_verification_pass_repairs_lost_events_and_counts_lost_deletes(harness, base_config, capsys, seed):
    """The issue's target: 5% of messages lost; after the next verification pass the table equals S3 but for the
    deletes whose messages were lost, which are counted exactly; the pass sends at most 1.1 x the objects whose
    messages were lost, and nothing for ranges that did not change."""
    rng = random.Random(seed)
    s3 = harness.s3
    names, queue, _ = event_mode_bucket(harness, 4000)
    config = base_config(sqs_queue_url=queue.url)
    assert harness.sync(config).ok  # the first full listing
    assert harness.sync(config).ok  # drains S3's test event

    changed = rng.sample(names, 100)
    for key in changed[:60]:
        s3.put(BUCKET, key, b"overwritten")
    for key in changed[60:]:
        s3.delete(BUCKET, key)
    for i in range(20):
        s3.put(BUCKET, f"d/{rng.randrange(4000):05d}x", b"new")
    lost = drop_messages(queue, 0.05, seed)
    assert lost, "the seed drops some messages"

    capsys.readouterr()
    drained = harness.sync(config)
    assert drained.ok, drained.error
    verified = harness.sync(config, state=verification_due(harness))
    assert verified.ok, verified.error
    output = capsys.readouterr().out
    assert "verification pass" in output

    lost_deletes = {key for name, key in lost if "Removed" in name}
    lost_upserts = {key for name, key in lost if "Created" in name}
    expected = s3.expected_rows(BUCKET)
    rows = project_rows(harness.rows(), COMPARED)
    # Equal to S3, but for the deletes whose events were lost (and which the listing cannot name) ...
    assert set(rows) - set(expected) == {(BUCKET, key) for key in lost_deletes}
    assert {k: v for k, v in rows.items() if k in expected} == expected
    # ... which are counted exactly: by the drain in ranges other events touched, by the pass elsewhere.
    counted = sum(int(n) for n in re.findall(r"(\d+) objects deleted since the last sync", output))
    assert counted == len(lost_deletes)
    assert "too much changed" not in output
    # The pass sends only what no event reported: lost events in ranges other events did not touch, at most.
    assert verified.upserts <= 1.1 * len(lost_upserts) and verified.deletes == 0
    print(f"\nseed {seed}: {len(lost)} events lost ({len(lost_upserts)} upserts, {len(lost_deletes)} deletes); "
          f"the drain sent {drained.upserts} upserts and {drained.deletes} deletes; the verification pass "
          f"{verified.upserts} upserts; {counted} deletes counted, unmarkable")
    again = harness.sync(config)
    assert again.ok and (again.upserts, again.deletes) == (0, 0)


def test_a_burst_in_one_range_costs_at_most_that_range(harness, base_config, capsys):
    """Beyond what a range's sketch can decode (about 14 changes per 250 objects between two syncs), listing the
    range sends every object the sketch cannot prove unchanged: at most the range's rows, once. Deletes there that no
    event named cannot be counted, and the warning says so; the rest of the bucket costs nothing."""
    s3 = harness.s3
    names, queue, _ = event_mode_bucket(harness, 2000)
    config = base_config(sqs_queue_url=queue.url)
    assert harness.sync(config).ok
    assert harness.sync(config).ok
    burst = names[500:750]  # the third range
    for key in burst[::3]:
        s3.put(BUCKET, key, b"burst")
    capsys.readouterr()
    drained = harness.sync(config)
    assert drained.ok, drained.error
    assert len(burst[::3]) <= drained.upserts <= 250 + 1
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)
