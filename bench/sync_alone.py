"""Our sync's own cost, without the SDK's local destination.

`fivetran debug` writes every row to DuckDB and remembers every key it upserted during the sync, and both grow
with the rows written; in production neither runs in the connector's process. This runs `run_sync` in a child
process with a sink that only counts rows and keeps the checkpointed state, against the stand-in, and reports the
child's wall time, CPU and peak RSS, for a full sync and then an incremental one.

    python bench/sync_alone.py --objects 1000000 --latency-ms 20
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from measured_process import run_measured  # noqa: E402
from standin_process import StandInProcess  # noqa: E402


class CountingSink:
    """Keeps nothing but counts and the last checkpointed state."""

    def __init__(self, state_file: Path):
        self.state_file = state_file
        self.upserts = 0

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        self.upserts += 1

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        pass

    def truncate(self, table: str) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state))

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        print(message, file=sys.stderr)


def child(endpoint: str, state_file: Path) -> None:
    from s3_metadata.sync import run_sync
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    sink = CountingSink(state_file)
    run_sync({"bucket": "bench-bucket", "endpoint_url": endpoint, "aws_access_key_id": "bench",
              "aws_secret_access_key": "bench"}, state, sink)
    print(json.dumps({"upserts": sink.upserts, "state_bytes": state_file.stat().st_size}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--child", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--state-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.state_file)
        return 0
    with StandInProcess(args.objects, args.latency_ms) as standin, tempfile.TemporaryDirectory() as work:
        state_file = Path(work) / "state.json"
        print(f"{'run':<12} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12} {'rows':>9} {'state KB':>9}")
        for run in ("full", "incremental"):
            measured = run_measured([sys.executable, __file__, "--child", standin.url, "--state-file", str(state_file)],
                                    REPO, dict(os.environ), Path(work) / f"{run}.log", 3600)
            result = json.loads(measured.output.strip().splitlines()[-1]) if measured.returncode == 0 else {}
            print(f"{run:<12} {measured.wall_s:>7.1f} {measured.cpu_s:>7.1f} {measured.peak_rss_mb:>12.1f} "
                  f"{result.get('upserts', 'FAILED'):>9} {result.get('state_bytes', 0) / 1024:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
