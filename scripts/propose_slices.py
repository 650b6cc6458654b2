"""`python -m scripts.propose_slices`: propose N key ranges that split one bucket into slices of about equal size.

Reads the connector's configuration.json (bucket, prefixes, patterns, key range, credentials, role, endpoint) and
prints N pairs of key_range_start / key_range_end, one per connection, with how many objects each holds. The first
slice starts where the configuration does (empty: the first key) and the last ends where it does (empty: the last
key); each slice ends exactly where the next begins, so every key belongs to exactly one connection whatever the
counts turn out to be. See docs/key-range-split.md for the whole recipe.

Where the counts come from (the method and its accuracy: scripts/slice_plan.py):
- by default a survey of the bucket's listing with at most --max-requests ListObjectsV2 requests (default 1,000,
  about $0.005 on AWS and a few minutes; a soft cap: a prefix being expanded is finished). A bucket half the budget
  can list (500,000 keys by default) is counted exactly; a larger one is estimated from the prefixes listed.
- with --inventory, the CSV data files of an S3 Inventory report (current versions only; plain or .gz, as S3 writes
  them: bucket in the first column, the URL-encoded key in the second): exact counts, no LIST request. The files are
  read twice, holding at most INVENTORY_SAMPLE keys in memory.

Credentials are the configuration's (key pair, session token, role, endpoint_url), else the default AWS credential
chain, exactly as the connector uses them. Nothing is written anywhere and no secret is printed. Exit status: 0 done,
1 an error (the message says what to fix).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
from bisect import bisect_right
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import unquote_plus

from s3_metadata.aws import S3Gateway
from s3_metadata.configuration import ConfigurationError, Settings, parse_configuration
from s3_metadata.errors import SyncError
from scripts.slice_plan import Slice, Survey, plan_from_keys

DONE, FAILED = 0, 1
DEFAULT_MAX_REQUESTS = 1000
# Keys of an inventory report held in memory to place the boundaries (a uniform sample: the counts are then exact).
INVENTORY_SAMPLE = 200_000
MAX_SLICES = 1000


class ProposalError(Exception):
    """A failure explained in words; printed, exit status FAILED."""


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.propose_slices",
        description="Propose key_range_start/key_range_end pairs that split one bucket into slices of about equal "
                    "object counts, one per connection.")
    parser.add_argument("--configuration", type=Path, default=None, help="the connector's configuration.json")
    parser.add_argument("--slices", type=int, required=True, help="how many connections (slices) to propose")
    parser.add_argument("--bucket", help="the bucket to split (required when the configuration names several)")
    parser.add_argument("--prefix", action="append", help="a prefix (repeat for several); overrides the configuration")
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS,
                        help=f"most ListObjectsV2 requests the survey makes (default {DEFAULT_MAX_REQUESTS})")
    parser.add_argument("--inventory", type=Path, nargs="+", help="S3 Inventory CSV data files to count from instead "
                                                                  "of listing")
    args = parser.parse_args(argv)
    if not 2 <= args.slices <= MAX_SLICES:
        parser.error(f"--slices must be between 2 and {MAX_SLICES}")
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    return args


def settings_of(args: argparse.Namespace) -> tuple[Settings, str]:
    """The validated configuration with the flags on top, and the one bucket to split."""
    configuration: dict[str, Any] = {}
    if args.configuration is not None:
        try:
            loaded = json.loads(args.configuration.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ProposalError(f"{args.configuration} cannot be read as JSON ({type(error).__name__}).") from None
        if not isinstance(loaded, dict):
            raise ProposalError(f"{args.configuration} does not hold a JSON object.")
        configuration.update(loaded)
    if args.bucket:
        configuration["bucket"] = args.bucket
    if args.prefix:
        configuration["prefix"] = ",".join(p.replace(",", "\\,") for p in args.prefix)
    if not configuration.get("bucket"):
        raise ProposalError("No bucket: pass --configuration configuration.json or --bucket.")
    try:
        settings = parse_configuration(configuration)
    except ConfigurationError as error:
        raise ProposalError(str(error)) from None
    if len(settings.buckets) > 1:
        raise ProposalError(f"The configuration names {len(settings.buckets)} buckets; a key range applies to each of "
                            "them, and the slices are planned on one: choose it with --bucket.")
    return settings, settings.buckets[0]


def list_prefixes_of(settings: Settings, bucket: str) -> list[str]:
    return [prefix for name, prefix in settings.streams() if name == bucket]


def survey(settings: Settings, bucket: str, max_requests: int) -> Survey:
    gateway = S3Gateway(settings)
    gateway.bucket_region(bucket)

    def lister(prefix: str, after: str | None) -> tuple[list[str], bool]:
        page = gateway.list_page(bucket, prefix, after, None)
        # A store that says a full page is the last one is asked once more (as the connector does).
        return [o.key for o in page.objects], page.truncated or page.full

    return Survey(lister, list_prefixes_of(settings, bucket), settings.key_filter().matches, settings.key_range,
                  max_requests).run()


def inventory_keys(files: Iterable[Path], bucket: str, keep: Callable[[str], bool],
                   prefixes: Sequence[str]) -> Iterator[str]:
    """The kept keys of `bucket` under `prefixes` in S3 Inventory CSV data files (keys URL-encoded, as S3 writes)."""
    wanted = tuple(prefixes)
    for path in files:
        opener = gzip.open if path.name.endswith(".gz") else open
        try:
            with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
                for row in csv.reader(handle):
                    if len(row) < 2 or row[0] != bucket:
                        continue
                    key = unquote_plus(row[1])
                    if key.startswith(wanted) and keep(key):
                        yield key
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise ProposalError(f"{path} cannot be read as an S3 Inventory CSV file ({type(error).__name__}).") \
                from None


def from_inventory(files: Sequence[Path], settings: Settings, bucket: str, parts: int) -> list[Slice]:
    """Boundaries from a uniform sample of the report's keys (all of them when they fit), counts from a second
    reading: exact."""
    keep, prefixes = settings.key_filter().matches, list_prefixes_of(settings, bucket)
    rng = random.Random(0)
    sample: list[str] = []
    seen = 0
    for key in inventory_keys(files, bucket, keep, prefixes):
        seen += 1
        if len(sample) < INVENTORY_SAMPLE:
            sample.append(key)
        else:
            slot = rng.randrange(seen)
            if slot < INVENTORY_SAMPLE:
                sample[slot] = key
    if not seen:
        raise ProposalError(f"The inventory files hold no key of bucket '{bucket}' that the configuration syncs.")
    planned = plan_from_keys(sorted(set(sample)), parts, settings.key_range)
    boundaries = [s.end for s in planned[:-1] if s.end is not None]
    counts = [0] * (len(boundaries) + 1)
    for key in inventory_keys(files, bucket, keep, prefixes):
        counts[bisect_right(boundaries, key)] += 1
    return [Slice(s.start, s.end, float(count), True) for s, count in zip(planned, counts)]


def report(slices: Sequence[Slice], parts: int, method: str) -> list[str]:
    """What the script prints: how it counted, a table of the slices, and the settings of each connection."""
    exact = all(s.exact for s in slices)
    total = sum(s.objects for s in slices)
    mark = "" if exact else "~"
    lines = [f"{method}: {mark}{total:,.0f} objects, counts {'exact' if exact else 'estimated (~)'}."]
    if len(slices) < parts:
        lines.append(f"Only {len(slices)} slices: there are too few distinct keys (or prefixes) for {parts}.")
    shown = [(str(number), json.dumps(s.start or "", ensure_ascii=False), json.dumps(s.end or "", ensure_ascii=False),
              f"{mark}{s.objects:,.0f}") for number, s in enumerate(slices, start=1)]
    header = ("slice", "key_range_start", "key_range_end", "objects")
    widths = [max(len(row[i]) for row in [header, *shown]) for i in range(4)]
    for row in [header, *shown]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    lines.append("")
    lines.append("Settings of each connection (empty: from the first key / to the last key):")
    for number, s in enumerate(slices, start=1):
        settings = {"key_range_start": s.start or "", "key_range_end": s.end or ""}
        lines.append(f"  connection {number}: {json.dumps(settings, ensure_ascii=False)}")
    return lines


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = arguments(argv)
    try:
        settings, bucket = settings_of(args)
        if args.inventory:
            slices = from_inventory(args.inventory, settings, bucket, args.slices)
            method = f"Counted from {len(args.inventory)} inventory file(s) of bucket '{bucket}'"
        else:
            found = survey(settings, bucket, args.max_requests)
            slices = found.plan(args.slices)
            how = "listed completely" if found.exact else "surveyed"
            method = f"Bucket '{bucket}' {how} with {found.requests} ListObjectsV2 requests"
    except ProposalError as error:
        out(f"error: {error}")
        return FAILED
    except SyncError as error:  # the connector's own explained AWS failures, free of secrets
        out(f"error: {error}")
        return FAILED
    for line in report(slices, args.slices, method):
        out(line)
    return DONE


if __name__ == "__main__":
    sys.exit(main())
