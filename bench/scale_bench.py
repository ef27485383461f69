"""The org at 1×, 3× and 10× (1,000 / 3,000 / 10,000 pipelines, people, rotations and time
off scaled alike): CPU time and peak memory of each command as a whole process, for this
tree and, side by side in the same rounds, another revision (main by default), beside
`python -c pass`.

    python bench/scale_bench.py [--scales 1,3,10] [--runs 5] [--against main] [--only validate,team]

Goals at 10×: validate ≤ 2 s and ≤ 250 MB; `whoisoncall --team T --at +30d` ≤ 10× `python -c
pass` whatever the size; `whoisoncall` (all, cold) ≤ 2 s; `schedule --weeks 52 --format json`
≤ 4 s; runbooks HTML ≤ 15 s. "cold" empties the cache folder but the holiday cache before
each run (the holiday cache is filled once per machine and library version).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from generate_org import ensure
from timing import WORK, Code, Measure, measure, print_table, revision, rounds, this_tree

NOW = "2026-11-23T12:00:00Z"
TEAM = "team-07"
"""A team of every scale (its rotation hands off weekly at 09:00 Europe/Madrid...)."""


def forget(code: Code) -> None:
    """Empty the cache folder, except the holiday cache."""
    if code.cache.is_dir():
        for entry in code.cache.iterdir():
            if entry.name.startswith("holidays-"):
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def measures(scale: int, root: Path, only: set[str]) -> list[Measure]:
    at = f"{scale}×"
    out = [
        Measure(f"validate, {at}", lambda c: c.argv("--root", str(root), "validate"), forget),
        Measure(
            f"whoisoncall (all, cold), {at}", lambda c: c.argv("--root", str(root), "whoisoncall", "--format", "json"), forget
        ),
        Measure(
            f"whoisoncall --team --at +30d (cold), {at}",
            lambda c: c.argv("--root", str(root), "whoisoncall", "--team", TEAM, "--at", "+30d", "--format", "json"),
            forget,
        ),
        Measure(
            f"whoisoncall --team --at +30d (warm), {at}",
            lambda c: c.argv("--root", str(root), "whoisoncall", "--team", TEAM, "--at", "+30d", "--format", "json"),
        ),
        Measure(
            f"schedule --weeks 52 --format json, {at}",
            lambda c: c.argv("--root", str(root), "schedule", "--weeks", "52", "--format", "json"),
            forget,
        ),
        Measure(
            f"runbooks render --format html, {at}",
            lambda c: c.argv(
                "--root", str(root), "runbooks", "render", "--format", "html", "--out", str(WORK / f"site-{c.name}")
            ),
            forget,
        ),
        Measure(
            f"PagerDuty desired state (process), {at}",
            lambda c: [sys.executable, __file__, "--desired-state", str(root)],
            forget,
        ),
    ]
    keys = ["validate", "whoisoncall", "team", "team-warm", "schedule", "runbooks", "desired"]
    return [m for key, m in zip(keys, out, strict=True) if not only or key in only]


def desired_state(root: str) -> None:
    """Load the org, resolve and build the PagerDuty desired state in this process; print the times."""
    from datetime import datetime

    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import load_working_tree
    from opsctl.sync.pagerduty_desired import desired_pagerduty
    from opsctl.system.environment import cache_folder, current
    from opsctl.system.holidays import default_calendar

    marks = [time.process_time()]
    org = load_working_tree(root).require_ok()
    marks.append(time.process_time())
    calendar = default_calendar(Path(cache_folder(current())))
    desired = desired_pagerduty(org, Engine(org, calendar), datetime.fromisoformat(NOW))
    marks.append(time.process_time())
    calendar.save()
    print(json.dumps({"load": marks[1] - marks[0], "desired": marks[2] - marks[1], "schedules": len(desired.schedules)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scales", default="1,3,10")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", default="main", help="A git revision to measure beside this tree ('' for none).")
    parser.add_argument("--this", default="", help="Measure this git revision instead of the working tree (e.g. HEAD).")
    parser.add_argument(
        "--only", default="", help="Comma-separated: validate, whoisoncall, team, team-warm, schedule, runbooks, desired."
    )
    parser.add_argument("--desired-state", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.desired_state:
        desired_state(args.desired_state)
        return
    codes = [*([revision(args.against)] if args.against else []), revision(args.this) if args.this else this_tree()]
    only = {name for name in args.only.split(",") if name}
    table: list[Measure] = []
    for scale in (int(s) for s in args.scales.split(",")):
        root = ensure(scale)
        for code in codes:  # fill the holiday cache and compile the code
            measure(code.argv("--root", str(root), "validate"), code.env(), code.path)
        table += measures(scale, root, only)
    bare = rounds(table, codes, args.runs)
    print_table(table, codes, bare)


if __name__ == "__main__":
    main()
