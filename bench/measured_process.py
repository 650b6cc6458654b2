"""Runs one command and measures it the way the benchmark reports it: wall time, CPU and peak memory.

`os.wait4` returns the child's resource usage together with that of the processes it waited for (pipreqs, which
`fivetran debug` runs, included), so nothing has to sample memory while the run is going. With an `Envelope`
(production_limit.py) the child enters its control group before it execs, so the limit covers everything it runs.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from production_limit import Envelope


@dataclass
class Measurement:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    timed_out: bool
    output: str
    throttled_s: Optional[float] = None  # time the CPU quota held the run back (production mode)


def run_measured(command: Sequence[str], cwd: Path, env: Mapping[str, str], output_file: Path,
                 timeout_s: float, envelope: Optional[Envelope] = None) -> Measurement:
    """Runs `command` with its output (stdout and stderr together) going to `output_file`, inside `envelope`'s
    control group when one is given."""
    timed_out = threading.Event()
    with open(output_file, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=envelope.enter if envelope else None)

        def kill() -> None:
            timed_out.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # tells Popen the child is already reaped
    return Measurement(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        timed_out=timed_out.is_set(),
        output=output_file.read_text(encoding="utf-8", errors="replace"),
        throttled_s=envelope.cpu_stats()["throttled_s"] if envelope else None,
    )
