"""Fivetran Connector SDK entry point: wires the SDK to the `s3_metadata` package and nothing else."""
from __future__ import annotations

import html
import json
from typing import Any, Callable

from fivetran_connector_sdk import ConfigurationForm, Connector, Test, form_field
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from s3_metadata.configuration import ConfigurationError, parse_configuration
from s3_metadata.errors import SyncError
from s3_metadata.rows import table_schema
from s3_metadata.setup import CHECKS, DROPDOWN, FAILED, FIELDS, PASSWORD, SKIPPED, Check, FieldSpec
from s3_metadata.state import StateError
from s3_metadata.sync import run_sync

# Failures whose message already says what happened and what to change. A traceback through this connector's modules
# adds nothing a user can act on, so these are reported with `op.error`; anything else keeps its traceback.
EXPLAINED_FAILURES = (SyncError, ConfigurationError, StateError)


class SdkSink:
    """The sync's output, sent through the SDK's operations and logger."""

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        op.upsert(table, row)

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        op.delete(table, keys)

    def truncate(self, table: str) -> None:
        op.truncate(table)

    def checkpoint(self, state: dict[str, Any]) -> None:
        op.checkpoint(state)

    def info(self, message: str) -> None:
        log.info(message)

    def warning(self, message: str) -> None:
        log.warning(message)


def schema(configuration: dict) -> list[dict[str, Any]]:
    try:
        settings = parse_configuration(configuration)
    except ConfigurationError:
        return table_schema()  # update() reports the error; the schema still declares the main table
    return table_schema(settings.sync_versions, settings.object_details)


def update(configuration: dict, state: dict) -> None:
    """Run one sync; an explained failure fails it through `op.error`, with its message and no traceback.

    `op.error` ends the sync at once as failed (it raises the SDK's `ConnectorTask`, which `except Exception` cannot
    swallow): `fivetran debug` prints `SYNC FAILED`, the message and exits 1, and Fivetran shows the message in the
    dashboard. What came after the last checkpoint is dropped and the saved state stays at that checkpoint, as for
    any failed sync. The message is escaped because the SDK reads it as HTML (`<YOUR_AWS_REGION>` is not a tag).
    """
    try:
        run_sync(configuration, state, SdkSink())
    except EXPLAINED_FAILURES as failure:
        op.error(html.escape(str(failure) or type(failure).__name__, quote=False))


def _form_field(spec: FieldSpec) -> Any:
    if spec.kind == DROPDOWN:
        return form_field.DropdownField(
            spec.name, spec.label, fields=[form_field.DropdownFieldParam(value=o) for o in spec.options],
            description=spec.description or None, required=spec.required)
    kind = form_field.TextField.password if spec.kind == PASSWORD else form_field.TextField.plain_text
    return form_field.TextField(spec.name, spec.label, kind, description=spec.description or None,
                                required=spec.required, placeholder=spec.placeholder)


def _setup_test(check: Check) -> Callable[[dict], Any]:
    """The check as an SDK setup test. The SDK's `Test` has only success() (with no message) and failure(message),
    so a skipped check succeeds, and the reason it was skipped is logged as a warning just before the result."""
    def setup_test(configuration: dict) -> Any:
        result = check(configuration)
        if result.outcome == FAILED:
            return Test.failure(result.message)
        if result.outcome == SKIPPED:
            log.warning(f"setup test {check.__name__}: skipped: {result.message}")
        elif result.message:
            log.info(f"setup test {check.__name__}: passed; {result.message}")
        return Test.success()
    setup_test.__name__ = check.__name__
    return setup_test


def configuration_form() -> ConfigurationForm:
    form = ConfigurationForm()
    for spec in FIELDS:
        form.add_field(_form_field(spec))
    for label, check in CHECKS:
        form.add_test(label=label, func=_setup_test(check))
    return form


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)

if __name__ == "__main__":
    with open("configuration.json", encoding="utf-8") as handle:
        connector.debug(configuration=json.load(handle))
