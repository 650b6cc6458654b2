"""The truth, read from S3 through the plain boto3 API, independently of the connector's code.

`s3_objects` must hold, for every key in the configured scope, the row ListObjectsV2 gives plus what HEAD says
(restore status for GLACIER and DEEP_ARCHIVE, object details) and GetObjectTagging (tags); `s3_object_versions`
must hold every version and delete marker ListObjectVersions gives. Nothing here imports the connector: the
scope (prefixes and glob patterns) is matched by its own small translation of the README's syntax.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Iterable

from botocore.exceptions import ClientError

ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")
BASE_COLUMNS = ("size", "e_tag", "storage_class", "last_modified", "restore_status", "restore_expiry",
                "archive_status", "is_multipart", "multipart_part_count", "checksum_algorithm", "checksum_type")
CHECKSUMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEAD_COLUMNS = ("version_id", "content_type", "content_encoding", "cache_control", "server_side_encryption",
                "sse_kms_key_id", "bucket_key_enabled", "object_lock_mode", "object_lock_retain_until",
                "object_lock_legal_hold", "replication_status", "expiration_date", "expiration_rule_id", "parts_count",
                *(f"checksum_{c.lower()}" for c in CHECKSUMS), "user_metadata")
VERSION_COLUMNS = ("is_latest", "is_delete_marker", "size", "e_tag", "storage_class", "last_modified",
                   "restore_status", "restore_expiry", "is_multipart", "multipart_part_count", "checksum_algorithm",
                   "checksum_type")


# -- scope: which keys the configuration covers
@lru_cache(maxsize=None)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """README: `*` any characters except `/`, `**` any number of path segments, `?` one character except `/`."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def split_list(value: str) -> list[str]:
    return [part for part in (p.strip() for p in value.split(",")) if part] if value else []


@dataclass(frozen=True)
class Scope:
    buckets: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def covers(self, bucket: str, key: str) -> bool:
        if bucket not in self.buckets:
            return False
        if self.prefixes and not any(key.startswith(p) for p in self.prefixes):
            return False
        if self.include and not any(glob_regex(p).match(key) for p in self.include):
            return False
        return not any(glob_regex(p).match(key) for p in self.exclude)


# -- the truth
def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if value is not None else None


def _parts(e_tag: str) -> int | None:
    match = re.search(r"-(\d+)$", e_tag)
    return int(match.group(1)) if match else None


def restore_columns(storage_class: str, header: str | None) -> tuple[str | None, datetime | None]:
    """(restore_status, restore_expiry) from HEAD's x-amz-restore, as the README's table defines them."""
    if storage_class not in ARCHIVED:
        return None, None
    if not header:
        return "archived", None
    if 'ongoing-request="true"' in header:
        return "in_progress", None
    expiry = re.search(r'expiry-date="([^"]+)"', header)
    return "restored", (_utc(parsedate_to_datetime(expiry.group(1))) if expiry else None)


def head_columns(head: dict[str, Any]) -> dict[str, Any]:
    """The `head` detail columns from a boto3 HeadObject answer (asked with ChecksumMode=ENABLED)."""
    legal = head.get("ObjectLockLegalHoldStatus")
    retain = head.get("ObjectLockRetainUntilDate")
    expiry = rule = None
    if head.get("Expiration"):
        found = dict(re.findall(r'([a-z-]+)="([^"]*)"', head["Expiration"]))
        expiry = _utc(parsedate_to_datetime(found["expiry-date"])) if "expiry-date" in found else None
        rule = found.get("rule-id")
    return {
        "version_id": head.get("VersionId"), "content_type": head.get("ContentType"),
        "content_encoding": head.get("ContentEncoding"), "cache_control": head.get("CacheControl"),
        "server_side_encryption": head.get("ServerSideEncryption"), "sse_kms_key_id": head.get("SSEKMSKeyId"),
        "bucket_key_enabled": head.get("BucketKeyEnabled"), "object_lock_mode": head.get("ObjectLockMode"),
        "object_lock_retain_until": _utc(retain) if retain else None,
        "object_lock_legal_hold": None if legal is None else legal == "ON",
        "replication_status": head.get("ReplicationStatus"), "expiration_date": expiry, "expiration_rule_id": rule,
        "parts_count": head.get("PartsCount"),
        **{f"checksum_{c.lower()}": head.get(f"Checksum{c}") for c in CHECKSUMS},
        "user_metadata": dict(head.get("Metadata") or {}),
    }


class AnswerCache:
    """HEAD and GetObjectTagging answers of objects that are not archived, by what the listing says of them.

    In the model's world an object's HEAD details and tags change only with a write, which changes its listing
    (LastModified at least; README: object details are read when an object changes). Only archived objects' answers
    change behind the listing (restores; and GetObjectTagging depends on the restore), so those are always asked.
    The cache only saves requests: the answers are S3's own.
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[Any, ...], Any] = {}

    def get(self, key: tuple[Any, ...], ask: Any) -> Any:
        if key not in self.answers:
            self.answers[key] = ask()
        return self.answers[key]


def object_truth(client: Any, bucket: str, scope: Scope, details: Iterable[str],
                 cache: AnswerCache | None = None) -> dict[str, dict[str, Any]]:
    """Every object of `bucket` in scope: its row as the README defines it, by key."""
    details = tuple(details)
    cache = cache or AnswerCache()
    rows: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            key = entry["Key"]
            if not scope.covers(bucket, key):
                continue
            storage_class = entry.get("StorageClass") or "STANDARD"
            e_tag = entry["ETag"].strip('"')
            algorithms = entry.get("ChecksumAlgorithm")
            row = {"size": entry["Size"], "e_tag": e_tag, "storage_class": storage_class,
                   "last_modified": _utc(entry["LastModified"]), "restore_status": None, "restore_expiry": None,
                   "archive_status": None, "is_multipart": "-" in e_tag, "multipart_part_count": _parts(e_tag),
                   "checksum_algorithm": ",".join(algorithms) if algorithms else None,
                   "checksum_type": entry.get("ChecksumType")}
            listed = None if storage_class in ARCHIVED else (bucket, key, e_tag, entry["LastModified"], storage_class,
                                                               entry["Size"])
            if storage_class in ARCHIVED or details:
                def ask_head(key: str = key) -> dict[str, Any]:
                    return client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
                head = ask_head() if listed is None else cache.get(("head",) + listed, ask_head)
                row["restore_status"], row["restore_expiry"] = restore_columns(storage_class, head.get("Restore"))
                row["archive_status"] = head.get("ArchiveStatus")
                if "head" in details:
                    row.update(head_columns(head))
            if "tags" in details:
                def ask_tags(key: str = key) -> dict[str, str] | None:
                    try:
                        tag_set = client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
                    except ClientError:
                        return None
                    return {tag["Key"]: tag["Value"] for tag in tag_set}
                row["tags"] = ask_tags() if listed is None else cache.get(("tags",) + listed, ask_tags)
            rows[key] = row
    return rows


def version_truth(client: Any, bucket: str, scope: Scope) -> dict[tuple[str, str], dict[str, Any]]:
    """Every version and delete marker of `bucket` in scope, by (key, version id)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []):
            if not scope.covers(bucket, entry["Key"]):
                continue
            e_tag = entry["ETag"].strip('"')
            algorithms = entry.get("ChecksumAlgorithm")
            rows[(entry["Key"], entry.get("VersionId") or "null")] = {
                "is_latest": entry["IsLatest"], "is_delete_marker": False, "size": entry["Size"], "e_tag": e_tag,
                "storage_class": entry.get("StorageClass") or "STANDARD",
                "last_modified": _utc(entry["LastModified"]), "restore_status": None, "restore_expiry": None,
                "is_multipart": "-" in e_tag, "multipart_part_count": _parts(e_tag),
                "checksum_algorithm": ",".join(algorithms) if algorithms else None,
                "checksum_type": entry.get("ChecksumType")}
        for entry in page.get("DeleteMarkers", []):
            if not scope.covers(bucket, entry["Key"]):
                continue
            rows[(entry["Key"], entry.get("VersionId") or "null")] = {
                "is_latest": entry["IsLatest"], "is_delete_marker": True, "size": None, "e_tag": None,
                "storage_class": None, "last_modified": _utc(entry["LastModified"]), "restore_status": None,
                "restore_expiry": None, "is_multipart": None, "multipart_part_count": None,
                "checksum_algorithm": None, "checksum_type": None}
    return rows


def column_of(row: dict[str, Any], column: str) -> Any:
    """`column` of a warehouse row (the harness runs with source naming, as `make debug` does: names as declared)."""
    return row.get(column)


def normalized(column: str, value: Any) -> Any:
    """A warehouse value in the form the truth uses (JSON columns come back from DuckDB as text)."""
    if column in ("user_metadata", "tags") and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return value


def columns_for(details: Iterable[str]) -> tuple[str, ...]:
    details = tuple(details)
    return BASE_COLUMNS + (HEAD_COLUMNS if "head" in details else ()) + (("tags",) if "tags" in details else ())
