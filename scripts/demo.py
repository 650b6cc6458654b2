"""`make demo`: the connector end to end against a local S3, in seconds, without touching anything of the user's.

It starts moto_server on a free loopback port, fills a demo bucket, writes a project under `.demo/` (a copy of the
connector and its own configuration.json; the repository's configuration.json and files/ are never used), runs the
real `fivetran debug` twice with some changes to the bucket in between, and prints what landed in DuckDB. The SDK's
log is captured and shown only when a run fails. The local S3 is stopped however the demo ends.
"""
from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from scripts.connector_project import (
    QUALIFIED_TABLE, REPO, CliRun, local_configuration, make_project, query, run_debug, saved_state,
    warehouse_path, write_configuration,
)
from scripts.demo_bucket import BUCKET, DELETED, RESTORE_COMPLETED, Change, change, fill
from scripts.local_s3 import exit_cleanly_on_sigterm, running_local_s3, s3_client, wait_for_next_second
from scripts.text_table import Bytes, format_table

DEMO_DIR = REPO / ".demo"
LOG_TAIL_LINES = 60
# A range of 10 keys gives the 20-object bucket several key ranges, as a real bucket of thousands has, so that the
# second sync's choice of ranges shows. (Every demo object is seconds old: moto cannot backdate LastModified, and the
# range digests make that irrelevant to what the second sync sends.)
DEMO_SETTINGS = {"range_size": "10"}
LIVE = "NOT coalesce(_fivetran_deleted, false)"


class DemoFailed(Exception):
    """A `fivetran debug` run failed; its log tail is shown."""

    def __init__(self, what: str, run: CliRun):
        super().__init__(f"{what} failed (exit code {run.returncode})")
        self.run = run


WIDTH = 116


def say(text: str = "") -> None:
    print(text, flush=True)


def say_wrapped(text: str, indent: str = "  ", first: str | None = None) -> None:
    """A paragraph wrapped to the terminal width the tables use; `first` prefixes its first line instead of `indent`."""
    say(textwrap.fill(text, WIDTH, initial_indent=indent if first is None else first, subsequent_indent=indent,
                      break_on_hyphens=False, break_long_words=False))


def shown(path: Path) -> str:
    """A path as the user should type it from the repository root."""
    return os.path.relpath(path, REPO) if path.is_relative_to(REPO) else str(path)


def sync(project: Path, what: str) -> CliRun:
    started = time.monotonic()
    run = run_debug(project)
    if not run.synced:
        raise DemoFailed(what, run)
    counts = run.counts
    say(f"{what}: done in {time.monotonic() - started:.1f}s, {counts.get('Upserts', 0)} rows upserted, "
        f"{counts.get('Deletes', 0)} deleted (SDK log captured; shown only on failure)")
    return run


def table(project: Path, title: str, sql: str, parameters: list[Any] | None = None) -> None:
    headers, rows = query(project, sql, parameters)
    say(f"\n{title}")
    say(format_table(headers, [[Bytes(v) if h == "bytes" and v is not None else v for h, v in zip(headers, row)]
                               for row in rows]))


def first_report(project: Path) -> None:
    table(project, "Objects and bytes by storage class",
          f"SELECT storage_class, count(*) AS objects, sum(size) AS bytes FROM {QUALIFIED_TABLE} WHERE {LIVE} "
          "GROUP BY storage_class ORDER BY bytes DESC")
    table(project, "Archived objects (GLACIER, DEEP_ARCHIVE) and their restores",
          f"SELECT key, storage_class, restore_status, restore_expiry FROM {QUALIFIED_TABLE} WHERE {LIVE} AND "
          "(storage_class IN ('GLACIER', 'DEEP_ARCHIVE') OR restore_status IS NOT NULL) ORDER BY key")
    table(project, "Largest top-level prefixes",
          "SELECT CASE WHEN strpos(key, '/') > 0 THEN split_part(key, '/', 1) || '/' ELSE '(bucket root)' END "
          f"AS prefix, count(*) AS objects, sum(size) AS bytes FROM {QUALIFIED_TABLE} WHERE {LIVE} "
          "GROUP BY prefix ORDER BY bytes DESC LIMIT 5")


def captured(project: Path, item: Change) -> tuple[bool, str]:
    """Whether the second sync wrote what `item` should have produced, and what its row says now."""
    _, rows = query(project, f"SELECT restore_status, restore_expiry, coalesce(_fivetran_deleted, false) "
                             f"FROM {QUALIFIED_TABLE} WHERE bucket = ? AND key = ?", [BUCKET, item.key])
    if not rows:
        return False, "no row in the table"
    status, expiry, deleted = rows[0]
    if item.kind == DELETED:
        if deleted:
            return True, "_fivetran_deleted = true"
        return False, ("row still live: in an unversioned bucket, by default, only deletions of objects whose "
                       "restores are tracked are seen; reconcile_every_hours or sqs_queue_url (event mode) catch "
                       "the others (see README)")
    if deleted:
        return False, "row marked deleted"
    if item.kind == RESTORE_COMPLETED:
        return status == "restored", f"restore_status {status}" + (f", expires {expiry:%Y-%m-%d}" if expiry else "")
    return True, "row present"


def second_report(project: Path, first_synced: datetime, changes: list[Change]) -> None:
    table(project, "Rows the second sync wrote (upserted or marked deleted)",
          f"SELECT key, storage_class, size AS bytes, restore_status, _fivetran_deleted AS deleted "
          f"FROM {QUALIFIED_TABLE} WHERE _fivetran_synced > ? ORDER BY key", [first_synced])
    _, written = query(project, f"SELECT key FROM {QUALIFIED_TABLE} WHERE _fivetran_synced > ?", [first_synced])
    unchanged = len({key for (key,) in written} - {item.key for item in changes})
    if unchanged:
        say_wrapped(f"{unchanged} of these objects did not change: a key range whose count and digest show a change "
                    "other than new keys is re-sent whole, because the state keeps no list of keys.")
    say("\nWhat the second sync captured")
    for item in changes:
        ok, detail = captured(project, item)
        say(f"  [{'captured' if ok else 'NOT captured'}] {item.kind}: {item.key} ({item.note})")
        say_wrapped(detail, indent="         ", first="      -> ")


def stream_watermark(project: Path) -> str | None:
    """The watermark the first sync saved (the start of its listing, by S3's clock), as the second sync reads it."""
    streams = saved_state(project).get("streams", {})
    return next(iter(streams.values()), {}).get("watermark")


def run_demo(endpoint: str) -> None:
    say("S3 metadata connector demo: two real `fivetran debug` syncs of a local S3 bucket\n")
    say(f"Local S3 (moto_server) running at {endpoint}")
    client = s3_client(endpoint)
    objects = fill(client, endpoint)
    say_wrapped(f"Bucket s3://{BUCKET}: {objects} objects in six storage classes, one restore done and one in "
                "progress, a multipart upload, keys with spaces, '+', '%', unicode and a trailing '/'", first="")
    project = make_project(DEMO_DIR)
    write_configuration(project, local_configuration(BUCKET, endpoint, **DEMO_SETTINGS))
    settings = ", ".join(f"{name} {value}" for name, value in DEMO_SETTINGS.items())
    say(f"Project {shown(project)}/: a copy of connector.py, s3_metadata/ and requirements.txt, and a "
        "configuration.json for the local S3")
    say(f"  (endpoint_url {endpoint}, {settings}).")
    say_wrapped("Every object here is seconds old (moto cannot backdate LastModified); the range digests tell what "
                "changed regardless. 10-key ranges give this small bucket several key ranges, as a real bucket of "
                "thousands has.")
    say()
    wait_for_next_second()
    sync(project, "First sync (fivetran debug, full)")
    first_report(project)
    first_synced = query(project, f"SELECT max(_fivetran_synced) FROM {QUALIFIED_TABLE}")[1][0][0]
    watermark = stream_watermark(project)

    say("\nChanging the bucket:")
    changes = change(client, endpoint)
    for item in changes:
        say(f"  {item.kind}: {item.key}")
    say("")
    sync(project, f"Second sync (fivetran debug, incremental from {shown(project)}/files/state.json, "
                  f"watermark {watermark})")
    second_report(project, first_synced, changes)


def print_next_steps() -> None:
    database = shown(warehouse_path(DEMO_DIR))
    python = shown(Path(sys.executable))
    sql = f"SELECT key, storage_class, size, restore_status, _fivetran_deleted FROM {QUALIFIED_TABLE} ORDER BY key"
    say(f"\nQuery the table yourself: it is {QUALIFIED_TABLE} (schema tester) in {database}")
    say(f"""  {python} -c "import duckdb; duckdb.connect('{database}', read_only=True).sql('{sql}').show()\"""")
    if shutil.which("duckdb"):
        say(f"  duckdb -readonly {database}")


def main() -> int:
    exit_cleanly_on_sigterm()
    started = time.monotonic()
    try:
        with running_local_s3() as endpoint:
            run_demo(endpoint)
    except DemoFailed as failure:
        say(f"\n{failure}; the local S3 has been stopped. Last {LOG_TAIL_LINES} lines of its log:\n"
            f"{failure.run.tail(LOG_TAIL_LINES)}")
        return 1
    except KeyboardInterrupt:
        say("\nInterrupted; the local S3 has been stopped.")
        return 130
    say(f"\nLocal S3 stopped. Demo finished in {time.monotonic() - started:.1f}s.")
    print_next_steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
