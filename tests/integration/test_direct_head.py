"""HEADs that skip botocore's request path (object_urls.py, `DirectHeads.head`) against moto in process: they
go where botocore's go with the same signed headers, moto's signature check accepts them, and what they cannot
do (a redirect) is left to botocore."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from s3_metadata.aws import S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.errors import CredentialsError
from tests.conftest import S3_COMPATIBLE_ENDPOINT

KEYS = ["plain.txt", "a b+c&d=e;f", "100% done", "t\tab/new\nline", "déjà/\U0001f600", "folder/", "x" * 1024,
        "q?h#a", "~tilde*star'quote(paren)!", "//lead/../x/./y"]
# With IAM authentication on, moto rejects botocore's own HEAD of these keys: it rebuilds a path without its leading
# slashes and dot segments before it checks the signature, and its policy check denies a key with a tab or newline.
# They are left out of that one test (the unit tests and the test above hold them).
MOTO_SIGNS_OTHERWISE = {"//lead/../x/./y", "t\tab/new\nline"}
ROUTINE = {"amz-sdk-invocation-id", "amz-sdk-request", "user-agent"}


def sent_heads(faults) -> list[tuple[str, dict[str, bytes]]]:
    """Record every HeadObject at botocore's before-send (and answer none): its URL and its headers."""
    seen: list[tuple[str, dict[str, bytes]]] = []

    def record(operation, request, number) -> bool:
        seen.append((request.url, {name.lower(): value for name, value in request.headers.items()}))
        return False
    faults.respond("HeadObject", 200, when=record)
    return seen


def signed_parts(headers: dict[str, bytes]) -> tuple[str, str]:
    """(credential scope without the date, signed header names) of an Authorization header."""
    text = headers["authorization"].decode()
    credential = text.split("Credential=")[1].split(",")[0].split("/")
    return "/".join(credential[:1] + credential[2:]), text.split("SignedHeaders=")[1].split(",")[0]


@pytest.mark.parametrize("bucket, region, endpoint", [
    ("direct-bucket", "us-east-1", None),
    ("direct-bucket-eu", "eu-west-1", None),
    ("direct.dotted.bucket", "us-east-1", None),
    ("direct-bucket", "us-east-1", S3_COMPATIBLE_ENDPOINT),
])
@pytest.mark.parametrize("checksums", [False, True])
def test_direct_head_sends_what_botocore_sends(moto_s3, faults, bucket, region, endpoint, checksums):
    moto_s3.create_bucket(bucket, region=region)
    for key in KEYS:
        moto_s3.put(bucket, key, b"x")
    config = {"bucket": bucket, "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
              "aws_region": region}
    if endpoint:
        config["endpoint_url"] = endpoint
    gateway = S3Gateway(parse_configuration(config))
    plain = boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint,
                                           config=gateway._client_config(), aws_access_key_id="testing",
                                           aws_secret_access_key="testing")
    seen = sent_heads(faults)
    for key in KEYS:
        ours = gateway.head_object(bucket, key, checksums=checksums)
        theirs = plain.head_object(Bucket=bucket, Key=key, **({"ChecksumMode": "ENABLED"} if checksums else {}))
        assert ours is not None and ours.size == theirs["ContentLength"] == 1 and ours.e_tag == theirs["ETag"][1:-1]
        (our_url, our_headers), (their_url, their_headers) = seen[-2:]
        assert our_url == their_url, key
        assert our_headers.keys() - ROUTINE == their_headers.keys() - ROUTINE, key
        assert signed_parts(our_headers)[0] == signed_parts(their_headers)[0]
        assert set(signed_parts(our_headers)[1].split(";")) == set(signed_parts(their_headers)[1].split(";")) - ROUTINE
    assert gateway._direct_heads._object_urls[bucket] is not None  # the HEADs above did skip botocore's request path


@set_initial_no_auth_action_count(4 + len(KEYS))
def test_direct_heads_pass_moto_signature_check(faults):
    """moto checks SigV4 signatures once IAM authentication is on (after the set-up actions allowed without)."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"])
        s3.create_bucket(Bucket="signed-bucket")
        for name in KEYS:
            s3.put_object(Bucket="signed-bucket", Key=name, Body=b"x")
        settings = {"bucket": "signed-bucket", "aws_access_key_id": key["AccessKeyId"]}
        gateway = S3Gateway(parse_configuration({**settings, "aws_secret_access_key": key["SecretAccessKey"]}))
        for name in KEYS:
            if name not in MOTO_SIGNS_OTHERWISE:
                assert gateway.head_object("signed-bucket", name).size == 1, name
        assert gateway._direct_heads._object_urls["signed-bucket"] is not None
        wrong = S3Gateway(parse_configuration({**settings, "aws_secret_access_key": "not/the+secret"}))
        with pytest.raises(CredentialsError, match="SignatureDoesNotMatch"):
            wrong.head_object("signed-bucket", "plain.txt")


def test_a_redirect_is_left_to_botocore_which_follows_it(moto_s3, faults):
    moto_s3.create_bucket("moved-bucket")
    moto_s3.put("moved-bucket", "k", b"xyz")
    gateway = S3Gateway(parse_configuration({"bucket": "moved-bucket", "aws_access_key_id": "testing",
                                             "aws_secret_access_key": "testing"}))
    faults.respond("HeadObject", 301, headers={"X-Amz-Bucket-Region": "eu-west-1"},
                   when=lambda operation, request, number: number <= 2)  # ours, then botocore's first
    assert gateway.head_object("moved-bucket", "k").size == 3
    urls = [url for operation, url in faults.urls if operation == "HeadObject"]
    assert urls[0].startswith("https://moved-bucket.s3.amazonaws.com/")
    assert urls[-1].startswith("https://moved-bucket.s3.eu-west-1.amazonaws.com/")  # botocore's redirect
    assert gateway._direct_heads._object_urls["moved-bucket"] is None  # the bucket's later HEADs take botocore's path
    assert gateway.head_object("moved-bucket", "k").size == 3
