"""The cheapest possible listing of the whole bucket: a listing loop and nothing else.

`--way botocore` (the default): a `list_objects_v2` loop through botocore with our timestamp parser, the CPU of
reading a listing the way a plain boto3 program does. `--way gateway`: the connector's own `S3Gateway.list_page`
loop (RestoreStatus asked for, bodies read by `listing_xml`), the floor under the connector's sync: a sync costs
this plus its own per-object work. Printed as one JSON line so the benchmark can set it next to the connectors'
CPU per object.
"""
from __future__ import annotations

import argparse
import json
import time

import botocore.session
from botocore.config import Config

from s3_metadata.timestamps import install_fast_timestamp_parser


def botocore_loop(endpoint_url: str, bucket: str) -> tuple[int, int]:
    session = botocore.session.get_session()
    install_fast_timestamp_parser(session)
    client = session.create_client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                                   aws_access_key_id="bench", aws_secret_access_key="bench",
                                   config=Config(s3={"addressing_style": "path"}))
    client.head_bucket(Bucket=bucket)  # client set-up outside the measured loop
    wall, cpu = time.perf_counter(), time.process_time()
    objects = pages = 0
    request = {"Bucket": bucket}
    while True:
        page = client.list_objects_v2(**request)
        pages += 1
        objects += len(page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        request["ContinuationToken"] = page["NextContinuationToken"]
    return objects, pages, time.perf_counter() - wall, time.process_time() - cpu


def gateway_loop(endpoint_url: str, bucket: str) -> tuple[int, int]:
    from s3_metadata.aws import S3Gateway
    from s3_metadata.configuration import parse_configuration
    gateway = S3Gateway(parse_configuration({"bucket": bucket, "endpoint_url": endpoint_url,
                                             "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}))
    gateway.bucket_client(bucket)
    wall, cpu = time.perf_counter(), time.process_time()
    objects = pages = 0
    token = None
    while True:
        page = gateway.list_page(bucket, "", None, token, restore_status=True)
        pages += 1
        objects += len(page.objects)
        token = page.next_token
        if not token:
            break
    return objects, pages, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--way", choices=("botocore", "gateway"), default="botocore")
    args = parser.parse_args()
    loop = botocore_loop if args.way == "botocore" else gateway_loop
    objects, pages, wall, cpu = loop(args.endpoint_url, args.bucket)
    print(json.dumps({"objects": objects, "pages": pages, "loop_wall_s": wall, "loop_cpu_s": cpu}))


if __name__ == "__main__":
    main()
