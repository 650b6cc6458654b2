"""What the per-range sketches (s3_metadata/sketch.py) cost and what they save, without S3.

Prints, for the chosen number of cells per range:
- state: sketch bytes per range and per object, and the whole state at 1,000,000 objects and at the
  5,000-range cap, next to today's (boundaries, counts and digests of ranges cut from the stand-in's keys);
- CPU per object: today's fingerprint, the key hash, building a sketch, reconciling a changed range;
- peel success by number of changed keys in one range;
- rows sent / objects changed for 1% and 5% of a bucket changed scattered evenly (storage-class
  transitions), for a clustered change, and deletes counted exactly, next to today's whole-range re-send.

Objects are the stand-in's (bench/s3_standin.py: same keys, sizes, classes), fingerprinted with the
connector's own `fingerprint`. Timings are the best of several repeats of process CPU time, so they hold on
a busy machine better than wall time, but compare them only within one run.

    python bench/sketch_bench.py [--objects 100000] [--range-size 250] [--cells N] [--seeds 3] [--trials 300]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from standin_bucket import Layout  # noqa: E402

from s3_metadata.ranges import MAX_RANGES_PER_STREAM, RangeEntry, fingerprint  # noqa: E402
from s3_metadata.restore import IN_PROGRESS, RESTORED, RestoreInfo  # noqa: E402
from s3_metadata.rows import ListedObject  # noqa: E402
from s3_metadata.sketch import (  # noqa: E402
    CELL_BYTES, CHECK_BITS, FINGERPRINT_BITS, HASHES, KEY_HASH_BITS, MAX_CELLS, Sketch, cells_for, key_hash,
    reconcile,
)
from s3_metadata.state import StreamState  # noqa: E402

MASK64 = (1 << 64) - 1
UTC = timezone.utc
TODAY = datetime(2025, 1, 1, tzinfo=UTC)
# The README's figure for today's state of a 1,000,000-object stream, for the target of 4x.
TODAY_STATE_1M = 311 * 1024


def listed_objects(count: int, seed: int) -> list[ListedObject]:
    """The stand-in's bucket as the connector's listing sees it, in key order."""
    listed = []
    for _, o in Layout(count, seed, TODAY).objects_from(0):
        restore = None
        if o.restore is True:
            restore = RestoreInfo(IN_PROGRESS)
        elif o.restore is not None:
            restore = RestoreInfo(RESTORED, datetime.fromtimestamp(o.restore, UTC))
        listed.append(ListedObject(o.key, datetime.fromtimestamp(o.last_modified, UTC), o.etag, o.size,
                                   o.storage_class, restore=restore))
    return sorted(listed, key=lambda o: o.key.encode("utf-8", "surrogatepass"))


def transitioned(o: ListedObject) -> ListedObject:
    """A lifecycle transition: the storage class changes, nothing else."""
    return replace(o, storage_class="DEEP_ARCHIVE" if o.storage_class == "GLACIER" else "GLACIER")


def best_cpu(action: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------------------------------- state

def state_section(objects: list[ListedObject], range_size: int, cells: int) -> None:
    sketch_text = len(Sketch.build(cells, [1], [1]).to_text())
    per_range = sketch_text + 4  # `, "..."` in the state's JSON list
    entries = [RangeEntry(piece[-1].key, len(piece), MASK64, False) for piece in chunks(objects, range_size)]
    entries[-1] = RangeEntry(None, entries[-1].count, MASK64, False)
    today_bytes = len(json.dumps(StreamState("bench-bucket", "", ranges=entries).to_json()))
    today_per_range = today_bytes / len(entries)
    ranges_1m = 1_000_000 / range_size
    today_1m = ranges_1m * today_per_range
    with_sketches_1m = today_1m + ranges_1m * per_range
    cap_cells = cells_for(10 ** 9)
    cap = MAX_RANGES_PER_STREAM * (today_per_range + len(Sketch.empty(cap_cells).to_text()) + 4)
    print(f"cells per range        {cells} x {CELL_BYTES} bytes (key hash {KEY_HASH_BITS} bits, fingerprint "
          f"{FINGERPRINT_BITS}, check {CHECK_BITS}), {HASHES} cells per key")
    print(f"state per range        today {today_per_range:.0f} bytes (measured on these keys); sketch "
          f"+{per_range} bytes of base85 JSON = {per_range / range_size:.2f} bytes per object")
    print(f"state at 1,000,000     today {today_1m / 1024:.0f} KB (README: {TODAY_STATE_1M / 1024:.0f} KB at 250); "
          f"with sketches {with_sketches_1m / 1024:.0f} KB = {with_sketches_1m / today_1m:.2f} x today")
    print(f"state at the cap       {MAX_RANGES_PER_STREAM:,} ranges x ({today_per_range:.0f} + "
          f"{len(Sketch.empty(cap_cells).to_text()) + 4} bytes, {cap_cells} cells = MAX_CELLS {MAX_CELLS}) = "
          f"{cap / 2 ** 20:.1f} MB per stream, however large")


# ---------------------------------------------------------------------------------------------------- CPU

def cpu_section(objects: list[ListedObject], range_size: int, cells: int) -> None:
    pieces = chunks(objects, range_size)
    keys = [o.key for o in objects]
    fps = [fingerprint(o, True) for o in objects]
    khs = [key_hash(k) for k in keys]
    n = len(objects)
    Sketch.build(cells, khs[:1], fps[:1])  # the cell table for this size is made once per process
    t_fp = best_cpu(lambda: [fingerprint(o, True) for o in objects]) / n
    t_kh = best_cpu(lambda: [key_hash(k) for k in keys]) / n
    t_build = best_cpu(lambda: [Sketch.build(cells, khs[i:i + range_size], fps[i:i + range_size])
                                for i in range(0, n, range_size)]) / n
    print(f"CPU per object         fingerprint (today) {t_fp * 1e9:,.0f} ns; key hash {t_kh * 1e9:,.0f} ns; "
          f"sketch build {t_build * 1e9:,.0f} ns")
    print(f"                       key hash + build = {(t_kh + t_build) / t_fp:.0%} of the fingerprint's cost, "
          f"paid only in ranges whose count and digest differ (unchanged bucket: 0)")
    for rate in (0.01, 0.05):
        rng = random.Random(1)
        work = []
        for start, piece in zip(range(0, n, range_size), pieces):
            now = list(fps[start:start + len(piece)])
            for i in range(len(now)):
                if rng.random() < rate:
                    now[i] = fingerprint(transitioned(piece[i]), True)
            old = fps[start:start + len(piece)]
            work.append((Sketch.build(cells, khs[start:start + len(piece)], old), len(old), sum(old) & MASK64,
                         khs[start:start + len(piece)], now))
        t_rec = best_cpu(lambda: [reconcile(*w) for w in work], repeats=3) / n
        print(f"                       reconcile, {rate:.0%} changed: {t_rec * 1e9:,.0f} ns per listed object "
              f"(building the new sketch included)")


# ---------------------------------------------------------------------------------------------------- peel success

def peel_section(range_size: int, cells: int, trials: int) -> None:
    print(f"peel success, one range of {range_size} objects, {trials} trials per row "
          "(changed keys: 2 differences each; incomplete: rows sent beyond the changed ones)")
    print(f"  {'changed keys':>12} {'differences':>11} {'complete':>9} {'extra rows if incomplete':>25}")
    rng = random.Random(7)
    for changed in (1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 30):
        complete = extra = 0
        for _ in range(trials):
            khs = [rng.getrandbits(KEY_HASH_BITS) for _ in range(range_size)]
            old = [rng.getrandbits(64) for _ in range(range_size)]
            new = list(old)
            picked = set(rng.sample(range(range_size), changed))
            for i in picked:
                new[i] = rng.getrandbits(64)
            result = reconcile(Sketch.build(cells, khs, old), range_size, sum(old) & MASK64, khs, new)
            assert picked <= set(result.send)
            complete += result.complete
            extra += 0 if result.complete else len(result.send) - changed
        incomplete = trials - complete
        print(f"  {changed:>12} {2 * changed:>11} {complete / trials:>9.1%} "
              f"{(f'{extra / incomplete:.1f}' if incomplete else '-'):>25}")


# ---------------------------------------------------------------------------------------------------- scenarios

def scenario(objects: list[ListedObject], fps: list[int], khs: list[int], range_size: int, cells: int,
             changed_at: set[int], deleted_at: set[int]) -> dict[str, float]:
    """Rows sent with sketches and today, for the objects at `changed_at` transitioned and `deleted_at` gone."""
    rows = today = incomplete = deletes_counted = deletes_unknown = 0
    for start in range(0, len(objects), range_size):
        end = min(start + range_size, len(objects))
        old = fps[start:end]
        stored = Sketch.build(cells, khs[start:end], old)
        now_kh, now_fp = [], []
        for i in range(start, end):
            if i in deleted_at:
                continue
            now_kh.append(khs[i])
            now_fp.append(fingerprint(transitioned(objects[i]), True) if i in changed_at else fps[i])
        if len(now_fp) == len(old) and sum(now_fp) & MASK64 == sum(old) & MASK64:
            continue  # count and digest unchanged: no sketch is built, nothing is sent
        today += len(now_fp)
        result = reconcile(stored, len(old), sum(old) & MASK64, now_kh, now_fp)
        rows += len(result.send)
        deleted = len(old) - len(now_fp)
        if result.complete:
            assert result.deleted == deleted, (result, deleted)
            deletes_counted += deleted
        else:
            incomplete += 1
            deletes_unknown += deleted
    return {"rows": rows, "today": today, "incomplete": incomplete, "deletes_counted": deletes_counted,
            "deletes_unknown": deletes_unknown}


def scenario_section(objects: list[ListedObject], range_size: int, cells: int, seeds: int) -> None:
    fps = [fingerprint(o, True) for o in objects]
    khs = [key_hash(o.key) for o in objects]
    n = len(objects)
    ranges = -(-n // range_size)
    print(f"rows sent, {n:,} objects in {ranges:,} ranges of {range_size}, {seeds} seeds "
          "(today: every range whose digest changed is re-sent whole)")
    print(f"  {'change':<34} {'changed':>8} {'rows sent':>10} {'ratio':>6} {'today':>8} {'ratio':>6} "
          f"{'incomplete ranges':>18}")
    cases: list[tuple[str, Callable[[random.Random], tuple[set[int], set[int]]]]] = [
        ("1% scattered", lambda rng: ({i for i in range(n) if rng.random() < 0.01}, set())),
        ("5% scattered", lambda rng: ({i for i in range(n) if rng.random() < 0.05}, set())),
        ("1% clustered (one run of keys)", lambda rng: (set(range(n // 3, n // 3 + n // 100)), set())),
    ]
    for name, make in cases:
        changed = rows = today = incomplete = 0
        for seed in range(seeds):
            changed_at, deleted_at = make(random.Random(seed))
            result = scenario(objects, fps, khs, range_size, cells, changed_at, deleted_at)
            changed += len(changed_at)
            rows, today, incomplete = rows + result["rows"], today + result["today"], incomplete + result["incomplete"]
        print(f"  {name:<34} {changed / seeds:>8,.0f} {rows / seeds:>10,.0f} {rows / changed:>6.2f} "
              f"{today / seeds:>8,.0f} {today / changed:>6.1f} {incomplete / seeds:>18.1f}")
    deleted = counted = unknown = 0
    for seed in range(seeds):
        rng = random.Random(seed)
        deleted_at = {i for i in range(n) if rng.random() < 0.002}
        changed_at = {i for i in range(n) if rng.random() < 0.01} - deleted_at
        result = scenario(objects, fps, khs, range_size, cells, changed_at, deleted_at)
        deleted, counted, unknown = deleted + len(deleted_at), counted + result["deletes_counted"], \
            unknown + result["deletes_unknown"]
    print(f"deletes counted        1% changed + 0.2% deleted: {counted / seeds:,.1f} of {deleted / seeds:,.1f} deletes "
          f"counted exactly, {unknown / seeds:,.1f} in incomplete ranges (there: unknown, never wrong)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--range-size", type=int, default=250)
    parser.add_argument("--cells", type=int, help="cells per range (default: cells_for(range size))")
    parser.add_argument("--seeds", type=int, default=3, help="bucket changes simulated per scenario")
    parser.add_argument("--trials", type=int, default=300, help="ranges per row of the peel-success table")
    parser.add_argument("--seed", type=int, default=1, help="the stand-in bucket's seed")
    args = parser.parse_args()
    cells = args.cells or cells_for(args.range_size)
    objects = listed_objects(args.objects, args.seed)
    state_section(objects, args.range_size, cells)
    cpu_section(objects, args.range_size, cells)
    peel_section(args.range_size, cells, args.trials)
    scenario_section(objects, args.range_size, cells, args.seeds)


if __name__ == "__main__":
    main()
