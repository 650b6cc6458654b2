"""`make demo-events`: event mode next to listing mode, on a local S3 with its SQS, and what each does with deletes.

Usage: `make demo-events` (or, with the virtual environment made, `.venv/bin/python -m scripts.demo_events`). In
about half a minute it prints the setup, four real `fivetran debug` runs, one table of every row as each
connection's warehouse holds it after the second sync (live or deleted, beside what S3 holds), and the summary and
warnings each second sync closed with. It writes only to `.demo-events/` (two projects, `listing-mode/` and
`event-mode/`, each with its files/warehouse.db; not under `.demo/`, which is `make demo`'s project and which a
package build refuses to share); the repository's configuration.json and files/ are never touched.

What it does, all on one moto_server (S3 and SQS) on a free loopback port:
1. Two buckets, one unversioned and one versioned, a few objects each. `python -m scripts.event_setup --apply`, the
   script docs/event-mode.md describes, creates the queue and its dead-letter queue and wires both buckets'
   notifications to it. It runs with AWS_ENDPOINT_URL pointing at the local server: it refuses a configuration with
   `endpoint_url` (S3-compatible stores wire notifications their own way), and moto_server speaks AWS's API.
2. Two connections of the same buckets: one in listing mode, one in event mode (`sqs_queue_url`). A first sync of
   each lists everything.
3. Changes: a delete in the unversioned bucket; in the versioned bucket a permanent delete (DeleteObject with the
   VersionId of the key's only version), a plain delete (a delete marker) and an overwrite; a new object.
4. A second sync of each, and the report.

moto_server sends no event when a delete marker is written, where S3 sends `s3:ObjectRemoved:DeleteMarkerCreated`.
For every change the demo counts the queue's messages before and after; when a change that S3 notifies of brought
no message, the demo sends the event S3 documents to the queue itself and says so in one line. The connector gets
no workaround: it reads what S3 would have sent.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote_plus

from scripts.connector_project import (
    QUALIFIED_TABLE, REPO, CliRun, cli_environment, local_configuration, make_project, query,
    write_configuration,
)
from scripts.demo import DemoFailed, LOG_TAIL_LINES, say, say_wrapped, shown, sync
from scripts.local_s3 import (
    REGION, exit_cleanly_on_sigterm, filler, running_local_s3, s3_client, sqs_client, wait_for_next_second,
)
from scripts.text_table import format_table

DEMO_DIR = REPO / ".demo-events"
UNVERSIONED = "demo-unversioned"
VERSIONED = "demo-versioned"
QUEUE_NAME = "fivetran-s3-metadata-demo"
LISTING, EVENTS = "listing mode", "event mode"
OBJECTS = {
    UNVERSIONED: ("reports/2024-01.csv", "reports/2024-02.csv", "reports/2024-03.csv", "reports/summary.txt"),
    VERSIONED: ("contracts/acme.pdf", "contracts/globex.pdf", "contracts/initech.pdf", "contracts/umbrella.pdf"),
}
# The S3 event each change produces (Amazon S3 User Guide, "Event notification types and destinations").
DELETED_EVENT = "ObjectRemoved:Delete"
MARKER_EVENT = "ObjectRemoved:DeleteMarkerCreated"
PUT_EVENT = "ObjectCreated:Put"
_QUEUE_URL_LINE = re.compile(r'"sqs_queue_url": "([^"]+)"')
# A line the connector logged, in `fivetran debug`'s output: "12:00:00.000 WARNING  ⚡ connector <message>".
_CONNECTOR_LINE = re.compile(r"^[\d:.]+ (INFO|WARNING)\s+\S+ connector\s+(.*)$")
SUMMARIES = ("sync summary:", "event sync summary:")


@dataclass(frozen=True)
class Change:
    """One change to a bucket between the syncs, and whether the demo had to send its event in S3's place."""

    bucket: str
    key: str
    what: str
    detail: str
    event: str
    stand_in: bool = False


@dataclass(frozen=True)
class Outcome:
    """What the demo found, for its report and its test."""

    changes: tuple[Change, ...]
    in_s3: frozenset[tuple[str, str]]
    deleted: dict[str, dict[tuple[str, str], bool]]
    warnings: dict[str, tuple[str, ...]]
    second_runs: dict[str, CliRun]


class SetupFailed(Exception):
    """scripts.event_setup did not wire the buckets; its output is shown."""


def fill(s3: Any) -> None:
    s3.create_bucket(Bucket=UNVERSIONED)
    s3.create_bucket(Bucket=VERSIONED)
    s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
    for bucket, keys in OBJECTS.items():
        for number, key in enumerate(keys):
            s3.put_object(Bucket=bucket, Key=key, Body=filler(key, 1000 + 100 * number))


def wire(endpoint: str) -> str:
    """Run the repository's event setup script on both buckets, as a user would; returns the sqs_queue_url it prints."""
    command = [sys.executable, "-m", "scripts.event_setup", "--bucket", UNVERSIONED, "--bucket", VERSIONED,
               "--region", REGION, "--queue-name", QUEUE_NAME, "--apply"]
    result = subprocess.run(command, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env=cli_environment({"AWS_ENDPOINT_URL": endpoint}), timeout=120)
    found = _QUEUE_URL_LINE.search(result.stdout)
    if result.returncode != 0 or found is None:
        raise SetupFailed(f"scripts.event_setup failed (exit code {result.returncode}):\n"
                          f"{result.stdout}{result.stderr}")
    say(f"$ AWS_ENDPOINT_URL={endpoint} python -m scripts.event_setup " + " ".join(command[3:]))
    output = result.stdout.splitlines()
    made = output[output.index("Making the changes:") + 1:] if "Making the changes:" in output else []
    for line in made[:made.index("")] if "" in made else made:
        say(line)
    return found.group(1)


def queued(sqs: Any, queue_url: str) -> int:
    """Messages in the queue (nothing receives them between the syncs, so every one is visible)."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def s3_message(bucket: str, key: str, event: str, version_id: str | None) -> str:
    """An S3 event notification of one record, as S3 documents it ("Event message structure"): the key
    form-encoded, a delete without size or ETag, a sequencer in hexadecimal."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{time.time_ns():016X}"}
    if version_id:
        obj["versionId"] = version_id
    record = {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "eventName": event,
        "userIdentity": {"principalId": "AWS:AIDADEMOEXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "DEMO0000000000", "x-amz-id-2": "demo"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "fivetran-s3-metadata",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "DEMOOWNER"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }
    return json.dumps({"Records": [record]})


def notified(sqs: Any, queue_url: str, planned: Change, make: Callable[[], dict[str, Any]]) -> Change:
    """Make one change; when the local S3 sent no event for it, send the one S3 sends, and say so.

    moto_server delivers a notification within the request that causes it, so the count is final when the request
    returns. (Were an event ever late, the stand-in would be a duplicate, which event mode takes in its stride.)
    """
    before = queued(sqs, queue_url)
    response = make()
    stand_in = queued(sqs, queue_url) == before
    if stand_in:
        body = s3_message(planned.bucket, planned.key, planned.event, response.get("VersionId"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    say(f"  {planned.bucket}/{planned.key}: {planned.what}" + (f" ({planned.detail})" if planned.detail else ""))
    if stand_in:
        say(f"      moto_server sent no event; the demo sends S3's s3:{planned.event} to the queue, standing in for S3")
    return replace(planned, stand_in=stand_in)


def change(s3: Any, sqs: Any, queue_url: str) -> list[Change]:
    """The changes between the syncs: deletes of every kind, an overwrite, a new object."""
    deleted, permanent, marked = "reports/2024-02.csv", "contracts/acme.pdf", "contracts/globex.pdf"
    overwritten, added = "contracts/initech.pdf", "reports/2024-04.csv"
    [only] = s3.list_object_versions(Bucket=VERSIONED, Prefix=permanent)["Versions"]
    planned: list[tuple[Change, Callable[[], dict[str, Any]]]] = [
        (Change(UNVERSIONED, deleted, "deleted", "unversioned bucket: nothing remains", DELETED_EVENT),
         lambda: s3.delete_object(Bucket=UNVERSIONED, Key=deleted)),
        (Change(VERSIONED, permanent, "deleted for good",
                "DeleteObject with the VersionId of its only version: nothing remains", DELETED_EVENT),
         lambda: s3.delete_object(Bucket=VERSIONED, Key=permanent, VersionId=only["VersionId"])),
        (Change(VERSIONED, marked, "deleted", "a delete marker: the versions remain", MARKER_EVENT),
         lambda: s3.delete_object(Bucket=VERSIONED, Key=marked)),
        (Change(VERSIONED, overwritten, "overwritten", "a new version", PUT_EVENT),
         lambda: s3.put_object(Bucket=VERSIONED, Key=overwritten, Body=filler("new contract", 4321))),
        (Change(UNVERSIONED, added, "new object", "", PUT_EVENT),
         lambda: s3.put_object(Bucket=UNVERSIONED, Key=added, Body=filler(added, 1500))),
    ]
    return [notified(sqs, queue_url, item, make) for item, make in planned]


def in_s3(s3: Any) -> frozenset[tuple[str, str]]:
    """The objects S3 lists now (each bucket holds a handful: one page)."""
    return frozenset((bucket, item["Key"]) for bucket in OBJECTS
                     for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def rows(project: Path) -> dict[tuple[str, str], bool]:
    """Every row of the project's warehouse: whether it is marked deleted."""
    _, found = query(project, f"SELECT bucket, key, coalesce(_fivetran_deleted, false) FROM {QUALIFIED_TABLE}")
    return {(bucket, key): deleted for bucket, key, deleted in found}


def connector_lines(run: CliRun, level: str) -> tuple[str, ...]:
    """What the connector logged at `level` (INFO, WARNING) during a run."""
    return tuple(match.group(2) for line in run.output.splitlines()
                 if (match := _CONNECTOR_LINE.match(line)) and match.group(1) == level)


def summary(run: CliRun) -> str:
    """The connector's closing summary of a sync (a listing pass's or an event sync's)."""
    return next(line for line in connector_lines(run, "INFO") if line.startswith(SUMMARIES))


def projects(root: Path, endpoint: str, queue_url: str) -> dict[str, Path]:
    """The two connections of the same buckets, each in a project folder of its own."""
    buckets = f"{UNVERSIONED},{VERSIONED}"
    made = {LISTING: make_project(root / "listing-mode"), EVENTS: make_project(root / "event-mode")}
    write_configuration(made[LISTING], local_configuration(buckets, endpoint))
    write_configuration(made[EVENTS], local_configuration(buckets, endpoint, sqs_queue_url=queue_url))
    return made


def report(outcome: Outcome) -> None:
    changed = {(c.bucket, c.key): c for c in outcome.changes}
    keys = sorted(set(outcome.in_s3).union(*(set(rows_) for rows_ in outcome.deleted.values())))

    def row_says(mode: str, ref: tuple[str, str]) -> str:
        deleted = outcome.deleted[mode].get(ref)
        return "-" if deleted is None else "deleted" if deleted else "live"

    say("\nEvery row after the second sync, in each connection's warehouse")
    say(format_table(["bucket", "key", "change", "in S3", LISTING, EVENTS],
                     [[bucket, key, changed[(bucket, key)].what if (bucket, key) in changed else "-",
                       "yes" if (bucket, key) in outcome.in_s3 else "gone",
                       row_says(LISTING, (bucket, key)), row_says(EVENTS, (bucket, key))]
                      for bucket, key in keys]))
    for mode, warnings in outcome.warnings.items():
        say(f"\nHow the second sync in {mode} closed: its summary, and " + (
            "no warning" if not warnings else f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''}"))
        say_wrapped(summary(outcome.second_runs[mode]), indent=" " * 10, first="  INFO    ")
        for warning in warnings:
            say_wrapped(warning, indent=" " * 10, first="  WARNING ")
    say("\nWhat this shows")
    say_wrapped(
        "A listing shows what exists, so listing mode sees a delete only where S3 leaves a trace: the delete marker in "
        "the versioned bucket. The object deleted in the unversioned bucket and the version deleted for good leave "
        "none; listing mode counts them in its closing warning and their rows stay live until a reconciliation "
        "(reconcile_every_hours). Event mode is told of every delete by S3 event notifications that name the "
        "object, so its second sync marks all three deleted and its table matches S3.", indent="  ")


def run_demo(endpoint: str, root: Path = DEMO_DIR) -> Outcome:
    """The whole demo on the local S3 at `endpoint`, with its projects under `root`; prints as it goes."""
    say("Event mode and listing mode side by side: deletes of every kind, on a local S3 with its SQS\n")
    say(f"Local S3 and SQS (moto_server) running at {endpoint}")
    s3, sqs = s3_client(endpoint), sqs_client(endpoint)
    fill(s3)
    say_wrapped(f"Buckets: s3://{UNVERSIONED} (unversioned) and s3://{VERSIONED} (versioned), "
                f"{len(OBJECTS[UNVERSIONED])} objects each", first="")
    say("\nWiring both buckets to a queue with the repository's setup script (docs/event-mode.md):")
    queue_url = wire(endpoint)
    made = projects(root, endpoint, queue_url)
    say(f"\nTwo connections of both buckets: {shown(made[LISTING])}/ (listing mode) and {shown(made[EVENTS])}/ "
        f"(event mode, sqs_queue_url {queue_url})\n")
    wait_for_next_second()
    for mode, project in made.items():
        sync(project, f"First sync, {mode} (full listing)")
    say("\nChanging the buckets:")
    changes = change(s3, sqs, queue_url)
    say()
    second = {mode: sync(project, f"Second sync, {mode}") for mode, project in made.items()}
    return Outcome(tuple(changes), in_s3(s3), {mode: rows(project) for mode, project in made.items()},
                   {mode: connector_lines(run, "WARNING") for mode, run in second.items()}, second)


def main() -> int:
    exit_cleanly_on_sigterm()
    started = time.monotonic()
    try:
        with running_local_s3() as endpoint:
            report(run_demo(endpoint))
    except DemoFailed as failure:
        say(f"\n{failure}; the local S3 has been stopped. Last {LOG_TAIL_LINES} lines of its log:\n"
            f"{failure.run.tail(LOG_TAIL_LINES)}")
        return 1
    except SetupFailed as failure:
        say(f"\n{failure}\nThe local S3 has been stopped.")
        return 1
    except KeyboardInterrupt:
        say("\nInterrupted; the local S3 has been stopped.")
        return 130
    say(f"\nLocal S3 stopped. Demo finished in {time.monotonic() - started:.1f}s. The warehouses: "
        f"{shown(DEMO_DIR)}/listing-mode/files/warehouse.db and {shown(DEMO_DIR)}/event-mode/files/warehouse.db "
        f"(table {QUALIFIED_TABLE}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
