"""`opsctl runbooks render` on the synthetic large org (1,000 pipeline pages, 50 service pages
and the index) as whole processes, in HTML and in Markdown; then, in one process, where the
time goes. Goal: under 3 s per format.
Then, at 1×/3×/10× the org beside main, the HTML render.

    python bench/runbooks_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from generate_org import generate
from scale_bench import add_arguments, scale_table
from timing import OPSCTL, PYTHON, WORK, report, time_command


def stages(root: str) -> None:
    """Load, pages, render and write, timed apart in this process."""
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import WorkingTree, load
    from opsctl.runbooks.inputs import read_notes, read_templates
    from opsctl.runbooks.output import write_site
    from opsctl.runbooks.pages import build_site
    from opsctl.runbooks.render import render_site
    from opsctl.system.environment import cache_folder, current
    from opsctl.system.holidays import default_calendar

    files = WorkingTree(Path(root))
    marks = [("start", time.perf_counter())]
    result = load(files)
    org = result.require_ok()
    marks.append(("load the org", time.perf_counter()))
    site = build_site(
        org,
        Engine(org, default_calendar(Path(cache_folder(current())))),
        datetime.now(UTC),
        notes=read_notes(files, org),
        changed={},
    )
    marks.append(("build the pages (on-call, escalation chains)", time.perf_counter()))
    templates = read_templates(files)
    for fmt in ("html", "md"):
        rendered = render_site(site, fmt, templates)
        marks.append((f"render {len(rendered)} {fmt} files", time.perf_counter()))
        write_site(WORK / f"runbooks-stages-{fmt}", rendered)
        marks.append((f"write the {fmt} files", time.perf_counter()))
    for (_, before), (label, after) in pairwise(marks):
        print(f"  {label:<56} {(after - before) * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    add_arguments(parser, runs=3)
    args = parser.parse_args()
    large = WORK / "large"
    if not (large / "ownership.yaml").exists():
        generate(large)
    env = os.environ | {"OPSCTL_CACHE_DIR": str(WORK / "cache")}
    os.environ["OPSCTL_CACHE_DIR"] = env["OPSCTL_CACHE_DIR"]
    render = [OPSCTL, "--root", str(large), "runbooks", "render"]
    time_command([*render, "--out", str(WORK / "runbooks-warm")], 1, env)  # fill the holiday cache
    report("python -c pass", time_command([PYTHON, "-c", "pass"], args.runs))
    for fmt in ("html", "md"):
        out = str(WORK / f"runbooks-{fmt}")
        timings = time_command([*render, "--format", fmt, "--out", out], args.runs, env)
        report(f"opsctl runbooks render --format {fmt}, large org", timings)
    print("in one process, warm:")
    stages(str(large))

    print("at 1×, 3× and 10× the synthetic org (CPU s and peak MB per process, beside --against):")
    scale_table(args, {"runbooks"})


if __name__ == "__main__":
    main()
