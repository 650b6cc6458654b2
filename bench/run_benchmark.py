"""One command that measures each connector's full and incremental sync against the stand-in S3, and prints one table.

    python bench/run_benchmark.py --objects 100000 --latency-ms 20 [--production]

Each connector gets a fresh stand-in (the same seeded bucket), a throwaway project directory and two `fivetran debug`
runs, plus one on an empty bucket that measures the CLI's fixed start-up; `bare_list`, a plain listing loop, is
measured first as the CPU floor. `--production` runs every measured process inside half a CPU and 1 GB, as Fivetran
runs a connector (production_limit.py). See bench/README.md for the columns.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Iterator, Optional

from debug_runs import OURS, REPO, DebugRun, ProjectMissing, prepare_project, run_debug
from measured_process import run_measured
from production_limit import Envelope, Unavailable
from report import Row, format_table, write_json
from standin_process import StandInProcess

BARE_LIST = Path(__file__).with_name("bare_list.py")
RESULTS = Path(__file__).with_name("results")
DEFAULT_CONNECTORS = f"{OURS},list_only,fivetran_example"


def parse_arguments(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--connectors", default=DEFAULT_CONNECTORS,
                        help=f"comma-separated: {OURS} and/or directory names under bench/baselines")
    parser.add_argument("--max-concurrency", type=int, help=f"passed to {OURS} as max_concurrency")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of S3 requests answered 503 SlowDown")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-restore-status", action="store_true",
                        help="the stand-in ignores x-amz-optional-object-attributes (like S3-compatible stores)")
    parser.add_argument("--it-archive-days", type=int, default=0,
                        help="the bucket has an Intelligent-Tiering archive configuration (tiers after N days)")
    parser.add_argument("--archived-share", type=float,
                        help="share of the bucket in GLACIER and DEEP_ARCHIVE (default 0.14), e.g. 0.333")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the start-up measurement and the incremental sync this many times, keep the "
                             "least CPU")
    parser.add_argument("--production", action="store_true",
                        help="run each measured process inside 0.5 CPU and 1 GB (a cgroup), as Fivetran runs "
                             "connectors")
    parser.add_argument("--mutate", type=json.loads, metavar="JSON",
                        help='a /__mutate body applied between the full and the incremental run, e.g. \'{"add": 100}\'')
    parser.add_argument("--access-key-id", default="bench",
                        help="the dummy aws_access_key_id (and secret) written to each configuration.json")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed for each run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects, logs and warehouse files")
    return parser.parse_args(argv)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def standin_for(args: argparse.Namespace, objects: Optional[int] = None) -> StandInProcess:
    return StandInProcess(args.objects if objects is None else objects, args.latency_ms, args.error_rate, args.seed,
                          not args.no_restore_status, it_archive_days=args.it_archive_days,
                          archived_share=args.archived_share)


class Production:
    """Fivetran's envelope for each measured run, when asked for and where the machine allows it."""

    def __init__(self, wanted: bool):
        self.wanted = wanted
        self.unavailable: Optional[str] = None
        self.description = "off: measured without a CPU or memory limit"
        if wanted:
            try:
                probe = Envelope.create()
                self.description = f"0.5 CPU and 1 GiB per measured process (cgroup v{probe.version})"
                probe.remove()
            except Unavailable as reason:
                self.unavailable = str(reason)
                self.description = (f"NOT AVAILABLE on this machine ({reason}); measured WITHOUT the 0.5 CPU / 1 GB "
                                    "limit")

    @contextlib.contextmanager
    def run(self) -> Iterator[Optional[Envelope]]:
        """A fresh control group for one run (so its statistics are that run's), removed afterwards."""
        if not self.wanted or self.unavailable:
            yield None
            return
        envelope = Envelope.create()
        try:
            yield envelope
        finally:
            envelope.remove()


def configuration(connector: str, standin: StandInProcess, args: argparse.Namespace) -> dict[str, str]:
    """What the connector is configured with; the SDK wants every value to be a string."""
    values = {"bucket": standin.bucket, "endpoint_url": standin.url, "aws_access_key_id": args.access_key_id,
              "aws_secret_access_key": args.access_key_id, "aws_region": "us-east-1"}
    if connector == OURS and args.max_concurrency:
        values["max_concurrency"] = str(args.max_concurrency)
    return values


def measure_bare_list(args: argparse.Namespace, workdir: Path, production: Production, way: str) -> Row:
    """A listing loop's own wall and CPU time (imports and client creation excluded), from the JSON it prints:
    botocore's `list_objects_v2` (way "botocore", row `bare_list`) or the connector's `S3Gateway.list_page`
    (way "gateway", row `gateway_list`)."""
    name = "bare_list" if way == "botocore" else "gateway_list"
    progress(f"{name}: listing the bucket")
    with standin_for(args) as standin, production.run() as envelope:
        objects = standin.reset()["objects"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, str(BARE_LIST), "--endpoint-url", standin.url, "--bucket", standin.bucket,
                   "--way", way]
        measured = run_measured(command, REPO, env, workdir / f"{name}.log", args.timeout, envelope)
        row = Row(name, "full", measured.returncode == 0, objects, requests=_requests(standin.stats()),
                  peak_rss_mb=measured.peak_rss_mb)
    if not row.ok:
        _show_failure(name, measured.output)
        return row
    loop = json.loads(measured.output.strip().splitlines()[-1])
    row.wall_s, row.cpu_s = loop["loop_wall_s"], loop["loop_cpu_s"]
    row.note = (f"listing loop only; the whole process took {measured.wall_s:.1f} s wall, "
                f"{measured.cpu_s:.2f} s CPU")
    return row


def measure_startup(connector: str, args: argparse.Namespace, workdir: Path,
                    production: Production) -> Optional[float]:
    """CPU of a full sync of an empty bucket: the CLI's fixed start-up (and requirements check, and shut-down); the
    smallest of `--repeat` runs, the one least disturbed by the rest of the machine."""
    progress(f"{connector}: start-up (a sync of an empty bucket, {args.repeat}x)")
    measured = []
    with standin_for(args, objects=0) as standin:
        for attempt in range(args.repeat):
            try:
                project = prepare_project(connector, workdir / f"{connector}-startup-{attempt}",
                                          configuration(connector, standin, args))
            except ProjectMissing:
                return None
            with production.run() as envelope:
                result = run_debug(project, workdir / f"{connector}-startup-{attempt}.log", args.timeout, envelope)
            if result.ok:
                measured.append(result.measurement.cpu_s)
    return min(measured) if measured else None


def measure_connector(connector: str, args: argparse.Namespace, workdir: Path,
                      production: Production) -> list[Row]:
    startup_cpu_s = measure_startup(connector, args, workdir, production)
    with standin_for(args) as standin:
        objects = standin.stats()["objects"]
        try:
            project = prepare_project(connector, workdir / connector, configuration(connector, standin, args))
        except ProjectMissing as missing:
            progress(f"{connector}: {missing}")
            return [Row(connector, "full", False, objects, note=str(missing))]
        rows = []
        for run in ("full", "incremental"):
            note = ""
            if run == "incremental" and args.mutate:
                changed = standin.mutate(args.mutate)
                note = "after mutation " + ", ".join(f"{name}: {len(keys)}" for name, keys in changed.items())
            # An incremental sync of an unchanged bucket leaves it unchanged, so it can be repeated: the smallest CPU
            # of `--repeat` runs is the one least disturbed by the rest of the machine.
            repeats = args.repeat if run == "incremental" and not args.mutate else 1
            attempts = []
            for attempt in range(repeats):
                progress(f"{connector}: {run} sync" + (f" ({attempt + 1}/{repeats})" if repeats > 1 else ""))
                objects = standin.reset()["objects"]
                server_cpu = standin.cpu_seconds()
                with production.run() as envelope:
                    result = run_debug(project, workdir / f"{connector}-{run}-{attempt}.log", args.timeout, envelope)
                attempts.append((result, _connector_row(connector, run, objects, result, standin,
                                                        standin.cpu_seconds() - server_cpu, note)))
                if not result.ok:
                    break
            result, row = min(attempts, key=lambda pair: (not pair[0].ok, pair[1].cpu_s or 0))
            if repeats > 1:
                row.note = f"smallest CPU of {len(attempts)} runs; {row.note}".rstrip("; ")
            row.startup_cpu_s = startup_cpu_s
            rows.append(row)
            if not result.ok:
                _show_failure(f"{connector} {run}", result.log_tail())
                break
        return rows


def _connector_row(connector: str, run: str, objects: int, result: DebugRun, standin: StandInProcess,
                   server_cpu_s: float, note: str) -> Row:
    stats = standin.stats()
    measured = result.measurement
    if measured.timed_out:
        note = f"timed out; {note}".rstrip("; ")
    return Row(connector, run, result.ok, objects, requests=_requests(stats), wall_s=measured.wall_s,
               sync_s=result.sync_s, rows_upserted=result.rows_upserted, peak_rss_mb=measured.peak_rss_mb,
               cpu_s=measured.cpu_s, server_cpu_s=server_cpu_s, throttled_s=measured.throttled_s,
               errors_injected=stats["errors_injected"], note=note)


def _requests(stats: dict) -> dict[str, int]:
    return {name: count for name, count in stats.items() if name not in ("errors_injected", "objects")}


def _show_failure(what: str, tail: str) -> None:
    progress(f"---- {what} FAILED; last lines of its output ----\n{tail}\n---- end of {what} output ----")


def settings(args: argparse.Namespace) -> dict:
    versions = {name: _version(name) for name in ("botocore", "boto3", "fivetran-connector-sdk", "duckdb")}
    return {**vars(args), "python": platform.python_version(), "cpus": os.cpu_count(), "versions": versions}


def _version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_arguments(argv)
    production = Production(args.production)
    progress(f"production mode: {production.description}")
    workdir = Path(tempfile.mkdtemp(prefix="s3-bench-"))
    try:
        rows = [measure_bare_list(args, workdir, production, way) for way in ("botocore", "gateway")]
        for connector in filter(None, (c.strip() for c in args.connectors.split(","))):
            rows += measure_connector(connector, args, workdir, production)
    finally:
        if args.keep:
            progress(f"projects and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{args.objects:,} objects, {args.latency_ms:g} ms latency, error rate {args.error_rate:g}")
    print(f"production mode: {production.description}\n")
    print(format_table(rows))
    progress(f"\nJSON written to {write_json(rows, {**settings(args), 'production': production.description}, RESULTS)}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
