"""What event mode costs per event, and what a verification pass costs: requests and rows, measured on moto.

Event mode lists again the key ranges a round of events touched (s3_metadata/event_mode.py), so its cost depends on
how events spread over the key space. This script fills a bucket, makes the first listing, then for each scenario
makes changes (S3's notifications reach an SQS queue, all in moto, in process), runs one drain and reports the
requests by operation and the rows sent per event; then a verification pass (every range listed, nothing changed
since the drain) and its requests and rows.

    python bench/event_costs.py [--objects 20000] [--events 100]

Requests are counted at botocore's `before-send` (every attempt). Rows are the sink's upserts and deletes.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent)]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.handlers import BUILTIN_HANDLERS  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402

from s3_metadata import event_mode  # noqa: E402
from s3_metadata.sync import run_sync  # noqa: E402

BUCKET = "event-costs"


class CountingSink:
    def __init__(self) -> None:
        self.upserts = 0
        self.deletes = 0
        self.state: dict[str, Any] = {}

    def upsert(self, table: str, row: dict) -> None:
        self.upserts += 1

    def delete(self, table: str, keys: dict) -> None:
        self.deletes += 1

    def truncate(self, table: str) -> None:
        pass

    def checkpoint(self, state: dict) -> None:
        self.state = state

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class Requests:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        BUILTIN_HANDLERS.insert(0, ("before-send", self._count))

    def _count(self, event_name: str, **_: Any) -> None:
        self.counts[event_name.split(".")[-1]] += 1

    def take(self) -> Counter[str]:
        taken, self.counts = self.counts, Counter()
        return taken


def sync(configuration: dict[str, str], state: dict[str, Any]) -> CountingSink:
    sink = CountingSink()
    run_sync(configuration, state, sink)
    return sink


def report(name: str, events: int, sink: CountingSink, requests: Counter[str]) -> None:
    per = f"per event: {requests['ListObjectsV2'] / events:.2f} LIST, {requests['HeadObject'] / events:.2f} HEAD, " \
          f"{(sink.upserts + sink.deletes) / events:.2f} rows" if events else ""
    print(f"{name:<42} {requests['ListObjectsV2']:>5} LIST {requests['HeadObject']:>5} HEAD "
          f"{requests['ListObjectVersions']:>4} version-listing {sink.upserts:>6} upserts {sink.deletes:>5} deletes  "
          f"{per}")


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--objects", type=int, default=20_000)
    arguments.add_argument("--events", type=int, default=100)
    options = arguments.parse_args()
    event_mode.OPENING_WAIT_SECONDS = 1
    event_mode.DRAINING_WAIT_SECONDS = 0
    rng = random.Random(7)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        names = [f"data/{i // 1000:03d}/part-{i:07d}.parquet" for i in range(options.objects)]
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for name in names:
            backend.put_object(BUCKET, name, b"x")
        url = sqs.create_queue(QueueName="event-costs")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
        configuration = {"bucket": BUCKET, "sqs_queue_url": url, "aws_region": "us-east-1"}
        requests = Requests()
        first = sync(configuration, {})
        report(f"first listing of {options.objects:,} objects", 0, first, requests.take())
        state = sync(configuration, first.state).state or first.state  # S3's test event
        requests.take()
        n = options.events
        scenarios = [
            ("overwrites spread over the bucket", lambda: [s3.put_object(Bucket=BUCKET, Key=k, Body=b"o")
                                                           for k in rng.sample(names, n)]),
            ("new objects in one folder", lambda: [s3.put_object(Bucket=BUCKET, Key=f"data/new/{i:05d}", Body=b"n")
                                                   for i in range(n)]),
            ("deletes spread over the bucket", lambda: [s3.delete_object(Bucket=BUCKET, Key=k)
                                                        for k in rng.sample(names, n)]),
            ("overwrites in one key range (a burst)", lambda: [s3.put_object(Bucket=BUCKET, Key=k, Body=b"b")
                                                               for k in names[5000:5250][:n]]),
        ]
        for name, change in scenarios:
            change()
            drained = sync(configuration, state)
            state = drained.state or state
            report(f"drain: {n} {name}", n, drained, requests.take())
        verified_state = dict(state)
        verified_state["streams"] = {sid: {**stream, "watermark": "2020-01-01T00:00:00+00:00"}
                                     for sid, stream in state["streams"].items()}
        verified = sync(configuration, verified_state)
        report("verification pass, no event lost", 0, verified, requests.take())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
