"""SQS and EventBridge, for event mode and its setup check: the queue's messages and attributes, and the rules of
the default event bus that target it. Each request goes through the gateway's envelope, with a client in the
queue's own region (or, for a queue URL that is not AWS's, such as a local emulator, at the queue's endpoint).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlparse

from botocore.config import Config


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str


def queue_location(queue_url: str, default_region: str) -> tuple[str, str | None]:
    """(region, endpoint override) of an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/1234/q."""
    parsed = urlparse(queue_url)
    host = parsed.hostname or ""
    parts = host.split(".")
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and len(parts) >= 4 and parts[0] == "sqs":
        return parts[1], None
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return default_region, None
    return default_region, f"{parsed.scheme}://{parsed.netloc}"


class Queues:
    """The SQS and EventBridge requests of one gateway, with a client per service and queue region."""

    def __init__(self, session: Any, client_config: Callable[[], Config], default_region: str,
                 call: Callable[..., dict[str, Any]]):
        self._session = session
        self._client_config = client_config
        self._default_region = default_region
        # The gateway's envelope, every failure classified (`Envelope.call_classified`).
        self._call = call
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def _sqs(self, queue_url: str) -> Any:
        return self._client_near_queue("sqs", queue_url)

    def _client_near_queue(self, service: str, queue_url: str) -> Any:
        """A client for the queue's own region; a queue URL that is not AWS's (a local emulator) is its endpoint."""
        region, endpoint = queue_location(queue_url, self._default_region)
        name = f"{service}:{region}:{endpoint}"
        with self._lock:
            if name not in self._clients:
                self._clients[name] = self._session.create_client(
                    service, region_name=region, endpoint_url=endpoint, config=self._client_config())
            return self._clients[name]

    def receive_messages(self, queue_url: str, wait_seconds: int = 20, max_messages: int = 10,
                         visibility_timeout: int | None = None) -> list[QueueMessage]:
        """One long poll of up to 10 messages."""
        request: dict[str, Any] = {"QueueUrl": queue_url, "MaxNumberOfMessages": max_messages,
                                   "WaitTimeSeconds": wait_seconds}
        if visibility_timeout is not None:
            request["VisibilityTimeout"] = visibility_timeout
        response = self._call("ReceiveMessage", None, self._sqs(queue_url).receive_message, **request)
        return [QueueMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body", "")) for m in response.get("Messages", [])]

    def delete_messages(self, queue_url: str, receipt_handles: list[str]) -> list[str]:
        """Delete in batches of 10; returns the receipt handles SQS did not delete (they come back later)."""
        failed: list[str] = []
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start:start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
            response = self._call("DeleteMessageBatch", None, self._sqs(queue_url).delete_message_batch,
                                  QueueUrl=queue_url, Entries=entries)
            failed.extend(chunk[int(f["Id"])] for f in response.get("Failed", []))
        return failed

    def queue_attributes(self, queue_url: str) -> dict[str, str]:
        response = self._call("GetQueueAttributes", None, self._sqs(queue_url).get_queue_attributes,
                              QueueUrl=queue_url, AttributeNames=["All"])
        return response.get("Attributes", {})

    def _events(self, queue_url: str) -> Any:
        """An EventBridge client for the queue's region, where the rules that target it live."""
        return self._client_near_queue("events", queue_url)

    def rules_targeting(self, queue_url: str, queue_arn: str) -> list[str]:
        """The names of the default event bus's rules that target the queue."""
        names: list[str] = []
        request: dict[str, Any] = {"TargetArn": queue_arn}
        while True:
            response = self._call("ListRuleNamesByTarget", None, self._events(queue_url).list_rule_names_by_target,
                                  **request)
            names.extend(response.get("RuleNames", []))
            if not response.get("NextToken"):
                return names
            request["NextToken"] = response["NextToken"]

    def event_rule(self, queue_url: str, name: str) -> dict[str, Any]:
        """DescribeRule: the rule's ARN, event pattern and state."""
        return self._call("DescribeRule", None, self._events(queue_url).describe_rule, Name=name)
