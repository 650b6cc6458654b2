"""The table equals S3 on every path (issue 9): restores on S3-compatible endpoints, deletes after a range lost
its digest, a re-sync from an empty state, listings out of key order, and unchanged ranges that send nothing.

S3-compatible behaviour comes from moto behind a custom endpoint (MOTO_S3_CUSTOM_ENDPOINTS, set in conftest):
moto ignores `OptionalObjectAttributes=RestoreStatus`, as MinIO, Ceph and R2 do.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from s3_metadata.range_codec import decode_ranges
from tests.conftest import S3_COMPATIBLE_ENDPOINT
from tests.integration.test_full_and_incremental import COMPARED
from tests.support.harness import project_rows

OLD = timedelta(days=30)
BUCKET = "test-bucket"


def cold_bucket(s3, count: int = 60) -> list[str]:
    """Archived objects (GLACIER and DEEP_ARCHIVE) among standard ones, none restored, all old."""
    s3.create_bucket(BUCKET)
    names = []
    for i in range(count):
        name = f"data/{i:04d}"
        s3.put(BUCKET, name, b"x", storage_class=("GLACIER", "DEEP_ARCHIVE", None)[i % 3])
        names.append(name)
    s3.age_all(BUCKET, OLD)
    return names


def test_restore_on_s3_compatible_endpoint_is_seen_deep_in_the_listing(harness, base_config, small_pages):
    s3 = harness.s3
    names = cold_bucket(s3, 150)
    config = base_config(endpoint_url=S3_COMPATIBLE_ENDPOINT)
    first = harness.sync(config)
    assert first.ok, first.error
    deep = names[-3]  # GLACIER, on the last page, LastModified untouched by the restore
    assert harness.rows()[(BUCKET, deep)]["restore_status"] == "archived"

    harness.faults.clear()
    s3.start_restore(BUCKET, deep)
    second = harness.sync(config)
    assert second.ok, second.error
    assert harness.rows()[(BUCKET, deep)]["restore_status"] == "in_progress"
    assert second.upserts == 1
    # Where the listing cannot be trusted every archived object is HEADed, every sync.
    assert harness.faults.requests["HeadObject"] >= 100

    expiry = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    s3.complete_restore(BUCKET, deep, expiry)
    third = harness.sync(config)
    assert third.ok, third.error
    row = harness.rows()[(BUCKET, deep)]
    assert (row["restore_status"], row["restore_expiry"]) == ("restored", expiry)
    assert third.upserts == 1
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)


def test_versioned_delete_found_after_a_settings_change_dropped_the_digests(harness, base_config):
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    s3.versioned(BUCKET)
    names = [f"k/{i:03d}" for i in range(40)]
    for name in names:
        s3.put(BUCKET, name, b"v1")
    assert harness.sync(base_config()).ok
    for name in names[5:8] + names[30:31]:
        s3.delete(BUCKET, name)
    # Changing where restore status comes from changes what the digests cover, so every digest is dropped.
    result = harness.sync(base_config(restore_status_source="head"))
    assert result.ok, result.error
    assert set(harness.rows()) == {(BUCKET, n) for n in names if n not in names[5:8] + names[30:31]}
    assert result.deletes == 4


def test_resync_from_empty_state_leaves_only_current_objects_live(harness, base_config):
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    for i in range(30):
        s3.put(BUCKET, f"k/{i:02d}", b"x")
    assert harness.sync(base_config()).ok
    s3.delete(BUCKET, "k/07")
    s3.delete(BUCKET, "k/21")
    result = harness.sync(base_config(), state={})  # a re-sync from the dashboard, or a deleted state.json
    assert result.ok, result.error
    assert set(harness.rows()) == {(BUCKET, f"k/{i:02d}") for i in range(30) if i not in (7, 21)}
    assert harness.saved_state()["reconcile_started"] is None
    # The next sync is an ordinary incremental one: nothing to truncate, nothing to send.
    again = harness.sync(base_config())
    assert again.ok and again.upserts == 0
    assert len(harness.rows()) == 28


def test_killed_resync_resumes_without_truncating_again(harness, base_config, small_pages):
    from tests.support.faults import SimulatedCrash
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    s3.bulk_put(BUCKET, [f"k/{i:04d}" for i in range(400)])
    assert harness.sync(base_config()).ok
    s3.delete(BUCKET, "k/0003")
    harness.faults.clear()
    harness.faults.crash_at("ListObjectsV2", 8)
    crashed = harness.sync(base_config(range_size=50), state={})
    assert not crashed.ok and isinstance(crashed.error, SimulatedCrash)
    assert harness.saved_state()["reconcile_started"] is not None  # a checkpoint of the truncated pass
    harness.faults.clear()
    resumed = harness.sync(base_config(range_size=50))
    assert resumed.ok, resumed.error
    assert harness.faults.requests.get("ListObjectsV2", 0) < 8  # resumed, not started over
    assert (BUCKET, "k/0003") not in harness.rows()
    assert len(harness.rows()) == 399


def _reorder_listing(swap: Callable[[list[str]], list[str]]) -> tuple[str, Any]:
    """A before-send handler that serves moto's ListObjectsV2 answer with its <Contents> reordered by `swap`."""
    from moto.core.models import botocore_stubber

    def handler(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if not event_name.endswith("ListObjectsV2"):
            return None
        response = botocore_stubber(event_name=event_name, request=request)
        body = response.content.decode()
        entries = re.findall(r"<Contents>.*?</Contents>", body, flags=re.S)
        if len(entries) < 2:
            return None
        start, end = body.index(entries[0]), body.index(entries[-1]) + len(entries[-1])
        body = body[:start] + "".join(swap(entries)) + body[end:]

        class Body:
            def stream(self, **__: Any):
                yield body.encode()
        return AWSResponse(request.url, response.status_code, dict(response.headers), Body())
    return "before-send", handler


def test_listing_out_of_key_order_fails_with_an_explanation_and_writes_nothing_out_of_place(harness, base_config):
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    for key in ("a-b", "a/b", "a/c", "b"):
        s3.put(BUCKET, key, b"x")
    entry = _reorder_listing(lambda entries: [entries[1], entries[2], entries[0], *entries[3:]])  # file-system order
    BUILTIN_HANDLERS.insert(0, entry)
    try:
        result = harness.sync(base_config(endpoint_url=S3_COMPATIBLE_ENDPOINT))
    finally:
        BUILTIN_HANDLERS.remove(entry)
    assert not result.ok
    message = str(result.error)
    assert type(result.error).__name__ == "ListingOrderError"
    assert "not in key order" in message and "s3-compatible.test:9000" in message and "'a-b'" in message
    assert not any(key == "a-b" for _, key in harness.rows())


def test_recently_written_bucket_sends_only_what_changed(harness, base_config):
    """Objects written minutes ago, inside the old look-back window: an incremental sync after a few changes
    sends exactly those changes, and an unchanged sync sends nothing."""
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    names = [f"fresh/{i:04d}" for i in range(600)]
    s3.bulk_put(BUCKET, names)
    now = datetime.now(timezone.utc)
    for name in names:
        s3.set_last_modified(BUCKET, name, now - timedelta(minutes=10))
    assert harness.sync(base_config()).ok
    unchanged = harness.sync(base_config())
    assert unchanged.ok and unchanged.upserts == 0
    added = ["fresh/0100a", "fresh/0400a", "fresh/9999"]
    for name in added:
        s3.put(BUCKET, name, b"new")
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert result.upserts == len(added)
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)


def _expected_versions(s3) -> set[tuple[str, str, bool, bool]]:
    listing = s3.client.list_object_versions(Bucket=BUCKET)
    return ({(v["Key"], v["VersionId"], v["IsLatest"], False) for v in listing.get("Versions", [])}
            | {(m["Key"], m["VersionId"], m["IsLatest"], True) for m in listing.get("DeleteMarkers", [])})


def _landed_versions(harness) -> set[tuple[str, str, bool, bool]]:
    return {(r["key"], r["version_id"], r["is_latest"], r["is_delete_marker"]) for r in harness.versions()}


def test_versions_table_follows_permanent_deletions_and_new_versions(harness, base_config):
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    s3.versioned(BUCKET)
    for i in range(12):
        s3.put(BUCKET, f"k/{i:02d}", b"v1")
    for i in (2, 5, 9):
        s3.put(BUCKET, f"k/{i:02d}", b"v2")
    config = base_config(sync_versions="true")
    assert harness.sync(config).ok
    assert _landed_versions(harness) == _expected_versions(s3)

    # A new version and a delete marker: only the keys that changed are sent again, no rebuild.
    s3.put(BUCKET, "k/07", b"v2")
    s3.delete(BUCKET, "k/11")
    changed = harness.sync(config)
    assert changed.ok, changed.error
    assert _landed_versions(harness) == _expected_versions(s3)
    assert harness.saved_state()["versions_rebuild"] is None
    assert (BUCKET, "k/11") not in harness.rows()

    # A noncurrent version removed for good (DeleteObject with a VersionId, as NoncurrentVersionExpiration does)
    # changes nothing ListObjectsV2 shows: the versions walk must see it, and the stale row must go.
    noncurrent = next(v for v in s3.client.list_object_versions(Bucket=BUCKET, Prefix="k/05")["Versions"]
                      if not v["IsLatest"])
    s3.client.delete_object(Bucket=BUCKET, Key="k/05", VersionId=noncurrent["VersionId"])
    removed = harness.sync(config)
    assert removed.ok, removed.error
    assert _landed_versions(harness) == _expected_versions(s3)
    assert ("k/05", noncurrent["VersionId"], False, False) not in _landed_versions(harness)
    assert harness.saved_state()["versions_rebuild"] is None

    quiet = harness.sync(config)
    assert quiet.ok and quiet.upserts == 0
    assert _landed_versions(harness) == _expected_versions(s3)


def test_sustained_head_throttling_leaves_rows_that_say_why_and_commits_progress(harness, base_config, monkeypatch):
    """60% SlowDown on a HEAD-heavy bucket (every archived object HEADed): HEADs that run out of retries are rows
    saying error:SlowDown, the sync completes, and the next one repairs them."""
    from s3_metadata.aws import envelope
    from s3_metadata.retry import RetryPolicy
    monkeypatch.setattr(envelope, "DEFAULT_POLICY", RetryPolicy(max_attempts=3, base_delay=0.0005, max_delay=0.002,
                                                           max_total_wait=1.0))
    s3 = harness.s3
    cold_bucket(s3, 150)
    config = base_config(endpoint_url=S3_COMPATIBLE_ENDPOINT)
    harness.faults.throttle(0.6, operation="HeadObject")
    result = harness.sync(config)
    assert result.ok, result.error
    statuses = [row["restore_status"] for row in harness.rows().values() if row["storage_class"] != "STANDARD"]
    assert len(statuses) == 100 and set(statuses) <= {"archived", "error:SlowDown"}
    assert "error:SlowDown" in statuses
    harness.faults.clear()
    repaired = harness.sync(config)
    assert repaired.ok, repaired.error
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)


def test_a_late_failure_keeps_the_work_checkpointed_by_time_and_says_so(harness, base_config, small_pages,
                                                                          monkeypatch):
    from s3_metadata import checkpointing
    monkeypatch.setattr(checkpointing, "CHECKPOINT_SECONDS", 0.0)  # every page is a minute late
    monkeypatch.setattr(checkpointing, "CHECKPOINT_EVERY", 10**9)
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    s3.bulk_put(BUCKET, [f"k/{i:04d}" for i in range(400)])
    harness.faults.respond("ListObjectsV2", 403, code="AccessDenied", when=lambda op, request, n: n >= 8)
    failed = harness.sync(base_config(range_size=50))
    assert not failed.ok
    assert "committed" in str(failed.error) and "checkpoint" in str(failed.error)
    assert "committed no checkpoint" not in str(failed.error)
    kept = decode_ranges(harness.saved_state()["streams"][f"{BUCKET}/"]["ranges"])
    assert sum(1 for entry in kept if entry.done) >= 2  # ranges finished before the failure are kept

    harness.faults.clear()
    harness.faults.respond("ListObjectsV2", 403, code="AccessDenied")
    early = harness.sync(base_config(range_size=50), state={})
    assert "committed no checkpoint" in str(early.error)
