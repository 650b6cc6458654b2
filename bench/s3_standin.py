"""A fast, in-memory stand-in for the parts of Amazon S3 that an object-metadata connector touches.

moto is accurate but spends milliseconds of CPU per request, so a benchmark against it measures moto. This server holds
one bucket generated from a seed (`standin_bucket.py`: millions of objects in a few kilobytes) and answers a page of a
thousand keys with a bisect and a few milliseconds of formatting, in a process of its own, so that the CPU a benchmark
measures in the connector's process is the connector's. A configurable sleep before every answer stands in for the
network round trip, which is what concurrency in a connector is meant to hide.

It is not S3: there is one bucket, no authentication, path-style addressing only, and no object bodies.

Run it as a program (see `--help`); it prints `READY http://127.0.0.1:<port>` once it listens.
"""
from __future__ import annotations

import argparse
import base64
import itertools
import json
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Sequence
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from standin_bucket import Bucket, Layout, Page, http_date, next_after_prefix, xml_text

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
OPERATIONS = ("ListObjectsV2", "HeadObject", "HeadBucket", "ListObjectVersions", "GetBucketVersioning",
              "GetBucketLocation", "ListBucketIntelligentTieringConfigurations", "other")


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")


class Stats:
    """Request counts by operation, which is how a benchmark sees a connector's request pattern."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(OPERATIONS, 0)
        self._errors = 0

    def count(self, operation: str, injected_error: bool) -> None:
        with self._lock:
            self._counts[operation] += 1
            self._errors += injected_error

    def snapshot(self, objects: int) -> dict:
        with self._lock:
            return {**self._counts, "errors_injected": self._errors, "objects": objects}

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(OPERATIONS, 0)
            self._errors = 0


@dataclass(frozen=True)
class Options:
    latency_s: float = 0.0
    error_rate: float = 0.0
    restore_status: bool = True
    # Intelligent-Tiering archive tiers are opt-in per bucket configuration; 0 means the bucket has none, so
    # no object is ever in an archive tier (the usual case).
    it_archive_days: int = 0


class StandInServer(ThreadingHTTPServer):
    """One thread per connection, so that many requests can wait out their simulated latency at once."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], bucket: Bucket, options: Options, seed: int):
        super().__init__(address, RequestHandler)
        self.bucket = bucket
        self.options = options
        self.stats = Stats()
        self._errors = random.Random(seed + 2)
        self._errors_lock = threading.Lock()
        self.request_ids = itertools.count(1)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-request is normal under a benchmark; anything else is reported."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def should_fail(self) -> bool:
        if self.options.error_rate <= 0:
            return False
        with self._errors_lock:
            return self._errors.random() < self.options.error_rate


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def operation_name(method: str, key: str, params: dict[str, str]) -> str:
    """The S3 operation a request is, decided the way botocore shapes it: by method, key and query parameters."""
    if method == "HEAD":
        return "HeadObject" if key else "HeadBucket"
    if method != "GET" or key:
        return "other"
    for parameter, operation in (("list-type", "ListObjectsV2"), ("versions", "ListObjectVersions"),
                                 ("versioning", "GetBucketVersioning"), ("location", "GetBucketLocation"),
                                 ("intelligent-tiering", "ListBucketIntelligentTieringConfigurations")):
        if parameter in params:
            return operation
    return "other"


def tiering_configurations(archive_days: int) -> bytes:
    """ListBucketIntelligentTieringConfigurations: one configuration with archive tiers, or none."""
    configuration = ""
    if archive_days:
        tiers = ((archive_days, "ARCHIVE_ACCESS"), (max(archive_days, 180), "DEEP_ARCHIVE_ACCESS"))
        configuration = (f"<IntelligentTieringConfiguration><Id>archive</Id><Status>Enabled</Status>"
                         + "".join(f"<Tiering><Days>{days}</Days><AccessTier>{tier}</AccessTier></Tiering>"
                                   for days, tier in tiers)
                         + "</IntelligentTieringConfiguration>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketIntelligentTieringConfigurationsOutput '
            f'xmlns="{S3_NAMESPACE}"><IsTruncated>false</IsTruncated>{configuration}'
            "</ListBucketIntelligentTieringConfigurationsOutput>").encode()


def element(name: str, value: object) -> str:
    return f"<{name}>{value}</{name}>"


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInServer
    request_id = ""

    def setup(self) -> None:
        super().setup()
        # Without this, a response written after a small earlier one can wait for a delayed ACK (40 ms on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a log line per request would cost more than answering it."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        self.request_id = f"{next(self.server.request_ids):016X}"
        body = self._read_body()
        path, _, query = self.path.partition("?")
        if path.startswith("/__"):
            self._admin(method, path, body)
            return
        params = {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}
        bucket_name, _, raw_key = path.lstrip("/").partition("/")
        key = unquote(raw_key)
        operation = operation_name(method, key, params)
        failing = self.server.should_fail()
        self.server.stats.count(operation, failing)
        if self.server.options.latency_s:
            time.sleep(self.server.options.latency_s)
        try:
            if failing:
                raise S3Error(503, "SlowDown", "Please reduce your request rate.")
            if unquote(bucket_name) != self.server.bucket.name:
                raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
            self._dispatch(operation, key, params)
        except S3Error as error:
            document = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{element("Code", error.code)}'
                        f'{element("Message", escape(error.message))}{element("RequestId", self.request_id)}'
                        f'{element("HostId", "standin")}</Error>').encode("utf-8")
            self._respond(error.status, [("Content-Type", "application/xml")], b"" if method == "HEAD" else document)

    def _read_body(self) -> bytes:
        """Reads what the client sent, so that the next request on this connection starts where it should."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return b""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, operation: str, key: str, params: dict[str, str]) -> None:
        bucket = self.server.bucket
        if operation == "ListObjectsV2":
            self._send_xml(self._list_objects(params))
        elif operation == "ListObjectVersions":
            self._send_xml(self._list_versions(params))
        elif operation == "HeadObject":
            obj = bucket.get(key)
            if obj is None:
                raise S3Error(404, "NotFound", "Not Found")
            self._respond(200, obj.head_headers(), content_length=obj.size)
        elif operation == "HeadBucket":
            self._respond(200, [("x-amz-bucket-region", "us-east-1")])
        elif operation == "GetBucketLocation":
            self._send_xml(f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{S3_NAMESPACE}"/>'.encode())
        elif operation == "ListBucketIntelligentTieringConfigurations":
            self._send_xml(tiering_configurations(self.server.options.it_archive_days))
        elif operation == "GetBucketVersioning":
            self._send_xml(f'<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="{S3_NAMESPACE}"/>'.encode())
        else:
            raise S3Error(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")

    def _listing_request(self, params: dict[str, str]) -> tuple[str, str, int, bool, bool]:
        try:
            max_keys = min(int(params.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range") from None
        if max_keys < 0:
            raise S3Error(400, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")
        encoded = params.get("encoding-type") == "url"
        if params.get("encoding-type") not in (None, "url"):
            raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
        restore = (self.server.options.restore_status
                   and "RestoreStatus" in self.headers.get("x-amz-optional-object-attributes", ""))
        return params.get("prefix", ""), params.get("delimiter", ""), max_keys, encoded, restore

    def _list_objects(self, params: dict[str, str]) -> bytes:
        prefix, delimiter, max_keys, encoded, restore = self._listing_request(params)
        token = params.get("continuation-token")
        start_after = params.get("start-after")
        if token is not None:
            try:
                start = decode_token(token)
            except ValueError:
                raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect") from None
        else:
            start = start_after + "\0" if start_after else ""
        page = self.server.bucket.page(prefix, delimiter, start, max_keys)
        head = [element("Name", self.server.bucket.name), element("Prefix", xml_text(prefix, encoded))]
        if delimiter:
            head.append(element("Delimiter", xml_text(delimiter, encoded)))
        head += [element("MaxKeys", max_keys), element("KeyCount", len(page.objects) + len(page.common_prefixes)),
                 element("IsTruncated", "true" if page.truncated else "false")]
        if encoded:
            head.append(element("EncodingType", "url"))
        if token is not None:
            head.append(element("ContinuationToken", escape(token)))
        if page.truncated:
            head.append(element("NextContinuationToken", encode_token(page.resume_at)))
        if start_after:
            head.append(element("StartAfter", xml_text(start_after, encoded)))
        return self._listing_document("ListBucketResult", head, page, "Contents", encoded, restore)

    def _list_versions(self, params: dict[str, str]) -> bytes:
        prefix, delimiter, max_keys, encoded, restore = self._listing_request(params)
        key_marker = params.get("key-marker", "")
        start = ""
        if key_marker:
            rolled_up = delimiter and key_marker.endswith(delimiter) and key_marker.startswith(prefix)
            start = next_after_prefix(key_marker) if rolled_up else key_marker + "\0"
        page = self.server.bucket.page(prefix, delimiter, start, max_keys)
        head = [element("Name", self.server.bucket.name), element("Prefix", xml_text(prefix, encoded)),
                element("KeyMarker", xml_text(key_marker, encoded)),
                element("VersionIdMarker", escape(params.get("version-id-marker", "")))]
        if page.truncated:
            head += [element("NextKeyMarker", xml_text(page.last_item, encoded)), element("NextVersionIdMarker", "null")]
        if delimiter:
            head.append(element("Delimiter", xml_text(delimiter, encoded)))
        head += [element("MaxKeys", max_keys), element("IsTruncated", "true" if page.truncated else "false")]
        if encoded:
            head.append(element("EncodingType", "url"))
        return self._listing_document("ListVersionsResult", head, page, "Version", encoded, restore)

    @staticmethod
    def _listing_document(root: str, head: list[str], page: Page, entry: str, encoded: bool, restore: bool) -> bytes:
        prefixes = "".join(f"<CommonPrefixes><Prefix>{xml_text(p, encoded)}</Prefix></CommonPrefixes>"
                           for p in page.common_prefixes)
        return b"".join((
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NAMESPACE}">{"".join(head)}'.encode("utf-8"),
            b"".join(o.fragment(entry, encoded, restore) for o in page.objects),
            f"{prefixes}</{root}>".encode("utf-8"),
        ))

    def _send_xml(self, document: bytes) -> None:
        self._respond(200, [("Content-Type", "application/xml")], document)

    def _admin(self, method: str, path: str, body: bytes) -> None:
        server = self.server
        if method == "GET" and path == "/__stats":
            self._send_json(200, server.stats.snapshot(len(server.bucket)))
        elif method == "POST" and path == "/__reset":
            server.stats.reset()
            self._send_json(200, server.stats.snapshot(len(server.bucket)))
        elif method == "POST" and path == "/__mutate":
            try:
                request = json.loads(body or b"{}")
                if not isinstance(request, dict):
                    raise ValueError("the body must be a JSON object")
                self._send_json(200, server.bucket.mutate(request))
            except (ValueError, TypeError) as error:
                self._send_json(400, {"error": str(error)})
        else:
            self._send_json(404, {"error": f"no admin endpoint {method} {path}"})

    def _send_json(self, status: int, payload: object) -> None:
        self._respond(status, [("Content-Type", "application/json")], json.dumps(payload).encode("utf-8"))

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes = b"",
                 content_length: Optional[int] = None) -> None:
        """Writes the whole response in one send; `content_length` is for HEAD, which describes a body it does not send."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                 f"Date: {http_date(time.time())}", "Server: AmazonS3",
                 f"x-amz-request-id: {self.request_id}", f"x-amz-id-2: standin/{self.request_id}",
                 f"Content-Length: {len(body) if content_length is None else content_length}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)


def utc_today() -> datetime:
    now = datetime.now(timezone.utc)
    return datetime(now.year, now.month, now.day, tzinfo=timezone.utc)


def build_server(objects: int, seed: int = 1, port: int = 0, bucket: str = "bench-bucket",
                 options: Options = Options(), archived_share: Optional[float] = None) -> StandInServer:
    """A server bound to 127.0.0.1:`port` (0 picks a free one), not yet serving: call `serve_forever`."""
    layout = Layout(objects, seed, utc_today(), archived_share, archive_tiers=bool(options.it_archive_days))
    return StandInServer(("127.0.0.1", port), Bucket(bucket, layout), options, seed)


def parse_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="sleep before answering each S3 request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of S3 requests answered 503 SlowDown")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-restore-status", action="store_true",
                        help="ignore x-amz-optional-object-attributes, as S3-compatible stores without it do")
    parser.add_argument("--bucket", default="bench-bucket")
    parser.add_argument("--it-archive-days", type=int, default=0,
                        help="give the bucket an Intelligent-Tiering archive configuration (ARCHIVE_ACCESS after this "
                             "many days) and put some Intelligent-Tiering objects in archive tiers; 0: none")
    parser.add_argument("--archived-share", type=float,
                        help="share of objects in GLACIER (70%%) and DEEP_ARCHIVE (30%%) instead of 14%%")
    return parser.parse_args(argv)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    options = Options(args.latency_ms / 1000.0, args.error_rate, not args.no_restore_status, args.it_archive_days)
    server = build_server(args.objects, args.seed, args.port, args.bucket, options, args.archived_share)
    signal.signal(signal.SIGTERM, _stop)
    print(f"READY {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
