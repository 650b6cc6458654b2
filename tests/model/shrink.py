"""Shrinking a failing scenario to the fewest rounds, then the fewest operations, that still fail the same way,
and printing it as a ready-to-paste deterministic regression test.

A candidate is kept when replaying it (runner.run_scenario, everything deterministic) still produces a failure with
the same signature (category, and the column for a column mismatch) or, when shrinking a known bug, one its
classifier recognises. Operations that no longer make sense after a removal do nothing (ops.py), so every
candidate is a valid scenario. The work is bounded by a number of replays; what is left is still a failing case.
"""
from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, Callable

from tests.model.judge import COLUMN, Failure
from tests.model.known_bugs import KNOWN_BUGS, KnownBug, classify
from tests.model.ops import BulkPut, Put, Round, Scenario, Setting
from tests.model.runner import Verdict, run_scenario

Target = Callable[[Failure], bool]


def signature(failure: Failure) -> str:
    return f"{failure.category}:{failure.facts.get('column')}" if failure.category == COLUMN else failure.category


def same_failure(failure: Failure, known: tuple[KnownBug, ...] = KNOWN_BUGS) -> Target:
    """Failures like `failure` that no known bug's classifier claims (a shrink must not drift to a known bug)."""
    wanted = signature(failure)
    return lambda other: signature(other) == wanted and classify(other, known) is None


def known_bug(bug: KnownBug) -> Target:
    return bug.matches


class Shrinker:
    def __init__(self, target: Target, budget: int = 150, log: Callable[[str], None] | None = None):
        self.target = target
        self.budget = budget
        self.replays = 0
        self.log = log or (lambda _: None)

    def fails(self, scenario: Scenario) -> bool:
        if self.replays >= self.budget:
            return False
        self.replays += 1
        verdict: Verdict = run_scenario(scenario, known=(), stop=False)
        return any(self.target(f) for f in verdict.failures)

    def shrink(self, scenario: Scenario) -> Scenario:
        current = scenario
        for step in (self._rounds, self._merge_rounds, self._ops, self._bulk_keys, self._plain_puts, self._flags,
                     self._ops):
            current = step(current)
            self.log(f"shrink {step.__name__}: {len(current.rounds)} rounds, "
                     f"{sum(len(r.ops) for r in current.rounds)} ops ({self.replays} replays)")
        return current

    def _minimal(self, items: list[Any], scenario_of: Callable[[list[Any]], Scenario | None],
                 keep_last: int = 0) -> list[Any]:
        """ddmin: remove runs of items, halving their length down to single items, keeping each removal after which
        `scenario_of(the rest)` still fails (None: not a valid candidate). The last `keep_last` items stay."""
        chunk = max(1, (len(items) - keep_last) // 2)
        while len(items) > keep_last:
            start = 0
            while start + chunk <= len(items) - keep_last:
                trial = items[:start] + items[start + chunk:]
                candidate = scenario_of(trial)
                if candidate is not None and self.fails(candidate):
                    items = trial
                else:
                    start += chunk
            if chunk == 1:
                break
            chunk //= 2
        return items

    # -- steps
    def _rounds(self, scenario: Scenario) -> Scenario:
        """Drop rounds; a dropped round's settings move to the next round kept, so later rounds keep their
        configuration. The last round (where it fails) stays."""
        def rounds_of(kept: list[int]) -> Scenario:
            rounds, settings = [], ()
            for index, round_ in enumerate(scenario.rounds):
                if index in kept:
                    rounds.append(replace(round_, ops=settings + round_.ops))
                    settings = ()
                else:
                    settings += tuple(op for op in round_.ops if isinstance(op, Setting))
            return replace(scenario, rounds=tuple(rounds))
        return rounds_of(self._minimal(list(range(len(scenario.rounds))), rounds_of, keep_last=1))

    def _merge_rounds(self, scenario: Scenario) -> Scenario:
        """Apply a round's operations together with the next round's (one sync fewer)."""
        index = len(scenario.rounds) - 2
        while index >= 0:
            rounds = list(scenario.rounds)
            rounds[index + 1] = replace(rounds[index + 1], ops=rounds[index].ops + rounds[index + 1].ops)
            del rounds[index]
            candidate = replace(scenario, rounds=tuple(rounds))
            if self.fails(candidate):
                scenario = candidate
            index -= 1
        return scenario

    def _ops(self, scenario: Scenario) -> Scenario:
        """Fewest operations in each round."""
        for index in range(len(scenario.rounds)):
            def with_ops(rest: list[Any], current: Scenario = scenario, index: int = index) -> Scenario:
                return self._with_ops(current, index, rest)
            scenario = with_ops(self._minimal(list(scenario.rounds[index].ops), with_ops))
        return scenario

    def _bulk_keys(self, scenario: Scenario) -> Scenario:
        """Fewer keys in each bulk put (never none)."""
        for index, round_ in enumerate(scenario.rounds):
            for position, op in enumerate(round_.ops):
                if not isinstance(op, BulkPut):
                    continue
                def with_keys(keys: list[str], current: Scenario = scenario, index: int = index,
                              position: int = position, op: BulkPut = op) -> Scenario | None:
                    return self._with_op(current, index, position, replace(op, keys=tuple(keys))) if keys else None
                scenario = with_keys(self._minimal(list(op.keys), with_keys)) or scenario
        return scenario

    def _plain_puts(self, scenario: Scenario) -> Scenario:
        """Puts without the details they do not need."""
        for index, round_ in enumerate(scenario.rounds):
            for position, op in enumerate(round_.ops):
                if isinstance(op, Put) and op != Put(op.bucket, op.key, op.size, op.salt, op.storage_class,
                                                      tick=op.tick, same_bytes=op.same_bytes):
                    plain = Put(op.bucket, op.key, op.size, op.salt, op.storage_class, tick=op.tick,
                                same_bytes=op.same_bytes)
                    candidate = self._with_op(scenario, index, position, plain)
                    if self.fails(candidate):
                        scenario = candidate
        return scenario

    def _flags(self, scenario: Scenario) -> Scenario:
        """Rounds without kills, state deletions and reconciliations they do not need."""
        for index in range(len(scenario.rounds)):
            for change in ({"kills": ()}, {"fresh_state": False}, {"reconcile": False}):
                name, value = next(iter(change.items()))
                if getattr(scenario.rounds[index], name) == value:
                    continue
                rounds = list(scenario.rounds)
                rounds[index] = replace(rounds[index], **change)
                candidate = replace(scenario, rounds=tuple(rounds))
                if self.fails(candidate):
                    scenario = candidate
        return scenario

    @staticmethod
    def _with_ops(scenario: Scenario, index: int, ops: list[Any]) -> Scenario:
        rounds = list(scenario.rounds)
        rounds[index] = replace(rounds[index], ops=tuple(ops))
        return replace(scenario, rounds=tuple(rounds))

    def _with_op(self, scenario: Scenario, index: int, position: int, op: Any) -> Scenario:
        ops = list(scenario.rounds[index].ops)
        ops[position] = op
        return self._with_ops(scenario, index, ops)


# -- printing a scenario as Python
def python(value: Any, indent: int = 0) -> str:
    """Python source that builds `value`: dataclasses with their non-default fields only."""
    pad = " " * indent
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = []
        for field in dataclasses.fields(value):
            current = getattr(value, field.name)
            default = field.default if field.default is not dataclasses.MISSING else (
                field.default_factory() if field.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
            if current == default:
                continue
            parts.append((field.name, current))
        name = type(value).__name__
        if isinstance(value, Round) or isinstance(value, Scenario):
            inner = ",\n".join(f"{pad}    {k}={python(v, indent + 4)}" for k, v in parts)
            return f"{name}(\n{inner})" if parts else f"{name}()"
        return f"{name}(" + ", ".join(f"{k}={python(v, indent)}" for k, v in parts) + ")"
    if isinstance(value, tuple) and value and any(dataclasses.is_dataclass(v) for v in value):
        inner = "".join(f"{pad}    {python(v, indent + 4)},\n" for v in value)
        return f"(\n{inner}{pad})"
    return repr(value)


def regression_test(name: str, scenario: Scenario, reason: str, xfail: bool = True) -> str:
    mark = f"@pytest.mark.xfail(strict=True, raises=AssertionError, reason={reason!r})\n" if xfail else ""
    return f"{mark}def test_{name}():\n    replay({python(scenario, 4)})\n"


def shrink_failure(verdict: Verdict, budget: int = 150, log: Callable[[str], None] | None = None,
                   known: tuple[KnownBug, ...] = KNOWN_BUGS) -> tuple[Scenario, str]:
    """The shrunk scenario of a failed run's first failure, and its regression test."""
    failure = verdict.failures[0]
    shrinker = Shrinker(same_failure(failure, known), budget, log)
    shrunk = shrinker.shrink(verdict.scenario)
    name = f"seed_{verdict.scenario.seed}_{signature(failure).replace(':', '_')}"
    reason = f"model test seed {verdict.scenario.seed}: {failure.describe()}"
    return shrunk, regression_test(name, shrunk, reason if len(reason) < 160 else reason[:157] + "...")
