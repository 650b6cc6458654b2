"""The demo's bucket: a small data lake with what makes S3 metadata interesting, and the changes made to it later.

Every storage class the connector treats differently is there (GLACIER and DEEP_ARCHIVE objects have a restore
state; GLACIER_IR objects, and Intelligent-Tiering ones outside its archive tiers, are readable as they are),
restores in both states, a multipart upload (its ETag carries the part count) and keys that break naive URL or CSV
handling. The sizes are small but in realistic proportion, so the prefix and storage class totals read like a real
bucket's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scripts.local_s3 import KIB, MIB, complete_restore, filler, start_restore, upload_multipart

BUCKET = "demo-data-lake"


@dataclass(frozen=True)
class DemoObject:
    key: str
    size: int
    storage_class: str = "STANDARD"


OBJECTS: tuple[DemoObject, ...] = (
    DemoObject("logs/2024/01/15/app-server-01.log.gz", 182 * KIB),
    DemoObject("logs/2024/01/15/app-server-02.log.gz", 175 * KIB),
    DemoObject("logs/2024/02/01/app-server-01.log.gz", 191 * KIB, "STANDARD_IA"),
    DemoObject("logs/2023/12/31/app-server-01.log.gz", 166 * KIB, "GLACIER_IR"),
    DemoObject("logs/2023/11/30/app-server-01.log.gz", 158 * KIB, "GLACIER_IR"),
    DemoObject("images/products/sku-1001.jpg", 412 * KIB),
    DemoObject("images/products/sku 1002 (front).jpg", 388 * KIB),
    DemoObject("images/logos/café-ロゴ.png", 36 * KIB),
    DemoObject("images/thumbnails/", 0),
    DemoObject("backups/db/2023-12-31.sql.gz", 3 * MIB, "DEEP_ARCHIVE"),
    DemoObject("backups/db/2024-01-31.sql.gz", 3 * MIB + 200 * KIB, "GLACIER"),
    DemoObject("backups/db/2024-02-29.sql.gz", 3 * MIB + 350 * KIB, "GLACIER"),
    DemoObject("backups/db/2024-03-31.sql.gz", 3 * MIB + 410 * KIB, "GLACIER"),
    DemoObject("data/sales/year=2024/month=01/part-0000.parquet", 1 * MIB + 300 * KIB, "INTELLIGENT_TIERING"),
    DemoObject("data/sales/year=2024/month=02/part-0000.parquet", 1 * MIB + 450 * KIB, "INTELLIGENT_TIERING"),
    DemoObject("data/exports/customers-2023.csv", 880 * KIB),
    DemoObject("data/raw/events+2024-01.json", 640 * KIB),
    DemoObject("data/raw/report 100%.csv", 12 * KIB, "STANDARD_IA"),
    DemoObject("README.txt", 2 * KIB),
)
MULTIPART_KEY = "data/exports/customers-full.parquet"
MULTIPART_PARTS = [5 * MIB, 1 * MIB + 512 * KIB]
RESTORED_KEY = "backups/db/2024-01-31.sql.gz"
RESTORING_KEY = "backups/db/2024-02-29.sql.gz"

ADDED = "added"
RESTORE_COMPLETED = "restore completed"
DELETED = "deleted"


@dataclass(frozen=True)
class Change:
    """One change made between the two syncs, so the demo can check whether the second sync captured it."""

    kind: str
    key: str
    note: str


def fill(client: Any, endpoint_url: str) -> int:
    """Create the bucket with its objects and restores; returns how many objects it holds."""
    client.create_bucket(Bucket=BUCKET)
    for obj in OBJECTS:
        client.put_object(Bucket=BUCKET, Key=obj.key, Body=filler(obj.key, obj.size), StorageClass=obj.storage_class)
    upload_multipart(client, BUCKET, MULTIPART_KEY, MULTIPART_PARTS)
    start_restore(client, endpoint_url, BUCKET, RESTORED_KEY, days=7)
    complete_restore(client, endpoint_url, BUCKET, RESTORED_KEY)
    start_restore(client, endpoint_url, BUCKET, RESTORING_KEY, days=3)
    return len(OBJECTS) + 1


def change(client: Any, endpoint_url: str) -> list[Change]:
    """What happens to the bucket between the syncs: one upload, one restore finishing, two deletions."""
    added = "logs/2024/03/01/app-server-01.log.gz"
    client.put_object(Bucket=BUCKET, Key=added, Body=filler(added, 201 * KIB))
    complete_restore(client, endpoint_url, BUCKET, RESTORING_KEY)
    plain = "data/exports/customers-2023.csv"
    client.delete_object(Bucket=BUCKET, Key=RESTORED_KEY)
    client.delete_object(Bucket=BUCKET, Key=plain)
    return [
        Change(ADDED, added, "a new STANDARD object"),
        Change(RESTORE_COMPLETED, RESTORING_KEY, "its LastModified does not change; the connector tracks the restore"),
        Change(DELETED, RESTORED_KEY, "a restored object, so the connector tracks it"),
        Change(DELETED, plain, "a plain STANDARD object the connector does not track"),
    ]
