"""Writes an S3 Inventory report of a bucket as AWS does (CSV, gzip, manifest.json and manifest.checksum), from the
bucket as the plain S3 API shows it now: a snapshot that later changes can be made after.

The layout and format follow the S3 User Guide ("Locating your inventory list", "Inventory list"): no header row,
every value quoted, keys URL-encoded as a form is ('+' for a space), ETags without quotes, LastModifiedDate with
milliseconds and a Z. Rows are shuffled and spread over several files, since AWS documents no order.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus

FIELDS = ("Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded",
          "ChecksumAlgorithm")
VERSION_FIELDS = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag",
                  "StorageClass", "IsMultipartUploaded", "ChecksumAlgorithm")


def _timestamp(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _row(bucket: str, entry: dict[str, Any], fields: tuple[str, ...], **extra: str) -> list[str]:
    etag = entry.get("ETag", "").strip('"')
    values = {
        "Bucket": bucket, "Key": quote_plus(entry["Key"], safe=""), "Size": str(entry.get("Size", 0)),
        "LastModifiedDate": _timestamp(entry["LastModified"]), "ETag": etag,
        "StorageClass": entry.get("StorageClass", "STANDARD"), "IsMultipartUploaded": str("-" in etag).lower(),
        "ChecksumAlgorithm": ",".join(entry.get("ChecksumAlgorithm", [])), **extra,
    }
    return [values.get(f, "") for f in fields]


def snapshot_rows(client: Any, bucket: str, versions: bool = False) -> tuple[tuple[str, ...], list[list[str]]]:
    """The fields and rows of a report of `bucket` as it is now."""
    rows: list[list[str]] = []
    if not versions:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            rows.extend(_row(bucket, e, FIELDS) for e in page.get("Contents", []))
        return FIELDS, rows
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []):
            rows.append(_row(bucket, entry, VERSION_FIELDS, VersionId=entry.get("VersionId", ""),
                             IsLatest=str(entry.get("IsLatest", False)).lower(), IsDeleteMarker="false"))
        for entry in page.get("DeleteMarkers", []):
            rows.append(_row(bucket, {**entry, "Size": 0, "ETag": ""}, VERSION_FIELDS,
                             VersionId=entry.get("VersionId", ""), IsLatest=str(entry.get("IsLatest", False)).lower(),
                             IsDeleteMarker="true", StorageClass=""))
    return VERSION_FIELDS, rows


def _csv_gz(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return gzip.compress(text.getvalue().encode("utf-8", "surrogatepass"), mtime=0)


SNAKE = {"Bucket": "bucket", "Key": "key", "VersionId": "version_id", "IsLatest": "is_latest",
         "IsDeleteMarker": "is_delete_marker", "Size": "size", "LastModifiedDate": "last_modified_date", "ETag": "e_tag",
         "StorageClass": "storage_class", "IsMultipartUploaded": "is_multipart_uploaded",
         "ChecksumAlgorithm": "checksum_algorithm"}


def _columnar(rows: list[list[str]], fields: tuple[str, ...], file_format: str) -> tuple[bytes, str]:
    """Rows (as CSV has them) in Parquet or ORC as AWS writes them: snake-case columns, keys not URL-encoded,
    LastModifiedDate a timestamp in milliseconds, booleans and sizes typed; and the manifest's fileSchema."""
    import pyarrow as pa
    import pyarrow.orc as orc
    import pyarrow.parquet as pq
    from urllib.parse import unquote_plus

    def typed(name: str, value: str) -> Any:
        if name == "Key":
            return unquote_plus(value, errors="surrogatepass")
        if name == "Size":
            return int(value) if value else None
        if name in ("IsLatest", "IsDeleteMarker", "IsMultipartUploaded"):
            return value == "true"
        if name == "LastModifiedDate":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value or None
    kinds = {"Size": pa.int64(), "LastModifiedDate": pa.timestamp("ms", tz="UTC"), "IsLatest": pa.bool_(),
             "IsDeleteMarker": pa.bool_(), "IsMultipartUploaded": pa.bool_()}
    table = pa.table({SNAKE[f]: pa.array([typed(f, row[i]) for row in rows], kinds.get(f, pa.string()))
                      for i, f in enumerate(fields)})
    out = io.BytesIO()
    if file_format == "Parquet":
        pq.write_table(table, out, row_group_size=50)
        schema = "message s3.inventory { " + " ".join(
            f"optional {'int64' if f in ('Size', 'LastModifiedDate') else 'boolean' if f in kinds else 'binary'} "
            f"{SNAKE[f]};" for f in fields) + "}"
    else:
        orc.write_table(table, out, stripe_size=4096)
        schema = "struct<" + ",".join(f"{SNAKE[f]}:{'bigint' if f == 'Size' else 'string'}" for f in fields) + ">"
    return out.getvalue(), schema


def write_report(client: Any, source: str, destination: str, prefix: str = "inventory", config_id: str = "daily",
                 when: datetime | None = None, files: int = 3, seed: int = 1, versions: bool = False,
                 fields: tuple[str, ...] | None = None, rows: list[list[str]] | None = None,
                 file_format: str = "CSV") -> str:
    """Write a report of `source` to `destination` (CSV, Parquet or ORC); returns the configuration's folder as
    s3://... (what inventory_source names). `rows`/`fields` given: write those instead of a snapshot."""
    when = when or datetime.now(timezone.utc)
    if rows is None:
        fields, rows = snapshot_rows(client, source, versions)
    assert fields is not None
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    base = f"{prefix}/{source}/{config_id}/"
    folder = base + when.strftime("%Y-%m-%dT%H-%MZ") + "/"
    listed = []
    schema = ", ".join(fields)
    for number in range(files):
        if file_format == "CSV":
            body, extension = _csv_gz(rows[number::files]), "csv.gz"
        else:
            (body, schema), extension = _columnar(rows[number::files], fields, file_format), file_format.lower()
        key = f"{base}data/{hashlib.md5(f'{folder}{number}'.encode()).hexdigest()}.{extension}"
        client.put_object(Bucket=destination, Key=key, Body=body)
        listed.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
    manifest = json.dumps({
        "sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{destination}", "version": "2016-11-30",
        "creationTimestamp": str(int(when.timestamp() * 1000)), "fileFormat": file_format,
        "fileSchema": schema, "files": listed,
    }, indent=2).encode()
    client.put_object(Bucket=destination, Key=folder + "manifest.json", Body=manifest)
    client.put_object(Bucket=destination, Key=folder + "manifest.checksum", Body=hashlib.md5(manifest).hexdigest())
    return f"s3://{destination}/{base}"
