"""Fivetran Connector SDK entry point: wires the SDK to the `s3_metadata` package and nothing else."""
from __future__ import annotations

import json
from typing import Any

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from s3_metadata.rows import TABLE, table_schema
from s3_metadata.sync import run_sync


class SdkSink:
    """The sync's output, sent through the SDK's operations and logger."""

    def upsert(self, row: dict[str, Any]) -> None:
        op.upsert(TABLE, row)

    def delete(self, keys: dict[str, Any]) -> None:
        op.delete(TABLE, keys)

    def checkpoint(self, state: dict[str, Any]) -> None:
        op.checkpoint(state)

    def info(self, message: str) -> None:
        log.info(message)

    def warning(self, message: str) -> None:
        log.warning(message)


def schema(configuration: dict) -> list[dict[str, Any]]:
    return table_schema()


def update(configuration: dict, state: dict) -> None:
    run_sync(configuration, state, SdkSink())


connector = Connector(update=update, schema=schema)

if __name__ == "__main__":
    with open("configuration.json", encoding="utf-8") as handle:
        connector.debug(configuration=json.load(handle))
