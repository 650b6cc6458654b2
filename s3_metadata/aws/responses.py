"""What AWS answered, as the plain values the gateway hands its callers.

Callers never see botocore's dicts or exceptions: a listing page, a HEAD's result and an error response that is not
yet classified arrive as the values below (a page keeps botocore's own parse of its body, built on first use, for the
few callers that need what a dict holds).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, Callable, Mapping

from s3_metadata.listing import Position
from s3_metadata.rows import ListedObject
from s3_metadata.timestamps import to_utc


class AwsCallError(Exception):
    """A non-retryable AWS error response, before the caller decides whether it is fatal."""

    def __init__(self, operation: str, code: str, status: int | None, headers: dict[str, str] | None = None):
        super().__init__(f"{operation} failed with {code} (HTTP {status})")
        self.operation = operation
        self.code = code
        self.status = status
        self.headers = headers or {}


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page. `objects` is what the sync reads. `truncated` is the page's IsTruncated, as sent:
    whether S3 has more to list, with `next_token` (NextContinuationToken) or, from some stores, without one
    (listing.next_page decides how to go on). `entries` is botocore's own parse of the same page (dicts), built on
    first use: for callers that need what a dict holds and a ListedObject does not (whether RestoreStatus was there
    at all)."""

    objects: list[ListedObject]
    common_prefixes: list[str]
    truncated: bool
    next_token: str | None
    date: datetime | None
    botocore_entries: Callable[[], list[dict[str, Any]]] = field(default=list, repr=False, compare=False)
    full: bool = False  # as many entries as MaxKeys asked for (see listing.walk_part)

    @cached_property
    def entries(self) -> list[dict[str, Any]]:
        return self.botocore_entries()


@dataclass(frozen=True)
class HeadResult:
    """What a HEAD said of an object, as plain values; the header names in the comments."""

    storage_class: str
    restore: str | None
    archive_status: str | None
    size: int = 0
    e_tag: str = ""
    last_modified: datetime | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    version_id: str | None = None  # x-amz-version-id
    content_type: str | None = None
    content_encoding: str | None = None
    cache_control: str | None = None
    server_side_encryption: str | None = None  # x-amz-server-side-encryption
    sse_kms_key_id: str | None = None  # x-amz-server-side-encryption-aws-kms-key-id
    bucket_key_enabled: bool | None = None  # x-amz-server-side-encryption-bucket-key-enabled
    object_lock_mode: str | None = None  # x-amz-object-lock-mode
    object_lock_retain_until: datetime | None = None  # x-amz-object-lock-retain-until-date
    object_lock_legal_hold: str | None = None  # x-amz-object-lock-legal-hold: ON or OFF
    replication_status: str | None = None  # x-amz-replication-status
    expiration: str | None = None  # x-amz-expiration, unparsed (details.parse_expiration)
    parts_count: int | None = None  # x-amz-mp-parts-count
    checksums: Mapping[str, str] = field(default_factory=dict)  # algorithm (CRC32, SHA256, ...) -> value
    user_metadata: Mapping[str, str] = field(default_factory=dict)  # x-amz-meta-*, names without the prefix


@dataclass(frozen=True)
class VersionsPage:
    """One ListObjectVersions page: `versions` and `delete_markers` are botocore's own parse of it (dicts), built on
    first use. `truncated` is the page's IsTruncated, as sent (with or without NextKeyMarker, see listing.next_page);
    `last` the key and version id of the page's last entry, where a store that sends no NextKeyMarker is asked to go
    on; `full`: the page holds as many entries as MaxKeys asked for."""

    truncated: bool
    next_key_marker: str | None
    next_version_marker: str | None
    parse_with_botocore: Callable[[], dict[str, Any]] = field(default=dict, repr=False, compare=False)
    last: Position | None = None
    full: bool = False

    @cached_property
    def _botocore(self) -> dict[str, Any]:
        return self.parse_with_botocore()

    @property
    def versions(self) -> list[dict[str, Any]]:
        return self._botocore.get("Versions", [])

    @property
    def delete_markers(self) -> list[dict[str, Any]]:
        return self._botocore.get("DeleteMarkers", [])


def last_listed(entries: list[dict[str, Any]]) -> Position | None:
    """The entry a ListObjectVersions page ended with, from botocore's parse (which keeps versions and delete markers
    apart): the greatest key, and of its entries the oldest, as S3 lists each key's newest first. (Some stores, moto
    among them, send all versions before all delete markers, so the body's last element is not always it.)"""
    if not entries:
        return None
    last = max(entries, key=lambda e: (e["Key"], -to_utc(e["LastModified"]).timestamp()))
    return Position(last["Key"], last.get("VersionId") or "null")


def head_result(response: dict[str, Any]) -> HeadResult:
    """The plain values of a HeadObject response (checksums only appear when ChecksumMode was ENABLED)."""
    checksums = {name[len("Checksum"):].upper(): value for name, value in response.items()
                 if name.startswith("Checksum") and name != "ChecksumType" and value}
    last_modified = response.get("LastModified")
    retain_until = response.get("ObjectLockRetainUntilDate")
    parts = response.get("PartsCount")
    return HeadResult(
        storage_class=response.get("StorageClass") or "STANDARD",
        restore=response.get("Restore"),
        archive_status=response.get("ArchiveStatus"),
        size=int(response.get("ContentLength") or 0),
        e_tag=(response.get("ETag") or "").strip('"'),
        last_modified=to_utc(last_modified) if last_modified else None,
        checksum_algorithm=",".join(sorted(checksums)) or None,
        checksum_type=response.get("ChecksumType"),
        version_id=response.get("VersionId"),
        content_type=response.get("ContentType"),
        content_encoding=response.get("ContentEncoding"),
        cache_control=response.get("CacheControl"),
        server_side_encryption=response.get("ServerSideEncryption"),
        sse_kms_key_id=response.get("SSEKMSKeyId"),
        bucket_key_enabled=response.get("BucketKeyEnabled"),
        object_lock_mode=response.get("ObjectLockMode"),
        object_lock_retain_until=to_utc(retain_until) if retain_until else None,
        object_lock_legal_hold=response.get("ObjectLockLegalHoldStatus"),
        replication_status=response.get("ReplicationStatus"),
        expiration=response.get("Expiration"),
        parts_count=int(parts) if parts is not None else None,
        checksums=checksums,
        user_metadata=dict(response.get("Metadata") or {}),
    )


def response_date(response: dict[str, Any]) -> datetime | None:
    """S3's own clock, from the Date header of a response."""
    text = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not text:
        return None
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None
