"""`opsctl validate` as a whole process on the example org and on the synthetic large org,
beside `python -c pass` in the same run for scale. Goal: under 1 s for the large org.
Then, at 1×/3×/10× the org beside main, CPU time and peak memory of validate cold and after an edit.

    python bench/validate_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil

from generate_org import generate
from scale_bench import add_arguments, scale_table
from timing import OPSCTL, PYTHON, ROOT, WORK, report, time_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    add_arguments(parser, runs=3)
    args = parser.parse_args()
    large = WORK / "large"
    if not (large / "ownership.yaml").exists():
        generate(large)
    cache = WORK / "cache"
    env = os.environ | {"OPSCTL_CACHE_DIR": str(cache)}

    def cold() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    report("python -c pass", time_command([PYTHON, "-c", "pass"], args.runs))
    report(
        "opsctl validate, example org, cold holiday cache",
        time_command([OPSCTL, "--root", str(ROOT), "validate"], args.runs, env, before=cold),
    )
    report("opsctl validate, example org, warm cache", time_command([OPSCTL, "--root", str(ROOT), "validate"], args.runs, env))
    report(
        "opsctl validate, large org, cold holiday cache",
        time_command([OPSCTL, "--root", str(large), "validate"], args.runs, env, before=cold),
    )
    report("opsctl validate, large org, warm cache", time_command([OPSCTL, "--root", str(large), "validate"], args.runs, env))

    print("at 1×, 3× and 10× the synthetic org (CPU s and peak MB per process, beside --against):")
    scale_table(args, {"validate"})


if __name__ == "__main__":
    main()
