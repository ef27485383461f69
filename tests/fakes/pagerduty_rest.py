"""A stateful fake of the PagerDuty REST API v2 endpoints opsctl calls.

Users, abilities, schedules (layers and overrides), escalation policies, services and
their integrations. Every request is first checked against PagerDuty's published
OpenAPI description (:func:`tests.fakes.specs.check_pagerduty`); then the fake applies
the rules the description cannot express and the real API enforces: a reference must
name an object that exists, a service or escalation policy name is unique, an override
ends after it starts. A refused request gets PagerDuty's own answer (400 with an
``error`` body, 401 for a bad token, 404 for an unknown object) and is recorded in
``rejected``.

Times are answered in the schedule's time zone, as PagerDuty does, so that clients must
compare instants rather than strings.

The inconvenient parts, each beside the code that models it, with its reference (the API
description is ``tests/specs/pagerduty/rest-openapiv3.json``; the other pages are listed
in ``tests/specs/README.md``):

- overrides read with ``since``/``until`` are cut at those bounds unless ``overflow=true``;
- deleting an override in progress only cuts it short at the current time (200, not 204);
- one request creates many overrides, each answered with its own status;
- service and escalation policy names are unique, compared without regard to case;
- 960 requests a minute per API key, every answer carrying ``ratelimit-limit``,
  ``ratelimit-remaining`` and ``ratelimit-reset``, and a 429 beyond (with no ``Retry-After``);
- lists are paginated (``limit`` at most 100, ``more``).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug import Request

from tests.fakes.base import FakeService, Fault, Recorded, SlidingWindow
from tests.fakes.specs import check_pagerduty

Answer = tuple[int, Any, dict[str, str]]
VENDOR_URL = "https://api.pagerduty.com"
"""The server the published description names; requests are checked as if sent there."""

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile("^" + pattern + "$"), name)
    for method, pattern, name in [
        ("GET", r"/abilities", "abilities"),
        ("GET", r"/users", "list_users"),
        ("GET", r"/users/(?P<id>[^/]+)", "get_user"),
        ("GET", r"/schedules", "list_schedules"),
        ("POST", r"/schedules", "create_schedule"),
        ("GET", r"/schedules/(?P<id>[^/]+)", "get_schedule"),
        ("PUT", r"/schedules/(?P<id>[^/]+)", "update_schedule"),
        ("GET", r"/schedules/(?P<id>[^/]+)/overrides", "list_overrides"),
        ("POST", r"/schedules/(?P<id>[^/]+)/overrides", "create_overrides"),
        ("DELETE", r"/schedules/(?P<id>[^/]+)/overrides/(?P<override>[^/]+)", "delete_override"),
        ("GET", r"/escalation_policies", "list_policies"),
        ("POST", r"/escalation_policies", "create_policy"),
        ("GET", r"/escalation_policies/(?P<id>[^/]+)", "get_policy"),
        ("PUT", r"/escalation_policies/(?P<id>[^/]+)", "update_policy"),
        ("GET", r"/services", "list_services"),
        ("POST", r"/services", "create_service"),
        ("GET", r"/services/(?P<id>[^/]+)", "get_service"),
        ("PUT", r"/services/(?P<id>[^/]+)", "update_service"),
        ("POST", r"/services/(?P<id>[^/]+)/integrations", "create_integration"),
        ("GET", r"/services/(?P<id>[^/]+)/integrations/(?P<integration>[^/]+)", "get_integration"),
    ]
]


class Invalid(Exception):
    """A request PagerDuty would refuse: ``status`` and the message of its error body."""

    def __init__(self, message: str, status: int = 400, code: int = 2001) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise Invalid(f"time {text!r} has no offset")
    return value.astimezone(UTC)


def render_time(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


class PagerDutyFake(FakeService):
    """``users``: email → name of the PagerDuty users that exist. ``tokens``: accepted API tokens."""

    def __init__(self, users: dict[str, str] | None = None, tokens: set[str] | None = None) -> None:
        super().__init__()
        self.tokens = set(tokens or {"pd-test-token"})
        self._ids = itertools.count(1)
        self.users: dict[str, dict[str, Any]] = {}
        for email, name in (users or {}).items():
            self.add_user(email, name)
        self.schedules: dict[str, dict[str, Any]] = {}
        self.overrides: dict[str, dict[str, dict[str, Any]]] = {}
        """schedule id → override id → override, times as UTC datetimes."""
        self.policies: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.fail_after: list[Fault] = []
        """Faults that answer *after* the request was served, as when a server fails between commit and reply."""
        self.page_limit = 100
        """The largest page the fake serves, as PagerDuty caps ``limit``."""
        self.requests_per_minute = 960
        """PagerDuty's REST limit per API key ("REST API Rate Limits", developer.pagerduty.com:
        960 requests a minute for each account API key, and for each user across their keys)."""
        self._windows: dict[str, SlidingWindow] = {}

    def reset(self, users: dict[str, str] | None = None, tokens: set[str] | None = None) -> None:
        """Forget every object, request and fault (a server shared by many tests starts each one afresh)."""
        with self.lock:
            self.requests.clear()
            self.rejected.clear()
            self.faults.clear()
            self.fail_after.clear()
            if tokens is not None:
                self.tokens = set(tokens)
            self._ids = itertools.count(1)
            self.users.clear()
            for email, name in (users or {}).items():
                self.add_user(email, name)
            self.schedules.clear()
            self.overrides.clear()
            self.policies.clear()
            self.services.clear()
            self._windows.clear()
            self.rate_limited = 0

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of every object, to :meth:`restore` in a later test instead of building it again."""
        with self.lock:
            tables = {name: getattr(self, name) for name in ("users", "schedules", "overrides", "policies", "services")}
            return copy.deepcopy(tables | {"next_id": next(self._ids)})

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self.lock:
            state = copy.deepcopy(snapshot)
            self._ids = itertools.count(state.pop("next_id"))
            for name, table in state.items():
                setattr(self, name, table)

    # -- setup helpers -----------------------------------------------------------------

    def new_id(self, prefix: str = "P") -> str:
        return f"{prefix}{next(self._ids):06d}"

    def add_user(self, email: str, name: str) -> dict[str, Any]:
        user_id = self.new_id("PU")
        user = {
            "id": user_id,
            "type": "user",
            "name": name,
            "email": email,
            "summary": name,
            "html_url": f"https://example.pagerduty.com/users/{user_id}",
        }
        self.users[user_id] = user
        return user

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u["email"].lower() == email.lower()), None)

    def add_override(self, schedule_id: str, start: datetime, end: datetime, user_id: str) -> dict[str, Any]:
        """An override made in PagerDuty's web app (not by opsctl)."""
        override = {"id": self.new_id("Q"), "start": start.astimezone(UTC), "end": end.astimezone(UTC), "user": user_id}
        self.overrides.setdefault(schedule_id, {})[override["id"]] = override
        return override

    @property
    def url_base(self) -> str:
        return self.url if self.server.is_running() else "http://127.0.0.1"

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        table = {"schedule": self.schedules, "escalation_policy": self.policies, "service": self.services}[kind]
        return next((o for o in table.values() if o["name"] == name), None)

    def add_service(self, name: str, policy_id: str, description: str = "") -> dict[str, Any]:
        """A service made in PagerDuty's web app (not by opsctl)."""
        service = {
            "id": self.new_id("PV"),
            "name": name,
            "description": description,
            "policy": policy_id,
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "integrations": [],
        }
        self.services[service["id"]] = service
        return service

    def add_policy(self, name: str, user_id: str, description: str = "") -> dict[str, Any]:
        """An escalation policy made in PagerDuty's web app (not by opsctl)."""
        policy = {
            "id": self.new_id("PE"),
            "name": name,
            "description": description,
            "num_loops": 0,
            "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": [{"id": user_id, "type": "user_reference"}]}],
        }
        self.policies[policy["id"]] = policy
        return policy

    # -- serving -------------------------------------------------------------------------

    def _rate_headers(self, token: str) -> tuple[dict[str, str], bool]:
        """The rate-limit headers of an answer, and whether this request is over the limit.

        PagerDuty's "REST API Rate Limits" page: answers carry ``ratelimit-limit``,
        ``ratelimit-remaining`` and ``ratelimit-reset`` ("how many seconds to wait before
        retrying"); a request over the limit gets 429. Nothing there promises a
        ``Retry-After``, so this fake sends none: a client must read ``ratelimit-reset``.
        """
        window = self._windows.setdefault(token, SlidingWindow(self.requests_per_minute, 60.0))
        now = self.clock.monotonic()
        wait = window.admit(now)
        oldest = window.sent[0] if window.sent else now
        reset = max(1, round(wait if wait is not None else oldest + window.window - now))
        headers = {
            "ratelimit-limit": str(self.requests_per_minute),
            "ratelimit-remaining": str(max(0, self.requests_per_minute - len(window.sent))),
            "ratelimit-reset": str(reset),
        }
        return headers, wait is not None

    def handle(self, recorded: Recorded, request: Request) -> Answer:
        token = recorded.headers.get("authorization", "").removeprefix("Token token=")
        limits, over = self._rate_headers(token)
        if over:
            self.rate_limited += 1
            return 429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, limits
        status, payload, headers = self._answer(recorded, request)
        return status, payload, {**limits, **headers}

    def _answer(self, recorded: Recorded, request: Request) -> Answer:
        try:
            answer = self._serve(recorded, request)
        except Exception as exc:  # a bug in the fake must fail the test, not pass for a server error
            import traceback

            self.reject(recorded, "fake crashed: " + "".join(traceback.format_exception(exc))[-800:])
            return 500, {"error": {"message": "fake crashed", "code": 0}}, {}
        for fault in self.fail_after:
            if fault.times > 0 and answer[0] < 300 and fault.match(recorded):
                # the request was served (its change is made) but the answer is lost: a 5xx after the commit
                fault.times -= 1
                return fault.status, json.loads(fault.body), fault.headers
        return answer

    def _serve(self, recorded: Recorded, request: Request) -> Answer:
        token = recorded.headers.get("authorization", "")
        if token.removeprefix("Token token=") not in self.tokens:
            return self._refuse(recorded, Invalid("Unauthorized", 401, 2006))
        query = {key: request.args.getlist(key) for key in request.args}
        params = {key: values[0] if len(values) == 1 else values for key, values in query.items()}
        why = check_pagerduty("rest", VENDOR_URL, recorded.method, recorded.path, params, recorded.headers, recorded.body)
        if why is not None:
            return self._refuse(recorded, Invalid(f"Invalid Input Provided: {why}"))
        for method, pattern, name in _ROUTES:
            match = pattern.match(recorded.path)
            if match and method == recorded.method:
                try:
                    status, payload = getattr(self, "r_" + name)(query, recorded.body, **match.groupdict())
                except Invalid as exc:
                    return self._refuse(recorded, exc)
                return status, payload, {}
        return self._refuse(recorded, Invalid("Not Found", 404, 2100))

    def _refuse(self, recorded: Recorded, problem: Invalid) -> Answer:
        self.reject(recorded, f"{problem.status} {problem}")
        message = "Invalid Input Provided" if problem.status == 400 else str(problem)
        return problem.status, {"error": {"message": message, "code": problem.code, "errors": [str(problem)]}}, {}

    # -- helpers ---------------------------------------------------------------------------

    def _page(self, wrapper: str, rows: list[dict[str, Any]], query: dict[str, list[str]], render: Any = None) -> tuple[int, Any]:
        """One page of ``rows`` (stored objects, sorted by name, filtered by ``query``), each rendered by ``render``.

        PagerDuty's "Pagination" page (developer.pagerduty.com/docs/pagination): classic
        ``limit``/``offset`` pages, ``limit`` at most 100, ``more`` true while rows remain,
        ``total`` null unless ``total=true`` is asked for.
        """
        text = query.get("query", [""])[0].lower()
        if text:
            rows = [row for row in rows if text in str(row.get("name", "")).lower() or text in str(row.get("email", "")).lower()]
        limit = min(int(query.get("limit", ["25"])[0]), self.page_limit)
        offset = int(query.get("offset", ["0"])[0])
        page = [render(row) if render else row for row in rows[offset : offset + limit]]
        total = len(rows) if query.get("total", ["false"])[0] == "true" else None
        return 200, {wrapper: page, "limit": limit, "offset": offset, "more": offset + limit < len(rows), "total": total}

    def _user_ref(self, ref: Any) -> str:
        if not isinstance(ref, dict) or ref.get("type") not in ("user_reference", "user") or ref.get("id") not in self.users:
            raise Invalid(f"User not found: {ref!r}")
        return str(ref["id"])

    def _user_out(self, user_id: str) -> dict[str, Any]:
        user = self.users[user_id]
        return {"id": user_id, "type": "user_reference", "summary": user["name"], "self": f"{self.url_base}/users/{user_id}"}

    def _unwrap(self, body: Any, wrapper: str) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
            raise Invalid(f"the body must be an object with a {wrapper!r} object")
        return dict(body[wrapper])

    def _unique(self, table: dict[str, dict[str, Any]], name: Any, own_id: str | None, what: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise Invalid(f"{what} name can't be blank")
        # Service and escalation policy names are unique in an account, and PagerDuty compares
        # them without regard to case: it refuses "Name has already been taken" for a name that
        # differs from another only in case (tests/specs/README.md, "PagerDuty behaviour").
        if any(o["name"].casefold() == name.casefold() and o["id"] != own_id for o in table.values()):
            raise Invalid(f"Name has already been taken: {what} {name!r}")

    # -- users and abilities -------------------------------------------------------------

    def r_abilities(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        return 200, {"abilities": ["teams", "read_only_users", "urgencies"]}

    def r_list_users(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        rows = sorted(self.users.values(), key=lambda u: u["name"])
        return self._page("users", rows, query, lambda u: u | {"self": f"{self.url_base}/users/{u['id']}"})

    def r_get_user(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        if id not in self.users:
            raise Invalid("Not Found", 404, 2100)
        return 200, {"user": self.users[id] | {"self": f"{self.url_base}/users/{id}"}}

    # -- schedules --------------------------------------------------------------------------

    def _schedule_in(self, body: Any, own_id: str | None) -> dict[str, Any]:
        given = self._unwrap(body, "schedule")
        zone = given.get("time_zone")
        try:
            ZoneInfo(str(zone))
        except (ValueError, KeyError) as exc:
            raise Invalid(f"Time zone is invalid: {zone!r}") from exc
        layers = []
        for number, layer in enumerate(given.get("schedule_layers") or [], start=1):
            users = [self._user_ref(entry.get("user")) for entry in layer["users"]]
            if not users:
                raise Invalid("Schedule layer must have at least one user")
            if layer["rotation_turn_length_seconds"] <= 0:
                raise Invalid("Rotation turn length must be positive")
            end = parse_time(layer["end"]) if layer.get("end") else None
            start = parse_time(layer["start"])
            if end is not None and end <= start:
                raise Invalid("Schedule layer must end after it starts")
            layers.append(
                {
                    "id": layer.get("id") or self.new_id("L"),
                    "name": layer.get("name") or f"Layer {number}",
                    "start": start,
                    "end": end,
                    "rotation_virtual_start": parse_time(layer["rotation_virtual_start"]),
                    "rotation_turn_length_seconds": layer["rotation_turn_length_seconds"],
                    "users": users,
                    "restrictions": list(layer.get("restrictions") or []),
                }
            )
        if not layers:
            raise Invalid("Schedule must have at least one layer")
        return {
            "id": own_id or self.new_id("PS"),
            "name": given.get("name") or "",
            "description": given.get("description") or "",
            "time_zone": zone,
            "layers": layers,
        }

    def _schedule_out(self, schedule: dict[str, Any], *, layers: bool = True) -> dict[str, Any]:
        zone = schedule["time_zone"]
        out: dict[str, Any] = {
            "id": schedule["id"],
            "type": "schedule",
            "name": schedule["name"],
            "summary": schedule["name"],
            "description": schedule["description"],
            "time_zone": zone,
            "self": f"{self.url_base}/schedules/{schedule['id']}",
            "html_url": f"https://example.pagerduty.com/schedules/{schedule['id']}",
        }
        if layers:
            out["schedule_layers"] = [
                {
                    "id": layer["id"],
                    "name": layer["name"],
                    "start": render_time(layer["start"], zone),
                    "end": render_time(layer["end"], zone) if layer["end"] else None,
                    "rotation_virtual_start": render_time(layer["rotation_virtual_start"], zone),
                    "rotation_turn_length_seconds": layer["rotation_turn_length_seconds"],
                    "users": [{"user": self._user_out(u)} for u in layer["users"]],
                    "restrictions": layer["restrictions"],
                }
                for layer in schedule["layers"]
            ]
        return out

    def _schedule(self, schedule_id: str) -> dict[str, Any]:
        if schedule_id not in self.schedules:
            raise Invalid("Not Found", 404, 2100)
        return self.schedules[schedule_id]

    def r_list_schedules(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with_layers = "schedule_layers" in query.get("include[]", [])
        rows = sorted(self.schedules.values(), key=lambda s: s["name"])
        return self._page("schedules", rows, query, lambda s: self._schedule_out(s, layers=with_layers))

    def r_create_schedule(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        schedule = self._schedule_in(body, None)
        self.schedules[schedule["id"]] = schedule
        return 201, {"schedule": self._schedule_out(schedule)}

    def r_get_schedule(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        return 200, {"schedule": self._schedule_out(self._schedule(id))}

    def r_update_schedule(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        self._schedule(id)
        schedule = self._schedule_in(body, id)
        self.schedules[id] = schedule
        return 200, {"schedule": self._schedule_out(schedule)}

    def _override_out(self, override: dict[str, Any], zone: str) -> dict[str, Any]:
        return {
            "id": override["id"],
            "type": "override",
            "start": render_time(override["start"], zone),
            "end": render_time(override["end"], zone),
            "user": self._user_out(override["user"]),
        }

    def r_list_overrides(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        schedule = self._schedule(id)
        since, until = parse_time(query["since"][0]), parse_time(query["until"][0])
        # rest-openapiv3.json, GET /schedules/{id}/overrides, parameter `overflow`: "Any on-call
        # schedule entries that pass the date range bounds will be truncated at the bounds,
        # unless the parameter overflow=true is passed. This parameter defaults to false."
        whole = query.get("overflow", ["false"])[0] == "true"
        rows = []
        for o in sorted(self.overrides.get(id, {}).values(), key=lambda o: (o["start"], o["end"], o["id"])):
            if not (o["start"] < until and since < o["end"]):
                continue
            shown = o if whole else o | {"start": max(o["start"], since), "end": min(o["end"], until)}
            rows.append(self._override_out(shown, schedule["time_zone"]))
        # the list is not paginated (the description gives it no limit or offset)
        return 200, {"overrides": rows}

    def r_create_overrides(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        schedule = self._schedule(id)
        if not isinstance(body, dict) or not isinstance(body.get("overrides"), list) or not body["overrides"]:
            raise Invalid("the body must be an object with a non-empty 'overrides' list")
        # rest-openapiv3.json, POST /schedules/{id}/overrides, 201: "A list of overrides requested
        # and a status code indicating whether they were created or rejected" (its example
        # rejects one with status 400, "Override must end after its start", beside two made)
        answer = []
        for given in body["overrides"]:
            start, end = parse_time(given["start"]), parse_time(given["end"])
            shown = {"start": render_time(start, schedule["time_zone"]), "end": render_time(end, schedule["time_zone"])}
            if end <= start:
                answer.append({"status": 400, "errors": ["Override must end after its start"], "override": given | shown})
                continue
            try:
                user = self._user_ref(given["user"])
            except Invalid as exc:
                answer.append({"status": 400, "errors": [str(exc)], "override": given | shown})
                continue
            override = {"id": self.new_id("Q"), "start": start, "end": end, "user": user}
            self.overrides.setdefault(id, {})[override["id"]] = override
            answer.append({"status": 201, "errors": [], "override": self._override_out(override, schedule["time_zone"])})
        return 201, answer

    def r_delete_override(self, query: dict[str, list[str]], body: Any, id: str, override: str) -> tuple[int, Any]:
        self._schedule(id)
        if override not in self.overrides.get(id, {}):
            raise Invalid("Not Found", 404, 2100)
        # rest-openapiv3.json, DELETE /schedules/{id}/overrides/{override_id}: "You cannot remove
        # a past override. If the override start time is before the current time, but the end
        # time is after the current time, the override will be truncated to the current time
        # ... the status code will be 200 OK, as opposed to a 204 No Content"
        found = self.overrides[id][override]
        now = self.clock.wall()
        if found["end"] <= now:
            raise Invalid("Cannot remove a past override")
        if found["start"] < now:
            found["end"] = now
            return 200, None
        del self.overrides[id][override]
        return 204, None

    # -- escalation policies --------------------------------------------------------------

    def _policy_in(self, body: Any, own_id: str | None) -> dict[str, Any]:
        given = self._unwrap(body, "escalation_policy")
        self._unique(self.policies, given.get("name"), own_id, "escalation policy")
        rules = []
        for rule in given["escalation_rules"]:
            if rule["escalation_delay_in_minutes"] < 1:
                raise Invalid("Escalation delay must be at least 1 minute")
            targets = []
            for target in rule["targets"]:
                kind = str(target.get("type", "")).removesuffix("_reference")
                if kind == "user":
                    self._user_ref(target)
                elif kind == "schedule":
                    if target.get("id") not in self.schedules:
                        raise Invalid(f"Schedule not found: {target.get('id')!r}")
                else:
                    raise Invalid(f"Escalation target type {target.get('type')!r} is not supported")
                targets.append({"id": target["id"], "type": f"{kind}_reference"})
            rules.append({"escalation_delay_in_minutes": rule["escalation_delay_in_minutes"], "targets": targets})
        if not rules:
            raise Invalid("Escalation policy must have at least one rule")
        return {
            "id": own_id or self.new_id("PE"),
            "name": given["name"],
            "description": given.get("description") or "",
            "num_loops": given.get("num_loops", 0),
            "escalation_rules": rules,
        }

    def _policy_out(self, policy: dict[str, Any]) -> dict[str, Any]:
        rules = []
        for number, rule in enumerate(policy["escalation_rules"], start=1):
            targets = []
            for target in rule["targets"]:
                name = (
                    self.users[target["id"]]["name"]
                    if target["type"] == "user_reference"
                    else self.schedules.get(target["id"], {}).get("name", "")
                )
                targets.append({"id": target["id"], "type": target["type"], "summary": name})
            rules.append(
                {
                    "id": f"R{policy['id']}{number}",
                    "escalation_delay_in_minutes": rule["escalation_delay_in_minutes"],
                    "targets": targets,
                }
            )
        return {
            "id": policy["id"],
            "type": "escalation_policy",
            "name": policy["name"],
            "summary": policy["name"],
            "description": policy["description"],
            "num_loops": policy["num_loops"],
            "escalation_rules": rules,
            "services": [
                {"id": s["id"], "type": "service_reference"} for s in self.services.values() if s["policy"] == policy["id"]
            ],
            "self": f"{self.url_base}/escalation_policies/{policy['id']}",
        }

    def _policy(self, policy_id: str) -> dict[str, Any]:
        if policy_id not in self.policies:
            raise Invalid("Not Found", 404, 2100)
        return self.policies[policy_id]

    def r_list_policies(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        rows = sorted(self.policies.values(), key=lambda p: p["name"])
        return self._page("escalation_policies", rows, query, self._policy_out)

    def r_create_policy(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        policy = self._policy_in(body, None)
        self.policies[policy["id"]] = policy
        return 201, {"escalation_policy": self._policy_out(policy)}

    def r_get_policy(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        return 200, {"escalation_policy": self._policy_out(self._policy(id))}

    def r_update_policy(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        self._policy(id)
        policy = self._policy_in(body, id)
        self.policies[id] = policy
        return 200, {"escalation_policy": self._policy_out(policy)}

    # -- services and integrations -----------------------------------------------------------

    def _service_in(self, body: Any, own: dict[str, Any] | None) -> dict[str, Any]:
        given = self._unwrap(body, "service")
        self._unique(self.services, given.get("name"), own["id"] if own else None, "service")
        policy = given.get("escalation_policy") or {}
        if policy.get("id") not in self.policies:
            raise Invalid(f"Escalation policy not found: {policy.get('id')!r}")
        rule = given.get("incident_urgency_rule") or {"type": "constant", "urgency": "high"}
        return {
            "id": own["id"] if own else self.new_id("PV"),
            "name": given["name"],
            "description": given.get("description") or "",
            "policy": policy["id"],
            "incident_urgency_rule": {"type": rule.get("type", "constant"), "urgency": rule.get("urgency", "high")},
            "integrations": own["integrations"] if own else [],
        }

    def _integration_out(self, service: dict[str, Any], integration: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": integration["id"],
            "type": integration["type"],
            "name": integration["name"],
            "summary": integration["name"],
            "service": {"id": service["id"], "type": "service_reference", "summary": service["name"]},
            "integration_key": integration["key"],
            "self": f"{self.url_base}/services/{service['id']}/integrations/{integration['id']}",
        }

    def _service_out(self, service: dict[str, Any], *, integrations: bool = False) -> dict[str, Any]:
        return {
            "id": service["id"],
            "type": "service",
            "name": service["name"],
            "summary": service["name"],
            "description": service["description"],
            "status": "active",
            "escalation_policy": {
                "id": service["policy"],
                "type": "escalation_policy_reference",
                "summary": self.policies[service["policy"]]["name"],
            },
            "incident_urgency_rule": service["incident_urgency_rule"],
            "integrations": [
                self._integration_out(service, i)
                if integrations
                else {"id": i["id"], "type": f"{i['type']}_reference", "summary": i["name"]}
                for i in service["integrations"]
            ],
            "self": f"{self.url_base}/services/{service['id']}",
        }

    def _service(self, service_id: str) -> dict[str, Any]:
        if service_id not in self.services:
            raise Invalid("Not Found", 404, 2100)
        return self.services[service_id]

    def r_list_services(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        full = "integrations" in query.get("include[]", [])
        rows = sorted(self.services.values(), key=lambda s: s["name"])
        return self._page("services", rows, query, lambda s: self._service_out(s, integrations=full))

    def r_create_service(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        service = self._service_in(body, None)
        self.services[service["id"]] = service
        return 201, {"service": self._service_out(service)}

    def r_get_service(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        return 200, {"service": self._service_out(self._service(id), integrations="integrations" in query.get("include[]", []))}

    def r_update_service(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        service = self._service_in(body, self._service(id))
        self.services[id] = service
        return 200, {"service": self._service_out(service)}

    def r_create_integration(self, query: dict[str, list[str]], body: Any, id: str) -> tuple[int, Any]:
        service = self._service(id)
        given = self._unwrap(body, "integration")
        if given.get("type") != "events_api_v2_inbound_integration":
            raise Invalid(f"integration type {given.get('type')!r} is not supported by this fake")
        integration = {
            "id": self.new_id("PI"),
            "type": given["type"],
            "name": given.get("name") or "Events API V2",
            "key": f"R{next(self._ids):031d}",
        }
        service["integrations"].append(integration)
        return 201, {"integration": self._integration_out(service, integration)}

    def r_get_integration(self, query: dict[str, list[str]], body: Any, id: str, integration: str) -> tuple[int, Any]:
        service = self._service(id)
        found = next((i for i in service["integrations"] if i["id"] == integration), None)
        if found is None:
            raise Invalid("Not Found", 404, 2100)
        return 200, {"integration": self._integration_out(service, found)}
