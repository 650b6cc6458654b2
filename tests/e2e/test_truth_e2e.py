"""Issue 9 end to end, through the real `fivetran debug` against moto_server (an S3-compatible endpoint: it does
not report RestoreStatus in listings): restores of old archived objects are seen, a re-sync from an empty state
leaves only S3's objects live, and an incremental sync of a recently written bucket sends only what changed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import local_configuration, make_project, saved_state, write_configuration
from scripts.local_s3 import complete_restore, filler, freeze_restores, start_restore, wait_for_next_second
from tests.e2e.test_fivetran_debug import expected_rows, synced, table_rows

pytestmark = pytest.mark.e2e


def test_restore_started_then_completed_on_an_s3_compatible_endpoint(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-compatible-restores"
    s3.create_bucket(Bucket=bucket)
    keys = [f"vault/{i:03d}.bin" for i in range(40)]
    for index, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=filler(key, 64), StorageClass=("GLACIER", "DEEP_ARCHIVE")[index % 2])
    freeze_restores(local_s3)
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3))
    synced(project)
    deep = keys[-2]
    assert table_rows(project, bucket)[deep]["restore_status"] == "archived"

    start_restore(s3, local_s3, bucket, deep)
    second = synced(project)
    assert table_rows(project, bucket)[deep]["restore_status"] == "in_progress"
    assert second.counts["Upserts"] == 1

    complete_restore(s3, local_s3, bucket, deep)
    third = synced(project)
    row = table_rows(project, bucket)[deep]
    assert row["restore_status"] == "restored" and row["restore_expiry"] is not None
    assert third.counts["Upserts"] == 1
    assert table_rows(project, bucket) == expected_rows(s3, bucket)


def test_resync_after_the_state_file_is_deleted_leaves_only_current_objects(tmp_path: Path, local_s3: str,
                                                                             s3: Any) -> None:
    bucket = "e2e-resync"
    s3.create_bucket(Bucket=bucket)
    for i in range(12):
        s3.put_object(Bucket=bucket, Key=f"k/{i:02d}", Body=filler(str(i), 10))
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3))
    synced(project)
    s3.delete_object(Bucket=bucket, Key="k/03")
    s3.delete_object(Bucket=bucket, Key="k/10")
    (project / "files" / "state.json").unlink()
    run = synced(project)
    assert run.counts["Truncates"] == 1
    assert set(table_rows(project, bucket)) == {f"k/{i:02d}" for i in range(12) if i not in (3, 10)}
    assert table_rows(project, bucket) == expected_rows(s3, bucket)
    assert saved_state(project)["reconcile_started"] is None


def test_recently_written_bucket_sends_only_the_changes(tmp_path: Path, local_s3: str, s3: Any) -> None:
    """Every object is minutes old (inside the 60-minute look-back that used to re-send them every sync)."""
    bucket = "e2e-recent"
    s3.create_bucket(Bucket=bucket)
    for i in range(300):
        s3.put_object(Bucket=bucket, Key=f"fresh/{i:04d}", Body=b"x")
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3))
    synced(project)
    unchanged = synced(project)
    assert unchanged.counts["Upserts"] == 0
    wait_for_next_second()
    for key in ("fresh/0050b", "fresh/0250b", "fresh/9999"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"new")
    changed = synced(project)
    assert changed.counts["Upserts"] == 3
    assert table_rows(project, bucket) == expected_rows(s3, bucket)
