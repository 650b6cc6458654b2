"""A first pass read from an S3 Inventory report against one that lists, on the same bucket, in the same run.

The bucket is the stand-in's (bench/standin_bucket.py, served by bench/s3_standin.py for the listing, HEADs and the
listing pass after the bootstrap). Its S3 Inventory report (CSV, gzip, several data files, rows in no key order) is
generated once per size and seed into a cache directory, as S3 writes one, and served to the sync from the local disk
in place of the destination bucket's GetObject (the only patch: everything else is `run_sync` as in production).
Each run is a child process, optionally inside 0.5 CPU and 1 GB (a cgroup), measured like bench/sync_alone.py:

- `listing`: a first pass that lists the bucket (today's bootstrap);
- `inventory`: a first pass that reads the report instead;
- `after`: the listing pass that follows the inventory bootstrap over the unchanged bucket (rows sent: 0 expected).

    python bench/inventory_bench.py --objects 1000000 [--production] [--files 20] [--runs listing,inventory,after]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from measured_process import run_measured  # noqa: E402
from s3_standin import utc_today  # noqa: E402
from standin_bucket import Layout, iso_timestamp  # noqa: E402
from standin_process import StandInProcess  # noqa: E402
from sync_alone import CountingSink, envelope_if  # noqa: E402

INVENTORY_BUCKET = "bench-inventory"
FOLDER = "inv/bench-bucket/daily/"
FIELDS = ("Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded")
SHUFFLE_BLOCK = 50_000


def generate(directory: Path, objects: int, seed: int, files: int) -> Path:
    """Write the report of the stand-in's bucket under `directory` (once per size, seed and day); returns its root."""
    today = utc_today()
    root = directory / f"report-{objects}-{seed}-{files}-{today:%Y%m%d}"
    manifest_key = f"{FOLDER}{today:%Y-%m-%dT00-00Z}/manifest.json"
    if (root / manifest_key).exists():
        return root
    started = time.perf_counter()
    data = root / FOLDER / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    outs = [gzip.open(data / f"part-{n:04d}.csv.gz", "wt", encoding="utf-8", newline="", compresslevel=6)
            for n in range(files)]
    writers = [csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n") for out in outs]
    block: list[list[str]] = []

    def flush() -> None:
        rng.shuffle(block)
        for number, row in enumerate(block):
            writers[number % files].writerow(row)
        block.clear()

    for _, obj in Layout(objects, seed, today).objects_from(0):
        block.append(["bench-bucket", quote_plus(obj.key, safe=""), str(obj.size), iso_timestamp(obj.last_modified),
                      obj.etag, obj.storage_class, str("-" in obj.etag).lower()])
        if len(block) >= SHUFFLE_BLOCK:
            flush()
    flush()
    for out in outs:
        out.close()
    listed = []
    for n in range(files):
        path = data / f"part-{n:04d}.csv.gz"
        body = path.read_bytes()
        listed.append({"key": f"{FOLDER}data/{path.name}", "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
    manifest = json.dumps({"sourceBucket": "bench-bucket", "destinationBucket": f"arn:aws:s3:::{INVENTORY_BUCKET}",
                           "version": "2016-11-30", "creationTimestamp": str(int(today.timestamp() * 1000)),
                           "fileFormat": "CSV", "fileSchema": ", ".join(FIELDS), "files": listed}).encode()
    (root / manifest_key).parent.mkdir(parents=True, exist_ok=True)
    (root / manifest_key).write_bytes(manifest)
    (root / manifest_key).with_name("manifest.checksum").write_text(hashlib.md5(manifest).hexdigest())
    size = sum(p.stat().st_size for p in data.iterdir())
    print(f"generated the report of {objects:,} objects ({files} files, {size / 2**20:.0f} MB gzip) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return root


def serve_report_from(root: Path) -> None:
    """The destination bucket's ListObjectsV2 (folders) and GetObject, from the local disk."""
    from s3_metadata.aws import gateway as gateway_module
    from s3_metadata.aws.responses import ListPage
    original_list = gateway_module.S3Gateway.list_page
    original_read = gateway_module.S3Gateway.read_object

    def list_page(self: Any, bucket: str, prefix: str, *args: Any, **kwargs: Any) -> Any:
        if bucket != INVENTORY_BUCKET:
            return original_list(self, bucket, prefix, *args, **kwargs)
        folder = root / prefix
        names = sorted(f"{prefix}{p.name}/" for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return ListPage([], names, False, None, None, lambda: [], False)

    def read_object(self: Any, bucket: str, key: str) -> Any:
        if bucket != INVENTORY_BUCKET:
            return original_read(self, bucket, key)
        path = root / key
        return open(path, "rb") if path.exists() else None

    gateway_module.S3Gateway.list_page = list_page
    gateway_module.S3Gateway.read_object = read_object


def child(endpoint: str, state_file: Path, report: str | None) -> None:
    configuration = {"bucket": "bench-bucket", "endpoint_url": endpoint, "aws_access_key_id": "bench",
                     "aws_secret_access_key": "bench"}
    if report:
        serve_report_from(Path(report))
        configuration["inventory_source"] = f"s3://{INVENTORY_BUCKET}/{FOLDER}"
    from s3_metadata.sync import run_sync
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    sink = CountingSink(state_file)
    started = time.process_time()
    run_sync(configuration, state, sink)
    print(json.dumps({"upserts": sink.upserts, "state_bytes": state_file.stat().st_size,
                      "sync_cpu_s": time.process_time() - started}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default="listing,inventory,after")
    parser.add_argument("--production", action="store_true", help="run each sync inside 0.5 CPU and 1 GB (a cgroup)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "s3-inventory-bench")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--state-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.state_file, args.report)
        return 0
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    root = generate(args.cache, args.objects, args.seed, args.files)
    rows = []
    with StandInProcess(args.objects, args.latency_ms, seed=args.seed) as standin, \
            tempfile.TemporaryDirectory() as work:
        print(f"{args.objects:,} objects, {args.latency_ms:g} ms latency, production mode "
              f"{'on' if args.production else 'off'}")
        print(f"{'run':<10} {'wall s':>7} {'CPU s':>7} {'µs/object':>9} {'peak RSS MB':>11} {'rows':>9} "
              f"{'state KB':>8} {'LIST':>6} {'HEAD':>6}")
        for run in runs:
            state_file = Path(work) / ("inventory.json" if run in ("inventory", "after") else f"{run}.json")
            if run != "after" and state_file.exists():
                state_file.unlink()
            standin.reset()
            command = [sys.executable, __file__, "--child", standin.url, "--state-file", str(state_file)]
            if run == "inventory":
                command += ["--report", str(root)]
            with envelope_if(args.production) as envelope:
                measured = run_measured(command, REPO, dict(os.environ), Path(work) / f"{run}.log", 36_000, envelope)
            result = json.loads(measured.output.strip().splitlines()[-1]) if measured.returncode == 0 else {}
            if not result:
                print(measured.output[-3000:], file=sys.stderr)
            stats = standin.stats()
            row = {"run": run, "objects": args.objects, "wall_s": measured.wall_s, "cpu_s": measured.cpu_s,
                   "sync_cpu_s": result.get("sync_cpu_s"), "peak_rss_mb": measured.peak_rss_mb,
                   "upserts": result.get("upserts"), "state_bytes": result.get("state_bytes"),
                   "list_requests": stats.get("ListObjectsV2", 0), "head_requests": stats.get("HeadObject", 0),
                   "production": envelope is not None}
            row["us_per_object"] = row["cpu_s"] * 1e6 / args.objects
            rows.append(row)
            print(f"{run:<10} {measured.wall_s:>7.1f} {measured.cpu_s:>7.1f} {row['us_per_object']:>9.1f} "
                  f"{measured.peak_rss_mb:>11.1f} {result.get('upserts', 'FAILED'):>9} "
                  f"{(result.get('state_bytes') or 0) / 1024:>8.0f} {row['list_requests']:>6} "
                  f"{row['head_requests']:>6}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(row["upserts"] is not None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
