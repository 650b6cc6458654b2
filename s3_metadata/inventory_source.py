"""A pass that reads an S3 Inventory report instead of listing: which report, and its objects as pages.

The report is found under `inventory_source` (settings): either the folder of one inventory configuration of the
bucket (holding the `YYYY-MM-DDTHH-MMZ/` report folders), or the destination prefix above `<bucket>/<id>/`, when
the bucket has one configuration there. The newest report whose manifest.json and manifest.checksum are both
present is read (a report still being written has no checksum yet); a pass resumed after a kill reads the report it
began with, or lists, when that report is gone.

What this costs: GET requests for the manifest and each data file, a few LIST requests for the report folders, and
none for the bucket's objects. Pages carry the report's scan start as their date, so the stream's watermark is the
moment the report describes: changes after it come with the next listing pass (or events).
"""
from __future__ import annotations

import itertools
import tempfile
from operator import itemgetter
from datetime import datetime
from typing import Any, Callable, Iterator, Protocol

from s3_metadata.aws.responses import AwsCallError
from s3_metadata.configuration import AUTO_INVENTORY
from s3_metadata.errors import InventoryReportError
from s3_metadata.inventory import (
    FORMATS, REQUIRED_FIELDS, InventoryError, Manifest, Record, RowReader, VersionRowReader, checksum_types_like,
    newest_first, read_data_file, read_manifest, sorted_records,
)
from s3_metadata.listing import Page
from s3_metadata.locations import Location, parse_location
from s3_metadata.restore import RestoreInfo, restore_from_listing
from s3_metadata.rows import ListedObject
from s3_metadata.versions import KeyVersions, key_versions

PAGE_OBJECTS = 1000
_KEY_ONLY = itemgetter(0)
_KEY_AND_VERSION = itemgetter(0, 1)
MANIFEST = "manifest.json"
CHECKSUM = "manifest.checksum"


class Gateway(Protocol):
    def list_page(self, bucket: str, prefix: str, start_after: str | None, token: str | None,
                  restore_status: bool = False, delimiter: str | None = None) -> Any: ...

    def read_object(self, bucket: str, key: str) -> Any: ...

    def inventory_configurations(self, bucket: str) -> list[dict[str, Any]]: ...


def _folders(gateway: Gateway, location: Location) -> list[str]:
    """The common prefixes directly under `location` (paginated)."""
    folders: list[str] = []
    token = None
    while True:
        page = gateway.list_page(location.bucket, location.prefix, None, token, delimiter="/")
        folders.extend(page.common_prefixes)
        if not page.truncated or not page.next_token:
            return folders
        token = page.next_token


def _unreadable(bucket: str, key: str, error: AwsCallError) -> InventoryReportError:
    grant = (f" The credentials need s3:GetObject on arn:aws:s3:::{bucket}/{key.rpartition('/')[0]}/* (see "
             "docs/permissions.md).") if error.code in ("AccessDenied", "403") else ""
    return InventoryReportError(f"The S3 Inventory report's s3://{bucket}/{key} cannot be read: GetObject failed "
                                f"with {error.code}.{grant}")


def _read_all(gateway: Gateway, bucket: str, key: str) -> bytes | None:
    try:
        body = gateway.read_object(bucket, key)
    except AwsCallError as error:
        raise _unreadable(bucket, key, error) from None
    return None if body is None else body.read()


def configured_location(configurations: list[dict[str, Any]], bucket: str, prefix: str,
                        all_versions: bool = False) -> str:
    """Where the reports of the inventory configuration that best covers `prefix` of `bucket` are (inventory_source
    `auto`): enabled, with the fields a row needs, filtered by a prefix of `prefix` (or not at all); daily before
    weekly, current versions before all (all before current when `all_versions`: with sync_versions, a report of
    all versions fills s3_object_versions too), the narrowest filter, CSV before Parquet and ORC (which need
    pyarrow). InventoryReportError says why none will do."""
    usable = []
    refused = []
    for configuration in configurations:
        name = str(configuration.get("Id", "?"))
        destination = configuration.get("Destination", {}).get("S3BucketDestination", {})
        fields = set(configuration.get("OptionalFields", [])) | {"Key"}
        missing = [f for f in REQUIRED_FIELDS if f not in fields and f != "Key"]
        scope = configuration.get("Filter", {}).get("Prefix", "")
        if not configuration.get("IsEnabled", False):
            refused.append(f"{name} is disabled")
        elif str(destination.get("Format", "")).upper() not in FORMATS:
            refused.append(f"{name} writes {destination.get('Format')}, not CSV, Parquet or ORC")
        elif missing:
            refused.append(f"{name} lacks the fields {', '.join(missing)}")
        elif not prefix.startswith(scope):
            refused.append(f"{name} covers only {scope!r}")
        else:
            order = (configuration.get("Schedule", {}).get("Frequency") != "Daily",
                     (configuration.get("IncludedObjectVersions") == "All") != all_versions, -len(scope),
                     str(destination.get("Format", "")).upper() != "CSV", name)
            usable.append((order, destination, name))
    if not usable:
        found = "; ".join(refused) if refused else "it has none"
        raise InventoryReportError(
            f"inventory_source is auto, but no S3 Inventory configuration of bucket {bucket} can be read for "
            f"prefix {prefix!r} ({found}). Add one (CSV, with Size, LastModifiedDate, ETag and StorageClass) or "
            "leave inventory_source empty to list the bucket.")
    _, destination, name = min(usable)
    destination_bucket = str(destination.get("Bucket", "")).rpartition(":")[2]
    destination_prefix = str(destination.get("Prefix", "")).strip("/")
    folder = f"{destination_prefix}/{bucket}/{name}/" if destination_prefix else f"{bucket}/{name}/"
    return f"s3://{destination_bucket}/{folder}"


def find_report(gateway: Gateway, source: str, bucket: str, pinned: str | None = None,
                prefix: str = "", all_versions: bool = False) -> Manifest | None:
    """The newest complete report of `bucket` under `source` (or the `pinned` manifest; None when it is gone).
    `source` `auto`: where the bucket's inventory configuration that covers `prefix` writes (`all_versions`: one of
    all versions preferred)."""
    if pinned is None and source == AUTO_INVENTORY:
        source = configured_location(gateway.inventory_configurations(bucket), bucket, prefix, all_versions)
    location = parse_location(source) if source != AUTO_INVENTORY else None
    if pinned is not None:
        pinned_location = parse_location(pinned)
        folder = pinned_location.prefix.rstrip("/").rpartition("/")[0] + "/"
        return _manifest_at(gateway, Location(pinned_location.bucket, folder), bucket)
    assert location is not None
    folders = newest_first(_folders(gateway, location))
    if not folders:
        configurations = [f for f in _folders(gateway, Location(location.bucket, f"{location.prefix}{bucket}/"))]
        if len(configurations) > 1:
            raise InventoryReportError(
                f"{location} holds several inventory configurations of bucket {bucket} "
                f"({', '.join(c.rstrip('/').rpartition('/')[2] for c in configurations[:5])}): set inventory_source "
                f"to the one to read, such as s3://{location.bucket}/{configurations[0]}")
        if configurations:
            folders = newest_first(_folders(gateway, Location(location.bucket, configurations[0])))
    for folder in folders:
        manifest = _manifest_at(gateway, Location(location.bucket, folder), bucket)
        if manifest is not None:
            return manifest
    raise InventoryReportError(
        f"No complete S3 Inventory report of bucket {bucket} is at {location} (a report is a "
        f"YYYY-MM-DDTHH-MMZ/ folder holding {MANIFEST} and {CHECKSUM}). Point inventory_source at the folder of "
        "the bucket's inventory configuration, or leave it empty to list the bucket.")


def _manifest_at(gateway: Gateway, folder: Location, bucket: str) -> Manifest | None:
    checksum = _read_all(gateway, folder.bucket, folder.prefix + CHECKSUM)
    body = _read_all(gateway, folder.bucket, folder.prefix + MANIFEST) if checksum is not None else None
    if body is None or checksum is None:
        return None
    where = f"s3://{folder.bucket}/{folder.prefix}{MANIFEST}"
    try:
        manifest = read_manifest(body, checksum, where)
    except InventoryError as error:
        raise InventoryReportError(f"The S3 Inventory report cannot be used: {error}.") from None
    if manifest.source_bucket and manifest.source_bucket != bucket:
        raise InventoryReportError(f"The S3 Inventory report {where} is of bucket {manifest.source_bucket}, not "
                                   f"{bucket}: point inventory_source at a report of {bucket}.")
    return manifest


def report_objects(gateway: Gateway, manifest: Manifest, bucket_of_objects: str, prefix: str,
                   restore_status: bool = False, on_file: Callable[[int, int], None] | None = None,
                   keep: Callable[[str], bool] | None = None,
                   on_count: Callable[[int], None] | None = None) -> Iterator[ListedObject]:
    """The report's current objects under `prefix`, in key order; every data file is read (and its MD5 checked)
    before the first object comes out. Temporary files live until the iterator is closed or exhausted.

    One page of the bucket's listing (one LIST request) shows how the store reports checksum types, which no report
    carries (inventory.checksum_types_like). `restore_status`: the pass's listing would ask for RestoreStatus; a
    report has none, so each object is as such a listing shows an object without a restore (a restore in progress
    or done is the catch-up's: the next listing pass sends those objects, and HEAD describes them where the bucket's
    restore status comes from HEAD). `keep`: which keys belong to the connection (key range, patterns), applied
    before the sort. `on_count`: told how many objects the report holds before the first comes out."""
    sample = gateway.list_page(bucket_of_objects, prefix, None, None).objects
    read_row = RowReader(manifest.fields, prefix, checksum_types_like(sample), keep)
    restores: dict[str, RestoreInfo | None] = {}
    parse, make = datetime.fromisoformat, ListedObject
    with tempfile.TemporaryDirectory(prefix="s3-inventory-") as directory:
        records = _report_records(gateway, manifest, read_row, directory, on_file)
        for key, iso, e_tag, size, storage_class, algorithm, kind in sorted_records(records, directory,
                                                                                     on_count=on_count):
            restore = None
            if restore_status:
                if storage_class not in restores:
                    restores[storage_class] = restore_from_listing(storage_class, None)
                restore = restores[storage_class]
            yield make(key, parse(iso), e_tag, size, storage_class, algorithm, kind, restore, iso)


def report_versions(gateway: Gateway, manifest: Manifest, bucket_of_objects: str, prefix: str,
                    keep: Callable[[str], bool] | None = None) -> Iterator[KeyVersions]:
    """Every key under `prefix` of a report with all versions, with its versions and delete markers, in key order,
    as ListObjectVersions shows them (the entries of versions.walk_key_versions), so that the versions ranges built
    from it are those a versions walk builds. Checksum types are learnt as for `report_objects`."""
    sample = gateway.list_page(bucket_of_objects, prefix, None, None).objects
    read_row = VersionRowReader(manifest.fields, prefix, checksum_types_like(sample), keep)
    parse = datetime.fromisoformat
    with tempfile.TemporaryDirectory(prefix="s3-inventory-") as directory:
        records = sorted_records(_report_records(gateway, manifest, read_row, directory), directory,
                                 identity=_KEY_AND_VERSION)
        for key, group in itertools.groupby(records, key=_KEY_ONLY):
            entries: list[tuple[dict[str, Any], bool]] = []
            for _, version, latest, marker, iso, e_tag, size, storage_class, algorithm, kind in group:
                entry: dict[str, Any] = {"Key": key, "VersionId": version, "IsLatest": latest,
                                         "LastModified": parse(iso)}
                if not marker:
                    entry.update(ETag=e_tag, Size=size, StorageClass=storage_class,
                                 ChecksumAlgorithm=[algorithm] if algorithm else [], ChecksumType=kind)
                entries.append((entry, marker))
            yield key_versions(key, entries)


def _report_records(gateway: Gateway, manifest: Manifest, read_row: RowReader, directory: str,
                    on_file: Callable[[int, int], None] | None = None) -> Iterator[Record]:
    """The records of every data file of a report, in no order; a file missing or unreadable is an
    InventoryReportError."""
    bucket = manifest.destination_bucket
    for number, data_file in enumerate(manifest.files, 1):
        try:
            body = gateway.read_object(bucket, data_file.key)
        except AwsCallError as error:
            raise _unreadable(bucket, data_file.key, error) from None
        if body is None:
            raise InventoryReportError(f"The S3 Inventory data file s3://{bucket}/{data_file.key} that "
                                       f"{manifest.where} lists does not exist.")
        try:
            yield from read_data_file(body, data_file, read_row, manifest.file_format, directory)
        except InventoryError as error:
            raise InventoryReportError(f"The S3 Inventory report {manifest.where} cannot be used: {error}.") \
                from None
        finally:
            body.close()
        if on_file is not None:
            on_file(number, len(manifest.files))


class Cursor:
    """One pass over sorted objects, cut into the pages of consecutive parts `(lo, hi]`."""

    def __init__(self, objects: Iterator[ListedObject], date: Any):
        self._objects = objects
        self._next: ListedObject | None = None
        self._date = date

    def start(self) -> None:
        """Read the report up to its first object (which reads and sorts all of it), before any page is asked."""
        if self._next is None:
            self._next = next(self._objects, None)

    def pages(self, lo: str | None, hi: str | None) -> Iterator[Page]:
        """The objects with `lo < key <= hi` (hi None: to the end), as pages; at least one page, maybe empty."""
        page: list[ListedObject] = []
        pending, self._next = self._next, None
        objects = self._objects if pending is None else itertools.chain((pending,), self._objects)
        for obj in objects:
            key = obj.key
            if hi is not None and key > hi:
                self._next = obj
                break
            if lo is not None and key <= lo:
                continue
            page.append(obj)
            if len(page) >= PAGE_OBJECTS:
                yield Page(page, self._date)
                page = []
        yield Page(page, self._date)

    def close(self) -> None:
        close = getattr(self._objects, "close", None)
        if close is not None:
            close()
