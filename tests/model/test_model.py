"""The model-based randomized test: a few seeds for a bounded number of rounds on every `make test`.

Each seed builds its own world (two buckets, versioned or not, one region or two, AWS-like listing RestoreStatus or
not, small list pages and checkpoints) and plays random rounds against the real connector: operations of every
kind, settings changed between syncs, kills, deleted states, reconciliations, event mode. After every successful
sync the tables must equal S3 and no unchanged row may be sent again (judge.py). Known open bugs are tolerated only
through their narrow classifiers (known_bugs.py); anything else fails with the seed, the round, the shrunk
operations and the command that replays it. `make soak SEED=... ROUNDS=...` runs longer.
"""
from __future__ import annotations

import contextlib
import io
import os

import pytest

from tests.model.runner import run_seed
from tests.model.shrink import python, shrink_failure
from tests.model.soak import replay_command

SEEDS = (1, 2, 3, 5, 8, 13)
ROUNDS = int(os.environ.get("MODEL_ROUNDS", "12"))
SHRINK_BUDGET = int(os.environ.get("MODEL_SHRINK_BUDGET", "40"))


def _quietly(function, *args, **kwargs):
    """The SDK runner prints every sync's log; a failure message carries what matters."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_rounds_keep_the_tables_equal_to_s3(seed):
    verdict = _quietly(run_seed, seed, ROUNDS)
    if not verdict.failed:
        return
    played = len(verdict.scenario.rounds)
    shrunk, test = _quietly(shrink_failure, verdict, SHRINK_BUDGET)
    pytest.fail(f"seed {seed}, round {verdict.failures[0].round}:\n{verdict.describe()}\n\n"
                f"replay: {replay_command(seed, played)}\n"
                f"shrunk ({len(shrunk.rounds)} rounds):\n{python(shrunk.rounds)}\n\n"
                f"regression test (tests/model/test_regressions.py):\n{test}", pytrace=False)


def test_a_seed_replays_the_same_operations_and_verdict():
    first = _quietly(run_seed, 21, 4)
    second = _quietly(run_seed, 21, 4)
    assert first.scenario == second.scenario
    assert [f.describe() for f in first.failures] == [f.describe() for f in second.failures]
    assert [(name, f.describe()) for name, f in first.known] == [(name, f.describe()) for name, f in second.known]
