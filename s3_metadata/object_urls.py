"""Where botocore sends a HeadObject for any key of one bucket, and how it signs it, learnt once from botocore.

A HEAD through botocore's whole request path costs about 1.1 ms of CPU, and little of it is the HTTP exchange:
most is per-request work whose answer is the same for every key of a bucket (serializing parameters, resolving the
endpoint ruleset, building the user agent, a dozen events). So the gateway lets botocore build the HeadObject
request of a few probe keys once per bucket, stops each just before it is signed (`DirectHeads._planned_head`), and
reads from those `PlannedRequest`s the URL prefix every key is appended to and the signing scope. Each HEAD then
only quotes its key as botocore's REST serializer does (`quote(key, safe="/~")`), and botocore's own signer and
HTTP session do the rest (`DirectHeads.head`).

The probe keys are chosen so that a bucket on which a key is not simply quoted and appended shows it (a
key-dependent endpoint, slashes or dot segments rewritten, a query string), as does one whose requests need more
than SigV4 with the client's credentials (S3 Express sessions, SigV4a, other headers botocore adds): `object_urls`
then gives None and that bucket's HEADs keep going through botocore's whole path.
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, Mapping, Optional
from urllib.parse import quote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import NoCredentialsError

# Plain, then what a serializer could treat differently: spaces, '+', '%', '~', unicode, '//', a leading '/',
# dot segments, characters that delimit URLs ('?', '#', '&', '=', ';'), a trailing '/'.
PROBE_KEYS = ("probe", "a b+c%25~é/ü", "//lead/../x/./y", "q?h#a&b=c;d/")
# Headers botocore puts on every request that take no part in where it goes or what it asks.
ROUTINE_HEADERS = frozenset({"user-agent", "amz-sdk-invocation-id", "amz-sdk-request"})
SIGV4 = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = sha256(b"").hexdigest()
_DEFAULT_PORTS = {"http": 80, "https": 443}


def quote_key(key: str) -> str:
    """`key` as botocore's REST serializer puts a greedy `{Key+}` label in a URL path. Raises UnicodeEncodeError for
    a key that is not valid Unicode text (see `is_text`), as botocore's serializer does."""
    return quote(key, safe="/~")


def is_text(key: str) -> bool:
    """Whether `key` is valid Unicode text, which any S3 key is: False for one holding a lone surrogate (JSON's
    `"\\ud800"` reads as one), which no request can name and `quote_key` cannot quote."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SigningError(Exception):
    """A HEAD could not be signed. It names only the type of what failed: see `_sign`."""


@dataclass(frozen=True)
class PlannedRequest:
    """What botocore was about to sign for one HeadObject: its URL, the names of its headers (lower case), the
    signing region, name and version, and whether the signing context carries credentials of its own."""

    url: str
    headers: frozenset[str]
    region: str
    service: str
    signature_version: str
    own_credentials: bool = False
    user_agent: str = ""


@dataclass(frozen=True)
class ObjectUrls:
    """The request botocore makes for any key of one bucket: `prefix` + the quoted key, signed with SigV4 for
    `region` and `service`. `host` and `path` are what SigV4 signs of the prefix: the host as botocore signs it
    (lower case, no default port), the prefix's path."""

    prefix: str
    region: str
    service: str
    user_agent: str = ""
    host: str = field(init=False, compare=False)
    path: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.prefix)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
            host = f"{host}:{parts.port}"
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "path", parts.path)

    def url(self, key: str) -> str:
        """The URL of `key` (see `quote_key`)."""
        return self.prefix + quote_key(key)


def object_urls(planned: Mapping[str, PlannedRequest]) -> Optional[ObjectUrls]:
    """The bucket's ObjectUrls from the requests botocore planned for each of PROBE_KEYS (`planned` maps each probe
    key to its request); None unless every one is SigV4 ('s3v4') with the client's credentials and no header but
    the routine ones, and is one prefix plus its quoted key, in one signing scope."""
    if set(planned) != set(PROBE_KEYS):
        return None
    found: set[ObjectUrls] = set()
    for key, request in planned.items():
        suffix = quote_key(key)
        if (request.signature_version != "s3v4" or request.own_credentials or request.headers - ROUTINE_HEADERS
                or not request.url.endswith(suffix) or not request.region or not request.service
                or "?" in request.url or "#" in request.url):
            return None
        found.add(ObjectUrls(request.url[:-len(suffix)], request.region, request.service, request.user_agent))
    return found.pop() if len(found) == 1 else None


def signed_head(urls: ObjectUrls, key: str, checksums: bool, credentials: Any,
                amz_date: Optional[str] = None) -> AWSPreparedRequest:
    """The HeadObject request of `key` as botocore sends it, SigV4-signed with `credentials` at `amz_date` (now when
    None). `credentials` is the session's botocore Credentials object (None raises NoCredentialsError, as botocore
    does); they are frozen here, which renews refreshable ones that are about to expire, and a renewal's own
    failure propagates as it is.

    This is botocore's S3SigV4Auth for the one request shape the gateway sends (HEAD, no body, no query, three or
    five headers), about a fifth of its CPU: botocore's signer copies and re-parses the request's URL and headers
    on every call, which was a quarter of a whole direct HEAD. `tests/unit/test_object_urls.py` and
    `tests/differential/test_signer_differential.py` hold the two to the same request.

    The frozen credentials (the secret key and the session token) are only ever held by `_sign` and the frames
    below it, never by this one or its callers: see `_sign`.
    """
    if credentials is None:
        raise NoCredentialsError()
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    quoted = quote_key(key)
    signed: list[tuple[str, str]] = [("host", urls.host)]
    if checksums:
        signed.append(("x-amz-checksum-mode", "ENABLED"))
    signed += [("x-amz-content-sha256", EMPTY_SHA256), ("x-amz-date", amz_date)]
    headers = {"X-Amz-Date": amz_date, "X-Amz-Content-SHA256": EMPTY_SHA256}
    _sign(headers, credentials.get_frozen_credentials(), signed, f"HEAD\n{urls.path}{quoted}\n\n",
          f"{amz_date[:8]}/{urls.region}/{urls.service}/aws4_request", amz_date)
    if checksums:
        headers["x-amz-checksum-mode"] = "ENABLED"
    if urls.user_agent:
        headers["User-Agent"] = urls.user_agent
    # botocore sends header values encoded, as bytes (Endpoint.prepare_request).
    return AWSPreparedRequest("HEAD", urls.prefix + quoted,
                              HeadersDict({name: value.encode("utf-8") for name, value in headers.items()}),
                              None, False)


def _sign(headers: dict[str, str], frozen: Any, signed: list[tuple[str, str]], request_line: str, scope: str,
          amz_date: str) -> None:
    """Add Authorization (and X-Amz-Security-Token) to `headers`, signed with `frozen` credentials.

    A crash report (the SDK's, written when an exception leaves `update()`) prints the locals of every frame of
    ours in the exception's traceback and of the exceptions it chains to, and redacts only values of the
    configuration: credentials from the default chain or an assumed role would be printed in full. So this frame
    and `_signature_headers` below it are the only ones that hold them, and whatever fails below is raised again
    from here as a SigningError naming only its type, after this frame has dropped them and outside the handler:
    the new error's traceback has no frame that holds them and it chains to nothing.
    """
    try:
        headers.update(_signature_headers(frozen, signed, request_line, scope, amz_date))
        return
    except Exception as error:  # noqa: BLE001 (re-raised below, without the credentials)
        failure = type(error).__name__
    del frozen
    raise SigningError(f"the HEAD request could not be signed ({failure})")


def _signature_headers(frozen: Any, signed: list[tuple[str, str]], request_line: str, scope: str,
                       amz_date: str) -> dict[str, str]:
    """Authorization and, with a session token, X-Amz-Security-Token (only ever called by `_sign`)."""
    token = frozen.token
    if token:
        signed = [*signed, ("x-amz-security-token", " ".join(token.split()))]
    names = ";".join(name for name, _ in signed)
    canonical = "".join((request_line, *(f"{name}:{value}\n" for name, value in signed), "\n", names, "\n",
                         EMPTY_SHA256))
    to_sign = f"{SIGV4}\n{amz_date}\n{scope}\n{sha256(canonical.encode('utf-8')).hexdigest()}"
    signature = hmac.new(_signing_key(frozen.secret_key, scope), to_sign.encode("utf-8"), sha256).hexdigest()
    headers = {"Authorization": f"{SIGV4} Credential={frozen.access_key}/{scope}, SignedHeaders={names}, "
                                f"Signature={signature}"}
    if token:
        headers["X-Amz-Security-Token"] = token
    return headers


_SIGNING_KEYS: dict[tuple[str, str], bytes] = {}


def _signing_key(secret_key: str, scope: str) -> bytes:
    """SigV4's signing key for `scope` (date/region/service/aws4_request): four HMACs, the same all day, so kept
    (a few per process: a new one each day and for each set of credentials)."""
    cached = _SIGNING_KEYS.get((secret_key, scope))
    if cached is None:
        cached = ("AWS4" + secret_key).encode("utf-8")
        for part in scope.split("/"):
            cached = hmac.new(cached, part.encode("utf-8"), sha256).digest()
        if len(_SIGNING_KEYS) >= 16:
            _SIGNING_KEYS.clear()
        _SIGNING_KEYS[(secret_key, scope)] = cached
    return cached
