"""Reproduces the request pattern and cost of Fivetran's public "Amazon S3 (Glacier-aware)" example.

That example lists the bucket one page at a time and, inside the same loop, waits for a HEAD request on every object
in a Glacier storage class before moving on. It filters by its LastModified watermark only after the HEAD, so an
incremental sync repeats every HEAD of the full one. The state is saved once, at the end. This copy behaves the same
way (so that its cost can be measured) but calls the operations directly, where the original yields them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from fivetran_connector_sdk import Connector, Logging as log, Operations as op

TABLE = "s3_objects"
PAGE_SIZE = 1000
# The set the example checks; GLACIER_FLEXIBLE_RETRIEVAL never appears in a listing (S3 reports GLACIER), and
# GLACIER_IR needs no restore, but the example sends a HEAD for it all the same.
GLACIER_CLASSES = {"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "GLACIER_FLEXIBLE_RETRIEVAL"}


def schema(configuration: dict) -> list[dict]:
    return [{
        "table": TABLE,
        "primary_key": ["bucket", "key"],
        "columns": {"bucket": "STRING", "key": "STRING", "size": "LONG", "e_tag": "STRING",
                    "storage_class": "STRING", "last_modified": "UTC_DATETIME",
                    "restore_status": "STRING", "restore_expiry": "UTC_DATETIME"},
    }]


def s3_client(configuration: dict) -> Any:
    """The example's client settings (standard retries, ten attempts), pointed at an endpoint when one is given."""
    endpoint = configuration.get("endpoint_url") or None
    s3_config = {"addressing_style": "path"} if endpoint else None
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=configuration.get("aws_access_key_id") or None,
        aws_secret_access_key=configuration.get("aws_secret_access_key") or None,
        region_name=configuration.get("aws_region") or None,
        config=Config(retries={"max_attempts": 10, "mode": "standard"}, s3=s3_config),
    )


def restore_fields(restore_header: Optional[str]) -> dict:
    """The example's reading of `x-amz-restore`: an expiry date means restored, anything else (even a restore in
    progress) is reported as archived."""
    if restore_header and "expiry-date=" in restore_header:
        expiry = restore_header.split('expiry-date="', 1)[1].split('"', 1)[0]
        expires = datetime.strptime(expiry, "%a, %d %b %Y %H:%M:%S %Z").replace(tzinfo=timezone.utc)
        return {"restore_status": "restored", "restore_expiry": expires.isoformat()}
    return {"restore_status": "archived"}


def object_rows(s3: Any, bucket: str, prefix: str) -> Iterator[dict]:
    request = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": PAGE_SIZE}
    while True:
        page = s3.list_objects_v2(**request)
        for obj in page.get("Contents", []):
            storage_class = obj.get("StorageClass", "STANDARD")
            row = {
                "bucket": bucket,
                "key": obj["Key"],
                "size": int(obj.get("Size", 0)),
                "e_tag": (obj.get("ETag") or "").strip('"'),
                "storage_class": storage_class,
                "last_modified": obj["LastModified"].astimezone(timezone.utc).isoformat(),
            }
            if storage_class in GLACIER_CLASSES:
                try:
                    row.update(restore_fields(s3.head_object(Bucket=bucket, Key=obj["Key"]).get("Restore")))
                except ClientError as error:
                    row["restore_status"] = f"error:{error.response['Error']['Code']}"
            yield row
        if not page.get("IsTruncated"):
            return
        request["ContinuationToken"] = page["NextContinuationToken"]


def update(configuration: dict, state: dict) -> None:
    bucket = configuration["bucket"]
    watermark = (state.get(TABLE) or {}).get("last_modified")
    newest = watermark
    upserted = 0
    for row in object_rows(s3_client(configuration), bucket, configuration.get("prefix", "")):
        modified = row["last_modified"]
        if watermark and modified <= watermark:
            continue
        op.upsert(TABLE, row)
        upserted += 1
        if not newest or modified > newest:
            newest = modified
    op.checkpoint({TABLE: {"last_modified": newest or datetime.now(timezone.utc).isoformat()}})
    log.info(f"upserted {upserted} objects; watermark {newest}")


connector = Connector(update=update, schema=schema)
