"""Direct HEADs: which buckets may skip botocore's request path (`object_urls`), and the signer that replaces
botocore's S3SigV4Auth for them, held to the same Authorization header as botocore's over a corpus."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import NoCredentialsError

from s3_metadata.object_urls import (
    PROBE_KEYS, ObjectUrls, PlannedRequest, SigningError, is_text, object_urls, quote_key, signed_head,
)

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
CREDENTIALS = [Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
               Credentials("ASIAEXAMPLE", "se/cret+key", "IQoJb3JpZ2luX2VjE//token+with/odd=chars")]


@pytest.mark.parametrize("checksums", [False, True])
@pytest.mark.parametrize("credentials", CREDENTIALS, ids=["keys", "session-token"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_signed_head_equals_botocores_s3_sigv4(prefix, credentials, checksums):
    urls = ObjectUrls(prefix, "eu-west-1", "s3", "Botocore/1.0 test")
    for key in KEYS:
        theirs = AWSRequest(method="HEAD", url=urls.url(key),
                            headers={"x-amz-checksum-mode": "ENABLED"} if checksums else {})
        S3SigV4Auth(credentials.get_frozen_credentials(), "s3", "eu-west-1").add_auth(theirs)
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
            credentials = Credentials("AKID", secret, None)
            theirs = AWSRequest(method="HEAD", url=urls.url("k"), headers={})
            theirs.context["timestamp"] = day
            auth = S3SigV4Auth(credentials.get_frozen_credentials(), "s3", "eu-west-1")
            auth._modify_request_before_signing(theirs)
            signature = auth.signature(auth.string_to_sign(theirs, auth.canonical_request(theirs)), theirs)
            ours = signed_head(urls, "k", False, credentials, amz_date=day).headers["Authorization"].decode()
            assert ours.endswith("Signature=" + signature)
            seen.add(signature)
    assert len(seen) == 4


SECRET = "sEcReT-Zq9/marker+key"
TOKEN = "ToKeN-Zq9-marker"


def _frames_of(error: BaseException):
    """Every frame of `error`'s traceback and of every exception it chains to (cause or context)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback = error.__traceback__
        while traceback is not None:
            yield traceback.tb_frame
            traceback = traceback.tb_next
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize("secret, token", [
    pytest.param(SECRET, TOKEN + "\udcff", id="token-not-text"),  # as os.environ reads a byte that is not UTF-8
    pytest.param(SECRET + "\udcff", TOKEN, id="secret-not-text"),
])
def test_a_failure_while_signing_leaves_the_credentials_in_no_frame(secret, token):
    """The SDK's crash report prints the locals of the frames of a traceback: a failure inside the signer must
    reach the caller as an error whose traceback (and chain) has no frame holding the secret or the token."""
    urls = ObjectUrls(AWS_PREFIX, "eu-west-1", "s3")
    with pytest.raises(SigningError) as raised:
        signed_head(urls, "k", False, Credentials("AKID", secret, token))
    error = raised.value
    assert error.__cause__ is None and error.__context__ is None
    assert "UnicodeEncodeError" in str(error)
    frames = [frame for frame in _frames_of(error) if frame.f_code.co_filename != __file__]  # not this test's own
    assert [frame.f_code.co_name for frame in frames] == ["signed_head", "_sign"]
    for frame in frames:
        shown = repr(frame.f_locals)
        assert SECRET not in shown and TOKEN not in shown, frame.f_code.co_name


def test_signed_head_without_credentials_raises_as_botocore_does():
    with pytest.raises(NoCredentialsError):
        signed_head(ObjectUrls(AWS_PREFIX, "eu-west-1", "s3"), "k", False, None)


def test_botocores_credentials_objects_show_no_secret():
    """The one credentials value our frames do hold, botocore's Credentials object (frozen only inside the signer),
    shows nothing secret in a crash report, which prints a local with repr()."""
    credentials = Credentials("AKID", SECRET, TOKEN)
    assert SECRET not in repr(credentials) and TOKEN not in repr(credentials)
    refreshable = RefreshableCredentials("AKID", SECRET, TOKEN, datetime.now(timezone.utc) + timedelta(hours=1),
                                         lambda: {}, "test")
    assert SECRET not in repr(refreshable) and TOKEN not in repr(refreshable)


@pytest.mark.parametrize("key, text", [("plain", True), ("d\u00e9j\u00e0/\U0001f600", True), ("\ud800", False),
                                       ("a\udcffb", False), ("", True)])
def test_is_text(key, text):
    assert is_text(key) is text
    if not text:
        with pytest.raises(UnicodeEncodeError):
            quote_key(key)
