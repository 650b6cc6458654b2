"""scripts/propose_slices.py against moto: it lists (or reads an inventory report), prints N key ranges that meet end to
start, and the connections configured with them add up to the bucket."""
from __future__ import annotations

import csv
import gzip
import json
import re
from urllib.parse import quote_plus

from s3_metadata.key_range import KeyRange
from scripts import propose_slices

BUCKET = "test-bucket"
KEYS = [f"logs/2024-{m:02d}-{d:02d}/part-{i}.gz" for m in range(1, 7) for d in range(1, 11) for i in range(50)] + \
    [f"raw/\u00e9t\u00e9 {i}.csv" for i in range(300)] + ["tmp/a.tmp", "tmp/b.tmp"]


def run(argv: list[str]) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = propose_slices.main(argv, lines.append)
    return status, lines


def proposed(lines: list[str]) -> list[KeyRange]:
    """The key ranges of the 'connection N:' lines."""
    ranges = []
    for line in lines:
        found = re.match(r"\s+connection \d+: (.*)$", line)
        if found:
            settings = json.loads(found.group(1))
            ranges.append(KeyRange(settings["key_range_start"] or None, settings["key_range_end"] or None))
    return ranges


def write_configuration(tmp_path, **values: str):
    path = tmp_path / "configuration.json"
    path.write_text(json.dumps({"bucket": BUCKET, "aws_region": "us-east-1", **values}), encoding="utf-8")
    return path


def test_proposes_exact_slices_of_a_bucket_it_can_list(moto_s3, tmp_path):
    moto_s3.create_bucket(BUCKET)
    moto_s3.bulk_put(BUCKET, KEYS)
    configuration = write_configuration(tmp_path, exclude_patterns="**/*.tmp")
    status, lines = run(["--configuration", str(configuration), "--slices", "3"])
    assert status == propose_slices.DONE, lines
    assert "listed completely" in lines[0] and "3,300 objects, counts exact" in lines[0]
    ranges = proposed(lines)
    assert len(ranges) == 3 and ranges[0].start is None and ranges[-1].end is None
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))
    kept = [k for k in KEYS if not k.endswith(".tmp")]
    counts = [sum(r.contains(k) for k in kept) for r in ranges]
    assert all(abs(count - 1100) <= 12 for count in counts)  # a boundary moves by up to 1% to be a folder name
    # The table shows the same counts.
    assert [line.split()[-1] for line in lines[2:5]] == [f"{count:,}" for count in counts]


def test_a_small_budget_estimates_and_says_so(moto_s3, tmp_path):
    moto_s3.create_bucket(BUCKET)
    moto_s3.bulk_put(BUCKET, KEYS)
    status, lines = run(["--bucket", BUCKET, "--slices", "2", "--max-requests", "3"])
    assert status == propose_slices.DONE, lines
    assert "surveyed with" in lines[0] and "estimated (~)" in lines[0]
    ranges = proposed(lines)
    assert len(ranges) == 2 and ranges[0].end == ranges[1].start
    assert all("~" in line for line in lines[2:4])


def test_counts_from_an_inventory_report(moto_s3, tmp_path):
    """The report's keys are URL-encoded; other buckets' rows and excluded keys are not counted; no LIST is made."""
    report = tmp_path / "inventory.csv.gz"
    with gzip.open(report, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        for key in KEYS:
            writer.writerow([BUCKET, quote_plus(key, safe="/"), "1", "2024-01-01T00:00:00.000Z"])
        writer.writerow(["other-bucket", "logs/zzz", "1", "2024-01-01T00:00:00.000Z"])
    configuration = write_configuration(tmp_path, prefix="logs/,raw/")
    status, lines = run(["--configuration", str(configuration), "--slices", "4", "--inventory", str(report)])
    assert status == propose_slices.DONE, lines
    assert "Counted from 1 inventory file(s)" in lines[0] and "3,300 objects, counts exact" in lines[0]
    ranges = proposed(lines)
    kept = [k for k in KEYS if k.startswith(("logs/", "raw/"))]
    counts = [sum(r.contains(k) for k in kept) for r in ranges]
    assert sum(counts) == 3300 and all(abs(count - 825) <= 9 for count in counts)
    assert [line.split()[-1] for line in lines[2:6]] == [f"{count:,}" for count in counts]


def test_explained_errors(moto_s3, tmp_path):
    status, lines = run(["--bucket", "missing-bucket", "--slices", "2"])
    assert status == propose_slices.FAILED and lines[0].startswith("error:") and "missing-bucket" in lines[0]
    status, lines = run(["--bucket", "a-bucket,b-bucket", "--slices", "2"])
    assert status == propose_slices.FAILED and "choose it with --bucket" in lines[0]
    configuration = write_configuration(tmp_path, key_range_start="z", key_range_end="a")
    status, lines = run(["--configuration", str(configuration), "--slices", "2"])
    assert status == propose_slices.FAILED and "key_range_end" in lines[0]
