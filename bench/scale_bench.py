"""The org at 1×, 3× and 10× (1,000 / 3,000 / 10,000 pipelines, people, rotations and time
off scaled alike): CPU time and peak memory of each command as a whole process, for this
tree and, side by side in the same rounds, another revision (main by default), beside
`python -c pass`.

    python bench/scale_bench.py [--scales 1,3,10] [--scale-runs 5] [--against main] [--this HEAD] [--only validate,team]

Goals at 10×: validate ≤ 2 s and ≤ 250 MB; `whoisoncall --team T --at +30d` ≤ 10× `python -c
pass` whatever the size; `whoisoncall` (all, cold) ≤ 2 s; `schedule --weeks 52 --format json`
≤ 4 s; runbooks HTML ≤ 15 s. "cold" empties the cache folder but the holiday cache before
each run (the holiday cache is filled once per machine and library version); "after an
edit" adds a line to ownership.yaml before each run (the pre-commit case); "warm" changes
nothing between runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
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


def edit(root: Path) -> Callable[[Code], None]:
    """A one-line edit of ownership.yaml before each run (a comment added at its end): the
    pre-commit case, where the caches hold everything but what the edit touched."""

    def touch(code: Code) -> None:
        with (root / "ownership.yaml").open("a", encoding="utf-8") as out:
            out.write(f"# edited for {code.name}\n")

    return touch


def measures(scale: int, root: Path, only: set[str]) -> list[Measure]:
    at = f"{scale}×"

    def opsctl(*args: str) -> Callable[[Code], list[str]]:
        return lambda code: code.argv("--root", str(root), *args)

    team = ("whoisoncall", "--team", TEAM, "--at", "+30d", "--format", "json")
    site = ("runbooks", "render", "--format", "html", "--out")
    table = {
        "validate": [
            Measure(f"validate (cold), {at}", opsctl("validate"), forget),
            Measure(f"validate after a one-line edit, {at}", opsctl("validate"), edit(root)),
        ],
        "whoisoncall": [
            Measure(f"whoisoncall (all, cold), {at}", opsctl("whoisoncall", "--format", "json"), forget),
            Measure(f"whoisoncall (all) after an edit, {at}", opsctl("whoisoncall", "--format", "json"), edit(root)),
        ],
        "team": [
            Measure(f"whoisoncall --team --at +30d (cold), {at}", opsctl(*team), forget),
            Measure(f"whoisoncall --team --at +30d (warm), {at}", opsctl(*team)),
        ],
        "schedule": [
            Measure(
                f"schedule --weeks 52 --format json (cold), {at}", opsctl("schedule", "--weeks", "52", "--format", "json"), forget
            ),
            Measure(f"schedule --weeks 52 --format json (warm), {at}", opsctl("schedule", "--weeks", "52", "--format", "json")),
        ],
        "runbooks": [
            Measure(
                f"runbooks render --format html (cold), {at}",
                lambda code: code.argv("--root", str(root), *site, str(WORK / f"site-{code.name}-{scale}x")),
                forget,
            )
        ],
        "desired": [
            Measure(
                f"PagerDuty desired state (process), {at}",
                lambda code: [sys.executable, __file__, "--desired-state", str(root)],
                forget,
            )
        ],
    }
    return [m for key, group in table.items() if not only or key in only for m in group]


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


def add_arguments(parser: argparse.ArgumentParser, *, runs: int = 5) -> None:
    """The options of the 1×/3×/10× table, for this script and the others that print their part of it."""
    parser.add_argument("--scales", default="1,3,10", help="Sizes of the synthetic org, comma-separated ('' for none).")
    parser.add_argument("--scale-runs", type=int, default=runs, help="Rounds of the 1×/3×/10× table.")
    parser.add_argument("--against", default="main", help="A git revision to measure beside this tree ('' for none).")
    parser.add_argument("--this", default="", help="Measure this git revision instead of the working tree (e.g. HEAD).")


def scale_table(args: argparse.Namespace, only: set[str]) -> None:
    """Measure and print the ``only`` parts of the table (all when empty) for ``args.scales``."""
    if not args.scales:
        return
    codes = [*([revision(args.against)] if args.against else []), revision(args.this) if args.this else this_tree()]
    table: list[Measure] = []
    for scale in (int(s) for s in args.scales.split(",")):
        root = ensure(scale)
        for code in codes:  # fill the holiday cache and compile the code
            measure(code.argv("--root", str(root), "validate"), code.env(), code.path)
        table += measures(scale, root, only)
    bare = rounds(table, codes, args.scale_runs)
    print_table(table, codes, bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_arguments(parser)
    parser.add_argument("--only", default="", help="Comma-separated: validate, whoisoncall, team, schedule, runbooks, desired.")
    parser.add_argument("--desired-state", metavar="ROOT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.desired_state:
        desired_state(args.desired_state)
        return
    scale_table(args, {name for name in args.only.split(",") if name})


if __name__ == "__main__":
    main()
