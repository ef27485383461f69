"""The intake's group commit: one thread writes the server's alerts, many requests per commit.

Requests hand the writer jobs; it takes every job waiting, runs them in one transaction (a
savepoint each, so one failing job fails alone) and commits once: concurrent requests share
one fsync. While it commits, the next requests queue up and form the next batch, so batches
grow with the load and no request waits for a timer. ``group_commit=False`` commits each
job on its own (the naive variant the benchmark measures beside it).

Before and after each batch the writer asks the store whether its connection may still take
writes (:meth:`~opsctl.router.store.base.Store.problem`). When the database fails (it is
unreachable, unwritable, or its file was replaced), every job of the batch fails with
:class:`~opsctl.router.store.records.StoreUnavailable`, which the intake answers with 503,
and :attr:`Writer.problem` says why until a batch goes through again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opsctl.router.store.base import Store
from opsctl.router.store.records import StoreUnavailable

T = TypeVar("T")
log = logging.getLogger("opsctl.router")


@dataclass
class _Job(Generic[T]):
    run: Callable[[Any], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = None


class Writer:
    """The one thread that writes the server's alerts; see the module docstring."""

    def __init__(self, store: Store, *, group_commit: bool = True, max_batch: int = 1000) -> None:
        self.store = store
        self.group_commit = group_commit
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.conn: Any = None
        self.commits = 0
        self.jobs = 0
        self.problem: str | None = None
        """Why the last batch failed, until one goes through."""

    def start(self) -> None:
        self.conn = self.store.connect(durable=True)
        self._thread = threading.Thread(target=self._loop, name="opsctl-outbox-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self.conn is not None:
            with contextlib.suppress(*self.store.errors):
                self.store.release(self.conn)
            self.conn = None

    async def run(self, work: Callable[[Any], T]) -> T:
        """Run ``work`` in a transaction; returns once that transaction is committed (durable)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, loop, future))
        return await future

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            if self.group_commit:
                while len(batch) < self.max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(more)
            try:
                self._commit(batch)
            except Exception as exc:  # the writer's edge: whatever went wrong, its requests get an answer
                log.exception("the outbox writer failed: %s: %s", type(exc).__name__, exc)
                for item in batch:
                    item.error = item.error or StoreUnavailable(f"the alert database failed: {type(exc).__name__}")
            self.commits += 1
            self.jobs += len(batch)
            self._settle(batch)

    def _healthy(self) -> str | None:
        """None when the connection may take writes; else why not (after trying to mend it)."""
        store = self.store
        if self.conn is None:
            try:
                self.conn = store.connect(durable=True)
            except Exception as exc:  # the database is away: say so, try again with the next batch
                return f"the alert database {store.location} cannot be reached: {str(exc).strip() or type(exc).__name__}"
        problem = store.problem(self.conn)
        if problem is None:
            return None
        mended = getattr(store, "recover", None)
        fresh = mended(self.conn) if mended is not None else None
        if fresh is None:
            return problem
        log.warning("%s; it is written back from the open database, nothing is lost", problem)
        with contextlib.suppress(*store.errors):
            store.release(self.conn)
        self.conn = fresh
        return None

    def _commit(self, batch: list[_Job[Any]]) -> None:
        store = self.store
        problem = self._healthy()
        if problem is None:
            conn = self.conn
            try:
                store.begin(conn)
                for job in batch:
                    store.execute(conn, "SAVEPOINT job")
                    try:
                        job.result = job.run(conn)
                    except store.errors:
                        raise
                    except Exception as exc:  # one bad job fails alone; its request gets a 500
                        job.error = exc
                        store.execute(conn, "ROLLBACK TO SAVEPOINT job")
                    store.execute(conn, "RELEASE SAVEPOINT job")
                store.commit(conn)
                # the commit may have gone to a file that was deleted or replaced meanwhile
                problem = store.problem(conn) and self._healthy()
            except store.errors as exc:
                problem = f"the alert database {store.location} failed: {str(exc).strip() or type(exc).__name__}"
                with contextlib.suppress(*store.errors):
                    store.rollback(conn)
                self._drop_connection()
        if problem is not None:
            if self.problem != problem:
                log.error("refusing alerts (503): %s", problem)
            self.problem = problem
            for job in batch:
                job.error = StoreUnavailable(problem)
            return
        if self.problem is not None:
            log.warning("the alert database takes alerts again")
        self.problem = None

    def _drop_connection(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: only let go of it
                self.store.release(conn)

    @staticmethod
    def _settle(batch: list[_Job[Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            # one wake-up of the event loop per batch, not per request
            with contextlib.suppress(RuntimeError):  # the loop closed while we committed: nobody waits
                loop.call_soon_threadsafe(_resolve_all, jobs)


def _resolve_all(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        future = job.future
        if future.done():  # the request was cancelled (its client went away): stored all the same
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)
