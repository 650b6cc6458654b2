"""CPU of reading S3's answers, three ways: botocore's default parser, botocore with our fast timestamp parser, ours.

    python bench/parse_cost.py [--objects 100000] [--heads 2000] [--rounds 5]

Listing: the stand-in's ListObjectsV2 pages (RestoreStatus asked for, keys url-encoded, as the sync asks) are
fetched once, then each way turns every body into the connector's ListedObject values: botocore's 200-error
check, its RestXMLParser, its url-decoding after-call handler and `rows.listed_object`; the same with
`timestamps.fast_timestamp_parser`; and `listing_xml.parse_objects_page`. No network in the measurement.

HEAD: whole requests, so signing, sending and botocore's handlers count too, against a stand-in in its own
process (its CPU is not counted): a plain botocore client, one with the fast timestamp parser, and the
connector's `S3Gateway.head_object`.

Each figure is the smallest of `--rounds` interleaved rounds: on a shared machine the smallest is the one least
disturbed by other processes.
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import botocore.handlers  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.parsers import RestXMLParser, create_parser  # noqa: E402

from s3_metadata.listing_xml import parse_objects_page  # noqa: E402
from s3_metadata.rows import listed_object  # noqa: E402
from s3_metadata.timestamps import fast_timestamp_parser, install_fast_timestamp_parser  # noqa: E402
from s3_standin import Options, build_server, utc_today  # noqa: E402
from standin_process import StandInProcess  # noqa: E402


def listing_bodies(objects: int) -> list[bytes]:
    server = build_server(objects, options=Options())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    bodies, token = [], None
    try:
        while True:
            path = "/bench-bucket?list-type=2&encoding-type=url&max-keys=1000"
            if token:
                path += "&continuation-token=" + quote(token)
            connection.request("GET", path, headers={"x-amz-optional-object-attributes": "RestoreStatus"})
            bodies.append(connection.getresponse().read())
            found = re.search(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>", bodies[-1])
            if not found:
                return bodies
            token = found.group(1).decode()
    finally:
        server.shutdown()
        server.server_close()


def botocore_reader(timestamp_parser: Callable | None) -> Callable[[bytes], list]:
    model = botocore.session.get_session().get_service_model("s3").operation_model("ListObjectsV2")
    parser = create_parser("rest-xml") if timestamp_parser is None else RestXMLParser(timestamp_parser=timestamp_parser)

    def read(body: bytes) -> list:
        response = {"body": body, "headers": {}, "status_code": 200}
        botocore.handlers._handle_200_error(model, response)
        parsed = parser.parse(response, model.output_shape)
        botocore.handlers.decode_list_object_v2(parsed=parsed, context={"encoding_type_auto_set": True})
        return [listed_object(entry, True) for entry in parsed.get("Contents", [])]
    return read


def smallest(rounds: int, ways: dict[str, Callable[[], None]]) -> dict[str, float]:
    best = {name: float("inf") for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.process_time()
            way()
            best[name] = min(best[name], time.process_time() - started)
    return best


def listing_costs(objects: int, rounds: int) -> dict[str, float]:
    bodies = listing_bodies(objects)
    count = sum(body.count(b"<Contents>") for body in bodies)
    default, fast = botocore_reader(None), botocore_reader(fast_timestamp_parser)
    assert [o for b in bodies for o in fast(b)] == [o for b in bodies for o in parse_objects_page(b, True).objects]
    ways = {"botocore default": lambda: [default(b) for b in bodies],
            "botocore + fast timestamps": lambda: [fast(b) for b in bodies],
            "listing_xml (ours)": lambda: [parse_objects_page(b, True) for b in bodies]}
    return {name: seconds * 1e6 / count for name, seconds in smallest(rounds, ways).items()}


def head_costs(heads: int, rounds: int) -> dict[str, float]:
    from s3_metadata.aws import S3Gateway
    from s3_metadata.configuration import parse_configuration
    from standin_bucket import Layout
    with StandInProcess(max(heads, 1000), latency_ms=0) as standin:
        layout = Layout(max(heads, 1000), 1, utc_today())
        keys = [layout[i] for i in range(heads)]
        config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})

        def plain(fast: bool):
            session = botocore.session.get_session()
            if fast:
                install_fast_timestamp_parser(session)
            return session.create_client("s3", endpoint_url=standin.url, region_name="us-east-1", config=config,
                                         aws_access_key_id="bench", aws_secret_access_key="bench")
        default_client, fast_client = plain(False), plain(True)
        gateway = S3Gateway(parse_configuration({"bucket": standin.bucket, "endpoint_url": standin.url,
                                                 "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}))
        gateway.bucket_client(standin.bucket)
        ways = {"botocore default": lambda: [default_client.head_object(Bucket=standin.bucket, Key=k) for k in keys],
                "botocore + fast timestamps": lambda: [fast_client.head_object(Bucket=standin.bucket, Key=k)
                                                       for k in keys],
                "S3Gateway.head_object (ours)": lambda: [gateway.head_object(standin.bucket, k) for k in keys]}
        return {name: seconds * 1e6 / heads for name, seconds in smallest(rounds, ways).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--heads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {"listing_us_per_object": listing_costs(args.objects, args.rounds),
               "head_us_per_request": head_costs(args.heads, args.rounds)}
    sections = (("ListObjectsV2 body -> ListedObject, µs of CPU per object", results["listing_us_per_object"]),
                ("HeadObject request, µs of CPU per HEAD", results["head_us_per_request"]))
    for title, figures in sections:
        print(title)
        reference = figures["botocore default"]
        for name, value in figures.items():
            print(f"  {name:<30} {value:9.1f}   ({value / reference:5.1%} of botocore's default)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
