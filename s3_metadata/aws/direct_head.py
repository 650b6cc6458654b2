"""HeadObject requests that skip botocore's request path, for the objects whose HEAD a sync needs (`DirectHeads.head`
says what that saves).

botocore still plans them: a HeadObject of a few probe keys per bucket goes through its whole request path and is
stopped just before it is signed (`DirectHeads._planned_head`); where those plans show how botocore builds the URL
(object_urls.py), each HEAD is signed by our SigV4 signer and sent through botocore's `before-send` event and HTTP
session. A 200 is read by `head_headers`; anything else is parsed and raised as botocore would. Credentials are only
ever held inside the signer, never in a frame a crash report prints.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import BotoCoreError
from botocore.hooks import first_non_none_response
from botocore.utils import lowercase_dict

from s3_metadata.aws.fast_readers import PARSED_HERE, FastReaders
from s3_metadata.object_urls import PROBE_KEYS, ObjectUrls, PlannedRequest, object_urls, signed_head

class _Planned(Exception):
    """Stops a HeadObject botocore was about to sign, carrying what it planned (see `DirectHeads._planned_head`)."""

    def __init__(self, request: PlannedRequest):
        super().__init__("planned, not sent")
        self.request = request


class DirectHeads:
    """The direct HEADs of one gateway: where each bucket's go (planned once), and how one is signed, sent and read.
    Composed into the gateway, which decides when to use them (`S3Gateway.head_object`)."""

    def __init__(self, session: Any, readers: FastReaders, count: Callable[[str], None]):
        self._session = session
        self._readers = readers
        self._count = count
        self._lock = threading.Lock()
        # Per bucket, where its HEADs go when they skip botocore's request path (None: they do not; see
        # `S3Gateway.head_object`).
        self._object_urls: dict[str, ObjectUrls | None] = {}
        # Set on a thread while it asks botocore to plan a HEAD it will not send (see `_planned_head`).
        self._planning = threading.local()
        self._head_parser = session.get_component("response_parser_factory").create_parser("rest-xml")

    def install(self, client: Any) -> None:
        """Stop the HEADs `client` is asked to plan just before they are signed (`_stop_if_planning`)."""
        client.meta.events.register("before-sign.s3.HeadObject", self._stop_if_planning)

    def urls(self, bucket: str, client: Any) -> ObjectUrls | None:
        """Where `bucket`'s HEADs go when they skip botocore's request path, planned once per bucket; None when
        botocore's plans show they cannot (see object_urls.py), or botocore's HTTP session is not where we look."""
        with self._lock:
            if bucket in self._object_urls:
                return self._object_urls[bucket]
        planned = {key: self._planned_head(client, bucket, key) for key in PROBE_KEYS}
        usable = all(planned.values()) and getattr(getattr(client, "_endpoint", None), "http_session", None)
        urls = object_urls(planned) if usable else None  # type: ignore[arg-type]
        with self._lock:
            return self._object_urls.setdefault(bucket, urls)

    def _planned_head(self, client: Any, bucket: str, key: str) -> PlannedRequest | None:
        """The HeadObject of `key` as botocore plans it: built by its whole request path, stopped just before
        signing (by `_stop_if_planning`), so nothing is sent. None when botocore cannot build it."""
        self._planning.active = True
        try:
            client.head_object(Bucket=bucket, Key=key)
        except _Planned as planned:
            return planned.request
        except BotoCoreError:
            return None
        finally:
            self._planning.active = False
        return None

    def _stop_if_planning(self, request: Any, signing_name: str, region_name: str, signature_version: str,
                          **_: Any) -> None:
        """botocore's `before-sign` event: on a thread that is planning a HEAD, stop it with what it planned."""
        if not getattr(self._planning, "active", False):
            return
        signing = request.context.get("signing", {})
        raise _Planned(PlannedRequest(
            url=request.url, headers=frozenset(name.lower() for name in request.headers.keys()),
            region=signing.get("region") or region_name, service=signing.get("signing_name") or signing_name,
            signature_version=signature_version,
            own_credentials=bool(signing.get("request_credentials") or signing.get("identity_cache") is not None),
            user_agent=str(request.headers.get("User-Agent") or "")))

    def head(self, client: Any, bucket: str, urls: ObjectUrls, Bucket: str,  # noqa: N803 (botocore's names)
             Key: str, ChecksumMode: str | None = None) -> dict[str, Any]:  # noqa: N803
        """HeadObject through botocore's signer and HTTP session only, answered as `client.head_object` answers.

        About 40% of the CPU of botocore's whole path (bench/parse_cost.py). botocore's `before-send` event still
        runs (so whatever answers requests there, moto or a test's faults, answers these too); a 200 is read by
        `head_fields`, anything else goes through botocore's `before-parse` handlers and parser and is raised as
        botocore raises it. A redirect, or a region S3 names that is not the one signed for, is left to botocore's
        whole path, which follows it; the bucket's later HEADs then take that path too.
        """
        request = {"Bucket": Bucket, "Key": Key, **({"ChecksumMode": ChecksumMode} if ChecksumMode else {})}
        response = self._send_direct_head(client, urls, Key, ChecksumMode == "ENABLED")
        status = response.status_code
        lowered = lowercase_dict(response.headers)
        if status == 200:
            fields = self._readers.head_values(response.headers, lowered)
            if fields is not None:
                return {PARSED_HERE: fields, "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": lowered}}
        named_region = lowered.get("x-amz-bucket-region")
        if 300 <= status < 400 or (status == 400 and named_region and named_region != urls.region):
            with self._lock:
                self._object_urls[bucket] = None
            self._count("HeadObject")
            return client.head_object(**request)
        parsed = self._parsed_head(client, response)
        if status >= 300:
            error = parsed.get("Error", {})
            raise client.exceptions.from_code(error.get("QueryErrorCode") or error.get("Code"))(parsed, "HeadObject")
        return parsed

    def _send_direct_head(self, client: Any, urls: ObjectUrls, key: str, checksums: bool) -> Any:
        """Sign one HEAD (`signed_head`) and send it through botocore's `before-send` event and HTTP session.

        The signed request carries the session token: this frame drops it however it is left, so that the crash
        report of an unexpected exception (it prints our frames' locals) cannot show it; the credentials themselves
        are only ever held inside the signer (`object_urls._sign`).
        """
        prepared = signed_head(urls, key, checksums, self._session.get_credentials())
        try:
            answered = first_non_none_response(client.meta.events.emit("before-send.s3.HeadObject", request=prepared))
            return answered if answered is not None else client._endpoint.http_session.send(prepared)
        finally:
            del prepared

    def _parsed_head(self, client: Any, response: Any) -> dict[str, Any]:
        """botocore's parse of a HeadObject response, as its endpoint makes it: the `before-parse` handlers first
        (botocore's drop an `Expires` it cannot read; ours reads a 200 it can), then its parser."""
        model = client.meta.service_model.operation_model("HeadObject")
        response_dict = convert_to_response_dict(response, model)
        customized: dict[str, Any] = {}
        client.meta.events.emit("before-parse.s3.HeadObject", operation_model=model, response_dict=response_dict,
                                customized_response_dict=customized)
        parsed: dict[str, Any] = self._head_parser.parse(response_dict, model.output_shape)
        parsed.update(customized)
        return parsed
