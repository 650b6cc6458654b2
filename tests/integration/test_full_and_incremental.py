"""Full and incremental syncs through the SDK runner: the table must equal S3 after every sync."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.harness import project_rows

COMPARED = ["bucket", "key", "size", "e_tag", "storage_class", "last_modified", "restore_status", "restore_expiry",
            "is_multipart"]
OLD = timedelta(days=30)
UNUSUAL_KEYS = [
    "with space/and+plus.txt", "percent%20encoded%2F.txt", "tab\there", "quote\"and'apostrophe", "trailing/",
    "unicode/日本語/ファイル.txt", "emoji/🙂.bin", "ÄÖÜ/é", "a" * 1020, "x/" * 300 + "end", "semi;colon&amp=eq?",
    "back\\slash", "  leading and trailing  ", "#hash", "new\nline",
]


def seed_mix(s3, bucket: str = "test-bucket") -> None:
    s3.create_bucket(bucket)
    for i in range(40):
        s3.put(bucket, f"std/{i:03d}.csv", b"x" * i)
    for storage_class in ("STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "REDUCED_REDUNDANCY", "INTELLIGENT_TIERING"):
        s3.put(bucket, f"classes/{storage_class}.bin", b"data", storage_class=storage_class)
    for i in range(6):
        s3.put(bucket, f"cold/glacier-{i}.tar", b"cold", storage_class="GLACIER")
        s3.put(bucket, f"cold/deep-{i}.tar", b"deep", storage_class="DEEP_ARCHIVE")
    s3.start_restore(bucket, "cold/glacier-1.tar")
    s3.complete_restore(bucket, "cold/glacier-2.tar", datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone.utc))
    s3.complete_restore(bucket, "cold/deep-3.tar", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    for key in UNUSUAL_KEYS:
        s3.put(bucket, key, key.encode()[:10])
    s3.age_all(bucket, OLD)


def test_full_sync_equals_s3(harness, base_config):
    seed_mix(harness.s3)
    result = harness.sync(base_config())
    assert result.ok, result.error
    expected = harness.s3.expected_rows("test-bucket")
    assert project_rows(harness.rows(), COMPARED) == expected
    statuses = {row["key"]: row["restore_status"] for row in harness.rows().values()}
    assert statuses["cold/glacier-1.tar"] == "in_progress"
    assert statuses["cold/glacier-2.tar"] == "restored"
    assert statuses["cold/glacier-0.tar"] == "archived"
    assert statuses["classes/GLACIER_IR.bin"] is None
    # moto's listing ignores RestoreStatus: the probe finds out on the 4th archived object (deep-3 is restored)
    # and the bucket falls back to HEAD, one per GLACIER / DEEP_ARCHIVE object. Intelligent-Tiering needs none:
    # the bucket has no archive-tier configuration.
    assert harness.saved_state()["restore_sources"] == {"test-bucket": "head"}
    assert harness.faults.requests["HeadObject"] == 4 + 12
    # One page of objects, plus the restore-status probe's page and the first-pass size check.
    assert harness.faults.requests["ListObjectsV2"] == 3


def test_declared_column_types_and_primary_key(harness, base_config):
    seed_mix(harness.s3)
    assert harness.sync(base_config()).ok
    types = harness.column_types()
    assert types["size"] == "BIGINT"
    assert types["last_modified"] == "TIMESTAMP WITH TIME ZONE"
    assert types["restore_expiry"] == "TIMESTAMP WITH TIME ZONE"
    assert types["is_multipart"] == "BOOLEAN"
    assert types["multipart_part_count"] == "INTEGER"
    assert {"bucket", "key", "e_tag", "storage_class", "restore_status", "archive_status", "checksum_algorithm"} <= set(types)


def test_unusual_keys_round_trip_exactly(harness, base_config):
    seed_mix(harness.s3)
    assert harness.sync(base_config()).ok
    keys = {key for _, key in harness.rows()}
    for key in UNUSUAL_KEYS:
        assert key in keys


def test_multipart_upload_is_flagged(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    upload = s3.client.create_multipart_upload(Bucket="test-bucket", Key="big.bin")
    parts = []
    for number in (1, 2, 3):
        body = b"p" * (5 * 1024 * 1024 if number < 3 else 10)
        etag = s3.client.upload_part(Bucket="test-bucket", Key="big.bin", PartNumber=number, Body=body,
                                     UploadId=upload["UploadId"])["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.client.complete_multipart_upload(Bucket="test-bucket", Key="big.bin", UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": parts})
    assert harness.sync(base_config()).ok
    row = harness.rows()[("test-bucket", "big.bin")]
    assert row["is_multipart"] is True
    assert row["multipart_part_count"] == 3
    assert row["size"] == 2 * 5 * 1024 * 1024 + 10


@pytest.mark.parametrize("listing_reports_restores", [
    pytest.param(True, id="aws-listing-reports-restores"),
    pytest.param(False, id="endpoint-ignores-restore-status"),
])
def test_unchanged_bucket_costs_only_listing(harness, base_config, small_pages, listing_reports_restores):
    seed_mix(harness.s3)
    if listing_reports_restores:
        harness.faults.emulate_listing_restore_status(harness.s3.listing_restore)
    config = base_config(range_size=10)
    assert harness.sync(config).ok
    harness.faults.clear()
    if listing_reports_restores:
        harness.faults.emulate_listing_restore_status(harness.s3.listing_restore)
    second = harness.sync(config)
    assert second.ok
    assert second.upserts == 0
    assert harness.faults.requests["ListObjectsV2"] == pytest.approx(81 / 50, abs=1)
    # AWS reports restores in the listing: no HEAD at all. Where the listing is silent, every GLACIER and
    # DEEP_ARCHIVE object (12) is HEADed, since a restore may have started on any of them.
    assert harness.faults.requests["HeadObject"] == (0 if listing_reports_restores else 12)


def test_incremental_sends_new_and_changed_objects_only(harness, base_config, small_pages):
    s3 = harness.s3
    s3.seed("test-bucket", [f"data/{i:04d}.json" for i in range(600)], age=OLD)
    config = base_config(range_size=20)
    assert harness.sync(config).ok
    for key in ("data/0100a.json", "data/0300a.json", "data/9999.json"):
        s3.put("test-bucket", key, b"new")
    s3.put("test-bucket", "data/0450.json", b"overwritten")
    result = harness.sync(config)
    assert result.ok, result.error
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows("test-bucket")
    # Three new keys cost one row each; the overwrite costs at most its range (up to 1.5 x range_size).
    assert 4 <= result.upserts <= 4 + 30


def test_object_just_behind_the_watermark_is_caught(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    s3.put("test-bucket", "a.txt", b"a")
    s3.age_all("test-bucket", OLD)
    assert harness.sync(base_config()).ok
    watermark = datetime.fromisoformat(harness.saved_state()["streams"]["test-bucket/"]["watermark"])
    # Written before the previous pass started, but listed only after that pass had gone by.
    s3.put("test-bucket", "0-late.txt", b"late", last_modified=watermark - timedelta(seconds=30))
    # A multipart upload initiated days ago, completed just now: older than any look-back.
    s3.put("test-bucket", "1-multipart-late.txt", b"late", last_modified=watermark - timedelta(days=3))
    result = harness.sync(base_config())
    assert result.ok
    assert {("test-bucket", "0-late.txt"), ("test-bucket", "1-multipart-late.txt")} <= set(harness.rows())
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows("test-bucket")


def test_restore_transitions_across_syncs(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    s3.put("test-bucket", "cold.tar", b"c", storage_class="GLACIER")
    s3.put("test-bucket", "warm.txt", b"w")
    s3.start_restore("test-bucket", "cold.tar")
    s3.age_all("test-bucket", OLD)
    assert harness.sync(base_config()).ok
    assert harness.rows()[("test-bucket", "cold.tar")]["restore_status"] == "in_progress"

    expiry = datetime(2031, 1, 2, 0, 0, tzinfo=timezone.utc)
    s3.complete_restore("test-bucket", "cold.tar", expiry)
    result = harness.sync(base_config())
    assert result.ok and result.upserts == 1
    row = harness.rows()[("test-bucket", "cold.tar")]
    assert (row["restore_status"], row["restore_expiry"]) == ("restored", expiry)

    s3.expire_restore("test-bucket", "cold.tar")
    result = harness.sync(base_config())
    assert result.ok and result.upserts == 1
    row = harness.rows()[("test-bucket", "cold.tar")]
    assert (row["restore_status"], row["restore_expiry"]) == ("archived", None)
    assert harness.saved_state()["streams"]["test-bucket/"]["restores"] == {}

    harness.faults.clear()
    result = harness.sync(base_config())
    # Nothing changed; moto's listing is silent about restores, so the one archived object is HEADed again.
    assert result.upserts == 0 and harness.faults.requests["HeadObject"] == 1


def test_several_buckets_and_prefixes(harness, base_config):
    s3 = harness.s3
    for bucket in ("bucket-a", "bucket-b"):
        s3.create_bucket(bucket)
        for prefix in ("logs/", "raw/", "other/"):
            for i in range(3):
                s3.put(bucket, f"{prefix}{i}.txt", b"x")
    result = harness.sync(base_config(bucket="bucket-a, bucket-b", prefix="logs/,raw/"))
    assert result.ok, result.error
    keys = sorted(harness.rows())
    assert len(keys) == 12
    assert not any(key.startswith("other/") for _, key in keys)
    assert sorted(harness.saved_state()["streams"]) == ["bucket-a/logs/", "bucket-a/raw/", "bucket-b/logs/",
                                                        "bucket-b/raw/"]


def test_patterns_narrow_the_listing(harness, base_config):
    s3 = harness.s3
    s3.create_bucket("test-bucket")
    keys = ["logs/2024/01/a.gz", "logs/2024/02/b.gz", "logs/2024/02/b.txt", "logs/2023/c.gz",
            "logs/2024/_temporary/x.gz", "data/d.gz"]
    for key in keys:
        s3.put("test-bucket", key, b"x")
    config = base_config(include_patterns="logs/2024/**/*.gz", exclude_patterns="**/_temporary/**")
    assert harness.sync(config).ok
    assert sorted(key for _, key in harness.rows()) == ["logs/2024/01/a.gz", "logs/2024/02/b.gz"]
    listed = [url for op, url in harness.faults.urls if op == "ListObjectsV2"]
    assert listed and all("prefix=logs%2F2024%2F" in url for url in listed)


def test_a_listing_pass_says_what_it_is_doing(harness, base_config, small_pages, monkeypatch, capsys):
    """Issue 18 item 5: progress lines between "new pass" and "pass complete", and a summary per stream."""
    from s3_metadata import progress
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    harness.s3.create_bucket("test-bucket")
    harness.s3.bulk_put("test-bucket", [f"p/{i:04d}" for i in range(300)])
    assert harness.sync(base_config(range_size=50)).ok
    harness.s3.put("test-bucket", "p/0007", b"changed")
    capsys.readouterr()
    assert harness.sync(base_config(range_size=50)).ok
    output = capsys.readouterr().out
    lines = [line for line in output.splitlines() if "listing: " in line]
    assert lines and "of 6 key ranges done" in lines[-1] and "left" in lines[-1]
    assert "300 objects listed" in lines[-1] and "1 rows sent" in lines[-1]
    assert "(300 listed, 1 rows upserted, 0 deleted, 0 deletes counted but not markable)" in output
