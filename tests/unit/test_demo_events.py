"""Unit tests for the parts of `make demo-events` (scripts/demo_events.py) that do not need a server: the event it
sends where moto_server sends none must read, to the connector, as the S3 event it stands in for; and the closing
lines it shows are the connector's, read from `fivetran debug`'s log."""
from __future__ import annotations

import pytest

from s3_metadata.events import CREATED, REMOVED, S3_NOTIFICATION, parse_message
from scripts.connector_project import CliRun
from scripts.demo_events import DELETED_EVENT, MARKER_EVENT, PUT_EVENT, connector_lines, s3_message, summary


@pytest.mark.parametrize("key, event, version_id, kind", [
    pytest.param("contracts/globex.pdf", MARKER_EVENT, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", REMOVED, id="delete-marker"),
    pytest.param("reports/2024-02.csv", DELETED_EVENT, None, REMOVED, id="unversioned-delete"),
    pytest.param("with space/a+b%c.txt", DELETED_EVENT, "v1", REMOVED, id="form-encoded-key"),
    pytest.param("日本語/ファイル.txt", PUT_EVENT, None, CREATED, id="unicode-key-created"),
])
def test_the_stand_in_event_reads_as_the_s3_event_it_replaces(key: str, event: str, version_id: str | None,
                                                              kind: str) -> None:
    parsed = parse_message(s3_message("demo-versioned", key, event, version_id))
    assert parsed.error is None and not parsed.is_test
    [read] = parsed.events
    assert (read.bucket, read.key, read.kind, read.name, read.source) == (
        "demo-versioned", key, kind, event, S3_NOTIFICATION)
    assert read.alternate_key is None and read.sequencer is not None and read.event_time is not None


LOG = """\
06:18:46.171 INFO     \u26a1 connector stream s3://demo-versioned/: pass complete, 2 objects in 1 key ranges
06:18:46.290 INFO     \u26a1 connector sync summary: 6 objects listed (0 excluded by patterns), 2 rows upserted
06:18:46.291 WARNING  \u26a1 connector 2 objects deleted since the last sync in 2 key ranges, whose rows could not
06:18:46.292 WARNING  \u26a1 sdk       connector process memory usage is high
06:18:46.339 INFO     \u26a1 sdk       SYNC SUCCEEDED \u2014 total elapsed 00:00:00.848
"""


@pytest.mark.parametrize("level, expected", [
    pytest.param("WARNING", ("2 objects deleted since the last sync in 2 key ranges, whose rows could not",),
                 id="the-connector-s-warnings-not-the-sdk-s"),
    pytest.param("INFO", ("stream s3://demo-versioned/: pass complete, 2 objects in 1 key ranges",
                          "sync summary: 6 objects listed (0 excluded by patterns), 2 rows upserted"),
                 id="the-connector-s-info-lines"),
])
def test_connector_lines_are_read_from_the_debug_log(level: str, expected: tuple[str, ...]) -> None:
    assert connector_lines(CliRun(("fivetran", "debug"), 0, LOG), level) == expected


def test_the_summary_is_the_connector_s_closing_summary() -> None:
    assert summary(CliRun(("fivetran", "debug"), 0, LOG)).startswith("sync summary: 6 objects listed")
