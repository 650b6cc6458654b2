"""The table `s3_objects`: its declared schema, and how one listed object becomes one row.

Fivetran's default naming turns `s3_objects` into `s_3_objects` in the destination; the name here is the
source name and must stay as it is, or existing destinations would get a second table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from s3_metadata.details import detail_columns
from s3_metadata.restore import RestoreInfo, restore_from_listing
from s3_metadata.timestamps import to_utc

TABLE = "s3_objects"
DESTINATION_TABLE = "s_3_objects"
PRIMARY_KEY = ("bucket", "key")
COLUMNS: dict[str, str] = {
    "bucket": "STRING",
    "key": "STRING",
    "size": "LONG",
    "e_tag": "STRING",
    "storage_class": "STRING",
    "last_modified": "UTC_DATETIME",
    "restore_status": "STRING",
    "restore_expiry": "UTC_DATETIME",
    "archive_status": "STRING",
    "is_multipart": "BOOLEAN",
    "multipart_part_count": "INT",
    "checksum_algorithm": "STRING",
    "checksum_type": "STRING",
}

VERSIONS_TABLE = "s3_object_versions"
VERSIONS_DESTINATION_TABLE = "s_3_object_versions"
VERSIONS_PRIMARY_KEY = ("bucket", "key", "version_id")
# The object columns again, minus the Intelligent-Tiering tier (a property of the current object, from HEAD).
VERSIONS_COLUMNS: dict[str, str] = {
    "bucket": "STRING", "key": "STRING", "version_id": "STRING", "is_latest": "BOOLEAN", "is_delete_marker": "BOOLEAN",
    **{name: kind for name, kind in COLUMNS.items() if name not in ("bucket", "key", "archive_status")},
}

_MULTIPART_ETAG = re.compile(r"-(\d+)$")


def table_schema(with_versions: bool = False, details: Sequence[str] = ()) -> list[dict[str, Any]]:
    """What `schema()` declares: the chosen object details' columns only when chosen, and the versions table only
    when versions are synced, so nothing is declared that stays empty. Versions carry no details."""
    tables = [{"table": TABLE, "primary_key": list(PRIMARY_KEY), "columns": {**COLUMNS, **detail_columns(details)}}]
    if with_versions:
        tables.append({"table": VERSIONS_TABLE, "primary_key": list(VERSIONS_PRIMARY_KEY),
                       "columns": dict(VERSIONS_COLUMNS)})
    return tables


@dataclass(frozen=True, slots=True)
class ListedObject:
    """One `Contents` entry of a listing, as plain values. `restore` is None when the listing did not say.

    `last_modified_iso` is `last_modified.isoformat()` when the listing's own text gave it for less than that call
    costs (listing_xml.py), for the fingerprint behind the range digests (ranges.fingerprint); None means "compute
    it". It is a cached form of `last_modified`, not a column: equality and repr leave it out, and whoever sets it
    must set it to exactly that text.
    """

    key: str
    last_modified: datetime
    e_tag: str
    size: int
    storage_class: str
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    restore: RestoreInfo | None = None
    last_modified_iso: str | None = field(default=None, compare=False, repr=False)


def listed_object(entry: Mapping[str, Any], restore_status_requested: bool) -> ListedObject:
    """Map a listing entry; with `restore_status_requested`, a missing RestoreStatus means "no restore"."""
    storage_class = entry.get("StorageClass") or "STANDARD"
    algorithms = entry.get("ChecksumAlgorithm")
    restore = restore_from_listing(storage_class, entry.get("RestoreStatus")) if restore_status_requested else None
    return ListedObject(
        key=entry["Key"],
        last_modified=to_utc(entry["LastModified"]),
        e_tag=(entry.get("ETag") or "").strip('"'),
        size=int(entry.get("Size") or 0),
        storage_class=storage_class,
        checksum_algorithm=",".join(algorithms) if algorithms else None,
        checksum_type=entry.get("ChecksumType"),
        restore=restore,
    )


def listed_from_head(key: str, head: Any) -> ListedObject:
    """The listing-shaped view of a HEAD response (an `aws.HeadResult`), for paths that have no listing entry."""
    return ListedObject(
        key=key,
        last_modified=head.last_modified,
        e_tag=head.e_tag,
        size=head.size,
        storage_class=head.storage_class,
        checksum_algorithm=head.checksum_algorithm,
        checksum_type=head.checksum_type,
    )


def version_row(bucket: str, entry: Mapping[str, Any], is_delete_marker: bool,
                restore_status_requested: bool) -> dict[str, Any]:
    """A row of s3_object_versions from a ListObjectVersions `Versions` or `DeleteMarkers` entry."""
    base = {"bucket": bucket, "key": entry["Key"], "version_id": entry.get("VersionId") or "null",
            "is_latest": bool(entry.get("IsLatest")), "is_delete_marker": is_delete_marker}
    if is_delete_marker:
        return {**base, "size": None, "e_tag": None, "storage_class": None,
                "last_modified": to_utc(entry["LastModified"]), "restore_status": None, "restore_expiry": None,
                "is_multipart": None, "multipart_part_count": None, "checksum_algorithm": None, "checksum_type": None}
    obj = listed_object(entry, restore_status_requested)
    row = object_row(bucket, obj, obj.restore or RestoreInfo())
    del row["archive_status"]
    return {**row, **base}


def multipart_parts(e_tag: str) -> int | None:
    """The part count a multipart upload leaves in its ETag (`<md5 of md5s>-<parts>`), or None. (Most ETags have
    no `-`: checked first, because this runs for every row sent.)"""
    if "-" not in e_tag:
        return None
    match = _MULTIPART_ETAG.search(e_tag)
    return int(match.group(1)) if match else None


def object_row(bucket: str, obj: ListedObject, restore: RestoreInfo) -> dict[str, Any]:
    """The full row for `obj`; every column is present so an upsert never leaves a stale value behind."""
    parts = multipart_parts(obj.e_tag)
    return {
        "bucket": bucket,
        "key": obj.key,
        "size": obj.size,
        "e_tag": obj.e_tag,
        "storage_class": obj.storage_class,
        "last_modified": obj.last_modified,
        "restore_status": restore.status,
        "restore_expiry": restore.expiry,
        "archive_status": restore.archive_status,
        "is_multipart": parts is not None,
        "multipart_part_count": parts,
        "checksum_algorithm": obj.checksum_algorithm,
        "checksum_type": obj.checksum_type,
    }
