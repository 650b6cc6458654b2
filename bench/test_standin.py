"""Checks that botocore, the client every connector here uses, sees the stand-in as S3.

Run with `python -m pytest bench -q`; these are not part of the connector's test suite.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Iterator

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from s3_standin import Options, StandInServer, build_server

BUCKET = "bench-bucket"
OBJECTS = 3000


def start(options: Options = Options(), objects: int = OBJECTS) -> StandInServer:
    server = build_server(objects, seed=7, options=options)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop(server: StandInServer) -> None:
    server.shutdown()
    server.server_close()


def client(server: StandInServer, retries: dict | None = None):
    config = botocore.config.Config(s3={"addressing_style": "path"}, retries=retries or {"max_attempts": 1})
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id="bench", aws_secret_access_key="bench",
                        region_name="us-east-1", config=config)


def admin(server: StandInServer, path: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    method = "GET" if path == "/__stats" else "POST"
    with urllib.request.urlopen(urllib.request.Request(server.url + path, data=data, method=method)) as response:
        return json.load(response)


def all_keys(s3, **kwargs) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, **kwargs)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture(scope="module")
def server() -> Iterator[StandInServer]:
    running = start(Options(it_archive_days=90))
    yield running
    stop(running)


@pytest.fixture(scope="module")
def s3(server: StandInServer):
    return client(server)


@pytest.fixture(scope="module")
def expected_keys(server: StandInServer) -> list[str]:
    return [o.key for o in list(server.bucket.objects())]


def test_listing_is_complete_and_in_utf8_byte_order(s3, expected_keys: list[str]) -> None:
    keys = all_keys(s3, PaginationConfig={"PageSize": 170})
    assert len(keys) == OBJECTS
    assert keys == sorted(keys, key=lambda k: k.encode("utf-8"))
    assert keys == expected_keys


def test_start_after_and_continuation_token(s3, expected_keys: list[str]) -> None:
    middle = expected_keys[1234]
    page = s3.list_objects_v2(Bucket=BUCKET, StartAfter=middle, MaxKeys=10)
    assert [o["Key"] for o in page["Contents"]] == expected_keys[1235:1245]
    assert page["StartAfter"] == middle
    following = s3.list_objects_v2(Bucket=BUCKET, StartAfter=expected_keys[0], MaxKeys=10,
                                   ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in following["Contents"]] == expected_keys[1245:1255]
    last = s3.list_objects_v2(Bucket=BUCKET, StartAfter=expected_keys[-2])
    assert [o["Key"] for o in last["Contents"]] == expected_keys[-1:]
    assert last["IsTruncated"] is False and "NextContinuationToken" not in last


def test_prefix_and_delimiter_roll_up_across_pages(s3, expected_keys: list[str]) -> None:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="logs/", Delimiter="/",
                                                         PaginationConfig={"PageSize": 1})
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    assert prefixes == sorted({"logs/" + k.split("/")[1] + "/" for k in expected_keys if k.startswith("logs/")})
    top = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert "Contents" not in top
    assert top["KeyCount"] == len(top["CommonPrefixes"]) == len({k.split("/")[0] for k in expected_keys})


def test_unusual_keys_round_trip_through_listing_and_head(server: StandInServer, s3, expected_keys: list[str]) -> None:
    unusual = [k for k in expected_keys if not k.isascii() or any(c in k for c in " +%&<>'\"") or len(k) > 200]
    assert any(" " in k for k in unusual) and any("+" in k for k in unusual) and any("%" in k for k in unusual)
    assert any(not k.isascii() for k in unusual) and any(len(k) > 200 for k in unusual)
    for key in unusual:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=key, MaxKeys=1)
        assert listed["Prefix"] == key
        assert listed["Contents"][0]["Key"] == key
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ETag"] == f'"{server.bucket.get(key).etag}"'


def test_head_object_headers_follow_s3(server: StandInServer, s3) -> None:
    objects = list(server.bucket.objects())
    standard = next(o for o in objects if o.storage_class == "STANDARD")
    ongoing = next(o for o in objects if o.restore is True)
    restored = next(o for o in objects if o.restore not in (None, True))
    archived = next(o for o in objects if o.archive_status)
    head = s3.head_object(Bucket=BUCKET, Key=standard.key)
    assert "StorageClass" not in head and "Restore" not in head
    assert head["ContentLength"] == standard.size
    assert int(head["LastModified"].timestamp()) == standard.last_modified
    assert s3.head_object(Bucket=BUCKET, Key=ongoing.key)["Restore"] == 'ongoing-request="true"'
    restore = s3.head_object(Bucket=BUCKET, Key=restored.key)["Restore"]
    assert restore.startswith('ongoing-request="false", expiry-date="') and restore.endswith(' GMT"')
    assert s3.head_object(Bucket=BUCKET, Key=archived.key)["ArchiveStatus"] == archived.archive_status
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key="no/such/key")
    assert missing.value.response["Error"]["Code"] == "404"


def test_restore_status_only_when_asked_and_only_with_a_restore(server: StandInServer, s3) -> None:
    with_status = {o["Key"]: o for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, OptionalObjectAttributes=["RestoreStatus"]) for o in page["Contents"]}
    expected = {o.key for o in list(server.bucket.objects()) if o.restore is not None}
    assert {k for k, o in with_status.items() if "RestoreStatus" in o} == expected
    ongoing = next(o for o in list(server.bucket.objects()) if o.restore is True)
    assert with_status[ongoing.key]["RestoreStatus"] == {"IsRestoreInProgress": True}
    plain = s3.list_objects_v2(Bucket=BUCKET, Prefix=ongoing.key)
    assert "RestoreStatus" not in plain["Contents"][0]


def test_bucket_level_operations(s3) -> None:
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] is None
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket="other-bucket")
    assert missing.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as unsupported:
        s3.get_object(Bucket=BUCKET, Key="anything")
    assert unsupported.value.response["Error"]["Code"] == "NotImplemented"


def test_list_object_versions_pages_by_key_marker(s3, expected_keys: list[str]) -> None:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 700})
    versions = [v for page in pages for v in page.get("Versions", [])]
    assert [v["Key"] for v in versions] == expected_keys
    assert all(v["VersionId"] == "null" and v["IsLatest"] for v in versions)


def test_injected_503s_are_retried_by_botocore() -> None:
    flaky = start(Options(error_rate=0.3), objects=2000)
    try:
        s3 = client(flaky, retries={"mode": "standard", "max_attempts": 10})
        assert len(all_keys(s3, PaginationConfig={"PageSize": 100})) == 2000
        stats = admin(flaky, "/__stats")
        assert stats["errors_injected"] > 0
        assert stats["ListObjectsV2"] == 20 + stats["errors_injected"]
    finally:
        stop(flaky)


def test_stats_reset_and_mutations(server: StandInServer, s3) -> None:
    admin(server, "/__reset")
    s3.head_bucket(Bucket=BUCKET)
    s3.list_objects_v2(Bucket=BUCKET, MaxKeys=5)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="missing")
    stats = admin(server, "/__stats")
    assert (stats["HeadBucket"], stats["ListObjectsV2"], stats["HeadObject"], stats["errors_injected"]) == (1, 1, 1, 0)

    changed = admin(server, "/__mutate", {"add": 3, "transition": 2, "storage_class": "DEEP_ARCHIVE",
                                          "restore_complete": 1})
    assert len(changed["add"]) == 3 and len(changed["transition"]) == 2 and len(changed["restore_complete"]) == 1
    newest = s3.list_objects_v2(Bucket=BUCKET, Prefix="incoming/")["Contents"]
    assert [o["Key"] for o in newest] == changed["add"]
    assert all(time.time() - o["LastModified"].timestamp() < 60 for o in newest)
    assert s3.head_object(Bucket=BUCKET, Key=changed["transition"][0])["StorageClass"] == "DEEP_ARCHIVE"
    assert 'ongoing-request="false"' in s3.head_object(Bucket=BUCKET, Key=changed["restore_complete"][0])["Restore"]
    deleted = admin(server, "/__mutate", {"delete": 3})["delete"]
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key=deleted[0])
    assert admin(server, "/__stats")["objects"] == OBJECTS


def test_keys_are_generated_in_order_at_any_size() -> None:
    """The bucket is generated from each key's position; the keys must come out sorted, for 10 million as for 3,000,
    and a key must be found again from its text."""
    from datetime import datetime, timezone
    from standin_bucket import Layout
    layout = Layout(10_000_000, 7, datetime(2026, 1, 1, tzinfo=timezone.utc))
    sample = sorted({(i * 7_919_993) % len(layout) for i in range(5000)} | set(layout.starts) | {len(layout) - 1})
    keys = [layout[i] for i in sample]
    assert keys == sorted(keys, key=lambda k: k.encode("utf-8"))
    for index in sample:
        if index + 1 < len(layout):
            assert layout[index] < layout[index + 1]
    assert all(layout.index_of(layout[i]) == i for i in sample[::250])
    assert layout.index_of("logs/not-a-key") is None


def test_a_mutated_bucket_lists_its_changes_in_order() -> None:
    fresh = start(objects=500)
    try:
        admin(fresh, "/__mutate", {"add": 4, "delete": 5})
        keys = all_keys(client(fresh), PaginationConfig={"PageSize": 37})
        assert len(keys) == 499 and keys == sorted(keys)
        assert sum(k.startswith("incoming/") for k in keys) == 4
    finally:
        stop(fresh)


def test_tiering_configuration_matches_archive_tiers(s3) -> None:
    """With an archive configuration the bucket says so, as S3 does; without one no object is archived."""
    configurations = s3.list_bucket_intelligent_tiering_configurations(Bucket=BUCKET)
    tiers = [t["AccessTier"] for c in configurations["IntelligentTieringConfigurationList"] for t in c["Tierings"]]
    assert tiers == ["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]
    plain = start()
    try:
        assert not any(plain.bucket.get(key).archive_status for key in all_keys(client(plain)))
        listed = client(plain).list_bucket_intelligent_tiering_configurations(Bucket=BUCKET)
        assert listed.get("IntelligentTieringConfigurationList", []) == []
    finally:
        stop(plain)
