"""When a sync commits its progress, and what it can say about it when it fails.

A checkpoint commits every row sent before it together with the state that says where to resume, so it is
taken every CHECKPOINT_EVERY objects (on large buckets every 1/CHECKPOINTS_PER_PASS of a pass, since each encodes
the whole state) and at least every CHECKPOINT_SECONDS of sync: a sync that fails late
(an endpoint that stops answering, credentials revoked) keeps nearly all its work, and a slow HEAD-heavy sync
commits even when it never reaches an object count. A state equal to the last one committed is not sent
again. The failure message of a sync says whether this sync committed anything.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from s3_metadata.sink import Sink

CHECKPOINT_EVERY = 10_000
CHECKPOINT_SECONDS = 60.0
# A pass over a large bucket checkpoints about this many times by object count (and still every CHECKPOINT_SECONDS):
# each checkpoint encodes every key range of the state, so checkpoints every CHECKPOINT_EVERY objects would make a
# pass cost grow with the square of the bucket (at 1,000,000 objects: 100 checkpoints of 86 ms, 8.6 µs per object).
CHECKPOINTS_PER_PASS = 20


class Checkpointer:
    """Decides when to checkpoint; `snapshot` must be called under `lock`, which guards the state."""

    def __init__(self, sink: Sink, snapshot: Callable[[], dict[str, Any]], lock: threading.Lock,
                 clock: Callable[[], float] = time.monotonic, every_objects: int | None = None,
                 every_seconds: float | None = None):
        self._sink = sink
        self._snapshot = snapshot
        self._lock = lock
        self._clock = clock
        self._every_objects = every_objects or CHECKPOINT_EVERY
        self._every_seconds = every_seconds if every_seconds is not None else CHECKPOINT_SECONDS
        self._commit_lock = threading.Lock()
        self._objects = 0
        self._total = 0
        self._last_time = clock()
        self._last: dict[str, Any] | None = None
        self.committed = 0
        self.committed_at: datetime | None = None

    def scale_to(self, objects: int) -> None:
        """Space the count-based checkpoints for a pass over about `objects` objects: every CHECKPOINT_EVERY objects,
        or every 1/CHECKPOINTS_PER_PASS of the pass when that is more (time-based ones stay as they are)."""
        self._every_objects = max(self._every_objects, objects // CHECKPOINTS_PER_PASS)

    def add(self, objects: int) -> None:
        """Count objects whose rows are sent (caller holds `lock`)."""
        self._objects += objects
        self._total += objects

    def due(self) -> bool:
        """Whether a checkpoint is due by object count or by time (caller holds `lock`).

        By count: every `_every_objects`, and never more often than every 1/CHECKPOINTS_PER_PASS of what this sync
        has sent so far. A first pass does not know its size (scale_to had nothing to go by), and each checkpoint
        encodes the whole state, which grows with the pass: at a fixed 10,000 objects, a first pass over 10,000,000
        objects made 1,000 checkpoints of up to 6 MB each, more CPU than the listing itself. Growing with the pass
        (each waits for 5% more) makes about 100 there; the time-based ones (every CHECKPOINT_SECONDS) still bound
        what a kill loses."""
        every = max(self._every_objects, self._total // CHECKPOINTS_PER_PASS)
        return self._objects >= every or self._clock() - self._last_time >= self._every_seconds

    def maybe(self) -> None:
        with self._lock:
            due = self.due()
        if due:
            self.commit()

    def commit(self) -> None:
        """Checkpoint now, unless the state is the one last committed."""
        with self._commit_lock:
            with self._lock:
                snapshot = self._snapshot()
                self._objects = 0
                self._last_time = self._clock()
                if snapshot == self._last:
                    return
                self._last = snapshot
            self._sink.checkpoint(snapshot)
            self.committed += 1
            self.committed_at = datetime.now(timezone.utc)

    def failure_note(self) -> str:
        """One sentence for a failure message: what of this sync is kept."""
        if self.committed and self.committed_at is not None:
            return (f"This sync committed {self.committed} checkpoint(s), the last at "
                    f"{self.committed_at.strftime('%Y-%m-%d %H:%M:%S')} UTC; the next sync resumes from it.")
        return ("This sync committed no checkpoint; the next sync starts again from the state this one started "
                "with, and nothing already in the destination is lost.")
