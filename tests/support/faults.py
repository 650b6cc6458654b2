"""Faults injected at botocore's `before-send` event, for what moto cannot produce.

The handler runs before moto's own, in every botocore session created while it is installed; returning
a response short-circuits the request, so botocore still parses it (status, headers, error XML) as it
would parse S3's. Raising `SimulatedCrash` stands for the process dying mid-request; raising one of
botocore's own exceptions (`fail`) stands for the network failing, and goes through botocore's retry
handling as a real failure would.
"""
from __future__ import annotations

import html
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

Predicate = Callable[[str, Any, int], bool]


class SimulatedCrash(BaseException):
    """Stands for a sync killed in the middle of a request. A BaseException, as a kill is not an error the connector
    could handle: its per-object boundary (`except Exception`) must not turn a kill into a row that says why."""


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def error_xml(code: str, service: str = "s3", message: str = "injected by the test") -> bytes:
    """An error document as the service writes it: S3's bare <Error>, or the query protocol's <ErrorResponse>."""
    error = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    if service != "s3":
        error = f"<ErrorResponse>{error}<RequestId>TEST</RequestId></ErrorResponse>"
    return f'<?xml version="1.0" encoding="UTF-8"?>{error}'.encode()


@dataclass
class _Rule:
    operation: str | None
    predicate: Predicate
    status: int
    headers: dict[str, str]
    body: bytes | None
    code: str | None = None
    raises: Callable[[Any], BaseException] | None = None


class FaultInjector:
    """Counts every request by operation and answers some of them itself."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.urls: list[tuple[str, str]] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._entry = ("before-send", self._handle)
        self._listing_restore: Callable[[str, str], tuple[bool, str | None] | None] | None = None
        self._extra_headers: dict[str, Callable[[str, str], dict[str, str]]] = {}
        self._rewrites: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[bytes, bytes], ...]]] = {}
        self._eventbridge_setting: Callable[[str], bool] | None = None

    def install(self) -> None:
        BUILTIN_HANDLERS.insert(0, self._entry)

    def uninstall(self) -> None:
        if self._entry in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.remove(self._entry)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            self.urls.clear()

    def respond(self, operation: str | None, status: int, *, code: str | None = None, headers: dict | None = None,
                when: Predicate | None = None, body: bytes | None = None) -> None:
        """Answer matching requests with `status` (an S3 error document when `code` is given)."""
        self._rules.append(_Rule(operation, when or (lambda op, req, n: True), status, dict(headers or {}), body, code))

    def throttle(self, rate: float, seed: int = 7, operation: str | None = None) -> None:
        """Answer a share of requests with 503 SlowDown, as S3 does under load."""
        rng = random.Random(seed)
        lock = threading.Lock()

        def roll(op: str, request: Any, n: int) -> bool:
            with lock:
                return rng.random() < rate
        self.respond(operation, 503, code="SlowDown", when=roll)

    def emulate_listing_restore_status(self, restore_of: Callable[[str, str], tuple[bool, str | None] | None]) -> None:
        """Make moto's ListObjectsV2 answer `OptionalObjectAttributes=RestoreStatus` as AWS does.

        moto ignores the attribute; AWS adds <RestoreStatus> to each entry that is restored or being
        restored. `restore_of(bucket, key)` returns (in progress, expiry text) or None for such an entry.
        """
        self._listing_restore = restore_of

    def add_headers(self, operation: str, headers_of: Callable[[str, str], dict[str, str]]) -> None:
        """Add `headers_of(bucket, key)` to moto's own answers to `operation`, for headers moto never sends
        (x-amz-replication-status, x-amz-expiration)."""
        self._extra_headers[operation] = headers_of

    def rewrite(self, operation: str, *, ignore: tuple[str, ...] = (), leave_out: tuple[str, ...] = (),
                substitute: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        """Answer `operation` as an S3-compatible store that ignores the query parameters `ignore` (moto answers the
        request without them), leaves the XML elements `leave_out` out of its answer (e.g. a truncated listing
        without NextContinuationToken) and replaces each `substitute` pair's first bytes with its second."""
        self._rewrites[operation] = (ignore, leave_out, substitute)

    def emulate_eventbridge_setting(self, sends_to_eventbridge: Callable[[str], bool]) -> None:
        """Make moto's GetBucketNotificationConfiguration say when a bucket sends its events to EventBridge.

        moto 5.2.5 stores `EventBridgeConfiguration` and forwards events to EventBridge, but leaves it out of its
        answer; AWS includes an empty <EventBridgeConfiguration/>. `sends_to_eventbridge(bucket)` says whether it is on.
        """
        self._eventbridge_setting = sends_to_eventbridge

    def crash_at(self, operation: str, number: int) -> None:
        """Raise SimulatedCrash on the `number`-th request of `operation`."""
        self.fail(operation, lambda request: SimulatedCrash(f"simulated crash at {operation} #{number}"),
                  when=lambda op, req, n: n == number)

    def fail(self, operation: str | None, error: Callable[[Any], BaseException], when: Predicate | None = None) -> None:
        """Raise `error(request)` instead of sending matching requests, e.g. botocore's EndpointConnectionError."""
        self._rules.append(_Rule(operation, when or (lambda op, req, n: True), 0, {}, b"", raises=error))

    def _handle(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        service, operation = event_name.split(".")[-2:]
        with self._lock:
            self.requests[operation] += 1
            self.urls.append((operation, request.url))
            number = self.requests[operation]
            rules = list(self._rules)
        for rule in rules:
            if rule.operation not in (None, operation) or not rule.predicate(operation, request, number):
                continue
            if rule.raises is not None:
                raise rule.raises(request)
            headers = {"x-amz-request-id": "TEST", **rule.headers}
            body = rule.body if rule.body is not None else (error_xml(rule.code, service) if rule.code else b"")
            return AWSResponse(request.url, rule.status, headers, _Body(body))
        if (operation == "ListObjectsV2" and self._listing_restore is not None
                and request.headers.get("x-amz-optional-object-attributes")):
            return self._with_restore_status(request, event_name)
        if operation == "GetBucketNotificationConfiguration" and self._eventbridge_setting is not None:
            return self._with_eventbridge_setting(request, event_name, self._eventbridge_setting)
        if operation in self._extra_headers:
            return self._with_headers(request, event_name, self._extra_headers[operation])
        if operation in self._rewrites:
            return self._rewritten(request, event_name, *self._rewrites[operation])
        return None

    def _rewritten(self, request: Any, event_name: str, ignore: tuple[str, ...], leave_out: tuple[str, ...],
                   substitute: tuple[tuple[bytes, bytes], ...]) -> Any:
        """moto's answer to the request without the parameters `ignore`, less the elements `leave_out`, with the
        `substitute` replacements made."""
        from moto.core.models import botocore_stubber
        parts = urlsplit(request.url)
        kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in ignore]
        original = request.url
        request.url = urlunsplit(parts._replace(query=urlencode(kept)))
        try:
            response = botocore_stubber(event_name=event_name, request=request)
        finally:
            request.url = original
        body = response.content
        for element in leave_out:
            body = re.sub(f"<{element}>[^<]*</{element}>".encode(), b"", body)
        for old, new in substitute:
            body = body.replace(old, new)
        return AWSResponse(original, response.status_code, dict(response.headers), _Body(body))

    def _with_headers(self, request: Any, event_name: str, headers_of: Callable[[str, str], dict[str, str]]) -> Any:
        """moto's own answer to an object request (path-style or virtual-host URL), with headers added."""
        from moto.core.models import botocore_stubber
        response = botocore_stubber(event_name=event_name, request=request)
        bucket, key = _bucket_and_key(request.url)
        headers = dict(response.headers)
        if response.status_code < 300:
            headers.update(headers_of(bucket, key))
        return AWSResponse(request.url, response.status_code, headers, _Body(response.content))

    def _with_eventbridge_setting(self, request: Any, event_name: str, sends: Callable[[str], bool]) -> AWSResponse:
        """moto's own answer, with <EventBridgeConfiguration/> added where the bucket has it on."""
        from moto.core.models import botocore_stubber
        response = botocore_stubber(event_name=event_name, request=request)
        body = response.content.decode()
        bucket, _ = _bucket_and_key(request.url)
        if response.status_code == 200 and sends(bucket):
            body = re.sub(r"<NotificationConfiguration([^>]*)/>", r"<NotificationConfiguration\1></NotificationConfiguration>",
                          body)
            body = body.replace("</NotificationConfiguration>",
                                "<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>")
        return AWSResponse(request.url, response.status_code, dict(response.headers), _Body(body.encode()))

    def _with_restore_status(self, request: Any, event_name: str) -> AWSResponse:
        """moto's own answer, with <RestoreStatus> added where AWS would add it."""
        from moto.core.models import botocore_stubber
        response = botocore_stubber(event_name=event_name, request=request)
        body = response.content.decode()
        bucket, _ = _bucket_and_key(request.url)

        def add(match: re.Match[str]) -> str:
            entry = match.group(0)
            key = unquote(html.unescape(re.search(r"<Key>(.*?)</Key>", entry, re.S).group(1)))
            restore = self._listing_restore(bucket, key)  # type: ignore[misc]
            if restore is None:
                return entry
            in_progress, expiry = restore
            status = f"<IsRestoreInProgress>{'true' if in_progress else 'false'}</IsRestoreInProgress>"
            if expiry:
                status += f"<RestoreExpiryDate>{expiry}</RestoreExpiryDate>"
            return entry.replace("</Contents>", f"<RestoreStatus>{status}</RestoreStatus></Contents>")

        body = re.sub(r"<Contents>.*?</Contents>", add, body, flags=re.S)
        return AWSResponse(request.url, response.status_code, dict(response.headers), _Body(body.encode()))


def _bucket_and_key(url: str) -> tuple[str, str]:
    """(bucket, key) of an object request's URL, virtual-host or path style."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    path = unquote(parts.path.lstrip("/"))
    if len(labels) > 3 and labels[1].startswith("s3"):
        return labels[0], path
    bucket, _, key = path.partition("/")
    return bucket, key
