"""The setup form and the setup tests Fivetran runs before the first sync."""
from __future__ import annotations

import pytest

import connector
from s3_metadata.configuration import KNOWN_KEYS
from s3_metadata.setup import FIELDS, PASSWORD

TEST_NAMES = ["check_configuration", "check_credentials", "check_buckets_listable", "check_objects_readable",
              "check_event_queue"]


def run_tests(configuration: dict) -> dict[str, str | None]:
    """Every setup test's failure message (None when it passed), as the platform runs them."""
    from fivetran_connector_sdk import Logging
    Logging.LOG_LEVEL = Logging.Level.INFO
    return {name: connector.connector.run_test(name, configuration).failure for name in TEST_NAMES}


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


@pytest.fixture
def bucket(harness):
    harness.s3.create_bucket("test-bucket")
    harness.s3.put("test-bucket", "a.txt", b"a")
    return harness


def test_all_setup_tests_pass_on_a_good_configuration(bucket, base_config):
    assert run_tests(base_config()) == dict.fromkeys(TEST_NAMES)


@pytest.mark.parametrize("fault,failing,expected", [
    pytest.param(("GetCallerIdentity", 403, "InvalidClientTokenId"), "check_credentials", "InvalidClientTokenId",
                 id="unknown-key"),
    pytest.param(("ListObjectsV2", 403, "AccessDenied"), "check_buckets_listable", "s3:ListBucket", id="no-list"),
    pytest.param(("HeadObject", 403, None), "check_objects_readable", "s3:GetObject", id="no-get"),
    pytest.param(("AssumeRole", 403, "AccessDenied"), "check_credentials", "sts:AssumeRole", id="role-refused"),
])
def test_each_failure_says_what_is_wrong(bucket, base_config, fault, failing, expected):
    operation, status, code = fault
    bucket.faults.respond(operation, status, code=code)
    config = base_config(role_arn="arn:aws:iam::123456789012:role/r") if operation == "AssumeRole" else base_config()
    results = run_tests(config)
    assert expected in (results[failing] or "")


def test_missing_bucket_and_bad_values(bucket, base_config):
    results = run_tests(base_config(bucket="test-bucket,absent-bucket"))
    assert "absent-bucket" in results["check_buckets_listable"] and "does not exist" in results["check_buckets_listable"]
    results = run_tests(base_config(max_concurrency="0"))
    assert "max_concurrency" in results["check_configuration"]


@pytest.mark.parametrize("operation,permission", [
    pytest.param("GetQueueAttributes", "sqs:GetQueueAttributes", id="attributes"),
    pytest.param("ReceiveMessage", "sqs:ReceiveMessage", id="receive"),
    pytest.param("DeleteMessageBatch", "sqs:DeleteMessage", id="delete"),
])
def test_event_queue_permissions_are_named(bucket, base_config, operation, permission):
    import boto3
    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="events")["QueueUrl"]
    config = base_config(sqs_queue_url=queue_url)
    assert run_tests(config)["check_event_queue"] is None
    bucket.faults.respond(operation, 403, code="AccessDenied")
    assert permission in (run_tests(config)["check_event_queue"] or "")
