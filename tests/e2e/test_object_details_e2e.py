"""Object details (issue 12) end to end: the real `fivetran debug` against moto_server declares the chosen columns
with their types, and they land in the warehouse with what S3 reports, on a bucket with Object Lock, SSE-KMS, tags,
content headers and user metadata. Expected values come from plain boto3 calls against the same server."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from scripts.connector_project import (
    QUALIFIED_TABLE, SCHEMA, TABLE, local_configuration, make_project, query, write_configuration,
)
from scripts.local_s3 import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET, REGION
from tests.e2e.test_fivetran_debug import synced

pytestmark = pytest.mark.e2e

RETAIN_UNTIL = datetime(2032, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
# Declared type -> what DuckDB (the SDK's local destination) makes of it; names as source naming (make debug's) keeps
# them.
EXPECTED_TYPES = {
    "version_id": "VARCHAR", "content_type": "VARCHAR", "content_encoding": "VARCHAR", "cache_control": "VARCHAR",
    "server_side_encryption": "VARCHAR", "sse_kms_key_id": "VARCHAR", "bucket_key_enabled": "BOOLEAN",
    "object_lock_mode": "VARCHAR", "object_lock_retain_until": "TIMESTAMP WITH TIME ZONE",
    "object_lock_legal_hold": "BOOLEAN", "replication_status": "VARCHAR",
    "expiration_date": "TIMESTAMP WITH TIME ZONE", "expiration_rule_id": "VARCHAR", "parts_count": "INTEGER",
    "checksum_crc32": "VARCHAR", "checksum_crc32c": "VARCHAR", "checksum_crc64nvme": "VARCHAR",
    "checksum_sha1": "VARCHAR", "checksum_sha256": "VARCHAR", "user_metadata": "JSON", "tags": "JSON",
}


def kms_key(endpoint: str) -> str:
    kms = boto3.session.Session().client("kms", endpoint_url=endpoint, region_name=REGION,
                                         aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET)
    return kms.create_key(Description="e2e")["KeyMetadata"]["Arn"]


def column_types(project: Path) -> dict[str, str]:
    return dict(query(project, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                               "AND table_name = ?", [SCHEMA, TABLE])[1])


def detail_rows(project: Path, bucket: str) -> dict[str, dict[str, Any]]:
    names, rows = query(project, f"SELECT key, {', '.join(EXPECTED_TYPES)} FROM {QUALIFIED_TABLE} WHERE bucket = ? "
                                 "AND NOT coalesce(_fivetran_deleted, false)", [bucket])
    result = {}
    for row in rows:
        values = dict(zip(names, row))
        for name in ("user_metadata", "tags"):
            values[name] = json.loads(values[name]) if isinstance(values[name], str) else values[name]
        result[values.pop("key")] = values
    return result


def test_details_land_through_fivetran_debug_with_their_declared_types(tmp_path: Path, local_s3: str, s3: Any):
    bucket = "e2e-object-details"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    key_arn = kms_key(local_s3)
    s3.put_object(Bucket=bucket, Key="legal/held.pdf", Body=b"pdf", ContentType="application/pdf",
                  ObjectLockLegalHoldStatus="ON", Tagging="case=4711")
    s3.put_object(Bucket=bucket, Key="retained/ledger.csv", Body=b"csv", ContentType="text/csv",
                  ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=RETAIN_UNTIL, ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=bucket, Key="secret/kms.bin", Body=b"k", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn,
                  BucketKeyEnabled=True, Metadata={"owner": "security"}, Tagging="cost-center=sec")
    s3.put_object(Bucket=bucket, Key="web/page.html.gz", Body=b"g", ContentType="text/html", ContentEncoding="gzip",
                  CacheControl="max-age=60")
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3, object_details="head,tags"))
    run = synced(project)
    assert run.counts["Upserts"] == 4

    types = column_types(project)
    assert {name: types.get(name) for name in EXPECTED_TYPES} == EXPECTED_TYPES
    rows = detail_rows(project, bucket)
    held, ledger, secret, page = (rows[k] for k in ("legal/held.pdf", "retained/ledger.csv", "secret/kms.bin",
                                                    "web/page.html.gz"))
    assert (held["object_lock_legal_hold"], held["tags"], held["content_type"]) == (True, {"case": "4711"},
                                                                                   "application/pdf")
    assert held["version_id"] == s3.head_object(Bucket=bucket, Key="legal/held.pdf")["VersionId"]
    assert (ledger["object_lock_mode"], ledger["object_lock_retain_until"].astimezone(timezone.utc)) == (
        "GOVERNANCE", RETAIN_UNTIL)
    assert ledger["checksum_sha256"] == s3.head_object(Bucket=bucket, Key="retained/ledger.csv",
                                                        ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert (secret["server_side_encryption"], secret["sse_kms_key_id"], secret["bucket_key_enabled"]) == (
        "aws:kms", key_arn, True)
    assert (secret["user_metadata"], secret["tags"]) == ({"owner": "security"}, {"cost-center": "sec"})
    assert (page["content_encoding"], page["cache_control"], page["tags"], page["user_metadata"]) == (
        "gzip", "max-age=60", {}, {})

    unchanged = synced(project)
    assert unchanged.counts["Upserts"] == 0
    assert "0 HEAD, 0 GetObjectTagging" in unchanged.output
