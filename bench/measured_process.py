"""Runs one command and measures it the way the benchmark reports it: wall time, CPU and peak memory.

`os.wait4` returns the child's resource usage together with that of the processes it waited for (pipreqs, which
`fivetran debug` runs, included), so nothing has to sample memory while the run is going.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence


@dataclass
class Measurement:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    timed_out: bool
    output: str


def run_measured(command: Sequence[str], cwd: Path, env: Mapping[str, str], output_file: Path,
                 timeout_s: float) -> Measurement:
    """Runs `command` with its output (stdout and stderr together) going to `output_file`."""
    timed_out = threading.Event()
    with open(output_file, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)

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
    )
