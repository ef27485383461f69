"""A stateful fake of the Slack Web API methods opsctl calls.

Users, user groups, channels with topics and history, and direct messages. Requests are
checked against Slack's Swagger description (:func:`tests.fakes.specs.slack_methods`):
unknown methods, missing required parameters, a bad token and missing OAuth scopes get
Slack's own ``{"ok": false, "error": ...}`` answers and are recorded as rejected.

The inconvenient parts, each beside the code that models it with the method page it
follows (docs.slack.dev/reference/methods/<method>; more in ``tests/specs/README.md``):
cursor pagination of ``users.list``, ``conversations.list`` and ``conversations.history``
(fewer rows than asked for is normal), emails only for tokens with ``users:read.email``,
``not_in_channel`` for a bot outside the channel, user group names and handles unique
without regard to case, ``bad_handle`` for a handle of other characters than a user
name's, the granted scopes in an ``x-oauth-scopes`` header on every answer, and, when
:attr:`SlackFake.tiers` is on, each method's rate tier with HTTP 429 and ``Retry-After``
beyond it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request

from tests.fakes.base import FakeService, Recorded, SlidingWindow
from tests.fakes.specs import slack_methods

TIERS = {
    # requests a minute per method and workspace, from each method's page ("Rate limits" tier)
    "users.list": 20,
    "users.info": 100,
    "users.lookupByEmail": 50,
    "usergroups.list": 20,
    "usergroups.create": 20,
    "usergroups.update": 20,
    "usergroups.users.update": 20,
    "conversations.list": 20,
    "conversations.setTopic": 20,
    "conversations.history": 50,
    "conversations.info": 50,
    "conversations.open": 50,
    "chat.postMessage": 60,
}
PAGE_CAP = 100
"""Slack's "Pagination" guide: a page may hold fewer items than ``limit`` even when more remain."""

ALL_SCOPES = frozenset(
    {
        "users:read",
        "users:read.email",
        "usergroups:read",
        "usergroups:write",
        "channels:read",
        "channels:write",
        "channels:history",
        "groups:history",
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
    is_member: bool = True
    """Whether the bot is in the channel (a bot outside it gets ``not_in_channel``)."""
    is_private: bool = False


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
        self._scopes: frozenset[str] = frozenset()
        self.tiers = False
        """Enforce each method's rate tier (:data:`TIERS`) on :attr:`clock`; off by default."""
        self._windows: dict[str, SlidingWindow] = {}

    # -- setup helpers -----------------------------------------------------------------

    def add_channel(self, name: str, topic: str = "", *, is_member: bool = True, is_private: bool = False) -> Channel:
        channel = Channel(f"C{next(self._ids):08d}", name.lstrip("#"), topic, is_member=is_member, is_private=is_private)
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
        # "Rate limits": over a method's tier Slack answers HTTP 429 with a Retry-After header
        # (seconds), and the method works again after that long
        if self.tiers:
            window = self._windows.setdefault(method, SlidingWindow(TIERS.get(method, 20), 60.0))
            wait = window.admit(self.clock.monotonic())
            if wait is not None:
                self.rate_limited += 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(max(1, int(wait + 0.999)))}
        self._scopes = scopes
        payload = handler(args)
        if not payload.get("ok", True):
            self.reject(recorded, str(payload.get("error")))
        # "Scopes and permissions" (docs.slack.dev/authentication/scopes): every Web API answer
        # carries the token's scopes in `x-oauth-scopes`
        headers = {"x-oauth-scopes": ",".join(sorted(scopes))}
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

    def _taken(self, name: str | None, handle: str | None, own: str | None) -> str | None:
        """Why a user group may not have ``name`` or ``handle``, or None.

        usergroups.create, arguments: `name` "Must be unique among User Groups", `handle`
        "Must be unique among channels, users and User Groups"; Slack compares them without
        regard to case. The errors are `name_already_exists` (the method page's) and
        `handle_already_exists`.
        """
        others = [g for g in self.usergroups.values() if g["id"] != own]
        if name and any(g["name"].casefold() == name.casefold() for g in others):
            return "name_already_exists"
        if handle:
            taken = {g["handle"].casefold() for g in others} | {c.name.casefold() for c in self.channels.values() if not c.is_im}
            taken |= {email.split("@", 1)[0].casefold() for email in self.users}
            if handle.casefold() in taken:
                return "handle_already_exists"
        return None

    @staticmethod
    def _bad_handle(handle: str | None) -> bool:
        """usergroups.create and usergroups.update, errors: `bad_handle` "Handle is invalid". A
        handle shares the namespace of user names, which Slack's help spells as lower-case
        letters, numbers, periods, hyphens and underscores ("Usernames must be all lowercase
        ... can only contain letters, numbers, periods, hyphens, and underscores")."""
        return handle is not None and re.fullmatch(r"[a-z0-9._-]+", handle) is None

    def m_usergroups_create(self, args: dict[str, Any]) -> dict[str, Any]:
        handle = args.get("handle") or args["name"]
        if self._bad_handle(args.get("handle")):
            return {"ok": False, "error": "bad_handle"}
        why = self._taken(args["name"], handle, None)
        if why:
            return {"ok": False, "error": why}
        return {"usergroup": self.add_usergroup(handle, args["name"], description=args.get("description", ""))}

    def m_usergroups_update(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(args["usergroup"])
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        if self._bad_handle(args.get("handle")):
            return {"ok": False, "error": "bad_handle"}
        why = self._taken(args.get("name"), args.get("handle"), group["id"])
        if why:
            return {"ok": False, "error": why}
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

    def _cursor_page(self, rows: list[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """One page of ``rows`` and its ``response_metadata``.

        Slack's "Pagination" guide (docs.slack.dev/apis/web-api/pagination): pass `limit` and
        the `next_cursor` of the last page as `cursor`; an empty `next_cursor` means the end;
        "it's possible to receive fewer results than your specified limit, even when there
        are additional results to retrieve" (here: at most :data:`PAGE_CAP` a page).
        """
        start = int(str(args.get("cursor") or "0").removeprefix("dXNlcjo") or 0) if args.get("cursor") else 0
        limit = int(args.get("limit") or 0) or 100
        end = start + min(limit, PAGE_CAP)
        cursor = f"dXNlcjo{end}" if end < len(rows) else ""
        return rows[start:end], {"next_cursor": cursor}

    def m_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        # users.list: Tier 2, cursor-paginated; the profile's `email` is included only for
        # tokens with users:read.email ("users:read.email ... to access the email field")
        with_email = "users:read.email" in self._scopes
        rows = []
        for email, user in sorted(self.users.items(), key=lambda item: item[1]):
            profile = {"email": email} if with_email else {}
            rows.append({"id": user, "name": email.split("@", 1)[0], "deleted": False, "is_bot": False, "profile": profile})
        page, meta = self._cursor_page(rows, args)
        return {"members": page, "response_metadata": meta}

    def m_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        # conversations.list: Tier 2, cursor-paginated; `is_member` tells whether the caller is in it
        kinds = set(str(args.get("types") or "public_channel").split(","))
        rows = [
            {"id": c.id, "name": c.name, "topic": {"value": c.topic}, "is_member": c.is_member, "is_private": c.is_private}
            for c in self.channels.values()
            if not c.is_im
            and ("private_channel" if c.is_private else "public_channel") in kinds
            and (c.is_member or not c.is_private)  # private channels are listed to their members only
        ]
        page, meta = self._cursor_page(rows, args)
        return {"channels": page, "response_metadata": meta}

    def _scope_for(self, channel: Channel, public: str, private: str) -> dict[str, Any] | None:
        """A public channel needs the `channels:` scope, a private one the `groups:` scope."""
        needed = private if channel.is_private else public
        alternatives = {"channels:write": "channels:manage"}  # conversations.setTopic accepts either for bots
        if needed in self._scopes or alternatives.get(needed, "") in self._scopes:
            return None
        return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(self._scopes))}

    def m_conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel(str(args["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        refused = self._scope_for(channel, "channels:write", "groups:write")
        if refused:
            return refused
        # conversations.setTopic, errors: "not_in_channel: Authenticated user is not in the channel"
        if not channel.is_member:
            return {"ok": False, "error": "not_in_channel"}
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
        # conversations.history: newest first, `oldest`/`latest` bound the time range (exclusive
        # unless `inclusive`), `limit` default 100, cursor-paginated with `has_more`; metadata
        # only with `include_all_metadata`; a bot token reads only "any conversation the
        # relevant bot is a member of"; Tier 3
        channel = self.channel(str(args["channel"]))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.is_im:
            refused = self._scope_for(channel, "channels:history", "groups:history")
            if refused:
                return refused
            if not channel.is_member:
                return {"ok": False, "error": "not_in_channel"}
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else None

        def within(message: dict[str, Any]) -> bool:
            ts = float(message["ts"])
            above = ts >= oldest if inclusive else ts > oldest
            below = latest is None or (ts <= latest if inclusive else ts < latest)
            return above and below

        rows = [{k: v for k, v in m.items() if with_metadata or k != "metadata"} for m in reversed(channel.messages) if within(m)]
        page, meta = self._cursor_page(rows, args)
        return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        target = str(args["channel"])
        channel = self.channel(target)
        if channel is None and target in self.users.values():
            opened = self.m_conversations_open({"users": target})
            channel = self.channels[opened["channel"]["id"]]
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not channel.is_member:  # chat.postMessage, errors: not_in_channel
            return {"ok": False, "error": "not_in_channel"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = f"{int(self.clock.wall().timestamp())}.{next(self._clock):06d}"
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
