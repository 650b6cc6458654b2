"""The direct HEAD's request (object_urls: the URL planned from botocore's, and our SigV4 signer) against the request
botocore's own client sends for the same key, over generated keys, endpoints and credentials.

botocore's client is stopped at `before-send` (tests/support/wire.py), where its request is final: URL, headers and
signature. Ours is `signed_head` with the ObjectUrls the gateway planned for that bucket, at botocore's X-Amz-Date.
Every header must be equal but the two botocore adds per call that carry no meaning for S3 (an invocation id and
the attempt count), and the User-Agent, which botocore writes per call (see `user_agent_differences`).
"""
from __future__ import annotations

from typing import Any, Optional

import pytest
from botocore.credentials import Credentials
from hypothesis import given, note
from hypothesis import strategies as st

from s3_metadata.object_urls import signed_head
from tests.differential.budget import budget, record
from tests.differential.choices import generated
from tests.differential.listing_bodies import key as any_key
from tests.support.wire import Stub, gateway, plain_client

# (bucket, region, endpoint_url): virtual-host and path-style AWS addresses, S3-compatible endpoints.
ENDPOINTS = [
    ("wire-bucket", "us-east-1", None),
    ("wire-bucket", "eu-west-1", None),
    ("wire.dotted.bucket", "us-east-1", None),
    ("wire-bucket", "ap-southeast-2", None),
    ("wire-bucket", "us-east-1", "http://minio.local:9000"),
    ("wire-bucket", "us-east-1", "https://r2.example.com"),
    ("wire-bucket", "eu-central-1", "https://S3.Example.COM:443"),
    ("wire-bucket", "us-east-1", "http://[::1]:9000"),
]
CREDENTIALS = [
    ("AKIAWIRETESTEXAMPLE1", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
    ("ASIAWIRETESTEXAMPLE2", "se/cret+key=", "IQoJb3JpZ2luX2VjE//token+with/odd=chars"),
    ("ASIAWIRETESTEXAMPLE3", "s", "token  with   runs of spaces"),
    ("ASIAWIRETESTEXAMPLE4", "\u00e9t\u00e9-secret", " leading and trailing "),
]
# Headers botocore adds to each call that S3 does not read: an invocation id and the attempt count (not signed).
PER_CALL = {"amz-sdk-invocation-id", "amz-sdk-request"}
# Keys of any characters and lengths (never empty: S3 has no such key, and botocore refuses one).
KEYS = generated(lambda c: any_key(c, "hostile")).filter(bool)
_PLANNED: dict[tuple, Any] = {}
_CLIENTS: dict[tuple, tuple[Any, Stub]] = {}


def planned_urls(endpoint: tuple[str, str, Optional[str]]) -> Any:
    """The ObjectUrls the gateway plans for the bucket (once per endpoint)."""
    if endpoint not in _PLANNED:
        bucket, region, url = endpoint
        stub = Stub(region=region)
        built = gateway(stub, endpoint_url=url, region=region, bucket=bucket)
        _PLANNED[endpoint] = built._direct_heads.urls(bucket, built.bucket_client(bucket))
    return _PLANNED[endpoint]


def botocore_request(endpoint: tuple[str, str, Optional[str]], credentials: tuple, key: str,
                     checksums: bool) -> Any:
    """The request botocore's own client sends for HeadObject of `key`, as it reaches `before-send`."""
    if (endpoint, credentials) not in _CLIENTS:
        stub = Stub(region=endpoint[1])
        _CLIENTS[(endpoint, credentials)] = plain_client(stub, endpoint[2], endpoint[1], credentials), stub
    client, stub = _CLIENTS[(endpoint, credentials)]
    stub.sent.clear()
    client.head_object(Bucket=endpoint[0], Key=key, **({"ChecksumMode": "ENABLED"} if checksums else {}))
    ((operation, request),) = stub.sent
    assert operation == "HeadObject"
    return request


def headers_of(request: Any) -> dict[str, bytes]:
    return {name.lower(): value if isinstance(value, bytes) else value.encode() for name, value in
            request.headers.items() if name.lower() not in PER_CALL}


@budget(ci_examples=150)
@given(endpoint=st.sampled_from(ENDPOINTS), credentials=st.sampled_from(CREDENTIALS), key=KEYS, checksums=st.booleans())
def test_direct_head_requests_equal_botocores(endpoint, credentials, key, checksums) -> None:
    note(f"key: {key!r}")
    urls = planned_urls(endpoint)
    assert urls is not None, f"{endpoint}: the gateway must plan direct HEADs here"
    theirs = botocore_request(endpoint, credentials, key, checksums)
    expected = headers_of(theirs)
    try:
        ours = signed_head(urls, key, checksums, Credentials(*credentials),
                           amz_date=expected["x-amz-date"].decode())
    except Exception as error:  # any exception of ours is a bug: botocore signed this request
        pytest.fail(f"CRASH: signed_head raised {error!r} for {key!r} at {endpoint}")
    if ours.url != theirs.url:
        pytest.fail(f"WRONG VALUE: URL {ours.url!r}, botocore {theirs.url!r}")
    found = {name: (headers_of(ours).get(name), value) for name, value in expected.items()
             if headers_of(ours).get(name) != value}
    found.update({name: (value, None) for name, value in headers_of(ours).items() if name not in expected})
    if found:
        pytest.fail(f"WRONG VALUE: headers (ours, botocore's): {found}")
    assert ours.method == theirs.method == "HEAD" and ours.body in (None, b"") and theirs.body in (None, b"")
    record("direct HEAD requests", "equal")
