"""The setup form and the setup tests Fivetran runs before the first sync.

Each check is a plain function returning passed, skipped (with the reason) or failed (with the fix); the table
below runs every check against in-process moto and asserts its outcome. The form tests then run the same checks
as the SDK does (`Connector.run_test`), where a skip can only be a success: its reason must be logged.
"""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import connector
from s3_metadata.configuration import KNOWN_KEYS
from s3_metadata.setup import (
    FAILED, FIELDS, PASSED, PASSWORD, SKIPPED, check_buckets_listable, check_configuration, check_credentials,
    check_event_queue, check_event_wiring, check_objects_readable,
)
from s3_metadata.wiring import ALWAYS, FIX_COMMAND, event_types

TEST_NAMES = ["check_configuration", "check_credentials", "check_buckets_listable", "check_objects_readable",
              "check_event_queue", "check_event_wiring"]
QUEUE = "<the queue's URL>"  # replaced by the URL of the queue the fixture creates
ROLE = "arn:aws:iam::123456789012:role/r"


def send_policy(queue_arn: str, service: str, source_arns: list[str]) -> str:
    """A queue policy letting `service` send to the queue for these buckets or rules."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": source_arns}}}]})


@pytest.fixture
def world(harness: Any) -> dict[str, Any]:
    """A bucket with one object, wired to an SQS queue for event mode by hand; an empty bucket, not wired; in moto."""
    harness.s3.create_bucket("test-bucket")
    harness.s3.put("test-bucket", "a.txt", b"a")
    harness.s3.create_bucket("empty-bucket")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={
        "Policy": send_policy(queue_arn, "s3.amazonaws.com", ["arn:aws:s3:::test-bucket"])})
    harness.s3.client.put_bucket_notification_configuration(Bucket="test-bucket", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": list(event_types(ALWAYS))}]})
    return {"harness": harness, "queue_url": queue_url, "queue_arn": queue_arn}


def configure(world: dict[str, Any], base_config: Any, overrides: dict[str, str]) -> dict[str, str]:
    return base_config(**{key: world["queue_url"] if value == QUEUE else value for key, value in overrides.items()})


@pytest.mark.parametrize("check,overrides,fault,outcome,says", [
    pytest.param(check_configuration, {}, None, PASSED, "", id="configuration-valid"),
    pytest.param(check_configuration, {"max_concurrency": "0"}, None, FAILED, "max_concurrency",
                 id="configuration-invalid"),
    pytest.param(check_credentials, {}, None, PASSED, "", id="credentials-accepted"),
    pytest.param(check_credentials, {"role_arn": ROLE}, None, PASSED, "", id="credentials-role-assumed"),
    pytest.param(check_credentials, {"endpoint_url": "http://minio.internal:9000"}, None, SKIPPED, "endpoint_url",
                 id="credentials-skipped-with-endpoint"),
    pytest.param(check_credentials, {}, ("GetCallerIdentity", 403, "InvalidClientTokenId"), FAILED,
                 "InvalidClientTokenId", id="credentials-unknown-key"),
    pytest.param(check_credentials, {"role_arn": ROLE}, ("AssumeRole", 403, "AccessDenied"), FAILED, "sts:AssumeRole",
                 id="credentials-role-refused"),
    pytest.param(check_credentials, {"max_concurrency": "0"}, None, FAILED, "max_concurrency",
                 id="credentials-invalid-configuration"),
    pytest.param(check_buckets_listable, {}, None, PASSED, "", id="buckets-listable"),
    pytest.param(check_buckets_listable, {"bucket": "test-bucket,absent-bucket"}, None, FAILED,
                 "Bucket 'absent-bucket' does not exist", id="buckets-missing"),
    pytest.param(check_buckets_listable, {}, ("ListObjectsV2", 403, "AccessDenied"), FAILED, "s3:ListBucket",
                 id="buckets-list-denied"),
    pytest.param(check_objects_readable, {}, None, PASSED, "", id="objects-readable"),
    pytest.param(check_objects_readable, {}, ("HeadObject", 403, None), FAILED, "s3:GetObject", id="objects-head-denied"),
    pytest.param(check_objects_readable, {"bucket": "empty-bucket"}, None, SKIPPED, "'empty-bucket' has no object",
                 id="objects-skipped-empty-bucket"),
    pytest.param(check_objects_readable, {"prefix": "nothing/here/"}, None, SKIPPED, "under the prefix 'nothing/here/'",
                 id="objects-skipped-empty-prefix"),
    pytest.param(check_objects_readable, {"bucket": "test-bucket,empty-bucket"}, None, PASSED,
                 "not tested on 'empty-bucket'", id="objects-passed-on-one-of-two"),
    pytest.param(check_objects_readable, {"object_details": "head,tags"}, None, PASSED, "",
                 id="objects-details-readable"),
    pytest.param(check_objects_readable, {"object_details": "tags"}, ("GetObjectTagging", 403, "AccessDenied"), FAILED,
                 "s3:GetObjectTagging on arn:aws:s3:::test-bucket/*", id="objects-tagging-denied"),
    pytest.param(check_objects_readable, {"object_details": "head,tags"}, ("GetObjectTagging", 501, "NotImplemented"),
                 FAILED, "does not support object tags", id="objects-tagging-not-implemented"),
    pytest.param(check_objects_readable, {}, ("GetObjectTagging", 403, "AccessDenied"), PASSED, "",
                 id="objects-tagging-not-asked-without-tags"),
    pytest.param(check_objects_readable, {"object_details": "head"}, ("HeadObject", 403, None), FAILED, "kms:Decrypt",
                 id="objects-details-head-denied-names-kms"),
    pytest.param(check_objects_readable, {"object_details": "tags", "bucket": "empty-bucket"}, None, SKIPPED,
                 "'empty-bucket' has no object", id="objects-details-skipped-empty-bucket"),
    pytest.param(check_event_queue, {}, None, SKIPPED, "sqs_queue_url is empty", id="queue-skipped-without-url"),
    pytest.param(check_event_queue, {"sqs_queue_url": QUEUE}, None, PASSED, "", id="queue-usable"),
    pytest.param(check_event_queue, {"sqs_queue_url": QUEUE}, ("GetQueueAttributes", 403, "AccessDenied"), FAILED,
                 "sqs:GetQueueAttributes", id="queue-attributes-denied"),
    pytest.param(check_event_queue, {"sqs_queue_url": QUEUE}, ("ReceiveMessage", 403, "AccessDenied"), FAILED,
                 "sqs:ReceiveMessage", id="queue-receive-denied"),
    pytest.param(check_event_queue, {"sqs_queue_url": QUEUE}, ("DeleteMessageBatch", 403, "AccessDenied"), FAILED,
                 "sqs:DeleteMessage", id="queue-delete-denied"),
    pytest.param(check_event_queue, {"sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/absent"}, None,
                 FAILED, "does not exist", id="queue-missing"),
    pytest.param(check_event_wiring, {}, None, SKIPPED, "sqs_queue_url is empty", id="wiring-skipped-without-url"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE, "endpoint_url": "http://minio.internal:9000"}, None,
                 SKIPPED, "endpoint_url is set", id="wiring-skipped-with-endpoint"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE}, None, PASSED, "", id="wiring-in-place"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE, "prefix": "logs/,data/"}, None, PASSED, "",
                 id="wiring-of-the-whole-bucket-covers-prefixes"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE, "bucket": "test-bucket,empty-bucket"}, None, FAILED,
                 "bucket 'empty-bucket' does not send s3:ObjectCreated:*, s3:ObjectRemoved:*, s3:ObjectRestore:*, "
                 "s3:LifecycleTransition, s3:LifecycleExpiration:*, s3:IntelligentTiering to the queue for every key.",
                 id="wiring-missing-names-every-type"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE, "bucket": "empty-bucket"}, None, FAILED,
                 f"To fix it, run {FIX_COMMAND}", id="wiring-missing-names-the-command"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE, "object_details": "head,tags"}, None, FAILED,
                 "does not send s3:ObjectTagging:*, s3:Replication:* to the queue", id="wiring-missing-details-events"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE}, ("GetBucketNotificationConfiguration", 403, "AccessDenied"),
                 FAILED, "s3:GetBucketNotification on arn:aws:s3:::test-bucket", id="wiring-read-denied"),
    pytest.param(check_event_wiring, {"sqs_queue_url": QUEUE}, ("GetQueueAttributes", 403, "AccessDenied"), FAILED,
                 "sqs:GetQueueAttributes", id="wiring-queue-denied"),
])
def test_check_outcome(world, base_config, check, overrides, fault, outcome, says):
    if fault:
        operation, status, code = fault
        world["harness"].faults.respond(operation, status, code=code)
    result = check(configure(world, base_config, overrides))
    assert result.outcome == outcome, result
    assert says in result.message if says else result.message == ""


def test_form_has_a_field_for_every_key_and_hides_secrets():
    form = connector.configuration_form().to_response()
    names = {field.name for field in form.fields}
    assert names == set(KNOWN_KEYS)
    passwords = {spec.name for spec in FIELDS if spec.kind == PASSWORD}
    assert passwords == {"aws_secret_access_key", "aws_session_token", "external_id"}
    by_name = {field.name: field for field in form.fields}
    assert by_name["bucket"].required is True
    assert by_name["aws_region"].dropdown_options and by_name["max_concurrency"].dropdown_options
    assert all(field.label for field in form.fields)
    assert [test.name for test in form.tests] == TEST_NAMES


def run_tests(configuration: dict[str, str], names: list[str] = TEST_NAMES) -> dict[str, Any]:
    """The setup tests' responses, as the platform runs them."""
    from fivetran_connector_sdk import Logging
    Logging.LOG_LEVEL = Logging.Level.INFO
    return {name: connector.connector.run_test(name, configuration) for name in names}


def test_all_setup_tests_pass_on_a_good_configuration(world, base_config, capfd):
    responses = run_tests(configure(world, base_config, {"sqs_queue_url": QUEUE}))
    assert {name: (r.success, r.failure) for name, r in responses.items()} == dict.fromkeys(TEST_NAMES, (True, None))
    assert "skipped" not in capfd.readouterr().out


def test_a_skipped_check_succeeds_and_logs_why(world, base_config, capfd):
    # Only the two checks that skip here: the others would try to reach the endpoint, which does not exist.
    responses = run_tests(configure(world, base_config, {"endpoint_url": "http://minio.internal:9000"}),
                          ["check_configuration", "check_credentials", "check_event_queue"])
    output = capfd.readouterr().out
    assert responses["check_credentials"].success is True and responses["check_credentials"].failure is None
    assert responses["check_event_queue"].success is True
    assert "setup test check_credentials: skipped: endpoint_url is set" in output
    assert "setup test check_event_queue: skipped: sqs_queue_url is empty" in output
    assert "check_configuration: skipped" not in output


def test_a_failed_check_returns_its_message(world, base_config):
    responses = run_tests(configure(world, base_config, {"bucket": "test-bucket,absent-bucket"}))
    failure = responses["check_buckets_listable"].failure
    assert failure and "absent-bucket" in failure and "does not exist" in failure
    assert responses["check_configuration"].success is True


@pytest.mark.parametrize("details, outcome", [
    pytest.param("head", FAILED, id="head-asks-for-checksums"),
    pytest.param("tags", PASSED, id="tags-alone-makes-a-plain-head"),
    pytest.param("", PASSED, id="off-makes-a-plain-head"),
])
def test_objects_check_heads_as_the_sync_does(world, base_config, details, outcome):
    """KMS refuses only the HEAD that asks for checksum values (ChecksumMode=ENABLED), which `head` makes."""
    world["harness"].faults.respond("HeadObject", 403, when=lambda op, request, n: request.headers.get(
        "x-amz-checksum-mode") == b"ENABLED")
    result = check_objects_readable(configure(world, base_config, {"object_details": details}))
    assert result.outcome == outcome, result
    if outcome == FAILED:
        assert "s3:GetObject" in result.message and "kms:Decrypt" in result.message


def wire_through_eventbridge(world: dict[str, Any], bucket: str, detail_types: list[str] | None = None) -> str:
    """Turn on EventBridge for the bucket and add a rule that targets the queue, with the queue policy it needs."""
    harness = world["harness"]
    harness.faults.emulate_eventbridge_setting(harness.s3.sends_to_eventbridge)
    harness.s3.client.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    events = boto3.client("events", region_name="us-east-1")
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    if detail_types is not None:
        pattern["detail-type"] = detail_types
    rule_arn = events.put_rule(Name="s3-events", EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule="s3-events", Targets=[{"Id": "queue", "Arn": world["queue_arn"]}])
    boto3.client("sqs", region_name="us-east-1").set_queue_attributes(QueueUrl=world["queue_url"], Attributes={
        "Policy": send_policy(world["queue_arn"], "events.amazonaws.com", [rule_arn])})
    return rule_arn


def test_wiring_through_eventbridge_passes(world, base_config):
    wire_through_eventbridge(world, "empty-bucket")
    result = check_event_wiring(configure(world, base_config, {"sqs_queue_url": QUEUE, "bucket": "empty-bucket"}))
    assert (result.outcome, result.message) == (PASSED, ""), result


def test_wiring_through_an_incomplete_eventbridge_rule_fails(world, base_config):
    wire_through_eventbridge(world, "empty-bucket", ["Object Created", "Object Deleted"])
    result = check_event_wiring(configure(world, base_config, {"sqs_queue_url": QUEUE, "bucket": "empty-bucket"}))
    assert result.outcome == FAILED
    assert ("bucket 'empty-bucket' does not send s3:ObjectRestore:*, s3:LifecycleTransition, s3:IntelligentTiering to "
            "the queue for every key (nor do the EventBridge rules that target the queue match them).") in result.message


def test_wiring_through_eventbridge_without_rule_permissions_passes_with_a_note(world, base_config):
    """The rules are read with events:ListRuleNamesByTarget, which least-privilege credentials may lack."""
    wire_through_eventbridge(world, "empty-bucket")
    world["harness"].faults.respond("ListRuleNamesByTarget", 400, code="AccessDeniedException",
                                    body=b'{"__type": "AccessDeniedException", "message": "denied"}')
    result = check_event_wiring(configure(world, base_config, {"sqs_queue_url": QUEUE, "bucket": "empty-bucket"}))
    assert result.outcome == PASSED, result
    assert "were not checked (they need events:ListRuleNamesByTarget and events:DescribeRule)" in result.message


def test_wiring_with_the_queue_in_another_region_fails(world, base_config):
    world["harness"].s3.create_bucket("eu-bucket", region="eu-west-1")
    result = check_event_wiring(configure(world, base_config, {"sqs_queue_url": QUEUE, "bucket": "eu-bucket"}))
    assert result.outcome == FAILED
    assert "bucket 'eu-bucket' is in eu-west-1 and the queue in us-east-1" in result.message
