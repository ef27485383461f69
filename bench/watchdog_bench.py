"""The freshness watchdog's check on a large org: CPU per check, so per second of serving, on
SQLite and PostgreSQL, with 100 and 1,000 pipelines (the large org of bench/generate_org.py).

    python bench/watchdog_bench.py [--checks 200] [--rounds 5] [--postgres URL]

Each check is what the server runs once a second: a transaction that renews the watchdog's
lease, reads every pipeline's last success and decides (nothing is stale: the steady state).
CPU is this process's (the server's side; PostgreSQL's own backend is not counted), per
check, so ``CPU ms per check / 10`` is the percentage of one core. Then every pipeline is
stale at once (a one-off, after an outage of the whole scheduler): the checks that raise
all their alerts through the intake path, at most ``MAX_RAISED_PER_CHECK`` each, and the
longest of them (the intake waits that long). PostgreSQL runs in a schema of its own,
dropped after. Prints the median and range over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))
WORK = BENCH / "_work" / "watchdog"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    import psycopg

    name = f"opsctl_bench_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def fill(store: Any, pipelines: list[Any]) -> None:
    """Every pipeline heard from within its SLA (none is stale at :data:`NOW`)."""
    from opsctl.router.store.freshness import record_success

    with store.connection() as conn, store.transaction(conn):
        for index, pipeline in enumerate(pipelines):
            share = (index % 10) / 20  # 0 to 45 % of its SLA ago
            record_success(store, conn, pipeline.id, NOW.timestamp() - pipeline.freshness_sla.total_seconds() * share, "airflow")


def steady(watchdog: Any, store: Any, checks: int) -> tuple[float, float]:
    """CPU and wall seconds per check."""
    with store.connection() as conn:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(checks):
            with store.transaction(conn):
                assert watchdog.check_once(conn)
        return (time.process_time() - cpu) / checks, (time.perf_counter() - wall) / checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    import logging

    logging.getLogger("opsctl.router").setLevel(logging.ERROR)  # one "stale:" line per alert raised

    from generate_org import ensure

    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import load_working_tree
    from opsctl.router.freshness import watches
    from opsctl.router.routing import Router
    from opsctl.router.store import open_store
    from opsctl.router.store.writer import Writer
    from opsctl.router.watchdog import Watchdog
    from opsctl.system.holidays import LibraryHolidays

    org = load_working_tree(ensure(1)).require_ok()
    router = Router(org, Engine(org, LibraryHolidays()))
    every = list(org.pipelines.values())
    all_watches = watches(org)
    print(f"org: {len(every)} pipelines; {args.rounds} rounds of {args.checks} checks; the machine is shared", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    targets: list[tuple[str, Any]] = [("sqlite", None)]
    try:
        import psycopg

        psycopg.connect(args.postgres, connect_timeout=3).close()
        targets.append(("postgresql", args.postgres))
    except Exception as exc:  # the bench's edge: no server, SQLite only
        print(f"postgresql: skipped ({type(exc).__name__}: {str(exc).strip()[:80]})")
    for dialect, url in targets:
        for size in (100, len(every)):
            with contextlib.ExitStack() as stack:
                if url is None:
                    path = WORK / f"watchdog-{size}.sqlite3"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
                    where = str(path)
                else:
                    where = stack.enter_context(postgres_schema(url))
                store = open_store(where)
                stack.callback(store.close)
                fill(store, every[:size])
                dog = Watchdog(router, store, Writer(store), all_watches[:size], clock=lambda: NOW, owner="bench", slack=True)
                steady(dog, store, 20)  # warm up: caches, prepared plans, the page cache
                cpu, wall = [], []
                for _ in range(args.rounds):
                    c, w = steady(dog, store, args.checks)
                    cpu.append(c * 1000)
                    wall.append(w * 1000)
                print(
                    f"{dialect:<10} {size:>5} pipelines: CPU {_spread(cpu)} ms per check"
                    f" ({statistics.median(cpu) / 10:.3f} % of a core at one check a second),"
                    f" wall {_spread(wall)} ms",
                    flush=True,
                )
                if size == len(every):
                    later = datetime.fromtimestamp(NOW.timestamp() + 30 * 86400, UTC)
                    dog.clock = lambda: later  # noqa: B023 - used before the loop moves on
                    longest, rounds = 0.0, 0
                    with store.connection() as conn:
                        started, begun = time.process_time(), time.perf_counter()
                        while dog.stats.raised < size:
                            one = time.perf_counter()
                            with store.transaction(conn):
                                dog.check_once(conn)
                            longest, rounds = max(longest, time.perf_counter() - one), rounds + 1
                        spent, took = time.process_time() - started, time.perf_counter() - begun
                    print(
                        f"{dialect:<10} {size:>5} pipelines all stale at once: {dog.stats.raised} alerts raised in {rounds}"
                        f" checks, CPU {spent:.2f} s in all, wall {took:.2f} s in all, the longest check {longest * 1000:.0f} ms"
                    )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


if __name__ == "__main__":
    main()
