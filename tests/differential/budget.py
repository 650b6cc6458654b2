"""How many examples each differential test generates, and what became of them.

`make test` runs a fixed number per test, derandomized (the same examples on every run and machine, so CI is
deterministic and takes seconds). `make differential` runs DIFFERENTIAL_EXAMPLES per test (default in the
Makefile), randomized, for the long local runs; a failure prints the example and hypothesis's reproduction
blob. Every test records how each example came out (`record`), and the totals are printed at the end of the run
(tests/differential/conftest.py), which is how the count of examples run is reported.
"""
from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable

from hypothesis import HealthCheck, settings

LONG_RUN = os.environ.get("DIFFERENTIAL_EXAMPLES")
OUTCOMES: Counter[tuple[str, str]] = Counter()


def budget(ci_examples: int) -> Callable[[Any], Any]:
    """The settings of a differential test: `ci_examples` derandomized examples, or DIFFERENTIAL_EXAMPLES random
    ones in a long run. No deadline (a loaded machine must not fail a test) and no example database (nothing is
    written to the repository)."""
    common = dict(deadline=None, database=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much, HealthCheck.large_base_example])
    if LONG_RUN:
        return settings(max_examples=int(LONG_RUN), derandomize=False, **common)
    return settings(max_examples=ci_examples, derandomize=True, **common)


def record(test: str, outcome: str) -> None:
    """Count one example of `test` as `outcome` (e.g. "equal", "declined", "both refuse")."""
    OUTCOMES[(test, outcome)] += 1
