"""`fivetran debug` run as a user runs it, against a local S3 over HTTP, checked against what S3 itself reports.

The expected rows are computed here from plain boto3 calls against the same endpoint (LIST for the listing columns,
HEAD for the restore state), never from the connector's code, so a mistake shared by the connector and its unit
tests still shows. LastModified cannot be backdated over HTTP, so the syncs run with `lookback_minutes` 0 and a
wait into the next second after each setup: otherwise every object would be recent enough to be re-sent.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import (
    QUALIFIED_TABLE, SCHEMA, TABLE, CliRun, local_configuration, make_project, query, run_debug, saved_state,
    write_configuration,
)
from scripts.local_s3 import MIB, filler, start_restore, upload_multipart, wait_for_next_second

pytestmark = pytest.mark.e2e

COMPARED = ("bucket", "key", "size", "e_tag", "storage_class", "last_modified", "restore_status", "restore_expiry",
            "is_multipart")
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
UNUSUAL_KEYS = ("docs/with space.txt", "docs/plus+sign.txt", "docs/percent%20literal.txt", "docs/naïve-日本語.txt",
                "docs/folder/", "docs/query?x=1&y=2")
ARCHIVED_KEY = "archive/2019/ledger.csv"
RESTORING_KEY = "archive/2020/ledger.csv"
MULTIPART_KEY = "exports/full.parquet"


def fill_bucket(s3: Any, endpoint: str, bucket: str) -> None:
    """About two dozen objects: several prefixes and storage classes, odd keys, archives, a multipart upload."""
    s3.create_bucket(Bucket=bucket)
    plain = [f"logs/2024/01/{day:02d}/app.log" for day in range(1, 11)] + [f"images/{n}.png" for n in range(4)]
    for index, key in enumerate(plain + list(UNUSUAL_KEYS)):
        s3.put_object(Bucket=bucket, Key=key, Body=filler(key, 100 + 37 * index))
    for key, storage_class in (("cold/ia.bin", "STANDARD_IA"), ("cold/ir.bin", "GLACIER_IR"),
                               ("cold/tiering.bin", "INTELLIGENT_TIERING"), ("archive/2018/ledger.csv", "DEEP_ARCHIVE"),
                               (ARCHIVED_KEY, "GLACIER"), (RESTORING_KEY, "GLACIER")):
        s3.put_object(Bucket=bucket, Key=key, Body=filler(key, 2048), StorageClass=storage_class)
    start_restore(s3, endpoint, bucket, RESTORING_KEY)
    upload_multipart(s3, bucket, MULTIPART_KEY, [5 * MIB, 1024])


def restore_columns(s3: Any, bucket: str, key: str, storage_class: str) -> tuple[str | None, datetime | None]:
    """restore_status and restore_expiry from HEAD's x-amz-restore, for the classes that must be restored."""
    if storage_class not in ARCHIVE_CLASSES:
        return None, None
    header = s3.head_object(Bucket=bucket, Key=key).get("Restore")
    if header is None:
        return "archived", None
    if 'ongoing-request="true"' in header:
        return "in_progress", None
    return "restored", parsedate_to_datetime(header.split('expiry-date="', 1)[1].rstrip('"'))


def expected_rows(s3: Any, bucket: str) -> dict[str, dict[str, Any]]:
    """What the table must hold for `bucket`, by key, from S3's own answers."""
    rows = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            storage_class = entry.get("StorageClass") or "STANDARD"
            status, expiry = restore_columns(s3, bucket, entry["Key"], storage_class)
            e_tag = entry["ETag"].strip('"')
            rows[entry["Key"]] = {
                "bucket": bucket, "key": entry["Key"], "size": entry["Size"], "e_tag": e_tag,
                "storage_class": storage_class, "last_modified": entry["LastModified"].astimezone(timezone.utc),
                "restore_status": status, "restore_expiry": expiry, "is_multipart": "-" in e_tag,
            }
    return rows


def _utc(value: Any) -> Any:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


def table_rows(project: Path, bucket: str) -> dict[str, dict[str, Any]]:
    """The live rows of `bucket` in the warehouse, by key, with the compared columns."""
    names, rows = query(project, f"SELECT {', '.join(COMPARED)} FROM {QUALIFIED_TABLE} "
                                 "WHERE bucket = ? AND NOT coalesce(_fivetran_deleted, false)", [bucket])
    return {row[1]: {name: _utc(value) for name, value in zip(names, row)} for row in rows}


def keys_synced_after(project: Path, moment: datetime) -> set[str]:
    return {row[0] for row in query(project, f"SELECT key FROM {QUALIFIED_TABLE} WHERE _fivetran_synced > ?",
                                    [moment])[1]}


def last_synced(project: Path) -> datetime:
    return query(project, f"SELECT max(_fivetran_synced) FROM {QUALIFIED_TABLE}")[1][0][0]


def previous_state_printed(run: CliRun) -> dict[str, Any]:
    """The state the SDK says it started from: it prints `previous state:` and the JSON on the next line."""
    lines = run.output.splitlines()
    marker = next(i for i, line in enumerate(lines) if line.rstrip().endswith("previous state:"))
    return json.loads(lines[marker + 1].strip())


def synced(project: Path, environment: dict[str, str] | None = None) -> CliRun:
    run = run_debug(project, environment)
    assert run.synced, f"fivetran debug failed (exit {run.returncode}):\n{run.tail()}"
    return run


def test_full_sync_then_incremental_sync_match_s3(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-debug"
    fill_bucket(s3, local_s3, bucket)
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3, lookback_minutes="0", range_size="10"))
    wait_for_next_second()

    first = synced(project)
    expected = expected_rows(s3, bucket)
    assert expected[RESTORING_KEY]["restore_status"] == "in_progress"
    assert expected[ARCHIVED_KEY]["restore_status"] == "archived"
    assert expected[MULTIPART_KEY]["is_multipart"]
    assert table_rows(project, bucket) == expected
    assert first.counts["Upserts"] == len(expected)

    _, types = query(project, "SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = ? AND table_name = ?", [SCHEMA, TABLE])
    assert {name: kind for name, kind in types if name in COMPARED} == {
        "bucket": "VARCHAR", "key": "VARCHAR", "size": "BIGINT", "e_tag": "VARCHAR", "storage_class": "VARCHAR",
        "last_modified": "TIMESTAMP WITH TIME ZONE", "restore_status": "VARCHAR",
        "restore_expiry": "TIMESTAMP WITH TIME ZONE", "is_multipart": "BOOLEAN"}
    _, keys = query(project, "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = ? AND "
                             "table_name = ? AND constraint_type = 'PRIMARY KEY'", [SCHEMA, TABLE])
    assert keys == [(["bucket", "key"],)]

    state = saved_state(project)
    assert state["version"] == 3
    before_second = last_synced(project)
    added, overwritten = "logs/2024/02/01/app.log", "images/2.png"
    s3.put_object(Bucket=bucket, Key=added, Body=filler(added, 321))
    s3.put_object(Bucket=bucket, Key=overwritten, Body=filler("a new picture", 4321))

    second = synced(project)
    assert previous_state_printed(second) == state
    expected = expected_rows(s3, bucket)
    # A new key and an overwrite cost one row each: the range sketches name them (s3_metadata/sketch.py).
    resent = {added, overwritten}
    assert keys_synced_after(project, before_second) == resent
    assert second.counts["Upserts"] == len(resent) < len(expected)
    assert table_rows(project, bucket) == expected
    assert saved_state(project)["version"] == 3


def test_endpoint_from_aws_endpoint_url_environment_variable(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-endpoint-from-environment"
    fill_bucket(s3, local_s3, bucket)
    project = make_project(tmp_path / "project")
    configuration = local_configuration(bucket, None)
    assert "endpoint_url" not in configuration
    write_configuration(project, configuration)

    run = synced(project, {"AWS_ENDPOINT_URL": local_s3})

    expected = expected_rows(s3, bucket)
    assert table_rows(project, bucket) == expected
    assert run.counts["Upserts"] == len(expected)
