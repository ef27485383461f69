"""Running the router: uvicorn serving :func:`~opsctl.router.app.make_app`, and the delivery
worker in a process of its own, restarted if it dies.

The worker is a separate process so that sending (PagerDuty, Slack) never competes with
accepting for the interpreter lock. It dies with the server (Linux parent-death signal,
and a parent watch elsewhere), and a lock file keeps a second worker off the same database.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
from dataclasses import replace

from opsctl.router.settings import RouterSettings
from opsctl.router.worker import WorkerConfig

log = logging.getLogger("opsctl.router")


class WorkerSupervisor:
    """Starts the worker process and starts it again if it exits while the server runs.

    The worker is ``python -m opsctl.router.worker``; its configuration (tokens included)
    reaches it pickled through its stdin, never on its command line.
    """

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="opsctl-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        process = subprocess.Popen([sys.executable, "-m", "opsctl.router.worker", str(os.getpid())], stdin=subprocess.PIPE)
        assert process.stdin is not None
        process.stdin.write(pickle.dumps(self.config))
        process.stdin.close()
        self._process = process
        log.info("delivery worker started (pid %s)", process.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            process = self._process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                log.error("delivery worker exited with %s; starting it again", process.returncode)
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


def serve(settings: RouterSettings, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); the worker stops after the server."""
    import uvicorn

    from opsctl.router import outbox
    from opsctl.router.app import make_app

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="opsctl serve: %(message)s")
    app = make_app(replace(settings, expect_worker=True))
    outbox.connect(settings.db_path).close()  # the schema exists before the worker opens the file
    supervisor = WorkerSupervisor(WorkerConfig(settings.db_path, settings.vendor, settings.routing_keys, settings.retry))
    app.state.on_shutdown.append(supervisor.stop)
    for line in startup_notes(settings):
        log.warning(line)
    supervisor.start()
    try:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="auto",  # uvloop and httptools when installed
            http="auto",
            log_level=log_level,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            server_header=False,
        )
        log.info("listening on http://%s:%d (alerts in %s)", host, port, settings.db_path)
        uvicorn.Server(config).run()
    finally:
        supervisor.stop()


def startup_notes(settings: RouterSettings) -> list[str]:
    """What an operator should know before the first alert comes in."""
    from opsctl.router.sources import SOURCES

    notes = []
    closed = [source for source in SOURCES if not settings.credentials.accepts(source)]
    if closed:
        notes.append(f"sources without a token or secret refuse every request: {', '.join(closed)} (see opsctl serve --help)")
    if settings.routing_keys is None:
        notes.append("no PagerDuty routing keys (OPSCTL_ROUTING_KEYS_FILE or --routing-keys): pages stay queued as failed")
    elif not settings.routing_keys.is_file():
        notes.append(f"routing keys file {settings.routing_keys} does not exist yet: pages stay queued as failed until it does")
    if settings.vendor.slack_token is None:
        notes.append("SLACK_BOT_TOKEN is not set: no Slack messages or DMs")
    return notes
