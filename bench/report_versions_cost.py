"""CPU of filling s3_object_versions from an S3 Inventory report of all versions, against reading its current objects.

    python bench/report_versions_cost.py [--keys 200000] [--versions 3] [--rounds 3]

A report of all versions (CSV, gzip, rows in no order) is generated in memory for `--keys` keys of the stand-in's
bucket (bench/standin_bucket.py), each with `--versions` versions, the newest of every fifth key a delete marker.
Then, from the same bytes, through the connector's own functions (inventory_source.report_objects and
report_versions, with a gateway that serves the file from memory and an empty listing page):

- `objects`: the current objects, as a bootstrap's first read does (latest versions that are not delete markers);
- `versions`: every version and marker, sorted by key and version id and grouped by key, as the versions read does.

CPU per row of the report and per unit out, the smallest of `--rounds` interleaved rounds. No network, no sink: what
the report costs to read, not what sending the rows costs.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from s3_standin import utc_today  # noqa: E402
from standin_bucket import Layout, iso_timestamp  # noqa: E402

from s3_metadata.inventory import DataFile, Manifest  # noqa: E402
from s3_metadata.inventory_source import report_objects, report_versions  # noqa: E402

FIELDS = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag",
          "StorageClass", "IsMultipartUploaded")


def generate(keys: int, versions: int, seed: int) -> tuple[bytes, int]:
    """The gzip CSV of a report of all versions, and its number of rows."""
    rng = random.Random(seed)
    rows = []
    for number, (_, obj) in enumerate(Layout(keys, seed, utc_today()).objects_from(0)):
        key = quote_plus(obj.key, safe="")
        for age in range(versions):
            latest = age == 0
            when = iso_timestamp(obj.last_modified - age * 86400)
            if latest and number % 5 == 0:
                rows.append(["b", key, f"m{number}", "true", "true", "", when, "", "", "false"])
                continue
            rows.append(["b", key, f"v{number}-{age}", str(latest).lower(), "false", str(obj.size), when, obj.etag,
                         obj.storage_class, str("-" in obj.etag).lower()])
    rng.shuffle(rows)
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return gzip.compress(text.getvalue().encode(), compresslevel=6, mtime=0), len(rows)


class MemoryGateway:
    """Serves the one data file from memory; the listing sample (checksum types) is an empty page."""

    def __init__(self, body: bytes):
        self.body = body

    def list_page(self, *args: Any, **kwargs: Any) -> Any:
        return type("Page", (), {"objects": []})()

    def read_object(self, bucket: str, key: str) -> Any:
        return io.BytesIO(self.body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    body, rows = generate(args.keys, args.versions, args.seed)
    manifest = Manifest("s3://dest/inv/b/daily/2024-05-01T00-00Z/manifest.json", "b", "dest",
                        datetime(2024, 5, 1, tzinfo=timezone.utc), "CSV", FIELDS,
                        (DataFile("inv/b/daily/data/a.csv.gz", len(body), hashlib.md5(body).hexdigest()),))
    gateway = MemoryGateway(body)
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.rounds):
        for name, read in (("objects", report_objects), ("versions", report_versions)):
            started = time.process_time()
            out = sum(1 for _ in read(gateway, manifest, "b", ""))
            spent = time.process_time() - started
            if name not in best or spent < best[name][0]:
                best[name] = (spent, out)
    print(f"report of all versions: {args.keys:,} keys, {rows:,} rows ({len(body) / 2**20:.1f} MB gzip)")
    print(f"{'read':<10}{'CPU s':>8}{'units out':>12}{'µs/row':>9}{'µs/unit':>9}")
    for name, (spent, out) in best.items():
        print(f"{name:<10}{spent:>8.2f}{out:>12,}{spent / rows * 1e6:>9.2f}{spent / max(out, 1) * 1e6:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
