"""A fake HTTP service on loopback: one catch-all handler, a request log and fault injection."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    params: dict[str, Any]
    body: Any
    headers: dict[str, str]
    status: int = 0

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    """Answer matching requests with ``status`` (and headers/body) ``times`` times, instead of serving them."""

    status: int
    match: Callable[[Recorded], bool] = lambda request: True
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "{}"


class SimClock:
    """A simulated clock shared by a client's pacer and the fakes: ``sleep`` moves time on at once.

    ``monotonic`` counts seconds from zero; ``wall`` is ``start`` plus the same seconds, so a
    fake that asks "what time is it" (PagerDuty truncating an override being deleted, Slack
    stamping a message) agrees with the instant a test plans at.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.elapsed = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.elapsed += max(0.0, seconds)

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)


class RealClock:
    """The machine's clocks, for fakes used without a simulated one."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wall(self) -> datetime:
        return datetime.now(UTC)


class SlidingWindow:
    """At most ``limit`` requests in any ``window`` seconds, counted on ``clock``."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self.sent: deque[float] = deque()

    def admit(self, now: float) -> float | None:
        """None when a request may go now (and it is counted); else seconds until one may."""
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()
        if len(self.sent) >= self.limit:
            return self.sent[0] + self.window - now
        self.sent.append(now)
        return None


class FakeService:
    """Start with :meth:`start`, stop with :meth:`stop`; subclasses implement :meth:`handle`."""

    content_type = "application/json"

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.requests: list[Recorded] = []
        self.rejected: list[tuple[Recorded, str]] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.clock: SimClock | RealClock = RealClock()
        """What time it is for this service (a test shares a :class:`SimClock` with the client's pacer)."""
        self.rate_limited = 0
        """Requests answered 429 because they came too fast (injected faults not counted)."""

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeService:
        self.server.expect_request(re.compile(r".*")).respond_with_handler(self._dispatch)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    # -- counting ----------------------------------------------------------------------

    def reads(self) -> int:
        return sum(not r.is_write for r in self.requests)

    def writes(self) -> int:
        return sum(r.is_write for r in self.requests)

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    # -- dispatch ----------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        recorded = Recorded(
            method=request.method,
            path=request.path,
            params=dict(parse_qsl(request.query_string.decode(), keep_blank_values=True)),
            body=self._body(request),
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        with self.lock:
            self.requests.append(recorded)
            for fault in self.faults:
                if fault.times > 0 and fault.match(recorded):
                    fault.times -= 1
                    recorded.status = fault.status
                    return Response(fault.body, status=fault.status, headers=fault.headers, content_type=self.content_type)
            status, payload, headers = self.handle(recorded, request)
        recorded.status = status
        return Response(json.dumps(payload), status=status, headers=headers, content_type=self.content_type)

    def _body(self, request: Request) -> Any:
        data = request.get_data()
        if not data:
            return None
        kind = request.content_type or ""
        if "json" in kind:
            try:
                return json.loads(data)
            except ValueError:
                return data.decode(errors="replace")
        if "x-www-form-urlencoded" in kind:
            return dict(parse_qsl(data.decode(), keep_blank_values=True))
        return data.decode(errors="replace")

    def reject(self, recorded: Recorded, why: str) -> None:
        self.rejected.append((recorded, why))

    def handle(self, recorded: Recorded, request: Request) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError("subclasses serve requests")
