"""Our sync's own cost, without the SDK's local destination: what runs in the connector's process in production.

`fivetran debug` writes every row to DuckDB and remembers every key it upserted during the sync, and both grow
with the rows written; in production neither runs in the connector's process. This runs `run_sync` in a child
process with a sink that only counts rows and keeps the checkpointed state, against the stand-in, and reports the
child's wall time, CPU and peak RSS, and the CPU of `run_sync` itself (the child's start-up and imports left out)
per listed object, also without `run_sync`'s own fixed cost (a sync of an empty bucket): for a full sync and then
an incremental one, or the runs asked for.

    python bench/sync_alone.py --objects 1000000 --latency-ms 20 [--production] [--runs full,incremental]
    python bench/sync_alone.py --objects 10000000 --runs full --state-file /tmp/s10m.json
    python bench/sync_alone.py --objects 10000000 --runs incremental --state-file /tmp/s10m.json --production

A `--state-file` that already exists is the previous sync's state, so a long full sync can be run once and the
incremental measured from it (the stand-in regenerates the same bucket from the seed).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from measured_process import run_measured  # noqa: E402
from production_limit import Envelope, Unavailable  # noqa: E402
from standin_process import StandInProcess  # noqa: E402


class CountingSink:
    """Keeps nothing but counts, the sync summary line and (with a file) the last checkpointed state."""

    def __init__(self, state_file: Optional[Path] = None):
        self.state_file = state_file
        self.upserts = 0
        self.summary = ""

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        self.upserts += 1

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        pass

    def truncate(self, table: str) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        if self.state_file is not None:
            self.state_file.write_text(json.dumps(state))

    def info(self, message: str) -> None:
        if message.startswith("sync summary"):
            self.summary = message

    def warning(self, message: str) -> None:
        print(message, file=sys.stderr)


def child(endpoint: str, state_file: Path) -> None:
    from s3_metadata.sync import run_sync
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    sink = CountingSink(state_file)
    started = time.process_time()
    run_sync({"bucket": "bench-bucket", "endpoint_url": endpoint, "aws_access_key_id": "bench",
              "aws_secret_access_key": "bench"}, state, sink)
    print(json.dumps({"upserts": sink.upserts, "state_bytes": state_file.stat().st_size,
                      "sync_cpu_s": time.process_time() - started}))


def fixed_sync_cpu(latency_ms: float, repeat: int) -> float:
    """`run_sync`'s CPU on an empty bucket: what a sync costs whatever its size (botocore loads the S3 service
    model and builds a client), taken out of `w/o fixed`; the smallest of `repeat` runs."""
    seconds = []
    with StandInProcess(0, latency_ms) as standin, tempfile.TemporaryDirectory() as work:
        for _ in range(repeat):
            measured = run_measured([sys.executable, __file__, "--child", standin.url, "--state-file",
                                     str(Path(work) / "state.json")], REPO, dict(os.environ), Path(work) / "fixed.log",
                                    600)
            seconds.append(json.loads(measured.output.strip().splitlines()[-1])["sync_cpu_s"])
    return min(seconds)


@contextlib.contextmanager
def envelope_if(wanted: bool) -> Iterator[Optional[Envelope]]:
    if not wanted:
        yield None
        return
    try:
        envelope = Envelope.create()
    except Unavailable as reason:
        print(f"production mode NOT AVAILABLE ({reason}); measuring WITHOUT the 0.5 CPU / 1 GB limit", flush=True)
        yield None
        return
    try:
        yield envelope
    finally:
        envelope.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--runs", default="full,incremental", help="comma-separated: full and/or incremental")
    parser.add_argument("--production", action="store_true", help="run the sync inside 0.5 CPU and 1 GB (a cgroup)")
    parser.add_argument("--state-file", type=Path, help="keep the state here (an existing one is used as it is)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the fixed cost and each incremental run this many times, keep the least CPU")
    parser.add_argument("--repeat-full", type=int, default=1,
                        help="measure each full run this many times (each from no state), keep the least CPU; one by "
                             "default, because a full sync of a large bucket takes long")
    parser.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.state_file)
        return 0
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    rows = []
    startup = fixed_sync_cpu(args.latency_ms, args.repeat)
    with StandInProcess(args.objects, args.latency_ms) as standin, tempfile.TemporaryDirectory() as work:
        state_file = args.state_file or Path(work) / "state.json"
        mode = "on" if args.production else "off"
        print(f"{args.objects:,} objects, {args.latency_ms:g} ms latency, production mode {mode}")
        print(f"run_sync's fixed CPU (a sync of an empty bucket: client creation, service model): {startup:.2f} s")
        print(f"{'run':<12} {'wall s':>7} {'CPU s':>7} {'sync CPU s':>10} {'µs/object':>9} {'w/o fixed':>9} "
              f"{'peak RSS MB':>11} {'rows':>9} {'state KB':>8} {'LIST':>6} {'throttled s':>11}")
        for run in runs:
            best = None
            for _ in range(args.repeat_full if run == "full" else args.repeat):
                if run == "full" and state_file.exists():
                    state_file.unlink()  # every full run starts from no state
                standin.reset()
                with envelope_if(args.production) as envelope:
                    measured = run_measured([sys.executable, __file__, "--child", standin.url, "--state-file",
                                             str(state_file)], REPO, dict(os.environ), Path(work) / f"{run}.log",
                                            36_000, envelope)
                if best is None or (measured.returncode == 0 and measured.cpu_s < best.cpu_s):
                    best = measured
            measured = best
            result = json.loads(measured.output.strip().splitlines()[-1]) if measured.returncode == 0 else {}
            if not result:
                print(measured.output[-3000:], file=sys.stderr)
            lists = standin.stats()["ListObjectsV2"]
            row = {"run": run, "objects": args.objects, "wall_s": measured.wall_s, "cpu_s": measured.cpu_s,
                   "sync_cpu_s": result.get("sync_cpu_s"), "peak_rss_mb": measured.peak_rss_mb,
                   "upserts": result.get("upserts"), "state_bytes": result.get("state_bytes"), "list_requests": lists,
                   "throttled_s": measured.throttled_s, "production": envelope is not None}
            row["us_per_object"] = row["sync_cpu_s"] * 1e6 / args.objects if row["sync_cpu_s"] else None
            row["fixed_sync_cpu_s"] = startup
            row["net_us_per_object"] = (row["sync_cpu_s"] - startup) * 1e6 / args.objects if row["sync_cpu_s"] else None
            rows.append(row)
            print(f"{run:<12} {measured.wall_s:>7.1f} {measured.cpu_s:>7.1f} {row['sync_cpu_s'] or 0:>10.1f} "
                  f"{row['us_per_object'] or 0:>9.1f} {row['net_us_per_object'] or 0:>9.1f} "
                  f"{measured.peak_rss_mb:>11.1f} "
                  f"{result.get('upserts', 'FAILED'):>9} {(result.get('state_bytes') or 0) / 1024:>8.0f} {lists:>6} "
                  f"{measured.throttled_s if measured.throttled_s is not None else '-':>11}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(row["upserts"] is not None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
