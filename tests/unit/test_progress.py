"""The progress lines of a listing pass (s3_metadata/progress.py)."""
from __future__ import annotations

import pytest

from s3_metadata.progress import Progress, Snapshot, progress_line


@pytest.mark.parametrize("snapshot, elapsed, expected", [
    pytest.param(Snapshot(30_000, 12, 3, 120, 400, 100_000), 30.0,
                 "listing: 30,000 objects listed in 30s (1,000/s), 12 rows sent, 3 HEADs, 120 of 400 key ranges "
                 "done, about 70s left", id="with-a-previous-pass"),
    pytest.param(Snapshot(30_000, 30_000, 0, 0, 0, 0), 60.0,
                 "listing: 30,000 objects listed in 60s (500/s), 30,000 rows sent, 0 HEADs", id="first-pass"),
    pytest.param(Snapshot(10, 0, 0, 0, 4, 10_000_000), 30.0,
                 "listing: 10 objects listed in 30s (0/s), 0 rows sent, 0 HEADs, 0 of 4 key ranges done, about "
                 "8333.3 h left", id="hours"),
    pytest.param(Snapshot(0, 0, 0, 0, 4, 1000), 30.0,
                 "listing: 0 objects listed in 30s (0/s), 0 rows sent, 0 HEADs, 0 of 4 key ranges done",
                 id="nothing-listed-yet-no-estimate"),
    pytest.param(Snapshot(120_000, 0, 0, 0, 4, 100_000), 60.0,
                 "listing: 120,000 objects listed in 60s (2,000/s), 0 rows sent, 0 HEADs, 0 of 4 key ranges done, "
                 "about 0s left", id="more-than-last-time"),
    pytest.param(Snapshot(100_000, 0, 0, 0, 4, 400_000), 100.0,
                 "listing: 100,000 objects listed in 100s (1,000/s), 0 rows sent, 0 HEADs, 0 of 4 key ranges done, "
                 "about 5 min left", id="minutes"),
])
def test_progress_line(snapshot, elapsed, expected):
    assert progress_line(snapshot, elapsed) == expected


def test_progress_logs_at_most_once_per_period():
    now = [0.0]
    lines: list[str] = []
    progress = Progress(lines.append, clock=lambda: now[0], every=30.0)
    snapshot = lambda: Snapshot(1, 0, 0, 0, 0, 0)  # noqa: E731
    for t in (1.0, 29.9, 30.0, 45.0, 59.9, 60.1):
        now[0] = t
        progress.maybe(snapshot)
    assert len(lines) == 2 and lines[0].startswith("listing: 1 objects listed in 30s")
