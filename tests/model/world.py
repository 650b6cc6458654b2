"""The test's S3: moto in process, two buckets and an event queue, with a logical clock and moto's gaps filled in.

Everything the model does to S3 goes through here, so that the world is a deterministic function of the operations
applied to it:
- a logical clock: every write gets LastModified from it (moto would stamp the wall clock, so whether two writes
  share a second, and every digest, would change from run to run); moto's random source is seeded, so version ids
  are reproducible too;
- moto's ListObjectVersions is replaced by an AWS-faithful one, and so, with `archived_tags`, is its refusal of
  GetObjectTagging on archived objects (aws_answers.py);
- with `listing_restore`, ListObjectsV2 answers `OptionalObjectAttributes=RestoreStatus` as AWS does (moto ignores
  it, like many S3-compatible stores: the world without it is such a store);
- events: moto notifies the queue of puts, copies, multipart uploads and deletes in unversioned buckets, but not of
  a delete marker, a version deleted by id while others remain, or any change made behind LastModified (transitions,
  restores); S3 would, so the world sends those notifications itself. A bucket in another region than the queue
  cannot notify it (S3 and moto refuse the configuration; on AWS an EventBridge rule would forward its events), so
  the world sends every notification of such a bucket itself. Extra notifications are harmless: event mode asks S3
  for the truth of every key it is told about.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote_plus

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeDeleteMarker, s3_backends

from tests.support.faults import FaultInjector

BUCKETS = ("model-a", "model-b")
QUEUE = "model-events"
EPOCH = datetime(2025, 1, 6, 12, 0, 0)  # naive UTC, as moto keeps it
ARCHIVED_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
NOTIFIED = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectRestore:*", "s3:LifecycleTransition"]


@dataclass(frozen=True)
class WorldSpec:
    """What stays fixed for a whole scenario."""

    versioned: tuple[bool, bool] = (True, False)
    regions: tuple[str, str] = ("us-east-1", "us-east-1")
    listing_restore: bool = True  # AWS itself; otherwise an S3-compatible store whose listings ignore RestoreStatus
    page_size: int = 50
    checkpoint_every: int = 100
    archived_tags: bool = False  # GetObjectTagging answers for archived objects as on AWS; else moto refuses it


def _backend() -> Any:
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


class World:
    """moto's S3 and SQS as the model sees them. Call `create` once inside `mock_aws`."""

    def __init__(self, spec: WorldSpec, faults: FaultInjector):
        self.spec = spec
        self.faults = faults
        self.ticks = 0
        self.clients = {region: boto3.client("s3", region_name=region) for region in set(spec.regions)}
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queue_url = ""
        self.sequence = 0

    # -- set-up
    def create(self) -> None:
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        for index, bucket in enumerate(BUCKETS):
            client = self.client(bucket)
            region = self.spec.regions[index]
            if region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            if self.spec.versioned[index]:
                client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            if self.moto_notifies(bucket):
                client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                    "QueueConfigurations": [{"QueueArn": arn, "Events": NOTIFIED}]})
        if self.spec.listing_restore:
            self.faults.emulate_listing_restore_status(self.listing_restore)

    def moto_notifies(self, bucket: str) -> bool:
        """Whether moto itself notifies the queue of this bucket's puts and deletes (same region only)."""
        return self.spec.regions[BUCKETS.index(bucket)] == "us-east-1"

    def client(self, bucket: str) -> Any:
        return self.clients[self.spec.regions[BUCKETS.index(bucket)]]

    def versioned(self, bucket: str) -> bool:
        return self.spec.versioned[BUCKETS.index(bucket)]

    # -- the clock
    @property
    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.ticks)

    def tick(self, seconds: int) -> None:
        self.ticks += seconds

    # -- what moto holds
    def versions(self, bucket: str, key: str) -> list[Any]:
        """Every version of `key`, oldest first (the last is the latest), delete markers included."""
        return list(_backend().buckets[bucket].keys.getlist(key, []) or [])

    def latest(self, bucket: str, key: str) -> Any | None:
        """The current object, or None when the key has none (absent, or its latest version is a delete marker)."""
        versions = self.versions(bucket, key)
        if not versions or isinstance(versions[-1], FakeDeleteMarker):
            return None
        return versions[-1]

    def keys(self, bucket: str) -> list[str]:
        """Keys with a current object, in key order."""
        store = _backend().buckets[bucket].keys
        return sorted(k for k in store.keys() if self.latest(bucket, k) is not None)

    def keys_with_versions(self, bucket: str) -> list[str]:
        return sorted(_backend().buckets[bucket].keys.keys())

    def _stamp(self, bucket: str, key: str, when: datetime | None = None) -> None:
        versions = self.versions(bucket, key)
        if versions:
            versions[-1].last_modified = when or self.now

    # -- writes through the S3 API
    def put(self, bucket: str, key: str, body: bytes, *, storage_class: str | None = None,
            extra: dict[str, Any] | None = None) -> None:
        params = dict(extra or {})
        if storage_class:
            params["StorageClass"] = storage_class
        self.client(bucket).put_object(Bucket=bucket, Key=key, Body=body, **params)
        self._stamp(bucket, key)
        self._created(bucket, key)

    def bulk_put(self, bucket: str, keys: list[str], body: bytes) -> None:
        """Many objects through moto's backend (the HTTP path costs a millisecond or more per object)."""
        for key in keys:
            _backend().put_object(bucket, key, body)
            self._stamp(bucket, key)
            self._created(bucket, key)

    def multipart_put(self, bucket: str, key: str, parts: list[bytes], extra: dict[str, Any] | None = None) -> None:
        client = self.client(bucket)
        upload = client.create_multipart_upload(Bucket=bucket, Key=key, **(extra or {}))
        done = []
        for number, body in enumerate(parts, start=1):
            answer = client.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                                        Body=body)
            done.append({"ETag": answer["ETag"], "PartNumber": number})
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                         MultipartUpload={"Parts": done})
        self._stamp(bucket, key)
        self._created(bucket, key)

    def copy_in_place(self, bucket: str, key: str, metadata: dict[str, str]) -> None:
        self.client(bucket).copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                                        MetadataDirective="REPLACE", Metadata=metadata)
        self._stamp(bucket, key)
        self._created(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        self.client(bucket).delete_object(Bucket=bucket, Key=key)
        if self.versioned(bucket):
            self._stamp(bucket, key)  # the delete marker
            self.notify(bucket, key, "ObjectRemoved:DeleteMarkerCreated")
        elif not self.moto_notifies(bucket):
            self.notify(bucket, key, "ObjectRemoved:Delete")

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        versions = self.versions(bucket, key)
        if len(versions) == 1 and isinstance(versions[0], FakeDeleteMarker):
            # moto's notification of this delete reads the marker's ETag and raises: removed as S3 removes it.
            store = _backend().buckets[bucket].keys
            store.setlist(key, [])
            dict.pop(store, key)
        else:
            self.client(bucket).delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        self.notify(bucket, key, "ObjectRemoved:Delete")

    def _created(self, bucket: str, key: str) -> None:
        if not self.moto_notifies(bucket):
            self.notify(bucket, key, "ObjectCreated:Put")

    # -- changes behind LastModified, through moto's backend (what S3's lifecycle engine does)
    def set_storage_class(self, bucket: str, key: str, storage_class: str) -> None:
        obj = self.latest(bucket, key)
        if obj is not None:
            obj.set_storage_class(storage_class)
            if storage_class not in ARCHIVED_CLASSES:
                obj.set_expiry(None)
                obj.status = None
            self.notify(bucket, key, "LifecycleTransition")

    def start_restore(self, bucket: str, key: str) -> None:
        obj = self.latest(bucket, key)
        obj.set_expiry(self.now + timedelta(days=30))
        obj.status = "IN_PROGRESS"
        self.notify(bucket, key, "ObjectRestore:Post")

    def complete_restore(self, bucket: str, key: str, days: int) -> None:
        obj = self.latest(bucket, key)
        obj.status = "RESTORED"
        obj.set_expiry(self.now + timedelta(days=days))
        self.notify(bucket, key, "ObjectRestore:Completed")

    def expire_restore(self, bucket: str, key: str) -> None:
        obj = self.latest(bucket, key)
        obj.set_expiry(None)
        obj.status = None
        self.notify(bucket, key, "ObjectRestore:Delete")

    def backdate(self, bucket: str, key: str, seconds: int) -> None:
        """The latest version's LastModified moved back, as a multipart upload initiated long before it completed."""
        self._stamp(bucket, key, self.now - timedelta(seconds=seconds))
        self.notify(bucket, key, "ObjectCreated:CompleteMultipartUpload")

    def restore_state(self, bucket: str, key: str) -> str | None:
        obj = self.latest(bucket, key)
        if obj is None or obj.storage_class not in ARCHIVED_CLASSES or obj._expiry is None:
            return None
        return "in_progress" if obj.status == "IN_PROGRESS" else "restored"

    def listing_restore(self, bucket: str, key: str) -> tuple[bool, str | None] | None:
        """What AWS's listing RestoreStatus says of `key` (see FaultInjector.emulate_listing_restore_status)."""
        obj = self.latest(bucket, key)
        if obj is None or obj._expiry is None:
            return None
        if obj.status == "IN_PROGRESS":
            return True, None
        return False, obj._expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    # -- events
    def notify(self, bucket: str, key: str, name: str) -> None:
        """An S3 event notification for a change moto does not notify (see the module docstring)."""
        self.sequence += 1
        record = {
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": self.spec.regions[BUCKETS.index(bucket)],
            "eventTime": self.now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "eventName": name,
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "model",
                   "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": quote_plus(key, safe="/"), "size": 0,
                              "eTag": hashlib.md5(key.encode()).hexdigest()}},
        }
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"Records": [record]}))

    def trim_queue(self, most: int = 300) -> None:
        """Empty the queue once it holds more than `most` messages. Called only after a listing sync, which saw
        every change those messages announce: a real queue keeps them for days, but moto scans every message on
        each send, so a queue that only grows would make the model quadratic."""
        from moto.sqs.models import sqs_backends
        queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[QUEUE]
        if len(queue._messages) > most:  # as PurgeQueue does, without its once-a-minute limit
            queue._messages = []
            queue._pending_messages = set()

    def make_messages_visible(self) -> None:
        """Messages a killed sync received come back once their visibility timeout passes: the next sync runs at
        least that much later (Fivetran schedules syncs minutes apart), so they are visible again for it."""
        from moto.sqs.models import sqs_backends
        queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[QUEUE]
        for message in queue._messages:
            message.visible_at = 0.0


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc)
