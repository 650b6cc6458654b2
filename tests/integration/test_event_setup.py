"""The event-mode setup script (`python -m scripts.event_setup`) against moto in process.

Its main() runs as a user runs it, with the connector's configuration.json, and its output is read as text. What it
changed is read back from moto; what it sent is counted at botocore's `before-send` (the fault injector), so a dry run
and a re-run are shown to make no write at all. moto's GetBucketNotificationConfiguration leaves the EventBridge
setting out of its answer, which AWS includes; the fault injector adds it (`emulate_eventbridge_setting`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from s3_metadata import event_mode
from s3_metadata.events import parse_message
from s3_metadata.setup import FAILED, PASSED, check_event_wiring
from s3_metadata.wiring import ALWAYS, FIX_COMMAND, event_types, policy_allows
from scripts import event_setup
from scripts.event_setup import DONE, REFUSED
from scripts.event_setup import FAILED as SCRIPT_FAILED
from scripts.event_setup import main
from tests.conftest import TEST_ACCESS_KEY_ID, TEST_SECRET

BUCKET = "test-bucket"
QUEUE_NAME = f"fivetran-s3-metadata-{BUCKET}"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:thumbnails"
WRITES = ("CreateQueue", "SetQueueAttributes", "PutBucketNotificationConfiguration", "PutRule", "PutTargets")


def prefix_filter(prefix: str) -> dict:
    return {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}


@pytest.fixture
def bucket(harness) -> dict[str, Any]:
    """The bucket, with two notifications of the user's (a Lambda function and an SNS topic) that must survive."""
    harness.faults.emulate_eventbridge_setting(harness.s3.sends_to_eventbridge)
    harness.s3.create_bucket(BUCKET)
    topic_arn = boto3.client("sns", region_name="us-east-1").create_topic(Name="audit")["TopicArn"]
    harness.s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "thumbnails", "LambdaFunctionArn": LAMBDA_ARN,
                                          "Events": ["s3:ObjectCreated:Put"], "Filter": prefix_filter("incoming/")}],
        "TopicConfigurations": [{"Id": "audit", "TopicArn": topic_arn, "Events": ["s3:ObjectRemoved:*"],
                                 "Filter": prefix_filter("audit/")}]})
    return notifications(harness)


def notifications(harness) -> dict[str, Any]:
    """The bucket's notification configuration, through a session made after the fault injector was installed (boto3's
    default session predates it)."""
    document = boto3.Session().client("s3", region_name="us-east-1").get_bucket_notification_configuration(
        Bucket=BUCKET)
    return {k: v for k, v in document.items() if k != "ResponseMetadata" and v != []}


def run(*args: str) -> tuple[int, str]:
    """The script's exit status and output, its lines unwrapped so that a sentence can be looked for whole."""
    lines: list[str] = []
    with mock.patch.object(event_setup, "WIDTH", 10**6):
        code = main(list(args), out=lines.append)
    return code, "\n".join(lines)


def written(path: Path, configuration: dict[str, str]) -> str:
    path.write_text(json.dumps(configuration))
    return str(path)


def queue_url_in(text: str) -> str:
    return re.search(r'"sqs_queue_url": "([^"]+)"', text).group(1)


def writes(harness) -> dict[str, int]:
    return {op: harness.faults.requests[op] for op in WRITES if harness.faults.requests[op]}


def queues() -> list[str]:
    return sorted(boto3.client("sqs", region_name="us-east-1").list_queues().get("QueueUrls", []))


def attributes(url: str) -> dict[str, str]:
    return boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=url, AttributeNames=["All"])["Attributes"]


def received(url: str) -> list[Any]:
    """Every message in the queue, read (S3's own test events left out)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [parsed for parsed in (parse_message(m["Body"]) for m in messages) if not parsed.is_test]


def test_dry_run_apply_and_reapply_keep_two_existing_notifications(harness, bucket, base_config, tmp_path):
    configuration = base_config(prefix="logs/")
    path = written(tmp_path / "configuration.json", configuration)

    code, text = run("--configuration", path)
    assert code == DONE, text
    assert "Changes to make (dry run: nothing was changed; run again with --apply to make them):" in text
    assert re.findall(r"^  (\d)\. ", text, re.M) == ["1", "2", "3"], text
    assert "keep 2 other configurations unchanged (the SNS topic configuration 'audit'" in text
    assert (notifications(harness), queues(), writes(harness)) == (bucket, [], {})
    assert TEST_SECRET not in text and TEST_ACCESS_KEY_ID not in text
    assert "Credentials: the key pair in the configuration." in text

    code, text = run("--configuration", path, "--apply")
    assert code == DONE, text
    assert writes(harness) == {"CreateQueue": 2, "PutBucketNotificationConfiguration": 1}
    url = queue_url_in(text)
    assert url.endswith(f"/{QUEUE_NAME}")
    after = notifications(harness)
    assert {k: after[k] for k in bucket} == bucket  # the Lambda and SNS configurations, exactly as they were
    assert after["QueueConfigurations"] == [{
        "Id": "fivetran-s3-metadata:logs/", "QueueArn": attributes(url)["QueueArn"],
        "Events": list(event_types(ALWAYS)), "Filter": prefix_filter("logs/")}]
    queue = attributes(url)
    assert (queue["MessageRetentionPeriod"], queue["VisibilityTimeout"]) == (str(4 * 86400),
                                                                              str(event_mode.VISIBILITY_TIMEOUT_SECONDS))
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5 and redrive["deadLetterTargetArn"].endswith(f"{QUEUE_NAME}-dlq")
    assert attributes(f"{url}-dlq")["MessageRetentionPeriod"] == str(14 * 86400)
    assert policy_allows(queue["Policy"], "s3.amazonaws.com", queue["QueueArn"], f"arn:aws:s3:::{BUCKET}")

    harness.faults.clear()
    path = written(tmp_path / "configuration.json", {**configuration, "sqs_queue_url": url})
    code, text = run("--configuration", path, "--apply")
    assert code == DONE, text
    assert "Nothing to change: the wiring is in place." in text
    assert f'configuration.json already names this queue: "sqs_queue_url": "{url}"' in text
    assert writes(harness) == {}
    assert notifications(harness) == after

    assert check_event_wiring({**configuration, "sqs_queue_url": url}).outcome == PASSED
    received(url)  # S3's test event
    harness.s3.put(BUCKET, "logs/new.csv", b"new")
    assert [(e.key, e.name) for m in received(url) for e in m.events] == [("logs/new.csv", "ObjectCreated:Put")]


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto really waits for a long poll: an empty queue answers after 1 s instead of 20 s."""
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)


def test_the_setup_test_fails_until_the_script_wires_a_given_queue(harness, base_config, tmp_path, quick_polls):
    """A queue made by hand: the setup test names what is missing and the command; after it, event mode works."""
    harness.s3.create_bucket(BUCKET)
    harness.s3.put(BUCKET, "data/old.csv", b"old")
    url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="by-hand")["QueueUrl"]
    configuration = base_config(sqs_queue_url=url, object_details="tags", prefix="data/")

    before = check_event_wiring(configuration)
    assert before.outcome == FAILED
    assert (f"bucket '{BUCKET}' does not send s3:ObjectCreated:*, s3:ObjectRemoved:*, s3:ObjectRestore:*, "
            "s3:LifecycleTransition, s3:LifecycleExpiration:*, s3:IntelligentTiering, s3:ObjectTagging:* to the queue "
            "for keys under 'data/'.") in before.message
    assert FIX_COMMAND in before.message

    code, text = run("--configuration", written(tmp_path / "configuration.json", configuration), "--apply")
    assert code == DONE, text
    assert "create the SQS queue by-hand-dlq as the dead-letter queue" in text
    assert "queue by-hand: move a message to the dead-letter queue by-hand-dlq after 5 receives" in text
    assert check_event_wiring(configuration).outcome == PASSED

    first = harness.sync(configuration)
    assert first.ok, first.error
    assert set(harness.rows()) == {(BUCKET, "data/old.csv")}
    harness.s3.put(BUCKET, "data/new.csv", b"new")
    harness.faults.clear()
    second = harness.sync(configuration)
    assert second.ok, second.error
    assert set(harness.rows()) == {(BUCKET, "data/old.csv"), (BUCKET, "data/new.csv")}
    # A drain: the one key range the event touched is listed again, nothing else.
    assert harness.faults.requests["ListObjectsV2"] == 1 and harness.faults.requests["ReceiveMessage"] >= 1


def test_an_overlapping_notification_is_refused_before_any_change(harness, base_config, tmp_path):
    harness.s3.create_bucket(BUCKET)
    harness.s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "everything", "LambdaFunctionArn": LAMBDA_ARN,
                                          "Events": ["s3:ObjectCreated:*"]}]})
    before = notifications(harness)
    code, text = run("--bucket", BUCKET, "--apply")
    assert code == REFUSED, text
    assert "Refused; nothing was changed:" in text
    assert f"the Lambda function configuration 'everything' ({LAMBDA_ARN}) sends s3:ObjectCreated:* for every key" in text
    assert "--eventbridge" in text
    assert (notifications(harness), queues(), writes(harness)) == (before, [], {})


def test_eventbridge_apply_and_reapply(harness, bucket, base_config, tmp_path):
    path = written(tmp_path / "configuration.json", base_config())
    code, text = run("--configuration", path, "--eventbridge", "--apply")
    assert code == DONE, text
    assert notifications(harness) == {**bucket, "EventBridgeConfiguration": {}}
    url = queue_url_in(text)
    queue = attributes(url)
    events = boto3.client("events", region_name="us-east-1")
    rule = events.describe_rule(Name=QUEUE_NAME)
    assert json.loads(rule["EventPattern"])["detail"] == {"bucket": {"name": [BUCKET]}}
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=QUEUE_NAME)["Targets"]] == [queue["QueueArn"]]
    assert policy_allows(queue["Policy"], "events.amazonaws.com", queue["QueueArn"], rule["Arn"])

    harness.s3.put(BUCKET, "x/new.csv", b"new")
    assert [(e.key, e.name, e.source) for m in received(url) for e in m.events] == [
        ("x/new.csv", "Object Created", "eventbridge")]

    harness.faults.clear()
    code, text = run("--configuration", path, "--eventbridge", "--apply")
    assert code == DONE and "Nothing to change" in text, text
    assert writes(harness) == {}
    configuration = base_config(sqs_queue_url=url)
    assert check_event_wiring(configuration).outcome == PASSED


def test_a_given_queue_is_completed_and_its_policy_kept(harness, base_config):
    harness.s3.create_bucket(BUCKET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="mine", Attributes={"MessageRetentionPeriod": "86400"})["QueueUrl"]
    arn = attributes(url)["QueueArn"]
    own = {"Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
           "Action": "sqs:*", "Resource": arn}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17",
                                                                             "Statement": [own]})})
    code, text = run("--bucket", BUCKET, "--queue-url", url, "--apply")
    assert code == DONE, text
    queue = attributes(url)
    assert queue["MessageRetentionPeriod"] == str(4 * 86400)
    assert json.loads(queue["RedrivePolicy"])["deadLetterTargetArn"] == attributes(f"{url}-dlq")["QueueArn"]
    statements = json.loads(queue["Policy"])["Statement"]
    assert statements[0] == own and statements[1]["Sid"] == "FivetranS3MetadataFromS3"


def test_a_refused_request_names_the_permission_and_what_was_done(harness, base_config, tmp_path):
    harness.s3.create_bucket(BUCKET)
    # Raised rather than answered: botocore runs every before-send handler, so moto would still apply an answered put.
    harness.faults.fail("PutBucketNotificationConfiguration", lambda request: ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
        "PutBucketNotificationConfiguration"))
    code, text = run("--configuration", written(tmp_path / "configuration.json", base_config()), "--apply")
    assert code == SCRIPT_FAILED, text
    assert "PutBucketNotificationConfiguration failed for change 3 of 3" in text
    assert "need s3:PutBucketNotification" in text and "--profile" in text
    assert "Changes 1 to 2 were made; running the command again makes only what is still missing." in text
    assert "The credentials used (the key pair in the configuration) need s3:PutBucketNotification" in text
    assert TEST_SECRET not in text
    code, text = run("--configuration", str(tmp_path / "configuration.json"))
    assert code == DONE and re.findall(r"^  (\d)\. ", text, re.M) == ["1"], text


@pytest.mark.parametrize("overrides, says", [
    pytest.param({"max_concurrency": "0"}, "Configuration key 'max_concurrency'", id="invalid-configuration"),
    pytest.param({"endpoint_url": "http://minio.internal:9000"}, "endpoint_url is set", id="s3-compatible"),
    pytest.param({"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/absent"},
                 "The queue in sqs_queue_url does not exist", id="missing-queue"),
])
def test_bad_input_gets_one_clear_error(harness, base_config, tmp_path, overrides, says):
    harness.s3.create_bucket(BUCKET)
    code, text = run("--configuration", written(tmp_path / "configuration.json", base_config(**overrides)))
    assert code == SCRIPT_FAILED
    assert text.startswith("error: ") and says in text, text
    assert TEST_SECRET not in text
