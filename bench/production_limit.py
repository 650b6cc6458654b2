"""Fivetran's production envelope for a Connector SDK connector, on this machine: half a CPU and 1 GB.

`Envelope.create()` makes a control group that caps CPU at 50 ms per 100 ms period and memory at 1 GiB, and
`Envelope.enter()` (run in the measured child between fork and exec, so every process it starts is inside too)
moves a process into it. cgroup v2 is used where its `cpu` and `memory` controllers are available; otherwise
cgroup v1's `cpu` and `memory` hierarchies. The groups are made below the benchmark's own groups (never above,
so any limit the machine already places on the benchmark still holds) and removed afterwards. Where neither
works (not root, no controllers, a container that hides them), `create()` raises `Unavailable` saying why,
and the benchmark says so and measures without the limit.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

CPU_PERIOD_US = 100_000
CPU_QUOTA_US = 50_000
MEMORY_BYTES = 1 << 30
CGROUP_ROOT = Path("/sys/fs/cgroup")


class Unavailable(Exception):
    """The machine does not let the benchmark limit a process's CPU and memory."""


@dataclass
class Envelope:
    """The control group(s) one measured run goes into."""

    version: int
    groups: list[Path]  # v2: one group; v1: the cpu group, then the memory group
    description: str
    _entered: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls, name: Optional[str] = None) -> "Envelope":
        name = name or f"s3-metadata-bench-{os.getpid()}-{time.monotonic_ns()}"
        reasons = []
        for make in (_v2, _v1):
            try:
                return make(name)
            except Unavailable as reason:
                reasons.append(str(reason))
        raise Unavailable("; ".join(reasons))

    def enter(self) -> None:
        """Move the calling process into the group(s). Runs in the child before exec: no allocation-heavy work."""
        for group in self.groups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    def cpu_stats(self) -> dict[str, float]:
        """How often and how long the CPU quota held the group back."""
        stat = _key_values(self.groups[0] / "cpu.stat")
        if self.version == 2:
            return {"throttled_periods": stat.get("nr_throttled", 0),
                    "throttled_s": stat.get("throttled_usec", 0) / 1e6}
        return {"throttled_periods": stat.get("nr_throttled", 0), "throttled_s": stat.get("throttled_time", 0) / 1e9}

    def memory_peak_mb(self) -> Optional[float]:
        """The group's peak memory (resident and page cache), where the kernel reports it."""
        memory = self.groups[-1]
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            if (memory / name).exists():
                return int((memory / name).read_text()) / (1 << 20)
        return None

    def remove(self) -> None:
        """Remove the groups (their processes have exited; a group must be empty to go)."""
        for group in self.groups:
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _v2(name: str) -> Envelope:
    mount = _cgroup2_mount()
    if mount is None:
        raise Unavailable("no cgroup v2 hierarchy is mounted")
    relative = next((line.split("::", 1)[1] for line in Path("/proc/self/cgroup").read_text().splitlines()
                     if line.startswith("0::")), "/")
    parent = mount / relative.lstrip("/")
    available = set((parent / "cgroup.controllers").read_text().split()) if (parent / "cgroup.controllers").exists() \
        else set()
    if not {"cpu", "memory"} <= available:
        raise Unavailable(f"cgroup v2 at {parent} offers controllers {sorted(available) or 'none'}, not cpu and memory")
    try:
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        if not {"cpu", "memory"} <= enabled:
            (parent / "cgroup.subtree_control").write_text("+cpu +memory")
        group = parent / name
        group.mkdir()
        (group / "cpu.max").write_text(f"{CPU_QUOTA_US} {CPU_PERIOD_US}")
        (group / "memory.max").write_text(str(MEMORY_BYTES))
    except OSError as error:
        raise Unavailable(f"cgroup v2 at {parent} refused a child group: {error}") from None
    return Envelope(2, [group], f"cgroup v2 {group}: cpu.max {CPU_QUOTA_US} {CPU_PERIOD_US}, memory.max 1 GiB")


def _v1(name: str) -> Envelope:
    own = _v1_memberships()
    groups = []
    try:
        for controller, setting in (("cpu", {"cpu.cfs_period_us": CPU_PERIOD_US, "cpu.cfs_quota_us": CPU_QUOTA_US}),
                                    ("memory", {"memory.limit_in_bytes": MEMORY_BYTES})):
            hierarchy = _v1_hierarchy(controller)
            if hierarchy is None or controller not in own:
                raise Unavailable(f"no cgroup v1 {controller} hierarchy is mounted")
            group = hierarchy / own[controller].lstrip("/") / name
            group.mkdir()
            groups.append(group)
            for file, value in setting.items():
                (group / file).write_text(str(value))
    except OSError as error:
        for group in groups:
            group.rmdir()
        raise Unavailable(f"cgroup v1 refused a child group: {error}") from None
    except Unavailable:
        for group in groups:
            group.rmdir()
        raise
    return Envelope(1, groups, f"cgroup v1 {groups[0]} (cpu.cfs_quota_us {CPU_QUOTA_US} per {CPU_PERIOD_US}) and "
                               f"{groups[1]} (memory.limit_in_bytes 1 GiB)")


def _cgroup2_mount() -> Optional[Path]:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "cgroup2":
            return Path(parts[1])
    return None


def _v1_hierarchy(controller: str) -> Optional[Path]:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == "cgroup" and controller in parts[3].split(","):
            return Path(parts[1])
    return None


def _v1_memberships() -> dict[str, str]:
    """controller -> this process's group path, from /proc/self/cgroup's v1 lines (`4:memory:/path`)."""
    memberships = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                memberships[controller] = path
    return memberships


def _key_values(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values
