"""A thin handle on moto's in-process S3, including the changes S3 makes behind LastModified.

Storage-class transitions, restores and old LastModified values cannot be made through the S3 API, so
they are set on moto's backend objects directly, which is what S3's lifecycle engine does to real ones.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager
from moto.s3.models import s3_backends

RESTORE_MODEL = "s3::keyrestore"


class MotoS3:
    def __init__(self) -> None:
        self.client = boto3.client("s3", region_name="us-east-1")
        # Restores stay where a test puts them instead of completing on the next read.
        state_manager.set_transition(model_name=RESTORE_MODEL, transition={"progression": "manual", "times": 10**9})

    def create_bucket(self, name: str, region: str = "us-east-1") -> None:
        client = boto3.client("s3", region_name=region)
        if region == "us-east-1":
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def put(self, bucket: str, key: str, body: bytes = b"", storage_class: str | None = None,
            last_modified: datetime | None = None) -> None:
        extra = {"StorageClass": storage_class} if storage_class else {}
        self.client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        if last_modified is not None:
            self.set_last_modified(bucket, key, last_modified)

    def seed(self, bucket: str, keys: list[str], storage_class: str | None = None, age: timedelta | None = None,
             restoring: tuple[str, ...] = ()) -> None:
        """A new bucket holding `keys` (all `age` old), with restores in progress on `restoring`."""
        self.create_bucket(bucket)
        for key in keys:
            self.put(bucket, key, b"x", storage_class=storage_class)
        for key in restoring:
            self.start_restore(bucket, key)
        if age is not None:
            self.age_all(bucket, age)

    def bulk_put(self, bucket: str, keys: list[str], body: bytes = b"x") -> None:
        """Many objects at once through moto's backend (the HTTP path costs a millisecond per object)."""
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for key in keys:
            backend.put_object(bucket, key, body)

    def listing_restore(self, bucket: str, key: str) -> tuple[bool, str | None] | None:
        """What AWS's listing RestoreStatus says of `key`: (in progress, expiry) or None when never restored."""
        fake = self.fake_key(bucket, key)
        if fake.expiry_date is None:
            return None
        if fake.status == "IN_PROGRESS":
            return True, None
        return False, fake._expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def versioned(self, bucket: str) -> None:
        self.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def delete(self, bucket: str, key: str) -> None:
        self.client.delete_object(Bucket=bucket, Key=key)

    def sends_to_eventbridge(self, bucket: str) -> bool:
        """Whether the bucket's notification configuration has EventBridge on (moto's GET leaves it out)."""
        configuration = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].notification_configuration
        return configuration is not None and configuration.event_bridge is not None

    def fake_key(self, bucket: str, key: str) -> Any:
        return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys[key]

    def set_last_modified(self, bucket: str, key: str, when: datetime) -> None:
        self.fake_key(bucket, key).last_modified = when.astimezone(timezone.utc).replace(tzinfo=None)

    def age_all(self, bucket: str, age: timedelta) -> None:
        """Make every object look `age` old, as objects written long before the test."""
        when = datetime.now(timezone.utc) - age
        for key in list(s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].keys.keys()):
            self.set_last_modified(bucket, key, when)

    def set_storage_class(self, bucket: str, key: str, storage_class: str) -> None:
        self.fake_key(bucket, key).set_storage_class(storage_class)

    def start_restore(self, bucket: str, key: str) -> None:
        fake = self.fake_key(bucket, key)
        fake.set_expiry(datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=7))
        fake.status = "IN_PROGRESS"

    def complete_restore(self, bucket: str, key: str, expiry: datetime) -> None:
        fake = self.fake_key(bucket, key)
        fake.status = "RESTORED"
        fake.set_expiry(expiry.astimezone(timezone.utc).replace(tzinfo=None))

    def expire_restore(self, bucket: str, key: str) -> None:
        fake = self.fake_key(bucket, key)
        fake.set_expiry(None)
        fake.status = None

    def expected_rows(self, bucket: str) -> dict[tuple[str, str], dict[str, Any]]:
        """What the table must hold for `bucket`, read through the plain S3 API (independently of the connector)."""
        rows = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                storage_class = entry.get("StorageClass", "STANDARD")
                status = expiry = None
                if storage_class in ("GLACIER", "DEEP_ARCHIVE"):
                    header = self.client.head_object(Bucket=bucket, Key=entry["Key"]).get("Restore")
                    status = "archived"
                    if header and 'ongoing-request="true"' in header:
                        status = "in_progress"
                    elif header:
                        status = "restored"
                        expiry = parsedate_to_datetime(header.split('expiry-date="')[1].rstrip('"'))
                etag = entry["ETag"].strip('"')
                rows[(bucket, entry["Key"])] = {
                    "bucket": bucket, "key": entry["Key"], "size": entry["Size"], "e_tag": etag,
                    "storage_class": storage_class, "last_modified": entry["LastModified"].astimezone(timezone.utc),
                    "restore_status": status, "restore_expiry": expiry, "is_multipart": "-" in etag,
                }
        return rows


def key_marker_as_s3(monkeypatch: Any) -> None:
    """Make moto's ListObjectVersions treat a KeyMarker sent without VersionIdMarker as S3 does: list every version of
    every key after it. moto 5.2.5 instead skips the keys before it and then exactly one version, so it returns the
    later versions of a marker that is a key with several versions, and drops the latest version of the first key
    after a marker that is no key (KeyMarker 'a' over versions a, a, b lists a, b; KeyMarker 'a0' lists nothing).
    The request is turned into the one moto answers right: after the last version of the last key not after the
    marker (KeyMarker and VersionIdMarker), or from the start."""
    from moto.s3.models import S3Backend, unix_time_millis

    original = S3Backend.list_object_versions

    def list_object_versions(self: Any, bucket_name: str, delimiter: str | None = None, key_marker: str | None = None,
                             max_keys: int | None = 1000, prefix: str = "",
                             version_id_marker: str | None = None) -> Any:
        if key_marker and not version_id_marker:
            bucket = self.get_bucket(bucket_name)
            before = max((name for name in bucket.keys.keys() if name <= key_marker), default=None)
            if before is not None:
                # moto's own order of a key's versions: newest first, ties in the order they were written
                versions = sorted(bucket.keys.getlist(before), key=lambda v: -unix_time_millis(v.last_modified))
                key_marker, version_id_marker = before, versions[-1].version_id
            else:
                key_marker = None
        return original(self, bucket_name, delimiter, key_marker, max_keys, prefix, version_id_marker)

    monkeypatch.setattr(S3Backend, "list_object_versions", list_object_versions)
