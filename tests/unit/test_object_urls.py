"""Direct HEADs: which buckets may skip botocore's request path (`object_urls`), and the signer that replaces
botocore's S3SigV4Auth for them, held to the same Authorization header as botocore's over a corpus."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from s3_metadata.object_urls import PROBE_KEYS, ObjectUrls, PlannedRequest, object_urls, signed_head

AWS_PREFIX = "https://my-bucket.s3.eu-west-1.amazonaws.com/"


def plans(prefix: str = AWS_PREFIX, **overrides) -> dict[str, PlannedRequest]:
    """The requests botocore plans for the probe keys on a plain bucket, with `overrides` on every one."""
    fields = {"headers": frozenset({"user-agent", "amz-sdk-invocation-id", "amz-sdk-request"}),
              "region": "eu-west-1", "service": "s3", "signature_version": "s3v4", "user_agent": "Botocore/1"}
    fields.update(overrides)
    return {key: PlannedRequest(url=prefix + quote(key, safe="/~"), **fields) for key in PROBE_KEYS}


def with_url(key: str, url: str) -> dict[str, PlannedRequest]:
    planned = plans()
    planned[key] = PlannedRequest(url, planned[key].headers, "eu-west-1", "s3", "s3v4", user_agent="Botocore/1")
    return planned


@pytest.mark.parametrize("planned, expected", [
    pytest.param(plans(), ObjectUrls(AWS_PREFIX, "eu-west-1", "s3", "Botocore/1"), id="virtual-host"),
    pytest.param(plans("http://minio.local:9000/bucket/", region="us-east-1"),
                 ObjectUrls("http://minio.local:9000/bucket/", "us-east-1", "s3", "Botocore/1"), id="path-style"),
    pytest.param(plans(signature_version="v4a"), None, id="sigv4a"),
    pytest.param(plans(signature_version="v4-s3express"), None, id="s3-express"),
    pytest.param(plans(own_credentials=True), None, id="session-credentials-of-its-own"),
    pytest.param(plans(headers=frozenset({"user-agent", "x-amz-request-payer"})), None, id="a-header-botocore-adds"),
    pytest.param(plans(region=""), None, id="no-region"),
    pytest.param(with_url("//lead/../x/./y", AWS_PREFIX + "x/y"), None, id="dot-segments-resolved"),
    pytest.param(with_url("probe", "https://other.s3.eu-west-1.amazonaws.com/probe"), None, id="key-dependent-host"),
    pytest.param(with_url("a b+c%25~é/ü", AWS_PREFIX + "a+b+c%2525~%C3%A9/%C3%BC"), None, id="other-quoting"),
    pytest.param(with_url("probe", AWS_PREFIX + "probe?x-id=HeadObject"), None, id="a-query"),
    pytest.param({key: plan for key, plan in plans().items() if key != "probe"}, None, id="a-probe-missing"),
])
def test_object_urls(planned, expected):
    assert object_urls(planned) == expected


@pytest.mark.parametrize("prefix, host, path", [
    ("https://my-bucket.s3.eu-west-1.amazonaws.com/", "my-bucket.s3.eu-west-1.amazonaws.com", "/"),
    ("https://S3.Example.COM:443/bucket/", "s3.example.com", "/bucket/"),
    ("http://minio.local:80/bucket/", "minio.local", "/bucket/"),
    ("http://minio.local:9000/bucket/", "minio.local:9000", "/bucket/"),
    ("http://[::1]:9000/bucket/", "[::1]:9000", "/bucket/"),
])
def test_host_and_path_signed_as_botocore_signs_them(prefix, host, path):
    urls = ObjectUrls(prefix, "us-east-1", "s3")
    assert (urls.host, urls.path) == (host, path)


KEYS = ["plain.txt", "a b+c&d=e;f", "100% done", "t\tab/new\nline", "déjà/\U0001f600", "folder/", "x" * 1024,
        "//lead/../x/./y", "q?h#a", "~tilde*star'quote(paren)!", "tom & jerry <1> \"dq\""]
PREFIXES = ["https://my-bucket.s3.eu-west-1.amazonaws.com/", "https://s3.us-east-1.amazonaws.com/dotted.bucket.name/",
            "http://minio.local:9000/bucket/", "https://r2.example.com/bucket/", "http://[::1]:9000/bucket/"]
CREDENTIALS = [ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
               ReadOnlyCredentials("ASIAEXAMPLE", "se/cret+key", "IQoJb3JpZ2luX2VjE//token+with/odd=chars")]


@pytest.mark.parametrize("checksums", [False, True])
@pytest.mark.parametrize("credentials", CREDENTIALS, ids=["keys", "session-token"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_signed_head_equals_botocores_s3_sigv4(prefix, credentials, checksums):
    urls = ObjectUrls(prefix, "eu-west-1", "s3", "Botocore/1.0 test")
    for key in KEYS:
        theirs = AWSRequest(method="HEAD", url=urls.url(key),
                            headers={"x-amz-checksum-mode": "ENABLED"} if checksums else {})
        S3SigV4Auth(credentials, "s3", "eu-west-1").add_auth(theirs)
        ours = signed_head(urls, key, checksums, credentials, amz_date=theirs.context["timestamp"])
        assert ours.method == "HEAD" and ours.url == theirs.url and ours.body is None
        expected = {name.lower(): value.encode() for name, value in theirs.headers.items()}
        expected["user-agent"] = b"Botocore/1.0 test"
        assert {name.lower(): value for name, value in ours.headers.items()} == expected, key


def test_signed_head_signs_each_day_and_each_secret_with_its_own_key():
    urls = ObjectUrls(AWS_PREFIX, "eu-west-1", "s3")
    seen = set()
    for secret in ("first/secret", "second/secret"):
        for day in ("20261121T235959Z", "20261122T000000Z"):
            credentials = ReadOnlyCredentials("AKID", secret, None)
            theirs = AWSRequest(method="HEAD", url=urls.url("k"), headers={})
            theirs.context["timestamp"] = day
            auth = S3SigV4Auth(credentials, "s3", "eu-west-1")
            auth._modify_request_before_signing(theirs)
            signature = auth.signature(auth.string_to_sign(theirs, auth.canonical_request(theirs)), theirs)
            ours = signed_head(urls, "k", False, credentials, amz_date=day).headers["Authorization"].decode()
            assert ours.endswith("Signature=" + signature)
            seen.add(signature)
    assert len(seen) == 4
