"""`opsctl whoisoncall` on the example org as a whole process, beside `python -c pass` in the
same run (goal: median at most 6x the bare interpreter), and a full year resolved for the
synthetic large org in-process (goal: under 1 s).
Then, at 1×/3×/10× the org beside main, whoisoncall (all; one team at +30d) and schedule.

    python bench/whoisoncall_bench.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from generate_org import generate
from scale_bench import add_arguments, scale_table
from timing import OPSCTL, PYTHON, ROOT, WORK, report, time_command


def resolve_year(root: str) -> tuple[float, float, int]:
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import load_working_tree
    from opsctl.system.environment import cache_folder, current
    from opsctl.system.holidays import default_calendar

    start = time.perf_counter()
    org = load_working_tree(root).require_ok()
    loaded = time.perf_counter()
    calendar = default_calendar(Path(cache_folder(current())))
    engine = Engine(org, calendar)
    begin = datetime(2026, 1, 1, tzinfo=UTC)
    slots = sum(len(engine.slots(rotation, begin, begin + timedelta(days=365))) for rotation in org.rotations)
    done = time.perf_counter()
    calendar.save()
    return loaded - start, done - loaded, slots


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    add_arguments(parser, runs=3)
    args = parser.parse_args()
    env = os.environ | {"OPSCTL_CACHE_DIR": str(WORK / "cache")}
    base = [OPSCTL, "--root", str(ROOT), "whoisoncall"]
    time_command(base, 2, env)  # warm the holiday cache and compile the answers
    bare = report("python -c pass", time_command([PYTHON, "-c", "pass"], args.runs))
    figures = {
        "piped (plain columns)": report("opsctl whoisoncall, piped (plain), example org", time_command(base, args.runs, env)),
        "--format json": report("opsctl whoisoncall --format json", time_command([*base, "--format", "json"], args.runs, env)),
        "--format table (rich)": report(
            "opsctl whoisoncall --format table (rich)", time_command([*base, "--format", "table"], args.runs, env)
        ),
        "full path, no cache": report(
            "opsctl whoisoncall --at now (full path, no cache)",
            time_command([*base, "--at", "now", "--format", "json"], args.runs, env),
        ),
    }
    print(
        "ratio to python -c pass: "
        + ", ".join(f"{name} {value / bare:.1f}x" for name, value in figures.items())
        + " (goal: at most 6x)"
    )
    large = WORK / "large"
    if not (large / "ownership.yaml").exists():
        generate(large)
    os.environ["OPSCTL_CACHE_DIR"] = str(WORK / "cache")
    resolve_year(str(large))  # fill the holiday cache
    best = min((resolve_year(str(large)) for _ in range(3)), key=lambda r: r[1])
    print(
        f"large org: load {best[0] * 1000:.0f} ms, "
        f"a full year of 50 rotations resolved in {best[1] * 1000:.0f} ms ({best[2]} slots)"
    )

    print("at 1×, 3× and 10× the synthetic org (CPU s and peak MB per process, beside --against):")
    scale_table(args, {"whoisoncall", "team", "schedule"})


if __name__ == "__main__":
    main()
