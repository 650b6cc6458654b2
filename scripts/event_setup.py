"""`python -m scripts.event_setup`: wire buckets to an SQS queue for event mode, in one command.

Reads the connector's configuration.json (buckets, prefixes, include patterns, object details, region, credentials,
sqs_queue_url) and/or flags, looks at what exists (the queue and its dead-letter queue, each bucket's notification
configuration, with --eventbridge the rules that target the queue), and prints every change it would make, the IAM
policy the connector's credentials need, and the sqs_queue_url to put into configuration.json. Nothing is changed
without --apply. Running it again after --apply changes nothing and says so.

What it decides is in `scripts/event_setup_plan.py` (pure, tested as tables of cases); this module only reads and
writes AWS with boto3 and prints. It refuses, changing nothing at all, when a change would clash with what the user
has (an existing notification whose filter and event types overlap, buckets in several regions, a FIFO queue), with
what to do instead. Exit status: 0 done (or nothing to do), 1 an error (the message says which request and why),
2 refused.

Credentials: those in the configuration (key pair, session token, role) when it has any, else the default AWS
credential chain; `--profile NAME` uses that profile instead. The connector's own credentials usually may not create
queues or change buckets: run it with a profile that may. No secret is ever printed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from s3_metadata.aws import queue_location
from s3_metadata.configuration import ConfigurationError, Settings, parse_configuration
from s3_metadata.errors import ACCESS_DENIED_CODES, NO_QUEUE_CODES
from s3_metadata.patterns import list_prefixes
from s3_metadata.wiring import Rule, detail_types, event_types, needs
from scripts.event_setup_plan import (
    Current, Plan, Queue, Step, Target, connector_policy, default_queue_name, plan,
)

DONE, FAILED, REFUSED = 0, 1, 2
WIDTH = 110
_LIST_MARKER = re.compile(r"^\s*(?:- |(?:done )?\d+\. )?")
# What the credentials running this script need for each request it makes.
PERMISSIONS = {
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "AssumeRole": "sts:AssumeRole",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetQueueUrl": "sqs:GetQueueUrl",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "CreateQueue": "sqs:CreateQueue (and sqs:SetQueueAttributes, sqs:TagQueue)",
    "SetQueueAttributes": "sqs:SetQueueAttributes",
    "ListRuleNamesByTarget": "events:ListRuleNamesByTarget",
    "DescribeRule": "events:DescribeRule",
    "ListTargetsByRule": "events:ListTargetsByRule",
    "PutRule": "events:PutRule",
    "PutTargets": "events:PutTargets",
}


class SetupError(Exception):
    """A failure explained in words; the script prints it and exits with FAILED."""


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.event_setup",
        description="Wire S3 buckets to an SQS queue for the connector's event mode. Dry run unless --apply.")
    parser.add_argument("--configuration", type=Path, help="the connector's configuration.json")
    parser.add_argument("--bucket", action="append", help="a bucket (repeat for several); overrides the configuration")
    parser.add_argument("--prefix", action="append", help="a prefix (repeat for several); overrides the configuration")
    parser.add_argument("--region", help="the default region (aws_region); each bucket's own region is discovered")
    parser.add_argument("--object-details", help="as object_details in the configuration: head, tags, or head,tags")
    parser.add_argument("--queue-url", help="use this queue (sqs_queue_url); by default the configuration's, or a new one")
    parser.add_argument("--queue-name", help="the name of the queue to create (default fivetran-s3-metadata-<bucket>)")
    parser.add_argument("--eventbridge", action="store_true",
                        help="send the buckets' events through EventBridge instead of S3 event notifications")
    parser.add_argument("--profile", help="use this AWS profile instead of the configuration's credentials")
    parser.add_argument("--apply", action="store_true", help="make the changes (without it nothing is changed)")
    return parser.parse_args(argv)


def configuration_of(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration file's values with the flags on top."""
    configuration: dict[str, Any] = {}
    if args.configuration is not None:
        try:
            loaded = json.loads(args.configuration.read_text())
        except (OSError, ValueError) as error:
            raise SetupError(f"{args.configuration} cannot be read as JSON ({type(error).__name__}).") from None
        if not isinstance(loaded, dict):
            raise SetupError(f"{args.configuration} does not hold a JSON object.")
        configuration.update(loaded)
    flags = {"bucket": ",".join(args.bucket) if args.bucket else None,
             "prefix": ",".join(p.replace(",", "\\,") for p in args.prefix) if args.prefix else None,
             "aws_region": args.region, "object_details": args.object_details, "sqs_queue_url": args.queue_url}
    configuration.update({k: v for k, v in flags.items() if v is not None})
    if not configuration.get("bucket"):
        raise SetupError("No bucket: pass --configuration configuration.json or --bucket.")
    return configuration


class Aws:
    """The thin boto3 part: reads what exists and makes one `Step` at a time."""

    def __init__(self, session: boto3.Session, default_region: str):
        self._session = session
        self._default_region = default_region
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def client(self, service: str, region: str | None = None, endpoint: str | None = None) -> Any:
        key = (service, region or self._default_region, endpoint)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=key[1], endpoint_url=endpoint)
        return self._clients[key]

    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def bucket_region(self, bucket: str) -> str:
        location = self.client("s3").get_bucket_location(Bucket=bucket).get("LocationConstraint")
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)

    def notifications(self, bucket: str, region: str) -> dict[str, Any]:
        response = self.client("s3", region).get_bucket_notification_configuration(Bucket=bucket)
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def queue_at(self, url: str) -> Queue | None:
        region, endpoint = queue_location(url, self._default_region)
        try:
            attributes = self.client("sqs", region, endpoint).get_queue_attributes(
                QueueUrl=url, AttributeNames=["All"])["Attributes"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NO_QUEUE_CODES:
                return None
            raise
        return Queue(url, attributes)

    def queue_named(self, name: str, region: str) -> Queue | None:
        try:
            url = self.client("sqs", region).get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NO_QUEUE_CODES:
                return None
            raise
        return self.queue_at(url)

    def rules_targeting(self, queue_arn: str, region: str) -> tuple[Rule, ...]:
        events = self.client("events", region)
        names: list[str] = []
        request: dict[str, Any] = {"TargetArn": queue_arn}
        while True:
            response = events.list_rule_names_by_target(**request)
            names.extend(response.get("RuleNames", []))
            if not response.get("NextToken"):
                break
            request["NextToken"] = response["NextToken"]
        return tuple(rule for rule in (self.rule(name, region) for name in names) if rule is not None)

    def rule(self, name: str, region: str) -> Rule | None:
        try:
            found = self.client("events", region).describe_rule(Name=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return Rule(name, found.get("Arn", ""), found.get("EventPattern"), found.get("State") == "ENABLED")

    def rule_targets(self, name: str, region: str) -> tuple[str, ...]:
        targets = self.client("events", region).list_targets_by_rule(Rule=name).get("Targets", [])
        return tuple(t["Arn"] for t in targets)

    def make(self, step: Step, region: str) -> dict[str, Any]:
        return getattr(self.client(step.service, region), step.operation)(**step.params)


def session_for(settings: Settings, profile: str | None) -> tuple[boto3.Session, str]:
    """The session to use, and which credentials it holds, in words without any secret."""
    if profile:
        return boto3.Session(profile_name=profile), f"the AWS profile '{profile}'"
    if settings.aws_access_key_id and settings.aws_secret_access_key:
        session = boto3.Session(aws_access_key_id=settings.aws_access_key_id,
                                aws_secret_access_key=settings.aws_secret_access_key,
                                aws_session_token=settings.aws_session_token)
        source = "the key pair in the configuration"
    else:
        session, source = boto3.Session(), "the default AWS credential chain"
    if not settings.role_arn:
        return session, source
    request: dict[str, Any] = {"RoleArn": settings.role_arn, "RoleSessionName": settings.role_session_name}
    if settings.external_id:
        request["ExternalId"] = settings.external_id
    credentials = session.client("sts", region_name=settings.aws_region).assume_role(**request)["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"]), f"the role {settings.role_arn} ({source})"


def look(aws: Aws, settings: Settings, args: argparse.Namespace) -> tuple[Target, Current]:
    """What is wanted, and what exists now."""
    regions = {bucket: aws.bucket_region(bucket) for bucket in settings.buckets}
    region = regions[settings.buckets[0]]
    queue = None
    if settings.sqs_queue_url:
        queue = aws.queue_at(settings.sqs_queue_url)
        if queue is None:
            raise SetupError("The queue in sqs_queue_url does not exist. Give the URL the SQS console shows, or leave "
                             "sqs_queue_url empty to have this script create a queue.")
        name = settings.sqs_queue_url.rstrip("/").rsplit("/", 1)[-1]
    else:
        name = args.queue_name or default_queue_name(settings.buckets)
        queue = aws.queue_named(name, region)
    target = Target(buckets=settings.buckets,
                    prefixes=tuple(list_prefixes(settings.prefixes, settings.include_patterns)),
                    needs=needs(settings.object_details), queue_name=name, region=region,
                    account=aws.account(), eventbridge=args.eventbridge,
                    include_patterns=settings.include_patterns)
    dlq = aws.queue_named(target.dlq_name, region) if queue is None or "RedrivePolicy" not in queue.attributes else None
    current = Current(bucket_regions=regions, queue=queue, dlq=dlq,
                      notifications={b: aws.notifications(b, region) for b in settings.buckets if regions[b] == region})
    if args.eventbridge and len(set(regions.values())) == 1:
        our_rule = aws.rule(target.rule_name, region)
        current = replace(current, rules=aws.rules_targeting(queue.arn, region) if queue else (), our_rule=our_rule,
                          our_rule_targets=aws.rule_targets(target.rule_name, region) if our_rule else ())
    return target, current


def apply(aws: Aws, target: Target, result: Plan, credentials: str, say: Callable[[str], None]) -> None:
    """Make every step in order; the queue's URL comes from its CreateQueue answer."""
    for number, step in enumerate(result.steps, 1):
        try:
            response = aws.make(step, target.region)
        except ClientError as error:
            made = f"Changes 1 to {number - 1} were made" if number > 2 else (
                "Change 1 was made" if number == 2 else "No change was made")
            raise SetupError(explain(error, f"change {number} of {len(result.steps)} ({step.says})", credentials)
                             + f" {made}; running the command again makes only what is still missing.") from None
        if step.operation == "create_queue" and step.params["QueueName"] == target.queue_name:
            result.queue_url = response["QueueUrl"]
        say(f"  done {number}. {step.says}")


def explain(error: ClientError, what: str, credentials: str = "") -> str:
    """A failed request in words: which one, AWS's code and message, and the permission when access was denied."""
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "Unknown")
    message = str(details.get("Message") or "")
    text = f"{error.operation_name} failed for {what}: {code}" + (f" ({message})" if message else "") + "."
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ACCESS_DENIED_CODES or status == 403:
        permission = PERMISSIONS.get(error.operation_name, f"the permission for {error.operation_name}")
        text += (f" The credentials used{f' ({credentials})' if credentials else ''} need {permission}. The connector's "
                 "own credentials usually may not change buckets or create queues: run this with --profile and a "
                 "profile that may.")
    return text


def opening(target: Target, credentials: str) -> list[str]:
    where = ", ".join(f"'{p}'" for p in target.prefixes) if any(target.prefixes) else "every key"
    route = "EventBridge" if target.eventbridge else "S3 event notifications"
    sent = detail_types(target.needs) if target.eventbridge else event_types(target.needs)
    return [f"Event mode for {', '.join(target.buckets)} ({target.region}), {where}, through {route}: "
            f"{', '.join(sent)}.", f"Credentials: {credentials}."]


def findings(result: Plan, applying: bool) -> list[str]:
    """What is refused, what is in place, and (in a dry run) the changes to make."""
    if result.refusals:
        return ["", "Refused; nothing was changed:"] + [f"  - {r}" for r in result.refusals]
    lines = ["", "Already in place:"] + [f"  - {item}" for item in result.in_place] if result.in_place else []
    lines.append("")
    if not result.steps:
        lines.append("Nothing to change: the wiring is in place.")
    elif applying:
        lines.append("Making the changes:")
    else:
        lines.append("Changes to make (dry run: nothing was changed; run again with --apply to make them):")
        lines += [f"  {n}. {step.says}" for n, step in enumerate(result.steps, 1)]
    return lines


def closing(target: Target, result: Plan, settings: Settings, applied: bool) -> list[str]:
    """Notes, the connector's IAM policy, and the sqs_queue_url to configure."""
    lines = ["", "Notes:"] + [f"  - {note}" for note in result.notes] if result.notes else []
    policy = connector_policy(target, result.queue_arn, settings.object_details)
    statements = ",\n".join(f"    {json.dumps(statement)}" for statement in policy["Statement"])
    lines += ["", "IAM policy the connector's credentials need (README, \"IAM policy\"; docs/permissions.md):",
              f'  {{"Version": "{policy["Version"]}", "Statement": [\n{statements}\n  ]}}']
    if settings.sqs_queue_url == result.queue_url:
        lines += ["", f"configuration.json already names this queue: \"sqs_queue_url\": \"{result.queue_url}\""]
    else:
        created = any(s.operation == "create_queue" and s.params["QueueName"] == target.queue_name for s in result.steps)
        lines += ["", "Put into configuration.json" + (" (once --apply has created the queue)" if created and not applied
                                                         else "") + ":",
                  f"  \"sqs_queue_url\": \"{result.queue_url}\""]
    return lines + ["", "Then run the setup tests (fivetran configuration --test): \"Buckets send the events event mode "
                        "needs to the queue\" checks this wiring."]


def wrapped(line: str) -> str:
    """A long line wrapped to WIDTH, its continuation lines indented under the text of a list item; JSON is left
    whole, to be copied."""
    if len(line) <= WIDTH or line.lstrip().startswith(("{", '"')):
        return line
    marker = _LIST_MARKER.match(line)
    return textwrap.fill(line, WIDTH, subsequent_indent=" " * (marker.end() if marker else 0),
                         break_long_words=False, break_on_hyphens=False)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = arguments(argv)
    secrets: tuple[str, ...] = ()

    def say(text: str) -> None:
        for secret in secrets:
            text = text.replace(secret, "***")
        for line in text.splitlines() or [""]:
            out(wrapped(line))

    credentials = ""
    try:
        try:
            settings = parse_configuration(configuration_of(args))
        except ConfigurationError as error:
            raise SetupError(str(error)) from None
        secrets = settings.secret_values()
        if settings.endpoint_url:
            raise SetupError("endpoint_url is set: this script wires AWS S3 buckets. S3-compatible stores configure "
                             "their notifications their own way (see their documentation).")
        session, credentials = session_for(settings, args.profile)
        aws = Aws(session, settings.aws_region)
        target, current = look(aws, settings, args)
        result = plan(target, current)
        for line in opening(target, credentials) + findings(result, args.apply):
            say(line)
        if result.refusals:
            return REFUSED
        if args.apply:
            apply(aws, target, result, credentials, say)
        for line in closing(target, result, settings, args.apply):
            say(line)
        return DONE
    except SetupError as error:
        say(f"error: {error}")
    except ClientError as error:
        say(f"error: {explain(error, 'reading what exists', credentials)}")
    except NoCredentialsError:
        say("error: no AWS credentials found: put a key pair in the configuration, pass --profile, or run where the "
            "default AWS credential chain finds some.")
    except BotoCoreError as error:
        say(f"error: {type(error).__name__}: {error}")
    return FAILED


if __name__ == "__main__":
    sys.exit(main())
