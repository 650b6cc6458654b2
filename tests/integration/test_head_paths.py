"""Both HEAD paths of the gateway (direct, and botocore's with our `before-parse` reader) answer as botocore does,
for the headers that used to differ (issue 16, items 6 and 9): an `Expires` botocore cannot read, which it drops
and which crashed a direct HEAD with object details on, and user-metadata names, which botocore keeps in the case S3
sent them. The reference is botocore's own client on the same response (tests/support/wire.py); the generated
version of this comparison is tests/differential/test_head_differential.py.
"""
from __future__ import annotations

import pytest

from s3_metadata.aws import head_result
from tests.support.wire import BUCKET, Stub, gateway, plain_client

BASE = [("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"), ("ETag", '"9b2cf535f27731c974343645a3985328"'),
        ("Content-Length", "1234"), ("Content-Type", "text/plain"), ("x-amz-request-id", "TX")]
DATES = "Wed, 21 Oct 2015 07:28:00 GMT, Thu, 22 Oct 2015 07:28:00 GMT"

CASES = {
    "expires-zero": [("Expires", "0")],
    "expires-minus-one": [("Expires", "-1")],
    "expires-never": [("Expires", "never")],
    "expires-two-dates-joined": [("Expires", DATES)],
    "expires-sent-twice": [("Expires", "Wed, 21 Oct 2015 07:28:00 GMT"), ("expires", "Thu, 22 Oct 2015 07:28:00 GMT")],
    "expires-valid": [("Expires", "Thu, 01 Jan 2037 00:00:00 GMT")],
    "metadata-mixed-case": [("X-Amz-Meta-Color", "red"), ("x-amz-meta-Shape", "round"), ("X-AMZ-META-UP", "u")],
    "metadata-repeated-in-two-cases": [("X-Amz-Meta-Color", "red"), ("x-amz-meta-color", "blue")],
    "metadata-empty-name-and-value": [("x-amz-meta-", "nameless"), ("X-Amz-Meta-Empty", "")],
    "metadata-and-bad-expires": [("X-Amz-Meta-Color", "red"), ("Expires", "never")],
}


@pytest.fixture(scope="module")
def stub() -> Stub:
    return Stub()


@pytest.fixture(scope="module")
def gateways(stub):
    return {details: gateway(stub, details) for details in ("", "head")}


@pytest.fixture(scope="module")
def botocore_client(stub):
    return plain_client(stub)


@pytest.mark.parametrize("direct", [True, False], ids=["direct-head", "botocore-head"])
@pytest.mark.parametrize("details", ["", "head"], ids=["without-details", "with-details"])
@pytest.mark.parametrize("extra", list(CASES.values()), ids=list(CASES))
def test_head_equals_botocore(stub, gateways, botocore_client, details, direct, extra):
    stub.head = BASE + extra
    ours = gateways[details]
    ours._direct_heads._object_urls.pop(BUCKET, None)
    if not direct:
        ours._direct_heads._object_urls[BUCKET] = None
    result = ours.head_object(BUCKET, "k")
    assert (ours._direct_heads._object_urls[BUCKET] is not None) is direct
    theirs = head_result(botocore_client.head_object(Bucket=BUCKET, Key="k"))
    if details:
        assert result == theirs
    else:  # without details the gateway reads only the headers the listing columns need, and no metadata
        assert (result.size, result.e_tag, result.last_modified, result.user_metadata) == (
            theirs.size, theirs.e_tag, theirs.last_modified, {})


@pytest.mark.parametrize("direct", [True, False], ids=["direct-head", "botocore-head"])
def test_an_expires_without_a_value_fails_botocore_but_no_head_of_ours(stub, gateways, botocore_client, direct):
    """botocore's handler skips an empty `Expires` (it tests the value's truth), so its parser fails on it and
    botocore's HEAD raises. The connector reads no `Expires` (no column shows it): its HEAD answers, with the values
    botocore gives for the same response without that header."""
    stub.head = BASE
    theirs = head_result(botocore_client.head_object(Bucket=BUCKET, Key="k"))
    stub.head = BASE + [("Expires", "")]
    with pytest.raises(ValueError, match="Invalid timestamp"):
        botocore_client.head_object(Bucket=BUCKET, Key="k")
    ours = gateways["head"]
    ours._direct_heads._object_urls.pop(BUCKET, None)
    if not direct:
        ours._direct_heads._object_urls[BUCKET] = None
    assert ours.head_object(BUCKET, "k") == theirs


def test_metadata_by_hand(stub, gateways):
    """The values pinned by hand, so that botocore and ours cannot be wrong together."""
    stub.head = BASE + CASES["metadata-mixed-case"] + CASES["metadata-repeated-in-two-cases"][1:]
    gateways["head"]._direct_heads._object_urls.pop(BUCKET, None)
    assert gateways["head"].head_object(BUCKET, "k").user_metadata == {
        "Color": "red, blue", "Shape": "round", "UP": "u"}
