"""Change capture through the real `fivetran debug`: deletes in a versioned bucket, the versions table, and a
reconciliation pass that removes the deleted objects of an unversioned bucket."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from s3_metadata.timestamps import isoformat_utc, parse_isoformat_utc
from scripts.connector_project import (
    QUALIFIED_TABLE, SCHEMA, VERSIONS_TABLE, local_configuration, make_project, query, write_configuration,
)
from scripts.local_s3 import wait_for_next_second
from tests.e2e.test_fivetran_debug import expected_rows, synced, table_rows

pytestmark = pytest.mark.e2e


def deleted_keys(project: Path, bucket: str) -> set[str]:
    return {row[0] for row in query(project, f"SELECT key FROM {QUALIFIED_TABLE} WHERE bucket = ? AND "
                                             "_fivetran_deleted", [bucket])[1]}


def test_versioned_bucket_deletes_and_versions_table(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-versioned"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(30):
        s3.put_object(Bucket=bucket, Key=f"v/{i:02d}.txt", Body=b"first")
    s3.put_object(Bucket=bucket, Key="v/07.txt", Body=b"second version")
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3, lookback_minutes="0", range_size="10",
                                                     sync_versions="true"))
    wait_for_next_second()
    synced(project)
    s3.delete_object(Bucket=bucket, Key="v/12.txt")
    s3.delete_object(Bucket=bucket, Key="v/25.txt")
    wait_for_next_second()
    second = synced(project)

    assert second.counts["Deletes"] == 2
    assert deleted_keys(project, bucket) == {"v/12.txt", "v/25.txt"}
    assert table_rows(project, bucket) == expected_rows(s3, bucket)
    names, rows = query(project, f"SELECT key, is_latest, is_delete_marker FROM {SCHEMA}.{VERSIONS_TABLE} "
                                 "WHERE NOT _fivetran_deleted ORDER BY key, is_latest")
    versions = [tuple(row) for row in rows]
    assert versions.count(("v/07.txt", False, False)) == 1 and versions.count(("v/07.txt", True, False)) == 1
    assert ("v/12.txt", True, True) in versions and ("v/25.txt", True, True) in versions


def make_reconciliation_due(project: Path, hours: float) -> None:
    """Move the saved last reconciliation back `hours` (the configured interval, at least 6), so the next run of
    `fivetran debug` reconciles without waiting for it."""
    path = project / "files" / "state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    state["last_reconcile"] = isoformat_utc(parse_isoformat_utc(state["last_reconcile"]) - timedelta(hours=hours,
                                                                                                     seconds=1))
    path.write_text(json.dumps(state), encoding="utf-8")


def test_reconciliation_marks_deleted_objects_of_an_unversioned_bucket(tmp_path: Path, local_s3: str,
                                                                         s3: Any) -> None:
    bucket = "e2e-reconcile"
    s3.create_bucket(Bucket=bucket)
    for i in range(25):
        s3.put_object(Bucket=bucket, Key=f"r/{i:02d}.txt", Body=b"x")
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3, lookback_minutes="0",
                                                     reconcile_every_hours="6"))
    wait_for_next_second()
    synced(project)
    s3.delete_object(Bucket=bucket, Key="r/03.txt")
    make_reconciliation_due(project, 6)
    second = synced(project)

    assert second.counts["Truncates"] >= 1
    assert deleted_keys(project, bucket) == {"r/03.txt"}
    assert table_rows(project, bucket) == expected_rows(s3, bucket)
