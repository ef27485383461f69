"""`opsctl report` on a large alert database: CPU time to read the router's records, build the
report, and render it as text, JSON and SVG charts; then the whole command as a user runs it.

    python bench/report_bench.py [--alerts 100000] [--failures 200] [--runs 5]

The database is filled the way `opsctl serve` stores alerts (routing decision, outbox plan
and rows, in transactions of a thousand), with the example org of this repository: four
weeks of generic alerts over its pipelines and an unmatched name, each of ``--failures``
distinct failures opened, repeated and resolved over and over. Prints min, median and max
of each step over the runs.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
WORK = BENCH / "_work" / "report"
START = datetime(2026, 11, 2, tzinfo=UTC)
PERIOD = timedelta(weeks=4)


def fill(db: Path, alerts: int, failures: int) -> None:
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import load_working_tree
    from opsctl.router import outbox
    from opsctl.router.app import _store_one
    from opsctl.router.matching import AlertIndex, decide
    from opsctl.router.sources import PARSERS
    from opsctl.system.holidays import LibraryHolidays

    org = load_working_tree(ROOT).require_ok()
    engine = Engine(org, LibraryHolidays())
    index = AlertIndex(org)
    names = [*org.pipelines, "not_a_known_pipeline"]
    rng = random.Random(7)
    step = PERIOD / alerts
    conn = outbox.connect(db)
    try:
        for first in range(0, alerts, 1000):
            outbox.begin(conn)
            for n in range(first, min(first + 1000, alerts)):
                failure = rng.randrange(failures)
                body = {
                    "summary": f"failure {failure} of {names[failure % len(names)]}",
                    "pipeline": names[failure % len(names)],
                    "team": "data-eng",
                    "dedup_key": f"f{failure}",
                    "id": f"n{n}",
                    "status": "resolved" if rng.random() < 0.2 else "firing",
                }
                [alert] = PARSERS["generic"](body).alerts
                decision = decide(org, engine, index, alert, START + n * step)
                _store_one(org, conn, decision, True, time.time())
            conn.execute("COMMIT")
    finally:
        conn.close()


def cpu(work: Callable[[], Any]) -> tuple[float, Any]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    value = work()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), value


def line(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{label:<44} min {min(ms):8.1f} ms   median {statistics.median(ms):8.1f} ms   max {max(ms):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--failures", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / f"alerts-{args.alerts}-{args.failures}.sqlite3"
    if not db.exists():
        began = time.perf_counter()
        fill(db, args.alerts, args.failures)
        print(f"filled {db.relative_to(ROOT)} with {args.alerts} alerts in {time.perf_counter() - began:.1f} s")

    from opsctl.engine.schedule.resolve import Engine
    from opsctl.health.export import report_json
    from opsctl.health.plots import charts
    from opsctl.health.report import health_report
    from opsctl.health.text import render_text
    from opsctl.repo.loader import load_working_tree
    from opsctl.router.history import read_records
    from opsctl.system.holidays import LibraryHolidays

    org = load_working_tree(ROOT).require_ok()
    calendar = LibraryHolidays()
    end = START + PERIOD
    steps: dict[str, list[float]] = {
        "read records": [],
        "build report (fairness included)": [],
        "text": [],
        "json": [],
        "svg charts": [],
    }
    report = None
    for _ in range(args.runs):
        took, records = cpu(lambda: read_records(db, START, end))
        steps["read records"].append(took)
        engine = Engine(org, calendar)
        took, report = cpu(lambda: health_report(records, org, engine, START, end, now=end, zone=UTC))  # noqa: B023
        steps["build report (fairness included)"].append(took)
        steps["text"].append(cpu(lambda: render_text(report, width=120))[0])  # noqa: B023
        steps["json"].append(cpu(lambda: report_json(report))[0])  # noqa: B023
        steps["svg charts"].append(cpu(lambda: charts(report))[0])  # noqa: B023
    assert report is not None
    print(
        f"{args.alerts} alerts → {len(records)} records, {report.total.tally.repeats} repeats, "
        f"{report.total.tally.pages} pages; CPU time over {args.runs} runs:"
    )
    for label, seconds in steps.items():
        line(label, seconds)

    from timing import OPSCTL, time_command
    from timing import report as print_timing

    argv = [OPSCTL, "--root", str(ROOT), "report", "--db", str(db), "--from", START.isoformat(), "--to", end.isoformat()]
    print_timing("opsctl report (whole process, wall clock)", time_command([*argv, "--format", "json"], args.runs))


if __name__ == "__main__":
    main()
