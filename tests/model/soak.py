"""`make soak SEED=... ROUNDS=...` (or SEEDS="1 2 3"): the model test for longer, from the command line.

    python -m tests.model.soak --seed 7 --rounds 200
    python -m tests.model.soak --seeds 1-50 --rounds 100 --shrink

Prints one line per seed (rounds, syncs, known open bugs met by classifier); on a failure, the failures, the exact
command that replays it, and with --shrink the shrunk scenario as a ready-to-paste regression test. Exits 1 when
any seed failed. `--known-too` also shrinks the first case of every known open bug met (to refresh their tests).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def seeds_of(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.replace(",", " ").split():
        if "-" in part:
            low, high = part.split("-", 1)
            seeds.extend(range(int(low), int(high) + 1))
        else:
            seeds.append(int(part))
    return seeds


def replay_command(seed: int, rounds: int) -> str:
    return f"make soak SEED={seed} ROUNDS={rounds}"


def main(argv: list[str] | None = None) -> int:
    from tests.model.known_bugs import KNOWN_BUGS
    from tests.model.runner import run_seed
    from tests.model.shrink import Shrinker, known_bug, regression_test, shrink_failure

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--seeds", default="")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--shrink", action="store_true", help="shrink a failure to a regression test")
    parser.add_argument("--budget", type=int, default=200, help="most replays one shrink may take")
    parser.add_argument("--known-too", action="store_true", help="also shrink the first case of each known bug")
    parser.add_argument("--stats", action="store_true", help="print what each seed exercised")
    parser.add_argument("--quiet-sdk", action="store_true", default=True)
    args = parser.parse_args(argv)
    seeds = ([args.seed] if args.seed is not None else []) + seeds_of(args.seeds)
    if not seeds:
        parser.error("give --seed or --seeds")
    failed = 0
    total_rounds = 0
    for seed in seeds:
        started = time.monotonic()
        sdk_output = io.StringIO()
        try:
            with contextlib.redirect_stdout(sdk_output) if args.quiet_sdk else contextlib.nullcontext():
                verdict = run_seed(seed, args.rounds)
        except Exception:  # the model itself broke: say so, and go on with the next seed
            failed += 1
            print(f"seed {seed}: the model test raised\n{traceback.format_exc()}", flush=True)
            continue
        played = len(verdict.scenario.rounds)
        total_rounds += played
        known = Counter(name for name, _ in verdict.known)
        print(f"seed {seed}: {'FAILED' if verdict.failed else 'ok'} after {played} rounds, {verdict.syncs} syncs, "
              f"{time.monotonic() - started:.0f}s; known open bugs met: {dict(known) or 'none'}; "
              f"{verdict.scenario.spec}", flush=True)
        if args.stats:
            print("  " + ", ".join(f"{name}: {count}" for name, count in sorted(verdict.stats.items())), flush=True)
        if verdict.failed:
            failed += 1
            print(verdict.describe(), flush=True)
            print(f"replay: {replay_command(seed, played)}", flush=True)
            if args.shrink:
                with contextlib.redirect_stdout(io.StringIO()):
                    shrunk, test = shrink_failure(verdict, args.budget)
                print(f"shrunk to {len(shrunk.rounds)} rounds, {sum(len(r.ops) for r in shrunk.rounds)} ops; "
                      f"regression test:\n{test}", flush=True)
        if args.known_too:
            for bug in KNOWN_BUGS:
                case = next((f for name, f in verdict.known if name == bug.name), None)
                if case is None:
                    continue
                scenario = verdict.scenario
                scenario = type(scenario)(scenario.seed, scenario.spec, scenario.rounds[:case.round + 1])
                with contextlib.redirect_stdout(io.StringIO()):
                    shrunk = Shrinker(known_bug(bug), args.budget).shrink(scenario)
                print(regression_test(bug.name.replace("-", "_"), shrunk, bug.description), flush=True)
    print(f"{len(seeds)} seeds, {total_rounds} rounds, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
