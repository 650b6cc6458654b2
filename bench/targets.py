"""The targets of issue 10, measured side by side in one run, in production mode (0.5 CPU, 1 GiB) where available.

    python bench/targets.py [--objects 100000] [--big 10000000] [--latency-ms 20]

1. `fivetran debug`, incremental sync of an unchanged bucket of `--objects`: CPU per listed object with the
   CLI's start-up taken out, LIST requests per 1,000 objects, HEADs, rows upserted.
2. The connector's sync without the SDK's local writer (sync_alone.py) at `--objects` and at `--big`: CPU per
   object of an incremental sync and peak RSS; the full sync's CPU per object there is the connector's side of
   a full sync (everything but the SDK's upsert and its local writer).
3. A HEAD-heavy full sync (an endpoint that ignores listing RestoreStatus, a third of the bucket archived),
   once with listing RestoreStatus (almost no HEAD) and once without: the difference in CPU over the difference
   in HEADs is the connector's CPU per HEAD, set against a HEAD through plain botocore (parse_cost.py).

The big sync_alone run takes a while (10M objects: the full sync about 10 minutes of CPU, run without the limit
so it is shorter; the incremental, the figure that matters, runs within it). Results go to stdout and, as JSON,
to bench/results/targets-<timestamp>.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import run_benchmark  # noqa: E402
from report import Row  # noqa: E402

RESULTS = BENCH / "results"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def debug_rows(options: list[str], production: "run_benchmark.Production", workdir: Path) -> list[Row]:
    args = run_benchmark.parse_arguments(["--connectors", "ours", "--repeat", "3", *options])
    return run_benchmark.measure_connector("ours", args, workdir, production)


def sync_alone(objects: int, latency_ms: float, runs: str, production: bool, state: Path) -> list[dict[str, Any]]:
    out = state.with_suffix(f".{runs.replace(',', '-')}.json")
    command = [sys.executable, str(BENCH / "sync_alone.py"), "--objects", str(objects), "--latency-ms", str(latency_ms),
               "--runs", runs, "--state-file", str(state), "--json", str(out), "--repeat", "3"]
    if production:
        command.append("--production")
    progress(f"sync_alone: {objects:,} objects, {runs}{' (production)' if production else ''}")
    subprocess.run(command, check=True, stdout=sys.stderr)
    return json.loads(out.read_text())


def parse_cost(heads: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        progress("parse_cost: listing bodies and HEAD requests, three ways")
        subprocess.run([sys.executable, str(BENCH / "parse_cost.py"), "--heads", str(heads), "--json", out.name],
                       check=True, stdout=sys.stderr)
        return json.loads(Path(out.name).read_text())


def verdict(value: Optional[float], goal: float, at_most: bool = True) -> str:
    if value is None:
        return "not measured"
    return "met" if (value <= goal if at_most else value >= goal) else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="the large sync_alone bucket (0: skip)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--heads", type=int, default=2000)
    args = parser.parse_args()
    production = run_benchmark.Production(True)
    progress(f"production mode: {production.description}")
    common = ["--objects", str(args.objects), "--latency-ms", str(args.latency_ms)]
    results: dict[str, Any] = {"production": production.description, "objects": args.objects, "big": args.big}
    with tempfile.TemporaryDirectory(prefix="s3-targets-") as work:
        workdir = Path(work)
        rows = debug_rows(common, production, workdir / "debug")
        incremental = next((r for r in rows if r.run == "incremental"), None)
        results["debug"] = [r.as_json() for r in rows]
        heavy = ["--no-restore-status", "--archived-share", "0.333"]
        with_status = debug_rows(common + ["--archived-share", "0.333"], production, workdir / "with-status")
        without = debug_rows(common + heavy, production, workdir / "head-heavy")
        results["head_heavy"] = {"with_listing_status": [r.as_json() for r in with_status],
                                 "without": [r.as_json() for r in without]}
        alone = {args.objects: sync_alone(args.objects, args.latency_ms, "full,incremental", True,
                                          workdir / "small.json")}
        if args.big:
            state = workdir / "big.json"
            alone[args.big] = (sync_alone(args.big, args.latency_ms, "full", False, state)
                               + sync_alone(args.big, args.latency_ms, "incremental", True, state))
        results["sync_alone"] = {str(k): v for k, v in alone.items()}
        costs = parse_cost(args.heads)
        results["parse_cost"] = costs

    def run_of(rows: list[dict], name: str) -> Optional[dict]:
        return next((r for r in rows if r["run"] == name), None)

    small_inc = run_of(alone[args.objects], "incremental")
    small_full = run_of(alone[args.objects], "full")
    big_inc = run_of(alone[args.big], "incremental") if args.big else None
    full_with, full_without = with_status[0], without[0]
    head_delta = full_without.head_requests - full_with.head_requests
    per_head = ((full_without.cpu_s - full_with.cpu_s) * 1e6 / head_delta
                if head_delta > 0 and full_without.cpu_s and full_with.cpu_s else None)
    botocore_head = costs["head_us_per_request"]["botocore default"]
    ours_head = costs["head_us_per_request"]["S3Gateway.head_object (ours)"]
    ratio_big = (big_inc["net_us_per_object"] / small_inc["net_us_per_object"]
                 if big_inc and small_inc and big_inc.get("net_us_per_object") and small_inc.get("net_us_per_object")
                 else None)
    table = [
        ("incremental, unchanged bucket: CPU µs per listed object (start-up out)",
         incremental.net_cpu_us_per_object if incremental else None, "<= 12",
         verdict(incremental.net_cpu_us_per_object if incremental else None, 12)),
        ("  LIST requests per 1,000 objects", incremental.list_per_1000_objects if incremental else None, "<= 1.02",
         verdict(incremental.list_per_1000_objects if incremental else None, 1.02)),
        ("  HEAD requests", incremental.head_requests if incremental else None, "0",
         verdict(incremental.head_requests if incremental else None, 0)),
        ("  rows upserted", incremental.rows_upserted if incremental else None, "0",
         verdict(incremental.rows_upserted if incremental else None, 0)),
        (f"without the local writer, {args.objects:,}: incremental CPU µs/object (fixed cost out)",
         small_inc and small_inc.get("net_us_per_object"), "-", ""),
        (f"without the local writer, {args.big:,}: incremental CPU µs/object (fixed cost out)",
         big_inc and big_inc.get("net_us_per_object"), "within 10% of the line above", verdict(ratio_big, 1.10)),
        (f"without the local writer, {args.big:,}: incremental peak RSS MB", big_inc and big_inc["peak_rss_mb"],
         "< 150", verdict(big_inc and big_inc["peak_rss_mb"], 150)),
        (f"full sync, connector side (sync_alone, {args.objects:,}): CPU µs/object (fixed cost out)",
         small_full and small_full.get("net_us_per_object"), "<= 15",
         verdict(small_full and small_full.get("net_us_per_object"), 15)),
        ("HEAD-heavy full sync: connector CPU µs per HEAD (Δ CPU / Δ HEADs)", per_head,
         f"<= {botocore_head / 2:.0f} (half of botocore's {botocore_head:.0f})", verdict(per_head, botocore_head / 2)),
        ("  one HEAD request through S3Gateway.head_object: CPU µs", ours_head,
         f"<= {botocore_head / 2:.0f}", verdict(ours_head, botocore_head / 2)),
    ]
    results["targets"] = [{"target": t, "measured": m, "goal": g, "verdict": v} for t, m, g, v in table]
    print(f"\nproduction mode: {production.description}")
    print(f"{'target':<78} {'measured':>10}  {'goal':<36} verdict")
    for target, measured, goal, outcome in table:
        shown = "-" if measured is None else f"{measured:,.2f}" if isinstance(measured, float) else f"{measured:,}"
        print(f"{target:<78} {shown:>10}  {goal:<36} {outcome}")
    listing = costs["listing_us_per_object"]
    print("\nreading a ListObjectsV2 body into listed objects, µs per object: " +
          ", ".join(f"{name} {value:.1f}" for name, value in listing.items()))
    print("one HEAD request, µs of CPU: " + ", ".join(f"{n} {v:.0f}" for n, v in costs["head_us_per_request"].items()))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"targets-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    progress(f"JSON written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
