"""Slack: an on-call user group per team and the team channel's topic naming the on-call.

- ``usergroup:<team>``: handle ``<team>-oncall``, members the current primary and
  secondary of the team's rotations. Slack keeps the marker in the group's description;
  a group with that handle and no marker is somebody else's and is left alone.
- ``topic:<team>``: the team channel's topic starts with ``On call: …``. Only that part is
  opsctl's: whatever else the topic says (separated by `` | ``) is kept.

People are matched by their ``slack_id`` when the repository gives one, else with
``users.lookupByEmail``. Same shape as the PagerDuty adapter: :func:`desired_slack`
(pure), :func:`fetch_actual`, :func:`diff` (pure), :func:`apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.sync.marker import human_text, read_marker, with_marker
from opsctl.sync.plan import Change, Notice, Plan, Value, field_changes
from opsctl.sync.progress import QUIET, Progress

if TYPE_CHECKING:
    from slack_sdk import WebClient

TOPIC_PREFIX = "On call:"
TOPIC_SEPARATOR = " | "
TOPIC_LIMIT = 250
"""Slack refuses longer topics."""


@dataclass(frozen=True)
class SlackPerson:
    id: str
    name: str
    email: str
    slack_id: str | None = None


@dataclass(frozen=True)
class UserGroupSpec:
    key: str
    team: str
    handle: str
    name: str
    description: str
    members: tuple[str, ...]
    """Person ids, in rotation order."""


@dataclass(frozen=True)
class TopicSpec:
    key: str
    team: str
    channel: str
    """Channel name without ``#``."""
    text: str
    """opsctl's part of the topic."""


@dataclass(frozen=True)
class SlackDesired:
    as_of: datetime
    people: dict[str, SlackPerson]
    usergroups: tuple[UserGroupSpec, ...]
    topics: tuple[TopicSpec, ...]
    notices: tuple[Notice, ...] = ()


def channel_name(channel: str) -> str:
    return channel.strip().lstrip("#")


def oncall_people(org: Org, engine: Engine, team: str, now: datetime) -> list[tuple[str, str, str | None]]:
    """(rotation title, primary, secondary) of the team's rotations that have begun."""
    out = []
    for rotation in org.rotations_of(team):
        slot = engine.at(rotation.id, now)
        if slot is not None:
            out.append((rotation.title, slot.primary, slot.secondary))
    return out


def topic_text(org: Org, handle: str, oncall: list[tuple[str, str, str | None]]) -> str:
    def name(person: str) -> str:
        found = org.people.get(person)
        return found.name if found else person

    def pair(primary: str, secondary: str | None) -> str:
        return f"{name(primary)} (primary)" + (f", {name(secondary)} (secondary)" if secondary else "")

    if len(oncall) == 1:
        body = pair(oncall[0][1], oncall[0][2])
    else:
        body = "; ".join(f"{title}: {pair(primary, secondary)}" for title, primary, secondary in oncall)
    return f"{TOPIC_PREFIX} {body} · @{handle}"


def desired_slack(org: Org, engine: Engine, now: datetime) -> SlackDesired:
    """The user groups and topics of every team with a rotation, as of ``now``."""
    groups: list[UserGroupSpec] = []
    topics: list[TopicSpec] = []
    notices: list[Notice] = []
    for team in org.teams.values():
        if not org.rotations_of(team.id):
            continue
        oncall = oncall_people(org, engine, team.id, now)
        members = tuple(dict.fromkeys(p for _, primary, secondary in oncall for p in (primary, secondary) if p))
        handle = f"{team.id}-oncall"
        groups.append(
            UserGroupSpec(
                f"usergroup:{team.id}",
                team.id,
                handle,
                f"{team.name} on-call",
                f"Who is on call for {team.name} now; kept by opsctl.",
                members,
            )
        )
        if team.slack_channel:
            topics.append(
                TopicSpec(f"topic:{team.id}", team.id, channel_name(team.slack_channel), topic_text(org, handle, oncall))
            )
        else:
            notices.append(Notice("warning", f"team {team.id}", "has no slack_channel: no channel topic to keep"))
    wanted = {p for g in groups for p in g.members}
    people = {pid: SlackPerson(pid, p.name, p.email, p.slack_id) for pid, p in org.people.items() if pid in wanted}
    return SlackDesired(now, people, tuple(groups), tuple(topics), tuple(notices))


# -- the actual state ---------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteGroup:
    id: str
    handle: str
    name: str
    description: str
    users: tuple[str, ...]
    disabled: bool = False


@dataclass(frozen=True)
class RemoteChannel:
    id: str
    name: str
    topic: str


@dataclass(frozen=True)
class SlackActual:
    users: dict[str, str | None]
    """Person id → Slack user id (None: not found)."""
    groups: tuple[RemoteGroup, ...]
    channels: tuple[RemoteChannel, ...]


def lookup_user(client: WebClient, person: SlackPerson) -> str | None:
    """The person's Slack user id: their ``slack_id``, else found by email; None when Slack has nobody."""
    from slack_sdk.errors import SlackApiError

    if person.slack_id:
        return person.slack_id
    try:
        found = client.users_lookupByEmail(email=person.email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            return None
        raise
    user = found.get("user") or {}
    return str(user["id"]) if user.get("id") and not user.get("deleted") else None


def list_channels(client: WebClient) -> list[RemoteChannel]:
    channels: list[RemoteChannel] = []
    cursor = ""
    while True:
        page = client.conversations_list(types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor)
        for raw in page.get("channels") or []:
            channels.append(
                RemoteChannel(str(raw["id"]), str(raw.get("name") or ""), str((raw.get("topic") or {}).get("value") or ""))
            )
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return channels


def fetch_actual(client: WebClient, desired: SlackDesired, *, progress: Progress = QUIET) -> SlackActual:
    """Read the workspace: people (lookups for those without a Slack id), user groups, channels."""
    progress.start("Slack: people", total=len(desired.people))
    users: dict[str, str | None] = {}
    for person in desired.people.values():
        users[person.id] = lookup_user(client, person)
        progress.advance()
    progress.start("Slack: user groups and channels")
    groups = tuple(
        RemoteGroup(
            str(g["id"]),
            str(g.get("handle") or ""),
            str(g.get("name") or ""),
            str(g.get("description") or ""),
            tuple(str(u) for u in g.get("users") or []),
            bool(g.get("date_delete")),
        )
        # disabled groups too: their handles are taken, and a disabled group of opsctl's is news
        for g in client.usergroups_list(include_users=True, include_disabled=True).get("usergroups") or []
    )
    channels = tuple(list_channels(client)) if desired.topics else ()
    return SlackActual(users, groups, channels)


# -- comparing and applying -------------------------------------------------------------------


def compose_topic(existing: str, ours: str) -> str:
    """``ours`` followed by what others wrote in the topic (anything but an earlier ``On call:`` part)."""
    kept = [part for part in existing.split(TOPIC_SEPARATOR) if part.strip() and not part.strip().startswith(TOPIC_PREFIX)]
    while kept and len(TOPIC_SEPARATOR.join([ours, *kept])) > TOPIC_LIMIT:
        kept.pop()
    return TOPIC_SEPARATOR.join([ours, *kept])[:TOPIC_LIMIT]


def diff(desired: SlackDesired, actual: SlackActual) -> Plan:
    """The plan that makes the workspace's groups and topics match. Pure and deterministic."""
    changes: list[Change] = []
    in_sync: list[str] = []
    notices: list[Notice] = list(desired.notices)
    person_of = {sid: pid for pid, sid in actual.users.items() if sid}
    for person_id in sorted(p for p, sid in actual.users.items() if sid is None):
        person = desired.people[person_id]
        notices.append(
            Notice(
                "warning",
                f"person {person_id}",
                f"{person.name} ({person_id}, {person.email}) is not in Slack: no user has that email; "
                "set slack_id in ownership.yaml",
            )
        )

    def label(slack_id: str) -> str:
        return person_of.get(slack_id, f"slack user {slack_id}")

    by_handle = {g.handle: g for g in actual.groups}
    for spec in desired.usergroups:
        remote = by_handle.get(spec.handle)
        if remote is not None and read_marker(remote.description) is None:
            notices.append(
                Notice(
                    "drift",
                    spec.key,
                    f"user group @{spec.handle} ({remote.id}) exists and opsctl did not create it; opsctl leaves it alone: "
                    f"rename its handle, or add the line `opsctl:managed key={spec.key}` to its description",
                )
            )
            continue
        if remote is not None and remote.disabled:
            notices.append(
                Notice(
                    "drift",
                    spec.key,
                    f"user group @{spec.handle} ({remote.id}) is disabled in Slack; enable it to let opsctl keep it",
                )
            )
            continue
        ids = [actual.users[p] for p in spec.members if actual.users.get(p)]
        members = sorted(str(i) for i in ids)
        view: dict[str, Value] = {
            "handle": spec.handle,
            "name": spec.name,
            "description": spec.description,
            "members": sorted(label(i) for i in members),
        }
        request = {
            "name": spec.name,
            "handle": spec.handle,
            "description": with_marker(spec.description, spec.key),
            "users": members,
        }
        if not members:
            notices.append(
                Notice("warning", spec.key, f"nobody on call for @{spec.handle} is in Slack: its members stay as they are")
            )
            view.pop("members")
        if remote is None:
            changes.append(
                Change("create", "user group", spec.key, f"@{spec.handle}", field_changes(None, view), request=request)
            )
            continue
        before: dict[str, Value] = {
            "handle": remote.handle,
            "name": remote.name,
            "description": human_text(remote.description),
            "members": sorted(label(i) for i in remote.users),
        }
        fields = field_changes(before, view)
        if fields:
            changes.append(Change("update", "user group", spec.key, f"@{spec.handle}", fields, remote.id, request=request))
        else:
            in_sync.append(spec.key)
    by_name = {c.name: c for c in actual.channels}
    for topic in desired.topics:
        channel = by_name.get(topic.channel)
        if channel is None:
            notices.append(
                Notice(
                    "drift", topic.key, f"channel #{topic.channel} not found: create it, or invite the bot to the private channel"
                )
            )
            continue
        text = compose_topic(channel.topic, topic.text)
        if text == channel.topic:
            in_sync.append(topic.key)
            continue
        changes.append(
            Change(
                "update",
                "channel topic",
                topic.key,
                f"#{topic.channel}",
                field_changes({"topic": channel.topic}, {"topic": text}),
                channel.id,
                request={"topic": text},
            )
        )
    return Plan("Slack", desired.as_of, tuple(changes), tuple(in_sync), tuple(notices))


def apply(client: WebClient, plan: Plan, *, progress: Progress = QUIET) -> int:
    """Make the plan's changes; the number of writes made."""
    from opsctl.vendors.errors import VendorError, translated

    writes = 0
    progress.start("Slack: applying", total=len(plan.changes))
    for done, change in enumerate(plan.changes):
        try:
            with translated():
                writes += _apply_one(client, change)
        except VendorError as found:
            raise found.with_message(
                f"{found}; while trying to {change.action} {change.kind} {change.title}. "
                f"{done} of {len(plan.changes)} changes were made: run the sync again to finish"
            ) from None
        progress.advance()
    return writes


def _apply_one(client: WebClient, change: Change) -> int:
    request: dict[str, Any] = change.request
    changed = {f.name for f in change.fields}
    if change.kind == "channel topic":
        client.conversations_setTopic(channel=str(change.remote_id), topic=request["topic"])
        return 1
    writes = 0
    group = change.remote_id
    if change.action == "create":
        made = client.usergroups_create(name=request["name"], handle=request["handle"], description=request["description"])
        group = str(made["usergroup"]["id"])
        writes += 1
    elif changed & {"handle", "name", "description"}:
        client.usergroups_update(
            usergroup=str(group), name=request["name"], handle=request["handle"], description=request["description"]
        )
        writes += 1
    if "members" in changed and request["users"]:
        client.usergroups_users_update(usergroup=str(group), users=request["users"])
        writes += 1
    return writes
