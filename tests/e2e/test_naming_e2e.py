"""What `fivetran debug --naming` makes of this connector's names, in the warehouse it writes.

The connector declares `s3_objects`, `s3_object_versions` and columns such as `checksum_crc32`. Fivetran naming (the
SDK's default, and Fivetran's for a connection created without `--naming`) puts an underscore between letters and
digits; source naming keeps the names as declared. A warehouse keeps the naming of its first sync: a later
`--naming` is ignored with a warning, and only a reset (a new warehouse) changes it. The expected names are written
out here, not computed with the SDK's renaming, so that a change in the SDK shows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s3_metadata.rows import table_schema
from scripts.connector_project import (
    SCHEMA, local_configuration, make_project, query, run_fivetran, write_configuration,
)
from scripts.local_s3 import s3_client

pytestmark = pytest.mark.e2e

FIVETRAN_COLUMNS = {"checksum_crc32": "checksum_crc_32", "checksum_crc32c": "checksum_crc_32_c",
                    "checksum_crc64nvme": "checksum_crc_64_nvme", "checksum_sha1": "checksum_sha_1",
                    "checksum_sha256": "checksum_sha_256"}
SYSTEM_COLUMNS = {"_fivetran_deleted", "_fivetran_synced"}


def declared() -> dict[str, set[str]]:
    """Every table and column the connector declares with versions and every object detail on."""
    return {table["table"]: set(table["columns"]) for table in table_schema(True, ("head", "tags"))}


def landed(project: Path) -> dict[str, set[str]]:
    _, rows = query(project, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?",
                    [SCHEMA])
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def fivetran_named(tables: dict[str, set[str]]) -> dict[str, set[str]]:
    renamed = {"s3_objects": "s_3_objects", "s3_object_versions": "s_3_object_versions"}
    return {renamed[t]: {FIVETRAN_COLUMNS.get(c, c) for c in columns} | SYSTEM_COLUMNS
            for t, columns in tables.items()}


def source_named(tables: dict[str, set[str]]) -> dict[str, set[str]]:
    return {t: columns | SYSTEM_COLUMNS for t, columns in tables.items()}


@pytest.fixture(scope="module")
def naming_bucket(local_s3: str) -> str:
    s3, bucket = s3_client(local_s3), "e2e-naming"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a", ChecksumAlgorithm="CRC32")
    return bucket


def debug(project: Path, naming: list[str]) -> Any:
    run = run_fivetran(project, ["debug", "--configuration", "configuration.json", *naming])
    assert run.synced, run.tail()
    return run


@pytest.mark.parametrize("naming, expected", [
    pytest.param([], fivetran_named, id="default-is-fivetran"),
    pytest.param(["--naming", "FIVETRAN"], fivetran_named, id="fivetran"),
    pytest.param(["--naming", "source"], source_named, id="source"),
])
def test_table_and_column_names_under_each_naming(tmp_path: Path, local_s3: str, naming_bucket: str, naming,
                                                  expected) -> None:
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(naming_bucket, local_s3, sync_versions="true",
                                                     object_details="head,tags"))
    debug(project, naming)
    assert landed(project) == expected(declared())


def test_a_warehouse_keeps_the_naming_of_its_first_sync(tmp_path: Path, local_s3: str, naming_bucket: str) -> None:
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(naming_bucket, local_s3))
    debug(project, [])
    second = debug(project, ["--naming", "SOURCE"])
    assert "ignored --naming flag; naming strategy cannot be changed after connection creation" in second.output
    assert set(landed(project)) == {"s_3_objects"}
