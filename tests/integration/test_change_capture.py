"""Changes S3 makes behind LastModified: transitions, restores, late objects, deletes, versions.

After every sync the table must equal S3, and the rows re-sent for unchanged objects must stay within the
stated bound (about two ranges per changed run of keys).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.timestamps import isoformat_utc, parse_isoformat_utc
from tests.integration.test_full_and_incremental import COMPARED
from tests.support.harness import project_rows

OLD = timedelta(days=30)


def keys(count: int, prefix: str = "k/") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(count)]


def fill(s3, count: int, bucket: str = "test-bucket") -> list[str]:
    s3.create_bucket(bucket)
    names = keys(count, "a/") + keys(count, "b/")
    s3.bulk_put(bucket, names)
    s3.age_all(bucket, OLD)
    return names


def test_clustered_transition_resends_under_one_percent(harness, base_config):
    names = fill(harness.s3, 5_000)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    changed = [k for k in names if k.startswith("b/0012")]  # 100 consecutive keys: 1% of 10,000
    for key in changed:
        harness.s3.set_storage_class("test-bucket", key, "GLACIER")
    result = harness.sync(config)
    assert result.ok, result.error
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    unchanged_resent = result.upserts - len(changed)
    assert 0 <= unchanged_resent < len(names) // 100


def test_scattered_transitions_send_only_the_changed_objects(harness, base_config, capsys):
    names = fill(harness.s3, 5_000)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    changed = random.Random(3).sample(names, 100)
    for key in changed:
        harness.s3.set_storage_class("test-bucket", key, "STANDARD_IA")
    result = harness.sync(config)
    assert result.ok
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")
    # The range sketches name the changed objects: no unchanged neighbour is sent with them.
    assert len(changed) <= result.upserts <= len(changed) * 1.1
    with capsys.disabled():
        print(f"\nscattered 1%: {result.upserts} rows re-sent for {len(changed)} changes in {len(names)} objects")


def test_restore_of_an_old_object_is_seen_through_the_listing(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    for i in range(30):
        s3.put("test-bucket", f"cold/{i:02d}", b"c", storage_class="GLACIER" if i % 2 else "DEEP_ARCHIVE")
    s3.start_restore("test-bucket", "cold/03")
    s3.age_all("test-bucket", OLD)
    harness.faults.emulate_listing_restore_status(s3.listing_restore)
    assert harness.sync(base_config()).ok
    assert harness.saved_state()["restore_sources"] == {"test-bucket": "listing"}

    harness.faults.clear()
    harness.faults.emulate_listing_restore_status(s3.listing_restore)
    s3.start_restore("test-bucket", "cold/17")
    s3.complete_restore("test-bucket", "cold/03", datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc))
    result = harness.sync(base_config())
    assert result.ok
    rows = harness.rows()
    assert rows[("test-bucket", "cold/17")]["restore_status"] == "in_progress"
    assert rows[("test-bucket", "cold/03")]["restore_status"] == "restored"
    assert rows[("test-bucket", "cold/03")]["restore_expiry"] == datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    # No HEAD for GLACIER or DEEP_ARCHIVE once the listing is trusted.
    assert harness.faults.requests["HeadObject"] == 0

    s3.expire_restore("test-bucket", "cold/03")
    assert harness.sync(base_config()).ok
    assert harness.rows()[("test-bucket", "cold/03")]["restore_status"] == "archived"
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows("test-bucket")


def test_endpoint_that_ignores_restore_status_falls_back_to_head(harness, base_config, capfd):
    harness.s3.seed("test-bucket", [f"cold/{i}" for i in range(10)], "GLACIER", OLD, restoring=("cold/4",))
    assert harness.sync(base_config()).ok  # plain moto: the listing never reports restores
    assert harness.saved_state()["restore_sources"] == {"test-bucket": "head"}
    assert "restore status comes from HEAD for this bucket" in capfd.readouterr().out
    assert harness.rows()[("test-bucket", "cold/4")]["restore_status"] == "in_progress"


def test_late_multipart_upload_behind_the_watermark(harness, base_config):
    fill(harness.s3, 500)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    watermark = datetime.fromisoformat(harness.saved_state()["streams"]["test-bucket/"]["watermark"])
    harness.s3.put("test-bucket", "a/000250x", b"late", last_modified=watermark - timedelta(days=2))
    result = harness.sync(config)
    # Too old for the look-back, so it is found by its range's digest: the range is sent again.
    assert result.ok and 1 <= result.upserts <= 31
    assert ("test-bucket", "a/000250x") in harness.rows()
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows("test-bucket")


def test_overwrite_is_sent(harness, base_config):
    fill(harness.s3, 200)
    assert harness.sync(base_config()).ok
    harness.s3.put("test-bucket", "a/000010", b"new content")
    assert harness.sync(base_config()).ok
    assert harness.rows()[("test-bucket", "a/000010")]["size"] == len(b"new content")


def test_versioned_bucket_delete_markers_delete_rows(harness, base_config):
    s3 = harness.s3
    s3.seed("test-bucket", [])
    s3.versioned("test-bucket")
    for i in range(60):
        s3.put("test-bucket", f"v/{i:03d}", b"x")
    s3.age_all("test-bucket", OLD)
    config = base_config(range_size=10)
    assert harness.sync(config).ok
    s3.delete("test-bucket", "v/007")
    s3.delete("test-bucket", "v/042")
    result = harness.sync(config)
    assert result.ok, result.error
    assert result.deletes == 2
    live = harness.rows()
    assert ("test-bucket", "v/007") not in live and ("test-bucket", "v/042") not in live
    assert len(live) == 58
    deleted = {k for k, row in harness.rows(include_deleted=True).items() if row["_fivetran_deleted"]}
    assert deleted == {("test-bucket", "v/007"), ("test-bucket", "v/042")}
    # Version listings only for the changed ranges, not the whole bucket.
    assert 1 <= harness.faults.requests["ListObjectVersions"] <= 4


def test_object_versions_table(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    s3.versioned("test-bucket")
    s3.put("test-bucket", "doc.txt", b"v1")
    s3.put("test-bucket", "doc.txt", b"version two")
    s3.put("test-bucket", "gone.txt", b"x")
    s3.delete("test-bucket", "gone.txt")
    config = base_config(sync_versions="true")
    assert harness.sync(config).ok
    versions = harness.versions()
    doc = sorted((v for v in versions if v["key"] == "doc.txt"), key=lambda v: v["size"])
    assert [(v["size"], v["is_latest"], v["is_delete_marker"]) for v in doc] == [(2, False, False), (11, True, False)]
    gone = sorted((v for v in versions if v["key"] == "gone.txt"), key=lambda v: v["is_delete_marker"])
    assert [(v["is_latest"], v["is_delete_marker"]) for v in gone] == [(False, False), (True, True)]
    assert all(v["version_id"] for v in versions)
    assert set(harness.rows()) == {("test-bucket", "doc.txt")}


def reconciliation_due(state: dict, hours: float) -> dict:
    """The saved state with its last reconciliation moved back `hours` (the configured interval, at least 6), so
    the next sync reconciles without waiting for it."""
    last = parse_isoformat_utc(state["last_reconcile"])
    return {**state, "last_reconcile": isoformat_utc(last - timedelta(hours=hours, seconds=1))}


def test_reconciliation_removes_deleted_objects_of_unversioned_buckets(harness, base_config):
    names = fill(harness.s3, 100)
    config = base_config(reconcile_every_hours="6")
    assert harness.sync(config).ok
    assert harness.saved_state()["last_reconcile"] is not None
    harness.s3.delete("test-bucket", "a/000005")
    harness.s3.delete("test-bucket", "b/000099")
    result = harness.sync(config, state=reconciliation_due(harness.saved_state(), 6))
    assert result.ok, result.error
    live = set(harness.rows())
    assert live == {("test-bucket", k) for k in names} - {("test-bucket", "a/000005"), ("test-bucket", "b/000099")}
    assert harness.saved_state()["reconcile_started"] is None
    # A sync before the next reconciliation is due sends nothing.
    result = harness.sync(base_config(reconcile_every_hours="24"))
    assert result.ok and result.upserts == 0


def test_killed_reconciliation_resumes_without_truncating_again(harness, base_config, small_pages):
    names = fill(harness.s3, 600)
    config = base_config(reconcile_every_hours="6", range_size=20)
    assert harness.sync(config).ok
    harness.s3.delete("test-bucket", "a/000300")
    harness.faults.clear()
    harness.faults.crash_at("ListObjectsV2", 12)
    assert not harness.sync(config, state=reconciliation_due(harness.saved_state(), 6)).ok
    assert harness.saved_state()["reconcile_started"] is not None
    harness.faults.clear()
    result = harness.sync(config)
    assert result.ok, result.error
    assert set(harness.rows()) == {("test-bucket", k) for k in names} - {("test-bucket", "a/000300")}


@pytest.mark.parametrize("configurations,expected_heads", [
    pytest.param([], 0, id="no-archive-tier-no-head"),
    pytest.param([{"Id": "archive", "Status": "Enabled",
                   "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}], 3, id="archive-tier-heads-old-objects"),
])
def test_intelligent_tiering_heads_only_when_archive_tiers_exist(harness, base_config, configurations, expected_heads):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    for i in range(3):
        s3.put("test-bucket", f"it/{i}", b"x", storage_class="INTELLIGENT_TIERING")
    s3.put("test-bucket", "it/new", b"x", storage_class="INTELLIGENT_TIERING")
    s3.age_all("test-bucket", timedelta(days=200))
    s3.set_last_modified("test-bucket", "it/new", datetime.now(timezone.utc) - timedelta(days=2))
    listing = ("<ListBucketIntelligentTieringConfigurationsOutput><IsTruncated>false</IsTruncated>"
               + "".join(f"<IntelligentTieringConfiguration><Id>{c['Id']}</Id><Status>{c['Status']}</Status>"
                         + "".join(f"<Tiering><Days>{t['Days']}</Days><AccessTier>{t['AccessTier']}</AccessTier></Tiering>"
                                   for t in c["Tierings"]) + "</IntelligentTieringConfiguration>" for c in configurations)
               + "</ListBucketIntelligentTieringConfigurationsOutput>")
    harness.faults.respond("ListBucketIntelligentTieringConfigurations", 200, body=listing.encode())
    assert harness.sync(base_config()).ok
    archive_tier = "x-amz-archive-status"
    harness.faults.clear()
    harness.faults.respond("ListBucketIntelligentTieringConfigurations", 200, body=listing.encode())
    harness.faults.respond("HeadObject", 200, headers={"x-amz-storage-class": "INTELLIGENT_TIERING",
                                                       archive_tier: "ARCHIVE_ACCESS", "Content-Length": "1"},
                           when=lambda op, request, n: request.url.endswith("/it/1"))
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert harness.faults.requests["HeadObject"] == expected_heads
    row = harness.rows()[("test-bucket", "it/1")]
    if expected_heads:
        assert (row["archive_status"], row["restore_status"]) == ("ARCHIVE_ACCESS", "archived")
        assert result.upserts == 1
    else:
        assert row["archive_status"] is None and result.upserts == 0


def test_restore_started_on_an_old_object_where_the_listing_is_silent(harness, base_config):
    """moto, like many S3-compatible stores, ignores listing RestoreStatus: once that is known, every archived
    object is HEADed on every sync, since nothing else can show a restore that starts on an old object."""
    s3 = harness.s3
    s3.seed("test-bucket", [f"cold/{i:02d}" for i in range(12)], "GLACIER", OLD, restoring=("cold/00",))
    assert harness.sync(base_config()).ok
    assert harness.saved_state()["restore_sources"] == {"test-bucket": "head"}
    harness.faults.clear()
    s3.start_restore("test-bucket", "cold/09")
    result = harness.sync(base_config())
    assert result.ok and result.upserts == 1
    assert harness.rows()[("test-bucket", "cold/09")]["restore_status"] == "in_progress"
    assert harness.faults.requests["HeadObject"] == 12
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows("test-bucket")
