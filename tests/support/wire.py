"""S3 answers as botocore receives them off the wire, for holding our readers and signer to botocore's.

botocore gets a response's headers from urllib3 as an HTTPHeaderDict (a repeated header's values joined with `, `,
each name in the case of its first appearance) wrapped in its own case-insensitive HeadersDict; `http_response`
builds exactly that from a list of (name, value) pairs as they came over the wire. `Stub` answers requests at
botocore's `before-send` event, the point where moto and the fault injector answer them too, so everything from
there on (botocore's `before-parse` handlers, its parser, our handlers and direct HEADs) runs as it does for a
response from S3. `plain_client` is botocore without the connector: the reference (with the connector's timestamp
parser or without).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from urllib3 import HTTPHeaderDict

from s3_metadata.aws import S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.timestamps import install_fast_timestamp_parser

ACCESS_KEY_ID = "AKIAWIRETESTEXAMPLE1"
SECRET = "wire/test+secret-key"
BUCKET = "wire-bucket"
REGION = "us-east-1"


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def http_response(url: str, status: int, headers: Iterable[tuple[str, str]], body: bytes = b"") -> AWSResponse:
    """The response botocore builds from urllib3's for these header lines (in order, repeats kept) and body."""
    wire = HTTPHeaderDict()
    for name, value in headers:
        wire.add(name, value)
    return AWSResponse(url, status, wire, _Body(body))


@dataclass
class Stub:
    """Answers S3 requests at `before-send`: HeadBucket with the bucket's region, HeadObject with `head` (header
    lines of a 200), ListObjectsV2 and ListObjectVersions with `body`; records each request it answers."""

    head: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    region: str = REGION
    sent: list[Any] = field(default_factory=list)

    def __call__(self, request: Any, event_name: str, **_: Any) -> Optional[AWSResponse]:
        operation = event_name.rsplit(".", 1)[-1]
        self.sent.append((operation, request))
        if operation == "HeadBucket":
            return http_response(request.url, 200, [("x-amz-bucket-region", self.region)])
        if operation == "HeadObject":
            return http_response(request.url, 200, self.head)
        if operation in ("ListObjectsV2", "ListObjectVersions"):
            return http_response(request.url, 200, [("Content-Type", "application/xml")], self.body)
        return None

    def install(self, session: Any) -> None:
        """Answer the requests of every client `session` creates from now on."""
        session.register("before-send.s3", self)


def gateway(stub: Stub, object_details: str = "", endpoint_url: Optional[str] = None, region: str = REGION,
            **settings: str) -> S3Gateway:
    """A gateway of the connector whose S3 requests `stub` answers."""
    configuration = {"bucket": BUCKET, "aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET,
                     "aws_region": region, **settings}
    if object_details:
        configuration["object_details"] = object_details
    if endpoint_url:
        configuration["endpoint_url"] = endpoint_url
    built = S3Gateway(parse_configuration(configuration))
    stub.install(built._session)
    return built


# One session for every plain client (loading S3's model is most of a client's cost), and one whose clients read
# timestamps with the connector's parser, as the gateway's own botocore does.
_SESSIONS = {False: botocore.session.get_session(), True: botocore.session.get_session()}
install_fast_timestamp_parser(_SESSIONS[True])


def plain_client(stub: Optional[Stub], endpoint_url: Optional[str] = None, region: str = REGION,
                 credentials: tuple[str, str, Optional[str]] = (ACCESS_KEY_ID, SECRET, None),
                 fast_timestamps: bool = False) -> Any:
    """botocore's own S3 client, untouched but for one attempt per call (so an answer is never retried away) and
    the path-style addressing the connector asks of an S3-compatible endpoint; `stub` answers its requests. With
    `fast_timestamps` it reads timestamps with the connector's parser (timestamps.fast_timestamp_parser)."""
    key, secret, token = credentials
    config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"} if endpoint_url else {})
    client = _SESSIONS[fast_timestamps].create_client(
        "s3", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token, config=config)
    if stub is not None:
        client.meta.events.register("before-send.s3", stub)
    return client
