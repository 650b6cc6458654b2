"""Event mode end to end: `fivetran debug` twice against moto_server, the second run draining S3's notifications
and listing again only the key ranges they touched.

The queue lives on the same moto_server as the bucket: its URL points at the server, which the connector uses as the
SQS endpoint, and the server delivers the bucket's notifications to it over its own in-process backends.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.connector_project import local_configuration, make_project, saved_state, write_configuration
from scripts.local_s3 import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET, REGION, filler, start_restore, wait_for_next_second
from tests.e2e.test_fivetran_debug import expected_rows, synced, table_rows

pytestmark = pytest.mark.e2e

BUCKET = "e2e-events"
CHANGED_KEYS = ("events/with space.txt", "events/plus+sign.txt", "events/日本語.txt", "events/new.csv")


def notifying_queue(endpoint: str, s3: Any) -> tuple[Any, str]:
    """A queue on the local server that receives the bucket's object events; its client and URL."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=DUMMY_ACCESS_KEY_ID,
                       aws_secret_access_key=DUMMY_SECRET)
    url = sqs.create_queue(QueueName="e2e-s3-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectRestore:*"]}]})
    return sqs, url


def queued(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(value) for value in attributes["Attributes"].values())


def test_second_debug_run_drains_the_queue_and_lists_only_touched_ranges(tmp_path: Path, local_s3: str, s3: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for index in range(12):
        s3.put_object(Bucket=BUCKET, Key=f"logs/{index:02d}.log", Body=filler(str(index), 100 + index))
    s3.put_object(Bucket=BUCKET, Key="archive/ledger.csv", Body=filler("ledger", 512), StorageClass="GLACIER")
    sqs, url = notifying_queue(local_s3, s3)
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(BUCKET, local_s3, sqs_queue_url=url, lookback_minutes="0"))
    wait_for_next_second()

    first = synced(project)
    assert "objects listed" in first.output and "event sync summary" not in first.output
    assert table_rows(project, BUCKET) == expected_rows(s3, BUCKET)

    for key in CHANGED_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=filler(key, 64))
    s3.put_object(Bucket=BUCKET, Key="logs/03.log", Body=filler("overwritten", 999))
    s3.delete_object(Bucket=BUCKET, Key="logs/04.log")
    start_restore(s3, local_s3, BUCKET, "archive/ledger.csv")
    events = len(CHANGED_KEYS) + 3
    assert queued(sqs, url) == events + 1  # and S3's test event

    second = synced(project)
    summary = [line for line in second.output.splitlines() if "event sync summary" in line]
    assert len(summary) == 1 and "objects listed" not in second.output
    lists, heads = map(int, re.search(r"(\d+) LIST, (\d+) HEAD", summary[0]).groups())
    # The bucket is one key range: one listing of it answers every event; the restore needs a HEAD.
    assert 1 <= lists <= 2 and 0 < heads <= events
    expected = expected_rows(s3, BUCKET)
    assert expected["archive/ledger.csv"]["restore_status"] == "in_progress"
    assert "logs/04.log" not in expected and set(CHANGED_KEYS) <= set(expected)
    assert table_rows(project, BUCKET) == expected
    assert second.counts["Upserts"] == len(CHANGED_KEYS) + 2 and second.counts["Deletes"] == 1
    assert saved_state(project)["streams"][f"{BUCKET}/"]["restores"].keys() == {"archive/ledger.csv"}
    assert queued(sqs, url) == 0
