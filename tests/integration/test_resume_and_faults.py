"""Killed syncs, throttling storms and exhausted retries: the table converges and nothing is lost."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from s3_metadata.errors import RetriesExhaustedError, UnreadableAnswerError
from s3_metadata.range_codec import decode_ranges
from tests.integration.test_full_and_incremental import COMPARED
from tests.support.faults import SimulatedCrash
from tests.support.harness import project_rows
from tests.unit.test_listing_xml import contents, listing

OBJECTS = 900


def seed(s3, bucket: str = "test-bucket", count: int = OBJECTS) -> None:
    s3.create_bucket(bucket)
    for i in range(count):
        storage_class = "GLACIER" if i % 7 == 0 else None
        s3.put(bucket, f"k/{i:05d}", b"v", storage_class=storage_class)
    s3.start_restore(bucket, "k/00007")
    s3.age_all(bucket, timedelta(days=30))


@pytest.mark.parametrize("operation,number", [
    pytest.param("ListObjectsV2", 1, id="first-list"),
    pytest.param("ListObjectsV2", 3, id="list-3"),
    pytest.param("ListObjectsV2", 8, id="list-8"),
    pytest.param("ListObjectsV2", 17, id="last-list"),
    pytest.param("HeadObject", 5, id="head-5"),
    pytest.param("HeadObject", 60, id="head-60"),
    pytest.param("HeadObject", 125, id="last-head"),
])
def test_killed_first_sync_resumes_to_the_same_table(harness, base_config, small_pages, operation, number):
    seed(harness.s3)
    config = base_config(range_size=20, max_concurrency=4)
    harness.faults.crash_at(operation, number)
    crashed = harness.sync(config)
    assert not crashed.ok and isinstance(crashed.error, SimulatedCrash)
    committed = len(harness.rows())
    harness.faults.clear()

    resumed = harness.sync(config)
    assert resumed.ok, resumed.error
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    # Re-sent rows are bounded by one checkpoint interval (plus the range being finished).
    assert resumed.upserts <= (OBJECTS - committed) + small_pages + 2 * 20


def test_killed_incremental_sync_keeps_the_watermark_and_converges(harness, base_config, small_pages):
    seed(harness.s3)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    watermark = harness.saved_state()["streams"]["test-bucket/"]["watermark"]
    for i in range(0, OBJECTS, 100):
        harness.s3.set_storage_class("test-bucket", f"k/{i + 1:05d}", "STANDARD_IA")
    harness.faults.clear()
    harness.faults.crash_at("ListObjectsV2", 9)
    assert not harness.sync(config).ok
    state = harness.saved_state()["streams"]["test-bucket/"]
    assert state["watermark"] == watermark and state["pass_started"] is not None
    harness.faults.clear()
    assert harness.sync(config).ok
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    assert harness.saved_state()["streams"]["test-bucket/"]["pass_started"] is None


def test_throttling_storm_leaves_the_table_correct(harness, base_config, small_pages, fast_retries, capfd):
    seed(harness.s3)
    harness.faults.throttle(rate=0.3)
    result = harness.sync(base_config(range_size=20, max_concurrency=8))
    assert result.ok, result.error
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    summary = [line for line in capfd.readouterr().out.splitlines() if "sync summary" in line]
    retries = int(summary[-1].split(" retries")[0].rsplit(" ", 1)[1])
    assert retries > 10


def test_exhausted_retries_fail_with_the_last_checkpoint_intact(harness, base_config, small_pages, fast_retries):
    seed(harness.s3, count=200)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    before = harness.state_path.read_text()
    rows_before = harness.rows()
    harness.s3.put("test-bucket", "k/new", b"n")
    harness.faults.throttle(rate=1.0, operation="ListObjectsV2")
    result = harness.sync(config)
    assert not result.ok
    assert isinstance(result.error, RetriesExhaustedError)
    assert "SlowDown" in str(result.error) and "checkpoint" in str(result.error)
    assert harness.state_path.read_text() == before
    assert harness.rows() == rows_before


def test_unreadable_listing_page_fails_the_sync_explained_and_keeps_its_checkpoint(harness, base_config, small_pages,
                                                                                    capfd):
    """A listing page botocore's parser cannot read (here a Size that is not a number) used to crash the sync with a
    ValueError and a traceback of the connector's internals. It fails the sync with a message that names the
    endpoint and the operation (never the body); what was committed before it stays, and the next sync resumes."""
    seed(harness.s3)
    config = base_config(range_size=20, max_concurrency=1)  # one request at a time: page 8 comes after commits
    harness.faults.respond("ListObjectsV2", 200, headers={"content-type": "application/xml"},
                           body=listing(contents("k/00400", size="many")), when=lambda op, request, n: n == 20)
    failed = harness.sync(config)
    assert isinstance(failed.error, UnreadableAnswerError), failed.error
    assert str(failed.error).startswith("AWS S3 answered ListObjectsV2 of bucket 'test-bucket' with a page whose "
                                        "values could not be read (ValueError)")
    output = capfd.readouterr()
    assert "Traceback" not in output.out + output.err and "many" not in str(failed.error)
    committed = len(harness.rows())
    assert committed > 0 and harness.saved_state()["streams"]["test-bucket/"]["ranges"]
    harness.faults.clear()

    resumed = harness.sync(config)
    assert resumed.ok, resumed.error
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    assert resumed.upserts <= (OBJECTS - committed) + small_pages + 2 * 20


def test_state_stays_small(harness, base_config, small_pages):
    seed(harness.s3)
    assert harness.sync(base_config()).ok
    state = harness.saved_state()
    # Four ranges of 250 for 900 objects plus one tracked restore: nothing per object.
    assert len(decode_ranges(state["streams"]["test-bucket/"]["ranges"])) <= 5
    assert len(json.dumps(state)) < 2_000
