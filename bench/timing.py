"""Time whole processes, the way a user runs them: several runs, median and best; and their
CPU time and peak memory, for several code trees side by side (:func:`rounds`)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


# -- CPU time and peak memory of whole processes, side by side ---------------------------
#
# Wall time is noisy on a shared machine; the CPU time (user + system) and the peak resident
# memory of each child process, read with os.wait4, are not (much). Every measure is taken
# for each code tree in turn within one round, and rounds repeat, so that a busy moment
# hits all of them alike.


@dataclass(frozen=True)
class Sample:
    cpu: float
    """User + system CPU seconds of the process."""
    rss_mb: float
    """Peak resident memory, MB."""
    wall: float


@dataclass(frozen=True)
class Code:
    """A tree of opsctl's code to run: this working tree, or a git revision extracted under bench/_work."""

    name: str
    path: Path

    def argv(self, *args: str) -> list[str]:
        return [PYTHON, "-m", "opsctl", *args]

    def env(self, cache: Path | None = None) -> dict[str, str]:
        env = os.environ | {"PYTHONPATH": str(self.path), "OPSCTL_CACHE_DIR": str(cache or self.cache)}
        env.pop("OPSCTL_ROOT", None)
        return env

    @property
    def cache(self) -> Path:
        return WORK / f"cache-{self.name}"


def this_tree() -> Code:
    return Code("branch", ROOT)


def revision(rev: str) -> Code:
    """``rev`` of this repository, extracted once into bench/_work/rev-<commit>."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True)
    short = commit.stdout.strip()
    target = WORK / f"rev-{short}"
    if not (target / "opsctl").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", short], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return Code(rev, target)


def measure(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Run ``argv`` once (in ``cwd``: `python -m` imports from there first); its CPU time and
    peak RSS come from the kernel's accounting of that child alone."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in (0, 1):
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {child.returncode}: {errors.read().decode(errors='replace')[-2000:]}")
    return Sample(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, wall)


@dataclass
class Measure:
    """One command line, measured for each code tree; ``before`` runs ahead of every sample (e.g. empties a cache)."""

    label: str
    args: Callable[[Code], list[str]]
    before: Callable[[Code], None] | None = None
    samples: dict[str, list[Sample]] = field(default_factory=dict)


def rounds(measures: Sequence[Measure], codes: Sequence[Code], runs: int) -> list[Sample]:
    """Run every measure for every code tree, ``runs`` rounds; returns `python -c pass` measured alongside."""
    bare: list[Sample] = []
    for _ in range(runs):
        bare.append(measure([PYTHON, "-c", "pass"]))
        for item in measures:
            for code in codes:
                if item.before is not None:
                    item.before(code)
                item.samples.setdefault(code.name, []).append(measure(item.args(code), code.env(), code.path))
    return bare


def spread(values: Sequence[float], fmt: str) -> str:
    """The median with the range of the runs: ``1.23 (1.20–1.31)``."""
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def print_table(measures: Sequence[Measure], codes: Sequence[Code], bare: Sequence[Sample]) -> None:
    base = statistics.median(s.cpu for s in bare)
    print(f"{'python -c pass':<58} CPU {spread([s.cpu for s in bare], '.3f')} s")
    print(f"{'measure':<46}{'code':>12}  {'CPU s, median (range)':<24}{'× python':>9}  {'peak RSS MB':<22}{'wall s':>8}")
    for item in measures:
        for code in codes:
            samples = item.samples[code.name]
            cpu = [s.cpu for s in samples]
            print(
                f"{item.label:<46}{code.name:>12}  {spread(cpu, '.2f'):<24}{statistics.median(cpu) / base:>8.1f}×  "
                f"{spread([s.rss_mb for s in samples], '.0f'):<22}{statistics.median(s.wall for s in samples):>8.2f}"
            )
    print(f"({len(bare)} rounds; each round runs every line once, in this order)")
