"""The cheapest possible listing of the whole bucket: a `list_objects_v2` loop and nothing else.

It is the CPU cost of reading the listing through botocore with our timestamp parser, which no connector can go
below; printed as one JSON line so the benchmark can set it next to the connectors' CPU per object.
"""
from __future__ import annotations

import argparse
import json
import time

import botocore.session
from botocore.config import Config

from s3_metadata.timestamps import install_fast_timestamp_parser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args()

    session = botocore.session.get_session()
    install_fast_timestamp_parser(session)
    client = session.create_client("s3", endpoint_url=args.endpoint_url, region_name="us-east-1",
                                   aws_access_key_id="bench", aws_secret_access_key="bench",
                                   config=Config(s3={"addressing_style": "path"}))
    wall, cpu = time.perf_counter(), time.process_time()
    objects = pages = 0
    request = {"Bucket": args.bucket}
    while True:
        page = client.list_objects_v2(**request)
        pages += 1
        objects += len(page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        request["ContinuationToken"] = page["NextContinuationToken"]
    print(json.dumps({"objects": objects, "pages": pages, "loop_wall_s": time.perf_counter() - wall,
                      "loop_cpu_s": time.process_time() - cpu}))


if __name__ == "__main__":
    main()
