"""The CloudFormation template scripts/event_mode.cfn.yaml: valid, deployable, and wired as event mode needs.

cfn-lint (installed with moto's server extra) checks the template against CloudFormation's schemas. The stack is then
created in moto, which builds the queues and the IAM policy; their settings must equal the setup script's. moto's
CloudFormation does not build AWS::SQS::QueuePolicy and leaves the bucket's NotificationConfiguration out, so for
those two the test resolves the template's few intrinsic functions itself and judges the result with the setup
check's own rules (`wiring.bucket_wiring`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3_metadata.wiring import bucket_wiring, needs
from scripts.event_setup_plan import (
    DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT, QUEUE_RETENTION_SECONDS, Target, connector_policy,
)

cfnlint = pytest.importorskip("cfnlint.api")
from cfnlint.decode import decode_str  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[2] / "scripts" / "event_mode.cfn.yaml"
ACCOUNT, REGION = "123456789012", "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:event-queue"
NO_VALUE = object()


def test_cfn_lint_finds_nothing():
    assert [str(match) for match in cfnlint.lint(TEMPLATE.read_text())] == []


def stack_outputs(parameters: dict[str, str]) -> dict[str, str]:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="event-mode", TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_IAM"],
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    stack = cloudformation.describe_stacks(StackName="event-mode")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..SQS..QueuePolicy:UserWarning")
@pytest.mark.parametrize("details", ["none", "head", "tags", "head,tags"])
def test_the_stack_builds_queues_and_policy_as_the_script_does(moto_s3, details):
    outputs = stack_outputs({"BucketName": "new-bucket", "Prefix": "logs/", "ObjectDetails": details})
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_attributes(QueueUrl=outputs["SqsQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert queue["MessageRetentionPeriod"] == str(QUEUE_RETENTION_SECONDS)
    assert queue["VisibilityTimeout"] == "180"
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"],
                                                  "maxReceiveCount": MAX_RECEIVE_COUNT}
    assert dlq["MessageRetentionPeriod"] == str(DLQ_RETENTION_SECONDS)

    iam = boto3.client("iam", region_name=REGION)
    version = iam.get_policy(PolicyArn=outputs["ConnectorPolicyArn"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=outputs["ConnectorPolicyArn"], VersionId=version)["PolicyVersion"]
    chosen = () if details == "none" else tuple(details.split(","))
    expected = connector_policy(Target(("new-bucket",), ("logs/",), needs(chosen), "q", REGION, ACCOUNT),
                                queue["QueueArn"], chosen)
    assert [(s["Sid"], s["Action"]) for s in document["Document"]["Statement"]] == [
        (s["Sid"], s["Action"]) for s in expected["Statement"]]


def resolve(node: Any, parameters: dict[str, str], conditions: dict[str, bool]) -> Any:
    """The template's value with the intrinsic functions it uses resolved (a list drops AWS::NoValue items)."""
    if isinstance(node, list):
        return [v for v in (resolve(item, parameters, conditions) for item in node) if v is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (name, value), = node.items()
        if name == "Ref":
            return NO_VALUE if value == "AWS::NoValue" else parameters[value]
        if name == "Fn::If":
            chosen = value[1] if conditions[value[0]] else value[2]
            return resolve(chosen, parameters, conditions)
        if name == "Fn::GetAtt":
            return {"EventQueue.Arn": QUEUE_ARN}[".".join(value) if isinstance(value, list) else value]
        if name == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: parameters[m.group(1)], value)
        if name in ("Fn::Equals", "Fn::Not", "Fn::Or"):
            values = [resolve(v, parameters, conditions) for v in value]
            return {"Fn::Equals": lambda: values[0] == values[1], "Fn::Not": lambda: not values[0],
                    "Fn::Or": lambda: any(values)}[name]()
    return {k: v for k, v in ((k, resolve(v, parameters, conditions)) for k, v in node.items()) if v is not NO_VALUE}


def rendered(prefix: str, details: str) -> tuple[dict[str, Any], str]:
    """The bucket's notification configuration, in the API's shape, and the queue policy, as the stack makes them."""
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors
    parameters = {"BucketName": "new-bucket", "Prefix": prefix, "ObjectDetails": details,
                  "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT,
                  "EventQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/event-queue"}
    conditions: dict[str, bool] = {}
    for name, condition in template["Conditions"].items():
        conditions[name] = resolve(condition, parameters, conditions)
    resources = {name: resolve(template["Resources"][name], parameters, conditions)
                 for name in ("Bucket", "EventQueuePolicy")}
    entries = resources["Bucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    document = {"QueueConfigurations": [
        {"QueueArn": e["Queue"], "Events": [e["Event"]],
         **({"Filter": {"Key": {"FilterRules": e["Filter"]["S3Key"]["Rules"]}}} if "Filter" in e else {})}
        for e in entries]}
    return document, json.dumps(resources["EventQueuePolicy"]["Properties"]["PolicyDocument"])


@pytest.mark.parametrize("prefix", ["", "logs/"])
@pytest.mark.parametrize("details", ["none", "head,tags"])
def test_the_stack_wires_the_bucket_as_the_setup_check_wants(prefix, details):
    document, policy = rendered(prefix, details)
    chosen = () if details == "none" else tuple(details.split(","))
    found = bucket_wiring("new-bucket", document, QUEUE_ARN, policy, [prefix], needs(chosen))
    assert (found.problems, found.notes) == ((), ())
    if prefix:
        assert bucket_wiring("new-bucket", document, QUEUE_ARN, policy, ["other/"], needs(chosen)).problems
