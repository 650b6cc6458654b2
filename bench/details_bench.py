"""Objects per second of a full sync without and with object details, against the stand-in at a fixed latency.

Standalone: it uses the stand-in (s3_standin.py) and measured_process.py as they are, and changes neither. The
stand-in answers HEAD but not GetObjectTagging, so this script runs it in a child process of its own that also
answers GetObjectTagging (one tag per object), at the same latency as every other request. Each run is a full sync
(`run_sync` with a sink that only counts rows, as sync_alone.py does) in a child process against a fresh stand-in.

    python bench/details_bench.py --objects 20000 --latency-ms 20
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from measured_process import run_measured  # noqa: E402
from sync_alone import CountingSink  # noqa: E402

CHOICES = ("", "head", "head,tags")
TAGGING = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           b"<TagSet><Tag><Key>cost-center</Key><Value>42</Value></Tag></TagSet></Tagging>")


def standin(argv: list[str]) -> int:
    """The stand-in, also answering GetObjectTagging."""
    import s3_standin

    original = s3_standin.RequestHandler._dispatch

    def dispatch(handler: Any, operation: str, key: str, params: dict[str, str]) -> None:
        if operation == "other" and handler.command == "GET" and key and "tagging" in params:
            if handler.server.bucket.get(key) is None:
                raise s3_standin.S3Error(404, "NoSuchKey", "The specified key does not exist.")
            handler._send_xml(TAGGING)
            return
        original(handler, operation, key, params)

    s3_standin.RequestHandler._dispatch = dispatch
    return s3_standin.main(argv)


def sync(endpoint: str, details: str) -> None:
    from s3_metadata.sync import run_sync
    sink = CountingSink()
    run_sync({"bucket": "bench-bucket", "endpoint_url": endpoint, "aws_access_key_id": "bench",
              "aws_secret_access_key": "bench", "object_details": details}, {}, sink)
    requests = {name: int(count) for count, name in re.findall(r"(\d+) (LIST|HEAD|GetObjectTagging)\b", sink.summary)}
    print(json.dumps({"upserts": sink.upserts, "requests": requests}))


def start_standin(objects: int, latency_ms: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, __file__, "--standin", "--port", "0", "--objects", str(objects),
                                "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 300)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"the stand-in did not start: {line!r}")
    return process, line.split()[1]


def main() -> int:
    if sys.argv[1:2] == ["--standin"]:
        return standin(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sync", nargs=2, metavar=("ENDPOINT", "DETAILS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sync:
        sync(*args.sync)
        return 0
    print(f"{args.objects} objects, {args.latency_ms:g} ms per request, full sync, max_concurrency 16")
    print(f"{'object_details':<15} {'wall s':>7} {'objects/s':>10} {'LIST':>6} {'HEAD':>7} {'tagging':>8} "
          f"{'CPU s':>6} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as work:
        for details in CHOICES:
            process, url = start_standin(args.objects, args.latency_ms)
            try:
                measured = run_measured([sys.executable, __file__, "--sync", url, details], REPO, dict(os.environ),
                                        Path(work) / "sync.log", 3600)
            finally:
                process.terminate()
                process.wait(timeout=30)
            lines = measured.output.strip().splitlines()
            result = json.loads(lines[-1]) if measured.returncode == 0 and lines else {"requests": {}}
            requests = result["requests"]
            print(f"{details or 'off':<15} {measured.wall_s:>7.1f} {args.objects / measured.wall_s:>10,.0f} "
                  f"{requests.get('LIST', 0):>6} {requests.get('HEAD', 0):>7} {requests.get('GetObjectTagging', 0):>8} "
                  f"{measured.cpu_s:>6.1f} {measured.peak_rss_mb:>12.1f}"
                  + ("" if result.get("upserts") == args.objects else f"  (rows: {result.get('upserts', 'FAILED')})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
