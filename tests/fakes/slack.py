"""A stateful fake of the Slack Web API methods opsctl calls.

Users, user groups, channels with topics and history, and direct messages. Requests are
checked against Slack's Swagger description (:func:`tests.fakes.specs.slack_methods`):
unknown methods, missing required parameters, a bad token and missing OAuth scopes get
Slack's own ``{"ok": false, "error": ...}`` answers and are recorded as rejected.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request

from tests.fakes.base import FakeService, Recorded
from tests.fakes.specs import slack_methods

ALL_SCOPES = frozenset(
    {
        "users:read",
        "users:read.email",
        "usergroups:read",
        "usergroups:write",
        "channels:read",
        "channels:write",
        "channels:history",
        "groups:read",
        "groups:write",
        "chat:write",
        "chat:write:bot",
        "im:write",
        "im:history",
    }
)


@dataclass
class Channel:
    id: str
    name: str
    topic: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    is_im: bool = False
    user: str | None = None


class SlackFake(FakeService):
    """``users``: email → Slack user id. ``tokens``: token → scopes it holds."""

    def __init__(self, users: dict[str, str] | None = None, tokens: dict[str, frozenset[str]] | None = None) -> None:
        super().__init__()
        self.users = dict(users or {})
        self.tokens = dict(tokens or {"xoxb-test-token": ALL_SCOPES})
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # -- setup helpers -----------------------------------------------------------------

    def add_channel(self, name: str, topic: str = "") -> Channel:
        channel = Channel(f"C{next(self._ids):08d}", name.lstrip("#"), topic)
        self.channels[channel.id] = channel
        return channel

    def channel(self, name_or_id: str) -> Channel | None:
        key = name_or_id.lstrip("#")
        return self.channels.get(key) or next((c for c in self.channels.values() if c.name == key), None)

    def add_usergroup(self, handle: str, name: str, users: list[str] | None = None, description: str = "") -> dict[str, Any]:
        group = {
            "id": f"S{next(self._ids):08d}",
            "team_id": "T00000001",
            "handle": handle,
            "name": name,
            "description": description,
            "users": list(users or []),
            "user_count": len(users or []),
            "date_delete": 0,
        }
        self.usergroups[group["id"]] = group
        return group

    def dm_with(self, user: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.is_im and c.user == user), None)

    # -- serving -------------------------------------------------------------------------

    def handle(self, recorded: Recorded, request: Request) -> tuple[int, Any, dict[str, str]]:
        if not recorded.path.startswith("/api/"):
            return 404, {"ok": False, "error": "not_found"}, {}
        method = recorded.path.removeprefix("/api/")
        args: dict[str, Any] = dict(recorded.params)
        if isinstance(recorded.body, dict):
            args.update(recorded.body)
        spec = slack_methods().get(method)
        if spec is None:
            return self._error(recorded, "unknown_method")
        token = recorded.headers.get("authorization", "").removeprefix("Bearer ").strip() or str(args.get("token", ""))
        scopes = self.tokens.get(token)
        if scopes is None:
            return self._error(recorded, "invalid_auth")
        missing = [name for name in spec["required"] if args.get(name) in (None, "")]
        if missing:
            return self._error(recorded, "invalid_arguments", detail=f"missing required argument(s): {', '.join(missing)}")
        needed = spec["scopes"]
        if needed and not scopes & set(needed) and method != "auth.test":
            return self._error(
                recorded, "missing_scope", extra={"needed": ",".join(needed), "provided": ",".join(sorted(scopes))}
            )
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error(recorded, "unknown_method")
        payload = handler(args)
        if not payload.get("ok", True):
            self.reject(recorded, str(payload.get("error")))
        headers = {"x-oauth-scopes": ",".join(sorted(scopes))} if method == "auth.test" else {}
        return 200, {"ok": True, **payload} if payload.get("ok", True) else payload, headers

    def _error(
        self, recorded: Recorded, error: str, *, detail: str = "", extra: dict[str, Any] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        self.reject(recorded, error + (f": {detail}" if detail else ""))
        body: dict[str, Any] = {"ok": False, "error": error, **(extra or {})}
        if detail:
            body["response_metadata"] = {"messages": [detail]}
        return 200, body, {}

    # -- methods ---------------------------------------------------------------------------

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "opsctl",
            "team_id": "T00000001",
            "user_id": "U0BOT0001",
            "bot_id": "B0BOT0001",
        }

    def m_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args["email"]).lower())
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"user": {"id": user, "profile": {"email": args["email"]}, "deleted": False}}

    def m_usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        include_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for group in self.usergroups.values():
            row = {k: v for k, v in group.items() if include_users or k != "users"}
            groups.append(row)
        return {"usergroups": groups}

    def m_usergroups_create(self, args: dict[str, Any]) -> dict[str, Any]:
        handle = args.get("handle") or args["name"]
        if any(g["handle"] == handle or g["name"] == args["name"] for g in self.usergroups.values()):
            return {"ok": False, "error": "name_already_exists"}
        return {"usergroup": self.add_usergroup(handle, args["name"], description=args.get("description", ""))}

    def m_usergroups_update(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(args["usergroup"])
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        for key in ("name", "handle", "description"):
            if key in args:
                group[key] = args[key]
        return {"usergroup": group}

    def m_usergroups_users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(args["usergroup"])
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        users = [u for u in str(args["users"]).split(",") if u]
        if not users:
            return {"ok": False, "error": "no_users_provided"}
        unknown = [u for u in users if u not in self.users.values()]
        if unknown:
            return {"ok": False, "error": "invalid_users"}
        group["users"], group["user_count"] = users, len(users)
        return {"usergroup": group}

    def m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(str(args["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"channel": {"id": channel.id, "name": channel.name, "topic": {"value": channel.topic}}}

    def m_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        rows = [{"id": c.id, "name": c.name, "topic": {"value": c.topic}} for c in self.channels.values() if not c.is_im]
        return {"channels": rows, "response_metadata": {"next_cursor": ""}}

    def m_conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(str(args["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if len(str(args["topic"])) > 250:
            return {"ok": False, "error": "too_long"}
        channel.topic = str(args["topic"])
        return {"channel": {"id": channel.id, "topic": {"value": channel.topic}}}

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users and not args.get("channel"):
            return {"ok": False, "error": "users_list_not_supplied"}
        if args.get("channel"):
            channel = self.channel(str(args["channel"]))
            return {"channel": {"id": channel.id}} if channel else {"ok": False, "error": "channel_not_found"}
        if len(users) != 1 or users[0] not in self.users.values():
            return {"ok": False, "error": "user_not_found"}
        channel = self.dm_with(users[0])
        if channel is None:
            channel = Channel(f"D{next(self._ids):08d}", f"dm-{users[0]}", is_im=True, user=users[0])
            self.channels[channel.id] = channel
        return {"channel": {"id": channel.id}}

    def m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(str(args["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        limit = int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in reversed(channel.messages)][:limit]
        return {"messages": messages, "has_more": len(channel.messages) > limit}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        target = str(args["channel"])
        channel = self.channel(target)
        if channel is None and target in self.users.values():
            opened = self.m_conversations_open({"users": target})
            channel = self.channels[opened["channel"]["id"]]
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = f"{int(time.time())}.{next(self._clock):06d}"
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": args.get("text", ""), "user": "U0BOT0001"}
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        channel.messages.append(message)
        return {"channel": channel.id, "ts": ts, "message": message}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        # added for `opsctl doctor`, which checks the slack_id a person gives
        user = str(args.get("user") or "")
        email = next((e for e, uid in self.users.items() if uid == user), None)
        if email is None:
            return {"ok": False, "error": "user_not_found"}
        return {"user": {"id": user, "deleted": False, "profile": {"email": email}}}
