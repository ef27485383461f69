"""Time whole processes, the way a user runs them: several runs, median and best."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).parent
ROOT = BENCH.parent
WORK = BENCH / "_work"
PYTHON = sys.executable
OPSCTL = str(Path(PYTHON).with_name("opsctl"))


def time_command(argv: Sequence[str], runs: int, env: dict[str, str] | None = None, *, before: object = None) -> list[float]:
    timings = []
    for _ in range(runs):
        if callable(before):
            before()
        start = time.perf_counter()
        done = subprocess.run(argv, env=env or os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        timings.append(time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return timings


def report(label: str, timings: list[float]) -> float:
    median = statistics.median(timings)
    print(f"{label:<58} median {median * 1000:8.1f} ms   best {min(timings) * 1000:8.1f} ms   ({len(timings)} runs)")
    return median
