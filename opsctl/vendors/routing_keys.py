"""The routing keys file: how the alert router finds the PagerDuty service to page.

``opsctl sync pagerduty --routing-keys-out PATH`` writes it (:func:`write_routing_keys`,
mode 0600: a routing key lets anyone who holds it open incidents) and ``opsctl serve``
reads it (:class:`RoutingKeyFile`)::

    {"version": 1,
     "pipelines": {"<pipeline id>": "<routing key>"},
     "teams": {"<team id>": "<routing key>"}}

A pipeline uses its own key, else its team's; an alert that matched no pipeline uses the
key of the team it went to (the default team). Its path is ``OPSCTL_ROUTING_KEYS_FILE`` or
``opsctl serve --routing-keys PATH``. The worker re-reads the file when it changes, so a
key added later is used by the next attempt (``opsctl alerts retry`` for failed ones).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.errors import UsageError
from opsctl.system.files import write_atomically

VERSION = 1
WRITER_HINT = "opsctl sync pagerduty --routing-keys-out PATH writes it"


@dataclass(frozen=True)
class RoutingKeys:
    pipelines: dict[str, str] = field(default_factory=dict, repr=False)
    teams: dict[str, str] = field(default_factory=dict, repr=False)
    path: str = ""

    @classmethod
    def parse(cls, data: Any, path: str) -> RoutingKeys:
        if not isinstance(data, dict):
            raise UsageError(f"{path}: routing keys must be a JSON object ({WRITER_HINT})")
        if data.get("version") != VERSION:
            raise UsageError(f"{path}: version must be {VERSION}, not {data.get('version')!r}")
        unknown = sorted(set(data) - {"version", "pipelines", "teams"})
        if unknown:
            raise UsageError(f"{path}: unknown key {unknown[0]!r} (expected version, pipelines, teams)")
        tables: dict[str, dict[str, str]] = {}
        for table in ("pipelines", "teams"):
            value = data.get(table, {})
            if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
                raise UsageError(f"{path}: {table} must map ids to non-empty routing key strings")
            tables[table] = value
        return cls(tables["pipelines"], tables["teams"], path)

    @classmethod
    def load(cls, path: Path) -> RoutingKeys:
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise UsageError(f"routing keys file {path} does not exist ({WRITER_HINT})") from None
        except OSError as exc:
            raise UsageError(f"routing keys file {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        return cls.parse(data, str(path))

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "pipelines": dict(self.pipelines), "teams": dict(self.teams)}

    def lookup(self, target: str) -> tuple[str | None, str]:
        """The key for a routing target (see :func:`opsctl.router.matching.routing_target`),
        and whose key it is or why there is none."""
        parts = dict(part.split(":", 1) for part in target.split("|") if ":" in part)
        pipeline, team = parts.get("pipeline"), parts.get("team")
        if pipeline and pipeline in self.pipelines:
            return self.pipelines[pipeline], f"the key of pipeline {pipeline!r}"
        if team and team in self.teams:
            return self.teams[team], f"the key of team {team!r}"
        wanted = f"pipeline {pipeline!r} or its team {team!r}" if pipeline else f"team {team!r}"
        return None, f"no routing key for {wanted} in {self.path}: add one ({WRITER_HINT}), then `opsctl alerts retry`"


class RoutingKeyFile:
    """The routing keys as the file says now: re-read when it changes, checked at most once a second."""

    def __init__(self, path: Path | None, *, check_every: float = 1.0) -> None:
        self.path = path
        self.check_every = check_every
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._keys: RoutingKeys | None = None
        self._error = "no routing keys file: set OPSCTL_ROUTING_KEYS_FILE or pass opsctl serve --routing-keys PATH"
        self.generation = 0
        """Grows each time the file is read anew, so callers can retry what failed for a missing key."""

    def current(self) -> RoutingKeys | str:
        """The keys, or why there are none (a sentence for the delivery's error)."""
        if self.path is None:
            return self._error
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_every or self._stamp is None:
                self._checked = now
                try:
                    stat = os.stat(self.path)
                    stamp = (stat.st_mtime_ns, stat.st_size)
                except OSError:
                    stamp = (-1, -1)  # missing: read again (and fail with a clear reason) once it appears
                if stamp != self._stamp:
                    self._stamp = stamp
                    self.generation += 1
                    try:
                        self._keys = RoutingKeys.load(self.path)
                    except UsageError as exc:
                        self._keys, self._error = None, str(exc)
            return self._keys if self._keys is not None else self._error

    def lookup(self, target: str) -> tuple[str | None, str]:
        keys = self.current()
        if isinstance(keys, str):
            return None, keys
        return keys.lookup(target)


def write_routing_keys(path: Path, keys: RoutingKeys) -> None:
    """Write ``keys`` to ``path`` atomically, readable by its owner only (0600) from the first byte."""
    path = path.expanduser()
    try:
        write_atomically(path, json.dumps(keys.to_json(), indent=2, sort_keys=True) + "\n", mode=0o600)
    except OSError as exc:
        raise UsageError(f"--routing-keys-out: cannot write {path}: {exc.strerror or exc}") from None
