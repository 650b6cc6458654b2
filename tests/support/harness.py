"""Runs the connector through the SDK's local runner in this process and reads back what landed.

The runner is asked for source naming (`apply_renaming=False`), as `make debug` asks `fivetran debug` for it
(`--naming SOURCE`): the tables are `s3_objects` and `s3_object_versions` and every column keeps its declared name
(`checksum_crc32`, not Fivetran naming's `checksum_crc_32`), as in the README's SQL."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

import duckdb

from tests.support.faults import FaultInjector, SimulatedCrash
from tests.support.moto_s3 import MotoS3

SCHEMA = "tester"
TABLE = "s3_objects"
VERSIONS_TABLE = "s3_object_versions"
SAVED = object()


@dataclass
class RunResult:
    ok: bool
    counts: dict[str, int] | None
    error: BaseException | None  # what the connector raised
    raised: BaseException | None = None  # what the runner raised for it: the SDK's wrapper, or op.error's ConnectorTask

    @property
    def upserts(self) -> int:
        return (self.counts or {}).get("Upserts", 0)

    @property
    def deletes(self) -> int:
        return (self.counts or {}).get("Deletes", 0)


def _utc(value: Any) -> Any:
    return value.astimezone(timezone.utc) if hasattr(value, "astimezone") else value


class Harness:
    def __init__(self, project: Path, s3: MotoS3, faults: FaultInjector):
        self.project = project
        self.project.mkdir(parents=True, exist_ok=True)
        self.s3 = s3
        self.faults = faults

    @property
    def state_path(self) -> Path:
        return self.project / "files" / "state.json"

    def saved_state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def sync(self, configuration: dict[str, str], state: Any = SAVED) -> RunResult:
        """One sync, as `fivetran debug` runs it; a failure is returned, not raised."""
        import connector
        from fivetran_connector_sdk import Logging
        from fivetran_connector_sdk_cli import core_adapter
        from fivetran_connector_sdk_core import ConnectorTask

        Logging.LOG_LEVEL = Logging.Level.INFO
        start_state = self.saved_state() if state is SAVED else state
        try:
            counts = core_adapter.run(connector.connector, str(self.project), configuration, start_state,
                                      apply_renaming=False)
        except (Exception, ConnectorTask, SimulatedCrash) as error:  # the runner wraps what update() raised; op.error
            # raises a task; a simulated kill passes through everything
            return RunResult(False, None, error.__cause__ or error.__context__ or error, error)
        return RunResult(True, counts, None)

    def _fetch(self, sql: str, table: str = TABLE) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a query; nothing when the table does not exist yet."""
        path = self.project / "files" / "warehouse.db"
        if not path.exists():
            return [], []
        with duckdb.connect(str(path), read_only=True) as con:
            exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                                 "table_name = ?", [SCHEMA, table]).fetchone()[0]
            if not exists:
                return [], []
            columns = {row[0] for row in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                                     "table_schema = ? AND table_name = ?", [SCHEMA, table]).fetchall()}
            if "_fivetran_deleted" not in columns:
                # A table the runner created at a checkpoint before any row arrived has no soft-delete column yet.
                sql = sql.replace("NOT coalesce(_fivetran_deleted, false)", "true")
            cursor = con.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

    def rows(self, include_deleted: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
        """The live rows of s3_objects by (bucket, key), timestamps as aware UTC datetimes."""
        where = "" if include_deleted else "WHERE NOT coalesce(_fivetran_deleted, false)"
        names, values = self._fetch(f"SELECT * FROM {SCHEMA}.{TABLE} {where}")
        rows = ({name: _utc(value) for name, value in zip(names, row)} for row in values)
        return {(row["bucket"], row["key"]): row for row in rows}

    def versions(self) -> list[dict[str, Any]]:
        """The live rows of s3_object_versions."""
        names, values = self._fetch(f"SELECT * FROM {SCHEMA}.{VERSIONS_TABLE} WHERE NOT coalesce(_fivetran_deleted, "
                                    "false)", VERSIONS_TABLE)
        return [{name: _utc(value) for name, value in zip(names, row)} for row in values]

    def column_types(self) -> dict[str, str]:
        _, values = self._fetch(f"SELECT column_name, data_type FROM information_schema.columns "
                                f"WHERE table_schema = '{SCHEMA}' AND table_name = '{TABLE}'")
        return dict(values)


def project_rows(rows: dict, columns: list[str]) -> dict:
    """Only `columns` of each row, for comparing with an expectation that names them."""
    return {key: {c: row.get(c) for c in columns} for key, row in rows.items()}
