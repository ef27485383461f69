"""Slack: an on-call user group per team and the team channel's topic naming the on-call.

- ``usergroup:<team>``: handle ``<team>-oncall`` and name ``<team name> on-call`` (or what
  ``settings.slack.usergroup_handle`` and ``usergroup_name`` say), members the current
  primary and secondary of the team's rotations who can be paged now (somebody away is
  left out; when nobody can be, the primary stays). Slack keeps the marker in the group's
  description, so opsctl finds its group by it when the settings change its handle; a
  group with that handle and no marker is somebody else's and is left alone.
- ``topic:<team>``: the team channel's topic starts with ``On call: …``. Only that part is
  opsctl's: whatever else the topic says (separated by `` | ``) is kept.

People are found in a few paginated reads of ``users.list`` (by ``slack_id`` when the
repository gives one, else by email, without regard to case), not one call per person.
What Slack would refuse again on every run (a name or handle taken, case aside, by a group,
channel or user opsctl does not manage; a channel the bot is not in) is a finding of the
plan with its fix, and the rest of the plan is applied. Same shape as the PagerDuty
adapter: :func:`desired_slack` (pure), :func:`fetch_actual`, :func:`diff` (pure), :func:`apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org, SlackSettings
from opsctl.model.names import usergroup_names
from opsctl.sync.apply import ApplyResult, Step, apply_steps
from opsctl.sync.marker import human_text, read_marker, with_marker
from opsctl.sync.plan import Change, Notice, Plan, Value, field_changes
from opsctl.sync.progress import QUIET, Progress
from opsctl.vendors.slack_api import pages

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
    text_without_handle: str = ""
    """The same without the user group's handle, for when the group is not opsctl's."""


@dataclass(frozen=True)
class SlackDesired:
    as_of: datetime
    people: dict[str, SlackPerson]
    usergroups: tuple[UserGroupSpec, ...]
    topics: tuple[TopicSpec, ...]
    notices: tuple[Notice, ...] = ()
    naming: SlackSettings = field(default_factory=SlackSettings)
    """The settings the handles and names come from, for the fix of one that is taken."""


def channel_name(channel: str) -> str:
    return channel.strip().lstrip("#")


@dataclass(frozen=True)
class OnCall:
    """Who is on call in one rotation now, and whether each can be paged."""

    rotation: str
    primary: str
    secondary: str | None
    primary_available: bool = True
    secondary_available: bool = True

    def pageable(self) -> list[str]:
        pairs = ((self.primary, self.primary_available), (self.secondary, self.secondary_available))
        return [p for p, ok in pairs if p and ok]


def oncall_people(org: Org, engine: Engine, team: str, now: datetime) -> list[OnCall]:
    """The on-call of the team's rotations that have begun."""
    out = []
    for rotation in org.rotations_of(team):
        slot = engine.at(rotation.id, now)
        if slot is not None:
            out.append(
                OnCall(
                    rotation.title, slot.primary, slot.secondary, slot.primary_available, slot.secondary_available is not False
                )
            )
    return out


def topic_text(org: Org, handle: str | None, oncall: list[OnCall]) -> str:
    """``On call: A (primary), B (secondary) · @handle``; somebody away is marked so, and the
    handle is left out when the user group is not opsctl's to keep."""

    def name(person: str, role: str, available: bool) -> str:
        found = org.people.get(person)
        return f"{found.name if found else person} ({role}{'' if available else ', away'})"

    def pair(item: OnCall) -> str:
        text = name(item.primary, "primary", item.primary_available)
        return text + (f", {name(item.secondary, 'secondary', item.secondary_available)}" if item.secondary else "")

    body = pair(oncall[0]) if len(oncall) == 1 else "; ".join(f"{item.rotation}: {pair(item)}" for item in oncall)
    return f"{TOPIC_PREFIX} {body}" + (f" · @{handle}" if handle else "")


def desired_slack(org: Org, engine: Engine, now: datetime) -> SlackDesired:
    """The user groups and topics of every team with a rotation, as of ``now``."""
    groups: list[UserGroupSpec] = []
    topics: list[TopicSpec] = []
    notices: list[Notice] = []
    for team in org.teams.values():
        if not org.rotations_of(team.id):
            continue
        oncall = oncall_people(org, engine, team.id, now)
        members = tuple(dict.fromkeys(p for item in oncall for p in item.pageable()))
        if not members and oncall:
            members = (oncall[0].primary,)  # nobody can be paged: the primary keeps the group, on reduced duty
        handle, name = usergroup_names(org, team)
        groups.append(
            UserGroupSpec(
                f"usergroup:{team.id}",
                team.id,
                handle,
                name,
                f"Who is on call for {team.name} now; kept by opsctl.",
                members,
            )
        )
        if team.slack_channel and oncall:
            topics.append(
                TopicSpec(
                    f"topic:{team.id}",
                    team.id,
                    channel_name(team.slack_channel),
                    topic_text(org, handle, oncall),
                    topic_text(org, None, oncall),
                )
            )
        else:
            notices.append(Notice("warning", f"team {team.id}", "has no slack_channel: no channel topic to keep"))
    wanted = {p for g in groups for p in g.members}
    people = {pid: SlackPerson(pid, p.name, p.email, p.slack_id) for pid, p in org.people.items() if pid in wanted}
    return SlackDesired(now, people, tuple(groups), tuple(topics), tuple(notices), org.settings.slack)


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
    is_member: bool = True
    """Whether the bot is in the channel (Slack refuses its topic changes otherwise: ``not_in_channel``)."""


@dataclass(frozen=True)
class Directory:
    """The workspace's people, from ``users.list``."""

    by_email: dict[str, str]
    """Email (case folded) → user id, for people not deleted."""
    ids: frozenset[str]
    names: frozenset[str]
    """Usernames, case folded: a user group handle may not be one of them."""

    def find(self, person: SlackPerson) -> str | None:
        if person.slack_id:
            return person.slack_id if person.slack_id in self.ids else None
        return self.by_email.get(person.email.casefold())


@dataclass(frozen=True)
class SlackActual:
    users: dict[str, str | None]
    """Person id → Slack user id (None: not found)."""
    groups: tuple[RemoteGroup, ...]
    channels: tuple[RemoteChannel, ...]
    usernames: frozenset[str] = frozenset()


def directory(client: WebClient) -> Directory:
    """Everybody in the workspace, in pages of ``users.list`` (Tier 2)."""
    by_email: dict[str, str] = {}
    ids: set[str] = set()
    names: set[str] = set()
    for user in pages(client.users_list, "members"):
        if user.get("deleted"):
            continue
        ids.add(str(user["id"]))
        names.add(str(user.get("name") or "").casefold())
        email = str((user.get("profile") or {}).get("email") or "")
        if email:
            by_email.setdefault(email.casefold(), str(user["id"]))
    return Directory(by_email, frozenset(ids), frozenset(names))


def list_channels(client: WebClient) -> list[RemoteChannel]:
    """The channels the bot can see (public ones, and the private ones it is in)."""
    return [
        RemoteChannel(
            str(raw["id"]),
            str(raw.get("name") or ""),
            str((raw.get("topic") or {}).get("value") or ""),
            bool(raw.get("is_member", True)),
        )
        for raw in pages(client.conversations_list, "channels", types="public_channel,private_channel", exclude_archived=True)
    ]


def fetch_actual(client: WebClient, desired: SlackDesired, *, progress: Progress = QUIET) -> SlackActual:
    """Read the workspace: people (``users.list``), user groups, channels."""
    progress.start("Slack: people")
    found = directory(client)
    users = {person.id: found.find(person) for person in desired.people.values()}
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
    channels = tuple(list_channels(client))
    return SlackActual(users, groups, channels, found.names)


def offline_actual(desired: SlackDesired) -> SlackActual:
    """A workspace with everybody in it (user id = person id) and the team channels, but no
    user groups yet: what the plan of an offline preview is computed against."""
    channels = tuple(RemoteChannel(f"#{t.channel}", t.channel, "") for t in desired.topics)
    return SlackActual({p: p for p in desired.people}, (), channels)


# -- comparing and applying -------------------------------------------------------------------


def compose_topic(existing: str, ours: str) -> str:
    """``ours`` followed by what others wrote in the topic (anything but an earlier ``On call:`` part)."""
    kept = [part for part in existing.split(TOPIC_SEPARATOR) if part.strip() and not part.strip().startswith(TOPIC_PREFIX)]
    while kept and len(TOPIC_SEPARATOR.join([ours, *kept])) > TOPIC_LIMIT:
        kept.pop()
    return TOPIC_SEPARATOR.join([ours, *kept])[:TOPIC_LIMIT]


def _group_finding(spec: UserGroupSpec, actual: SlackActual, naming: SlackSettings) -> tuple[RemoteGroup | None, str]:
    """The remote group of ``spec`` (by its marker, else by handle), and why opsctl cannot
    keep it under the handle and name the settings give, or ``""``.

    Slack compares handles and names without regard to case; a handle must also differ
    from every channel and user name (usergroups.create: `handle` "Must be unique among
    channels, users and User Groups", `name` "Must be unique among User Groups").
    """
    handle, name = spec.handle.casefold(), spec.name.casefold()
    mine = next((g for g in actual.groups if (m := read_marker(g.description)) is not None and m.key == spec.key), None)
    holder = next((g for g in actual.groups if g.handle.casefold() == handle and g is not mine), None)
    adopt = f"add the line `opsctl:managed key={spec.key}` to its description to let opsctl keep it"
    new_handle = (
        f"set settings.slack.usergroup_handle (now {naming.usergroup_handle!r}) in ownership.yaml to give opsctl's another handle"
    )
    new_name = (
        f"set settings.slack.usergroup_name (now {naming.usergroup_name!r}) in ownership.yaml to give opsctl's another name"
    )
    if mine is None and holder is not None and read_marker(holder.description) is None:
        return None, (
            f"user group @{holder.handle} ({holder.id}) exists and opsctl did not create it; opsctl leaves it alone: "
            f"{adopt}, or {new_handle}"
        )
    if holder is not None:
        return None, (
            f"the handle @{spec.handle} is taken by user group {holder.name!r} ({holder.id}) "
            f"(Slack: handle_already_exists): rename that group's handle, or {new_handle}"
        )
    if mine is not None and mine.disabled:
        return None, f"user group @{mine.handle} ({mine.id}) is disabled in Slack; enable it to let opsctl keep it"
    rival = next((g for g in actual.groups if g.name.casefold() == name and g is not mine), None)
    if rival is not None:
        return None, (
            f"the name {spec.name!r} is taken by user group @{rival.handle} ({rival.id}), which opsctl does not keep "
            f"(Slack: name_already_exists): rename that group, or give it the handle @{spec.handle} and {adopt}, "
            f"or {new_name}"
        )
    unchanged = mine is not None and mine.handle.casefold() == handle
    if not unchanged and handle in {c.name.casefold() for c in actual.channels}:
        return None, (
            f"the handle @{spec.handle} is the name of channel #{spec.handle} (Slack: handle_already_exists): "
            f"rename the channel, or {new_handle}"
        )
    if not unchanged and handle in actual.usernames:
        return None, (
            f"the handle @{spec.handle} is a user's name in Slack (handle_already_exists): that user must change it, "
            f"or {new_handle}"
        )
    return mine, ""


def diff(desired: SlackDesired, actual: SlackActual) -> Plan:
    """The plan that makes the workspace's groups and topics match. Pure and deterministic."""
    changes: list[Change] = []
    in_sync: list[str] = []
    notices: list[Notice] = list(desired.notices)
    person_of = {sid: pid for pid, sid in actual.users.items() if sid}
    for person_id in sorted(p for p, sid in actual.users.items() if sid is None):
        person = desired.people[person_id]
        how = f"slack_id {person.slack_id} is not a user" if person.slack_id else "no user has that email"
        notices.append(
            Notice(
                "warning",
                f"person {person_id}",
                f"{person.name} ({person_id}, {person.email}) is not in Slack: {how}; "
                "invite them, or set slack_id in ownership.yaml",
            )
        )

    def label(slack_id: str) -> str:
        return person_of.get(slack_id, f"slack user {slack_id}")

    blocked: set[str] = set()
    for spec in desired.usergroups:
        remote, why = _group_finding(spec, actual, desired.naming)
        if why:
            blocked.add(spec.team)
            notices.append(Notice("drift", spec.key, why))
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
    by_name = {c.name.casefold(): c for c in actual.channels}
    for topic in desired.topics:
        channel = by_name.get(topic.channel.casefold())
        if channel is None:
            notices.append(
                Notice(
                    "drift", topic.key, f"channel #{topic.channel} not found: create it, or invite the bot to the private channel"
                )
            )
            continue
        if not channel.is_member:
            # conversations.setTopic refuses a caller outside the channel (not_in_channel)
            notices.append(
                Notice(
                    "drift",
                    topic.key,
                    f"the bot is not in #{channel.name} ({channel.id}), so Slack refuses to set its topic (not_in_channel): "
                    f"invite it there (`/invite @<bot>` in #{channel.name})",
                )
            )
            continue
        ours = topic.text_without_handle if topic.team in blocked and topic.text_without_handle else topic.text
        text = compose_topic(channel.topic, ours)
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


def apply(client: WebClient, plan: Plan, *, progress: Progress = QUIET) -> ApplyResult:
    """Make the plan's changes; what was refused or not reached is in the result."""
    steps = [Step((change,), partial(_apply_one, client, change)) for change in plan.changes]
    return apply_steps("Slack", steps, len(plan.changes), progress)


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
