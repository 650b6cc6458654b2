"""The floor a metadata connector is measured against: one plain listing of the bucket and nothing else.

It makes no HEAD request and keeps no watermark, so every sync lists and upserts every object. It writes the same
thirteen columns as our connector (the restore columns empty), so the comparison measures what a real connector
spends beyond listing and upserting (restore checks, bookkeeping), not the width of its rows.
"""
from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from fivetran_connector_sdk import Connector, Logging as log, Operations as op

TABLE = "s3_objects"
CHECKPOINT_EVERY = 10_000


def schema(configuration: dict) -> list[dict]:
    return [{
        "table": TABLE,
        "primary_key": ["bucket", "key"],
        "columns": {"bucket": "STRING", "key": "STRING", "size": "LONG", "e_tag": "STRING",
                    "storage_class": "STRING", "last_modified": "UTC_DATETIME", "restore_status": "STRING",
                    "restore_expiry": "UTC_DATETIME", "archive_status": "STRING", "is_multipart": "BOOLEAN",
                    "multipart_part_count": "INT", "checksum_algorithm": "STRING", "checksum_type": "STRING"},
    }]


def s3_client(configuration: dict) -> Any:
    """Default botocore settings, except path-style addressing when an endpoint is given (a stand-in has no DNS)."""
    endpoint = configuration.get("endpoint_url") or None
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=configuration.get("aws_access_key_id") or None,
        aws_secret_access_key=configuration.get("aws_secret_access_key") or None,
        region_name=configuration.get("aws_region") or None,
        config=Config(s3={"addressing_style": "path"}) if endpoint else None,
    )


def update(configuration: dict, state: dict) -> None:
    bucket = configuration["bucket"]
    listing = {"Bucket": bucket, "Prefix": configuration.get("prefix", "")}
    if state.get("listed_through"):
        # A sync that stopped part way resumes after the last key it checkpointed rather than starting again.
        listing["StartAfter"] = state["listed_through"]
    rows = 0
    last_key = None
    for page in s3_client(configuration).get_paginator("list_objects_v2").paginate(**listing):
        for obj in page.get("Contents", []):
            e_tag = obj["ETag"].strip('"')
            parts = e_tag.rpartition("-")[2] if "-" in e_tag else None
            op.upsert(TABLE, {
                "bucket": bucket,
                "key": obj["Key"],
                "size": obj["Size"],
                "e_tag": e_tag,
                "storage_class": obj.get("StorageClass", "STANDARD"),
                "last_modified": obj["LastModified"].isoformat(),
                "restore_status": None,
                "restore_expiry": None,
                "archive_status": None,
                "is_multipart": parts is not None,
                "multipart_part_count": int(parts) if parts else None,
                "checksum_algorithm": ",".join(obj.get("ChecksumAlgorithm", [])) or None,
                "checksum_type": obj.get("ChecksumType"),
            })
            rows += 1
            last_key = obj["Key"]
            if rows % CHECKPOINT_EVERY == 0:
                op.checkpoint({"listed_through": last_key})
    op.checkpoint({"listed_through": None})
    log.info(f"listed and upserted {rows} objects")


connector = Connector(update=update, schema=schema)
