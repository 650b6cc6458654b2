"""Prints how the differential tests' generated examples came out (tests/differential/budget.py)."""
from __future__ import annotations

from typing import Any

from tests.differential.budget import OUTCOMES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("differential examples")
    tests = sorted({test for test, _ in OUTCOMES})
    for test in tests:
        counts = {outcome: n for (name, outcome), n in OUTCOMES.items() if name == test}
        shown = ", ".join(f"{outcome}: {n}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{test}: {sum(counts.values())} examples ({shown})")
    terminalreporter.write_line(f"total: {sum(OUTCOMES.values())} examples")
