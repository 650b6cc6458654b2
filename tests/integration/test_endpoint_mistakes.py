"""Endpoint mistakes, against real local servers: the wrong scheme, a server that is not S3, a URL with a secret in it.

The gateway is driven directly (the configuration helper has already accepted the URL's syntax), so the
requests go over real sockets to the servers of tests/support/fake_endpoints.py and botocore reports what
it would report to a user.
"""
from __future__ import annotations

import pytest

from s3_metadata.aws import S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.errors import EndpointError
from tests.conftest import TEST_SECRET
from tests.support.fake_endpoints import tls_only_server, web_server

URL_SECRET = "UrlSecret123"


def gateway(endpoint: str, **overrides: str) -> S3Gateway:
    configuration = {"bucket": "test-bucket", "aws_access_key_id": "AKIATESTEXAMPLE00001",
                     "aws_secret_access_key": TEST_SECRET, "aws_region": "us-east-1", "endpoint_url": endpoint}
    configuration.update(overrides)
    return S3Gateway(parse_configuration(configuration))


def first_sync_requests(g: S3Gateway) -> None:
    """What a sync asks first: the bucket's region, then a page of its listing."""
    g.bucket_region("test-bucket")
    g.list_page("test-bucket", "", None, None)


def test_https_to_a_plain_http_server_says_use_http(fast_retries):
    with web_server("html") as address:
        g = gateway(f"https://{address}")
        with pytest.raises(EndpointError) as raised:
            first_sync_requests(g)
    message = str(raised.value)
    assert f"endpoint_url https://{address} starts with https://" in message
    assert f"Use http://{address}" in message
    assert g.requests["HeadBucket"] == 1  # a scheme mistake is not retried


def test_http_to_a_tls_port_suggests_https(fast_retries):
    with tls_only_server() as address:
        g = gateway(f"http://{address}")
        with pytest.raises(EndpointError) as raised:
            first_sync_requests(g)
    message = str(raised.value)
    assert f"Could not reach endpoint_url http://{address}" in message and "(ConnectionClosedError)" in message
    assert "must start with https://" in message


@pytest.mark.parametrize("kind, status, content_type", [
    pytest.param("html", 200, "text/html", id="web-page-200"),
    pytest.param("json", 500, "application/json", id="json-api-200"),  # botocore turns unparsable XML into a 500
    pytest.param("404", 404, "text/html", id="404-everywhere"),
])
def test_a_server_that_is_not_s3_is_named_as_such(fast_retries, kind, status, content_type):
    with web_server(kind) as address:
        g = gateway(f"http://{address}")
        with pytest.raises(EndpointError) as raised:
            first_sync_requests(g)
    message = str(raised.value)
    assert f"endpoint_url http://{address} answers but is not an S3 API" in message
    assert f"ListObjectsV2 got HTTP {status}, {content_type}" in message
    assert "MinIO the API port" in message
    # Told at once: the answer is not retried as if S3 were throttling.
    assert g.requests["ListObjectsV2"] == 1 and g.retry_stats.retries == 0


def test_user_info_in_the_endpoint_never_reaches_a_message(fast_retries, monkeypatch):
    """AWS_ENDPOINT_URL may carry KEY:SECRET@; every message that quotes the endpoint masks it."""
    with web_server("html") as address:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"https://AKIAURLKEY:{URL_SECRET}@{address}")
        g = gateway("", endpoint_url="")
        with pytest.raises(EndpointError) as raised:
            first_sync_requests(g)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://AKIAURLKEY:{URL_SECRET}@{address}")
        with pytest.raises(EndpointError) as not_s3:
            first_sync_requests(gateway("", endpoint_url=""))
    for error in (raised.value, not_s3.value):
        assert URL_SECRET not in str(error) and "AKIAURLKEY" not in str(error)
        assert f"***@{address}" in str(error)
