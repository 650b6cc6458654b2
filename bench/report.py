"""The benchmark's one result table, as aligned text for the terminal and as JSON for keeping."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

LIST_OPERATIONS = ("ListObjectsV2",)
HEAD_OPERATIONS = ("HeadObject",)
REQUEST_OPERATIONS = ("ListObjectsV2", "HeadObject", "HeadBucket", "ListObjectVersions", "GetBucketVersioning",
                      "GetBucketLocation", "ListBucketIntelligentTieringConfigurations", "other")


@dataclass
class Row:
    """One run of one connector. Derived figures are per object in the bucket, not per row written, so that a full
    and an incremental sync of the same bucket can be compared."""

    connector: str
    run: str
    ok: bool
    objects: int
    requests: dict[str, int] = field(default_factory=dict)
    wall_s: Optional[float] = None
    sync_s: Optional[float] = None
    rows_upserted: Optional[int] = None
    peak_rss_mb: Optional[float] = None
    cpu_s: Optional[float] = None
    server_cpu_s: Optional[float] = None
    startup_cpu_s: Optional[float] = None  # the same command's CPU on an empty bucket: CLI start-up and shut-down
    throttled_s: Optional[float] = None  # time the production mode's CPU quota held the run back
    errors_injected: int = 0
    note: str = ""

    @property
    def list_requests(self) -> int:
        return sum(self.requests.get(op, 0) for op in LIST_OPERATIONS)

    @property
    def head_requests(self) -> int:
        return sum(self.requests.get(op, 0) for op in HEAD_OPERATIONS)

    @property
    def other_requests(self) -> int:
        return sum(self.requests.get(op, 0) for op in REQUEST_OPERATIONS) - self.list_requests - self.head_requests

    @property
    def requests_per_object(self) -> Optional[float]:
        return _per_object(sum(self.requests.get(op, 0) for op in REQUEST_OPERATIONS), self.objects)

    @property
    def objects_per_s(self) -> Optional[float]:
        return self.objects / self.wall_s if self.wall_s else None

    @property
    def cpu_us_per_object(self) -> Optional[float]:
        return _per_object(self.cpu_s * 1e6, self.objects) if self.cpu_s is not None else None

    @property
    def net_cpu_us_per_object(self) -> Optional[float]:
        """CPU per object with the fixed start-up taken out: what a bigger bucket costs per object."""
        if self.cpu_s is None or self.startup_cpu_s is None:
            return None
        return _per_object((self.cpu_s - self.startup_cpu_s) * 1e6, self.objects)

    @property
    def list_per_1000_objects(self) -> Optional[float]:
        return _per_object(self.list_requests * 1000, self.objects)

    def as_json(self) -> dict:
        return {**asdict(self), "list_requests": self.list_requests, "head_requests": self.head_requests,
                "other_requests": self.other_requests, "requests_per_object": self.requests_per_object,
                "objects_per_s": self.objects_per_s, "cpu_us_per_object": self.cpu_us_per_object,
                "net_cpu_us_per_object": self.net_cpu_us_per_object,
                "list_per_1000_objects": self.list_per_1000_objects}


def _per_object(total: float, objects: int) -> Optional[float]:
    return total / objects if objects else None


def _number(digits: int) -> Callable[[Optional[float]], str]:
    return lambda value: "-" if value is None else f"{value:,.{digits}f}"


COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    ("connector", lambda r: r.connector),
    ("run", lambda r: r.run),
    ("wall s", lambda r: _number(1)(r.wall_s) if r.ok else "FAILED"),
    ("sync s", lambda r: _number(1)(r.sync_s)),
    ("objects/s", lambda r: _number(0)(r.objects_per_s) if r.ok else "-"),
    ("LIST", lambda r: str(r.list_requests)),
    ("HEAD", lambda r: str(r.head_requests)),
    ("other", lambda r: str(r.other_requests)),
    ("req/object", lambda r: _number(4)(r.requests_per_object)),
    ("rows upserted", lambda r: "-" if r.rows_upserted is None else f"{r.rows_upserted:,}"),
    ("peak RSS MB", lambda r: _number(1)(r.peak_rss_mb)),
    ("CPU s", lambda r: _number(2)(r.cpu_s)),
    ("CPU µs/object", lambda r: _number(1)(r.cpu_us_per_object)),
    ("w/o start-up", lambda r: _number(1)(r.net_cpu_us_per_object)),
    ("throttled s", lambda r: _number(1)(r.throttled_s)),
]
NUMERIC_FROM = 2


def format_table(rows: list[Row]) -> str:
    cells = [[name for name, _ in COLUMNS]] + [[render(row) for _, render in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if i >= NUMERIC_FROM else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    notes = [f"  {row.connector}/{row.run}: {row.note}" for row in rows if row.note]
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:]), *(["notes:", *notes] if notes else [])])


def write_json(rows: list[Row], settings: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"settings": settings, "rows": [r.as_json() for r in rows]}, indent=2))
    return path
