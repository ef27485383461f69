"""The delivery worker's process under ``opsctl serve``, and the supervisor that keeps it running.

The worker is a process of its own so that sending (PagerDuty, Slack) never competes with
accepting for the interpreter lock, and it runs at a lower CPU priority, so that a storm
is accepted first and paged as fast as the rest of the machine allows. It dies with the
server (Linux parent-death signal, and a parent watch elsewhere); with SQLite a lock file
keeps a second worker off the same database.

The supervisor starts it again when it exits, after a back-off that grows while it keeps
exiting soon after its start (1 s, doubling, at most a minute) and starts over once a run
lasted :data:`HEALTHY_RUN` seconds. Inside the worker, a failing database is waited out
(see :mod:`opsctl.router.worker`); a worker that still dies leaves its last words in the
log, never a bare traceback.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from opsctl.errors import exit_code
from opsctl.router.worker import Worker, WorkerConfig
from opsctl.vendors.retry import RetryPolicy

log = logging.getLogger("opsctl.router")

RESTART = RetryPolicy(base=1.0, cap=60.0)
"""Waits before starting a worker that exited again (jitter included)."""
HEALTHY_RUN = 60.0
"""A worker that ran this long and exits is started again at once: its failures are not in a row."""


class WorkerSupervisor:
    """Starts the worker process and starts it again, with back-off, if it exits while the server runs.

    The worker is ``python -m opsctl.router.supervisor``; its configuration (tokens included)
    reaches it pickled through its stdin, never on its command line.
    """

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._exits_in_a_row = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="opsctl-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        process = subprocess.Popen([sys.executable, "-m", "opsctl.router.supervisor", str(os.getpid())], stdin=subprocess.PIPE)
        assert process.stdin is not None
        process.stdin.write(pickle.dumps(self.config))
        process.stdin.close()
        self._process = process
        self._started = time.monotonic()
        log.info("delivery worker started (pid %s)", process.pid)

    def next_wait(self, ran: float) -> float:
        """Seconds to wait before starting a worker that exited after running ``ran`` seconds."""
        if ran >= HEALTHY_RUN:
            self._exits_in_a_row = 0
        self._exits_in_a_row += 1
        return RESTART.delay(self._exits_in_a_row)

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            process = self._process
            if process is None or process.poll() is None or self._stopping.is_set():
                continue
            wait = self.next_wait(time.monotonic() - self._started)
            log.error("delivery worker exited with %s; starting it again in %.1f s", process.returncode, wait)
            if self._stopping.wait(wait):
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is None:
            return
        process.terminate()  # SIGTERM: the worker finishes the sends in flight and records them
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a killed server leaves no orphan sending."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_process_main(config: WorkerConfig, parent: int) -> None:
    """The worker process that ``opsctl serve`` starts."""
    _die_with_parent()
    # Accepting comes first: an alert answered 202 is safe, and a sender that times out
    # retries and may give up. Sending gets the CPU the intake leaves, and catches up.
    with contextlib.suppress(OSError):
        os.nice(10)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server; it stops us after draining
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: what each thread is doing
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO, format="opsctl worker: %(message)s")
    for chatty in ("httpx", "httpx2", "slack_sdk", "psycopg.pool"):  # one line per request would cost more than the request
        logging.getLogger(chatty).setLevel(logging.WARNING)
    lock = None
    from opsctl.router.store.postgres import is_postgres_url
    from opsctl.router.store.sqlite import SQLiteStore

    if not is_postgres_url(config.database):  # PostgreSQL's workers share the outbox; SQLite has one
        lock = SQLiteStore(Path(config.database)).lock_worker()
    if os.getppid() != parent:  # the server died while we waited for the lock
        return
    watcher = threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True)
    watcher.start()
    try:
        Worker(config).run(stop)
    finally:
        if lock is not None:
            lock.close()


def _watch_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        if os.getppid() != parent:
            stop.set()


def main() -> None:
    """``python -m opsctl.router.supervisor PARENT_PID < pickled WorkerConfig``: one last handler
    around the worker, so that whatever kills it is logged with its stack, never printed bare."""
    try:
        worker_process_main(pickle.load(sys.stdin.buffer), int(sys.argv[1]))
    except Exception as exc:  # the process's edge
        logging.basicConfig(level=logging.INFO, format="opsctl worker: %(message)s")
        log.exception("the delivery worker stopped: %s: %s", type(exc).__name__, exc)
        sys.exit(exit_code(exc))


if __name__ == "__main__":
    from opsctl.router import supervisor  # the module proper, not this __main__ copy of it

    supervisor.main()
