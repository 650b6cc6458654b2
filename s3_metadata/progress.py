"""What a listing pass says while it runs: one line at least every PROGRESS_SECONDS, never one per object.

A pass over a large bucket lists for hours; without a line between "new pass" and "pass complete" a user cannot tell
a slow sync from a stuck one. The line gives what was listed and at what rate, the rows sent and HEADs made, how many
of the ranges the previous pass left are done, and so, from the previous pass's object count, about how long is left.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

PROGRESS_SECONDS = 30.0


@dataclass(frozen=True)
class Snapshot:
    """The pass's counts at one moment. `ranges_total` / `objects_total`: what the previous pass left (0: unknown)."""

    listed: int
    sent: int
    heads: int
    ranges_done: int
    ranges_total: int
    objects_total: int


def progress_line(snapshot: Snapshot, elapsed: float) -> str:
    """One progress line; the time left is estimated from the listing rate and the previous pass's object count."""
    rate = snapshot.listed / elapsed if elapsed > 0 else 0.0
    parts = [f"listing: {snapshot.listed:,} objects listed in {elapsed:.0f}s ({rate:,.0f}/s)",
             f"{snapshot.sent:,} rows sent", f"{snapshot.heads:,} HEADs"]
    if snapshot.ranges_total:
        parts.append(f"{snapshot.ranges_done:,} of {snapshot.ranges_total:,} key ranges done")
    if snapshot.objects_total and rate > 0:
        left = max(0, snapshot.objects_total - snapshot.listed) / rate
        parts.append(f"about {_duration(left)} left")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Logs `progress_line` when PROGRESS_SECONDS have passed since the last line (or the start); thread-safe."""

    def __init__(self, log: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                 every: float | None = None):
        self._log = log
        self._clock = clock
        self._every = PROGRESS_SECONDS if every is None else every
        self._started = clock()
        self._last = self._started
        self._lock = threading.Lock()

    def maybe(self, snapshot: Callable[[], Snapshot]) -> None:
        now = self._clock()
        with self._lock:
            if now - self._last < self._every:
                return
            self._last = now
        self._log(progress_line(snapshot(), now - self._started))
