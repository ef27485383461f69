"""The alert router under test: a real uvicorn server on loopback, a real SQLite file (or a
real PostgreSQL database, see :mod:`tests.postgres_support`), the fakes."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opsctl.model import Org
from opsctl.router.security import Credentials
from opsctl.router.settings import RouterSettings
from opsctl.router.worker import WorkerConfig, WorkerThread
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.retry import RetryPolicy
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.slack import ALL_SCOPES, SlackFake
from tests.support import REPO_ROOT

TOKEN = "test-token-0123456789"
DBT_SECRET = "dbt-secret-abcdef"
GRAFANA_SECRET = "grafana-secret-abcdef"
SLACK_TOKEN = "xoxb-router-test"
SOURCES_WITH_TOKENS = ("alertmanager", "grafana", "airflow", "great-expectations", "generic", "heartbeat")


def credentials() -> Credentials:
    tokens = {source: f"{TOKEN}-{source}" for source in SOURCES_WITH_TOKENS}
    return Credentials(tokens, None, {"dbt-cloud": DBT_SECRET, "grafana": GRAFANA_SECRET})


def clock_at(instant: datetime) -> Callable[[], datetime]:
    """A clock that reads ``instant`` now and runs on from there (retries and leases need time to pass)."""
    return running_on(lambda: instant)


def running_on(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """``clock`` with the time passed since now added: the worker's clock must move for its
    retries, leases and pacing, even when a test pins the server's instant."""
    if getattr(clock, "moving", False):
        return clock
    started = time.time()

    def moving() -> datetime:
        return clock() + timedelta(seconds=time.time() - started)

    moving.moving = True  # type: ignore[attr-defined]
    return moving


def token_for(source: str) -> str:
    return f"{TOKEN}-{source}"


def routing_keys_for(org: Org) -> dict[str, Any]:
    """A key per team; pipelines use their team's, except one with its own."""
    return {
        "version": 1,
        "pipelines": {"aggregate_profit_investors": "key-pipeline-aggregate-profit"},
        "teams": {team: f"key-team-{team}" for team in org.teams},
    }


def slack_for(org: Org) -> SlackFake:
    users = {person.email: person.slack_id or f"U{person.id.upper():0>9}" for person in org.people.values()}
    fake = SlackFake(users=users, tokens={SLACK_TOKEN: ALL_SCOPES})
    channels = {t.slack_channel for t in org.teams.values()} | {p.slack_channel for p in org.pipelines.values()}
    for channel in sorted(c for c in channels if c):
        fake.add_channel(channel)
    return fake


# -- HTTP -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def signed_headers(source: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The headers a correctly configured sender of ``source`` adds."""
    headers = {"Content-Type": "application/json"}
    if source == "dbt-cloud":
        headers["Authorization"] = hmac.new(DBT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    elif source == "grafana":
        stamp = str(int(now if now is not None else time.time()))
        signature = hmac.new(GRAFANA_SECRET.encode(), stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        headers |= {
            "X-Grafana-Alerting-Signature": signature,
            "X-Grafana-Alerting-Timestamp": stamp,
            "Authorization": f"Bearer {token_for('grafana')}",
        }
    else:
        headers["Authorization"] = f"Bearer {token_for(source)}"
    return headers


def post_alert(
    base: str, source: str, payload: Any, *, headers: dict[str, str] | None = None, now: float | None = None
) -> Answer:
    """POST ``payload`` as a configured ``source`` sends it (signed at ``now``, the server's clock)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return request(f"{base}/v1/alerts/{source}", "POST", body, signed_headers(source, body, now=now) | (headers or {}))


# -- the server -------------------------------------------------------------------------------


class ServerThread:
    """uvicorn serving ``app`` from a thread, on a socket bound before it starts (no port race)."""

    def __init__(self, app: Any, *, read_timeout: float = 10.0) -> None:
        import uvicorn

        from opsctl.router.http import server_config

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = server_config(app, host="127.0.0.1", port=self.port, read_timeout=read_timeout, log_level="warning")
        config.lifespan = "on"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


def assert_no_tracebacks_logged(caplog: Any) -> None:
    """What bad input leaves in the log: one warning line each, never a traceback or an error."""
    import logging

    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}")
        time.sleep(interval)


@dataclass
class Router:
    """A running router: server, worker thread, fakes, and where things are."""

    url: str
    database: str
    keys_path: Path
    settings: RouterSettings
    pd: PagerDutyEventsFake
    slack: SlackFake
    org: Org
    server: ServerThread
    worker: WorkerThread | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def post(self, source: str, payload: Any, **kwargs: Any) -> Answer:
        return post_alert(self.url, source, payload, now=self.settings.clock().timestamp(), **kwargs)

    def heartbeat(self, pipeline: str, body: bytes = b"") -> Answer:
        headers = {"Authorization": f"Bearer {token_for('heartbeat')}"}
        return request(f"{self.url}/v1/heartbeats/{pipeline}", "POST", body, headers)

    @property
    def db_path(self) -> Path:
        return Path(self.database)

    def db(self) -> Any:
        """A connection to the router's database (sqlite3, or psycopg with ``?`` placeholders)."""
        return connect_database(self.database)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self.db()
        try:
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def deliveries(self, state: str | None = None) -> list[tuple[Any, ...]]:
        query = "SELECT id, alert_id, kind, action, target, state, attempts, error_code, last_error FROM deliveries"
        if state is not None:
            return self.query(query + " WHERE state = ? ORDER BY id", (state,))
        return self.query(query + " ORDER BY id")

    def settled(self) -> bool:
        """Nothing pending any more."""
        return not self.deliveries("pending")

    def start_worker(self, **config: Any) -> WorkerThread:
        self.stop_worker()
        base = WorkerConfig(
            self.database,
            self.settings.vendor,
            str(self.keys_path),
            RetryPolicy(base=0.05, cap=0.4, max_attempts=50),
            poll=0.005,
            slack_pace=0.05,
        )
        # the worker's clock runs on from the server's, even where a test pins the server's instant
        clock = running_on(self.settings.clock)
        self.worker = WorkerThread(replace(base, **config), clock=lambda: clock().timestamp()).start()
        return self.worker

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


@contextmanager
def running_router(
    tmp_path: Path,
    org: Org,
    *,
    clock: Callable[[], datetime] | None = None,
    worker: bool = True,
    pd: PagerDutyEventsFake | None = None,
    slack: bool = True,
    keys: dict[str, Any] | None = None,
    write_keys: bool = True,
    root: Path = REPO_ROOT,
    creds: Credentials | None = None,
    database: str | None = None,
    read_timeout: float = 10.0,
    watchdog: bool = False,
    **settings: Any,
) -> Iterator[Router]:
    """A router on loopback; ``watchdog``: run the freshness watchdog (off unless a test is about it,
    so that tests moving the clock by hours page only what they post)."""
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.router.app import make_app
    from opsctl.system.holidays import LibraryHolidays

    pd = pd or PagerDutyEventsFake()
    pd.start()
    slack_fake = slack_for(org)
    slack_fake.start()
    keys_path = tmp_path / "routing-keys.json"
    if write_keys:
        keys_path.write_text(json.dumps(keys if keys is not None else routing_keys_for(org)))
    vendor = VendorConfig(
        slack_token=SLACK_TOKEN if slack else None,
        pagerduty_events_url=pd.url,
        slack_api_url=slack_fake.url + "/api/",
    )
    chosen = RouterSettings(
        root=root,
        database=database or str(tmp_path / "router.sqlite3"),
        credentials=creds if creds is not None else credentials(),
        vendor=vendor,
        routing_keys=keys_path,
        watchdog=watchdog,
        **({"clock": clock} if clock else {}),
        **settings,
    )
    app = make_app(chosen, org=org, engine=Engine(org, LibraryHolidays()))
    server = ServerThread(app, read_timeout=read_timeout).start()
    router = Router(server.url, chosen.database, keys_path, chosen, pd, slack_fake, org, server, extra={"app": app})
    try:
        if worker:
            router.start_worker()
        yield router
    finally:
        router.stop_worker()
        # each stop waits for its server's poll interval: wait for all of them at once
        stoppers = [threading.Thread(target=stop) for stop in (server.stop, pd.stop, slack_fake.stop)]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()


class _QmarkConnection:
    """A psycopg connection that takes ``?`` placeholders, as sqlite3 does, for test queries."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.conn.close()


def connect_database(database: str) -> Any:
    if database.startswith("postgresql://"):
        return _QmarkConnection(database)
    import sqlite3

    return sqlite3.connect(database, timeout=30)


# -- opsctl serve as a process ------------------------------------------------------------------


@dataclass
class Serve:
    """A running ``opsctl serve`` process, its address and its log."""

    process: Any
    url: str
    log: Path

    def worker_pid(self) -> int:
        import re

        found = re.findall(r"delivery worker started \(pid (\d+)\)", self.log.read_text())
        assert found, self.log.read_text()
        return int(found[-1])

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except Exception:
                self.process.kill()
                self.process.wait()


def start_serve(
    tmp_path: Path,
    pd: PagerDutyEventsFake,
    slack: SlackFake,
    org: Org,
    name: str,
    *,
    database: str | None = None,
    args: tuple[str, ...] = ("--retry-base", "0.05", "--retry-cap", "0.5", "--group-window", "0"),
) -> Serve:
    """``opsctl serve`` on a free port against the fakes, ready when this returns."""
    import os
    import subprocess
    import sys

    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(routing_keys_for(org)))
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSCTL_")}
    env |= {
        "OPSCTL_CACHE_DIR": os.environ.get("OPSCTL_CACHE_DIR", str(tmp_path / "cache")),
        "OPSCTL_WEBHOOK_TOKEN_GENERIC": f"{TOKEN}-generic",
        "OPSCTL_ROUTING_KEYS_FILE": str(keys),
        "OPSCTL_ROUTER_DB": database or str(tmp_path / "router.sqlite3"),
        "OPSCTL_PAGERDUTY_EVENTS_URL": pd.url,
        "OPSCTL_SLACK_API_URL": slack.url + "/api/",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "opsctl", "--root", str(REPO_ROOT), "serve", "--port", str(port), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    serve = Serve(process, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return request(serve.url + "/readyz").status == 200
        except OSError:
            return False

    wait_until(ready, timeout=30, interval=0.1)
    return serve


def queue_empty(serve: Serve) -> bool:
    """Nothing left to deliver, as the server's /metrics says."""
    try:
        return "opsctl_outbox_queue_depth 0" in request(serve.url + "/metrics").text.splitlines()
    except OSError:
        return False
