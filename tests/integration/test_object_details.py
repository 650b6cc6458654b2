"""Object details (issue 12) through the SDK runner against moto: every column lands as S3 reports it, an incremental
sync pays one HEAD and one GetObjectTagging per sent object and nothing else, and failures per object are rows that
say what is known, counted in the closing warning and tried again.

moto serves object lock (legal hold, retention), SSE-KMS with a moto KMS key, content headers, user metadata, tags
and checksums. It never sends x-amz-replication-status or x-amz-expiration, so the fault injector adds them to moto's
own HEAD answers; and it refuses GetObjectTagging on GLACIER objects (InvalidObjectState), which AWS answers, so
the tests that need archived objects answer that request for them as AWS would.

The expected rows are computed from S3's raw response headers (`ResponseMetadata.HTTPHeaders`), not from the
connector's mapping of botocore's parsed fields.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import duckdb
import pytest

from tests.conftest import S3_COMPATIBLE_ENDPOINT
from tests.support.harness import SCHEMA, project_rows
from tests.support.readme_blocks import for_local_warehouse, queries

BUCKET = "lock-bucket"
OLD = timedelta(days=30)
RETAIN_UNTIL = datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
EXPIRY_HEADER = 'expiry-date="Fri, 23 Dec 2033 00:00:00 GMT", rule-id="delete%20old%2Fexports"'
DETAIL_COLUMNS = ["version_id", "content_type", "content_encoding", "cache_control", "server_side_encryption",
                  "sse_kms_key_id", "bucket_key_enabled", "object_lock_mode", "object_lock_retain_until",
                  "object_lock_legal_hold", "replication_status", "expiration_date", "expiration_rule_id",
                  "parts_count", "checksum_crc32", "checksum_crc32c", "checksum_crc64nvme", "checksum_sha1",
                  "checksum_sha256", "user_metadata", "tags"]
EMPTY_TAGGING = b'<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet></TagSet></Tagging>'


def kms_key() -> str:
    return boto3.client("kms", region_name="us-east-1").create_key(Description="test")["KeyMetadata"]["Arn"]


def replication_and_expiration(bucket: str, key: str) -> dict[str, str]:
    """What AWS would add to HEAD for these keys: replication status and the lifecycle rule's expiry."""
    headers = {}
    if key.startswith("replicated/"):
        headers["x-amz-replication-status"] = "FAILED" if key.endswith("-failed") else "COMPLETED"
    if key.startswith("exports/"):
        headers["x-amz-expiration"] = EXPIRY_HEADER
    return headers


def lock_bucket(s3: Any) -> dict[str, dict[str, Any]]:
    """A bucket with Object Lock and objects showing every detail; returns what each was written with."""
    s3.client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    key_arn = kms_key()
    written = {
        "legal/held.pdf": {"ContentType": "application/pdf", "ObjectLockLegalHoldStatus": "ON",
                           "Tagging": "case=4711&cost-center=legal"},
        "legal/released.pdf": {"ContentType": "application/pdf", "ObjectLockLegalHoldStatus": "OFF"},
        "retained/ledger.csv": {"ContentType": "text/csv", "ObjectLockMode": "COMPLIANCE",
                                "ObjectLockRetainUntilDate": RETAIN_UNTIL, "ChecksumAlgorithm": "SHA256"},
        "secret/kms.bin": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn, "BucketKeyEnabled": True,
                           "Tagging": "cost-center=security"},
        "web/index.html.gz": {"ContentType": "text/html", "ContentEncoding": "gzip", "CacheControl": "max-age=300",
                              "Metadata": {"owner": "web-team", "build": "2024.05.1"}},
        "replicated/ok": {}, "replicated/x-failed": {},
        "exports/2024.parquet": {"Tagging": "team=data"},
        "plain.txt": {},
    }
    for key, extra in written.items():
        s3.client.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), **extra)
    s3.age_all(BUCKET, OLD)
    return written


def expected_details(client: Any, bucket: str, key: str) -> dict[str, Any]:
    """The detail columns of `key` from S3's raw HEAD headers and its tag set."""
    response = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    raw = response["ResponseMetadata"]["HTTPHeaders"]
    expiry = rule = None
    if "x-amz-expiration" in raw:
        fields = dict(part.strip().split("=", 1) for part in raw["x-amz-expiration"].split('", '))
        expiry = parsedate_to_datetime(fields["expiry-date"].strip('"'))
        rule = unquote(fields["rule-id"].strip('"'))
    retain = raw.get("x-amz-object-lock-retain-until-date")
    hold = raw.get("x-amz-object-lock-legal-hold")
    bucket_key = raw.get("x-amz-server-side-encryption-bucket-key-enabled")
    return {
        "version_id": raw.get("x-amz-version-id"), "content_type": raw.get("content-type"),
        "content_encoding": raw.get("content-encoding"), "cache_control": raw.get("cache-control"),
        "server_side_encryption": raw.get("x-amz-server-side-encryption"),
        "sse_kms_key_id": raw.get("x-amz-server-side-encryption-aws-kms-key-id"),
        "bucket_key_enabled": None if bucket_key is None else bucket_key == "true",
        "object_lock_mode": raw.get("x-amz-object-lock-mode"),
        "object_lock_retain_until": datetime.fromisoformat(retain.replace("Z", "+00:00")) if retain else None,
        "object_lock_legal_hold": None if hold is None else hold == "ON",
        "replication_status": raw.get("x-amz-replication-status"), "expiration_date": expiry,
        "expiration_rule_id": rule, "parts_count": int(raw["x-amz-mp-parts-count"]) if "x-amz-mp-parts-count" in raw
        else None,
        **{f"checksum_{name}": raw.get(f"x-amz-checksum-{name}")
           for name in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")},
        "user_metadata": {name[len("x-amz-meta-"):]: value for name, value in raw.items()
                          if name.startswith("x-amz-meta-")},
        "tags": {tag["Key"]: tag["Value"] for tag in client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]},
    }


def as_values(row: dict[str, Any]) -> dict[str, Any]:
    """A warehouse row's detail columns as Python values (JSON columns come back as text)."""
    values = {name: row.get(name) for name in DETAIL_COLUMNS}
    for name in ("user_metadata", "tags"):
        if isinstance(values[name], str):
            values[name] = json.loads(values[name])
    return values


@pytest.fixture
def details_bucket(harness) -> dict[str, dict[str, Any]]:
    harness.faults.add_headers("HeadObject", replication_and_expiration)
    return lock_bucket(harness.s3)


def test_full_sync_lands_every_detail_as_s3_reports_it(harness, base_config, details_bucket):
    result = harness.sync(base_config(bucket=BUCKET, object_details="head,tags"))
    assert result.ok, result.error
    # One HEAD and one GetObjectTagging per object, nothing more.
    assert harness.faults.requests["HeadObject"] == len(details_bucket)
    assert harness.faults.requests["GetObjectTagging"] == len(details_bucket)
    rows = harness.rows()
    assert set(rows) == {(BUCKET, key) for key in details_bucket}
    oracle = boto3.session.Session().client("s3", region_name="us-east-1")  # a new session sees injected headers
    for key in details_bucket:
        assert as_values(rows[(BUCKET, key)]) == expected_details(oracle, BUCKET, key), key
    held = as_values(rows[(BUCKET, "legal/held.pdf")])
    assert (held["object_lock_legal_hold"], held["tags"]) == (True, {"case": "4711", "cost-center": "legal"})
    assert as_values(rows[(BUCKET, "legal/released.pdf")])["object_lock_legal_hold"] is False
    retained = as_values(rows[(BUCKET, "retained/ledger.csv")])
    assert (retained["object_lock_mode"], retained["object_lock_retain_until"]) == ("COMPLIANCE", RETAIN_UNTIL)
    assert retained["checksum_sha256"] and retained["checksum_crc32"] is None
    kms = as_values(rows[(BUCKET, "secret/kms.bin")])
    assert kms["server_side_encryption"] == "aws:kms" and kms["sse_kms_key_id"].startswith("arn:aws:kms:")
    assert kms["bucket_key_enabled"] is True
    web = as_values(rows[(BUCKET, "web/index.html.gz")])
    assert web["user_metadata"] == {"owner": "web-team", "build": "2024.05.1"} and web["cache_control"] == "max-age=300"
    assert as_values(rows[(BUCKET, "replicated/x-failed")])["replication_status"] == "FAILED"
    exports = as_values(rows[(BUCKET, "exports/2024.parquet")])
    assert (exports["expiration_date"], exports["expiration_rule_id"]) == (
        datetime(2033, 12, 23, tzinfo=timezone.utc), "delete old/exports")
    plain = as_values(rows[(BUCKET, "plain.txt")])
    assert (plain["tags"], plain["user_metadata"], plain["object_lock_legal_hold"]) == ({}, {}, None)


def test_declared_types_of_the_detail_columns(harness, base_config, details_bucket):
    assert harness.sync(base_config(bucket=BUCKET, object_details="head,tags")).ok
    types = harness.column_types()
    assert {name: types[name] for name in ("bucket_key_enabled", "object_lock_legal_hold", "object_lock_retain_until",
                                           "expiration_date", "parts_count", "user_metadata", "tags",
                                           "sse_kms_key_id")} == {
        "bucket_key_enabled": "BOOLEAN", "object_lock_legal_hold": "BOOLEAN",
        "object_lock_retain_until": "TIMESTAMP WITH TIME ZONE", "expiration_date": "TIMESTAMP WITH TIME ZONE",
        "parts_count": "INTEGER", "user_metadata": "JSON", "tags": "JSON", "sse_kms_key_id": "VARCHAR"}


@pytest.mark.parametrize("details, present, absent", [
    pytest.param("", [], DETAIL_COLUMNS, id="off"),
    pytest.param("tags", ["tags"], [c for c in DETAIL_COLUMNS if c != "tags"], id="tags-alone"),
    pytest.param("head", [c for c in DETAIL_COLUMNS if c != "tags"], ["tags"], id="head-alone"),
])
def test_only_chosen_columns_exist(harness, base_config, details, present, absent):
    harness.s3.create_bucket("test-bucket")
    harness.s3.put("test-bucket", "a", b"x")
    assert harness.sync(base_config(object_details=details)).ok
    types = harness.column_types()
    assert all(name in types for name in present)
    assert not [name for name in absent if name in types]
    # tags alone still HEADs every sent object (the HEAD is made either way); no details, no HEAD.
    assert harness.faults.requests["HeadObject"] == (0 if not details else 1)
    assert harness.faults.requests["GetObjectTagging"] == (1 if "tags" in details else 0)


def mirrored_buckets(s3: Any, names: tuple[str, ...]) -> None:
    """Buckets with the same objects: standard ones and, on an endpoint in `head` restore mode, archived ones that
    are HEADed every sync for their restore status."""
    for name in names:
        s3.create_bucket(name)
        for i in range(60):
            s3.put(name, f"data/{i:03d}", b"x")
        for i in range(12):
            s3.put(name, f"cold/{i:03d}", b"c", storage_class="GLACIER")
        s3.age_all(name, OLD)


def archived_tagging_as_aws(faults: Any) -> None:
    """AWS answers GetObjectTagging for archived objects; moto answers InvalidObjectState."""
    faults.respond("GetObjectTagging", 200, body=EMPTY_TAGGING, when=lambda op, request, n: "/cold/" in request.url)


def change(s3: Any, bucket: str) -> int:
    """New objects in three places, and a restore started on an archived one (seen only by its HEAD): 4 rows."""
    for key in ("data/000a", "data/031a", "zz/new"):
        s3.put(bucket, key, b"new")
    s3.start_restore(bucket, "cold/005")
    return 4


def test_incremental_sync_costs_one_head_and_one_tagging_per_sent_object(harness, base_config):
    """The same bucket and the same changes, synced without and with details: the difference is exactly one HEAD
    and one GetObjectTagging per row sent, and the HEADs made for restore status are not repeated."""
    s3 = harness.s3
    mirrored_buckets(s3, ("plain-bucket", "details-bucket"))
    archived_tagging_as_aws(harness.faults)
    plain = base_config(bucket="plain-bucket", endpoint_url=S3_COMPATIBLE_ENDPOINT)
    detailed = base_config(bucket="details-bucket", endpoint_url=S3_COMPATIBLE_ENDPOINT, object_details="head,tags")
    counts = {}
    for name, config in (("plain", plain), ("details", detailed)):
        project = harness.project.parent / name
        runner = type(harness)(project, s3, harness.faults)
        assert runner.sync(config).ok
        changed = change(s3, config["bucket"])
        harness.faults.clear()
        archived_tagging_as_aws(harness.faults)
        result = runner.sync(config)
        assert result.ok, result.error
        assert result.upserts == changed
        counts[name] = dict(harness.faults.requests)
        rows = runner.rows()
    restored = rows[("details-bucket", "cold/005")]
    assert restored["restore_status"] == "in_progress" and restored["content_type"] == "binary/octet-stream"
    # Every archived object is HEADed every sync in both (head mode): details add no second HEAD to any of them.
    assert counts["plain"]["HeadObject"] >= 12
    assert counts["details"]["HeadObject"] - counts["plain"]["HeadObject"] == 3
    assert counts["details"].get("GetObjectTagging", 0) == 4
    assert counts["details"]["ListObjectsV2"] == counts["plain"]["ListObjectsV2"]


def test_unchanged_bucket_costs_no_detail_request(harness, base_config):
    harness.s3.seed("test-bucket", [f"k/{i:03d}" for i in range(80)], age=OLD)
    config = base_config(object_details="head,tags")
    assert harness.sync(config).ok
    harness.faults.clear()
    result = harness.sync(config)
    assert result.ok and result.upserts == 0
    assert (harness.faults.requests["HeadObject"], harness.faults.requests["GetObjectTagging"]) == (0, 0)


def test_tagging_denied_writes_the_row_counts_it_and_retries_next_sync(harness, base_config, capfd):
    harness.s3.seed("test-bucket", [f"k/{i:02d}" for i in range(10)], age=OLD)
    harness.s3.client.put_object_tagging(Bucket="test-bucket", Key="k/03", Tagging={"TagSet": [
        {"Key": "cost-center", "Value": "42"}]})
    denied = ("/k/03", "/k/07")
    harness.faults.respond("GetObjectTagging", 403, code="AccessDenied",
                           when=lambda op, request, n: request.url.split("?")[0].endswith(denied))
    config = base_config(object_details="head,tags")
    result = harness.sync(config)
    assert result.ok, result.error
    rows = harness.rows()
    assert len(rows) == 10
    row = rows[("test-bucket", "k/03")]
    assert row["tags"] is None and row["content_type"] == "binary/octet-stream" and row["restore_status"] is None
    assert json.loads(rows[("test-bucket", "k/04")]["tags"]) == {}
    out = capfd.readouterr().out
    assert "2 objects' tags could not be read by GetObjectTagging (AccessDenied: 2)" in out
    assert out.count("could not be") == 1  # one closing warning
    # Still denied: asked again (one HEAD and one tagging each), no row re-sent.
    harness.faults.requests.clear()
    again = harness.sync(config)
    assert again.ok and again.upserts == 0
    assert (harness.faults.requests["HeadObject"], harness.faults.requests["GetObjectTagging"]) == (2, 2)
    # Granted: the two rows are sent again with their tags, and the objects stop being tracked.
    harness.faults.clear()
    fixed = harness.sync(config)
    assert fixed.ok and fixed.upserts == 2
    assert json.loads(harness.rows()[("test-bucket", "k/03")]["tags"]) == {"cost-center": "42"}
    assert harness.saved_state()["streams"]["test-bucket/"]["restores"] == {}
    harness.faults.clear()
    assert harness.sync(config).upserts == 0
    assert harness.faults.requests["HeadObject"] == 0


def test_kms_refusing_the_checksum_head_leaves_details_null_and_retries(harness, base_config, capfd):
    """SSE-KMS objects need kms:Decrypt for HEAD with ChecksumMode=ENABLED; without it S3 answers 403."""
    harness.s3.seed("test-bucket", ["a", "kms-object", "z"], age=OLD)
    harness.faults.respond("HeadObject", 403, when=lambda op, request, n: request.url.endswith("/kms-object")
                           and request.headers.get("x-amz-checksum-mode") == b"ENABLED")
    config = base_config(object_details="head")
    assert harness.sync(config).ok
    row = harness.rows()[("test-bucket", "kms-object")]
    assert row["restore_status"] is None and row["content_type"] is None and row["user_metadata"] is None
    assert harness.rows()[("test-bucket", "a")]["content_type"] == "binary/octet-stream"
    assert "1 objects could not be described by HEAD (AccessDenied: 1)" in capfd.readouterr().out
    harness.faults.clear()
    fixed = harness.sync(config)
    assert fixed.ok and fixed.upserts == 1
    assert harness.rows()[("test-bucket", "kms-object")]["content_type"] == "binary/octet-stream"


def test_unreadable_expiration_leaves_both_columns_null_and_is_counted(harness, base_config, capfd):
    harness.s3.seed("test-bucket", ["a", "b"], age=OLD)
    harness.faults.add_headers("HeadObject", lambda bucket, key: {
        "x-amz-expiration": "NotImplemented" if key == "a" else EXPIRY_HEADER})
    assert harness.sync(base_config(object_details="head")).ok
    rows = harness.rows()
    assert (rows[("test-bucket", "a")]["expiration_date"], rows[("test-bucket", "a")]["expiration_rule_id"]) == (
        None, None)
    assert rows[("test-bucket", "b")]["expiration_rule_id"] == "delete old/exports"
    assert "1 header values could not be read (x-amz-expiration: 1)" in capfd.readouterr().out


def test_choosing_details_later_sends_every_object_again_once(harness, base_config):
    harness.s3.seed("test-bucket", [f"k/{i:03d}" for i in range(120)], age=OLD)
    assert harness.sync(base_config(range_size="20")).ok
    harness.faults.clear()
    turned_on = harness.sync(base_config(range_size="20", object_details="head"))
    assert turned_on.ok and turned_on.upserts == 120
    assert all(row["content_type"] == "binary/octet-stream" for row in harness.rows().values())
    assert harness.faults.requests["HeadObject"] == 120
    harness.faults.clear()
    assert harness.sync(base_config(range_size="20", object_details="head")).upserts == 0
    added_tags = harness.sync(base_config(range_size="20", object_details="head,tags"))
    assert added_tags.upserts == 120
    assert all(row["tags"] == "{}" or json.loads(row["tags"]) == {} for row in harness.rows().values())
    # Turning a detail off sends nothing again.
    assert harness.sync(base_config(range_size="20", object_details="head")).upserts == 0


def test_versions_table_carries_no_details(harness, base_config):
    harness.s3.create_bucket("test-bucket")
    harness.s3.versioned("test-bucket")
    harness.s3.put("test-bucket", "a", b"1")
    harness.s3.put("test-bucket", "a", b"2")
    assert harness.sync(base_config(object_details="head,tags", sync_versions="true")).ok
    versions = harness.versions()
    assert len(versions) == 2 and not set(versions[0]) & {"content_type", "tags", "user_metadata"}
    assert harness.rows()[("test-bucket", "a")]["version_id"] == next(
        v["version_id"] for v in versions if v["is_latest"])


def test_rows_without_details_are_unchanged(harness, base_config):
    """Details off: the same rows and requests as before the setting existed."""
    harness.s3.seed("test-bucket", ["a", "b"], age=OLD)
    assert harness.sync(base_config()).ok
    columns = set(next(iter(harness.rows().values())))
    assert not columns & set(DETAIL_COLUMNS)
    assert harness.faults.requests["HeadObject"] == 0 and harness.faults.requests["GetObjectTagging"] == 0
    assert project_rows(harness.rows(), ["key"]) == {("test-bucket", k): {"key": k} for k in ("a", "b")}


# ------------------------------------------------------------------------------------------------ event mode

@pytest.fixture
def event_bucket(harness):
    """A bucket of old objects notifying a fresh queue of object, tagging and replication events."""
    from tests.integration.test_event_mode import EventQueue
    harness.s3.create_bucket("test-bucket")
    for i in range(5):
        harness.s3.put("test-bucket", f"k/{i}", b"x")
    harness.s3.age_all("test-bucket", OLD)
    events = EventQueue()
    harness.s3.client.put_bucket_notification_configuration(Bucket="test-bucket", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": events.arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectTagging:*"]}]})
    return events


@pytest.fixture
def fast_polls(monkeypatch):
    from s3_metadata import event_mode
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)


def test_event_mode_rows_carry_details_and_tag_events_reread_the_object(harness, base_config, event_bucket,
                                                                         fast_polls):
    config = base_config(sqs_queue_url=event_bucket.url, object_details="head,tags")
    assert harness.sync(config).ok  # the first sync lists
    harness.faults.add_headers("HeadObject", replication_and_expiration)
    harness.s3.client.put_object(Bucket="test-bucket", Key="new.csv", Body=b"n", ContentType="text/csv",
                                 Metadata={"owner": "ops"}, Tagging="team=ops")
    harness.s3.client.put_object_tagging(Bucket="test-bucket", Key="k/2", Tagging={"TagSet": [
        {"Key": "cost-center", "Value": "7"}]})
    harness.faults.clear()
    result = harness.sync(config)
    assert result.ok, result.error
    rows = harness.rows()
    new = rows[("test-bucket", "new.csv")]
    assert (new["content_type"], json.loads(new["user_metadata"]), json.loads(new["tags"])) == (
        "text/csv", {"owner": "ops"}, {"team": "ops"})
    assert json.loads(rows[("test-bucket", "k/2")]["tags"]) == {"cost-center": "7"}
    assert (harness.faults.requests["HeadObject"], harness.faults.requests["GetObjectTagging"]) == (2, 2)
    assert harness.faults.requests["ListObjectsV2"] == 1  # the one key range the events touched
    assert event_bucket.depth() == 0


def test_event_mode_without_tags_ignores_tag_events(harness, base_config, event_bucket, fast_polls):
    config = base_config(sqs_queue_url=event_bucket.url, object_details="head")
    assert harness.sync(config).ok
    harness.s3.client.put_object_tagging(Bucket="test-bucket", Key="k/2", Tagging={"TagSet": [
        {"Key": "cost-center", "Value": "7"}]})
    harness.faults.clear()
    assert harness.sync(config).ok
    assert harness.faults.requests["HeadObject"] == 0 and event_bucket.depth() == 0
    assert "tags" not in harness.rows()[("test-bucket", "k/2")]


def test_event_mode_replication_event_rereads_with_head_details(harness, base_config, event_bucket, fast_polls):
    from tests.unit.test_events import s3_notification, s3_record
    config = base_config(sqs_queue_url=event_bucket.url, object_details="head")
    assert harness.sync(config).ok
    harness.faults.add_headers("HeadObject", lambda bucket, key: {"x-amz-replication-status": "FAILED"})
    event_bucket.send(s3_notification(s3_record("k/3", "Replication:OperationFailedReplication",
                                                bucket="test-bucket")))
    harness.faults.clear()
    assert harness.sync(config).ok
    assert harness.rows()[("test-bucket", "k/3")]["replication_status"] == "FAILED"
    assert harness.faults.requests["HeadObject"] == 1


def test_event_mode_tagging_denied_writes_the_row_and_retries_the_object(harness, base_config, event_bucket,
                                                                         fast_polls, capfd):
    config = base_config(sqs_queue_url=event_bucket.url, object_details="head,tags")
    assert harness.sync(config).ok
    harness.s3.client.put_object(Bucket="test-bucket", Key="denied.csv", Body=b"d", ContentType="text/csv")
    harness.faults.clear()
    harness.faults.respond("GetObjectTagging", 403, code="AccessDenied")
    assert harness.sync(config).ok
    row = harness.rows()[("test-bucket", "denied.csv")]
    assert row["content_type"] == "text/csv" and row["tags"] is None
    assert "1 objects' tags could not be read by GetObjectTagging (AccessDenied: 1)" in capfd.readouterr().out
    # Its messages are done with; the object is tracked, and described again by every later sync until it works.
    assert event_bucket.depth() == 0
    assert harness.saved_state()["streams"]["test-bucket/"]["restores"]["denied.csv"][3] == "tags:AccessDenied"
    harness.faults.clear()
    assert harness.sync(config).ok  # no event: the drain still looks at the object whose description failed
    assert harness.rows()[("test-bucket", "denied.csv")]["tags"] == "{}"
    assert "denied.csv" not in harness.saved_state()["streams"]["test-bucket/"]["restores"]


def readme_queries() -> dict[int, str]:
    """The README's object-details SQL (queries 12 and up), by number, for the local warehouse (schema `tester`)."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    numbered = {int(title.split(".", 1)[0]): sql for title, sql in queries(text) if title.split(".", 1)[0].isdigit()}
    return {number: for_local_warehouse(sql, SCHEMA) for number, sql in numbered.items() if number >= 12}


def test_readme_compliance_queries_answer_on_the_warehouse(harness, base_config, details_bucket):
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%a, %d %b %Y 00:00:00 GMT")
    harness.faults.add_headers("HeadObject", lambda bucket, key: {
        **replication_and_expiration(bucket, key),
        **({"x-amz-expiration": f'expiry-date="{soon}", rule-id="tmp"'} if key == "plain.txt" else {})})
    assert harness.sync(base_config(bucket=BUCKET, object_details="head,tags")).ok
    kms_arn = harness.s3.client.head_object(Bucket=BUCKET, Key="secret/kms.bin")["SSEKMSKeyId"]
    examples = readme_queries()
    assert sorted(examples) == list(range(12, 19))
    examples[12] = examples[12].replace(
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", kms_arn)
    with duckdb.connect(str(harness.project / "files" / "warehouse.db"), read_only=True) as con:
        def column(number: int, name: str) -> set[Any]:
            cursor = con.execute(examples[number])
            index = [d[0] for d in cursor.description].index(name)
            return {row[index] for row in cursor.fetchall()}
        assert column(12, "key") == set(details_bucket) - {"secret/kms.bin"}
        assert column(13, "key") == {"legal/held.pdf", "retained/ledger.csv"}
        assert column(14, "key") == {"replicated/x-failed"}
        assert column(15, "prefix") == {"legal", "retained", "web", "replicated", "exports", "plain.txt"}
        assert column(16, "key") == {"plain.txt"}
        assert column(17, "cost_center") == {"legal", "security", "(untagged)"}
        assert column(18, "key") == set()


def test_pending_replication_is_looked_at_again_until_it_completes(harness, base_config):
    """x-amz-replication-status changes behind LastModified; PENDING objects are tracked like restores in progress."""
    harness.s3.seed("test-bucket", ["a", "replicated/new", "z"], age=OLD)
    status = {"value": "PENDING"}
    harness.faults.add_headers("HeadObject", lambda bucket, key: {"x-amz-replication-status": status["value"]}
                               if key == "replicated/new" else {})
    config = base_config(object_details="head")
    assert harness.sync(config).ok
    assert harness.rows()[("test-bucket", "replicated/new")]["replication_status"] == "PENDING"
    harness.faults.requests.clear()
    still = harness.sync(config)
    assert (still.upserts, harness.faults.requests["HeadObject"]) == (0, 1)
    status["value"] = "COMPLETED"
    harness.faults.requests.clear()
    done = harness.sync(config)
    assert (done.upserts, harness.faults.requests["HeadObject"]) == (1, 1)
    assert harness.rows()[("test-bucket", "replicated/new")]["replication_status"] == "COMPLETED"
    harness.faults.requests.clear()
    assert harness.sync(config).upserts == 0 and harness.faults.requests["HeadObject"] == 0


def test_taking_tags_out_of_the_details_sends_nothing_again(harness, base_config):
    """Objects whose GetObjectTagging failed are tracked to be tried again; once `tags` is no longer chosen, the note
    is dropped rather than turned into a row sent again unchanged (found by the model test)."""
    harness.s3.create_bucket(BUCKET)
    for i in range(4):
        harness.s3.put(BUCKET, f"t/{i}", b"x")
    harness.faults.respond("GetObjectTagging", 403, code="AccessDenied")
    assert harness.sync(base_config(bucket=BUCKET, object_details="head,tags")).ok
    assert len(harness.saved_state()["streams"][f"{BUCKET}/"]["restores"]) == 4
    harness.faults.clear()
    result = harness.sync(base_config(bucket=BUCKET, object_details="head"))
    assert result.ok and (result.upserts, result.deletes) == (0, 0)
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["restores"] == {}
